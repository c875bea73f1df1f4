package sim

import (
	"fmt"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
)

// TestSignaturePoisoning: writer W's feed reaches the honest peers only
// through a hostile relay M, which alters the signature bytes of every entry
// of each run it sends but the newest (IDs, hence links, unchanged: the run
// verifies). Honest peers store those bytes and relay them, with windows
// that split the runs differently. No honest peer may drop another, every
// honest peer gets all of W's feed, and every stored copy is authenticated
// (links plus a valid newest signature).
func TestSignaturePoisoning(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runPoisoning(t, seed) })
	}
}

func runPoisoning(t *testing.T, seed uint64) {
	const n = 12
	s := New(Config{Seed: seed, MaxLatency: 2, Loss: 0.01, Limits: replicate.Limits{Window: 16}})
	s.AddPeers(n)
	honest := indices(n)
	for _, i := range honest {
		s.Append(i, 2, 100)
	}
	s.Mesh(honest, 3)
	w := s.AddPeer(s.KeyFor(4000), s.cfg.Network) // not connected: its feed travels only through M
	m := s.AddPeer(s.KeyFor(5000), s.cfg.Network)
	m.Feeds = []identity.ID{m.ID} // M's own sessions never carry W's feed
	targets := []int{0, 5}
	for _, k := range targets {
		s.Connect(m.Index, k)
	}
	poisoned := 0
	for tick := 0; tick < 200; tick++ {
		if tick%20 == 0 && tick < 120 {
			s.Append(w.Index, 30, 100)
		}
		for _, k := range targets {
			if ss := s.Session(m.Index, k); ss == nil || ss.Version() == 0 {
				continue
			}
			// What k lacks, as runs of at most its window, each poisoned
			// but for its newest entry.
			from := s.Peers[k].Store.Head(w.ID).Seq + 1
			es, _ := w.Store.Entries(w.ID)
			if int(from) > len(es) {
				continue
			}
			run := es[from-1 : min(len(es), int(from)+15)]
			cp := make([]feed.Entry, len(run))
			for i, e := range run {
				cp[i] = e
				if i < len(run)-1 {
					cp[i].Sig[0] ^= 0xff
					poisoned++
				}
			}
			s.Inject(m.Index, k, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(cp)}})
		}
		s.Step()
	}
	if poisoned == 0 {
		t.Fatal("M poisoned nothing")
	}
	ok := s.Run(2000, func() bool {
		for _, i := range honest {
			if s.Peers[i].Store.Head(w.ID) != w.Store.Head(w.ID) {
				return false
			}
		}
		return s.Converged(honest)
	})
	checkHealthy(t, s, honest)
	if !ok {
		for _, i := range honest {
			t.Logf("peer %d: W at %d of %d, stats %+v", i, s.Peers[i].Store.Head(w.ID).Seq, w.Store.Head(w.ID).Seq, s.Stats(i))
		}
		t.Fatalf("after %d ticks: not converged", s.Now)
	}
	carriers, withheld := 0, 0
	for _, i := range honest {
		es, err := s.Peers[i].Store.Entries(w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := feed.VerifyChain(s.cfg.Network, feed.Head{}, es); err != nil {
			t.Errorf("peer %d stores an unauthenticated copy of W: %v", i, err)
		}
		if feed.VerifyChainFull(s.cfg.Network, feed.Head{}, es) != nil {
			carriers++
		}
		st := s.Stats(i)
		withheld += st.Withheld
		if st.Unsigned != 0 {
			t.Errorf("peer %d received %d unsigned entries: no sender here ends a run at an unsigned entry", i, st.Unsigned)
		}
	}
	if carriers == 0 {
		t.Errorf("no honest peer holds altered signature bytes: the test exercises nothing")
	}
	t.Logf("ticks %d, %d entries poisoned by M, %d honest peers carry altered bytes, %d pushes withheld", s.Now, poisoned, carriers, withheld)
}
