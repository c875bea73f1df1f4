package store

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

var update = flag.Bool("update", false, "rewrite store/testdata/layout.txt")

// TestLayout pins the key layout of docs/spec/store-v1.md byte for byte: a
// store built from fixed keys is dumped, key by key, and compared with
// testdata/layout.txt (regenerate with go test -run TestLayout -update).
func TestLayout(t *testing.T) {
	net := identity.NetworkFromName("store-layout")
	db, err := Open(t.TempDir(), &Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := func(b byte) *identity.Key {
		k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b := key(1), key(2)
	a1, _ := feed.Create(a, net, feed.Head{}, feed.Draft{Content: []byte("a1")})
	a2, _ := feed.Create(a, net, a1.Head(), feed.Draft{Content: []byte("a2")})
	b1, _ := feed.Create(b, net, feed.Head{}, feed.Draft{Content: []byte("b1"), Refs: []feed.Ref{{ID: a2.ID(), Clock: a2.Clock}}})
	if _, err := db.Append(a1, a2, b1); err != nil {
		t.Fatal(err)
	}
	alt, _ := feed.Create(a, net, a1.Head(), feed.Draft{Content: []byte("a2'")})
	if _, err := db.Append(alt); err == nil {
		t.Fatal("fork not reported")
	}
	if err := db.PutSnapshot("merge/1", []byte("state")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.WriteString("# store-v1 layout: one line per key, \"table key-hex value-hex\", in key order.\n")
	out.WriteString("# network: NetworkFromName(\"store-layout\"); authors: seeds 0x01*32 (a), 0x02*32 (b).\n")
	out.WriteString("# a: a1, a2 (and a fork a2'); b: b1 referencing a2; snapshot \"merge/1\".\n")
	it, err := db.pdb.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		table := map[byte]string{tagMeta: "meta", tagEntry: "entry", tagHead: "head", tagByID: "id", tagMerge: "merge", tagFork: "fork", tagSnapshot: "snapshot"}[it.Key()[0]]
		fmt.Fprintf(&out, "%s %s %s\n", table, hex.EncodeToString(it.Key()), hex.EncodeToString(it.Value()))
	}
	it.Close()
	got := out.String()
	const golden = "testdata/layout.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("layout differs from %s:\n%s", golden, got)
	}
}
