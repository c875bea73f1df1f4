package audit_test

import (
	"testing"

	"github.com/sbfeed/sbfeed/store"
)

// BenchmarkMergeOrder reads the 1,000,000-entry benchmark store in merge
// order (clock, then ID), as a node does to rebuild its view at start.
// It lives here beside the store it shares with BenchmarkVerify.
func BenchmarkMergeOrder(b *testing.B) {
	dir := benchStore(b)
	db, err := store.Open(dir, &store.Options{Network: benchNet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	for b.Loop() {
		for _, err := range db.MergeOrder(0) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}
