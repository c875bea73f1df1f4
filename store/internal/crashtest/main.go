package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

func main() {
	dir := flag.String("dir", "", "data directory")
	seed := flag.Uint64("seed", 1, "random seed for batch sizes")
	flag.Parse()
	network := identity.NetworkFromName("crashtest")
	key, err := identity.FromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		fail(err)
	}
	db, err := store.Open(*dir, &store.Options{Network: network})
	if err != nil {
		fail(err)
	}
	head, _, err := db.Head(key.ID())
	if err != nil {
		fail(err)
	}
	fmt.Printf("open %d\n", head.Seq)
	rng := rand.New(rand.NewPCG(*seed, head.Seq))
	content := bytes.Repeat([]byte("x"), 100)
	for {
		n := 1 + rng.IntN(20)
		drafts := make([]feed.Draft, n)
		for i := range drafts {
			drafts[i] = feed.Draft{Content: content}
		}
		entries, err := feed.Chain(key.ID(), head, drafts)
		if err != nil {
			fail(err)
		}
		for i := range entries {
			if err := entries[i].Sign(key, network); err != nil {
				fail(err)
			}
		}
		if _, err := db.Append(entries...); err != nil {
			fail(err)
		}
		head = entries[n-1].Head()
		// os.Stdout is unbuffered: the line is out once Println returns.
		fmt.Println(head.Seq)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crashtest:", err)
	os.Exit(3)
}
