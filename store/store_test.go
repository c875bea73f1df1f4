package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

var testNet = identity.NetworkFromName("store-test")

func testKey(t testing.TB, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makeFeed returns n signed entries of k's feed after head.
func makeFeed(t testing.TB, k *identity.Key, head feed.Head, n int, refs ...feed.Ref) []feed.Entry {
	t.Helper()
	out := make([]feed.Entry, 0, n)
	for i := 0; i < n; i++ {
		d := feed.Draft{Content: fmt.Appendf(nil, "%s #%d", k.ID().Short(), head.Seq+1)}
		if i == 0 {
			d.Refs = refs
		}
		e, err := feed.Create(k, testNet, head, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		head = e.Head()
	}
	return out
}

func openTest(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, &store.Options{Network: testNet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAppendAndRead(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	a, b := testKey(t, 1), testKey(t, 2)
	fa := makeFeed(t, a, feed.Head{}, 5)
	fb := makeFeed(t, b, feed.Head{}, 3, feed.Ref{ID: fa[4].ID(), Clock: fa[4].Clock})
	// One batch, two feeds, shuffled order.
	batch := slices.Concat([]feed.Entry{fb[2], fa[3], fa[4]}, fa[:3], fb[:2])
	res, err := db.Append(batch...)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 8 || res.Known != 0 {
		t.Fatalf("result %+v", res)
	}
	// Idempotent.
	res, err = db.Append(fa...)
	if err != nil || res.New != 0 || res.Known != 5 {
		t.Fatalf("re-append: %+v %v", res, err)
	}
	h, ok, err := db.Head(a.ID())
	if err != nil || !ok || h != fa[4].Head() {
		t.Fatalf("head %+v %v %v", h, ok, err)
	}
	if _, ok, _ := db.Head(testKey(t, 9).ID()); ok {
		t.Fatal("unknown feed has a head")
	}
	heads, err := db.Heads()
	if err != nil || len(heads) != 2 {
		t.Fatalf("heads %v %v", heads, err)
	}
	e, err := db.Get(b.ID(), 2)
	if err != nil || e.ID() != fb[1].ID() {
		t.Fatalf("get: %v", err)
	}
	e, err = db.GetByID(fa[2].ID())
	if err != nil || e.Seq != 3 || e.Author != a.ID() {
		t.Fatalf("get by id: %v", err)
	}
	if _, err := db.Get(b.ID(), 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	var seqs []uint64
	for e, err := range db.Range(a.ID(), 2, 4) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	if fmt.Sprint(seqs) != "[2 3 4]" {
		t.Fatalf("range %v", seqs)
	}
	n := 0
	for raw, err := range db.RangeRaw(b.ID(), 1, 0) {
		if err != nil || !bytes.Equal(raw, fb[n].Encode()) {
			t.Fatalf("raw %d: %v", n, err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("raw range gave %d", n)
	}
	// Merge order: by clock, then ID; every entry once.
	var prev feed.Entry
	n = 0
	for e, err := range db.MergeOrder(0) {
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (e.Clock < prev.Clock || e.Clock == prev.Clock && prev.ID().Compare(e.ID()) >= 0) {
			t.Fatalf("merge order: %s after %s", e.String(), prev.String())
		}
		prev, n = e, n+1
	}
	if n != 8 {
		t.Fatalf("merge order gave %d entries", n)
	}
	// Reopen: everything is still there.
	db.Close()
	db = openTest(t, dir)
	if h, _, _ := db.Head(b.ID()); h != fb[2].Head() {
		t.Fatalf("after reopen: %+v", h)
	}
}

func TestAppendRefusesAtomically(t *testing.T) {
	db := openTest(t, t.TempDir())
	a, b := testKey(t, 1), testKey(t, 2)
	fa := makeFeed(t, a, feed.Head{}, 4)
	fb := makeFeed(t, b, feed.Head{}, 2)
	bad := fa[3]
	bad.Sig[0] ^= 1
	gap := []feed.Entry{fa[0], fa[2]}
	otherNet, err := feed.Create(a, identity.NetworkFromName("other"), feed.Head{}, feed.Draft{Content: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	tampered := makeFeed(t, a, feed.Head{}, 3)
	tampered[1].Content = []byte("changed")
	for _, tc := range []struct {
		name  string
		batch []feed.Entry
		want  error
	}{
		{"bad newest signature", slices.Concat(fb, fa[:3], []feed.Entry{bad}), feed.ErrBadSignature},
		{"gap", slices.Concat(fb, gap), feed.ErrBrokenChain},
		{"other network", []feed.Entry{otherNet}, feed.ErrBadSignature},
		{"tampered middle", tampered, feed.ErrBrokenChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Append(tc.batch...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var fe *feed.Error
			if !errors.As(err, &fe) || fe.Author != a.ID() {
				t.Fatalf("error does not name the feed: %v", err)
			}
			heads, _ := db.Heads()
			if len(heads) != 0 {
				t.Fatalf("half-written: %v", heads)
			}
		})
	}
}

func TestFork(t *testing.T) {
	db := openTest(t, t.TempDir())
	a := testKey(t, 1)
	fa := makeFeed(t, a, feed.Head{}, 3)
	if _, err := db.Append(fa...); err != nil {
		t.Fatal(err)
	}
	alt, err := feed.Create(a, testNet, fa[0].Head(), feed.Draft{Content: []byte("other branch")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Append(alt)
	var fe *feed.ForkError
	if !errors.As(err, &fe) || !errors.Is(err, feed.ErrFork) {
		t.Fatalf("want fork error, got %v", err)
	}
	if fe.Proof.Seq() != 2 || len(res.Forks) != 1 {
		t.Fatalf("proof at %d, %+v", fe.Proof.Seq(), res)
	}
	if e, _ := db.Get(a.ID(), 2); e.ID() != fa[1].ID() {
		t.Fatal("fork overwrote the stored entry")
	}
	fh, _, _ := db.Feed(a.ID())
	if fh.ForkedAt != 2 || fh.Head.Seq != 3 {
		t.Fatalf("feed head %+v", fh)
	}
	proofs, err := db.Forks()
	if err != nil || len(proofs) != 1 || proofs[0].Verify(testNet) != nil {
		t.Fatalf("forks %v %v", proofs, err)
	}
	// A forged (badly signed) conflicting entry is a refusal, not a fork.
	forged := alt
	forged.Sig[3] ^= 1
	if _, err := db.Append(forged); !errors.Is(err, feed.ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
}

func TestSnapshots(t *testing.T) {
	db := openTest(t, t.TempDir())
	if _, err := db.GetSnapshot("s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err := db.PutSnapshot("s", []byte("state")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.GetSnapshot("s"); err != nil || string(v) != "state" {
		t.Fatal(v, err)
	}
	if err := db.DeleteSnapshot("s"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSnapshot("s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	// Second open of a held directory: a clear error naming the process.
	_, err := store.Open(dir, &store.Options{Network: testNet})
	var le *store.LockedError
	if !errors.Is(err, store.ErrLocked) || !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second open: %v", err)
	}
	db.Close()
	if err := db.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := db.Append(makeFeed(t, testKey(t, 1), feed.Head{}, 1)...); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	// Another network.
	if _, err := store.Open(dir, &store.Options{Network: identity.NetworkFromName("x")}); !errors.Is(err, store.ErrNetwork) {
		t.Fatalf("other network: %v", err)
	}
}

func TestOpenRefusesNewerVersion(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	db.Close()
	if err := store.SetFormatVersionForTest(dir, store.FormatVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(dir, &store.Options{Network: testNet})
	if !errors.Is(err, store.ErrVersion) {
		t.Fatalf("newer version: %v", err)
	}
	t.Log(err)
}

func TestLockFileNamesPID(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, store.LockFile))
	if err != nil || string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file %q %v", b, err)
	}
}

// TestForkInBatch: two entries at one seq in one batch are a fork; entries
// extending the first branch are stored, those of the other branch skipped.
func TestForkInBatch(t *testing.T) {
	db := openTest(t, t.TempDir())
	k := testKey(t, 1)
	main := makeFeed(t, k, feed.Head{}, 4)
	o2, _ := feed.Create(k, testNet, main[0].Head(), feed.Draft{Content: []byte("2'")})
	o3, _ := feed.Create(k, testNet, o2.Head(), feed.Draft{Content: []byte("3'")})
	other := []feed.Entry{o2, o3}
	res, err := db.Append(slices.Concat(main, other)...)
	var fe *feed.ForkError
	if !errors.As(err, &fe) || fe.Proof.Seq() != 2 {
		t.Fatalf("want a fork at seq 2: %v", err)
	}
	if res.New != 4 || res.Skipped != 1 || len(res.Forks) != 1 {
		t.Fatalf("result %+v", res)
	}
	if h, _, _ := db.Head(k.ID()); h != main[3].Head() {
		t.Fatalf("head %+v", h)
	}
	// The other branch against the stored chain: one more proof at seq 2
	// would be the same fork; its later entry is skipped.
	res, err = db.Append(other...)
	if !errors.As(err, &fe) || res.New != 0 || res.Skipped != 1 {
		t.Fatalf("second time: %+v %v", res, err)
	}
	proofs, _ := db.Forks()
	if len(proofs) != 1 {
		t.Fatalf("%d proofs stored", len(proofs))
	}
	// A proof received from elsewhere, for a feed not stored here.
	k2 := testKey(t, 2)
	x := makeFeed(t, k2, feed.Head{}, 1)
	y, _ := feed.Create(k2, testNet, feed.Head{}, feed.Draft{Content: []byte("y")})
	p, err := feed.NewForkProof(testNet, x[0], y)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddForkProof(p); err != nil {
		t.Fatal(err)
	}
	if err := db.AddForkProof(p); err != nil {
		t.Fatal(err)
	}
	fh, ok, _ := db.Feed(k2.ID())
	if !ok || fh.ForkedAt != 1 || fh.Head.Seq != 0 {
		t.Fatalf("feed %+v %v", fh, ok)
	}
	bad := p
	bad.B.Sig[0] ^= 1
	if err := db.AddForkProof(bad); !errors.Is(err, feed.ErrBadForkProof) {
		t.Fatalf("bad proof: %v", err)
	}
}

// TestWeakAuthorRefused: a feed whose author key is a low-order point (here
// the identity point, for which any S = 0 "signature" with R = identity
// verifies) is refused before anything is stored.
func TestWeakAuthorRefused(t *testing.T) {
	db := openTest(t, t.TempDir())
	var weak identity.ID
	weak[0] = 1 // the identity point's encoding
	e, err := feed.Next(weak, feed.Head{}, feed.Draft{Content: []byte("forged")})
	if err != nil {
		t.Fatal(err)
	}
	copy(e.Sig[:], weak[:]) // R = identity, S = 0
	_, err = db.Append(e)
	var fe *feed.Error
	if !errors.As(err, &fe) || fe.Field != "author" || !errors.Is(err, feed.ErrBadSignature) {
		t.Fatalf("weak author: %v", err)
	}
	if heads, _ := db.Heads(); len(heads) != 0 {
		t.Fatal("stored")
	}
}

// TestMergeOrderManyFeeds reads more feeds than MergeOrder keeps cursors
// for, so both of its read paths are used.
func TestMergeOrderManyFeeds(t *testing.T) {
	db, err := store.Open(t.TempDir(), &store.Options{Network: testNet, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const feeds = 300
	var all []feed.Entry
	for i := 0; i < feeds; i++ {
		seed := bytes.Repeat([]byte{byte(i)}, 32)
		seed[0], seed[1] = byte(i>>8), 0xfe
		k, err := identity.FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		es := makeFeed(t, k, feed.Head{}, 2)
		all = append(all, es...)
	}
	if _, err := db.Append(all...); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b feed.Entry) int {
		if a.Clock != b.Clock {
			return int(a.Clock) - int(b.Clock)
		}
		return a.ID().Compare(b.ID())
	})
	i := 0
	for e, err := range db.MergeOrder(0) {
		if err != nil {
			t.Fatal(err)
		}
		if e.ID() != all[i].ID() {
			t.Fatalf("entry %d: %s, want %s", i, e.String(), all[i].String())
		}
		i++
	}
	if i != len(all) {
		t.Fatalf("%d entries, want %d", i, len(all))
	}
	// From a clock: only entries with clock >= 2.
	n := 0
	for e, err := range db.MergeOrder(2) {
		if err != nil || e.Clock < 2 {
			t.Fatalf("%v %v", e.String(), err)
		}
		n++
	}
	if n != feeds {
		t.Fatalf("from clock 2: %d entries", n)
	}
}

// Options that cannot work are refused before anything is created.
func TestOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
		want string
	}{
		{"negative cache", store.Options{CacheSize: -1}, "negative CacheSize"},
		{"negative memtable", store.Options{MemTableSize: -1}, "negative MemTableSize"},
		{"memtable of 4 GiB", store.Options{MemTableSize: 4 << 30}, "not below 4 GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			_, err := store.Open(dir, &tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, tc.want)
			}
			if _, serr := os.Stat(dir); serr == nil {
				t.Fatalf("refused options still created %s", dir)
			}
		})
	}
	// A custom write buffer works.
	db, err := store.Open(t.TempDir(), &store.Options{Network: testNet, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}
