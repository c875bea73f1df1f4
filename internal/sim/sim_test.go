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
