package replicate

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cbergoon/merkletree"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite docs/vectors/replicate and testdata/fuzz seeds")

const vectorDir = "../docs/vectors/replicate"

func seedKey(b byte) *identity.Key {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

var testNet = identity.NetworkFromName("vectors")

func chainOf(k *identity.Key, n int, content string) []feed.Entry {
	var out []feed.Entry
	var h feed.Head
	for i := range n {
		e, err := feed.Create(k, testNet, h, feed.Draft{Content: fmt.Appendf(nil, "%s %d", content, i+1)})
		if err != nil {
			panic(err)
		}
		out = append(out, e)
		h = e.Head()
	}
	return out
}

// vector is one encoded message scenario.
type vector struct {
	name, expect, comment string
	body                  Body   // for expect ok
	raw                   []byte // for failures
}

func sampleVectors() []vector {
	a, b, c := seedKey(1), seedKey(2), seedKey(3)
	binding := bytes.Repeat([]byte{0xb1}, 32)
	aid := a.ID()
	hello := &Hello{MinVersion: 1, MaxVersion: 1, NetworkTag: networkTag(testNet), From: aid,
		Proof: a.Sign(HelloPurpose, testNet, append(slices.Clone(binding), aid[:]...)), Limits: Limits{Window: 512, MaxFrame: 1 << 20, MaxFeeds: 1 << 16}}
	ca := chainOf(a, 3, "alpha")
	cb := chainOf(b, 2, "beta")
	heads := map[identity.ID]feed.Head{a.ID(): ca[2].Head(), b.ID(): cb[1].Head()}
	notes := []Note{{Author: a.ID(), Seq: 3, ID: ca[2].ID()}, {Author: b.ID(), Seq: 2, ID: cb[1].ID()}, {Author: c.ID()}}
	slices.SortFunc(notes, func(x, y Note) int { return compareID(x.Author, y.Author) })
	fork := chainOf(a, 2, "other")
	proof, err := feed.NewForkProof(testNet, ca[1], fork[1])
	if err != nil {
		panic(err)
	}
	want := &Want{Full: true, Default: Lazy, Feeds: []FeedMode{{Author: b.ID(), Mode: Eager}, {Author: c.ID(), Mode: None}}}
	slices.SortFunc(want.Feeds, func(x, y FeedMode) int { return compareID(x.Author, y.Author) })
	enc := func(b Body) []byte { return EncodeMessage(nil, b) }
	summary := &Summary{Count: 2, Root: HeadsRoot(heads)}
	entries := &Entries{Runs: []Run{NewRun(ca), NewRun(cb[1:])}}
	badHeads := enc(&Heads{Notes: []Note{notes[1], notes[0]}})
	nonMinimal := append([]byte{byte(TypeSummary), 0, 0x82, 0x00}, summary.Root[:]...)
	gapRun := enc(&Entries{Runs: []Run{NewRun(ca[:1])}})
	gapRun = append(gapRun[:2], 2)
	gapRun = append(gapRun, ca[0].Encode()...)
	gapRun = append(gapRun, ca[2].Encode()...)
	badMagic := enc(hello)
	badMagic[1] = 'X'
	return []vector{
		{name: "hello", expect: "ok", comment: "key seed 0x01, binding 32 bytes of 0xb1, network \"vectors\"", body: hello},
		{name: "summary", expect: "ok", comment: "Merkle root over the heads a:3 b:2", body: summary},
		{name: "summary_empty", expect: "ok", comment: "no feeds: root of zero leaves", body: &Summary{Known: true, Root: HeadsRoot(nil)}},
		{name: "heads_full", expect: "ok", comment: "full vector, c announced as seq 0", body: &Heads{Full: true, Notes: notes}},
		{name: "heads_delta_empty", expect: "ok", body: &Heads{}},
		{name: "heads_lazy", expect: "ok", comment: "a lazy announcement: seq without head ID", body: &Heads{Notes: []Note{{Author: a.ID(), Seq: 7}}}},
		{name: "heads_zero_id", expect: "non-canonical", comment: "a head ID of zero must be left out", raw: append(append(append([]byte{byte(TypeHeads), 0, 1}, aidBytes(a)...), 7<<1|1), make([]byte, 32)...)},
		{name: "heads_id_seq0", expect: "malformed", comment: "seq 0 cannot carry a head ID", raw: append(append(append([]byte{byte(TypeHeads), 0, 1}, aidBytes(a)...), 1), bytes.Repeat([]byte{9}, 32)...)},
		{name: "want_full", expect: "ok", comment: "lazy by default, b eagerly, c not at all", body: want},
		{name: "want_delta", expect: "ok", body: &Want{Feeds: []FeedMode{{Author: a.ID(), Mode: Eager}}}},
		{name: "entries_two_runs", expect: "ok", comment: "a:1..3 and b:2, raw entries back to back", body: entries},
		{name: "fork", expect: "ok", comment: "two signed entries of a at seq 2", body: &Fork{Proof: proof}},
		{name: "goodbye", expect: "ok", body: &Goodbye{Code: CodeLimit, Reason: "window exceeded"}},
		{name: "empty", expect: "malformed", comment: "no type byte", raw: []byte{}},
		{name: "unknown_type", expect: "malformed", raw: []byte{0x42}},
		{name: "hello_bad_magic", expect: "malformed", raw: badMagic},
		{name: "hello_truncated", expect: "malformed", raw: enc(hello)[:40]},
		{name: "summary_nonminimal_varint", expect: "non-canonical", comment: "count 2 encoded in two bytes", raw: nonMinimal},
		{name: "heads_unsorted", expect: "non-canonical", comment: "authors must be strictly ascending", raw: badHeads},
		{name: "entries_gap", expect: "malformed", comment: "a run must hold consecutive entries", raw: gapRun},
		{name: "trailing_byte", expect: "malformed", raw: append(enc(&Heads{}), 0)},
		{name: "want_bad_mode", expect: "malformed", raw: []byte{byte(TypeWant), 1, 7, 0}},
		{name: "goodbye_not_utf8", expect: "malformed", raw: []byte{byte(TypeGoodbye), 0, 1, 0xff}},
	}
}

func expectErr(expect string) error {
	switch expect {
	case "ok":
		return nil
	case "malformed":
		return ErrMalformed
	case "non-canonical":
		return ErrNonCanonical
	case "limit":
		return ErrLimit
	}
	return fmt.Errorf("unknown expect %q", expect)
}

func (v vector) bytes() []byte {
	if v.body != nil {
		return EncodeMessage(nil, v.body)
	}
	return v.raw
}

func writeVectors(t *testing.T) {
	if err := os.MkdirAll(vectorDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fuzzDir := filepath.Join("testdata", "fuzz", "FuzzDecodeMessage")
	if err := os.MkdirAll(fuzzDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range sampleVectors() {
		var b strings.Builder
		fmt.Fprintf(&b, "expect: %s\n", v.expect)
		if v.comment != "" {
			fmt.Fprintf(&b, "comment: %s\n", v.comment)
		}
		if v.body != nil {
			fmt.Fprintf(&b, "message: %s\n", v.body.String())
		}
		fmt.Fprintf(&b, "\n%s\n", base64.StdEncoding.EncodeToString(v.bytes()))
		if err := os.WriteFile(filepath.Join(vectorDir, v.name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", v.bytes())
		if err := os.WriteFile(filepath.Join(fuzzDir, v.name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type vectorFile struct {
	name, expect, message string
	data                  []byte
}

func readVectors(t testing.TB) []vectorFile {
	names, err := filepath.Glob(filepath.Join(vectorDir, "*"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no vectors in %s (run go test -run TestVectors -update-vectors): %v", vectorDir, err)
	}
	var out []vectorFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := strings.Cut(string(b), "\n\n")
		if !ok {
			t.Fatalf("%s: no blank line", n)
		}
		vf := vectorFile{name: filepath.Base(n)}
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "expect":
				vf.expect = v
			case "message":
				vf.message = v
			}
		}
		if vf.data, err = base64.StdEncoding.DecodeString(strings.TrimSpace(body)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, vf)
	}
	return out
}

// TestVectors checks the code against docs/vectors/replicate: each file
// decodes (or fails with the sentinel its expect: names), re-encodes to the
// same bytes and prints as its message: line.
func TestVectors(t *testing.T) {
	if *updateVectors {
		writeVectors(t)
	}
	vs := readVectors(t)
	if len(vs) != len(sampleVectors()) {
		t.Errorf("%d vector files, %d scenarios: regenerate with -update-vectors", len(vs), len(sampleVectors()))
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			m, err := DecodeMessage(v.data)
			want := expectErr(v.expect)
			if want == nil {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if got := EncodeMessage(nil, m.Body); !bytes.Equal(got, v.data) {
					t.Fatalf("re-encoding differs")
				}
				if m.Body.String() != v.message {
					t.Fatalf("String %q, vector says %q", m.Body.String(), v.message)
				}
				return
			}
			if !errors.Is(err, want) {
				t.Fatalf("got %v, want %v", err, want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%T is not a *DecodeError", err)
			}
		})
	}
}

// TestHelloVectorProof checks the hello vector's proof with the documented
// inputs, so an implementation in another language can check its signing.
func TestHelloVectorProof(t *testing.T) {
	for _, v := range readVectors(t) {
		if v.name != "hello" {
			continue
		}
		m, err := DecodeMessage(v.data)
		if err != nil {
			t.Fatal(err)
		}
		h := m.Body.(*Hello)
		msg := append(bytes.Repeat([]byte{0xb1}, 32), h.From[:]...)
		if !identity.Verify(h.From, HelloPurpose, testNet, msg, h.Proof[:]) {
			t.Fatal("hello vector proof does not verify")
		}
		return
	}
	t.Fatal("no hello vector")
}

func FuzzDecodeMessage(f *testing.F) {
	n := 0
	for _, v := range readVectors(f) {
		f.Add(v.data)
		n++
	}
	if seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeMessage", "*")); len(seeds) == 0 || n == 0 {
		f.Fatal("no fuzz seeds: run go test -run TestVectors -update-vectors")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			return
		}
		if got := EncodeMessage(nil, m.Body); !bytes.Equal(got, b) {
			t.Fatalf("decoded %s but re-encodes differently", m.Body)
		}
		if EncodedSize(m.Body) != len(b) {
			t.Fatalf("EncodedSize %d, encoding %d", EncodedSize(m.Body), len(b))
		}
		_ = m.String()
	})
}

func TestDecodeErrorsNamePlace(t *testing.T) {
	_, err := DecodeMessage([]byte{byte(TypeHeads), 0, 1, 1, 2})
	var de *DecodeError
	if !errors.As(err, &de) || de.Type != TypeHeads || de.Field == "" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "Heads") || !strings.Contains(err.Error(), "byte") {
		t.Fatalf("error does not name message and offset: %v", err)
	}
}

// TestHeadsRootOddLeaves: cbergoon/merkletree alone gives [A,B,C] and
// [A,B,C,C] the same root; HeadsRoot's prefixes and count tell them apart.
func TestHeadsRootOddLeaves(t *testing.T) {
	A, B, C := []byte("A"), []byte("B"), []byte("C")
	plain := func(ls ...[]byte) []byte {
		var cs []merkletree.Content
		for _, l := range ls {
			cs = append(cs, plainLeaf{l})
		}
		tr, err := merkletree.NewTree(cs)
		if err != nil {
			t.Fatal(err)
		}
		return tr.MerkleRoot()
	}
	if !bytes.Equal(plain(A, B, C), plain(A, B, C, C)) {
		t.Fatal("expected the library's odd-leaf duplication to collide")
	}
	if merkleRoot([][]byte{A, B, C}) == merkleRoot([][]byte{A, B, C, C}) {
		t.Fatal("[A,B,C] and [A,B,C,C] share a root")
	}
	// A leaf must not pass for an interior node: two leaves vs their
	// concatenated hashes as one leaf.
	la, _ := headLeaf{A}.CalculateHash()
	lb, _ := headLeaf{B}.CalculateHash()
	if merkleRoot([][]byte{A, B}) == merkleRoot([][]byte{append(la, lb...)}) {
		t.Fatal("leaf/interior confusion")
	}
	if merkleRoot(nil) == merkleRoot([][]byte{{}}) {
		t.Fatal("empty and one empty leaf collide")
	}
}

type plainLeaf struct{ b []byte }

func (l plainLeaf) CalculateHash() ([]byte, error) {
	h := merkletreeSHA(l.b)
	return h[:], nil
}
func (l plainLeaf) Equals(o merkletree.Content) (bool, error) {
	return bytes.Equal(l.b, o.(plainLeaf).b), nil
}

func aidBytes(k *identity.Key) []byte {
	id := k.ID()
	return id[:]
}
