package merge

import (
	"fmt"
	"iter"
	"reflect"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// fold makes state the fold over the whole order: it rewinds to the newest
// snapshot at or before the lowest changed position and replays from there.
func (v *View[S, A]) fold(res *Result) {
	if v.dirty < v.folded {
		i := len(v.snaps)
		for i > 1 && v.snaps[i-1].pos > v.dirty {
			i--
		}
		v.snaps = v.snaps[:i]
		s := v.snaps[i-1]
		v.state = v.cloneState(s.state)
		v.folded = s.pos
		res.Changed = true
	}
	sp := v.cfg.Snapshots.Spacing
	for v.folded < len(v.order) {
		if v.folded%sp == 0 && v.folded > v.snaps[len(v.snaps)-1].pos {
			v.takeSnapshot()
		}
		h := v.order[v.folded]
		r := v.rec(h)
		if r.clock > v.horizon {
			break
		}
		next, err := v.step(v.state, h, res)
		was := r.lf&fRefused != 0
		if err != nil {
			if !was || v.refusals[h] == nil {
				res.Refused = append(res.Refused, Refusal{ID: r.id, Author: v.authors[v.authorOfRec(h)].id, Seq: r.seq, Err: err})
			}
			r.lf |= fRefused
			v.refusals[h] = err
		} else {
			if was {
				r.lf &^= fRefused
				delete(v.refusals, h)
				res.Unrefused = append(res.Unrefused, r.id)
			}
			v.state = next
		}
		v.folded++
		res.Changed = true
	}
	v.dirty = len(v.order)
}

// Folded returns the number of entries folded into State, squashed ones
// included: Len, unless a horizon (SetHorizon) holds some back.
func (v *View[S, A]) Folded() int { return int(v.squashed) + v.folded }

// step applies the entry h to s. Membership entries do not reach the
// reducer; undecodable content is refused.
func (v *View[S, A]) step(s S, h uint32, res *Result) (S, error) {
	r := v.rec(h)
	switch {
	case r.lf&fBad != 0:
		return s, v.refusals[h]
	case r.lf&fMember != 0:
		if !v.opEffective(h) {
			return s, fmt.Errorf("%w: made after its author forked", ErrMembership)
		}
		return s, nil
	}
	if res != nil {
		res.Replayed++
	}
	if v.cfg.CheckReducer {
		before := fmt.Sprintf("%#v", s)
		next, err := v.apply(s, r.action)
		if after := fmt.Sprintf("%#v", s); after != before && v.mutation == nil {
			v.mutation = fmt.Errorf("%w: the reducer changed its input state while applying %s:%d#%s",
				ErrStateMismatch, v.authors[v.authorOfRec(h)].id.Short(), r.seq, r.id.Short())
		}
		return next, err
	}
	return v.apply(s, r.action)
}

func (v *View[S, A]) opEffective(h uint32) bool {
	i, ok := slices.BinarySearchFunc(v.ops, h, func(o memberOp, h uint32) int { return v.key(o.h).Compare(v.key(h)) })
	return ok && v.ops[i].effective
}

// apply calls the reducer; an error or a panic refuses the action and
// leaves s as it was.
func (v *View[S, A]) apply(s S, a A) (next S, err error) {
	defer func() {
		if p := recover(); p != nil {
			next, err = s, fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	next, err = v.cfg.Reducer(s, a)
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrReducer, err)
	}
	return next, nil
}

func (v *View[S, A]) takeSnapshot() {
	v.snaps = append(v.snaps, snap[S]{pos: v.folded, state: v.cloneState(v.state)})
	v.pruneSnapshots()
}

// pruneSnapshots applies the snapshot policy: the base always stays; below
// the final frontier only the newest snapshot stays; beyond MaxAge behind
// the tip none; at most MaxKept besides the base, the oldest going first.
func (v *View[S, A]) pruneSnapshots() {
	keep := v.snaps[:1]
	floor := 0 // index in v.snaps of the newest snapshot at or below final
	for i := 1; i < len(v.snaps); i++ {
		if v.snaps[i].pos <= v.final {
			floor = i
		}
	}
	tip := len(v.order)
	for i := 1; i < len(v.snaps); i++ {
		s := v.snaps[i]
		if i < floor {
			continue
		}
		if v.cfg.Snapshots.MaxAge > 0 && tip-s.pos > v.cfg.Snapshots.MaxAge {
			continue
		}
		keep = append(keep, s)
	}
	if extra := len(keep) - 1 - v.cfg.Snapshots.MaxKept; extra > 0 {
		keep = append(keep[:1], keep[1+extra:]...)
	}
	clear(v.snaps[len(keep):])
	v.snaps = keep
}

// advanceFinal moves the final frontier: the longest prefix of the order
// every current writer has acknowledged (see [Final]).
func (v *View[S, A]) advanceFinal(res *Result) {
	if v.open {
		return
	}
	low := v.lowBuf[:0]
	for range v.lanes {
		low = append(low, ^uint64(0))
	}
	v.lowBuf = low
	n := 0
	for w := range v.authors {
		if !v.wtip[w] || v.authors[w].forkSeq != 0 {
			continue
		}
		n++
		g := v.lanes[v.authors[w].main].tip
		ad := v.addOp[w]
		for l := range low {
			var c uint64
			if g != noHandle {
				c = v.vcAt(g, uint32(l))
			}
			if ad != 0 {
				c = max(c, v.vcAt(ad-1, uint32(l)))
			}
			low[l] = min(low[l], c)
		}
	}
	// Finality waits before any fork-class entry not decided yet.
	var wall Key
	walled := false
	for _, h := range v.forkRecs {
		r := v.rec(h)
		if r.lf&(fSquashed|fCounting) != 0 {
			continue
		}
		if _, decided := v.protection(h); !decided {
			if k := v.key(h); !walled || k.Compare(wall) < 0 {
				wall, walled = k, true
			}
		}
	}
	f := v.final
	if n == 0 {
		f = len(v.order)
	}
	for f < len(v.order) {
		h := v.order[f]
		r := v.rec(h)
		if r.lf&fForkClass == 0 && r.seq > low[r.lane()] {
			break
		}
		if walled && v.key(h).Compare(wall) > 0 {
			break
		}
		f++
	}
	if f != v.final {
		v.final = f
		res.FinalAdvanced = true
		if len(v.snaps) > 2 && v.snaps[2].pos <= f {
			v.pruneSnapshots() // two snapshots at or below final: one can go
		}
	}
}

// State returns the fold of the reducer over the current order. Treat it
// as read-only: it is the view's own value.
func (v *View[S, A]) State() S { return v.state }

// Len returns the number of entries in the order, squashed ones included.
func (v *View[S, A]) Len() int { return int(v.squashed) + len(v.order) }

// Snapshots returns the number of snapshots kept, the base included.
func (v *View[S, A]) Snapshots() int { return len(v.snaps) }

// Known returns the number of entries placed (counting or not).
func (v *View[S, A]) Known() int { return v.nrecs }

// Pending returns the number of entries waiting.
func (v *View[S, A]) Pending() int { return v.npending }

// Order yields the entries of the order not yet squashed, with their
// positions (squashed entries included in the numbering).
func (v *View[S, A]) Order() iter.Seq2[int, Placed] {
	return func(yield func(int, Placed) bool) {
		for i, h := range v.order {
			if !yield(int(v.squashed)+i, v.placed(h)) {
				return
			}
		}
	}
}

func (v *View[S, A]) placed(h uint32) Placed {
	r := v.rec(h)
	p := Placed{ID: r.id, Author: v.authors[v.authorOfRec(h)].id, Seq: r.seq, Clock: r.clock, Member: r.lf&fMember != 0}
	if r.lf&fRefused != 0 {
		p.Refused = v.refusals[h]
	}
	return p
}

// Refusals returns the entries of the order (not squashed) that currently
// have no effect, in order.
func (v *View[S, A]) Refusals() []Refusal {
	var out []Refusal
	for _, h := range v.order {
		r := v.rec(h)
		if r.lf&fRefused != 0 {
			out = append(out, Refusal{ID: r.id, Author: v.authors[v.authorOfRec(h)].id, Seq: r.seq, Err: v.refusals[h]})
		}
	}
	return out
}

// Final returns the final frontier.
func (v *View[S, A]) Final() Frontier {
	if v.final == 0 {
		if v.squashed == 0 {
			return Frontier{}
		}
		return Frontier{Count: v.squashed, Clock: v.squashKey.Clock, Last: v.squashKey.ID}
	}
	k := v.key(v.order[v.final-1])
	return Frontier{Count: v.squashed + uint64(v.final), Clock: k.Clock, Last: k.ID}
}

// Writers returns the writer set at the tip, sorted; nil in open mode.
// Forked writers stay listed (they are no longer waited for).
func (v *View[S, A]) Writers() []identity.ID {
	if v.open {
		return nil
	}
	var out []identity.ID
	for a := range v.authors {
		if v.wtip[a] {
			out = append(out, v.authors[a].id)
		}
	}
	slices.SortFunc(out, func(a, b identity.ID) int { return feed.ID(a).Compare(feed.ID(b)) })
	return out
}

// Forked returns the authors found forked and the seq of each fork.
func (v *View[S, A]) Forked() map[identity.ID]uint64 {
	out := map[identity.ID]uint64{}
	for _, a := range v.authors {
		if a.forkSeq != 0 {
			out[a.id] = a.forkSeq
		}
	}
	return out
}

// Squash folds the final prefix not yet squashed into a Snapshot and drops
// it from the view: actions and snapshots below it are released and the
// view never rewinds below it again. It returns ErrNothingFinal if no new
// entry is final.
func (v *View[S, A]) Squash() (Snapshot[S], error) {
	f := v.final
	if f == 0 {
		return Snapshot[S]{}, ErrNothingFinal
	}
	if v.folded < f {
		// A horizon held back part of the final prefix: fold it, so the
		// refusals recorded in it are the ones squashed.
		v.FoldAll()
	}
	// The state after order[:f]: from the newest snapshot at or below f.
	i := len(v.snaps) - 1
	for i > 0 && v.snaps[i].pos > f {
		i--
	}
	s := v.cloneState(v.snaps[i].state)
	for p := v.snaps[i].pos; p < f; p++ {
		if next, err := v.step(s, v.order[p], nil); err == nil {
			s = next
		}
	}
	ids := make([]feed.ID, f)
	for p := range f {
		ids[p] = v.rec(v.order[p]).id
	}
	tree, err := TreeRoot(ids)
	if err != nil {
		return Snapshot[S]{}, err
	}
	fr := v.Final()
	out := Snapshot[S]{
		State:    v.cloneState(s),
		Writers:  v.Writers(),
		Start:    v.squashed,
		Frontier: fr,
		Prev:     v.prevRoot,
		Tree:     tree,
		IDs:      ids,
	}
	out.Root = SquashRoot(out.Prev, out.Start, uint64(f), tree)

	var zero A
	for _, h := range v.order[:f] {
		r := v.rec(h)
		r.lf = (r.lf | fSquashed) &^ fCounting
		r.action = zero
		delete(v.refusals, h)
	}
	v.squashKey = v.key(v.order[f-1])
	v.squashed += uint64(f)
	v.prevRoot = out.Root
	v.order = slices.Clone(v.order[f:])
	v.folded -= f
	v.dirty = max(0, v.dirty-f)
	v.final = 0
	snaps := []snap[S]{{pos: 0, state: s}}
	for _, sn := range v.snaps {
		if sn.pos > f {
			snaps = append(snaps, snap[S]{pos: sn.pos - f, state: sn.state})
		}
	}
	v.snaps = snaps
	return out, nil
}

// Check re-folds the order from the base snapshot and compares the result,
// and every retained snapshot on the way, with what the view holds
// (reflect.DeepEqual). It also reports a mutation of the input state seen
// by Config.CheckReducer. A mismatch means the reducer mutated a state it
// was given (set Config.Clone) or is not deterministic.
func (v *View[S, A]) Check() error {
	if v.mutation != nil {
		return v.mutation
	}
	s := v.cloneState(v.snaps[0].state)
	j := 1
	for p, h := range v.order[:v.folded] {
		for j < len(v.snaps) && v.snaps[j].pos == p {
			if !reflect.DeepEqual(s, v.snaps[j].state) {
				return fmt.Errorf("%w: snapshot at position %d", ErrStateMismatch, int(v.squashed)+p)
			}
			j++
		}
		if next, err := v.step(s, h, nil); err == nil {
			s = next
		}
	}
	if v.mutation != nil {
		return v.mutation
	}
	if !reflect.DeepEqual(s, v.state) {
		return fmt.Errorf("%w: state at position %d", ErrStateMismatch, v.Folded())
	}
	return nil
}
