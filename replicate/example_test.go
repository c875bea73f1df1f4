package replicate_test

import (
	"bytes"
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/replicate/replicatetest"
)

// Example drives two sessions by hand, as a transport would: every Ready is
// persisted, then its messages are encoded, "sent" and stepped into the
// other side.
func Example() {
	net := identity.NetworkFromName("example")
	alice, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	bob, _ := identity.FromSeed(bytes.Repeat([]byte{2}, 32))
	binding := bytes.Repeat([]byte{9}, 32) // the transport's channel binding

	aliceStore := replicatetest.NewMemStore(net)
	var head feed.Head
	for _, text := range []string{"hello", "world"} {
		e, _ := feed.Create(alice, net, head, feed.Draft{Content: []byte(text)})
		_ = aliceStore.Append(e)
		head = e.Head()
	}
	bobStore := replicatetest.NewMemStore(net)

	a, _ := replicate.New(replicate.Config{Self: alice.ID(), Key: alice, Network: net, Remote: bob.ID(),
		Binding: binding, Storage: aliceStore})
	b, _ := replicate.New(replicate.Config{Self: bob.ID(), Key: bob, Network: net, Remote: alice.ID(),
		Binding: binding, Storage: bobStore})

	// handle persists a Ready, then returns its messages encoded.
	handle := func(s *replicate.Session, st *replicatetest.MemStore) [][]byte {
		var out [][]byte
		for s.HasReady() {
			rd := s.Ready()
			if err := st.Append(rd.Entries...); err != nil { // 1. persist
				panic(err)
			}
			for _, m := range rd.Messages { // 2. send
				out = append(out, replicate.EncodeMessage(nil, m.Body))
			}
			s.Advance(rd) // 3. advance
		}
		return out
	}
	step := func(s *replicate.Session, frames [][]byte) {
		for _, f := range frames {
			m, err := replicate.DecodeMessage(f)
			if err == nil {
				err = s.Step(m)
			}
			if err != nil {
				fmt.Println("error:", err)
			}
		}
	}
	for range 5 {
		fa, fb := handle(a, aliceStore), handle(b, bobStore)
		step(b, fa)
		step(a, fb)
	}
	es, _ := bobStore.Entries(alice.ID())
	for _, e := range es {
		fmt.Printf("bob has %s seq %d: %s\n", e.Author.Short(), e.Seq, e.Content)
	}
	// Output:
	// bob has rkeohxlu seq 1: hello
	// bob has rkeohxlu seq 2: world
}
