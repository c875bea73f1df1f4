package sim

import (
	"fmt"
	"testing"

	"github.com/sbfeed/sbfeed/replicate"
)

func totalStats(s *Sim) replicate.Stats {
	var t replicate.Stats
	for i := range s.Peers {
		st := s.Stats(i)
		t.Received += st.Received
		t.Duplicates += st.Duplicates
		t.Accepted += st.Accepted
		t.Sent += st.Sent
	}
	return t
}

// BenchmarkMeshLive measures steady live operation in a mesh (degree 4):
// after an initial sync, a few peers append each tick. Reported per new
// entry and receiving peer: receipts (target ≤ 1.5), duplicates, wire bytes
// of every kind, and protocol bytes beyond the entries themselves.
func BenchmarkMeshLive(b *testing.B) {
	for _, n := range []int{10, 100, 200} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			var receipts, dups, bytesPer, overheadPer, ticks, headsPer, summaryPer, wantPer float64
			for it := 0; it < b.N; it++ {
				s := New(Config{Seed: uint64(it + 1), MaxLatency: 2})
				s.AddPeers(n)
				ps := indices(n)
				for _, i := range ps {
					s.Append(i, 1, 100)
				}
				s.Mesh(ps, 4)
				total := n
				if !s.Run(500, func() bool { return s.Peers[0].Store.EntryCount() == total && s.Converged(ps) }) {
					b.Fatal("initial sync did not converge")
				}
				s.Run(20, func() bool { return false }) // settle the trees
				before, bytes0, entryBytes0 := totalStats(s), s.Counters.Bytes, s.Counters.EntryBytes
				heads0, summary0, want0 := s.Counters.ByType["Heads"], s.Counters.ByType["Summary"], s.Counters.ByType["Want"]
				fresh := 0
				for tick := 0; tick < 100; tick++ {
					for range max(1, n/20) {
						s.Append(s.Rand().IntN(n), 1, 100)
						fresh++
					}
					s.Step()
				}
				total += fresh
				start := s.Now
				if !s.Run(500, func() bool { return s.Peers[0].Store.EntryCount() == total && s.Converged(ps) }) {
					b.Fatal("live phase did not converge")
				}
				after := totalStats(s)
				useful := float64(fresh * (n - 1))
				receipts += float64(after.Received-before.Received) / useful
				dups += float64(after.Duplicates-before.Duplicates) / useful
				bytesPer += float64(s.Counters.Bytes-bytes0) / useful
				overheadPer += float64((s.Counters.Bytes-bytes0)-(s.Counters.EntryBytes-entryBytes0)) / useful
				ticks += float64(s.Now - start)
				headsPer += float64(s.Counters.ByType["Heads"]-heads0) / useful
				summaryPer += float64(s.Counters.ByType["Summary"]-summary0) / useful
				wantPer += float64(s.Counters.ByType["Want"]-want0) / useful
			}
			k := float64(b.N)
			b.ReportMetric(receipts/k, "receipts/entry/peer")
			b.ReportMetric(dups/k, "dups/entry/peer")
			b.ReportMetric(bytesPer/k, "wireB/entry/peer")
			b.ReportMetric(overheadPer/k, "overheadB/entry/peer")
			b.ReportMetric(ticks/k, "ticks-to-drain")
			b.ReportMetric(headsPer/k, "headsB/entry/peer")
			b.ReportMetric(summaryPer/k, "summaryB/entry/peer")
			b.ReportMetric(wantPer/k, "wantB/entry/peer")
		})
	}
}

// BenchmarkBulkSync measures a fresh peer catching up with a server holding
// 20 feeds of 500 entries of 100-byte content (about 250 bytes encoded):
// protocol overhead is wire bytes beyond the encoded entries (target < 20%).
func BenchmarkBulkSync(b *testing.B) {
	var overhead, wire float64
	for it := 0; it < b.N; it++ {
		s := New(Config{Seed: 3})
		s.AddPeers(21)
		for i := 1; i <= 20; i++ {
			s.Append(i, 500, 100)
			s.Connect(0, i)
		}
		if !s.Run(1000, func() bool { return s.Peers[0].Store.EntryCount() == 10000 }) {
			b.Fatal("server did not collect")
		}
		for i := 1; i <= 20; i++ {
			s.Disconnect(0, i)
		}
		fresh := s.AddPeers(1)[0].Index
		bytes0, entry0 := s.Counters.Bytes, s.Counters.EntryBytes
		s.Connect(0, fresh)
		if !s.Run(1000, func() bool { return s.Peers[fresh].Store.EntryCount() == 10000 }) {
			b.Fatal("fresh peer did not catch up")
		}
		eb := s.Counters.EntryBytes - entry0
		wb := s.Counters.Bytes - bytes0
		overhead += float64(wb-eb) / float64(eb)
		wire += float64(wb) / 10000
	}
	b.ReportMetric(100*overhead/float64(b.N), "overhead%")
	b.ReportMetric(wire/float64(b.N), "wireB/entry")
}

// BenchmarkPartitionHeal measures the ticks to converge after a partition of
// 100 peers into two halves heals; each half wrote 50 entries meanwhile.
func BenchmarkPartitionHeal(b *testing.B) {
	var ticks, bytes float64
	for it := 0; it < b.N; it++ {
		const n = 100
		s := New(Config{Seed: uint64(it + 10), MaxLatency: 2})
		s.AddPeers(n)
		ps := indices(n)
		for _, i := range ps {
			s.Append(i, 1, 100)
		}
		s.Mesh(ps, 4)
		total := n
		s.Run(500, func() bool { return s.Peers[0].Store.EntryCount() == total && s.Converged(ps) })
		s.Partition(ps[:n/2], ps[n/2:])
		for range 100 {
			s.Append(s.Rand().IntN(n), 1, 100)
			total++
			s.Step()
		}
		s.Run(100, func() bool { return s.Converged(ps[:n/2]) && s.Converged(ps[n/2:]) })
		bytes0 := s.Counters.Bytes
		s.Heal()
		start := s.Now
		if !s.Run(1000, func() bool { return s.Peers[0].Store.EntryCount() == total && s.Converged(ps) }) {
			b.Fatal("did not converge after heal")
		}
		ticks += float64(s.Now - start)
		bytes += float64(s.Counters.Bytes - bytes0)
	}
	b.ReportMetric(ticks/float64(b.N), "ticks-to-converge")
	b.ReportMetric(bytes/float64(b.N), "wireB-after-heal")
}
