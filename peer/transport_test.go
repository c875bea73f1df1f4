package peer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/peer"
	"github.com/sbfeed/sbfeed/store"
)

// The driver runs over any Transport: here the root package's in-memory
// network. Connect returns once a connection is up, Do runs on the owner
// goroutine and offers what it stored to the remotes, and a closed peer
// refuses work.
func TestOtherTransport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mem := sbfeed.NewMemNetwork()
	network := identity.NetworkFromName("peer-mem-test")
	start := func(seed byte, stored chan<- feed.Entry) (*peer.Peer, *identity.Key, *store.DB) {
		t.Helper()
		k, db := seedKey(t, seed), tempStore(t, network)
		p, err := peer.New(peer.Config{Key: k, Store: db, Transport: mem, Tick: 10 * time.Millisecond,
			OnStored: func(es []feed.Entry) {
				for _, e := range es {
					stored <- e
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p, k, db
	}
	got := make(chan feed.Entry, 16)
	a, aKey, aDB := start(1, make(chan feed.Entry, 16))
	b, _, _ := start(2, got)
	addr, err := a.Listen("a:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Listen("a:2"); err == nil {
		t.Fatal("a second Listen succeeded")
	}
	if err := b.Connect(ctx, aKey.ID().String()+"@"+addr); err != nil {
		t.Fatal(err)
	}
	// An entry a stores through Do reaches b.
	var made feed.Entry
	err = a.Do(ctx, func() []feed.Entry {
		e, err := feed.Create(aKey, network, feed.Head{}, feed.Draft{Content: []byte("through Do")})
		if err != nil {
			t.Error(err)
			return nil
		}
		if _, err := aDB.Append(e); err != nil {
			t.Error(err)
			return nil
		}
		made = e
		return []feed.Entry{e}
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.ID() != made.ID() {
			t.Fatalf("b stored %s, want %s", e.ID().Short(), made.ID().Short())
		}
	case <-ctx.Done():
		t.Fatal("b never stored a's entry")
	}
	a.Close()
	if err := a.Do(ctx, func() []feed.Entry { return nil }); !errors.Is(err, peer.ErrClosed) {
		t.Fatalf("Do on a closed peer: %v, want ErrClosed", err)
	}
	if err := a.Connect(ctx, "b:1"); !errors.Is(err, peer.ErrClosed) {
		t.Fatalf("Connect on a closed peer: %v, want ErrClosed", err)
	}
}

// Two peers that dial each other keep one connection: the one the lower
// identity dialled, on both sides. The other side's redial loop waits for
// it instead of dialling again, and dials once it ends.
func TestCrossedDialsKeepOneConnection(t *testing.T) {
	t.Run("memnet", func(t *testing.T) {
		crossedDials(t, sbfeed.NewMemNetwork(), "a:1", "b:1")
	})
	t.Run("quic", func(t *testing.T) {
		crossedDials(t, nil, "127.0.0.1:0", "127.0.0.1:0")
	})
}

func crossedDials(t *testing.T, tr peer.Transport, aAddr, bAddr string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	network := identity.NetworkFromName("peer-crossed-test")
	type node struct {
		p    *peer.Peer
		addr string
		key  *identity.Key
		db   *store.DB
	}
	open := func(k *identity.Key, db *store.DB, addr string) (*peer.Peer, string) {
		t.Helper()
		p, err := peer.New(peer.Config{Key: k, Store: db, Transport: tr, Tick: 10 * time.Millisecond,
			MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		a, err := p.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		return p, a
	}
	mk := func(seed byte, addr string) *node {
		n := &node{key: seedKey(t, seed), db: tempStore(t, network)}
		k, db := n.key, n.db
		n.p, n.addr = open(k, db, addr)
		return n
	}
	a, b := mk(1, aAddr), mk(2, bAddr)
	defer func() { a.p.Close() }()
	defer func() { b.p.Close() }()
	if err := a.p.Connect(ctx, b.addr); err != nil {
		t.Fatal(err)
	}
	if err := b.p.Connect(ctx, a.addr); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s: a %+v, b %+v", what, a.p.Stats(), b.p.Stats())
			case <-time.After(time.Millisecond):
			}
		}
	}
	waitFor("one connection each", func() bool { return a.p.Stats().Conns == 1 && b.p.Stats().Conns == 1 })
	// Entries flow both ways over it, many redial backoffs long, and
	// nobody dials again. (The side that lost may have dialled once more
	// if it saw its connection end before the other arrived: that dial
	// was the duplicate, and then it waited.)
	var dialled [2]int64
	for i := range 20 {
		if i == 5 {
			dialled = [2]int64{a.p.Stats().Dialled, b.p.Stats().Dialled}
		}
		if _, err := a.p.Publish(ctx, []byte{'a', byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.p.Publish(ctx, []byte{'b', byte(i)}); err != nil {
			t.Fatal(err)
		}
		waitFor("entries both ways", func() bool {
			ha, _, _ := b.db.Head(a.key.ID())
			hb, _, _ := a.db.Head(b.key.ID())
			return ha.Seq == uint64(i+1) && hb.Seq == uint64(i+1)
		})
	}
	if now := [2]int64{a.p.Stats().Dialled, b.p.Stats().Dialled}; now != dialled || now[0]+now[1] > 3 {
		t.Errorf("dialled (a, b) = %v after converging, %v fifteen round trips before: want no change, at most 3 in all", now, dialled)
	}
	if a.p.Stats().Conns != 1 || b.p.Stats().Conns != 1 {
		t.Errorf("connections a=%d b=%d, want 1 each", a.p.Stats().Conns, b.p.Stats().Conns)
	}
	// The connection ends (b restarts): a's redial loop, waiting or not,
	// connects again, and they keep one connection.
	b.p.Close()
	b.p, _ = open(b.key, b.db, b.addr)
	if err := b.p.Connect(ctx, a.addr); err != nil {
		t.Fatal(err)
	}
	waitFor("one connection again", func() bool { return a.p.Stats().Conns == 1 && b.p.Stats().Conns == 1 })
	if _, err := b.p.Publish(ctx, []byte("after the restart")); err != nil {
		t.Fatal(err)
	}
	waitFor("sync after the restart", func() bool {
		h, _, _ := a.db.Head(b.key.ID())
		return h.Seq == 21
	})
}

// seedKey is the identity whose seed is 32 times b.
func seedKey(t *testing.T, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tempStore opens an unsynced store in a temporary directory, closed when
// the test ends.
func tempStore(t *testing.T, network identity.Network) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), &store.Options{Network: network, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
