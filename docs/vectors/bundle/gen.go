//go:build ignore

// gen rebuilds the bundle vectors from fixed seeds:
//
//	go run ./docs/vectors/bundle/gen.go
//
// Each vector is one scenario: a header of "key: value" lines (expect: what
// bundle.Decode reports; verify: what a full verification of the decoded
// entries reports), a blank line, then the bundle in base64, 76 columns.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

var network = identity.NetworkFromName("sbfeed-vectors")

func key(b byte) *identity.Key {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func chain(k *identity.Key, n int, refs ...feed.Ref) []feed.Entry {
	var head feed.Head
	var out []feed.Entry
	for i := 0; i < n; i++ {
		d := feed.Draft{Content: []byte(fmt.Sprintf("entry %d of %s", i+1, k.ID().Short()))}
		if i == 0 {
			d.Refs = refs
		}
		e, err := feed.Create(k, network, head, d)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, e)
		head = e.Head()
	}
	return out
}

func build(entries []feed.Entry, proofs ...feed.ForkProof) []byte {
	var buf bytes.Buffer
	w, err := bundle.NewWriter(&buf, network)
	if err != nil {
		log.Fatal(err)
	}
	for i := range entries {
		w.WriteEntry(&entries[i])
	}
	for i := range proofs {
		w.WriteForkProof(&proofs[i])
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

type vector struct {
	name, expect, verify, comment string
	data                          []byte
}

func main() {
	dir := "docs/vectors/bundle"
	a, b := key(1), key(2)
	fa := chain(a, 3)
	fb := chain(b, 2, feed.Ref{ID: fa[2].ID(), Clock: fa[2].Clock})
	good := build(append(append([]feed.Entry{}, fa...), fb...))
	alt, err := feed.Create(a, network, fa[0].Head(), feed.Draft{Content: []byte("the other branch")})
	if err != nil {
		log.Fatal(err)
	}
	proof, err := feed.NewForkProof(network, fa[1], alt)
	if err != nil {
		log.Fatal(err)
	}
	forged := append([]feed.Entry{}, fa...)
	forged[2].Sig[0] ^= 0x80
	tampered := append([]feed.Entry{}, fa...)
	tampered[1].Content = []byte("entry 2, changed")
	gap := []feed.Entry{fa[0], fa[2]}

	firstRec := bundle.HeaderSize
	badCRC := bytes.Clone(good)
	badCRC[firstRec+5+50] ^= 1 // inside the first entry's author key
	v2 := bytes.Clone(good)
	v2[len(bundle.Magic)] = 2
	countMismatch := bytes.Clone(good)
	// The end record is the last 25 bytes; make it claim one more entry
	// and fix its CRC, so only the count is wrong.
	end := countMismatch[len(countMismatch)-25:]
	binary.BigEndian.PutUint64(end[5:], binary.BigEndian.Uint64(end[5:])+1)
	fixed := bundle.AppendRecord(nil, bundle.KindEnd, end[5:21])
	copy(end, fixed)
	// An entry whose record is intact but whose bytes are not an entry
	// (seq 0), CRC recomputed.
	bad := fa[0].Encode()
	binary.BigEndian.PutUint64(bad[34:], 0)
	malformed := bundle.Encode(bundle.NetworkFingerprint(network), []bundle.Record{{Kind: bundle.KindEntry, Raw: bad}})
	otherNet := bytes.Clone(good)
	otherNet[len(bundle.Magic)+1] ^= 0xff

	vs := []vector{
		{"empty", "ok", "ok", "a bundle with no records but the end record", build(nil)},
		{"two_feeds", "ok", "ok", "feed A seq 1-3, feed B seq 1-2 whose first entry references A's seq 3", good},
		{"fork_proof", "ok", "fork", "feed A seq 1-3 and a fork proof for seq 2", build(fa, proof)},
		{"fork_entries", "ok", "fork", "feed A seq 1-3 and a second, validly signed entry at seq 2", build(append(append([]feed.Entry{}, fa...), alt))},
		{"bad_signature", "ok", "bad signature", "feed A seq 3 has a flipped signature bit", build(forged)},
		{"tampered_content", "ok", "bad signature", "feed A seq 2 content changed after signing: its signature fails and seq 3 no longer links to it", build(tampered)},
		{"seq_gap", "ok", "broken chain", "feed A seq 1 and 3; seq 3 names the missing seq 2 as previous", build(gap)},
		{"truncated_entry", "truncated", "", "two_feeds cut in the middle of its second entry", good[:firstRec+len(fa[0].Encode())+9+40]},
		{"truncated_end", "truncated", "", "two_feeds without its end record", good[:len(good)-25]},
		{"truncated_header", "truncated", "", "the first 10 bytes of a header", good[:10]},
		{"bad_crc", "checksum", "", "two_feeds with one bit flipped in the first entry", badCRC},
		{"bad_magic", "not a bundle", "", "a file that is not a bundle", []byte("hello, world\n")},
		{"version_2", "version", "", "two_feeds with version byte 2", v2},
		{"other_network", "network", "", "two_feeds with another network fingerprint (decoded for network sbfeed-vectors)", otherNet},
		{"trailing_bytes", "malformed", "", "two_feeds followed by one byte", append(bytes.Clone(good), 0)},
		{"end_count_mismatch", "malformed", "", "the end record claims one entry more than the bundle holds", countMismatch},
		{"malformed_entry", "malformed", "", "a record with a valid CRC whose entry has seq 0", malformed},
		{"unknown_kind", "malformed", "", "a record of kind 7", bundle.Encode(bundle.NetworkFingerprint(network), []bundle.Record{{Kind: 7, Raw: []byte("x")}})},
	}
	for _, v := range vs {
		var s strings.Builder
		fmt.Fprintf(&s, "expect: %s\n", v.expect)
		if v.verify != "" {
			fmt.Fprintf(&s, "verify: %s\n", v.verify)
		}
		fmt.Fprintf(&s, "comment: %s\n", v.comment)
		fmt.Fprintf(&s, "network: sbfeed-vectors\n\n")
		enc := base64.StdEncoding.EncodeToString(v.data)
		for len(enc) > 76 {
			s.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		s.WriteString(enc + "\n")
		if err := os.WriteFile(filepath.Join(dir, v.name+".txt"), []byte(s.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
