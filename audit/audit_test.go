package audit_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

var testNet = identity.NetworkFromName("audit-test")

func testKey(t testing.TB, b byte) *identity.Key {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func makeFeed(t testing.TB, k *identity.Key, n int, refs ...feed.Ref) []feed.Entry {
	var head feed.Head
	var out []feed.Entry
	for i := 0; i < n; i++ {
		d := feed.Draft{Content: fmt.Appendf(nil, "entry %d", i+1)}
		if i == 0 {
			d.Refs = refs
		}
		e, err := feed.Create(k, testNet, head, d)
		if err != nil {
			t.Fatal(err)
		}
		out, head = append(out, e), e.Head()
	}
	return out
}

// buildStore writes two feeds (b references a) into a closed store in dir.
func buildStore(t *testing.T, dir string, n int) (a, b []feed.Entry) {
	a = makeFeed(t, testKey(t, 1), n)
	b = makeFeed(t, testKey(t, 2), n, feed.Ref{ID: a[2].ID(), Clock: a[2].Clock})
	db, err := store.Open(dir, &store.Options{Network: testNet, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(slices.Concat(a, b)...); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func auditDir(t *testing.T, dir string, opts audit.Options) *audit.Report {
	t.Helper()
	db, err := store.Open(dir, &store.Options{Network: testNet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts.Network = testNet
	rep, err := audit.Run(audit.FromStore(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// overwrite replaces the stored value of author's entry at seq, behind the
// store's back, as damage or tampering on disk would.
func overwrite(t *testing.T, dir string, author identity.ID, seq uint64, val []byte) {
	t.Helper()
	pdb, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	k := append([]byte{'e'}, author[:]...)
	k = append(k, byte(seq>>56), byte(seq>>48), byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq))
	if val == nil {
		err = pdb.Delete(k, pebble.Sync)
	} else {
		err = pdb.Set(k, val, pebble.Sync)
	}
	if err != nil {
		t.Fatal(err)
	}
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf(f, a...))
}

func TestStoreClean(t *testing.T) {
	dir := t.TempDir()
	buildStore(t, dir, 40)
	for _, full := range []bool{false, true} {
		for _, chunk := range []uint64{0, 7} {
			rep := auditDir(t, dir, audit.Options{Full: full, ChunkSize: chunk})
			if !rep.Clean() || rep.Entries != 80 || len(rep.Feeds) != 2 || rep.Unresolved != 0 {
				t.Fatalf("full=%v chunk=%d: %+v", full, chunk, rep)
			}
			for _, f := range rep.Feeds {
				if f.Status != "ok" || f.Head != 40 || f.Entries != 40 {
					t.Fatalf("feed %+v", f)
				}
			}
		}
	}
}

func TestStoreDamage(t *testing.T) {
	ka := testKey(t, 1)
	for _, tc := range []struct {
		name     string
		seq      uint64
		mutate   func(a []feed.Entry) []byte
		fullOnly bool
		want     error
	}{
		{"content changed", 20, func(a []feed.Entry) []byte {
			e := a[19]
			e.Content = []byte("changed")
			return e.Encode()
		}, false, feed.ErrBadSignature},
		{"garbage", 14, func([]feed.Entry) []byte { return []byte("not an entry") }, false, feed.ErrVersion},
		{"missing", 30, func([]feed.Entry) []byte { return nil }, false, feed.ErrBrokenChain},
		{"head signature", 40, func(a []feed.Entry) []byte {
			e := a[39]
			e.Sig[5] ^= 1
			return e.Encode()
		}, false, feed.ErrBadSignature},
		// A bad signature in the middle of a run is covered by the hash
		// chain in the default audit; --full names it.
		{"middle signature", 8, func(a []feed.Entry) []byte {
			e := a[7]
			e.Sig[5] ^= 1
			return e.Encode()
		}, true, feed.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, _ := buildStore(t, dir, 40)
			overwrite(t, dir, ka.ID(), tc.seq, tc.mutate(a))
			for _, chunk := range []uint64{0, 7, 5} {
				for _, full := range []bool{false, true} {
					rep := auditDir(t, dir, audit.Options{Full: full, ChunkSize: chunk})
					if tc.fullOnly && !full {
						if !rep.Clean() {
							t.Fatalf("default audit: %v", rep.Problems)
						}
						continue
					}
					if rep.Clean() || len(rep.Problems) == 0 {
						t.Fatalf("chunk %d full %v: damage not found", chunk, full)
					}
					p := rep.Problems[0]
					if p.Author != ka.ID() || p.Seq != tc.seq || !errors.Is(p.Err, tc.want) {
						t.Fatalf("chunk %d full %v: first problem %v (%v), want seq %d %v", chunk, full, p, p.Err, tc.seq, tc.want)
					}
				}
			}
		})
	}
}

func TestStoreFork(t *testing.T) {
	dir := t.TempDir()
	a, _ := buildStore(t, dir, 5)
	db, err := store.Open(dir, &store.Options{Network: testNet})
	if err != nil {
		t.Fatal(err)
	}
	alt, _ := feed.Create(testKey(t, 1), testNet, a[1].Head(), feed.Draft{Content: []byte("alt")})
	if _, err := db.Append(alt); !errors.Is(err, feed.ErrFork) {
		t.Fatal(err)
	}
	rep, err := audit.Run(audit.FromStore(db), audit.Options{Network: testNet})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clean() || len(rep.Forks) != 1 || rep.Forks[0].Seq() != 3 {
		t.Fatalf("%+v", rep)
	}
	for _, f := range rep.Feeds {
		if f.Author == a[0].Author && f.Status != "forked at seq 3" {
			t.Fatalf("status %q", f.Status)
		}
	}
}

// TestBundleVectors checks the verify: value of every bundle vector.
func TestBundleVectors(t *testing.T) {
	files, _ := filepath.Glob("../docs/vectors/bundle/*.txt")
	if len(files) == 0 {
		t.Fatal("no vectors")
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(string(raw), "\n\n")
		hdr := map[string]string{}
		for _, l := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(l, ": ")
			hdr[k] = v
		}
		want, ok := hdr["verify"]
		if !ok {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\n", ""))
			net := identity.NetworkFromName(hdr["network"])
			b, err := audit.LoadBundle(bytes.NewReader(data), net)
			if err != nil {
				t.Fatal(err)
			}
			for _, full := range []bool{false, true} {
				rep, err := audit.RunBundle(b, audit.Options{Network: net, Full: full})
				if err != nil {
					t.Fatal(err)
				}
				var got string
				switch {
				case len(rep.Problems) > 0:
					got = rep.Problems[0].Err.Error()
					for _, s := range []error{feed.ErrBadSignature, feed.ErrBrokenChain} {
						if errors.Is(rep.Problems[0].Err, s) {
							got = strings.TrimPrefix(s.Error(), "feed: ")
						}
					}
					if rep.Problems[0].Offset <= 0 && !strings.Contains(rep.Problems[0].What, "missing") {
						t.Errorf("problem without a bundle offset: %v", rep.Problems[0])
					}
				case len(rep.Forks) > 0:
					got = "fork"
				default:
					got = "ok"
				}
				if got != want {
					t.Fatalf("full=%v: got %q, want %q (%v)", full, got, want, rep.Problems)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no vector has a verify: line")
	}
}

// TestStoreIndexDamage: a lost ID-index record is invisible to the default
// audit (which reads the feeds) and named by --full.
func TestStoreIndexDamage(t *testing.T) {
	dir := t.TempDir()
	a, _ := buildStore(t, dir, 10)
	pdb, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	id := a[6].ID()
	if err := pdb.Delete(append([]byte{'i'}, id[:]...), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	if rep := auditDir(t, dir, audit.Options{}); !rep.Clean() {
		t.Fatalf("default audit: %v", rep.Problems)
	}
	rep := auditDir(t, dir, audit.Options{Full: true})
	if len(rep.Problems) != 2 {
		t.Fatalf("full audit: %v", rep.Problems)
	}
	p := rep.Problems[0]
	if p.Author != a[6].Author || p.Seq != 7 || !store.IsCorruption(p.Err) {
		t.Fatalf("first problem %v", p)
	}
	if !strings.Contains(rep.Problems[1].What, "19 ID and 20 merge records for 20 entries") {
		t.Fatalf("second problem %v", rep.Problems[1])
	}
}

// TestStoreIndexWrong: a merge-index record that names the wrong entry
// keeps the record counts right; the digests still differ and the entry is
// named.
func TestStoreIndexWrong(t *testing.T) {
	dir := t.TempDir()
	a, b := buildStore(t, dir, 10)
	pdb, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	e := a[4]
	id := e.ID()
	k := append([]byte{'m'}, 0, 0, 0, 0, 0, 0, 0, byte(e.Clock))
	k = append(k, id[:]...)
	v := append(append([]byte{}, b[0].Author[:]...), 0, 0, 0, 0, 0, 0, 0, 5) // names b:5
	if err := pdb.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	rep := auditDir(t, dir, audit.Options{Full: true})
	if len(rep.Problems) != 2 || rep.Problems[0].Seq != 5 || rep.Problems[0].Author != e.Author ||
		!strings.Contains(rep.Problems[1].What, "20 ID and 20 merge records for 20 entries") {
		t.Fatalf("full audit: %v", rep.Problems)
	}
}
