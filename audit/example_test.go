package audit_test

import (
	"bytes"
	"fmt"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

func Example() {
	network := identity.NetworkFromName("example")
	key, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	var buf bytes.Buffer
	w, _ := bundle.NewWriter(&buf, network)
	var head feed.Head
	for i := 1; i <= 3; i++ {
		e, _ := feed.Create(key, network, head, feed.Draft{Content: fmt.Appendf(nil, "entry %d", i)})
		if i == 2 {
			e.Content = []byte("forged") // altered after signing
		}
		w.WriteEntry(&e)
		head = e.Head()
	}
	w.Close()

	b, _ := audit.LoadBundle(&buf, network)
	rep, _ := audit.RunBundle(b, audit.Options{Network: network})
	fmt.Println("clean:", rep.Clean())
	for _, p := range rep.Problems {
		fmt.Println(p.Seq, p.What)
	}
	// Output:
	// clean: false
	// 2 signature: bad signature (network 7c57f666)
	// 3 prev: broken chain (names 15319ce7, head is 5d271315)
}
