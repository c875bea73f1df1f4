package peer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/peer"
	"github.com/sbfeed/sbfeed/store"
)

// Two peers over QUIC on loopback, each with its Pebble store: what one
// publishes is stored by the other.
func Example() {
	dir, _ := os.MkdirTemp("", "sbfeed-peer-example")
	defer os.RemoveAll(dir)
	network := identity.NetworkFromName("example")
	open := func(name string) *store.DB {
		db, err := store.Open(dir+"/"+name, &store.Options{Network: network})
		if err != nil {
			panic(err)
		}
		return db
	}
	aliceKey, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	bobKey, _ := identity.FromSeed(bytes.Repeat([]byte{2}, 32))
	aliceDB, bobDB := open("alice"), open("bob")
	defer aliceDB.Close()
	defer bobDB.Close()

	alice, err := peer.New(peer.Config{Key: aliceKey, Store: aliceDB, Listen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	got := make(chan feed.Entry, 10)
	bob, err := peer.New(peer.Config{Key: bobKey, Store: bobDB,
		Dial: []string{aliceKey.ID().String() + "@" + alice.Addr()},
		OnStored: func(es []feed.Entry) {
			for _, e := range es {
				got <- e
			}
		}})
	if err != nil {
		panic(err)
	}
	defer bob.Close()

	alice.Publish(context.Background(), []byte("hello, bob"))
	e := <-got
	fmt.Printf("bob stored %q, seq %d of alice's feed: %v\n", e.Content, e.Seq, e.Author == aliceKey.ID())
	// Output:
	// bob stored "hello, bob", seq 1 of alice's feed: true
}
