package audit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/sign"
	"github.com/sbfeed/sbfeed/store"
)

// Size of the benchmark store: 10 authors × 100,000 entries of 100 bytes.
const (
	benchAuthors = 10
	benchPerFeed = 100_000
)

var benchNet = identity.NetworkFromName("bench")

// benchStore returns the directory of the 1,000,000-entry benchmark store,
// building it on first use (with NoSync and entries signed on every core,
// which takes a minute) in the system's temporary directory, where later
// runs find it. Every 1000th entry of a feed references the head of the
// next feed, so references are resolved too.
func benchStore(b *testing.B) string {
	dir := filepath.Join(os.TempDir(), "sbfeed-bench-audit-1M-v2")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	b.Logf("building the benchmark store in %s (once)", dir)
	db, err := store.Open(dir, &store.Options{Network: benchNet, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]*identity.Key, benchAuthors)
	heads := make([]feed.Head, benchAuthors)
	for i := range keys {
		keys[i], err = identity.FromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
		if err != nil {
			b.Fatal(err)
		}
	}
	content := bytes.Repeat([]byte{'c'}, 100)
	const batch = 1000
	for round := 0; round < benchPerFeed/batch; round++ {
		for i, k := range keys {
			drafts := make([]feed.Draft, batch)
			for j := range drafts {
				drafts[j] = feed.Draft{Content: content}
			}
			if o := heads[(i+1)%benchAuthors]; o.Seq > 0 {
				drafts[0].Refs = []feed.Ref{{ID: o.ID, Clock: o.Clock}}
			}
			entries, err := feed.Chain(k.ID(), heads[i], drafts)
			if err != nil {
				b.Fatal(err)
			}
			if err := sign.All(k, benchNet, entries); err != nil {
				panic(err)
			}
			if _, err := db.Append(entries...); err != nil {
				b.Fatal(err)
			}
			heads[i] = entries[batch-1].Head()
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerify is what "sbfeed verify" does on a 1,000,000-entry store:
// open it, audit every feed (default: newest signature of each run; full:
// every signature), close it. Run it with -benchtime 1x (full takes about
// 30 s per iteration).
func BenchmarkVerify(b *testing.B) {
	dir := benchStore(b)
	for _, full := range []bool{false, true} {
		name := "default"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			var n int64
			cpu0 := cpuTime()
			for b.Loop() {
				db, err := store.Open(dir, &store.Options{Network: benchNet})
				if err != nil {
					b.Fatal(err)
				}
				rep, err := audit.Run(audit.FromStore(db), audit.Options{Network: benchNet, Full: full})
				db.Close()
				if err != nil || !rep.Clean() || rep.Entries != benchAuthors*benchPerFeed {
					b.Fatalf("audit: %v, %d entries, %v", err, rep.Entries, rep.Problems)
				}
				n += rep.Entries
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
			// On a shared machine the wall-clock rate depends on the load;
			// the CPU time the process used does not (much).
			b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
		})
	}
}
