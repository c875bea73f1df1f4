package merge

import (
	"fmt"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// View is the rewindable reducer over the merge order. It is not safe for
// concurrent use: one goroutine (the node's owner loop) drives it.
//
// Memory: the view keeps, per placed entry, a fixed-size record (ID, clock,
// seq, lane, vector-clock offset, flags and the decoded action), an index
// slot, and a vector clock only for entries with references. It does not
// keep entry contents: the caller's store has them.
type View[S, A any] struct {
	cfg  Config[S, A]
	open bool // no writer set: everyone writes, nothing is final

	// Records of placed entries, in fixed-size chunks so that growth never
	// copies them; a handle is the placement number.
	chunks [][]rec[A]
	nrecs  int
	// The ID index: open addressing over handles+1 (0 = empty).
	slots   []uint32
	nslots  int
	indexed int // records below this handle are in the index

	authors   []author
	authorIdx map[identity.ID]uint32
	lastAuth  identity.ID // cache for authorIdx
	lastIdx   uint32
	lanes     []lane
	vcData    []uint64 // vector clocks: [n, c0 .. cn-1] at each offset; offset 0 is empty
	anyForked bool

	ops      []memberOp // membership entries, sorted by key
	touched  []bool     // by author: target of some effective membership op
	wtip     []bool     // by author: writer at the tip
	addOp    []uint32   // by author: handle+1 of its only add, if it is not initial and was added once
	removes  bool       // some effective remove exists
	refusals map[uint32]error

	// The order: handles of counting entries sorted by key, after the
	// squashed prefix.
	order     []uint32
	squashed  uint64 // entries squashed before order[0]
	squashKey Key    // key of the last squashed entry
	prevRoot  [32]byte
	final     int // order[:final] is final
	snaps     []snap[S]
	state     S
	folded    int // order[:folded] is folded into state
	dirty     int // lowest order position changed since the last fold
	// ins holds counting entries placed during this Add that sort before
	// the tip: they are merged into order in one pass (flushInserts), since
	// inserting each one shifts the tail, which made a bulk sync of feeds
	// arriving at different speeds quadratic.
	ins []uint32
	// horizon: entries with a larger clock are placed but not folded yet
	// (SetHorizon); ^0 folds everything.
	horizon uint64

	// Pending entries, waiting for a previous entry or reference (by the
	// missing ID) or for the wall clock.
	waiting      map[feed.ID][]feed.Entry
	future       []feed.Entry
	inWait       map[feed.ID]bool
	npending     int
	pendingBytes int
	now          uint64

	lowBuf   []uint64
	vcBuf    []uint64
	refBuf   []uint32
	forkRecs []uint32 // entries at or after their author's fork seq
	mutation error    // first input mutation seen by Config.CheckReducer
}

type author struct {
	id      identity.ID
	main    uint32 // first lane
	forkSeq uint64 // lowest seq with two entries; 0 if none
	initial bool   // in Config.Writers
}

type memberOp struct {
	h         uint32
	op        byte
	target    uint32
	valid     bool // its author was a writer in its causal past
	effective bool // valid and its author not forked at its seq
}

type snap[S any] struct {
	pos   int // order position: the state after order[:pos]
	state S
}

// New returns an empty view.
func New[S, A any](cfg Config[S, A]) (*View[S, A], error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &View[S, A]{
		cfg:       c,
		open:      len(c.Writers) == 0,
		authorIdx: make(map[identity.ID]uint32),
		vcData:    []uint64{0},
		refusals:  make(map[uint32]error),
		waiting:   make(map[feed.ID][]feed.Entry),
		inWait:    make(map[feed.ID]bool),
	}
	for _, w := range c.Writers {
		a := v.authorOf(w)
		v.authors[a].initial = true
		v.wtip[a] = true
	}
	v.horizon = NoHorizon
	v.state = v.cloneState(c.Initial)
	v.snaps = []snap[S]{{pos: 0, state: v.cloneState(c.Initial)}}
	return v, nil
}

func (v *View[S, A]) cloneState(s S) S {
	if v.cfg.Clone != nil {
		return v.cfg.Clone(s)
	}
	return s
}

func (v *View[S, A]) authorOf(id identity.ID) uint32 {
	if id == v.lastAuth && len(v.authors) > 0 {
		return v.lastIdx
	}
	a, ok := v.authorIdx[id]
	if !ok {
		a = uint32(len(v.authors))
		v.authorIdx[id] = a
		v.authors = append(v.authors, author{id: id, main: uint32(len(v.lanes))})
		v.lanes = append(v.lanes, lane{author: a, tip: noHandle})
		v.touched = append(v.touched, false)
		v.wtip = append(v.wtip, false)
		v.addOp = append(v.addOp, 0)
	}
	v.lastAuth, v.lastIdx = id, a
	return a
}

// Add adds entries in any order, any number of times. The entries must
// have passed [feed.Entry.Verify] (signatures are not checked here); the
// chain, clock-kind, clock and reference rules are checked here, the same
// way on every peer. Entries whose previous entry or references are not
// known yet wait (bounded by Config.MaxPending).
func (v *View[S, A]) Add(entries ...feed.Entry) Result {
	var res Result
	v.dirty = len(v.order)
	rebuild := false
	for i := range entries {
		if v.place(&entries[i], &res) {
			rebuild = true
		}
	}
	return v.finish(&res, rebuild)
}

// AddForkProof adds the evidence that an author forked: both entries are
// added (they wait like any entry if their previous entries are missing)
// and, once both are placed, the author's entries from the fork seq on stop
// counting. The caller must have verified the proof.
func (v *View[S, A]) AddForkProof(p feed.ForkProof) Result {
	return v.Add(p.A, p.B)
}

// NoHorizon is the horizon that holds nothing back: everything placed is
// folded. It is the default.
const NoHorizon = ^uint64(0)

// SetHorizon tells the view that entries with clocks above clock are still
// arriving out of order (a driver knows some feed is behind a peer, and that
// feed's next entries have larger clocks than its tip): folding stops before
// the first entry of the order whose clock is above the horizon, so those
// late entries do not each cost a rewind and replay. Entries are placed and
// checked as usual; State is then the fold of the order up to the horizon,
// and Folded says how far that is. Raising the horizon (NoHorizon at the
// end of a sync) folds the rest. The horizon changes when the result is
// known, never what it is: the order and every state reached are the same.
func (v *View[S, A]) SetHorizon(clock uint64) Result {
	var res Result
	v.dirty = len(v.order)
	v.horizon = clock
	return v.finish(&res, false)
}

// FoldAll folds the whole order once, past the horizon (which stays set
// for later additions): for a caller that needs the complete state now.
func (v *View[S, A]) FoldAll() Result {
	h := v.horizon
	r := v.SetHorizon(NoHorizon)
	v.horizon = h
	return r
}

// SetNow tells the view the wall time in milliseconds since the Unix epoch.
// HLC entries more than MaxSkew ahead of it wait until it catches up. Time
// only moves forward: an older value is ignored.
func (v *View[S, A]) SetNow(ms uint64) Result {
	var res Result
	v.dirty = len(v.order)
	rebuild := false
	if ms > v.now {
		v.now = ms
		fut := v.future
		v.future = nil
		for i := range fut {
			v.unwait(&fut[i])
			if v.place(&fut[i], &res) {
				rebuild = true
			}
		}
	}
	return v.finish(&res, rebuild)
}

func (v *View[S, A]) finish(res *Result, rebuild bool) Result {
	v.flushInserts()
	if v.anyForked && !rebuild {
		// Acknowledgements move: fork-class entries may become protected.
		rebuild = v.protectionChanged()
	}
	if rebuild {
		v.rebuild(res)
	}
	if v.dirty < v.final {
		// Only an equivocating writer can cause this (merge-v1.md, "Known
		// limits"): report it and keep the frontier honest.
		v.final = v.dirty
		res.FinalReverted = true
	}
	v.fold(res)
	v.advanceFinal(res)
	res.Pending = v.npending
	res.Final = v.Final()
	return *res
}

// place places e and everything waiting on it. It reports whether the
// structure changed (a fork or a membership entry that takes effect) so that
// counting must be recomputed.
func (v *View[S, A]) place(e *feed.Entry, res *Result) bool {
	structural := false
	work := []*feed.Entry{e}
	for len(work) > 0 {
		e := work[len(work)-1]
		work = work[:len(work)-1]
		h, st := v.placeOne(e, res)
		structural = structural || st
		if h == noHandle {
			continue
		}
		if len(v.waiting) > 0 {
			id := v.rec(h).id
			if ws, ok := v.waiting[id]; ok {
				delete(v.waiting, id)
				for i := range ws {
					v.unwait(&ws[i])
					work = append(work, &ws[i])
				}
			}
		}
	}
	return structural
}

func (v *View[S, A]) reject(e *feed.Entry, res *Result, err error) {
	res.Rejected = append(res.Rejected, Rejection{ID: e.ID(), Author: e.Author, Seq: e.Seq, Err: err})
}

func (v *View[S, A]) unwait(e *feed.Entry) {
	v.npending--
	v.pendingBytes -= e.EncodedSize()
	delete(v.inWait, e.ID())
}

func (v *View[S, A]) wait(e *feed.Entry, on feed.ID, res *Result) {
	id := e.ID()
	if v.inWait[id] {
		res.Duplicates++
		return
	}
	if v.npending >= v.cfg.MaxPending || v.pendingBytes+e.EncodedSize() > v.cfg.MaxPendingBytes {
		v.reject(e, res, ErrPendingFull)
		return
	}
	v.npending++
	v.pendingBytes += e.EncodedSize()
	v.inWait[id] = true
	if on.IsZero() {
		v.future = append(v.future, *e)
	} else {
		v.waiting[on] = append(v.waiting[on], *e)
	}
}

// placeOne checks e and records it. It returns the new handle (noHandle if
// e was not placed) and whether the structure changed.
func (v *View[S, A]) placeOne(e *feed.Entry, res *Result) (uint32, bool) {
	if e.Kind != v.cfg.Clock.Kind {
		v.reject(e, res, fmt.Errorf("%w: entry uses %s clocks, the view %s", ErrClockKind, e.Kind, v.cfg.Clock.Kind))
		return noHandle, false
	}
	id := e.ID()
	if len(v.lanes)+2 > MaxLanes {
		v.reject(e, res, fmt.Errorf("%w: %d authors and fork branches", ErrTooManyAuthors, len(v.lanes)))
		return noHandle, false
	}
	a := v.authorOf(e.Author)
	// Fast path: e follows the tip of its author's main lane. Then e is not
	// known yet (a known successor of the tip would be the tip).
	prevH := noHandle
	if e.Seq > 1 {
		if t := v.lanes[v.authors[a].main].tip; t != noHandle && v.rec(t).id == e.Prev {
			prevH = t
		}
	}
	if prevH == noHandle {
		if _, ok := v.lookup(id); ok {
			res.Duplicates++
			return noHandle, false
		}
	}
	if e.Kind == feed.HLC && e.Clock>>16 > v.now+v.cfg.Clock.MaxSkew {
		v.wait(e, feed.ID{}, res)
		return noHandle, false
	}
	// Chain rule.
	var prevClock uint64
	if e.Seq > 1 {
		if prevH != noHandle {
			// found above
		} else if h, ok := v.lookup(e.Prev); ok {
			prevH = h
		} else {
			v.wait(e, e.Prev, res)
			return noHandle, false
		}
		p := v.rec(prevH)
		if v.lanes[p.lane()].author != a {
			v.reject(e, res, &feed.Error{Author: e.Author, Seq: e.Seq, Field: "prev", Err: feed.ErrBrokenChain, Detail: "previous entry is another author's"})
			return noHandle, false
		}
		if err := e.VerifyAfter(feed.Head{Seq: p.seq, ID: p.id, Clock: p.clock, Kind: e.Kind}); err != nil {
			v.reject(e, res, err)
			return noHandle, false
		}
		prevClock = p.clock
	}
	// Causal rule.
	refH := v.refBuf[:0]
	for _, r := range e.Refs {
		h, ok := v.lookup(r)
		if !ok {
			v.wait(e, r, res)
			return noHandle, false
		}
		refH = append(refH, h)
	}
	v.refBuf = refH
	if len(e.Refs) > 0 || e.Kind == feed.Lamport && e.Seq == 1 {
		err := e.VerifyRefs(prevClock, func(id feed.ID) (identity.ID, uint64, bool) {
			for i := range e.Refs { // at most MaxRefs, already resolved
				if e.Refs[i] == id {
					h := refH[i]
					return v.authors[v.authorOfRec(h)].id, v.rec(h).clock, true
				}
			}
			return identity.ID{}, 0, false
		})
		if err != nil {
			v.reject(e, res, err)
			return noHandle, false
		}
	}
	// Lane: continue the previous entry's lane, or start a fork branch.
	structural := false
	var ln uint32
	forked := false
	if prevH == noHandle {
		ln = v.authors[a].main
		if v.lanes[ln].tip != noHandle {
			ln, forked = v.newLane(a), true
		}
	} else {
		ln = v.rec(prevH).lane()
		if v.lanes[ln].tip != prevH {
			ln, forked = v.newLane(a), true
		}
	}
	if forked {
		// A second entry at this seq: the author forked here.
		if fs := v.authors[a].forkSeq; fs == 0 || e.Seq < fs {
			if fs == 0 {
				res.Forks = append(res.Forks, e.Author)
			}
			v.authors[a].forkSeq = e.Seq
			v.anyForked = true
			structural = true
		}
	}
	// Vector clock of the past, own lane excluded.
	vc := uint32(0)
	if prevH != noHandle {
		vc = v.rec(prevH).vc
	}
	if len(e.Refs) > 0 || prevH != noHandle && v.rec(prevH).lane() != ln {
		vc = v.mergeVC(prevH, refH, ln)
	}
	h := uint32(v.nrecs)
	v.newRec(rec[A]{id: id, clock: e.Clock, seq: e.Seq, lf: ln, vc: vc})
	if v.indexed == int(h) && prevH == noHandle {
		// Not on the fast path: index now (it will be looked up).
		v.indexAdd(h)
		v.indexed++
	}
	v.lanes[ln].tip = h
	v.lanes[ln].hs = append(v.lanes[ln].hs, h)
	r := v.rec(h)
	res.Placed++

	if IsMember(e.Content) {
		r.lf |= fMember
		op, target, err := ParseMember(e.Content)
		if err != nil || v.open {
			if err == nil {
				err = fmt.Errorf("%w: membership entries are refused in open mode", ErrMembership)
			}
			r.lf |= fBad
			v.refusals[h] = err
		} else {
			t := v.authorOf(target)
			m := memberOp{h: h, op: op, target: t}
			i, _ := slices.BinarySearchFunc(v.ops, h, func(o memberOp, h uint32) int { return v.key(o.h).Compare(v.key(h)) })
			v.ops = slices.Insert(v.ops, i, m)
			structural = true
		}
	} else {
		var act A
		var err error
		if v.cfg.DecodeEntry != nil {
			act, err = v.cfg.DecodeEntry(e)
		} else {
			act, err = v.cfg.Decode(e.Content)
		}
		if err != nil {
			r.lf |= fBad
			v.refusals[h] = fmt.Errorf("%w: %w", ErrDecode, err)
		} else {
			r.action = act
		}
	}
	if structural {
		return h, true
	}
	if v.counts(h) {
		v.insert(h, res)
	}
	return h, false
}

// insert puts a counting entry into the order.
func (v *View[S, A]) insert(h uint32, res *Result) {
	r := v.rec(h)
	if v.squashed > 0 && (Key{Clock: r.clock, ID: r.id}).Compare(v.squashKey) <= 0 {
		// Only possible for a fork branch acknowledged after the squash
		// (see merge-v1.md, "Known limits"): it cannot count here.
		res.Rejected = append(res.Rejected, Rejection{ID: r.id, Author: v.authors[v.authorOfRec(h)].id, Seq: r.seq,
			Err: fmt.Errorf("merge: entry sorts below the squashed frontier")})
		return
	}
	r.lf |= fCounting
	if n := len(v.order); len(v.ins) == 0 && (n == 0 || v.less(v.order[n-1], h)) {
		v.order = append(v.order, h)
		return
	}
	v.ins = append(v.ins, h)
}

// flushInserts merges the buffered insertions into the order, from the
// back, in O(len(order) + k log k), and lowers dirty to the first position
// that changed.
func (v *View[S, A]) flushInserts() {
	k := len(v.ins)
	if k == 0 {
		return
	}
	slices.SortFunc(v.ins, func(a, b uint32) int {
		if v.less(a, b) {
			return -1
		}
		return 1
	})
	n := len(v.order)
	v.order = slices.Grow(v.order, k)[:n+k]
	i, j := n-1, k-1
	for w := n + k - 1; j >= 0; w-- {
		if i >= 0 && v.less(v.ins[j], v.order[i]) {
			v.order[w] = v.order[i]
			i--
		} else {
			v.order[w] = v.ins[j]
			j--
		}
	}
	v.dirty = min(v.dirty, i+1)
	v.ins = v.ins[:0]
}
