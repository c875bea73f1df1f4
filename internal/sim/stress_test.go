package sim

import (
	"fmt"
	"testing"
)

// TestStressSeeds runs a harsher network (5% loss, duplication and
// reordering, latency 1–4, partitions and offline peers) under several
// seeds; every run must converge without faults or honest errors.
func TestStressSeeds(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			const n = 40
			s := New(Config{Seed: uint64(seed) + 1000, MinLatency: 1, MaxLatency: 4, Loss: 0.05, Dup: 0.05, Reorder: 0.05})
			s.AddPeers(n)
			ps := indices(n)
			for _, i := range ps {
				s.Append(i, 1+s.Rand().IntN(5), 60)
			}
			switch seed % 3 {
			case 0:
				s.Mesh(ps, 3)
			case 1:
				s.Star(0, ps)
				s.Chain(ps[1:])
			case 2:
				s.Chain(ps)
			}
			for tick := 0; tick < 120; tick++ {
				switch tick {
				case 20:
					s.Partition(ps[:n/3], ps[n/3:])
				case 50:
					s.Heal()
				case 30:
					s.SetOnline(5, false)
				case 70:
					s.Append(5, 3, 60)
					s.SetOnline(5, true)
				}
				if tick%2 == 0 {
					if i := s.Rand().IntN(n); s.Peers[i].Online {
						s.Append(i, 1+s.Rand().IntN(3), 60)
					}
				}
				s.Step()
			}
			want := 0
			for _, i := range ps {
				want += int(s.Peers[i].Store.Head(s.Peers[i].ID).Seq)
			}
			ok := s.Run(3000, func() bool { return s.Peers[0].Store.EntryCount() == want && s.Converged(ps) })
			checkHealthy(t, s, ps)
			if !ok {
				have := 0
				for _, i := range ps {
					if s.Peers[i].Store.EntryCount() == want {
						have++
					}
				}
				t.Fatalf("seed %d: not converged after %d ticks: %d of %d peers complete", seed, s.Now, have, n)
			}
		})
	}
}
