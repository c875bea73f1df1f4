package merge

import (
	"fmt"
	"slices"
)

// Which placed entries count (merge-v1.md sections 3 and 4): membership,
// the removal cut, the fork rule, and the recount after rare events.

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
