package merge_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/merge"
)

func TestLateInsertRewinds(t *testing.T) {
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	a2 := w.append(0, u64(2))
	b1 := w.append(1, u64(3)) // clock 1: sorts before a2
	v := newView(t, w.ids, 1, 0)
	r := v.Add(a1, a2)
	if r.Placed != 2 || r.Replayed != 2 {
		t.Fatalf("in order: %+v", r)
	}
	r = v.Add(b1)
	if !r.Changed || r.Placed != 1 {
		t.Fatalf("late: %+v", r)
	}
	sameSummary(t, "late insert", summarize(v), naive(w.all, w.ids))
	if r := v.Add(b1, a1); r.Duplicates != 2 || r.Changed || r.Replayed != 0 {
		t.Fatalf("duplicates: %+v", r)
	}
}

func TestPendingUntilPrevAndRefs(t *testing.T) {
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	b1 := w.append(1, u64(2), &a1)
	a2 := w.append(0, u64(3), &b1)
	v := newView(t, w.ids, 4, 0)
	if r := v.Add(a2); r.Placed != 0 || r.Pending != 1 {
		t.Fatalf("a2 alone: %+v", r)
	}
	if r := v.Add(b1); r.Placed != 0 || r.Pending != 2 {
		t.Fatalf("b1 without a1: %+v", r)
	}
	if r := v.Add(a1); r.Placed != 3 || r.Pending != 0 {
		t.Fatalf("a1 releases all: %+v", r)
	}
	sameSummary(t, "pending", summarize(v), naive(w.all, w.ids))
}

func TestPendingBounded(t *testing.T) {
	w := newWorld(t, 1)
	es := []feed.Entry{w.append(0, u64(1)), w.append(0, u64(2)), w.append(0, u64(3)), w.append(0, u64(4))}
	v, err := merge.New(merge.Config[hstate, uint64]{Reducer: hreduce, Decode: hdecode, Writers: w.ids, MaxPending: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := v.Add(es[3], es[2], es[1])
	if len(r.Rejected) != 1 || !errors.Is(r.Rejected[0].Err, merge.ErrPendingFull) || r.Pending != 2 {
		t.Fatalf("want one ErrPendingFull: %+v", r)
	}
	v.Add(es[0])
	if v.Len() != 1 || v.Pending() != 2 {
		t.Fatalf("len %d pending %d, want 1 and 2 (entry 2 was rejected and must be added again)", v.Len(), v.Pending())
	}
	v.Add(es[1])
	if v.Len() != 4 {
		t.Fatalf("len %d after re-adding", v.Len())
	}
}

func TestPendingBytesBounded(t *testing.T) {
	w := newWorld(t, 1)
	big := make([]byte, feed.MaxContentSize)
	es := []feed.Entry{w.append(0, u64(1)), w.append(0, big), w.append(0, big), w.append(0, big)}
	v, err := merge.New(merge.Config[hstate, uint64]{Reducer: hreduce, Decode: hdecode, Writers: w.ids, MaxPendingBytes: 150_000})
	if err != nil {
		t.Fatal(err)
	}
	r := v.Add(es[3], es[2], es[1])
	if len(r.Rejected) != 1 || !errors.Is(r.Rejected[0].Err, merge.ErrPendingFull) || r.Pending != 2 {
		t.Fatalf("want one ErrPendingFull by bytes: %+v", r)
	}
}

func TestRejections(t *testing.T) {
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	a2 := w.append(0, u64(2))
	bad := a2
	bad.Clock = 7 // Lamport: must be 2
	badRef := a1
	badRef.Seq, badRef.Prev, badRef.Refs = 2, a1.ID(), []feed.ID{a1.ID()} // own feed
	badRef.Clock = 2
	hlc := a1
	hlc.Kind = feed.HLC
	bad, badRef, hlc = redo(t, bad), redo(t, badRef), redo(t, hlc)
	v := newView(t, w.ids, 4, 0)
	v.Add(a1)
	for _, c := range []struct {
		e    feed.Entry
		want error
	}{
		{bad, feed.ErrBadClock},
		{badRef, feed.ErrBadRef},
		{hlc, merge.ErrClockKind},
	} {
		r := v.Add(c.e)
		if len(r.Rejected) != 1 || !errors.Is(r.Rejected[0].Err, c.want) {
			t.Errorf("%v: got %+v, want %v", c.e.String(), r.Rejected, c.want)
		}
	}
}

func TestRefusalsAndPanics(t *testing.T) {
	w := newWorld(t, 1)
	es := []feed.Entry{w.append(0, u64(1)), w.append(0, u64(22)), w.append(0, u64(26)), w.append(0, []byte("x")), w.append(0, u64(2))}
	v := newView(t, w.ids, 2, 0)
	r := v.Add(es...)
	want := []error{merge.ErrReducer, merge.ErrPanic, merge.ErrDecode}
	if len(r.Refused) != 3 {
		t.Fatalf("refused %v", r.Refused)
	}
	for i, e := range want {
		if !errors.Is(r.Refused[i].Err, e) {
			t.Errorf("refusal %d: %v, want %v", i, r.Refused[i].Err, e)
		}
	}
	if got := v.State().N; got != 2 {
		t.Fatalf("applied %d actions, want 2", got)
	}
	sameSummary(t, "refusals", summarize(v), naive(w.all, w.ids))
}

func TestOpenMode(t *testing.T) {
	w := newWorld(t, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		w.append(i%3, u64(uint64(rng.IntN(1000))), w.randomRefs(rng, 2)...)
	}
	v := newView(t, nil, 4, 0)
	deliver(rng, v, shuffled(rng, w.all, 5), nil)
	sameSummary(t, "open", summarize(v), naive(w.all, nil))
	if f := v.Final(); f.Count != 0 {
		t.Fatalf("open mode finalised %d entries", f.Count)
	}
	if _, err := v.Squash(); !errors.Is(err, merge.ErrNothingFinal) {
		t.Fatalf("squash in open mode: %v", err)
	}
}

func TestNonWriterIgnored(t *testing.T) {
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	b1 := w.append(1, u64(2), &a1)
	a2 := w.append(0, u64(3), &b1)
	v := newView(t, w.ids[:1], 4, 0)
	v.Add(a1, b1, a2)
	if v.Len() != 2 || v.Known() != 3 {
		t.Fatalf("len %d known %d: b1 is not a writer's but must be known for a2's reference", v.Len(), v.Known())
	}
	sameSummary(t, "non-writer", summarize(v), naive(w.all, w.ids[:1]))
}

func TestSnapshotPolicyBoundsAndCost(t *testing.T) {
	w := newWorld(t, 2)
	for i := range 2000 {
		w.append(0, u64(uint64(i*3+1)))
	}
	late := w.append(1, u64(5)) // clock 1: sorts first
	v := newView(t, w.ids, 16, 8)
	v.Add(w.feeds[0]...)
	r := v.Add(late)
	if r.Replayed != 2001 {
		t.Fatalf("deep insert replayed %d, want 2001 (from the base)", r.Replayed)
	}
	// Near the tip: at most depth + spacing reducer calls.
	w2 := newWorld(t, 2)
	for i := range 2000 {
		w2.append(0, u64(uint64(i*3+1)))
	}
	v2 := newView(t, w2.ids, 16, 8)
	v2.Add(w2.feeds[0]...)
	w2.heads[1] = feed.Head{}
	e, err := feed.Next(w2.ids[1], feed.Head{}, feed.Draft{Content: u64(5), Refs: []feed.Ref{{ID: w2.feeds[0][1989].ID(), Clock: w2.feeds[0][1989].Clock}}})
	if err != nil {
		t.Fatal(err)
	}
	r = v2.Add(e) // clock 1991: depth 10
	if r.Replayed > 10+1+16 {
		t.Fatalf("insert at depth 10 replayed %d, want <= depth+1+spacing", r.Replayed)
	}
	if err := v2.Check(); err != nil {
		t.Fatal(err)
	}
}

// A reducer that mutates its input map is caught by Check with
// CheckReducer, and made safe by Clone.
func TestMutatingReducer(t *testing.T) {
	type st = map[string]int
	mut := func(s st, a uint64) (st, error) {
		s["n"] += int(a) // mutates its input
		s["last"] = int(a)
		return s, nil
	}
	clone := func(s st) st {
		c := make(st, len(s))
		for k, x := range s {
			c[k] = x
		}
		return c
	}
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	a2 := w.append(0, u64(2))
	a3 := w.append(0, u64(3))
	b1 := w.append(1, u64(10), &a1) // clock 2, sorts around a2

	mk := func(c func(st) st, check bool) *merge.View[st, uint64] {
		v, err := merge.New(merge.Config[st, uint64]{Reducer: mut, Decode: hdecode, Initial: st{}, Clone: c,
			Writers: w.ids, Snapshots: merge.SnapshotPolicy{Spacing: 1}, CheckReducer: check})
		if err != nil {
			t.Fatal(err)
		}
		v.Add(a1, a2, a3)
		v.Add(b1)
		return v
	}
	v := mk(nil, true)
	if err := v.Check(); !errors.Is(err, merge.ErrStateMismatch) {
		t.Fatalf("mutating reducer not caught: %v", err)
	}
	v = mk(clone, true)
	// With Clone the snapshots are safe, but the reducer still mutates the
	// live state it is given: CheckReducer still reports it.
	if err := v.Check(); !errors.Is(err, merge.ErrStateMismatch) {
		t.Fatalf("mutation with Clone not reported: %v", err)
	}
	v = mk(clone, false)
	if got := v.State()["n"]; got != 16 {
		t.Fatalf("with Clone: n = %d, want 16", got)
	}
	if err := v.Check(); err != nil {
		t.Fatalf("with Clone: %v", err)
	}
	v = mk(nil, false)
	if got := v.State()["n"]; got == 16 {
		t.Logf("without Clone the rewind happened to give the right n; the snapshots are still shared")
	}
}

func TestDecodeEntry(t *testing.T) {
	w := newWorld(t, 2)
	a1 := w.append(0, u64(1))
	b1 := w.append(1, u64(2), &a1)
	v, err := merge.New(merge.Config[[]string, string]{
		Reducer: func(s []string, a string) ([]string, error) { return append(slices.Clip(s), a), nil },
		DecodeEntry: func(e *feed.Entry) (string, error) {
			return e.Author.Short() + ":" + string(rune('0'+e.Content[7])), nil
		},
		Writers: w.ids,
	})
	if err != nil {
		t.Fatal(err)
	}
	v.Add(b1, a1)
	want := []string{w.ids[0].Short() + ":1", w.ids[1].Short() + ":2"}
	if !slices.Equal(v.State(), want) {
		t.Fatalf("%v, want %v", v.State(), want)
	}
	_, err = merge.New(merge.Config[int, int]{Reducer: func(s, a int) (int, error) { return s, nil },
		Decode: func([]byte) (int, error) { return 0, nil }, DecodeEntry: func(*feed.Entry) (int, error) { return 0, nil }})
	if !errors.Is(err, merge.ErrConfig) {
		t.Fatalf("both decoders: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := merge.New(merge.Config[int, int]{}); !errors.Is(err, merge.ErrConfig) {
		t.Fatalf("empty config: %v", err)
	}
	w := newWorld(t, 1)
	_, err := merge.New(merge.Config[hstate, uint64]{Reducer: hreduce, Decode: hdecode, Writers: append(w.ids, w.ids...)})
	if !errors.Is(err, merge.ErrConfig) {
		t.Fatalf("duplicate writer: %v", err)
	}
}

func TestOrderIterStops(t *testing.T) {
	w := newWorld(t, 1)
	v := newView(t, w.ids, 4, 0)
	v.Add(w.append(0, u64(1)), w.append(0, u64(2)))
	n := 0
	for range v.Order() {
		n++
		break
	}
	if n != 1 || !slices.Equal(summarize(v).Order, naive(w.all, w.ids).Order) {
		t.Fatal("order iteration")
	}
}

// redo re-decodes a hand-modified entry so that its cached ID is right.
func redo(t *testing.T, e feed.Entry) feed.Entry {
	t.Helper()
	d, err := feed.Decode(e.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
