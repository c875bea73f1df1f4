package merge_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// A counter shared by two writers: Bob's entry arrives late and is
// inserted in its place; the state is always the fold over the order.
func Example() {
	key := func(b byte) *identity.Key {
		k, _ := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
		return k
	}
	alice, bob := key(1), key(2)
	net := identity.NetworkFromName("example")
	add := func(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

	a1, _ := feed.Create(alice, net, feed.Head{}, feed.Draft{Content: add(10)})
	a2, _ := feed.Create(alice, net, a1.Head(), feed.Draft{Content: add(5)})
	b1, _ := feed.Create(bob, net, feed.Head{}, feed.Draft{Content: add(-3), Refs: []feed.Ref{{ID: a1.ID(), Clock: a1.Clock}}})
	a3, _ := feed.Create(alice, net, a2.Head(), feed.Draft{Content: add(1), Refs: []feed.Ref{{ID: b1.ID(), Clock: b1.Clock}}})

	v, err := merge.New(merge.Config[int64, int64]{
		Reducer: func(s, a int64) (int64, error) {
			if s+a < 0 {
				return s, errors.New("the counter cannot go below zero")
			}
			return s + a, nil
		},
		Decode: func(b []byte) (int64, error) {
			if len(b) != 8 {
				return 0, errors.New("want 8 bytes")
			}
			return int64(binary.BigEndian.Uint64(b)), nil
		},
		Writers: []identity.ID{alice.ID(), bob.ID()},
	})
	if err != nil {
		panic(err)
	}
	v.Add(a1, a2, a3) // a3 waits for b1
	fmt.Println("state", v.State(), "pending", v.Pending())
	r := v.Add(b1) // b1 and a2 share clock 2; the IDs order them: rewind, replay
	fmt.Println("state", v.State(), "replayed", r.Replayed, "final", r.Final.Count)

	// Only a1 is final: Bob has not seen a2 or a3 yet.
	s, _ := v.Squash()
	p, _ := s.Prove(a1.ID())
	fmt.Println("squashed", len(s.IDs), "proof ok:", merge.VerifyInclusion(s.Root, a1.ID(), p) == nil)
	// Output:
	// state 15 pending 1
	// state 13 replayed 2 final 1
	// squashed 1 proof ok: true
}
