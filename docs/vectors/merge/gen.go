//go:build ignore

// gen rebuilds the merge vectors from fixed keys:
//
//	go run ./docs/vectors/merge/gen.go     # from the repository root
//
// Each vector is one scenario for the counter application of merge-v1.md
// section 11: content is an 8-byte big-endian signed delta, anything else
// is refused as undecodable, and the reducer refuses a delta that would
// take the counter below zero. The header gives the writer set and the
// expected outcome once every entry is added in body order:
//
//	expect: success
//	comment: …
//	writers: <identity>,…   (or "open")
//	order: <short ID> …      (8 hex digits per entry of the order)
//	refused: <short ID> …    (or "none")
//	state: <counter>
//	final: <number of final entries>
//	writers-after: <identity short> … (the writer set at the tip, sorted)
//
// The body is one entry per line, base64 of its canonical encoding, in the
// order they are to be added (deliberately not the merge order).
// merge/vectors_test.go runs every vector, in the body order and reversed.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/vectorfile"
	"github.com/sbfeed/sbfeed/merge"
)

var network = identity.NetworkFromName("sbfeed-vectors")

type writer struct {
	key  *identity.Key
	head feed.Head
}

func newWriter(b byte) *writer {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		log.Fatal(err)
	}
	return &writer{key: k}
}

func delta(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func (w *writer) write(content []byte, after ...feed.Entry) feed.Entry {
	var refs []feed.Ref
	for _, e := range after {
		refs = append(refs, feed.Ref{ID: e.ID(), Clock: e.Clock})
	}
	e, err := feed.Create(w.key, network, w.head, feed.Draft{Refs: refs, Content: content})
	if err != nil {
		log.Fatal(err)
	}
	w.head = e.Head()
	return e
}

// fork writes an entry that forks w's feed after its entry at seq-1.
func (w *writer) fork(prev feed.Head, content []byte) feed.Entry {
	e, err := feed.Create(w.key, network, prev, feed.Draft{Content: content})
	if err != nil {
		log.Fatal(err)
	}
	return e
}

func reduce(s, a int64) (int64, error) {
	if s+a < 0 {
		return s, errors.New("below zero")
	}
	return s + a, nil
}

func decode(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, errors.New("not 8 bytes")
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

type vector struct {
	name, comment string
	writers       []*writer // nil: open mode
	entries       []feed.Entry
}

func main() {
	dir := "docs/vectors/merge"
	root := flagRoot()
	a, b, c, d := newWriter(1), newWriter(2), newWriter(3), newWriter(4)
	var vs []vector

	{ // late insertion
		a, b := newWriter(1), newWriter(2)
		a1 := a.write(delta(10))
		a2 := a.write(delta(5))
		b1 := b.write(delta(-3), a1)
		a3 := a.write(delta(1), b1)
		vs = append(vs, vector{"late_insert", "b1 arrives last and sorts before the tip; a3 waits for it", []*writer{a, b}, []feed.Entry{a1, a2, a3, b1}})
	}
	{ // refusals
		a := newWriter(1)
		es := []feed.Entry{a.write(delta(1)), a.write(delta(-5)), a.write([]byte("xyz")), a.write(delta(2))}
		vs = append(vs, vector{"refusals", "a delta below zero and an undecodable content are refused, in the order, with no effect", []*writer{a}, es})
	}
	{ // silent writer removed
		a, b, c := newWriter(1), newWriter(2), newWriter(3)
		a1 := a.write(delta(1))
		b1 := b.write(delta(1), a1)
		c1 := c.write(delta(1), a1, b1)
		a2 := a.write(delta(1), c1)
		b2 := b.write(delta(1), a2)
		c2 := c.write(delta(100), c1) // nobody sees it before the removal
		rm := a.write(merge.RemoveWriterContent(c.key.ID()), b2)
		b3 := b.write(delta(1), rm)
		a3 := a.write(delta(1), b3)
		vs = append(vs, vector{"silent_writer_removed", "c stops after c1; a removes c; c2, concurrent with the removal, does not count; finality resumes",
			[]*writer{a, b, c}, []feed.Entry{c2, a1, b1, c1, a2, b2, rm, b3, a3}})
	}
	{ // fork: z forks at seq 2; a and b acknowledged the first branch only
		a, b, z := newWriter(1), newWriter(2), newWriter(3)
		z1 := z.write(delta(1))
		z2 := z.write(delta(2))
		a1 := a.write(delta(4), z2)
		b1 := b.write(delta(8), a1)
		zf := z.fork(z1.Head(), delta(16))
		a2 := a.write(delta(32), b1, zf)
		b2 := b.write(delta(64), a2)
		vs = append(vs, vector{"fork", "z2 and z2' share seq 2; every other writer's first entry after z2 had seen it, not so for z2'",
			[]*writer{a, b, z}, []feed.Entry{zf, b2, a2, z2, b1, a1, z1}})
	}
	{ // open mode
		a, b := newWriter(1), newWriter(2)
		a1 := a.write(delta(3))
		b1 := b.write(delta(4))
		a2 := a.write(merge.AddWriterContent(b.key.ID()), b1)
		vs = append(vs, vector{"open_mode", "no writer set: every author counts, membership entries are refused, nothing is final", nil, []feed.Entry{a2, b1, a1}})
	}
	{ // add a writer
		a, b, d := newWriter(1), newWriter(2), newWriter(4)
		a1 := a.write(delta(1))
		d1 := d.write(delta(50)) // before being added: never counts
		add := a.write(merge.AddWriterContent(d.key.ID()), d1)
		d2 := d.write(delta(2), add)
		b1 := b.write(delta(4), d2)
		a2 := a.write(delta(8), b1)
		vs = append(vs, vector{"add_writer", "a adds d; d's entry written before it knew of the add does not count", []*writer{a, b}, []feed.Entry{a2, b1, d2, add, d1, a1}})
	}
	_, _, _, _ = a, b, c, d

	for _, v := range vs {
		write(filepath.Join(root, dir, v.name), v)
	}
}

func flagRoot() string {
	if len(os.Args) == 3 && os.Args[1] == "-root" {
		return os.Args[2]
	}
	return "."
}

func write(path string, v vector) {
	var ids []identity.ID
	var names []string
	for _, w := range v.writers {
		ids = append(ids, w.key.ID())
		names = append(names, w.key.ID().String())
	}
	view, err := merge.New(merge.Config[int64, int64]{Reducer: reduce, Decode: decode, Writers: ids, Snapshots: merge.SnapshotPolicy{Spacing: 2}})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range v.entries {
		view.Add(e)
	}
	if view.Pending() != 0 {
		log.Fatalf("%s: %d entries pending", v.name, view.Pending())
	}
	var order, refused, after []string
	for _, p := range view.Order() {
		order = append(order, p.ID.Short())
	}
	for _, r := range view.Refusals() {
		refused = append(refused, r.ID.Short())
	}
	for _, w := range view.Writers() {
		after = append(after, w.Short())
	}
	h := map[string]string{
		"expect":        "success",
		"comment":       v.comment,
		"writers":       orDefault(strings.Join(names, ","), "open"),
		"order":         strings.Join(order, " "),
		"refused":       orDefault(strings.Join(refused, " "), "none"),
		"state":         fmt.Sprint(view.State()),
		"final":         fmt.Sprint(view.Final().Count),
		"writers-after": orDefault(strings.Join(after, " "), "open"),
	}
	var body bytes.Buffer
	for _, e := range v.entries {
		body.WriteString(base64.StdEncoding.EncodeToString(e.Encode()))
		body.WriteByte('\n')
	}
	keys := []string{"expect", "comment", "writers", "order", "refused", "state", "final", "writers-after"}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, vectorfile.Format(keys, h, body.Bytes()), 0o644); err != nil {
		log.Fatal(err)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
