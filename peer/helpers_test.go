package peer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/logtest"
	"github.com/sbfeed/sbfeed/store"
)

const wait = 60 * time.Second

var testNet = identity.NetworkFromName("peer-test")

func testKey(t testing.TB, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logSink keeps what the component logs, so tests can wait for a
// refusal to be logged.
type logSink = logtest.Sink

func newLogSink() *logSink { return logtest.New(slog.LevelInfo) }

// node is a Peer under test with its store and a signal on every store.
type node struct {
	t     testing.TB
	key   *identity.Key
	dir   string
	db    *store.DB
	p     *Peer
	log   *logSink
	mu    sync.Mutex
	wake  chan struct{}
	count int // entries reported by OnStored
}

type nodeOpts struct {
	listen  string
	dial    []string
	network identity.Network
	dir     string
	mod     func(*Config)
}

func startNode(t testing.TB, seed byte, o nodeOpts) *node {
	t.Helper()
	n := &node{t: t, key: testKey(t, seed), dir: o.dir, log: newLogSink(), wake: make(chan struct{})}
	if n.dir == "" {
		n.dir = t.TempDir()
	}
	network := o.network
	if network == (identity.Network{}) {
		network = testNet
	}
	db, err := store.Open(n.dir, &store.Options{Network: network})
	if err != nil {
		t.Fatal(err)
	}
	n.db = db
	cfg := Config{
		Key:        n.key,
		Store:      db,
		Listen:     o.listen,
		Dial:       o.dial,
		Logger:     slog.New(n.log),
		Tick:       20 * time.Millisecond,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		OnStored: func(es []feed.Entry) {
			n.mu.Lock()
			n.count += len(es)
			close(n.wake)
			n.wake = make(chan struct{})
			n.mu.Unlock()
		},
	}
	if o.mod != nil {
		o.mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	n.p = p
	t.Cleanup(n.stop)
	return n
}

// stop closes the peer and its store; it may be called more than once.
func (n *node) stop() {
	if n.p != nil {
		if err := n.p.Close(); err != nil {
			n.t.Errorf("close peer: %v", err)
		}
		n.p = nil
	}
	if n.db != nil {
		n.db.Close()
		n.db = nil
	}
}

func (n *node) addr() string { return n.key.ID().String() + "@" + n.p.Addr() }

func (n *node) publish(t testing.TB, count int, prefix string) {
	t.Helper()
	contents := make([][]byte, count)
	for i := range contents {
		contents[i] = fmt.Appendf(nil, "%s %d", prefix, i)
	}
	for len(contents) > 0 {
		k := min(len(contents), 1000)
		if _, err := n.p.Publish(context.Background(), contents[:k]...); err != nil {
			t.Fatal(err)
		}
		contents = contents[k:]
	}
}

// heads returns the node's stored heads by author.
func (n *node) heads(t testing.TB) map[identity.ID]uint64 {
	hs, err := n.db.Heads()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[identity.ID]uint64, len(hs))
	for _, h := range hs {
		m[h.Author] = h.Head.Seq
	}
	return m
}

// waitHeads waits until the node stores at least want's heads.
func (n *node) waitHeads(t testing.TB, want map[identity.ID]uint64) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		ch := n.wake
		n.mu.Unlock()
		got := n.heads(t)
		ok := true
		for a, s := range want {
			ok = ok && got[a] >= s
		}
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: heads %v, want %v", n.key.ID().Short(), short(got), short(want))
		}
	}
}

// waitCount waits until OnStored has reported at least k entries.
func (n *node) waitCount(t testing.TB, k int) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		ch, c := n.wake, n.count
		n.mu.Unlock()
		if c >= k {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d entries stored, want %d", n.key.ID().Short(), c, k)
		}
	}
}

// waitReceived waits until the peer has counted k received entries: its
// counters are updated just after the store, so a test that saw the heads
// may read them a moment early.
func (n *node) waitReceived(t testing.TB, k int64) int64 {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		ch := n.wake
		n.mu.Unlock()
		if r := n.p.Stats().Received; r >= k {
			return r
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d entries received, want %d", n.key.ID().Short(), n.p.Stats().Received, k)
		}
	}
}

func short(m map[identity.ID]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for a, s := range m {
		out[a.Short()] = s
	}
	return out
}

// checkFeed verifies that the node holds exactly seqs 1..n of author's
// feed, each once, chained and signed.
func (n *node) checkFeed(t testing.TB, author identity.ID, want uint64) {
	t.Helper()
	var run []feed.Entry
	for e, err := range n.db.Range(author, 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		run = append(run, e)
	}
	if uint64(len(run)) != want {
		t.Fatalf("%s holds %d entries of %s, want %d", n.key.ID().Short(), len(run), author.Short(), want)
	}
	if err := feed.VerifyChainFull(n.db.Network(), feed.Head{}, run); err != nil {
		t.Fatal(err)
	}
}
