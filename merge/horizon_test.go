package merge_test

import (
	"math/rand/v2"
	"testing"
	"testing/quick"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/merge"
)

// A horizon changes when the state is known, never what it is: with random
// horizons set between random batches, the state is at every moment the
// fold of a prefix of the order (everything up to the horizon), and once the
// horizon is lifted the view equals the naive fold.
func TestQuickHorizonNeverChangesTheResult(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 9))
		w := randomWorld(t, rng, 0.2)
		writers := w.ids
		if rng.IntN(3) == 0 {
			writers = nil
		}
		want := naive(w.all, writers)
		v := newView(t, writers, 1+rng.IntN(8), 0)
		es := shuffled(rng, w.all, len(w.all)/4)
		for len(es) > 0 {
			n := 1 + rng.IntN(min(len(es), 8))
			v.Add(es[:n]...)
			es = es[n:]
			h := merge.NoHorizon
			if rng.IntN(4) != 0 {
				h = uint64(rng.IntN(120))
			}
			v.SetHorizon(h)
			// Folding stops at the first entry above the horizon. (Entries
			// before it may be above it too: a lower horizon does not
			// unfold what a higher one folded.)
			folded := v.Folded()
			for p, e := range v.Order() {
				if p == folded && e.Clock <= h {
					t.Fatalf("horizon %d: folding stopped at %d, before an entry with clock %d", h, p, e.Clock)
				}
			}
			if err := v.Check(); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(5) == 0 {
				v.FoldAll()
				if v.Folded() != v.Len() {
					t.Fatalf("FoldAll folded %d of %d", v.Folded(), v.Len())
				}
			}
		}
		v.SetHorizon(merge.NoHorizon)
		sameSummary(t, "with horizons vs naive", summarize(v), want)
		return true
	}
	if err := quick.Check(f, quickCfg(200)); err != nil {
		t.Fatal(err)
	}
}

// The horizon's purpose: three feeds arriving at different speeds (as in a
// bulk sync) cost a replay per late entry without it, and none with a
// horizon at the slowest lagging feed's tip clock.
func TestHorizonAvoidsReplays(t *testing.T) {
	w := newWorld(t, 3)
	const per = 300
	for i := range per {
		for f := range 3 {
			w.append(f, u64(uint64(i)))
		}
	}
	byFeed := make([][]feed.Entry, 3)
	for _, e := range w.all {
		for f := range 3 {
			if e.Author == w.authorOf(f) {
				byFeed[f] = append(byFeed[f], e)
			}
		}
	}
	run := func(horizon bool) (replayed int, v *merge.View[hstate, uint64]) {
		v = newView(t, nil, 64, 0)
		if horizon {
			v.SetHorizon(0) // every feed is behind: nothing is known yet
		}
		// Feed f delivers (f+1) entries per round: feed 2 runs ahead.
		pos := make([]int, 3)
		for pos[0] < per {
			for f := range 3 {
				n := min(f+1, per-pos[f])
				replayed += v.Add(byFeed[f][pos[f] : pos[f]+n]...).Replayed
				pos[f] += n
			}
			if horizon {
				h := merge.NoHorizon
				for f := range 3 {
					if pos[f] < per {
						h = min(h, byFeed[f][pos[f]-1].Clock)
					}
				}
				replayed += v.SetHorizon(h).Replayed
			}
		}
		replayed += v.SetHorizon(merge.NoHorizon).Replayed
		return replayed, v
	}
	without, v1 := run(false)
	with, v2 := run(true)
	if v1.State() != v2.State() || v1.Len() != 3*per || v2.Folded() != 3*per {
		t.Fatalf("states differ or incomplete: %v (%d) vs %v (%d)", v1.State(), v1.Len(), v2.State(), v2.Folded())
	}
	if with != 3*per {
		t.Errorf("with a horizon: %d reducer calls for %d entries, want exactly one each", with, 3*per)
	}
	if without < 3*with {
		t.Errorf("without a horizon: %d reducer calls, expected at least 3x the %d with one", without, with)
	}
	t.Logf("reducer calls for %d entries: %d without a horizon, %d with", 3*per, without, with)
}
