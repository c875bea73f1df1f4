package bundle_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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
	for _, s := range []string{"one", "two", "three"} {
		e, _ := feed.Create(key, network, head, feed.Draft{Content: []byte(s)})
		w.WriteEntry(&e)
		head = e.Head()
	}
	w.Close()

	// Read it back, cut short: the entries before the damage are intact,
	// and the error says where it went wrong.
	data := buf.Bytes()
	r, _ := bundle.NewReader(bytes.NewReader(data[:len(data)-100]), &network)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(errors.Is(err, bundle.ErrTruncated), err)
			break
		}
		fmt.Printf("record %d at byte %d: seq %d %s\n", rec.Index, rec.Offset, rec.Entry.Seq, rec.Entry.Content)
	}
	// Output:
	// record 0 at byte 47: seq 1 one
	// record 1 at byte 210: seq 2 two
	// true bundle: byte 373, record 2 (entry rkeohxlu seq 3): bundle: truncated: entry record of 165 bytes cut after 90
}
