package sbfeed

import (
	"fmt"
	"unsafe"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// mergeView adapts merge.View (the rewindable reducer with the merge-v1
// order, fork rule, finality and snapshot policy) to the node.
//
// merge.Config.Decode receives an entry's content only, but the node needs
// the author to decode: a sealed action opens only with its author in the
// associated data, and Authored actions learn who signed them. The view
// decodes each entry exactly once, inside the Add that places it, passing
// the entry's own Content slice; so the adapter records, just before each
// Add, which author each content slice belongs to, keyed by the address of
// its first byte, and looks it up in Decode. Every peer gets the same
// author for the same entry, so the decode stays deterministic.
type mergeView[S, A any] struct {
	v       *merge.View[S, A]
	opts    *Options
	authors map[*byte]identity.ID
}

func newMergeView[S, A any](reducer func(S, A) (S, error), o *Options) (*mergeView[S, A], error) {
	mv := &mergeView[S, A]{opts: o, authors: map[*byte]identity.ID{}}
	kind := feed.Lamport
	if o.Timestamps == HLC {
		kind = feed.HLC
	}
	v, err := merge.New(merge.Config[S, A]{
		Reducer: merge.Reducer[S, A](reducer),
		Decode:  mv.decode,
		Writers: o.Writers,
		Snapshots: merge.SnapshotPolicy{
			Spacing: o.Snapshots.Every, MaxKept: o.Snapshots.Keep, MaxAge: o.Snapshots.MaxAge,
		},
		Clock: merge.ClockPolicy{Kind: kind, MaxSkew: uint64(o.MaxClockSkew.Milliseconds())},
	})
	if err != nil {
		return nil, err
	}
	mv.v = v
	return mv, nil
}

func contentKey(c []byte) *byte {
	if len(c) == 0 {
		return nil
	}
	return unsafe.SliceData(c)
}

// Add places entries (any order, duplicates allowed) and folds.
func (mv *mergeView[S, A]) Add(entries ...feed.Entry) merge.Result {
	for i := range entries {
		if k := contentKey(entries[i].Content); k != nil {
			mv.authors[k] = entries[i].Author
		}
	}
	res := mv.v.Add(entries...)
	mv.tidy()
	return res
}

// AddForkProof applies the fork rule for p.
func (mv *mergeView[S, A]) AddForkProof(p feed.ForkProof) merge.Result {
	for _, e := range []*feed.Entry{&p.A, &p.B} {
		if k := contentKey(e.Content); k != nil {
			mv.authors[k] = e.Author
		}
	}
	res := mv.v.AddForkProof(p)
	mv.tidy()
	return res
}

// SetNow passes the wall clock to the view (HLC).
func (mv *mergeView[S, A]) SetNow(ms uint64) merge.Result {
	res := mv.v.SetNow(ms)
	mv.tidy()
	return res
}

// tidy forgets the recorded authors once nothing waits in the view: every
// entry given has then been decoded or rejected.
func (mv *mergeView[S, A]) tidy() {
	if mv.v.Pending() == 0 && len(mv.authors) > 0 {
		clear(mv.authors)
	}
}

func (mv *mergeView[S, A]) decode(content []byte) (A, error) {
	var author identity.ID
	if k := contentKey(content); k != nil {
		a, ok := mv.authors[k]
		if !ok {
			var zero A
			return zero, fmt.Errorf("sbfeed: internal: no author recorded for content")
		}
		author = a
		delete(mv.authors, k)
	}
	return decodeAction[A](mv.opts, author, content)
}

func (mv *mergeView[S, A]) State() S { return mv.v.State() }
func (mv *mergeView[S, A]) Len() int { return mv.v.Len() }

// Refusals returns the refused entries of the current order.
func (mv *mergeView[S, A]) Refusals() []Refusal {
	var out []Refusal
	for _, r := range mv.v.Refusals() {
		out = append(out, refusalOf(r))
	}
	return out
}

func refusalOf(r merge.Refusal) Refusal {
	return Refusal{Author: r.Author, Seq: r.Seq, ID: r.ID, Reason: r.Err.Error()}
}
