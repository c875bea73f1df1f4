package merge

import (
	"encoding/binary"
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

// rec is 56 bytes plus the action: lane and flags share one word.
type rec[A any] struct {
	id     feed.ID
	clock  uint64
	seq    uint64
	lf     uint32 // lane (low 24 bits) and flags (high 8 bits)
	vc     uint32 // offset in vcData of the vector clock of the entry's past, its own lane excluded
	action A
}

const laneMask = 1<<24 - 1

// MaxLanes bounds the authors plus fork branches one view tracks.
const MaxLanes = laneMask

func (r *rec[A]) lane() uint32 { return r.lf & laneMask }

const (
	fCounting  uint32 = 1 << (24 + iota) // in the order
	fRefused                             // refused by the current fold
	fMember                              // a membership entry (never reaches the reducer)
	fBad                                 // content does not decode or membership malformed: always refused
	fSquashed                            // folded into a squash, gone from the order
	fForkClass                           // at or after its author's fork seq
	fProtected                           // fork-class and protected (merge-v1.md, 3)
)

type author struct {
	id      identity.ID
	main    uint32 // first lane
	forkSeq uint64 // lowest seq with two entries; 0 if none
	initial bool   // in Config.Writers
}

// lane is one linear chain of an author: the first chain seen, or a fork
// branch. Vector clocks count per lane, so "is e in the causal past of f"
// stays exact when an author forks.
type lane struct {
	author uint32
	tip    uint32   // handle of the newest entry
	hs     []uint32 // handles in seq order (the fork rule searches them)
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

const noHandle = ^uint32(0)

const (
	chunkBits = 12
	chunkMask = 1<<chunkBits - 1
)

func (v *View[S, A]) rec(h uint32) *rec[A] { return &v.chunks[h>>chunkBits][h&chunkMask] }

func (v *View[S, A]) newRec(r rec[A]) {
	if v.nrecs&chunkMask == 0 {
		v.chunks = append(v.chunks, make([]rec[A], 1<<chunkBits))
	}
	*v.rec(uint32(v.nrecs)) = r
	v.nrecs++
}

// slotHash mixes the first 8 bytes of an ID with Config.IndexSeed
// (splitmix64 finaliser), so an attacker who does not know the seed cannot
// grind IDs into one probe chain.
func (v *View[S, A]) slotHash(id feed.ID) uint64 {
	x := binary.LittleEndian.Uint64(id[:8]) ^ v.cfg.IndexSeed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// lookup returns the handle of the entry with this ID. The index is an
// open-addressing table of handles (4 bytes a slot; the IDs stay in the
// records), built lazily: entries placed on the in-order fast path are
// indexed on the first lookup that needs them, so a run of one feed
// arriving in order costs no hash-table work at all.
func (v *View[S, A]) lookup(id feed.ID) (uint32, bool) {
	for {
		if len(v.slots) > 0 {
			mask := uint64(len(v.slots) - 1)
			for i := v.slotHash(id) & mask; ; i = (i + 1) & mask {
				s := v.slots[i]
				if s == 0 {
					break
				}
				if v.rec(s-1).id == id {
					return s - 1, true
				}
			}
		}
		if v.indexed == v.nrecs {
			return 0, false
		}
		for ; v.indexed < v.nrecs; v.indexed++ {
			v.indexAdd(uint32(v.indexed))
		}
	}
}

// indexAdd puts handle h in the table, growing it to keep the load at
// most 3/4.
func (v *View[S, A]) indexAdd(h uint32) {
	if (v.nslots+1)*4 > len(v.slots)*3 {
		old := v.slots
		v.slots = make([]uint32, max(1024, 2*len(old)))
		v.nslots = 0
		for _, s := range old {
			if s != 0 {
				v.slotPut(s - 1)
			}
		}
	}
	v.slotPut(h)
}

func (v *View[S, A]) slotPut(h uint32) {
	mask := uint64(len(v.slots) - 1)
	i := v.slotHash(v.rec(h).id) & mask
	for v.slots[i] != 0 {
		i = (i + 1) & mask
	}
	v.slots[i] = h + 1
	v.nslots++
}

func (v *View[S, A]) key(h uint32) Key { r := v.rec(h); return Key{Clock: r.clock, ID: r.id} }

func (v *View[S, A]) less(h, g uint32) bool {
	a, b := v.rec(h), v.rec(g)
	if a.clock != b.clock {
		return a.clock < b.clock
	}
	return a.id.Compare(b.id) < 0
}

func (v *View[S, A]) authorOfRec(h uint32) uint32 { return v.lanes[v.rec(h).lane()].author }

// vcAt returns the highest seq of lane l in the causal past of h, h itself
// included.
func (v *View[S, A]) vcAt(h uint32, l uint32) uint64 {
	r := v.rec(h)
	if r.lane() == l {
		return r.seq
	}
	n := v.vcData[r.vc]
	if uint64(l) < n {
		return v.vcData[uint64(r.vc)+1+uint64(l)]
	}
	return 0
}

// inPast reports whether e is h or in h's causal past.
func (v *View[S, A]) inPast(e, h uint32) bool {
	return v.vcAt(h, v.rec(e).lane()) >= v.rec(e).seq
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

func (v *View[S, A]) newLane(a uint32) uint32 {
	v.lanes = append(v.lanes, lane{author: a, tip: noHandle})
	return uint32(len(v.lanes) - 1)
}

// mergeVC builds the vector clock of an entry whose previous entry is prev
// (noHandle for none), with refs, in lane ln: the component-wise maximum of
// the full clocks of prev and refs, with ln's own component left out.
func (v *View[S, A]) mergeVC(prev uint32, refs []uint32, ln uint32) uint32 {
	n := len(v.lanes)
	vec := v.vcBuf[:0]
	for range n {
		vec = append(vec, 0)
	}
	v.vcBuf = vec
	add := func(h uint32) {
		r := v.rec(h)
		m := v.vcData[r.vc]
		for i := uint64(0); i < m; i++ {
			vec[i] = max(vec[i], v.vcData[uint64(r.vc)+1+i])
		}
		vec[r.lane()] = max(vec[r.lane()], r.seq)
	}
	if prev != noHandle {
		add(prev)
	}
	for _, h := range refs {
		add(h)
	}
	vec[ln] = 0
	off := uint32(len(v.vcData))
	if need := len(v.vcData) + 1 + n; need > cap(v.vcData) {
		// Double: append's 1.25× growth copies a large arena too often.
		v.vcData = slices.Grow(v.vcData, max(need, 2*cap(v.vcData))-len(v.vcData))
	}
	v.vcData = append(v.vcData, uint64(n))
	v.vcData = append(v.vcData, vec...)
	return off
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
	n := len(v.order)
	p := n
	if n > 0 && v.less(h, v.order[n-1]) {
		p, _ = slices.BinarySearchFunc(v.order, h, func(o, h uint32) int {
			if v.less(o, h) {
				return -1
			}
			return 1
		})
	}
	if p == n {
		v.order = append(v.order, h)
	} else {
		v.order = slices.Insert(v.order, p, h)
	}
	v.dirty = min(v.dirty, p)
}

// writerAt reports whether the author of h is a writer in h's causal past
// (h itself excluded): Config.Writers changed by the effective membership
// entries in that past, in order.
func (v *View[S, A]) writerAt(h uint32) bool {
	if v.open {
		return true
	}
	a := v.authorOfRec(h)
	member := v.authors[a].initial
	if !v.touched[a] {
		return member
	}
	k := v.key(h)
	for i := range v.ops {
		op := &v.ops[i]
		if v.key(op.h).Compare(k) >= 0 {
			break
		}
		if op.effective && op.target == a && v.inPast(op.h, h) {
			member = op.op == OpAdd
		}
	}
	return member
}

// counts decides whether h is in the order: its author is a writer in its
// causal past, no effective removal of its author is concurrent with it,
// and if its author forked at or before its seq, every other writer has
// acknowledged it.
func (v *View[S, A]) counts(h uint32) bool {
	r := v.rec(h)
	a := v.authorOfRec(h)
	if !v.writerAt(h) {
		return false
	}
	if v.removes && v.touched[a] {
		for i := range v.ops {
			op := &v.ops[i]
			if op.effective && op.op == OpRemove && op.target == a && op.h != h && !v.inPast(h, op.h) && !v.inPast(op.h, h) {
				return false
			}
		}
	}
	if fs := v.authors[a].forkSeq; fs != 0 && r.seq >= fs {
		if r.lf&fForkClass == 0 {
			v.forkRecs = append(v.forkRecs, h)
		}
		r.lf |= fForkClass
		p := v.protected(h)
		if p {
			r.lf |= fProtected
		} else {
			r.lf &^= fProtected
		}
		return p
	}
	return true
}

// protected reports whether every other non-forked writer at the tip has
// acknowledged h (and there is at least one). Never in open mode.
func (v *View[S, A]) protected(h uint32) bool {
	p, _ := v.protection(h)
	return p
}

// protection decides a fork-class entry h: it is protected if every other
// non-forked writer at the tip (at least one) had h in the causal past of
// its first entry that sorts after h (or of the entry that added it).
// decided is false while some such writer has no entry after h yet: until
// then h does not count and finality waits before it. The first entry after
// h, not the newest, is what makes the decision final: no later
// acknowledgement can pull h back below a frontier that passed it.
func (v *View[S, A]) protection(h uint32) (protected, decided bool) {
	if v.open {
		return false, true
	}
	a := v.authorOfRec(h)
	n := 0
	protected, decided = true, true
	for w := range v.authors {
		if !v.wtip[w] || uint32(w) == a || v.authors[w].forkSeq != 0 {
			continue
		}
		n++
		if ad := v.addOp[w]; ad != 0 && v.inPast(h, ad-1) {
			continue
		}
		hs := v.lanes[v.authors[w].main].hs
		i, _ := slices.BinarySearchFunc(hs, h, func(x, h uint32) int {
			if v.less(h, x) {
				return 1
			}
			return -1
		})
		if i == len(hs) {
			decided = false
			protected = false
			continue
		}
		if !v.inPast(h, hs[i]) {
			protected = false
		}
	}
	return protected && n > 0, decided
}

func (v *View[S, A]) protectionChanged() bool {
	// A decided entry stays decided until the next rebuild (which follows
	// any change of the writer set or a new fork), so only undecided ones
	// stay on the list: a forked writer that keeps writing costs nothing.
	keep := v.forkRecs[:0]
	changed := false
	for _, h := range v.forkRecs {
		r := v.rec(h)
		if r.lf&fSquashed != 0 {
			continue
		}
		p, decided := v.protection(h)
		if p != (r.lf&fProtected != 0) {
			changed = true
		}
		if !decided {
			keep = append(keep, h)
		}
	}
	if !changed {
		v.forkRecs = keep
	}
	return changed
}

// decideMembership decides which membership entries take effect
// (merge-v1.md, 4.2): in key order, an entry is effective if its author is
// a writer in its causal past, is not forked at its seq, and is not
// concurrent with an effective removal of its author. A removal silences
// its target's concurrent membership entries even when they sort before
// it; silencing one can change what later entries decide, so the decision
// is repeated until the silenced set stops growing (it only grows, so this
// ends).
func (v *View[S, A]) decideMembership() {
	silenced := make([]bool, len(v.ops))
	concurrent := func(a, b uint32) bool { return !v.inPast(a, b) && !v.inPast(b, a) }
	for {
		clear(v.touched)
		v.removes = false
		for i := range v.ops {
			op := &v.ops[i]
			a := v.authorOfRec(op.h)
			op.valid = v.writerAt(op.h)
			fs := v.authors[a].forkSeq
			op.effective = op.valid && !silenced[i] && (fs == 0 || v.rec(op.h).seq < fs)
			for j := 0; j < i && op.effective; j++ {
				r := &v.ops[j]
				if r.effective && r.op == OpRemove && r.target == a && concurrent(r.h, op.h) {
					op.effective = false
				}
			}
			if op.effective {
				v.touched[op.target] = true
				v.removes = v.removes || op.op == OpRemove
			}
		}
		grew := false
		for j := range v.ops {
			r := &v.ops[j]
			if !r.effective || r.op != OpRemove {
				continue
			}
			for i := range v.ops {
				op := &v.ops[i]
				if op.effective && !silenced[i] && v.authorOfRec(op.h) == r.target && concurrent(r.h, op.h) {
					silenced[i], grew = true, true
				}
			}
		}
		if !grew {
			return
		}
	}
}

// rebuild recomputes membership, the writer set at the tip and which
// entries count, then the order. Rare: after a fork or a membership entry.
func (v *View[S, A]) rebuild(res *Result) {
	v.decideMembership()
	for a := range v.authors {
		v.wtip[a] = v.authors[a].initial
		v.addOp[a] = 0
	}
	adds := make([]int, len(v.authors))
	for i := range v.ops {
		if op := &v.ops[i]; op.effective {
			v.wtip[op.target] = op.op == OpAdd
			if op.op == OpAdd {
				v.addOp[op.target] = op.h + 1
				adds[op.target]++
			} else {
				v.addOp[op.target] = 0
			}
		}
	}
	// The add acknowledges its past on the new writer's behalf only when
	// no entry of that writer can count without it: the writer is not
	// initial and nothing else ever added it.
	for a := range v.authors {
		if v.authors[a].initial || adds[a] != 1 {
			v.addOp[a] = 0
		}
	}
	old := v.order
	var order []uint32
	v.forkRecs = v.forkRecs[:0]
	for h := range v.nrecs {
		r := v.rec(uint32(h))
		if r.lf&fSquashed != 0 {
			continue
		}
		r.lf &^= fCounting | fForkClass | fProtected
		if !v.counts(uint32(h)) {
			continue
		}
		if v.squashed > 0 && v.key(uint32(h)).Compare(v.squashKey) <= 0 {
			res.Rejected = append(res.Rejected, Rejection{ID: r.id, Author: v.authors[v.authorOfRec(uint32(h))].id, Seq: r.seq,
				Err: fmt.Errorf("merge: entry sorts below the squashed frontier")})
			continue
		}
		r.lf |= fCounting
		order = append(order, uint32(h))
	}
	slices.SortFunc(order, func(a, b uint32) int { return v.key(a).Compare(v.key(b)) })
	v.order = order
	p := 0
	for p < len(old) && p < len(v.order) && old[p] == v.order[p] {
		p++
	}
	v.dirty = min(v.dirty, p)
	for _, h := range old {
		if v.rec(h).lf&fCounting == 0 && v.rec(h).lf&fRefused != 0 {
			v.rec(h).lf &^= fRefused
			res.Unrefused = append(res.Unrefused, v.rec(h).id)
		}
	}
}
