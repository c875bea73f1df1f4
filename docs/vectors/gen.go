//go:build ignore

// Command gen rebuilds every test vector under docs/vectors and the
// generated seeds of the fuzz corpora (files named gen-* under
// <pkg>/testdata/fuzz) from fixed keys: the RFC 8032 section 7.1 seeds of
// TEST 1, 2 and 3 ("alice", "bob" and "carol"). Ed25519 signing is
// deterministic and sealed key files take their salt and nonce from a fixed
// stream, so the output is the same on every run. Run it from the
// repository root:
//
//	go run docs/vectors/gen.go
//
// The vectors are specified in docs/spec/feed-v1.md, identity-v1.md and
// keyfile-v1.md, sections "Test vectors".
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/vectorfile"
)

var (
	alice = key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	bob   = key("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	carol = key("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")

	// network is the network of every vector: NetworkFromName("sbfeed test vectors").
	network = identity.NetworkFromName("sbfeed test vectors")
	other   = identity.NetworkFromName("another network")
)

func key(seedHex string) *identity.Key {
	seed, err := hex.DecodeString(seedHex)
	check(err)
	k, err := identity.FromSeed(seed)
	check(err)
	return k
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// ---- building entries ----

func create(k *identity.Key, head feed.Head, d feed.Draft) feed.Entry {
	e, err := feed.Create(k, network, head, d)
	check(err)
	return e
}

// feedOf returns n entries of k's feed from seq 1, content "<name> <seq>".
func feedOf(k *identity.Key, name string, n int) []feed.Entry {
	var out []feed.Entry
	var head feed.Head
	for i := 1; i <= n; i++ {
		e := create(k, head, feed.Draft{Content: []byte(name + " " + strconv.Itoa(i))})
		out = append(out, e)
		head = e.Head()
	}
	return out
}

func enc(es ...feed.Entry) [][]byte {
	var out [][]byte
	for _, e := range es {
		out = append(out, e.Encode())
	}
	return out
}

// resign replaces the signature of the encoded entry b (whose body a
// generator changed) with k's valid signature in net, so that the vector
// reaches the rule it is about rather than failing on its signature.
func resign(k *identity.Key, net identity.Network, b []byte) []byte {
	b = bytes.Clone(b)
	body := b[:len(b)-identity.SignatureSize]
	id := sha256.Sum256(body)
	sig := k.Sign(feed.SignaturePurpose, net, id[:])
	copy(b[len(body):], sig[:])
	return b
}

// edit returns a copy of e's encoding changed by f and signed again by k.
func edit(k *identity.Key, e feed.Entry, f func(b []byte) []byte) []byte {
	return resign(k, network, f(e.Encode()))
}

func put64(off int, v uint64) func([]byte) []byte {
	return func(b []byte) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
}

// Byte offsets of docs/spec/feed-v1.md.
const (
	offKind  = 1
	offSeq   = 34
	offPrev  = 42
	offClock = 74
	offNRefs = 82
	offRefs  = 83
)

// ---- writing ----

type out struct {
	dir   string
	files map[string][]byte
	seeds map[string][]string // fuzz target dir -> corpus file contents
}

func (o *out) vector(sub, name string, keys []string, header map[string]string, body []byte) {
	path := filepath.Join("docs/vectors", sub, name)
	if _, dup := o.files[path]; dup {
		log.Fatalf("vector %s written twice", path)
	}
	o.files[path] = vectorfile.Format(keys, header, body)
}

func b64lines(items [][]byte) []byte {
	var buf bytes.Buffer
	for _, it := range items {
		buf.WriteString(base64.StdEncoding.EncodeToString(it))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// entries writes a vector of the "entries" procedure: every line is
// decoded and fully verified in order (see feed-v1.md, "Test vectors").
func (o *out) entries(name, expect, comment string, items [][]byte) {
	h := map[string]string{"expect": expect, "comment": comment, "procedure": "entries", "network": network.String()}
	keys := []string{"expect", "comment", "procedure", "network"}
	if expect == "success" {
		last, err := feed.Decode(items[len(items)-1])
		check(err)
		h["author"] = last.Author.String()
		h["last-id"] = last.ID().String()
		keys = append(keys, "author", "last-id")
	}
	o.vector("feed", name, keys, h, b64lines(items))
	for i, it := range items {
		if len(it) <= 4096 {
			o.seed("feed/testdata/fuzz/FuzzDecodeEntry", fmt.Sprintf("gen-%s-%d", name, i+1), "[]byte", string(it))
		}
	}
}

// chain writes a vector of the "chain" procedure: one run of one feed from
// seq 1, checked by hash links plus the newest signature (VerifyChain).
func (o *out) chain(name, expect, comment string, items [][]byte) {
	h := map[string]string{"expect": expect, "comment": comment, "procedure": "chain", "network": network.String()}
	o.vector("feed", name, []string{"expect", "comment", "procedure", "network"}, h, b64lines(items))
}

// forkproof writes a vector of the "forkproof" procedure: one line, an
// encoded fork proof, decoded and verified.
func (o *out) forkproof(name, expect, comment string, proof []byte) {
	h := map[string]string{"expect": expect, "comment": comment, "procedure": "forkproof", "network": network.String()}
	o.vector("feed", name, []string{"expect", "comment", "procedure", "network"}, h, b64lines([][]byte{proof}))
	o.seed("feed/testdata/fuzz/FuzzDecodeForkProof", "gen-"+name, "[]byte", string(proof))
}

func (o *out) seed(dir, name, typ, value string) {
	o.files[filepath.Join(dir, name)] = []byte("go test fuzz v1\n" + typ + "(" + strconv.Quote(value) + ")\n")
}

func main() {
	root := flag.String("root", ".", "repository root to write under (feed/vectors_test.go writes to a temporary directory and compares)")
	flag.Parse()
	if *root == "." {
		if _, err := os.Stat("go.mod"); err != nil {
			log.Fatal("run from the repository root: go run docs/vectors/gen.go")
		}
	}
	o := &out{files: map[string][]byte{}}
	genFeed(o)
	genIdentity(o)
	genKeyFile(o)

	// Replace the previous output: every vector, and the generated seeds
	// (other corpus files, such as fuzzer finds, are kept).
	for _, dir := range []string{"docs/vectors/feed", "docs/vectors/identity", "docs/vectors/keyfile"} {
		check(os.RemoveAll(filepath.Join(*root, dir)))
	}
	for _, dir := range []string{"feed/testdata/fuzz/FuzzDecodeEntry", "feed/testdata/fuzz/FuzzDecodeForkProof",
		"identity/testdata/fuzz/FuzzParseID", "identity/testdata/fuzz/FuzzParseNetwork", "identity/testdata/fuzz/FuzzParseKeyFile"} {
		old, _ := filepath.Glob(filepath.Join(*root, dir, "gen-*"))
		for _, f := range old {
			check(os.Remove(f))
		}
	}
	for path, b := range o.files {
		path = filepath.Join(*root, path)
		check(os.MkdirAll(filepath.Dir(path), 0o755))
		check(os.WriteFile(path, b, 0o644))
	}
	fmt.Printf("wrote %d files\n", len(o.files))
}

func genFeed(o *out) {
	a := feedOf(alice, "alice", 5)
	b := feedOf(bob, "bob", 3)
	c := feedOf(carol, "carol", 1)

	// ---- valid ----
	first := create(alice, feed.Head{}, feed.Draft{Content: []byte("hello, world")})
	o.entries("entry_first", "success", "the first entry of a feed: seq 1, zero prev, Lamport clock 1", enc(first))
	o.entries("entry_empty_content", "success", "content may be empty", enc(create(alice, feed.Head{}, feed.Draft{})))
	big := make([]byte, feed.MaxContentSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	o.entries("entry_max_content", "success", "content of exactly 65536 bytes, the limit",
		enc(create(alice, feed.Head{}, feed.Draft{Content: big})))
	o.entries("chain_5", "success", "five consecutive entries of one feed", enc(a...))

	withRefs := create(alice, a[0].Head(), feed.Draft{
		Refs:    []feed.Ref{{ID: b[2].ID(), Clock: b[2].Clock}, {ID: c[0].ID(), Clock: c[0].Clock}},
		Content: []byte("alice saw bob 3 and carol 1"),
	})
	o.entries("refs", "success", "alice's entry 2 references bob's entry 3 (clock 3) and carol's entry 1: clock = 1 + max(1, 3, 1) = 4; refs in ascending byte order",
		enc(b[0], b[1], b[2], c[0], a[0], withRefs))

	b32 := feedOf(bob, "bob", feed.MaxRefs)
	var refs []feed.Ref
	for _, e := range b32 {
		refs = append(refs, feed.Ref{ID: e.ID(), Clock: e.Clock})
	}
	maxRefs := create(alice, feed.Head{}, feed.Draft{Refs: refs, Content: []byte("32 refs")})
	o.entries("refs_max", "success", "32 references, the limit: clock = 1 + 32 = 33", append(enc(b32...), maxRefs.Encode()))

	h1 := create(alice, feed.Head{}, feed.Draft{Kind: feed.HLC, Now: 1_700_000_000_000, Content: []byte("hlc 1")})
	h2 := create(alice, h1.Head(), feed.Draft{Kind: feed.HLC, Now: 1_699_999_999_000, Content: []byte("hlc 2, wall clock behind")})
	h3 := create(alice, h2.Head(), feed.Draft{Kind: feed.HLC, Now: 1_700_000_005_000, Content: []byte("hlc 3")})
	o.entries("hlc", "success", "HLC clocks: wall milliseconds << 16, or previous + 1 when the wall clock is behind", enc(h1, h2, h3))
	o.entries("duplicate", "success", "the same entry twice is one entry, not a fork", enc(a[0], a[1], a[1]))

	// ---- decoding ----
	e2 := a[1]
	o.entries("version_0", "unsupported version", "version byte 0", [][]byte{edit(alice, e2, func(x []byte) []byte { x[0] = 0; return x })})
	o.entries("version_2", "unsupported version", "version byte 2, a future format", [][]byte{edit(alice, e2, func(x []byte) []byte { x[0] = 2; return x })})
	o.entries("truncated", "malformed", "the last byte of the signature is missing", [][]byte{a[0].Encode()[:a[0].EncodedSize()-1]})
	o.entries("truncated_header", "malformed", "only 40 bytes", [][]byte{a[0].Encode()[:40]})
	o.entries("trailing_byte", "malformed", "one byte after the signature", [][]byte{append(a[0].Encode(), 0)})
	o.entries("kind_unknown", "malformed", "clock kind 2 is not defined", [][]byte{edit(alice, a[0], func(x []byte) []byte { x[offKind] = 2; return x })})
	o.entries("seq_zero", "malformed", "seq 0: feeds start at 1", [][]byte{edit(alice, a[0], put64(offSeq, 0))})
	o.entries("prev_on_first", "malformed", "seq 1 with a non-zero prev", [][]byte{edit(alice, a[0], func(x []byte) []byte { x[offPrev] = 1; return x })})
	o.entries("prev_missing", "malformed", "seq 2 with a zero prev", [][]byte{a[0].Encode(), edit(alice, a[1], func(x []byte) []byte { clear(x[offPrev : offPrev+32]); return x })})
	o.entries("clock_zero", "malformed", "clock 0", [][]byte{edit(alice, a[0], put64(offClock, 0))})
	o.entries("lamport_clock_below_seq", "malformed", "a Lamport clock below its seq can never be right: seq 3, clock 2",
		[][]byte{a[0].Encode(), a[1].Encode(), edit(alice, a[2], put64(offClock, 2))})

	twoRefs := withRefs.Encode()
	swap := func(x []byte) []byte {
		r := bytes.Clone(x[offRefs : offRefs+32])
		copy(x[offRefs:], x[offRefs+32:offRefs+64])
		copy(x[offRefs+32:], r)
		return x
	}
	prefix := enc(b[0], b[1], b[2], c[0], a[0])
	o.entries("refs_unsorted", "non-canonical", "the two refs in descending order",
		append(prefix, resign(alice, network, swap(bytes.Clone(twoRefs)))))
	o.entries("refs_duplicate", "non-canonical", "the same ref twice",
		append(prefix, resign(alice, network, func(x []byte) []byte { copy(x[offRefs+32:], x[offRefs:offRefs+32]); return x }(bytes.Clone(twoRefs)))))
	o.entries("ref_zero", "malformed", "an all-zero ref",
		append(prefix, resign(alice, network, func(x []byte) []byte { clear(x[offRefs : offRefs+32]); return x }(bytes.Clone(twoRefs)))))

	// 33 refs: splice one more ref into the 32-ref entry.
	mr := maxRefs.Encode()
	extra := bytes.Repeat([]byte{0xff}, 32)
	tooMany := append(append(append([]byte(nil), mr[:offRefs+32*32]...), extra...), mr[offRefs+32*32:]...)
	tooMany[offNRefs] = 33
	o.entries("refs_too_many", "too large", "33 refs, one over the limit", [][]byte{resign(alice, network, tooMany)})

	hugeEntry := create(alice, feed.Head{}, feed.Draft{Content: big})
	huge := hugeEntry.Encode()
	hugeBody := huge[:len(huge)-64]
	over := append(append(bytes.Clone(hugeBody), 0x5a), huge[len(huge)-64:]...)
	binary.BigEndian.PutUint32(over[offRefs:], feed.MaxContentSize+1)
	o.entries("content_too_large", "too large", "content of 65537 bytes, one over the limit", [][]byte{resign(alice, network, over)})
	o.entries("content_length_past_end", "malformed", "the content length claims one byte more than the entry holds",
		[][]byte{func() []byte {
			x := a[0].Encode()
			binary.BigEndian.PutUint32(x[offRefs:], uint32(len(a[0].Content)+1))
			return x
		}()})

	// ---- signatures ----
	flipContent := a[0].Encode()
	flipContent[len(flipContent)-65] ^= 1
	o.entries("bad_signature_content", "bad signature", "one bit of the content changed after signing", [][]byte{flipContent})
	flipSig := a[0].Encode()
	flipSig[len(flipSig)-1] ^= 0x20
	o.entries("bad_signature_sig", "bad signature", "one bit of the signature changed", [][]byte{flipSig})
	o.entries("bad_signature_zero", "bad signature", "an all-zero signature", [][]byte{func() []byte {
		x := a[0].Encode()
		clear(x[len(x)-64:])
		return x
	}()})
	wrongNet := resign(alice, other, a[0].Encode())
	o.entries("wrong_network", "bad signature", "signed for another network: NetworkFromName(\"another network\")", [][]byte{wrongNet})
	wrongAuthor := a[0].Encode()
	bid := bob.ID()
	copy(wrongAuthor[2:], bid[:])
	o.entries("wrong_author", "bad signature", "the author field names bob; alice signed it", [][]byte{resign(alice, network, wrongAuthor)})
	highS := a[0].Encode()
	addL(highS[len(highS)-32:])
	o.entries("signature_s_not_reduced", "bad signature", "S + L instead of S: a malleated signature, refused because S >= L", [][]byte{highS})

	// ---- chain ----
	o.entries("seq_gap", "broken chain", "entry 4 follows entry 2", enc(a[0], a[1], a[3]))
	o.entries("first_not_seq_1", "broken chain", "a feed whose first entry in the file is seq 2", enc(a[1]))
	o.entries("reordered", "broken chain", "entries 1, 3, 2", enc(a[0], a[2], a[1]))
	o.entries("wrong_prev", "broken chain", "entry 3 names entry 1 as previous", [][]byte{a[0].Encode(), a[1].Encode(),
		edit(alice, a[2], func(x []byte) []byte { id := a[0].ID(); copy(x[offPrev:], id[:]); return x })})
	o.entries("clock_inflated", "bad clock", "entry 2 without refs claims Lamport clock 3; the rule gives 1 + 1 = 2",
		[][]byte{a[0].Encode(), edit(alice, a[1], put64(offClock, 3))})
	o.entries("clock_inflated_refs", "bad clock", "alice's entry 2 references bob's entry 1 (clock 1) and claims clock 5; the rule gives 2",
		[][]byte{b[0].Encode(), a[0].Encode(), resign(alice, network, func() []byte {
			e := create(alice, a[0].Head(), feed.Draft{Refs: []feed.Ref{{ID: b[0].ID(), Clock: 1}}})
			x := e.Encode()
			binary.BigEndian.PutUint64(x[offClock:], 5)
			return x
		}())})
	o.entries("clock_backdated_refs", "bad clock", "alice's entry 2 references bob's entry 3 (clock 3) and claims clock 2; the rule gives 4",
		append(enc(b...), a[0].Encode(), resign(alice, network, func() []byte {
			e := create(alice, a[0].Head(), feed.Draft{Refs: []feed.Ref{{ID: b[2].ID(), Clock: 3}}})
			x := e.Encode()
			binary.BigEndian.PutUint64(x[offClock:], 2)
			return x
		}())))
	o.entries("clock_kind_change", "bad clock", "a Lamport feed continues with an HLC entry",
		[][]byte{a[0].Encode(), edit(alice, a[1], func(x []byte) []byte { x[offKind] = 1; return x })})
	o.entries("hlc_clock_not_after_prev", "bad clock", "an HLC entry whose clock equals its predecessor's",
		[][]byte{h1.Encode(), edit(alice, h2, put64(offClock, h1.Clock))})

	// ---- causal ----
	o.entries("missing_ref", "missing ref", "alice references bob's entry 1, which the file does not hold (yet)",
		enc(create(alice, feed.Head{}, feed.Draft{Refs: []feed.Ref{{ID: b[0].ID(), Clock: 1}}})))
	o.entries("self_ref", "bad ref", "alice's entry 2 references her own entry 1",
		enc(a[0], create(alice, a[0].Head(), feed.Draft{Refs: []feed.Ref{{ID: a[0].ID(), Clock: 1}}})))

	// ---- forks ----
	forkA := create(alice, a[1].Head(), feed.Draft{Content: []byte("pay carol")})
	forkB := create(alice, a[1].Head(), feed.Draft{Content: []byte("pay dave")})
	o.entries("fork", "fork", "two validly signed entries at seq 3 with different IDs", enc(a[0], a[1], forkA, forkB))

	// ---- chain procedure (links + newest signature) ----
	o.chain("chain_links_success", "success", "five entries: links and the newest signature authenticate the run", enc(a...))
	innerBad := enc(a...)
	clear(innerBad[1][len(innerBad[1])-64:])
	o.chain("chain_inner_signature_unchecked", "success",
		"entry 2's signature is zero, yet the run is authenticated by entry 5's signature through the hash links; only a full verification refuses it",
		innerBad)
	tampered := enc(a...)
	tampered[1][len(tampered[1])-65] ^= 1
	o.chain("chain_inner_tampered", "broken chain", "entry 2's content changed: entry 3's prev no longer matches", tampered)
	lastBad := enc(a...)
	lastBad[4][len(lastBad[4])-1] ^= 1
	o.chain("chain_newest_bad_signature", "bad signature", "entry 5's signature is bad, so nothing is authenticated", lastBad)
	o.chain("chain_gap", "broken chain", "entries 1, 2, 4, 5", enc(a[0], a[1], a[3], a[4]))

	// ---- fork proofs ----
	p, err := feed.NewForkProof(network, forkA, forkB)
	check(err)
	o.forkproof("forkproof_valid", "success", "alice's two entries at seq 3, the smaller ID first", p.Encode())
	o.forkproof("forkproof_wrong_order", "non-canonical", "the larger ID first", (&feed.ForkProof{A: p.B, B: p.A}).Encode())
	o.forkproof("forkproof_same_entry", "non-canonical", "one entry twice proves nothing", (&feed.ForkProof{A: p.A, B: p.A}).Encode())
	ordered := func(x, y feed.Entry) []byte {
		if x.ID().Compare(y.ID()) > 0 {
			x, y = y, x
		}
		return (&feed.ForkProof{A: x, B: y}).Encode()
	}
	o.forkproof("forkproof_different_authors", "bad fork proof", "alice's and bob's entries at seq 1", ordered(a[0], b[0]))
	o.forkproof("forkproof_different_seqs", "bad fork proof", "alice's entries 1 and 2", ordered(a[0], a[1]))
	badB := forkB
	badB.Sig[3] ^= 1
	o.forkproof("forkproof_bad_signature", "bad fork proof", "one of the two signatures is bad", ordered(forkA, badB))
	o1, err := feed.Create(alice, other, a[1].Head(), feed.Draft{Content: []byte("pay carol")})
	check(err)
	o2, err := feed.Create(alice, other, a[1].Head(), feed.Draft{Content: []byte("pay dave")})
	check(err)
	o.forkproof("forkproof_wrong_network", "bad fork proof", "a valid fork in another network proves nothing in this one", ordered(o1, o2))
	v2 := p.Encode()
	v2[0] = 2
	o.forkproof("forkproof_version_2", "unsupported version", "fork proof version byte 2", v2)
	full := p.Encode()
	o.forkproof("forkproof_truncated", "malformed", "the last byte is missing", full[:len(full)-1])
	o.forkproof("forkproof_trailing_byte", "malformed", "one byte after the second entry", append(p.Encode(), 0))
}

// addL adds the group order L to the little-endian scalar s in place.
func addL(s []byte) {
	l := []byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	carry := 0
	for i := range s {
		v := int(s[i]) + int(l[i]) + carry
		s[i] = byte(v)
		carry = v >> 8
	}
	if carry != 0 {
		log.Fatal("S + L overflows 256 bits")
	}
}

func genIdentity(o *out) {
	text := func(name, kind, expect, comment, s string, extra ...string) {
		h := map[string]string{"expect": expect, "comment": comment, "kind": kind}
		keys := []string{"expect", "comment", "kind"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
			keys = append(keys, extra[i])
		}
		o.vector("identity", name, keys, h, []byte(s+"\n"))
		target := "FuzzParseID"
		if kind == "network" {
			target = "FuzzParseNetwork"
		}
		o.seed("identity/testdata/fuzz/"+target, "gen-"+name, "string", s)
	}
	for i, k := range []*identity.Key{alice, bob, carol} {
		id := k.ID()
		text(fmt.Sprintf("id_rfc8032_test_%d", i+1), "id", "success",
			fmt.Sprintf("the public key of RFC 8032 section 7.1 TEST %d", i+1), id.String(), "key", hex.EncodeToString(id[:]))
	}
	s := alice.ID().String()
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	next := func(c byte) string { return string(alphabet[(strings.IndexByte(alphabet, c)+1)%32]) }
	text("id_typo", "id", "bad checksum", "one character of a valid identity changed", s[:20]+next(s[20])+s[21:])
	text("id_swapped", "id", "bad checksum", "two adjacent characters swapped", s[:30]+string(s[31])+string(s[30])+s[32:])
	text("id_upper_case", "id", "bad id", "upper case is not the text form", strings.ToUpper(s))
	text("id_wrong_prefix", "id", "bad id", "prefix sbf2", "sbf2"+s[4:])
	text("id_short", "id", "bad id", "one character missing", s[:len(s)-1])
	text("id_long", "id", "bad id", "one character too many", s+"a")
	text("id_padding", "id", "bad id", "base32 padding is not part of the alphabet", s+"======")
	text("id_bad_character", "id", "bad id", "the digit 1 is not in the alphabet", s[:10]+"1"+s[11:])
	last := strings.IndexByte(alphabet, s[len(s)-1])
	text("id_non_canonical_tail", "id", "bad id", "the lowest of the last character's two unused bits is set",
		s[:len(s)-1]+string(alphabet[last|1]))
	text("id_network_key", "id", "bad id", "a network key is not an identity", network.String())
	weak := func(name, comment string, raw []byte) {
		var id identity.ID
		copy(id[:], raw)
		text(name, "id", "weak key", comment, id.String(), "key", hex.EncodeToString(id[:]))
	}
	weak("id_weak_zero", "the all-zero key, a point of order 4, with a valid checksum", make([]byte, 32))
	weak("id_weak_identity", "the identity point (y = 1)", append([]byte{1}, make([]byte, 31)...))
	nc := bytes.Repeat([]byte{0xff}, 32)
	nc[0], nc[31] = 0xee, 0x7f
	weak("id_weak_non_canonical", "y = p + 1: the identity point spelled with y >= p", nc)
	weak("id_weak_not_on_curve", "y = 2 is not the y of any curve point", append([]byte{2}, make([]byte, 31)...))

	n := network
	text("network_text", "network", "success", "NetworkFromName(\"sbfeed test vectors\") in its text form", n.String(), "key", hex.EncodeToString(n[:]))
	text("network_hex", "network", "success", "the same key as 64 hex digits", hex.EncodeToString(n[:]), "key", hex.EncodeToString(n[:]))
	ns := n.String()
	text("network_typo", "network", "bad checksum", "one character changed", ns[:20]+next(ns[20])+ns[21:])
	text("network_identity", "network", "bad network", "an identity is not a network key", alice.ID().String())
	text("network_bad_hex", "network", "bad network", "64 characters that are not hex", strings.Repeat("xy", 32))
}

// fixedRand is the stream sealed vectors take their salt and nonce from.
func fixedRand() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0x5e}, 64)) }

func genKeyFile(o *out) {
	const pass = "correct horse battery staple"
	plain, err := identity.MarshalKeyFile(alice, nil, identity.SealOptions{})
	check(err)
	sealed, err := identity.MarshalKeyFile(alice, []byte(pass), identity.SealOptions{LogN: identity.MinScryptLogN, Rand: fixedRand()})
	check(err)
	v := func(name, expect, comment, passphrase string, file []byte) {
		h := map[string]string{"expect": expect, "comment": comment}
		keys := []string{"expect", "comment"}
		if passphrase != "" {
			h["passphrase"] = passphrase
			keys = append(keys, "passphrase")
		}
		if expect == "success" {
			h["id"] = alice.ID().String()
			h["seed"] = hex.EncodeToString(alice.Seed())
			keys = append(keys, "id", "seed")
		}
		o.vector("keyfile", name, keys, h, file)
		o.seed("identity/testdata/fuzz/FuzzParseKeyFile", "gen-"+name, "[]byte", string(file))
	}
	v("plain", "success", "alice's key in the clear", "", plain)
	v("sealed", "success", "alice's key sealed with scrypt logN 10 (the minimum, for fast tests) and XChaCha20-Poly1305", pass, sealed)
	v("sealed_wrong_passphrase", "wrong passphrase", "the passphrase is \"Tr0ub4dor&3\"", "Tr0ub4dor&3", sealed)
	v("sealed_no_passphrase", "need passphrase", "a sealed file opened without a passphrase", "", sealed)
	lines := strings.SplitAfter(string(sealed), "\n")
	f := strings.Fields(lines[2])
	ct, err := base64.RawStdEncoding.DecodeString(f[5])
	check(err)
	ct[0] ^= 1
	f[5] = base64.RawStdEncoding.EncodeToString(ct)
	v("sealed_tampered", "wrong passphrase", "one bit of the ciphertext changed: the AEAD refuses it", pass,
		[]byte(lines[0]+lines[1]+strings.Join(f, " ")+"\n"))
	swapped := strings.Replace(string(sealed), alice.ID().String(), bob.ID().String(), 1)
	v("sealed_id_swapped", "wrong passphrase", "bob's identity on the id line of alice's sealed key: the id line is associated data", pass, []byte(swapped))
	f = strings.Fields(lines[2])
	f[2] = "23"
	v("sealed_logn_too_large", "malformed key file", "scrypt logN 23, above the limit of 22", pass, []byte(lines[0]+lines[1]+strings.Join(f, " ")+"\n"))
	pl := strings.SplitAfter(string(plain), "\n")
	v("version_2", "malformed key file", "a future version: refused, naming the version", "", []byte("sbfeed key v2\n"+pl[1]+pl[2]))
	v("id_mismatch", "malformed key file", "the id line names bob, the seed is alice's", "", []byte(pl[0]+"id "+bob.ID().String()+"\n"+pl[2]))
	v("truncated", "malformed key file", "the final newline is missing", "", plain[:len(plain)-1])
	v("seed_short", "malformed key file", "a 31-byte seed", "", []byte(pl[0]+pl[1]+"seed "+base64.RawStdEncoding.EncodeToString(alice.Seed()[:31])+"\n"))
	v("seed_padded", "malformed key file", "base64 padding is not allowed", "", []byte(pl[0]+pl[1]+"seed "+base64.StdEncoding.EncodeToString(alice.Seed())+"\n"))
	v("crlf", "malformed key file", "CRLF line ends", "", []byte(strings.ReplaceAll(string(plain), "\n", "\r\n")))
	v("extra_line", "malformed key file", "a fourth line", "", append(bytes.Clone(plain), "comment\n"...))
}
