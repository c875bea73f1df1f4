package replicate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
)

// poisonedFeed returns author k's feed 1..n and a copy whose signature bytes
// are altered everywhere but at the seqs in signed: the IDs (which do not
// cover signatures) and so the hash links are unchanged. That is what a
// hostile relay can hand an honest peer inside a run whose newest entry is
// genuinely signed.
func poisonedFeed(t *testing.T, k *identity.Key, n int, signed ...uint64) (honest, poisoned []feed.Entry) {
	t.Helper()
	var hd feed.Head
	for range n {
		e, err := feed.Create(k, net1, hd, feed.Draft{Content: []byte("payload")})
		if err != nil {
			t.Fatal(err)
		}
		honest = append(honest, e)
		hd = e.Head()
	}
	keep := map[uint64]bool{}
	for _, s := range signed {
		keep[s] = true
	}
	for _, e := range honest {
		c := e
		c.Refs, c.Content = append([]feed.ID(nil), e.Refs...), append([]byte(nil), e.Content...)
		if !keep[c.Seq] {
			c.Sig[0] ^= 0xff
			c.Sig[40] ^= 0x55
		}
		poisoned = append(poisoned, c)
	}
	if err := feed.VerifyChain(net1, feed.Head{}, poisoned); err != nil && keep[uint64(n)] {
		t.Fatalf("poisoned copy should pass the newest-signature check: %v", err)
	}
	return honest, poisoned
}

// checkAuthenticated requires that p's copy of a's feed chains and ends at
// a valid signature: nothing unauthenticated was released.
func checkAuthenticated(t *testing.T, p *peer, a identity.ID) {
	t.Helper()
	es, err := p.store.Entries(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.VerifyChain(net1, feed.Head{}, es); err != nil {
		t.Errorf("stored copy of %s is not authenticated: %v", a.Short(), err)
	}
}

// TestSignaturePoisoning: an honest relay A holds a copy of X's feed whose
// intermediate signatures a hostile relay altered. A must never send a run
// ending at such an entry (B would drop A as hostile); B must not drop A;
// and B accepts only runs that end at a valid signature.
func TestSignaturePoisoning(t *testing.T) {
	kx := key(9)
	for _, tc := range []struct {
		name     string
		window   uint32
		signed   []uint64 // seqs whose signature A holds intact (10 is the head)
		bHas     int      // entries B holds already
		wantB    uint64   // B's head of X afterwards
		withheld bool     // A withholds a run it cannot end at a signed entry
	}{
		{"one run", 16, []uint64{10}, 0, 10, false},
		{"one run, B lacks the tail", 16, []uint64{10}, 5, 10, false},
		// A cuts runs at 4 and 8; with one entry of window left after a cut it
		// postpones (withholds) the next push until acknowledged.
		{"window splits, cut at signed entries", 5, []uint64{4, 8, 10}, 0, 10, true},
		{"window splits, B lacks 1..5 only", 5, []uint64{3, 10}, 0, 3, true},
		{"window splits, nothing signed in reach", 4, []uint64{10}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			honest, poisoned := poisonedFeed(t, kx, 10, tc.signed...)
			ka, kb := key(1), key(2)
			lim := func(c *replicate.Config) { c.Limits.Window = tc.window }
			a := newPeer(t, ka, net1, kb.ID(), binding, lim)
			b := newPeer(t, kb, net1, ka.ID(), binding, lim)
			if err := a.store.Append(poisoned...); err != nil {
				t.Fatal(err)
			}
			a.s.Notify(poisoned...)
			if tc.bHas > 0 {
				if err := b.store.Append(honest[:tc.bHas]...); err != nil {
					t.Fatal(err)
				}
				b.s.Notify(honest[:tc.bHas]...)
			}
			pump(t, a, b, 60)
			if a.err != nil || b.err != nil {
				t.Fatalf("honest peers dropped each other: a: %v; b: %v", a.err, b.err)
			}
			if got := b.store.Head(kx.ID()).Seq; got != tc.wantB {
				t.Errorf("B holds X up to %d, want %d", got, tc.wantB)
			}
			checkAuthenticated(t, b, kx.ID())
			if got := a.s.Stats().Withheld > 0; got != tc.withheld {
				t.Errorf("A withheld a run: %v, want %v (stats %+v)", got, tc.withheld, a.s.Stats())
			}
			if st := b.s.Stats(); st.Unsigned != 0 {
				t.Errorf("B received unsigned runs from an honest relay: %+v", st)
			}
		})
	}
}

// TestSignaturePoisoningOtherSource: B syncs from a relay A holding a
// poisoned copy it cannot relay within B's window, and from C holding the
// honest copy: B gets the whole feed, drops nobody, and what it stores is
// authenticated.
func TestSignaturePoisoningOtherSource(t *testing.T) {
	kx, ka, kb, kc := key(9), key(1), key(2), key(3)
	honest, poisoned := poisonedFeed(t, kx, 10, 10)
	hub := replicate.NewHub()
	lim := func(c *replicate.Config) { c.Limits.Window = 4 }
	inHub := func(c *replicate.Config) { lim(c); c.Hub = hub }
	a := newPeer(t, ka, net1, kb.ID(), binding, lim)
	c := newPeer(t, kc, net1, kb.ID(), binding, lim)
	ba := newPeer(t, kb, net1, ka.ID(), binding, inHub) // B's session to A (opens first: default eager)
	bc := (&peer{key: kb, store: ba.store, acked: map[identity.ID]uint64{}}).open(t, net1, kc.ID(), binding, inHub)
	if err := a.store.Append(poisoned...); err != nil {
		t.Fatal(err)
	}
	a.s.Notify(poisoned...)
	if err := c.store.Append(honest...); err != nil {
		t.Fatal(err)
	}
	c.s.Notify(honest...)
	// One node loop: every session's Ready handled in turn, then a tick.
	for range 300 {
		for _, pair := range [][2]*peer{{a, ba}, {c, bc}} {
			x, y := pair[0], pair[1]
			mx, my := x.drain(t), y.drain(t)
			deliver(t, y, mx)
			deliver(t, x, my)
			x.s.Tick()
			y.s.Tick()
		}
		if ba.store.Head(kx.ID()).Seq == 10 {
			break
		}
	}
	for _, p := range []*peer{a, ba, c, bc} {
		if p.err != nil {
			t.Fatalf("an honest peer was dropped: %v", p.err)
		}
	}
	if got := ba.store.Head(kx.ID()); got != honest[9].Head() {
		t.Fatalf("B holds X up to %d, want 10; stats a %+v ba %+v c %+v bc %+v", got.Seq, a.s.Stats(), ba.s.Stats(), c.s.Stats(), bc.s.Stats())
	}
	checkAuthenticated(t, ba, kx.ID())
	if a.s.Stats().Withheld == 0 {
		t.Errorf("A sent runs it cannot end at a signed entry: %+v", a.s.Stats())
	}
}

// TestUnsignedRunPrefix: a sender (hostile, or of an older version) sends a
// run whose newest signature fails. The receiver keeps the prefix up to the
// newest signed entry without dropping it, and drops it only when no entry
// of the bounded walk back is signed.
func TestUnsignedRunPrefix(t *testing.T) {
	kx, ka, kb := key(9), key(1), key(2)
	for _, tc := range []struct {
		n       int
		signed  []uint64
		head    uint64 // B's head of X afterwards
		dropped bool
	}{
		{10, []uint64{7}, 7, false},
		{10, []uint64{1}, 1, false},
		{10, nil, 0, true},
		{40, []uint64{3}, 0, true}, // signed entry beyond the walk's 32 entries
		{40, []uint64{8}, 8, false},
	} {
		t.Run(fmt.Sprint(tc.n, tc.signed), func(t *testing.T) {
			_, poisoned := poisonedFeed(t, kx, tc.n, tc.signed...)
			a := newPeer(t, ka, net1, kb.ID(), binding, nil)
			b := newPeer(t, kb, net1, ka.ID(), binding, nil)
			pump(t, a, b, 3)
			err := b.s.Step(replicate.Message{From: ka.ID(), To: kb.ID(), Body: &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(poisoned)}}})
			b.drain(t)
			if got := err != nil; got != tc.dropped {
				t.Fatalf("dropped: %v (%v), want %v", got, err, tc.dropped)
			}
			if tc.dropped {
				if !errors.Is(err, replicate.ErrInvalid) || !strings.Contains(err.Error(), "bad signature") {
					t.Errorf("dropped with %v, want ErrInvalid, bad signature", err)
				}
				return
			}
			if got := b.store.Head(kx.ID()).Seq; got != tc.head {
				t.Errorf("B holds X up to %d, want %d", got, tc.head)
			}
			if st := b.s.Stats(); st.Unsigned != tc.n-int(tc.head) {
				t.Errorf("Unsigned %d, want %d", st.Unsigned, tc.n-int(tc.head))
			}
			checkAuthenticated(t, b, kx.ID())
		})
	}
}

// TestSignaturePoisoningKnownSigned: a relay A received a poisoned copy from
// a hostile M in runs 1..5, 6..10, 11..60 (only their heads signed). B's
// window (50) splits what A sends, and the last 32 entries of the first run
// A would send are all unsigned: A still ends its first push at seq 10 (it
// knows it signed from receipt; failing that, its bounded walk resumes past
// the bad verdicts it remembers) and never withholds the feed for good. B
// gets all 60 entries.
func TestSignaturePoisoningKnownSigned(t *testing.T) {
	kx, ka, kb, km := key(9), key(1), key(2), key(5)
	honest, poisoned := poisonedFeed(t, kx, 60, 5, 10, 60)
	hub := replicate.NewHub()
	inHub := func(c *replicate.Config) { c.Hub = hub }
	am := newPeer(t, ka, net1, km.ID(), binding, inHub)
	m := newPeer(t, km, net1, ka.ID(), binding, nil)
	pump(t, am, m, 3)
	for _, r := range [][2]int{{0, 5}, {5, 10}, {10, 60}} {
		err := am.s.Step(replicate.Message{From: km.ID(), To: ka.ID(), Body: &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(poisoned[r[0]:r[1]])}}})
		if err != nil {
			t.Fatalf("A refused M's run %d..%d: %v", r[0]+1, r[1], err)
		}
		am.drain(t)
	}
	if got := am.store.Head(kx.ID()); got != honest[59].Head() {
		t.Fatalf("A holds X up to %d", got.Seq)
	}
	ab := (&peer{key: ka, store: am.store, acked: map[identity.ID]uint64{}}).open(t, net1, kb.ID(), binding, inHub)
	b := newPeer(t, kb, net1, ka.ID(), binding, func(c *replicate.Config) { c.Limits.Window = 50 })
	var first *replicate.Entries
	for range 10 {
		ma, mb := ab.drain(t), b.drain(t)
		for _, raw := range ma {
			if m, err := replicate.DecodeMessage(raw); err == nil && first == nil {
				first, _ = m.Body.(*replicate.Entries)
			}
		}
		deliver(t, b, ma)
		deliver(t, ab, mb)
		ab.s.Tick()
		b.s.Tick()
	}
	if first == nil || first.Runs[0].First != 1 || first.Runs[0].Count != 10 {
		t.Fatalf("A's first push %v, want X:1..10", first)
	}
	pump(t, ab, b, 40)
	if ab.err != nil || b.err != nil {
		t.Fatalf("honest peers dropped each other: a: %v; b: %v", ab.err, b.err)
	}
	if got := b.store.Head(kx.ID()); got != honest[59].Head() {
		t.Fatalf("B holds X up to %d, want 60 (A stats %+v)", got.Seq, ab.s.Stats())
	}
	checkAuthenticated(t, b, kx.ID())
}

// BenchmarkBulkSyncNoCache measures a fresh peer catching up with one feed
// of 5000 entries with real signature verification (no SigCache): the
// sender's check that each run ends at a signed entry costs at most one
// verification per pushed message, not one per entry.
func BenchmarkBulkSyncNoCache(b *testing.B) {
	ka, kb := key(1), key(2)
	src := newPeer(b, ka, net1, kb.ID(), binding, nil)
	src.write(b, 5000)
	b.ResetTimer()
	for range b.N {
		a := (&peer{key: ka, store: src.store, acked: map[identity.ID]uint64{}}).open(b, net1, kb.ID(), binding, nil)
		c := newPeer(b, kb, net1, ka.ID(), binding, nil)
		pump(b, a, c, 40)
		if got := c.store.Head(ka.ID()).Seq; got != 5000 {
			b.Fatalf("synced %d of 5000", got)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/entry")
}
