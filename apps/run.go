package apps

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

// Peer is what every node offers whatever its app: *sbfeed.Node[S, A]
// satisfies it for any S and A.
type Peer interface {
	ID() identity.ID
	Listen(addr string) (string, error)
	Connect(ctx context.Context, addr string) error
	Append(ctx context.Context, content []byte) (feed.Entry, error)
	Store() *store.DB
	Close() error
}

// Instance is a node running a built-in app, with the app's types erased
// for the command line.
type Instance struct {
	Peer
	// Name is the app's name.
	Name string
	// StateJSON returns the current state in canonical JSON.
	StateJSON func() ([]byte, error)
	// Len returns the number of entries folded.
	Len func() int
	// Watch reports state changes (as canonical JSON) and refusals until
	// ctx is done.
	Watch func(ctx context.Context) (<-chan Change, error)
}

// Change is one state change or refusal seen by Watch.
type Change struct {
	State   json.RawMessage // nil for a refusal
	Refusal *sbfeed.Refusal
	Entries int
}

// Open opens a node in dir running the built-in app name.
func Open(name, dir string, opts sbfeed.Options) (*Instance, error) {
	switch name {
	case Counter.Name:
		return open(Counter, dir, opts)
	case KV.Name:
		return open(KV, dir, opts)
	case Chat.Name:
		return open(Chat, dir, opts)
	}
	return nil, fmt.Errorf("%w %q (the built-in apps are %v)", ErrUnknownApp, name, Names())
}

func open[S, A any](app *App[S, A], dir string, opts sbfeed.Options) (*Instance, error) {
	n, err := sbfeed.Open(dir, app.Reduce, opts)
	if err != nil {
		return nil, err
	}
	return &Instance{
		Peer:      n,
		Name:      app.Name,
		StateJSON: func() ([]byte, error) { return app.Marshal(n.State()) },
		Len:       n.Len,
		Watch: func(ctx context.Context) (<-chan Change, error) {
			evs, err := n.Subscribe(ctx)
			if err != nil {
				return nil, err
			}
			out := make(chan Change, 16)
			go func() {
				defer close(out)
				for ev := range evs {
					c := Change{Refusal: ev.Refusal, Entries: n.Len()}
					if ev.Refusal == nil {
						c.State, _ = app.Marshal(ev.State)
					}
					select {
					case out <- c:
					case <-ctx.Done():
						return
					}
				}
			}()
			return out, nil
		},
	}, nil
}

// Result is the outcome of Replay: the state an app's reducer computes from
// a store, and its digest, which two peers compare.
type Result struct {
	App      string           `json:"app"`
	State    json.RawMessage  `json:"state"`
	Digest   string           `json:"digest"`
	Entries  int              `json:"entries"`
	Refusals []sbfeed.Refusal `json:"-"`
	Refused  int              `json:"refused"`
}

// Replay folds every entry of db through the built-in app name, exactly as
// a running node does. This is the hook "sbfeed verify --app" and
// "sbfeed state" call. groupKey may be nil.
func Replay(db *store.DB, name string, groupKey *sbfeed.GroupKey) (Result, error) {
	opts := sbfeed.Options{Network: db.Network(), GroupKey: groupKey}
	switch name {
	case Counter.Name:
		return replay(Counter, db, opts)
	case KV.Name:
		return replay(KV, db, opts)
	case Chat.Name:
		return replay(Chat, db, opts)
	}
	return Result{}, fmt.Errorf("%w %q (the built-in apps are %v)", ErrUnknownApp, name, Names())
}

func replay[S, A any](app *App[S, A], db *store.DB, opts sbfeed.Options) (Result, error) {
	s, refused, n, err := sbfeed.Replay(db, app.Reduce, opts)
	if err != nil {
		return Result{}, err
	}
	b, err := app.Marshal(s)
	if err != nil {
		return Result{}, err
	}
	return Result{App: app.Name, State: b, Digest: DigestJSON(b), Entries: n, Refusals: refused, Refused: len(refused)}, nil
}
