package feed_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

func ExampleCreate() {
	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	net := identity.NetworkFromName("example")

	var head feed.Head // an empty feed
	for _, text := range []string{"hello", "world"} {
		e, err := feed.Create(key, net, head, feed.Draft{Content: []byte(text)})
		if err != nil {
			panic(err)
		}
		fmt.Printf("seq %d clock %d %q, %d bytes encoded\n", e.Seq, e.Clock, e.Content, len(e.Encode()))
		head = e.Head()
	}
	// Output:
	// seq 1 clock 1 "hello", 156 bytes encoded
	// seq 2 clock 2 "world", 156 bytes encoded
}

func ExampleDecode() {
	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	net := identity.NetworkFromName("example")
	e, _ := feed.Create(key, net, feed.Head{}, feed.Draft{Content: []byte("hello")})
	b := e.Encode()

	got, err := feed.Decode(b)
	fmt.Println(err, got.Verify(net), bytes.Equal(got.Encode(), b))

	b[len(b)-66] ^= 1 // a bit of the content: still an entry, but forged
	got, err = feed.Decode(b)
	fmt.Println(err, errors.Is(got.Verify(net), feed.ErrBadSignature))

	b[0] = 2 // a version this build does not read
	_, err = feed.Decode(b)
	fmt.Println(err)
	// Output:
	// <nil> <nil> true
	// <nil> true
	// feed: decode: version at byte 0: unsupported version: version 2, this build reads 1
}

func ExampleVerifyChain() {
	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	net := identity.NetworkFromName("example")
	var run []feed.Entry
	var head feed.Head
	for i := range 100 {
		e, _ := feed.Create(key, net, head, feed.Draft{Content: []byte{byte(i)}})
		run = append(run, e)
		head = e.Head()
	}
	// Hash links plus the newest signature authenticate all 100 entries.
	fmt.Println(feed.VerifyChain(net, feed.Head{}, run))

	run[41].Content = []byte("forged")
	err := feed.VerifyChain(net, feed.Head{}, run)
	fmt.Println(errors.Is(err, feed.ErrBrokenChain))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// feed: entry rkeohxlu seq 43: prev: broken chain: names 0b741784, head is 7dbb4fff
}

func ExampleNewForkProof() {
	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	net := identity.NetworkFromName("example")
	// The author signs two different entries at seq 1.
	a, _ := feed.Create(key, net, feed.Head{}, feed.Draft{Content: []byte("pay alice")})
	b, _ := feed.Create(key, net, feed.Head{}, feed.Draft{Content: []byte("pay bob")})

	p, err := feed.NewForkProof(net, a, b)
	fmt.Println(err)
	// Anyone can check the encoded proof, trusting no one.
	q, err := feed.DecodeForkProof(p.Encode())
	fmt.Println(err, q.Verify(net), q.Author() == key.ID(), q.Seq())
	// Output:
	// <nil>
	// <nil> <nil> true 1
}
