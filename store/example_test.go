package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sbfeed-example")
	defer os.RemoveAll(dir)
	network := identity.NetworkFromName("example")
	db, err := store.Open(dir, &store.Options{Network: network})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	head, _, _ := db.Head(key.ID())
	e, _ := feed.Create(key, network, head, feed.Draft{Content: []byte("hello")})
	res, err := db.Append(e) // durable when it returns
	fmt.Println(res.New, err)

	// Appending it again is a no-op.
	res, _ = db.Append(e)
	fmt.Println(res.Known)

	// A second signed entry at seq 1 is a fork: kept as a proof.
	other, _ := feed.Create(key, network, feed.Head{}, feed.Draft{Content: []byte("hello?")})
	_, err = db.Append(other)
	fmt.Println(errors.Is(err, feed.ErrFork))

	for e, err := range db.MergeOrder(0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d %s\n", e.Seq, e.Content)
	}

	// Another process (or Open) on the same directory is told who holds it.
	_, err = store.Open(dir, &store.Options{Network: network})
	fmt.Println(errors.Is(err, store.ErrLocked))
	// Output:
	// 1 <nil>
	// 1
	// true
	// 1 hello
	// true
}
