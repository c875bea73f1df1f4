package sbfeed

import (
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/merge"
)

// mergeView adapts merge.View (the rewindable reducer with the merge-v1
// order, fork rule, finality and snapshot policy) to the node: it decodes
// each entry with its author (merge.Config.DecodeEntry), because a sealed
// action opens only with its author in the associated data, and Authored
// actions learn who signed them.
type mergeView[S, A any] struct {
	v    *merge.View[S, A]
	opts *Options
}

func newMergeView[S, A any](reducer func(S, A) (S, error), o *Options) (*mergeView[S, A], error) {
	mv := &mergeView[S, A]{opts: o}
	kind := feed.Lamport
	if o.Timestamps == HLC {
		kind = feed.HLC
	}
	v, err := merge.New(merge.Config[S, A]{
		Reducer:     merge.Reducer[S, A](reducer),
		DecodeEntry: func(e *feed.Entry) (A, error) { return decodeAction[A](o, e.Author, e.Content) },
		Writers:     o.Writers,
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

// Add places entries (any order, duplicates allowed) and folds.
func (mv *mergeView[S, A]) Add(entries ...feed.Entry) merge.Result { return mv.v.Add(entries...) }

// AddForkProof applies the fork rule for p.
func (mv *mergeView[S, A]) AddForkProof(p feed.ForkProof) merge.Result { return mv.v.AddForkProof(p) }

// SetNow passes the wall clock to the view (HLC).
func (mv *mergeView[S, A]) SetNow(ms uint64) merge.Result { return mv.v.SetNow(ms) }

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
