package merge_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// The benchmark application: the Redux counter. The action is a signed
// 8-byte delta; the reducer adds it.
func counterReduce(s int64, a int64) (int64, error) { return s + a, nil }

func counterDecode(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, errors.New("counter: want 8 bytes")
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

var one = binary.BigEndian.AppendUint64(nil, 1)

// chain makes n unsigned entries of author after head (signatures are not
// the view's job; the store verifies them).
func chain(tb testing.TB, author identity.ID, head *feed.Head, n int) []feed.Entry {
	out := make([]feed.Entry, n)
	for i := range out {
		e, err := feed.Next(author, *head, feed.Draft{Content: one})
		if err != nil {
			tb.Fatal(err)
		}
		*head = e.Head()
		out[i] = e
	}
	return out
}

func counterView(tb testing.TB, writers []identity.ID, pol merge.SnapshotPolicy) *merge.View[int64, int64] {
	v, err := merge.New(merge.Config[int64, int64]{Reducer: counterReduce, Decode: counterDecode, Writers: writers, Snapshots: pol})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// BenchmarkApplyInOrder: one writer's entries arrive in order, in batches
// (as from one replication message) or one by one.
func BenchmarkApplyInOrder(b *testing.B) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			a := testKey(b, 1).ID()
			v := counterView(b, []identity.ID{a}, merge.SnapshotPolicy{})
			var head feed.Head
			const chunk = 1 << 16
			done := 0
			b.ReportAllocs()
			b.ResetTimer()
			for done < b.N {
				b.StopTimer()
				es := chain(b, a, &head, min(chunk, b.N-done))
				b.StartTimer()
				for i := 0; i < len(es); i += batch {
					v.Add(es[i:min(i+batch, len(es))]...)
				}
				done += len(es)
			}
			b.StopTimer()
			if v.State() != int64(b.N) {
				b.Fatalf("state %d, want %d", v.State(), b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
		})
	}
}

// BenchmarkLateInsert: a history of one writer; each iteration appends one
// entry at the tip and then inserts another writer's entry d entries behind
// the tip. Reported: reducer calls per late insertion (target <= d +
// spacing) and time per iteration.
func BenchmarkLateInsert(b *testing.B) {
	for _, d := range []int{1, 100, 10_000, 100_000} {
		b.Run(fmt.Sprintf("depth=%d", d), func(b *testing.B) {
			ka, kb := testKey(b, 1).ID(), testKey(b, 2).ID()
			// Open mode: nothing becomes final, so the insertion point is
			// always rewindable and only the snapshot policy decides.
			v := counterView(b, nil, merge.SnapshotPolicy{})
			var ha, hb feed.Head
			hist := chain(b, ka, &ha, d+2048)
			v.Add(hist...)
			calls, most := 0, 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				tip := chain(b, ka, &ha, 1)
				ref := hist[len(hist)-d]
				late, err := feed.Next(kb, hb, feed.Draft{Content: one, Refs: []feed.Ref{{ID: ref.ID(), Clock: ref.Clock}}})
				if err != nil {
					b.Fatal(err)
				}
				hb = late.Head()
				hist = append(hist, tip...)
				v.Add(tip...)
				b.StartTimer()
				r := v.Add(late)
				calls += r.Replayed
				most = max(most, r.Replayed)
			}
			b.StopTimer()
			b.ReportMetric(float64(calls)/float64(b.N), "reducer-calls/insert")
			b.ReportMetric(float64(most), "max-reducer-calls")
			if most > d+1+merge.DefaultSpacing {
				b.Fatalf("an insertion at depth %d made %d reducer calls, bound %d", d, most, d+1+merge.DefaultSpacing)
			}
			if v.State() != int64(v.Len()) {
				b.Fatalf("state %d, len %d", v.State(), v.Len())
			}
		})
	}
}

// BenchmarkRetainedMemory applies 1,000,000 actions and reports the heap
// the view retains (the entries themselves are generated in chunks and
// dropped: the view does not keep contents).
func BenchmarkRetainedMemory(b *testing.B) {
	for _, mode := range []string{"final", "open"} {
		b.Run(mode, func(b *testing.B) {
			const n = 1_000_000
			for range b.N {
				a := testKey(b, 1).ID()
				writers := []identity.ID{a}
				if mode == "open" {
					writers = nil
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				v := counterView(b, writers, merge.SnapshotPolicy{})
				var head feed.Head
				for done := 0; done < n; done += 1 << 16 {
					v.Add(chain(b, a, &head, min(1<<16, n-done))...)
				}
				// An entry whose previous entry is unknown forces the
				// lazily built ID index into existence (the lookup misses):
				// measure the view as a multi-writer peer has it.
				orphan, err := feed.Next(testKey(b, 2).ID(), feed.Head{Seq: 1, ID: feed.ID{1}, Clock: 1}, feed.Draft{Content: one})
				if err != nil {
					b.Fatal(err)
				}
				if r := v.Add(orphan); r.Pending != 1 {
					b.Fatal("orphan not pending")
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if v.Len() != n {
					b.Fatal("len")
				}
				retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)
				b.ReportMetric(retained/(1<<20), "MiB-retained")
				b.ReportMetric(retained/n, "B/action")
				runtime.KeepAlive(v)
			}
		})
	}
}

// BenchmarkApplyThreeWriters: three writers in turn, each entry referencing
// the other two feeds' heads (every entry has refs: the index and
// vector-clock path), delivered in order; finality advances as it goes.
func BenchmarkApplyThreeWriters(b *testing.B) {
	ids := []identity.ID{testKey(b, 1).ID(), testKey(b, 2).ID(), testKey(b, 3).ID()}
	v := counterView(b, ids, merge.SnapshotPolicy{})
	heads := make([]feed.Head, 3)
	const chunk = 1 << 14
	done := 0
	b.ReportAllocs()
	b.ResetTimer()
	for done < b.N {
		b.StopTimer()
		n := min(chunk, b.N-done)
		es := make([]feed.Entry, n)
		for i := range es {
			w := (done + i) % 3
			var refs []feed.Ref
			for o := range 3 {
				if o != w && heads[o].Seq > 0 {
					refs = append(refs, feed.Ref{ID: heads[o].ID, Clock: heads[o].Clock})
				}
			}
			e, err := feed.Next(ids[w], heads[w], feed.Draft{Content: one, Refs: refs})
			if err != nil {
				b.Fatal(err)
			}
			heads[w] = e.Head()
			es[i] = e
		}
		b.StartTimer()
		for i := 0; i < len(es); i += 256 {
			v.Add(es[i:min(i+256, len(es))]...)
		}
		done += n
	}
	b.StopTimer()
	if v.State() != int64(b.N) {
		b.Fatalf("state %d", v.State())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	b.ReportMetric(float64(v.Final().Count), "final")
}

// BenchmarkSnapshotMemory measures what one retained snapshot costs: the
// same 200,000 actions in open mode with the default snapshot policy and
// with snapshots effectively off, for a 4 KiB state; the heap difference
// divided by the number of snapshots kept.
func BenchmarkSnapshotMemory(b *testing.B) {
	type big [512]int64
	const n = 200_000
	a := testKey(b, 1).ID()
	var es []feed.Entry
	var head feed.Head
	es = chain(b, a, &head, n)
	for range b.N {
		heap := func(pol merge.SnapshotPolicy) (uint64, int) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			v, err := merge.New(merge.Config[big, int64]{
				Reducer: func(s big, x int64) (big, error) { s[x%512]++; return s, nil },
				Decode:  counterDecode, Snapshots: pol})
			if err != nil {
				b.Fatal(err)
			}
			v.Add(es...)
			runtime.GC()
			runtime.ReadMemStats(&after)
			kept := v.Snapshots()
			runtime.KeepAlive(v)
			return after.HeapAlloc - before.HeapAlloc, kept
		}
		with, kept := heap(merge.SnapshotPolicy{})
		without, base := heap(merge.SnapshotPolicy{Spacing: 1 << 30})
		per := (float64(with) - float64(without)) / float64(kept-base)
		b.ReportMetric(float64(kept), "snapshots")
		b.ReportMetric(per, "B/snapshot")
		b.ReportMetric(float64(with)/(1<<20), "MiB-with")
	}
}
