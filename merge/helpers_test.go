package merge_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// The test application: an order-sensitive reducer whose refusals depend on
// the state, so that any difference in order, state or refusals shows.
type hstate struct {
	H uint64
	N int
}

var errOdd = errors.New("refused by state")

func hreduce(s hstate, a uint64) (hstate, error) {
	switch {
	case a%13 == 0:
		panic("thirteen")
	case a%11 == 0:
		return s, errors.New("eleven")
	case (s.H+a)%7 == 0:
		return s, errOdd
	}
	return hstate{H: s.H*1000003 ^ a, N: s.N + 1}, nil
}

func hdecode(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("want 8 bytes, got %d", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

func testKey(t testing.TB, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// world builds feeds of several writers, unsigned (the view trusts
// signatures), with random references to other writers' entries.
type world struct {
	t       testing.TB
	ids     []identity.ID
	heads   []feed.Head
	feeds   [][]feed.Entry
	all     []feed.Entry
	kind    feed.ClockKind
	nowMs   uint64
	forkOff int // feeds beyond len(ids) are fork branches: author index in forkOf
	forkOf  []int
}

func newWorld(t testing.TB, n int) *world {
	w := &world{t: t}
	for i := range n {
		w.ids = append(w.ids, testKey(t, byte(i+1)).ID())
	}
	w.heads = make([]feed.Head, n)
	w.feeds = make([][]feed.Entry, n)
	return w
}

// append adds an entry to feed f (an index into heads) with content and
// references to the given entries.
func (w *world) append(f int, content []byte, refs ...*feed.Entry) feed.Entry {
	w.t.Helper()
	author := w.authorOf(f)
	var rs []feed.Ref
	for _, r := range refs {
		if r.Author != author {
			rs = append(rs, feed.Ref{ID: r.ID(), Clock: r.Clock})
		}
	}
	e, err := feed.Next(author, w.heads[f], feed.Draft{Kind: w.kind, Refs: rs, Content: content, Now: w.nowMs})
	if err != nil {
		w.t.Fatal(err)
	}
	w.heads[f] = e.Head()
	w.feeds[f] = append(w.feeds[f], e)
	w.all = append(w.all, e)
	return e
}

func (w *world) authorOf(f int) identity.ID {
	if f < len(w.ids) {
		return w.ids[f]
	}
	return w.ids[w.forkOf[f-len(w.ids)]]
}

// fork starts a branch of writer i's feed after its entry at seq-1 and
// returns the new feed index.
func (w *world) fork(i int, seq uint64) int {
	h := feed.Head{}
	if seq > 1 {
		h = w.feeds[i][seq-2].Head()
	}
	w.heads = append(w.heads, h)
	w.feeds = append(w.feeds, nil)
	w.forkOf = append(w.forkOf, i)
	return len(w.heads) - 1
}

// randomRefs picks up to k random entries of the world.
func (w *world) randomRefs(rng *rand.Rand, k int) []*feed.Entry {
	var out []*feed.Entry
	if len(w.all) == 0 {
		return nil
	}
	for range rng.IntN(k + 1) {
		out = append(out, &w.all[rng.IntN(len(w.all))])
	}
	return out
}

// headRefs references the newest entry of every other feed.
func (w *world) headRefs(f int) []*feed.Entry {
	var out []*feed.Entry
	for g := range w.feeds {
		if g != f && len(w.feeds[g]) > 0 {
			out = append(out, &w.feeds[g][len(w.feeds[g])-1])
		}
	}
	return out
}

// shuffled returns the entries in a random order with random duplicates.
func shuffled(rng *rand.Rand, es []feed.Entry, dups int) []feed.Entry {
	out := slices.Clone(es)
	for range dups {
		out = append(out, es[rng.IntN(len(es))])
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// deliver adds es to v in random batches and returns the results.
func deliver(rng *rand.Rand, v *merge.View[hstate, uint64], es []feed.Entry, after func(merge.Result)) {
	for len(es) > 0 {
		n := 1 + rng.IntN(min(len(es), 8))
		r := v.Add(es[:n]...)
		if after != nil {
			after(r)
		}
		es = es[n:]
	}
}

func newView(t testing.TB, writers []identity.ID, spacing, kept int) *merge.View[hstate, uint64] {
	t.Helper()
	v, err := merge.New(merge.Config[hstate, uint64]{
		Reducer:   hreduce,
		Decode:    hdecode,
		Writers:   writers,
		Snapshots: merge.SnapshotPolicy{Spacing: spacing, MaxKept: kept},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// summary is everything that must be identical on every peer.
type summary struct {
	Order    []feed.ID
	State    hstate
	Refusals []feed.ID
	Final    merge.Frontier
}

func summarize(v *merge.View[hstate, uint64]) summary {
	var s summary
	for _, p := range v.Order() {
		s.Order = append(s.Order, p.ID)
	}
	s.State = v.State()
	for _, r := range v.Refusals() {
		s.Refusals = append(s.Refusals, r.ID)
	}
	return s
}

// naive is the specification for views without membership changes or
// forks: every entry of a writer counts; sort by (clock, ID); fold from the
// initial state, skipping refused actions.
func naive(es []feed.Entry, writers []identity.ID) summary {
	var list []feed.Entry
	for _, e := range es {
		if len(writers) > 0 && !slices.Contains(writers, e.Author) {
			continue
		}
		list = append(list, e)
	}
	return naiveFold(list, len(writers) == 0)
}

// naiveFold de-duplicates, sorts by key and folds. A well-formed
// membership entry has no effect (refused in open mode); a malformed one is
// refused.
func naiveFold(list []feed.Entry, open bool) summary {
	var s summary
	seen := map[feed.ID]bool{}
	var uniq []feed.Entry
	for _, e := range list {
		if !seen[e.ID()] {
			seen[e.ID()] = true
			uniq = append(uniq, e)
		}
	}
	list = uniq
	slices.SortFunc(list, func(a, b feed.Entry) int { return merge.KeyOf(&a).Compare(merge.KeyOf(&b)) })
	for _, e := range list {
		s.Order = append(s.Order, e.ID())
		if merge.IsMember(e.Content) {
			if _, _, err := merge.ParseMember(e.Content); err != nil || open {
				s.Refusals = append(s.Refusals, e.ID())
			}
			continue
		}
		a, err := hdecode(e.Content)
		if err == nil {
			var next hstate
			func() {
				defer func() {
					if recover() != nil {
						err = errors.New("panic")
					}
				}()
				next, err = hreduce(s.State, a)
			}()
			if err == nil {
				s.State = next
				continue
			}
		}
		s.Refusals = append(s.Refusals, e.ID())
	}
	return s
}

func sameSummary(t testing.TB, what string, got, want summary) {
	t.Helper()
	if !slices.Equal(got.Order, want.Order) {
		t.Fatalf("%s: order differs: %d vs %d entries\n got %v\nwant %v", what, len(got.Order), len(want.Order), shortIDs(got.Order), shortIDs(want.Order))
	}
	if got.State != want.State {
		t.Fatalf("%s: state %+v, want %+v", what, got.State, want.State)
	}
	if !slices.Equal(got.Refusals, want.Refusals) {
		t.Fatalf("%s: refusals %v, want %v", what, shortIDs(got.Refusals), shortIDs(want.Refusals))
	}
}

func shortIDs(ids []feed.ID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.Short())
	}
	return out
}
