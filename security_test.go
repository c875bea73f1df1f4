package sbfeed_test

// Tests that show, node by node, what docs/security.md claims: each
// guarantee and each documented non-guarantee.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/identity"
)

func openMem[S, A any](t *testing.T, mem *sbfeed.MemNetwork, reduce func(S, A) (S, error), o sbfeed.Options) *sbfeed.Node[S, A] {
	t.Helper()
	o.Transport = mem
	o.Tick = 20 * time.Millisecond
	n, err := sbfeed.Open(t.TempDir(), reduce, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func listen[S, A any](t *testing.T, n *sbfeed.Node[S, A]) string {
	t.Helper()
	a, err := n.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Fork evidence: two nodes share one key (a copied identity) and write
// different entries at the same seq. A node that hears of both stores a
// fork proof, passes it on, and every node stops counting the forked feed
// from the fork on, identically.
func TestSecurityForkEvidence(t *testing.T) {
	ctx := ctxT(t)
	mem := sbfeed.NewMemNetwork()
	k := mustKey(t, 7)
	a := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: k})
	a2 := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: k}) // the same identity, elsewhere
	b := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: mustKey(t, 8)})
	if err := b.Dispatch(ctx, apps.CounterAction{Type: apps.Increment}); err != nil {
		t.Fatal(err)
	}
	a.Dispatch(ctx, apps.CounterAction{Type: apps.Increment})
	a2.Dispatch(ctx, apps.CounterAction{Type: apps.Decrement})

	hub := listen(t, b)
	if err := a.Connect(ctx, hub); err != nil {
		t.Fatal(err)
	}
	if err := a2.Connect(ctx, hub); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*sbfeed.Node[int64, apps.CounterAction]{a, a2, b} {
		waitUntil(t, 20*time.Second, "every node to hold the fork proof", func() bool {
			ps, err := n.Store().Forks()
			return err == nil && len(ps) == 1 && ps[0].Author() == k.ID() && ps[0].Seq() == 1
		})
	}
	// The forked feed stops counting from seq 1 on: only b's action counts.
	for _, n := range []*sbfeed.Node[int64, apps.CounterAction]{a, a2, b} {
		waitUntil(t, 10*time.Second, "the fork rule to apply", func() bool { return n.State() == 1 })
	}
	if err := a.Dispatch(ctx, apps.CounterAction{Type: apps.Increment}); err == nil {
		t.Error("a node whose own feed is proven forked still dispatches")
	}
}

// Confidentiality with a group key: a relay without the key stores,
// verifies and passes on entries whose contents it cannot read; a member
// with another key refuses them; members agree.
// Metadata is not hidden: the relay sees authors, seqs, clocks and sizes.
func TestSecurityConfidentialityAndMetadata(t *testing.T) {
	ctx := ctxT(t)
	mem := sbfeed.NewMemNetwork()
	key, _ := sbfeed.GenerateGroupKey(zeroReader{})
	wrong := key
	wrong[0] ^= 1
	alice := openMem(t, mem, apps.ChatReduce, sbfeed.Options{Key: mustKey(t, 1), GroupKey: &key})
	relay := openMem[struct{}, struct{}](t, mem, nil, sbfeed.Options{Key: mustKey(t, 2)})
	bob := openMem(t, mem, apps.ChatReduce, sbfeed.Options{Key: mustKey(t, 3), GroupKey: &key})
	eve := openMem(t, mem, apps.ChatReduce, sbfeed.Options{Key: mustKey(t, 4), GroupKey: &wrong})
	hub := listen(t, relay)
	for _, n := range []*sbfeed.Node[apps.ChatState, apps.ChatAction]{alice, bob, eve} {
		if err := n.Connect(ctx, hub); err != nil {
			t.Fatal(err)
		}
	}
	secret := "the eagle lands at dawn"
	if err := alice.Dispatch(ctx, apps.ChatAction{Type: apps.ChatSay, Text: secret}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "bob and eve to hold the entry", func() bool { return bob.Len() == 1 && eve.Len() == 1 })
	if s := bob.State(); len(s) != 1 || s[0].Text != secret || s[0].Author != alice.ID() {
		t.Fatalf("bob's room: %+v", s)
	}
	if s := eve.State(); len(s) != 0 {
		t.Fatalf("a node with the wrong key read %+v", s)
	}
	rs, _ := eve.Refusals(ctx)
	if len(rs) != 1 {
		t.Fatalf("eve's refusals: %v", rs)
	}
	e, err := relay.Store().Get(alice.ID(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(e.Content, []byte("eagle")) || !sbfeed.IsSealed(e.Content) {
		t.Fatal("the relay stored the plaintext")
	}
	// What the relay does see.
	plain, _ := json.Marshal(apps.ChatAction{Type: apps.ChatSay, Text: secret})
	if e.Author != alice.ID() || e.Seq != 1 || len(e.Content) != len(plain)+sbfeed.SealOverhead {
		t.Errorf("metadata: author %s seq %d size %d (plaintext %d + %d)", e.Author.Short(), e.Seq, len(e.Content), len(plain), sbfeed.SealOverhead)
	}
}

// Not guaranteed: a writer may withhold its entries, and may backdate
// within the rules. Carol writes while disconnected, without referencing
// anything she could have seen; when she publishes, her action sorts
// before actions that were dispatched (elsewhere) before it, and every
// state changes accordingly. The merge is deterministic, not a clock.
func TestSecurityWithholdingAndBackdating(t *testing.T) {
	ctx := ctxT(t)
	mem := sbfeed.NewMemNetwork()
	alice := openMem(t, mem, apps.ChatReduce, sbfeed.Options{Key: mustKey(t, 1)})
	carol := openMem(t, mem, apps.ChatReduce, sbfeed.Options{Key: mustKey(t, 3)})
	hub := listen(t, alice)
	for _, txt := range []string{"one", "two", "three"} {
		alice.Dispatch(ctx, apps.ChatAction{Type: apps.ChatSay, Text: txt})
	}
	// Carol withholds: her entry exists only on her node.
	carol.Dispatch(ctx, apps.ChatAction{Type: apps.ChatSay, Text: "I was first"})
	if alice.Len() != 3 {
		t.Fatalf("alice holds %d entries before carol publishes", alice.Len())
	}
	if err := carol.Connect(ctx, hub); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "alice to hold carol's entry", func() bool { return alice.Len() == 4 })
	room := alice.State()
	if room[0].Text != "I was first" && room[1].Text != "I was first" {
		t.Fatalf("carol's late entry did not sort among the first: %+v", room)
	}
}

// Not guaranteed in an open network: anyone can make identities (Sybil
// writers) and their actions count. With an explicit writer set
// (Options.Writers), a stranger's entries are stored and relayed but do not
// count.
func TestSecuritySybilWriters(t *testing.T) {
	ctx := ctxT(t)
	for _, closed := range []bool{false, true} {
		mem := sbfeed.NewMemNetwork()
		ka := mustKey(t, 1)
		var writers []identity.ID
		if closed {
			writers = []identity.ID{ka.ID()}
		}
		alice := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: ka, Writers: writers})
		sybil := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: mustKey(t, 66)})
		hub := listen(t, alice)
		alice.Dispatch(ctx, apps.CounterAction{Type: apps.Increment})
		for range 5 {
			sybil.Dispatch(ctx, apps.CounterAction{Type: apps.Decrement})
		}
		if err := sybil.Connect(ctx, hub); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "alice to store the sybil's feed", func() bool {
			h, ok, _ := alice.Store().Head(sybil.ID())
			return ok && h.Seq == 5
		})
		want := int64(-4)
		if closed {
			want = 1
		}
		waitUntil(t, 10*time.Second, "alice's state", func() bool { return alice.State() == want })
	}
}

// Network isolation: a node of another network is refused before any entry
// moves (see also ExampleOptions_network).
func TestSecurityNetworkIsolation(t *testing.T) {
	ctx := ctxT(t)
	mem := sbfeed.NewMemNetwork()
	refused := make(chan string, 16)
	log := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "peer refused" {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" {
					select {
					case refused <- a.Value.String():
					default:
					}
				}
				return true
			})
		}
	}))
	a := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: mustKey(t, 1), Network: identity.NetworkFromName("a")})
	b := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: mustKey(t, 2), Network: identity.NetworkFromName("b"), Logger: log})
	c := openMem(t, mem, apps.CounterReduce, sbfeed.Options{Key: mustKey(t, 3), Network: identity.NetworkFromName("a")})
	a.Dispatch(ctx, apps.CounterAction{Type: apps.Increment})
	hub := listen(t, a)
	b.Connect(ctx, hub)
	c.Connect(ctx, hub)
	waitUntil(t, 10*time.Second, "c, of the same network, to sync", func() bool { return c.Len() == 1 })
	select {
	case why := <-refused:
		if !strings.Contains(why, "network") {
			t.Errorf("b refused the peer for %q, want a network mismatch", why)
		}
	case <-ctx.Done():
		t.Fatal("b never refused the peer of another network")
	}
	if hs, _ := b.Store().Heads(); b.Len() != 0 || len(hs) != 0 {
		t.Fatalf("a node of another network stored feeds %v", hs)
	}
}
