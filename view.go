package sbfeed

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// foldView is the node's rewindable reducer: the state is always the fold of
// the reducer over every counted entry in (clock, ID) order. A late entry is
// inserted in its place and the view replays from the newest snapshot
// before it. It runs only on the node's owner goroutine.
//
// It is a local adapter with the merge-v1 ordering rule (clock, then entry
// ID) and fork rule (entries of a forked feed from the fork seq on do not
// count).
type foldView[S, A any] struct {
	reduce func(S, A) (S, error)
	decode func(e *feed.Entry) (A, error)
	every  int // snapshot spacing

	items []viewItem[A]
	known map[feed.ID]struct{}
	forks map[identity.ID]uint64 // author → lowest forked seq

	// snaps[i] is the state before items[i*every].
	snaps  []S
	state  S
	folded int // items[:folded] are folded into state

	// refused, in order, for the current fold.
	refusedN int
}

type viewItem[A any] struct {
	clock  uint64
	id     feed.ID
	author identity.ID
	seq    uint64
	action A
	err    error // decode error: always refused
	// refusal of the current fold; empty if applied or not counted.
	refused string
}

func newFoldView[S, A any](reduce func(S, A) (S, error), decode func(*feed.Entry) (A, error), every int) *foldView[S, A] {
	if every <= 0 {
		every = 256
	}
	var zero S
	return &foldView[S, A]{reduce: reduce, decode: decode, every: every, known: map[feed.ID]struct{}{},
		forks: map[identity.ID]uint64{}, snaps: []S{zero}}
}

// itemCmp orders items by (clock, ID), the merge order.
func itemCmp[A any](a viewItem[A], b viewItem[A]) int {
	if c := cmp.Compare(a.clock, b.clock); c != 0 {
		return c
	}
	return a.id.Compare(b.id)
}

// Insert adds e (a verified, stored entry) in its place. Duplicates are
// ignored. It does not fold: call Fold.
func (v *foldView[S, A]) Insert(e *feed.Entry) {
	id := e.ID()
	if _, ok := v.known[id]; ok {
		return
	}
	v.known[id] = struct{}{}
	it := viewItem[A]{clock: e.Clock, id: id, author: e.Author, seq: e.Seq}
	it.action, it.err = v.decode(e)
	n := len(v.items)
	p := n
	if n > 0 && itemCmp(it, v.items[n-1]) < 0 {
		p, _ = slices.BinarySearchFunc(v.items, it, itemCmp[A])
	}
	v.items = slices.Insert(v.items, p, it)
	v.rewind(p)
}

// Fork records that author's feed forked at seq: its entries from seq on
// stop counting.
func (v *foldView[S, A]) Fork(author identity.ID, seq uint64) {
	if old, ok := v.forks[author]; ok && old <= seq {
		return
	}
	v.forks[author] = seq
	for i := range v.items {
		if v.items[i].author == author && v.items[i].seq >= seq {
			v.rewind(i)
			return
		}
	}
}

// rewind makes the fold restart at or before item p.
func (v *foldView[S, A]) rewind(p int) {
	if p >= v.folded {
		return
	}
	k := p / v.every
	v.snaps = v.snaps[:k+1]
	v.state = v.snaps[k]
	v.folded = k * v.every
	for i := v.folded; i < len(v.items); i++ {
		if v.items[i].refused != "" {
			v.refusedN--
			v.items[i].refused = ""
		}
	}
}

// Fold applies every item not yet folded and calls refused for each newly
// refused one. It reports whether the state may have changed.
func (v *foldView[S, A]) Fold(refused func(it *viewItem[A])) bool {
	if v.folded == len(v.items) {
		return false
	}
	for ; v.folded < len(v.items); v.folded++ {
		i := v.folded
		if i > 0 && i%v.every == 0 && len(v.snaps) == i/v.every {
			v.snaps = append(v.snaps, v.state)
		}
		it := &v.items[i]
		if f, ok := v.forks[it.author]; ok && it.seq >= f {
			continue
		}
		if it.err != nil {
			it.refused = it.err.Error()
		} else if next, err := v.apply(it.action); err != nil {
			it.refused = err.Error()
		} else {
			v.state = next
		}
		if it.refused != "" {
			v.refusedN++
			if refused != nil {
				refused(it)
			}
		}
	}
	return true
}

// apply runs the reducer, turning a panic into a refusal.
func (v *foldView[S, A]) apply(a A) (s S, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reducer panicked: %v", r)
		}
	}()
	return v.reduce(v.state, a)
}

// State returns the current fold.
func (v *foldView[S, A]) State() S { return v.state }

// Len returns the number of entries held.
func (v *foldView[S, A]) Len() int { return len(v.items) }
