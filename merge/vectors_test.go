package merge_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/vectorfile"
	"github.com/sbfeed/sbfeed/merge"
)

const vectorDir = "../docs/vectors/merge"

func readVectors(t *testing.T, dir string) []*vectorfile.File {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*vectorfile.File
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f, err := vectorfile.Parse(e.Name(), b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no vectors in %s", dir)
	}
	return out
}

// The counter application of the vectors (docs/vectors/merge/gen.go).
func vecReduce(s, a int64) (int64, error) {
	if s+a < 0 {
		return s, errors.New("below zero")
	}
	return s + a, nil
}

func vecDecode(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, errors.New("not 8 bytes")
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// TestVectors runs every merge vector, in body order and reversed, one
// entry per call and all at once, and checks the outcome its header names.
func TestVectors(t *testing.T) {
	net := identity.NetworkFromName("sbfeed-vectors")
	for _, f := range readVectors(t, vectorDir) {
		t.Run(f.Name, func(t *testing.T) {
			if f.Expect() != "success" {
				t.Fatalf("unknown expect %q", f.Expect())
			}
			lines, err := f.Lines()
			if err != nil {
				t.Fatal(err)
			}
			var es []feed.Entry
			for _, l := range lines {
				e, err := feed.Decode(l)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Verify(net); err != nil {
					t.Fatal(err)
				}
				es = append(es, e)
			}
			var writers []identity.ID
			if w := f.Header["writers"]; w != "open" {
				for _, s := range strings.Split(w, ",") {
					id, err := identity.ParseID(s)
					if err != nil {
						t.Fatal(err)
					}
					writers = append(writers, id)
				}
			}
			rev := slices.Clone(es)
			slices.Reverse(rev)
			for i, order := range [][]feed.Entry{es, rev} {
				for _, oneByOne := range []bool{true, false} {
					v, err := merge.New(merge.Config[int64, int64]{Reducer: vecReduce, Decode: vecDecode, Writers: writers,
						Snapshots: merge.SnapshotPolicy{Spacing: 1 + i}})
					if err != nil {
						t.Fatal(err)
					}
					if oneByOne {
						for _, e := range order {
							v.Add(e)
						}
					} else {
						v.Add(order...)
					}
					var got, refused, after []string
					for _, p := range v.Order() {
						got = append(got, p.ID.Short())
					}
					for _, r := range v.Refusals() {
						refused = append(refused, r.ID.Short())
					}
					for _, w := range v.Writers() {
						after = append(after, w.Short())
					}
					check := func(key, got string) {
						if want := f.Header[key]; got != want {
							t.Errorf("reversed=%v one-by-one=%v: %s = %q, want %q", i == 1, oneByOne, key, got, want)
						}
					}
					check("order", strings.Join(got, " "))
					check("refused", orNone(strings.Join(refused, " "), "none"))
					check("state", fmt.Sprint(v.State()))
					check("final", fmt.Sprint(v.Final().Count))
					check("writers-after", orNone(strings.Join(after, " "), "open"))
				}
			}
		})
	}
}

func orNone(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// TestVectorsReproducible runs the generator into a temporary directory and
// compares, both ways, with the committed vectors.
func TestVectorsReproducible(t *testing.T) {
	tmp := vectorfile.Generate(t, "..", "./docs/vectors/merge/gen.go")
	gen := readVectors(t, filepath.Join(tmp, "docs/vectors/merge"))
	committed := readVectors(t, vectorDir)
	if len(gen) != len(committed) {
		t.Fatalf("generator writes %d vectors, %d committed", len(gen), len(committed))
	}
	for i := range gen {
		a, _ := os.ReadFile(filepath.Join(tmp, "docs/vectors/merge", gen[i].Name))
		b, _ := os.ReadFile(filepath.Join(vectorDir, committed[i].Name))
		if gen[i].Name != committed[i].Name || !bytes.Equal(a, b) {
			t.Errorf("%s differs from what gen.go writes; run go run ./docs/vectors/merge/gen.go", committed[i].Name)
		}
	}
}
