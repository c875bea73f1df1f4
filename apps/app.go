package apps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/sbfeed/sbfeed/identity"
)

// Errors the built-in reducers and codecs return; every refusal wraps one.
var (
	// ErrBadAction marks content that is not a well-formed action of the app.
	ErrBadAction = errors.New("apps: malformed action")
	// ErrUnknownType marks an action whose "type" the app does not handle.
	ErrUnknownType = errors.New("apps: unknown action type")
	// ErrRefused marks a well-formed action the reducer refuses in the
	// current state (for example deleting a missing key).
	ErrRefused = errors.New("apps: action refused")
	// ErrUnknownApp is returned by Lookup for a name it does not know.
	ErrUnknownApp = errors.New("apps: unknown app")
)

// App describes one application: its reducer and everything around it.
// S is the state type, A the action type. The zero value of S need not be
// the initial state: use Init.
type App[S, A any] struct {
	// Name is what "sbfeed peer --app NAME" takes.
	Name string
	// Init is the state before any action.
	Init S
	// Reduce is the reducer: a pure function that returns the next state or
	// an error refusing the action. It must not mutate its argument.
	Reduce func(S, A) (S, error)
	// Decode reads an action from entry content written by author. Content
	// that is not an action gives an error wrapping ErrBadAction; the merge
	// layer refuses such an entry like any other refused action.
	Decode func(author identity.ID, content []byte) (A, error)
	// Encode writes an action as entry content.
	Encode func(A) ([]byte, error)
	// Marshal writes the state in its canonical JSON form: one byte string
	// for each state, whatever the history that led to it.
	Marshal func(S) ([]byte, error)
}

// Digest returns the hex SHA-256 of the canonical JSON of s.
func (a *App[S, A]) Digest(s S) (string, error) {
	b, err := a.Marshal(s)
	if err != nil {
		return "", err
	}
	return DigestJSON(b), nil
}

// DigestJSON returns the hex SHA-256 of canonical state JSON.
func DigestJSON(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Names lists the built-in apps, sorted.
func Names() []string {
	n := []string{Counter.Name, KV.Name, Chat.Name}
	sort.Strings(n)
	return n
}

func badAction(content []byte, format string, args ...any) error {
	return fmt.Errorf("%w: %s (content %s)", ErrBadAction, fmt.Sprintf(format, args...), preview(content))
}

// preview returns a short quoted form of content for error messages.
func preview(b []byte) string {
	const n = 48
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
