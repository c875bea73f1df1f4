package merge

import (
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Reducer is a Redux-style reducer: it returns the state after action. An
// error refuses the action (it then has no effect). It must be a pure
// function of its arguments and must not mutate state (see [Config.Clone]).
type Reducer[S, A any] func(state S, action A) (S, error)

// Config configures a [View]. The zero value of every field but Reducer and
// Decode is a documented default.
type Config[S, A any] struct {
	// Reducer folds actions into state. Required.
	Reducer Reducer[S, A]
	// Decode turns an entry's content into an action. Required. An error
	// refuses the entry like a reducer error. Membership entries (content
	// starting with [MemberPrefix]) never reach Decode.
	Decode func(content []byte) (A, error)
	// DecodeEntry, if set, is used instead of Decode, for codecs that need
	// more than the content (the author, to open a sealed action or to
	// tell the application who signed it). It must be a pure function of
	// the entry. Exactly one of Decode and DecodeEntry is required.
	DecodeEntry func(e *feed.Entry) (A, error)
	// Initial is the state before any action.
	Initial S
	// Clone, if set, deep-copies a state. The view clones every snapshot it
	// keeps and every snapshot it restores, which makes a reducer that
	// mutates its input safe. Nil means the reducer promises never to mutate
	// the state it is given.
	Clone func(S) S
	// Writers is the initial writer set. Nil or empty means open mode: every
	// author is a writer, membership entries are refused, and nothing ever
	// becomes final (anyone may still write entries that sort anywhere).
	Writers []identity.ID
	// Snapshots bounds the snapshots kept for rewinding.
	Snapshots SnapshotPolicy
	// Clock chooses the timestamp strategy.
	Clock ClockPolicy
	// MaxPending bounds the entries waiting for their previous entry, a
	// reference or the wall clock. Zero means 65536. An entry that does not
	// fit is rejected with [ErrPendingFull]; add it again later.
	MaxPending int
	// MaxPendingBytes bounds the encoded size of the waiting entries (an
	// entry may carry 64 KiB). Zero means 64 MiB. Beyond it entries are
	// rejected with ErrPendingFull like beyond MaxPending.
	MaxPendingBytes int
	// CheckReducer, for tests, renders the reducer's input state (%#v)
	// before and after every call and makes [View.Check] report a change:
	// the way to catch a reducer that mutates its input. It is slow.
	CheckReducer bool
	// IndexSeed keys the hash of the view's ID index. It changes no result,
	// only the memory layout; the node should set it from crypto/rand so that
	// nobody can grind entry IDs into one probe chain (hash flooding). Zero
	// is a fixed seed, fine for tests.
	IndexSeed uint64
}

// SnapshotPolicy says which states the view keeps to rewind to. Memory is
// bounded by MaxKept snapshots whatever the length of the history.
type SnapshotPolicy struct {
	// Spacing is the number of entries between snapshots. A late entry at
	// depth d behind the tip costs at most d + Spacing reducer calls while the
	// snapshot before it is kept. Zero means 1024.
	Spacing int
	// MaxKept is the most snapshots kept besides the base (the initial or
	// last squashed state); the oldest go first. Zero means 256.
	MaxKept int
	// MaxAge drops snapshots more than MaxAge entries behind the tip. Zero
	// means no age limit. Snapshots below the final frontier are dropped
	// anyway (nothing can be inserted there), except the newest of them.
	MaxAge int
}

// ClockPolicy is the timestamp strategy. Every peer of one application must
// use the same policy.
type ClockPolicy struct {
	// Kind is the clock kind entries must carry: [feed.Lamport] (the zero
	// value) or [feed.HLC]. Entries of the other kind are rejected.
	Kind feed.ClockKind
	// MaxSkew, for HLC, is how far in milliseconds an entry's wall time
	// (clock >> 16) may be ahead of the time given to [View.SetNow]. An
	// entry further ahead waits in the pending set until SetNow catches up;
	// it is never refused for it, so every peer eventually places it at the
	// same position. Zero means 60000 (one minute). Ignored for Lamport.
	MaxSkew uint64
}

// Defaults.
const (
	DefaultSpacing         = 1024
	DefaultMaxKept         = 256
	DefaultMaxPending      = 65536
	DefaultMaxPendingBytes = 64 << 20
	DefaultMaxSkew         = 60_000
)

// Errors. Rejections and refusals wrap one of them (or a [feed] sentinel).
var (
	ErrConfig         = errors.New("merge: invalid configuration")
	ErrPendingFull    = errors.New("merge: pending set full")
	ErrClockKind      = errors.New("merge: wrong clock kind")
	ErrNotWriter      = errors.New("merge: author is not a writer")
	ErrForked         = errors.New("merge: author forked")
	ErrRemoved        = errors.New("merge: author removed concurrently")
	ErrMembership     = errors.New("merge: invalid membership entry")
	ErrReducer        = errors.New("merge: reducer refused the action")
	ErrPanic          = errors.New("merge: reducer panicked")
	ErrDecode         = errors.New("merge: content does not decode")
	ErrNothingFinal   = errors.New("merge: nothing new is final")
	ErrStateMismatch  = errors.New("merge: state differs from a fresh fold (does the reducer mutate its input?)")
	ErrBadProof       = errors.New("merge: inclusion proof does not verify")
	ErrTooManyAuthors = errors.New("merge: too many authors")
)

func (c *Config[S, A]) withDefaults() (Config[S, A], error) {
	d := *c
	if d.Reducer == nil || (d.Decode == nil) == (d.DecodeEntry == nil) {
		return d, fmt.Errorf("%w: Reducer and exactly one of Decode and DecodeEntry are required", ErrConfig)
	}
	if d.Snapshots.Spacing < 0 || d.Snapshots.MaxKept < 0 || d.Snapshots.MaxAge < 0 || d.MaxPending < 0 || d.MaxPendingBytes < 0 {
		return d, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if d.Clock.Kind != feed.Lamport && d.Clock.Kind != feed.HLC {
		return d, fmt.Errorf("%w: unknown clock kind %d", ErrConfig, d.Clock.Kind)
	}
	if d.Snapshots.Spacing == 0 {
		d.Snapshots.Spacing = DefaultSpacing
	}
	if d.Snapshots.MaxKept == 0 {
		d.Snapshots.MaxKept = DefaultMaxKept
	}
	if d.MaxPending == 0 {
		d.MaxPending = DefaultMaxPending
	}
	if d.MaxPendingBytes == 0 {
		d.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if d.Clock.MaxSkew == 0 {
		d.Clock.MaxSkew = DefaultMaxSkew
	}
	seen := map[identity.ID]bool{}
	for _, w := range d.Writers {
		if seen[w] {
			return d, fmt.Errorf("%w: writer %s listed twice", ErrConfig, w.Short())
		}
		seen[w] = true
	}
	d.Writers = append([]identity.ID(nil), d.Writers...)
	return d, nil
}
