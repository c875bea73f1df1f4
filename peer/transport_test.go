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
		k, err := identity.FromSeed(bytes.Repeat([]byte{seed}, 32))
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(t.TempDir(), &store.Options{Network: network, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
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
