package sim

import (
	"testing"
)

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func checkHealthy(t *testing.T, s *Sim, honest []int) {
	t.Helper()
	for _, f := range s.Faults {
		t.Errorf("fault: %v", f)
	}
	hon := map[int]bool{}
	for _, i := range honest {
		hon[i] = true
	}
	for _, i := range honest {
		for _, e := range s.Peers[i].Errors {
			if hon[e.Remote] {
				t.Errorf("peer %d: session to honest peer %d failed at tick %d: %v", i, e.Remote, e.Tick, e.Err)
			}
		}
	}
}

func TestTwoPeers(t *testing.T) {
	s := New(Config{Seed: 1})
	s.AddPeers(2)
	s.Append(0, 10, 100)
	s.Append(1, 5, 100)
	s.Connect(0, 1)
	ok := s.Run(100, func() bool { return s.Converged([]int{0, 1}) && s.Peers[0].Store.EntryCount() == 15 })
	checkHealthy(t, s, []int{0, 1})
	if !ok {
		t.Fatalf("not converged: %d %d entries", s.Peers[0].Store.EntryCount(), s.Peers[1].Store.EntryCount())
	}
	t.Logf("ticks %d counters %+v", s.Now, s.Counters)
}

func TestTopologies(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		top  func(s *Sim, ps []int)
	}{
		{"star", 20, func(s *Sim, ps []int) { s.Star(0, ps) }},
		{"chain", 15, func(s *Sim, ps []int) { s.Chain(ps) }},
		{"mesh", 30, func(s *Sim, ps []int) { s.Mesh(ps, 4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Seed: 7, MaxLatency: 3})
			s.AddPeers(tc.n)
			ps := indices(tc.n)
			for _, i := range ps {
				s.Append(i, 3, 100)
			}
			tc.top(s, ps)
			ok := s.Run(500, func() bool { return s.Converged(ps) && s.Peers[0].Store.EntryCount() == 3*tc.n })
			checkHealthy(t, s, ps)
			if !ok {
				t.Fatalf("not converged after %d ticks", s.Now)
			}
			t.Logf("%s: %d ticks, %d bytes, %d entry bytes", tc.name, s.Now, s.Counters.Bytes, s.Counters.EntryBytes)
		})
	}
}

// TestMesh200 is the acceptance run: 200 peers in a mesh, each writing,
// under loss, duplication, reordering and a partition that heals, plus peers
// going offline and coming back with new entries.
func TestMesh200(t *testing.T) {
	s := runMesh200(t, 42)
	checkMergeViews(t, s, indices(200))
	st := totalStats(s)
	t.Logf("receipts %d, duplicates %d, accepted %d (%.3f receipts per accepted entry)", st.Received, st.Duplicates, st.Accepted, float64(st.Received)/float64(st.Accepted))
	t.Logf("ticks %d, messages %d, bytes %d, entry bytes %d, dropped %d, by type %v", s.Now, s.Counters.Messages, s.Counters.Bytes, s.Counters.EntryBytes, s.Counters.Dropped, s.Counters.ByType)
}

func runMesh200(t *testing.T, seed uint64) *Sim {
	const n = 200
	s := New(Config{Seed: seed, MaxLatency: 2, Loss: 0.01, Dup: 0.01, Reorder: 0.01})
	s.AddPeers(n)
	ps := indices(n)
	for _, i := range ps {
		s.Append(i, 1, 100)
	}
	s.Mesh(ps, 4)
	total := n
	for tick := 0; tick < 60; tick++ {
		switch tick {
		case 10:
			s.Partition(ps[:n/2], ps[n/2:])
		case 30:
			s.Heal()
		case 15:
			for _, i := range []int{3, 77, 150} {
				s.SetOnline(i, false)
			}
		case 40:
			for _, i := range []int{3, 77, 150} {
				s.Append(i, 2, 100)
				total += 2
				s.SetOnline(i, true)
			}
		}
		if tick%3 == 0 {
			i := s.Rand().IntN(n)
			if s.Peers[i].Online {
				s.Append(i, 1, 100)
				total++
			}
		}
		s.Step()
	}
	ok := s.Run(2000, func() bool { return s.Peers[0].Store.EntryCount() == total && s.Converged(ps) })
	checkHealthy(t, s, ps)
	if !ok {
		have := 0
		for _, i := range ps {
			if s.Peers[i].Store.EntryCount() == total {
				have++
			}
		}
		t.Fatalf("not converged after %d ticks: %d of %d peers hold all %d entries", s.Now, have, n, total)
	}
	return s
}

// TestDeterministic: the same seed gives the same run, bit for bit; another
// seed gives another run.
func TestDeterministic(t *testing.T) {
	run := func(seed uint64) ([32]byte, int) {
		s := New(Config{Seed: seed, MaxLatency: 3, Loss: 0.05, Dup: 0.05, Reorder: 0.05})
		s.AddPeers(30)
		ps := indices(30)
		for _, i := range ps {
			s.Append(i, 2, 50)
		}
		s.Mesh(ps, 4)
		for tick := range 80 {
			if tick == 10 {
				s.Partition(ps[:15])
			}
			if tick == 30 {
				s.Heal()
			}
			if tick%4 == 0 {
				s.Append(s.Rand().IntN(30), 1, 50)
			}
			s.Step()
		}
		checkHealthy(t, s, ps)
		return s.TraceHash(), s.Counters.Bytes
	}
	h1, b1 := run(5)
	h2, b2 := run(5)
	h3, _ := run(6)
	if h1 != h2 || b1 != b2 {
		t.Fatalf("same seed, different runs: %x/%d vs %x/%d", h1[:8], b1, h2[:8], b2)
	}
	if h1 == h3 {
		t.Fatalf("different seeds, same trace %x", h1[:8])
	}
	t.Logf("trace %x, %d bytes", h1[:8], b1)
}
