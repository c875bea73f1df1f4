package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
)

// TestHostile runs honest peers with a hostile author that forks its own
// feed (two peers sharing its key), forges entries of others, replays
// another network's entries, lies about heads and floods; and an outsider of
// another network. Nothing forged is stored by an honest peer, the fork proof
// reaches every honest peer, and the honest peers converge.
func TestHostile(t *testing.T) {
	for _, seed := range []uint64{99, 1, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runHostile(t, seed) })
	}
}

func runHostile(t *testing.T, hostileSeed uint64) {
	const n = 40
	s := New(Config{Seed: hostileSeed, MaxLatency: 2, Loss: 0.01, Limits: replicate.Limits{Window: 64}})
	s.AddPeers(n)
	honest := indices(n)
	for _, i := range honest {
		s.Append(i, 2, 100)
	}
	s.Mesh(honest, 4)

	// The hostile author: two peers with one key, sharing seq 1..2, then
	// writing different entries 3..5: a fork.
	hk := s.KeyFor(1000)
	h := s.AddPeer(hk, s.cfg.Network).Index
	h2 := s.AddPeer(hk, s.cfg.Network).Index
	common := s.Append(h, 2, 100)
	if err := s.Peers[h2].Store.Append(common...); err != nil {
		t.Fatal(err)
	}
	s.Peers[h2].Hub.Notify(common...)
	s.Append(h, 3, 100)
	s.Append(h2, 3, 100)
	for k := range 6 {
		s.Connect(h, k)
		s.Connect(h2, n-1-k)
	}

	// An outsider of another network with entries of its own.
	other := identity.NetworkFromName("elsewhere")
	o := s.AddPeer(s.KeyFor(2000), other).Index
	s.Append(o, 3, 100)
	outsiderEntries, _ := s.Peers[o].Store.Entries(s.Peers[o].ID)
	for _, k := range []int{10, 20, 30} {
		s.Connect(o, k)
	}

	rng := s.Rand()
	victim := s.Peers[5]
	forgeKey := s.KeyFor(3000)
	for tick := 0; tick < 150; tick++ {
		if tick%5 == 0 {
			s.Append(rng.IntN(n), 1, 100)
		}
		for k := range 6 {
			ss := s.Session(h, k)
			if ss == nil || ss.Version() == 0 {
				continue
			}
			switch rng.IntN(6) {
			case 0: // forge: an entry of the victim's feed signed by another key
				hd := s.Peers[h].Store.Head(victim.ID)
				e, err := feed.Next(victim.ID, hd, feed.Draft{Content: []byte("forged")})
				if err == nil {
					e.Sig = forgeKey.Sign(feed.SignaturePurpose, s.cfg.Network, func() []byte { id := e.ID(); return id[:] }())
					s.Inject(h, k, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun([]feed.Entry{e})}})
				}
			case 1: // alter a real entry's content, keep its signature
				if es, _ := s.Peers[h].Store.Entries(victim.ID); len(es) > 0 {
					e := es[len(es)-1]
					e.Content = []byte("altered")
					s.Inject(h, k, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun([]feed.Entry{e})}})
				}
			case 2: // replay another network's entries
				s.Inject(h, k, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(outsiderEntries)}})
			case 3: // lie about heads
				var notes []replicate.Note
				for _, j := range []int{1, 2, 3} {
					notes = append(notes, replicate.Note{Author: s.Peers[j].ID, Seq: 1 << 20, ID: feed.ID{1}})
				}
				sortNotes(notes)
				s.Inject(h, k, &replicate.Heads{Notes: notes})
			case 4: // flood: more entries than the window
				es, _ := s.Peers[h].Store.Entries(s.Peers[h].ID)
				var flood []replicate.Run
				for len(flood)*len(es) <= 64 {
					flood = append(flood, replicate.NewRun(es))
				}
				s.Inject(h, k, &replicate.Entries{Runs: flood})
			}
		}
		s.Step()
	}
	for k := range 6 {
		s.Disconnect(h, k)
		s.Disconnect(h2, n-1-k)
	}
	ok := s.Run(1000, func() bool {
		for _, i := range honest {
			if _, ok := s.Peers[i].Store.Fork(hk.ID()); !ok {
				return false
			}
		}
		return s.ConvergedModuloForks(honest)
	})
	checkHealthy(t, s, honest)
	if !ok {
		missing := 0
		for _, i := range honest {
			if _, ok := s.Peers[i].Store.Fork(hk.ID()); !ok {
				missing++
			}
		}
		ref := s.Peers[0].Store
		for _, i := range honest {
			st := s.Peers[i].Store
			for _, a := range ref.Authors() {
				if a != hk.ID() && st.Head(a) != ref.Head(a) {
					t.Logf("peer %d: feed %s at %d, peer 0 at %d", i, a.Short(), st.Head(a).Seq, ref.Head(a).Seq)
				}
			}
			p, _ := st.Fork(hk.ID())
			t.Logf("peer %d: hostile feed at %d, fork seq %d #%s/#%s", i, st.Head(hk.ID()).Seq, p.Seq(), p.A.ID().Short(), p.B.ID().Short())
		}
		t.Fatalf("after %d ticks: converged %v, %d honest peers lack the fork proof", s.Now, s.ConvergedModuloForks(honest), missing)
	}
	for _, i := range honest {
		st := s.Peers[i].Store
		for _, a := range st.Authors() {
			es, err := st.Entries(a)
			if err != nil {
				t.Fatal(err)
			}
			if err := feed.VerifyChainFull(s.cfg.Network, feed.Head{}, es); err != nil {
				t.Errorf("peer %d stores a forged entry of %s: %v", i, a.Short(), err)
			}
			for _, e := range es {
				if string(e.Content) == "forged" || string(e.Content) == "altered" {
					t.Errorf("peer %d stores %s", i, e.String())
				}
			}
		}
		if st.Head(s.Peers[o].ID).Seq != 0 {
			t.Errorf("peer %d stores the outsider's feed", i)
		}
	}
	// Why hostile sessions were dropped: every error names the peer, the
	// message and the fault.
	kinds := map[string]int{}
	for _, i := range honest {
		for _, e := range s.Peers[i].Errors {
			var pe *replicate.PeerError
			if !errors.As(e.Err, &pe) {
				t.Errorf("peer %d: untyped error %v", i, e.Err)
				continue
			}
			for _, k := range []error{replicate.ErrInvalid, replicate.ErrLimit, replicate.ErrWrongNetwork} {
				if errors.Is(e.Err, k) {
					kinds[k.Error()]++
				}
			}
			if e.Remote == o {
				msg := e.Err.Error()
				if !errors.Is(e.Err, replicate.ErrWrongNetwork) || !strings.Contains(msg, other.Short()) || !strings.Contains(msg, s.cfg.Network.Short()) {
					t.Errorf("outsider refused with %v", e.Err)
				}
			}
		}
	}
	for _, k := range []error{replicate.ErrInvalid, replicate.ErrLimit, replicate.ErrWrongNetwork} {
		if kinds[k.Error()] == 0 {
			t.Errorf("no honest peer dropped anyone for %v", k)
		}
	}
	t.Logf("ticks %d, drops %v", s.Now, kinds)
	if testing.Verbose() {
		seen := map[int]bool{}
		for _, i := range honest {
			for _, e := range s.Peers[i].Errors {
				if c := replicate.CodeOf(e.Err); !seen[int(c)] {
					seen[int(c)] = true
					t.Logf("peer %d dropped %d: %v", i, e.Remote, e.Err)
				}
			}
		}
	}
}

func sortNotes(ns []replicate.Note) {
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if string(ns[j].Author[:]) < string(ns[i].Author[:]) {
				ns[i], ns[j] = ns[j], ns[i]
			}
		}
	}
}
