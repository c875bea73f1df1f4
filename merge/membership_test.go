package merge_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/merge"
)

// A writer who never comes back stalls finality; removing it restores
// progress, and its entries concurrent with the removal never count.
func TestSilentWriterStallsUntilRemoved(t *testing.T) {
	w := newWorld(t, 3) // a, b, c
	a1 := w.append(0, u64(1))
	b1 := w.append(1, u64(2), &a1)
	c1 := w.append(2, u64(3), &a1, &b1)
	for i := range 10 { // a and b go on, acknowledging each other; c is silent
		f := i % 2
		w.append(f, u64(uint64(4+i)), w.headRefs(f)...)
	}
	v := newView(t, w.ids, 4, 0)
	v.Add(w.all...)
	stalled := v.Final()
	if stalled.Count != 3 {
		t.Fatalf("final %d entries, want 3 (a1 b1 c1: everything c has seen)", stalled.Count)
	}
	more := w.append(0, u64(50), w.headRefs(0)...)
	if r := v.Add(more); r.FinalAdvanced {
		t.Fatal("finality advanced without c")
	}

	// c wrote one more entry nobody has seen yet: concurrent with what
	// follows.
	c2 := w.append(2, u64(60), &c1)

	// a removes c; b acknowledges the removal.
	rm := w.append(0, merge.RemoveWriterContent(w.ids[2]), w.headRefs(0)[0])
	ack := w.append(1, u64(70), &rm)
	ack2 := w.append(0, u64(71), &ack)
	r := v.Add(rm, ack, ack2)
	if !r.FinalAdvanced || v.Final().Count <= stalled.Count {
		t.Fatalf("removal did not restore finality: %+v", v.Final())
	}
	if got := v.Writers(); len(got) != 2 || slices.Contains(got, w.ids[2]) {
		t.Fatalf("writers %v", got)
	}
	before := summarize(v)
	fr := v.Final()
	r = v.Add(c2)
	if r.Placed != 1 || r.Changed {
		t.Fatalf("c2 after the removal: %+v", r)
	}
	after := summarize(v)
	if !slices.Equal(before.Order, after.Order) || before.State != after.State || v.Final() != fr {
		t.Fatal("a removed writer's concurrent entry changed the order")
	}

	// Another peer that learned c2 before the removal agrees.
	v2 := newView(t, w.ids, 1, 0)
	rng := rand.New(rand.NewPCG(7, 7))
	deliver(rng, v2, shuffled(rng, w.all, 5), nil)
	sameSummary(t, "other arrival order", summarize(v2), after)
}

func TestAddWriter(t *testing.T) {
	w := newWorld(t, 3) // a, b initial; d joins
	a1 := w.append(0, u64(1))
	d1 := w.append(2, u64(2)) // before being added: never counts
	add := w.append(0, merge.AddWriterContent(w.ids[2]), &d1)
	d2 := w.append(2, u64(3), &add)
	b1 := w.append(1, u64(4), &d2)
	v := newView(t, w.ids[:2], 4, 0)
	r := v.Add(b1, d2, add, d1, a1)
	if r.Placed != 5 {
		t.Fatalf("placed %d", r.Placed)
	}
	got := summarize(v).Order
	want := []feed.ID{a1.ID(), add.ID(), d2.ID(), b1.ID()}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", shortIDs(got), shortIDs(want))
	}
	if ws := v.Writers(); len(ws) != 3 {
		t.Fatalf("writers %d", len(ws))
	}
	// d2 is acknowledged by b1 only, a has not seen it: not final yet; the
	// join itself is.
	if f := v.Final().Count; f != 2 {
		t.Fatalf("final %d, want 2 (a1 and the add)", f)
	}
}

func TestMembershipRefusals(t *testing.T) {
	w := newWorld(t, 2)
	bad := w.append(0, append([]byte(merge.MemberPrefix), 9, 9))
	v := newView(t, w.ids[:1], 4, 0)
	r := v.Add(bad)
	if len(r.Refused) != 1 || !errors.Is(r.Refused[0].Err, merge.ErrMembership) {
		t.Fatalf("malformed membership entry: %+v", r)
	}
	// A non-writer's membership entry is not in the order at all.
	add := w.append(1, merge.AddWriterContent(w.ids[1]))
	v.Add(add)
	if v.Len() != 1 || len(v.Writers()) != 1 {
		t.Fatalf("self-add by a non-writer took effect: len %d writers %d", v.Len(), len(v.Writers()))
	}
	// In open mode membership entries are refused.
	open := newView(t, nil, 4, 0)
	if r := open.Add(newWorld(t, 1).append(0, merge.AddWriterContent(w.ids[1]))); len(r.Refused) != 1 || !errors.Is(r.Refused[0].Err, merge.ErrMembership) {
		t.Fatalf("open mode: %+v", r)
	}
	for _, c := range [][]byte{merge.AddWriterContent(w.ids[0]), merge.RemoveWriterContent(w.ids[1])} {
		op, id, err := merge.ParseMember(c)
		if err != nil || (op != merge.OpAdd && op != merge.OpRemove) || (id != w.ids[0] && id != w.ids[1]) {
			t.Fatalf("round trip: %v %v %v", op, id, err)
		}
	}
	if _, _, err := merge.ParseMember([]byte("hello")); !errors.Is(err, merge.ErrMembership) {
		t.Fatal(err)
	}
}

// A fork made after the forked writer's earlier entries became final: the
// final entries stay, whichever order peers learn things in; the new branch
// does not count.
func TestForkAfterFinality(t *testing.T) {
	w := newWorld(t, 3) // a, b, z
	z1 := w.append(2, u64(1))
	z2 := w.append(2, u64(2))
	z3 := w.append(2, u64(3))
	a1 := w.append(0, u64(4), &z3)
	b1 := w.append(1, u64(5), &a1)
	a2 := w.append(0, u64(6), &b1)
	z4 := w.append(2, u64(7), &a2)
	b2 := w.append(1, u64(8), &z4)
	a3 := w.append(0, u64(9), &b2)
	_ = z1
	_ = z2
	v := newView(t, w.ids, 2, 0)
	v.Add(w.all...)
	fr := v.Final()
	if fr.Count < 5 {
		t.Fatalf("final %d, want at least z1..z3 a1 b1", fr.Count)
	}
	finalPrefix := summarize(v).Order[:fr.Count]

	br := w.fork(2, 2) // z'2 after z1
	zf := w.append(br, u64(100))
	zf2 := w.append(br, u64(101))
	r := v.Add(zf, zf2)
	if len(r.Forks) != 1 || r.Forks[0] != w.ids[2] {
		t.Fatalf("fork not reported: %+v", r)
	}
	got := summarize(v)
	if !slices.Equal(got.Order[:fr.Count], finalPrefix) || v.Final().Count < fr.Count {
		t.Fatal("the fork reverted final history")
	}
	if slices.Contains(got.Order, zf.ID()) || slices.Contains(got.Order, zf2.ID()) {
		t.Fatal("the unacknowledged branch counts")
	}
	if !slices.Contains(got.Order, z3.ID()) {
		t.Fatal("z3, acknowledged by all, was dropped")
	}
	if v.Forked()[w.ids[2]] != 2 {
		t.Fatalf("fork seq %v", v.Forked())
	}
	_ = a3
	// The branch entries, learned first by another peer, change nothing.
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 9))
		v2 := newView(t, w.ids, 1, 0)
		deliver(rng, v2, shuffled(rng, w.all, 3), nil)
		sameSummary(t, "fork learned in another order", summarize(v2), got)
	}
	// A fork proof alone, for a peer that only has z's first branch.
	v3 := newView(t, w.ids, 3, 0)
	v3.Add(w.feeds[2]...)
	if r := v3.AddForkProof(feed.ForkProof{A: z2, B: zf}); len(r.Forks) != 1 {
		t.Fatalf("fork proof: %+v", r)
	}
	if slices.Contains(summarize(v3).Order, z2.ID()) {
		t.Fatal("without acknowledgements z2 must stop counting")
	}
}

func TestHLCFuture(t *testing.T) {
	w := newWorld(t, 2)
	w.kind = feed.HLC
	const now = 1_700_000_000_000
	w.nowMs = now
	a1 := w.append(0, u64(1))
	w.nowMs = now + 5*60_000 // five minutes ahead
	b1 := w.append(1, u64(2), &a1)
	v, err := merge.New(merge.Config[hstate, uint64]{Reducer: hreduce, Decode: hdecode, Writers: w.ids,
		Clock: merge.ClockPolicy{Kind: feed.HLC, MaxSkew: 60_000}})
	if err != nil {
		t.Fatal(err)
	}
	v.SetNow(now)
	if r := v.Add(a1, b1); r.Placed != 1 || r.Pending != 1 {
		t.Fatalf("future entry: %+v", r)
	}
	if r := v.SetNow(now + 3*60_000); r.Placed != 0 {
		t.Fatalf("still too far ahead: %+v", r)
	}
	if r := v.SetNow(now + 4*60_000); r.Placed != 1 || r.Pending != 0 {
		t.Fatalf("caught up: %+v", r)
	}
	sameSummary(t, "hlc", summarize(v), naive(w.all, w.ids))
	lam := newWorld(t, 1).append(0, u64(1))
	if r := v.Add(lam); len(r.Rejected) != 1 || !errors.Is(r.Rejected[0].Err, merge.ErrClockKind) {
		t.Fatalf("lamport entry in an HLC view: %+v", r)
	}
}
