package merge_test

// Property tests. Each runs testing/quick with a fixed seed, so a failure
// reproduces exactly; the generated case is itself driven by the uint64
// seed quick hands in.

import (
	mrand "math/rand"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

func quickCfg(n int) *quick.Config {
	if testing.Short() {
		n /= 4
	}
	return &quick.Config{MaxCount: n, Rand: mrand.New(mrand.NewSource(20261123))}
}

// randomWorld builds 2–4 writers with up to 80 entries and random
// references; ackBias is the chance that an entry references every other
// feed's head (which is what makes things final).
func randomWorld(t testing.TB, rng *rand.Rand, ackBias float64) *world {
	w := newWorld(t, 2+rng.IntN(3))
	n := 10 + rng.IntN(70)
	for range n {
		f := rng.IntN(len(w.ids))
		var refs []*feed.Entry
		if rng.Float64() < ackBias {
			refs = w.headRefs(f)
		} else {
			refs = w.randomRefs(rng, 3)
		}
		w.append(f, u64(uint64(rng.IntN(200))), refs...)
	}
	return w
}

// The incremental view equals the naive fold, for every arrival order,
// batch size, duplicate and snapshot policy.
func TestQuickIncrementalEqualsNaive(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := randomWorld(t, rng, 0.2)
		writers := w.ids
		if rng.IntN(4) == 0 {
			writers = nil // open mode
		} else if rng.IntN(3) == 0 {
			writers = w.ids[1:] // one author is not a writer
		}
		want := naive(w.all, writers)
		for _, pol := range [][2]int{{1, 1}, {3, 2}, {64, 0}} {
			v := newView(t, writers, pol[0], pol[1])
			deliver(rng, v, shuffled(rng, w.all, len(w.all)/3), nil)
			sameSummary(t, "incremental vs naive", summarize(v), want)
			if v.Pending() != 0 {
				t.Fatalf("%d entries still pending", v.Pending())
			}
			if err := v.Check(); err != nil {
				t.Fatal(err)
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg(200)); err != nil {
		t.Fatal(err)
	}
}

// Entries may arrive with gaps that are filled later: everything converges
// to the same order as soon as the gaps are filled.
func TestQuickGapsFilledLater(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 2))
		w := randomWorld(t, rng, 0.3)
		es := shuffled(rng, w.all, 0)
		cut := rng.IntN(len(es))
		held := es[:cut]
		v := newView(t, w.ids, 2, 0)
		deliver(rng, v, es[cut:], nil)
		deliver(rng, v, held, nil)
		sameSummary(t, "gaps", summarize(v), naive(w.all, w.ids))
		return true
	}
	if err := quick.Check(f, quickCfg(200)); err != nil {
		t.Fatal(err)
	}
}

// A final entry's position never changes, and the frontier never moves
// back, whatever arrives later.
func TestQuickFinalNeverMoves(t *testing.T) {
	advanced := 0
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 3))
		w := randomWorld(t, rng, 0.6)
		v := newView(t, w.ids, 2, 2)
		var final []feed.ID
		finals := 0
		deliver(rng, v, shuffled(rng, w.all, 10), func(r merge.Result) {
			fr := v.Final()
			if fr.Count < uint64(len(final)) {
				t.Fatalf("frontier moved back from %d to %d", len(final), fr.Count)
			}
			order := summarize(v).Order
			if !slices.Equal(order[:len(final)], final) {
				t.Fatalf("final prefix changed")
			}
			final = slices.Clone(order[:fr.Count])
			if r.FinalReverted {
				t.Fatal("FinalReverted without a fork")
			}
			if r.FinalAdvanced {
				finals++
			}
		})
		advanced += finals
		return true
	}
	if err := quick.Check(f, quickCfg(200)); err != nil {
		t.Fatal(err)
	}
	if advanced == 0 {
		t.Fatal("the frontier never advanced: the property was vacuous")
	}
	t.Logf("frontier advanced %d times", advanced)
}

// Squashing whenever possible gives the same state and order as never
// squashing, and every squashed ID has a proof against its root.
func TestQuickSquashedEqualsUnsquashed(t *testing.T) {
	squashes := 0
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 4))
		w := randomWorld(t, rng, 0.6)
		es := shuffled(rng, w.all, 10)
		plain := newView(t, w.ids, 3, 0)
		deliver(rng, plain, es, nil)
		sq := newView(t, w.ids, 3, 0)
		var squashed []feed.ID
		var prev [32]byte
		deliver(rng, sq, es, func(merge.Result) {
			if rng.IntN(2) == 0 {
				return
			}
			s, err := sq.Squash()
			if err != nil {
				return
			}
			if s.Prev != prev || s.Start != uint64(len(squashed)) {
				t.Fatalf("squash chain: prev %x start %d", s.Prev[:4], s.Start)
			}
			prev = s.Root
			for _, i := range []int{0, len(s.IDs) / 2, len(s.IDs) - 1} {
				p, err := s.Prove(s.IDs[i])
				if err != nil {
					t.Fatal(err)
				}
				if err := merge.VerifyInclusion(s.Root, s.IDs[i], p); err != nil {
					t.Fatalf("proof of %d/%d: %v", i, len(s.IDs), err)
				}
			}
			squashed = append(squashed, s.IDs...)
			squashes++
		})
		a, b := summarize(sq), summarize(plain)
		if !slices.Equal(append(slices.Clone(squashed), a.Order...), b.Order) {
			t.Fatalf("squashed order differs")
		}
		if a.State != b.State {
			t.Fatalf("squashed state %+v, unsquashed %+v", a.State, b.State)
		}
		if sq.Final() != plain.Final() {
			t.Fatalf("frontier %+v vs %+v", sq.Final(), plain.Final())
		}
		if err := sq.Check(); err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err := quick.Check(f, quickCfg(200)); err != nil {
		t.Fatal(err)
	}
	if squashes == 0 {
		t.Fatal("nothing was ever squashed: the property was vacuous")
	}
	t.Logf("%d squashes", squashes)
}

// Final equals a brute-force reading of the rule.
func TestQuickFinalBruteForce(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 5))
		authors := 1 + rng.IntN(4)
		writers := rng.IntN(4)
		var order []merge.AuthorSeq
		next := make([]uint64, authors)
		for range rng.IntN(30) {
			a := rng.IntN(authors)
			next[a]++
			order = append(order, merge.AuthorSeq{Author: a, Seq: next[a]})
		}
		acks := make([][]uint64, writers)
		for w := range acks {
			acks[w] = make([]uint64, rng.IntN(authors+1))
			for a := range acks[w] {
				acks[w][a] = uint64(rng.IntN(int(next[a]) + 2))
			}
		}
		brute := 0
		if writers > 0 {
		scan:
			for k := 1; k <= len(order); k++ {
				for _, e := range order[:k] {
					for _, v := range acks {
						if e.Author >= len(v) || v[e.Author] < e.Seq {
							break scan
						}
					}
				}
				brute = k
			}
		}
		if got := merge.Final(order, acks); got != brute {
			t.Fatalf("Final = %d, brute force %d (order %v acks %v)", got, brute, order, acks)
		}
		return true
	}
	if err := quick.Check(f, quickCfg(2000)); err != nil {
		t.Fatal(err)
	}
}

// Forks at random points give identical results everywhere, equal to the
// naive reading of the fork rule, and keep what other writers had
// acknowledged.
func TestQuickForks(t *testing.T) {
	forks, excluded, kept, reverted := 0, 0, 0, 0
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 6))
		w := newWorld(t, 3)
		n := 20 + rng.IntN(40)
		forkAt := 5 + rng.IntN(n/2)
		branch := -1
		for i := range n {
			if i == forkAt && len(w.feeds[0]) > 0 {
				branch = w.fork(0, 1+uint64(rng.IntN(len(w.feeds[0]))))
			}
			f := rng.IntN(3)
			if branch >= 0 && rng.IntN(4) == 0 {
				f = branch
			}
			refs := w.randomRefs(rng, 2)
			if rng.IntN(2) == 0 {
				refs = w.headRefs(f)
			}
			w.append(f, u64(uint64(rng.IntN(200))), refs...)
		}
		want := naiveForks(w.all, w.ids)
		forkSeq := map[identity.ID]uint64{}
		if branch >= 0 && len(w.feeds[branch]) > 0 {
			v := newView(t, w.ids, 1, 0)
			v.Add(w.all...)
			forkSeq = v.Forked()
		}
		// Apart from the forked writer's own entries from its fork seq on,
		// final history never changes.
		honest := func(ids []feed.ID) []feed.ID {
			var out []feed.ID
			for _, id := range ids {
				e := byID(w.all, id)
				if fs, ok := forkSeq[e.Author]; ok && e.Seq >= fs {
					continue
				}
				out = append(out, id)
			}
			return out
		}
		if branch >= 0 && len(w.feeds[branch]) > 0 {
			forks++
			if len(want.Order) < len(w.all) {
				excluded++
			}
			for _, e := range w.feeds[branch] {
				if slices.Contains(want.Order, e.ID()) {
					kept++
					break
				}
			}
		}
		var first summary
		for k := range 3 {
			v := newView(t, w.ids, 1+k*3, 0)
			var final []feed.ID
			deliver(rng, v, shuffled(rng, w.all, 5), func(r merge.Result) {
				order := summarize(v).Order
				old, now := honest(final), honest(order)
				if len(now) < len(old) || !slices.Equal(now[:len(old)], old) {
					t.Fatalf("final history of honest writers changed")
				}
				if r.FinalReverted {
					reverted++
				}
				final = slices.Clone(order[:v.Final().Count])
			})
			got := summarize(v)
			sameSummary(t, "forks vs naive", got, want)
			if k == 0 {
				first = got
			}
			if err := v.Check(); err != nil {
				t.Fatal(err)
			}
		}
		_ = first
		return true
	}
	if err := quick.Check(f, quickCfg(150)); err != nil {
		t.Fatal(err)
	}
	if forks == 0 || excluded == 0 || kept == 0 {
		t.Fatalf("vacuous: %d forks, %d with exclusions, %d with a protected branch entry", forks, excluded, kept)
	}
	t.Logf("%d forks, %d with exclusions, %d with a protected branch entry; %d deliveries reverted an equivocated final entry", forks, excluded, kept, reverted)
}

// naiveForks is the fork rule read literally, with causal pasts computed by
// walking references: an author with two entries at one seq is forked from
// the lowest such seq; its entries from there on count only if every other
// writer (not forked itself) has them in the causal past of its first entry
// that sorts after them, and there is at least one such writer.
func naiveForks(es []feed.Entry, writers []identity.ID) summary {
	byID := map[feed.ID]feed.Entry{}
	for _, e := range es {
		byID[e.ID()] = e
	}
	forkSeq := map[identity.ID]uint64{}
	atSeq := map[[2]any]feed.ID{}
	for _, e := range byID {
		k := [2]any{e.Author, e.Seq}
		if id, ok := atSeq[k]; ok && id != e.ID() {
			if fs, ok := forkSeq[e.Author]; !ok || e.Seq < fs {
				forkSeq[e.Author] = e.Seq
			}
		}
		atSeq[k] = e.ID()
	}
	past := func(from feed.ID) map[feed.ID]bool {
		seen := map[feed.ID]bool{}
		stack := []feed.ID{from}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[id] {
				continue
			}
			seen[id] = true
			e := byID[id]
			if e.Seq > 1 {
				stack = append(stack, e.Prev)
			}
			stack = append(stack, e.Refs...)
		}
		return seen
	}
	// Each non-forked writer's feed, in seq order.
	feeds := map[identity.ID][]feed.Entry{}
	for _, e := range byID {
		if _, forked := forkSeq[e.Author]; !forked {
			feeds[e.Author] = append(feeds[e.Author], e)
		}
	}
	for _, f := range feeds {
		slices.SortFunc(f, func(a, b feed.Entry) int { return int(a.Seq) - int(b.Seq) })
	}
	var kept []feed.Entry
	for _, e := range es {
		fs, forked := forkSeq[e.Author]
		if !forked || e.Seq < fs {
			kept = append(kept, e)
			continue
		}
		others := 0
		ok := true
		for _, w := range writers {
			if w == e.Author {
				continue
			}
			if _, f := forkSeq[w]; f {
				continue
			}
			others++
			// w's first entry that sorts after e must have e in its past.
			var first *feed.Entry
			for i := range feeds[w] {
				if merge.KeyOf(&feeds[w][i]).Compare(merge.KeyOf(&e)) > 0 {
					first = &feeds[w][i]
					break
				}
			}
			if first == nil || !past(first.ID())[e.ID()] {
				ok = false
			}
		}
		if ok && others > 0 {
			kept = append(kept, e)
		}
	}
	return naive(kept, writers)
}

func byID(es []feed.Entry, id feed.ID) feed.Entry {
	for _, e := range es {
		if e.ID() == id {
			return e
		}
	}
	panic("unknown ID")
}

// Membership entries at random: every peer agrees, the view equals a
// literal reading of merge-v1.md section 4, and the final prefix never
// moves.
func TestQuickMembership(t *testing.T) {
	changes, cuts := 0, 0
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 7))
		w := newWorld(t, 4)
		w0 := w.ids[:2+rng.IntN(2)]
		for range 20 + rng.IntN(40) {
			f := rng.IntN(4)
			content := u64(uint64(rng.IntN(200)))
			if rng.IntN(6) == 0 {
				target := w.ids[rng.IntN(4)]
				if rng.IntN(2) == 0 {
					content = merge.AddWriterContent(target)
				} else {
					content = merge.RemoveWriterContent(target)
				}
			}
			refs := w.randomRefs(rng, 2)
			if rng.IntN(2) == 0 {
				refs = w.headRefs(f)
			}
			w.append(f, content, refs...)
		}
		want := naiveMembership(w.all, w0)
		for k := range 3 {
			v := newView(t, w0, 1+2*k, 0)
			var final []feed.ID
			deliver(rng, v, shuffled(rng, w.all, 5), func(r merge.Result) {
				order := summarize(v).Order
				if !slices.Equal(order[:len(final)], final) || r.FinalReverted {
					t.Fatalf("final prefix changed")
				}
				final = slices.Clone(order[:v.Final().Count])
			})
			sameSummary(t, "membership vs naive", summarize(v), want)
			if k == 0 && !slices.Equal(v.Writers(), sortedIDs(w0)) {
				changes++
			}
			if k == 0 && v.Known() > len(want.Order) {
				cuts++
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg(150)); err != nil {
		t.Fatal(err)
	}
	if changes == 0 || cuts == 0 {
		t.Fatalf("vacuous: %d runs changed the writer set, %d left entries out", changes, cuts)
	}
	t.Logf("%d runs changed the writer set, %d left entries out", changes, cuts)
}

func sortedIDs(ids []identity.ID) []identity.ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b identity.ID) int { return feed.ID(a).Compare(feed.ID(b)) })
	return out
}

// naiveMembership reads section 4 literally (no forks): W(e) is W0 changed
// by the effective membership entries in e's causal past, in key order; a
// membership entry is effective if its author is in its W; e counts if its
// author is in W(e) and no effective removal of its author is concurrent
// with it.
func naiveMembership(es []feed.Entry, w0 []identity.ID) summary {
	byID := map[feed.ID]feed.Entry{}
	for _, e := range es {
		byID[e.ID()] = e
	}
	memo := map[feed.ID]map[feed.ID]bool{}
	var past func(id feed.ID) map[feed.ID]bool
	past = func(id feed.ID) map[feed.ID]bool {
		if p, ok := memo[id]; ok {
			return p
		}
		p := map[feed.ID]bool{id: true}
		e := byID[id]
		deps := slices.Clone(e.Refs)
		if e.Seq > 1 {
			deps = append(deps, e.Prev)
		}
		for _, d := range deps {
			for x := range past(d) {
				p[x] = true
			}
		}
		memo[id] = p
		return p
	}
	var all []feed.Entry
	for _, e := range byID {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b feed.Entry) int { return merge.KeyOf(&a).Compare(merge.KeyOf(&b)) })
	type op struct {
		e      feed.Entry
		add    bool
		target identity.ID
	}
	var effective []op
	writersIn := func(e feed.Entry) map[identity.ID]bool {
		ws := map[identity.ID]bool{}
		for _, w := range w0 {
			ws[w] = true
		}
		p := past(e.ID())
		for _, m := range effective {
			if m.e.ID() != e.ID() && p[m.e.ID()] {
				ws[m.target] = m.add
			}
		}
		return ws
	}
	// Decide in key order; a removal silences its target's concurrent
	// membership entries, even earlier ones; repeat until nothing new is
	// silenced.
	concurrent := func(a, b feed.Entry) bool { return !past(a.ID())[b.ID()] && !past(b.ID())[a.ID()] }
	silenced := map[feed.ID]bool{}
	for {
		effective = nil
		for _, e := range all { // key order: an op's past holds only earlier keys
			o, target, err := merge.ParseMember(e.Content)
			if err != nil || silenced[e.ID()] || !writersIn(e)[e.Author] {
				continue
			}
			killed := false
			for _, r := range effective {
				if !r.add && r.target == e.Author && concurrent(r.e, e) {
					killed = true
				}
			}
			if !killed {
				effective = append(effective, op{e: e, add: o == merge.OpAdd, target: target})
			}
		}
		grew := false
		for _, r := range effective {
			for _, m := range effective {
				if !r.add && m.e.Author == r.target && concurrent(r.e, m.e) && !silenced[m.e.ID()] {
					silenced[m.e.ID()], grew = true, true
				}
			}
		}
		if !grew {
			break
		}
	}
	var kept []feed.Entry
	for _, e := range all {
		if !writersIn(e)[e.Author] {
			continue
		}
		cut := false
		for _, m := range effective {
			if !m.add && m.target == e.Author && m.e.ID() != e.ID() && !past(m.e.ID())[e.ID()] && !past(e.ID())[m.e.ID()] {
				cut = true
			}
		}
		if !cut {
			kept = append(kept, e)
		}
	}
	return naiveFold(kept, false)
}

// HLC clocks with skewed writers: whatever the peers' own clocks when
// entries arrive, once their time has caught up every peer has the same
// order (the naive one), and no entry ever entered the order early.
func TestQuickHLC(t *testing.T) {
	waited := 0
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 8))
		w := newWorld(t, 3)
		w.kind = feed.HLC
		const t0 = 1_700_000_000_000
		skew := []uint64{0, uint64(rng.IntN(120_000)), uint64(rng.IntN(5_000))}
		now := uint64(t0)
		for range 20 + rng.IntN(30) {
			now += uint64(rng.IntN(2_000))
			f := rng.IntN(3)
			w.nowMs = now + skew[f]
			refs := w.randomRefs(rng, 2)
			if rng.IntN(2) == 0 {
				refs = w.headRefs(f)
			}
			w.append(f, u64(uint64(rng.IntN(200))), refs...)
		}
		want := naive(w.all, w.ids)
		for k := range 3 {
			v, err := merge.New(merge.Config[hstate, uint64]{Reducer: hreduce, Decode: hdecode, Writers: w.ids,
				Clock: merge.ClockPolicy{Kind: feed.HLC, MaxSkew: 30_000}, Snapshots: merge.SnapshotPolicy{Spacing: 1 + k}})
			if err != nil {
				t.Fatal(err)
			}
			peer := uint64(t0)
			v.SetNow(peer)
			deliver(rng, v, shuffled(rng, w.all, 3), func(merge.Result) {
				for _, p := range v.Order() {
					if p.Clock>>16 > peer+30_000 {
						t.Fatalf("entry at wall %d placed at peer time %d", p.Clock>>16, peer)
					}
				}
				peer += uint64(rng.IntN(3_000))
				if r := v.SetNow(peer); r.Placed > 0 {
					waited++
				}
			})
			v.SetNow(now + 200_000)
			sameSummary(t, "hlc", summarize(v), want)
		}
		return true
	}
	if err := quick.Check(f, quickCfg(100)); err != nil {
		t.Fatal(err)
	}
	if waited == 0 {
		t.Fatal("no entry ever waited for the clock: the property was vacuous")
	}
	t.Logf("%d SetNow calls released waiting entries", waited)
}
