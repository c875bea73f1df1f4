package feed_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/vectorfile"
)

// expectations maps each vector's "expect:" value to the sentinel error it
// names (docs/spec/feed-v1.md, "Test vectors"). Results are compared with
// errors.Is, never by message.
var expectations = map[string]error{
	"success":             nil,
	"malformed":           feed.ErrMalformed,
	"non-canonical":       feed.ErrNonCanonical,
	"unsupported version": feed.ErrVersion,
	"too large":           feed.ErrTooLarge,
	"bad signature":       feed.ErrBadSignature,
	"broken chain":        feed.ErrBrokenChain,
	"bad clock":           feed.ErrBadClock,
	"missing ref":         feed.ErrMissingRef,
	"bad ref":             feed.ErrBadRef,
	"fork":                feed.ErrFork,
	"bad fork proof":      feed.ErrBadForkProof,
}

// TestVectors runs every docs/vectors/feed file through its procedure and
// checks the outcome, the byte-exact round trip of everything decoded, and
// the headers of successful vectors.
func TestVectors(t *testing.T) {
	vectorfile.Run(t, "../docs/vectors/feed", expectations, func(t *testing.T, f *vectorfile.File, want error) {
		net, err := identity.ParseNetwork(f.Header["network"])
		if err != nil {
			t.Fatal(err)
		}
		items, err := f.Lines()
		if err != nil {
			t.Fatal(err)
		}
		var last feed.Entry
		switch f.Header["procedure"] {
		case "entries":
			last, err = runEntries(t, net, items)
		case "chain":
			err = runChain(t, net, items)
		case "forkproof":
			err = runForkProof(t, net, items)
		default:
			t.Fatalf("unknown procedure %q", f.Header["procedure"])
		}
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("%s: got %v, want %q", f.Header["comment"], err, f.Expect())
		}
		if err != nil {
			var fe *feed.Error
			var de *feed.DecodeError
			var fk *feed.ForkError
			if !errors.As(err, &fe) && !errors.As(err, &de) && !errors.As(err, &fk) {
				t.Errorf("error %v (%T) is not one of the package's error types", err, err)
			}
			return
		}
		if id := f.Header["last-id"]; id != "" && last.ID().String() != id {
			t.Errorf("last entry ID %s, header says %s", last.ID(), id)
		}
		if a := f.Header["author"]; a != "" && last.Author.String() != a {
			t.Errorf("last entry author %s, header says %s", last.Author, a)
		}
	})
}

// decodeExact decodes b and checks the byte-exact round trip.
func decodeExact(t *testing.T, b []byte) (feed.Entry, error) {
	t.Helper()
	e, err := feed.Decode(b)
	if err == nil && !bytes.Equal(e.Encode(), b) {
		t.Fatalf("accepted bytes do not round trip")
	}
	return e, err
}

// runEntries is the "entries" procedure: decode and fully verify each line
// in order, each feed from seq 1, refs resolved against earlier lines.
func runEntries(t *testing.T, net identity.Network, items [][]byte) (feed.Entry, error) {
	heads := map[identity.ID]feed.Head{}
	bySeq := map[identity.ID]map[uint64]feed.Entry{}
	known := map[feed.ID]feed.Entry{}
	resolve := func(id feed.ID) (identity.ID, uint64, bool) {
		e, ok := known[id]
		return e.Author, e.Clock, ok
	}
	var last feed.Entry
	for _, b := range items {
		e, err := decodeExact(t, b)
		if err != nil {
			return last, err
		}
		if prior, ok := bySeq[e.Author][e.Seq]; ok {
			if err := feed.CheckFork(net, prior, e); err != nil {
				return last, err
			}
			continue // the same entry again
		}
		if err := e.Verify(net); err != nil {
			return last, err
		}
		head := heads[e.Author]
		if err := e.VerifyAfter(head); err != nil {
			return last, err
		}
		if err := e.VerifyRefs(head.Clock, resolve); err != nil {
			return last, err
		}
		heads[e.Author] = e.Head()
		if bySeq[e.Author] == nil {
			bySeq[e.Author] = map[uint64]feed.Entry{}
		}
		bySeq[e.Author][e.Seq] = e
		known[e.ID()] = e
		last = e
	}
	return last, nil
}

// runChain is the "chain" procedure: one run of one feed from seq 1,
// checked by VerifyChain (links + newest signature).
func runChain(t *testing.T, net identity.Network, items [][]byte) error {
	var run []feed.Entry
	for _, b := range items {
		e, err := decodeExact(t, b)
		if err != nil {
			return err
		}
		run = append(run, e)
	}
	return feed.VerifyChain(net, feed.Head{}, run)
}

// runForkProof is the "forkproof" procedure: decode, round trip, verify.
func runForkProof(t *testing.T, net identity.Network, items [][]byte) error {
	if len(items) != 1 {
		t.Fatalf("%d lines, want 1", len(items))
	}
	p, err := feed.DecodeForkProof(items[0])
	if err != nil {
		return err
	}
	if !bytes.Equal(p.Encode(), items[0]) {
		t.Fatal("accepted fork proof does not round trip")
	}
	return p.Verify(net)
}

// TestVectorsReproducible runs docs/vectors/gen.go into a temporary
// directory and checks that it writes exactly the committed vectors and
// generated fuzz seeds, byte for byte: the vectors are what the spec says
// the generator makes, and nobody edited them by hand.
func TestVectorsReproducible(t *testing.T) {
	tmp := vectorfile.Generate(t, "..", "./docs/vectors/gen.go")
	// Compare the generated tree with the repository's, in both directions.
	generated := map[string]bool{}
	err := filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, path)
		generated[filepath.ToSlash(rel)] = true
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join("..", rel))
		if err != nil {
			t.Errorf("%s: generated but not committed (%v)", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what gen.go writes; run go run docs/vectors/gen.go", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) < 100 {
		t.Fatalf("gen.go wrote only %d files", len(generated))
	}
	var committed []string
	for _, pattern := range []string{"../docs/vectors/feed/*", "../docs/vectors/identity/*", "../docs/vectors/keyfile/*",
		"testdata/fuzz/*/gen-*", "../identity/testdata/fuzz/*/gen-*"} {
		m, _ := filepath.Glob(pattern)
		committed = append(committed, m...)
	}
	for _, c := range committed {
		rel := filepath.ToSlash(strings.TrimPrefix(filepath.Clean(c), "../"))
		if !strings.HasPrefix(c, "..") {
			rel = "feed/" + filepath.ToSlash(c)
		}
		if !generated[rel] {
			t.Errorf("%s is committed but gen.go no longer writes it", rel)
		}
	}
}
