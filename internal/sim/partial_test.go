package sim

import (
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// TestPartialInMesh: some peers of a lossy mesh replicate only a few feeds;
// they end with exactly those feeds, identical to everyone else's, and the
// full peers still converge (partial peers do not relay what they skip).
func TestPartialInMesh(t *testing.T) {
	const n = 30
	s := New(Config{Seed: 77, MaxLatency: 2, Loss: 0.02, Reorder: 0.02})
	s.AddPeers(n)
	ps := indices(n)
	partial := []int{4, 11, 23}
	chosen := []identity.ID{s.Peers[0].ID, s.Peers[7].ID, s.Peers[15].ID}
	for _, i := range partial {
		s.Peers[i].Feeds = append(append([]identity.ID{}, chosen...), s.Peers[i].ID)
	}
	for _, i := range ps {
		s.Append(i, 2, 80)
	}
	s.Mesh(ps, 4)
	var full []int
	for _, i := range ps {
		if i != 4 && i != 11 && i != 23 {
			full = append(full, i)
		}
	}
	for tick := range 60 {
		if tick%3 == 0 {
			s.Append(s.Rand().IntN(n), 1, 80)
		}
		s.Step()
	}
	done := func() bool {
		if !s.Converged(full) {
			return false
		}
		ref := s.Peers[full[0]].Store
		for _, i := range partial {
			st := s.Peers[i].Store
			for _, a := range chosen {
				if st.Head(a) != ref.Head(a) {
					return false
				}
			}
		}
		want := 0
		for _, i := range ps {
			want += int(s.Peers[i].Store.Head(s.Peers[i].ID).Seq)
		}
		return ref.EntryCount() == want
	}
	ok := s.Run(2000, done)
	checkHealthy(t, s, ps)
	if !ok {
		t.Fatalf("not converged after %d ticks", s.Now)
	}
	for _, i := range partial {
		if got, want := len(s.Peers[i].Store.Authors()), len(chosen)+1; got != want {
			t.Errorf("partial peer %d holds %d feeds, want %d", i, got, want)
		}
	}
}
