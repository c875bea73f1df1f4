package sbfeed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/identity"
)

// Action and counter are an ordinary Redux counter: the reducer knows
// nothing about replication.
type Action struct {
	Type string `json:"type"`
}

func counter(state int, a Action) (int, error) {
	switch a.Type {
	case "INCREMENT":
		return state + 1, nil
	case "DECREMENT":
		return state - 1, nil
	}
	return state, fmt.Errorf("unknown action %q", a.Type)
}

// exampleRoot holds the examples' directories; TestMain removes it.
var exampleRoot = func() string {
	d, err := os.MkdirTemp("", "sbfeed-examples")
	if err != nil {
		panic(err)
	}
	return d
}()

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(exampleRoot)
	os.Exit(code)
}

// tempDir returns a fresh directory for an example's store.
func tempDir(name string) string {
	d, err := os.MkdirTemp(exampleRoot, name)
	if err != nil {
		panic(err)
	}
	return d
}

// waitLen waits until n has folded want entries: it re-checks on every state
// change the node reports, up to a deadline, instead of polling.
func waitLen[S, A any](n *sbfeed.Node[S, A], want int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := n.Subscribe(ctx)
	if err != nil {
		return
	}
	for n.Len() < want {
		select {
		case <-events:
		case <-ctx.Done():
			return
		}
	}
}

// Two nodes share a counter: each dispatches, both end with the same
// state. The in-memory transport stands in for QUIC here; real programs
// leave Options.Transport nil.
func Example() {
	ctx := context.Background()
	mem := sbfeed.NewMemNetwork()
	a, _ := sbfeed.Open(tempDir("a"), counter, sbfeed.Options{Transport: mem})
	defer a.Close()
	b, _ := sbfeed.Open(tempDir("b"), counter, sbfeed.Options{Transport: mem})
	defer b.Close()

	addr, _ := a.Listen("a:7411")
	b.Connect(ctx, addr)

	a.Dispatch(ctx, Action{Type: "INCREMENT"})
	b.Dispatch(ctx, Action{Type: "INCREMENT"})
	b.Dispatch(ctx, Action{Type: "DECREMENT"})

	waitLen(a, 3)
	waitLen(b, 3)
	fmt.Println(a.State(), b.State())
	// Output: 1 1
}

// Options.Transport: any implementation of the small Transport interface
// plugs in. NewMemNetwork is one; nil means QUIC over UDP.
func ExampleOptions_transport() {
	ctx := context.Background()
	mem := sbfeed.NewMemNetwork()
	nodes := make([]*sbfeed.Node[int, Action], 3)
	for i := range nodes {
		nodes[i], _ = sbfeed.Open(tempDir("t"), counter, sbfeed.Options{Transport: mem})
		defer nodes[i].Close()
	}
	hub, _ := nodes[0].Listen("hub:7411")
	nodes[1].Connect(ctx, hub)
	nodes[2].Connect(ctx, hub) // 1 and 2 hear of each other through the hub
	nodes[1].Dispatch(ctx, Action{Type: "INCREMENT"})
	nodes[2].Dispatch(ctx, Action{Type: "INCREMENT"})
	waitLen(nodes[1], 2)
	waitLen(nodes[2], 2)
	fmt.Println(nodes[1].State(), nodes[2].State())
	// Output: 2 2
}

// Options.Key and Options.KeyFile choose the identity. With neither, a key
// file is created in the data directory on first use and read afterwards.
func ExampleOptions_key() {
	dir := tempDir("key")
	n, _ := sbfeed.Open(dir, counter, sbfeed.Options{})
	id := n.ID()
	n.Close()

	n, _ = sbfeed.Open(dir, counter, sbfeed.Options{})
	fmt.Println("same identity after reopening:", n.ID() == id)
	n.Close()

	k, _ := identity.FromSeed(make([]byte, 32)) // normally identity.Generate(crypto/rand.Reader)
	n, _ = sbfeed.Open(tempDir("key2"), counter, sbfeed.Options{Key: k})
	fmt.Println(n.ID())
	n.Close()
	// Output:
	// same identity after reopening: true
	// sbf1hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iusj62mjy
}

// Options.Network isolates applications: a peer of another network is
// refused in the handshake, before any entry moves.
func ExampleOptions_network() {
	ctx := context.Background()
	mem := sbfeed.NewMemNetwork()
	refused := make(chan string, 1)
	log := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "peer refused" {
			select {
			case refused <- "refused":
			default:
			}
		}
	}))
	a, _ := sbfeed.Open(tempDir("n1"), counter, sbfeed.Options{Transport: mem, Network: identity.NetworkFromName("one")})
	defer a.Close()
	b, _ := sbfeed.Open(tempDir("n2"), counter, sbfeed.Options{Transport: mem, Network: identity.NetworkFromName("two"), Logger: log})
	defer b.Close()
	addr, _ := a.Listen("a:7411")
	b.Connect(ctx, addr)
	fmt.Println(<-refused)
	// Output: refused
}

// Options.GroupKey seals every action: peers without the key store, verify
// and relay the entries but cannot read them.
func ExampleOptions_groupKey() {
	ctx := context.Background()
	mem := sbfeed.NewMemNetwork()
	key, _ := sbfeed.GenerateGroupKey(zeroReader{}) // crypto/rand.Reader in real use
	member, _ := sbfeed.Open(tempDir("m"), counter, sbfeed.Options{Transport: mem, GroupKey: &key})
	defer member.Close()
	relay, _ := sbfeed.Open[int, Action](tempDir("r"), nil, sbfeed.Options{Transport: mem}) // no reducer: stores and relays
	defer relay.Close()
	other, _ := sbfeed.Open(tempDir("o"), counter, sbfeed.Options{Transport: mem, GroupKey: &key})
	defer other.Close()

	addr, _ := relay.Listen("relay:7411")
	member.Connect(ctx, addr)
	other.Connect(ctx, addr)
	member.Dispatch(ctx, Action{Type: "INCREMENT"})
	waitLen(other, 1)

	e, _ := relay.Store().Get(member.ID(), 1)
	fmt.Println("relay sees plaintext:", strings.Contains(string(e.Content), "INCREMENT"))
	fmt.Println("other member's state:", other.State())
	// Output:
	// relay sees plaintext: false
	// other member's state: 1
}

// Options.Timestamps: hybrid logical clocks order concurrent actions
// roughly by wall time instead of by entry ID alone.
func ExampleOptions_timestamps() {
	ctx := context.Background()
	n, _ := sbfeed.Open(tempDir("hlc"), counter, sbfeed.Options{Timestamps: sbfeed.HLC, MaxClockSkew: time.Minute})
	defer n.Close()
	n.Dispatch(ctx, Action{Type: "INCREMENT"})
	e, _ := n.Store().Get(n.ID(), 1)
	fmt.Println(e.Kind, n.State())
	// Output: hlc 1
}

// Options.Snapshots bounds the cost of a late action (a rewind to the
// nearest snapshot and a replay) and the memory the snapshots take.
func ExampleOptions_snapshots() {
	ctx := context.Background()
	n, _ := sbfeed.Open(tempDir("snap"), counter, sbfeed.Options{
		Snapshots: sbfeed.SnapshotPolicy{Every: 64, Keep: 16},
	})
	defer n.Close()
	for range 100 {
		n.Dispatch(ctx, Action{Type: "INCREMENT"})
	}
	fmt.Println(n.State())
	// Output: 100
}

// Options.NoSync trades durability for speed: Dispatch returns before the
// entry reaches the disk. Leave it false unless losing the last actions in
// a crash is acceptable.
func ExampleOptions_noSync() {
	ctx := context.Background()
	n, _ := sbfeed.Open(tempDir("nosync"), counter, sbfeed.Options{NoSync: true})
	defer n.Close()
	n.Dispatch(ctx, Action{Type: "INCREMENT"})
	fmt.Println(n.State())
	// Output: 1
}

// Options.Logger receives the node's log (log/slog): peers, sync progress,
// refusals, forks.
func ExampleOptions_logger() {
	ctx := context.Background()
	log := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "refused" {
			fmt.Println("logged:", r.Message)
		}
	}))
	n, _ := sbfeed.Open(tempDir("log"), counter, sbfeed.Options{Logger: log})
	defer n.Close()
	n.Dispatch(ctx, Action{Type: "JUMP"})
	// Output: logged: refused
}

// Options.Writers names the writer set: history every writer has
// acknowledged becomes final, and other authors are refused.
func ExampleOptions_writers() {
	ctx := context.Background()
	k, _ := identity.FromSeed(make([]byte, 32))
	n, _ := sbfeed.Open(tempDir("w"), counter, sbfeed.Options{Key: k, Writers: []identity.ID{k.ID()}})
	defer n.Close()
	n.Dispatch(ctx, Action{Type: "INCREMENT"})
	fmt.Println(n.State())
	// Output: 1
}

// Subscribe reports state changes and refused actions.
func ExampleNode_Subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, _ := sbfeed.Open(tempDir("sub"), counter, sbfeed.Options{})
	defer n.Close()
	events, _ := n.Subscribe(ctx)
	<-events // the current state
	n.Dispatch(ctx, Action{Type: "INCREMENT"})
	n.Dispatch(ctx, Action{Type: "JUMP"})
	for range 2 {
		ev := <-events
		if ev.Refusal != nil {
			fmt.Println("refused:", ev.Refusal.Reason)
		} else {
			fmt.Println("state:", ev.State)
		}
	}
	// Output:
	// state: 1
	// refused: merge: reducer refused the action: unknown action "JUMP"
}

// Dispatch after Close fails with ErrClosed; nothing acknowledged is lost.
func ExampleNode_Close() {
	ctx := context.Background()
	dir := tempDir("close")
	n, _ := sbfeed.Open(dir, counter, sbfeed.Options{})
	n.Dispatch(ctx, Action{Type: "INCREMENT"})
	n.Close()
	fmt.Println(errors.Is(n.Dispatch(ctx, Action{Type: "INCREMENT"}), sbfeed.ErrClosed))
	n, _ = sbfeed.Open(dir, counter, sbfeed.Options{})
	defer n.Close()
	fmt.Println(n.State())
	// Output:
	// true
	// 1
}

type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h handlerFunc) WithGroup(string) slog.Handler                 { return h }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Squash releases the memory of final history: with a writer set, what
// every writer has acknowledged can never move again and is folded into
// the view's base state, with a Merkle root auditors can check entries
// against.
func ExampleNode_Squash() {
	ctx := context.Background()
	k, _ := identity.FromSeed(make([]byte, 32))
	n, _ := sbfeed.Open(tempDir("squash"), counter, sbfeed.Options{Key: k, Writers: []identity.ID{k.ID()}})
	defer n.Close()
	for range 3 {
		n.Dispatch(ctx, Action{Type: "INCREMENT"})
	}
	// A sole writer has acknowledged all of its own history.
	f, _ := n.Final(ctx)
	snap, err := n.Squash(ctx)
	fmt.Println(f.Count, snap.Frontier.Count, snap.State, err, n.State())
	// Output: 3 3 3 <nil> 3
}

// A retention policy squashes final history as it goes, so a long-lived
// node's memory stays bounded by what some writer has not acknowledged yet.
func ExampleOptions_retention() {
	ctx := context.Background()
	k, _ := identity.FromSeed(make([]byte, 32))
	n, _ := sbfeed.Open(tempDir("retention"), counter, sbfeed.Options{
		Key: k, Writers: []identity.ID{k.ID()},
		Retention: sbfeed.RetentionPolicy{SquashEvery: 4},
	})
	defer n.Close()
	events, _ := n.Subscribe(ctx)
	for range 10 {
		n.Dispatch(ctx, Action{Type: "INCREMENT"})
	}
	// Dispatch returns once its action is folded, and a squash is done
	// when the fold that made history final is.
	for {
		select {
		case ev := <-events:
			if ev.Squashed != nil {
				fmt.Println("squashed", ev.Squashed.Entries)
			}
			continue
		default:
		}
		break
	}
	fmt.Println("state", n.State())
	// Output:
	// squashed 4
	// squashed 8
	// state 10
}
