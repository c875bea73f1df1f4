package merge

import (
	"iter"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// View is the rewindable reducer over the merge order. It is not safe for
// concurrent use: one goroutine (the node's owner loop) drives it.
type View[S, A any] struct {
	cfg   Config[S, A]
	state S
}

// New returns an empty view.
func New[S, A any](cfg Config[S, A]) (*View[S, A], error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &View[S, A]{cfg: c, state: cfg.Initial}, nil
}

// Add adds entries in any order, any number of times. The entries must
// have passed [feed.Entry.Verify] (signatures are not checked here); the
// chain, clock and reference rules are checked here.
func (v *View[S, A]) Add(entries ...feed.Entry) Result { return Result{} }

// AddForkProof adds the evidence that an author forked: both entries are
// added and the author's entries from the fork seq on stop counting. The
// caller must have verified the proof ([feed.ForkProof.Verify]).
func (v *View[S, A]) AddForkProof(p feed.ForkProof) Result { return Result{} }

// SetNow tells the view the wall time in milliseconds since the Unix epoch,
// for HLC skew checks; entries waiting for it may be placed.
func (v *View[S, A]) SetNow(ms uint64) Result { return Result{} }

// State returns the fold of the reducer over the current order.
func (v *View[S, A]) State() S { return v.state }

// Len returns the number of entries in the order (squashed ones included).
func (v *View[S, A]) Len() int { return 0 }

// Order yields the entries of the order not yet squashed, with their
// positions.
func (v *View[S, A]) Order() iter.Seq2[int, Placed] { return func(func(int, Placed) bool) {} }

// Refusals returns the entries of the order that currently have no effect
// because the reducer or the membership rules refused them, in order.
func (v *View[S, A]) Refusals() []Refusal { return nil }

// Final returns the final frontier.
func (v *View[S, A]) Final() Frontier { return Frontier{} }

// Writers returns the current writer set, sorted.
func (v *View[S, A]) Writers() []identity.ID { return nil }

// Pending returns the number of entries waiting.
func (v *View[S, A]) Pending() int { return 0 }

// Squash folds the final prefix not yet squashed into a Snapshot and drops
// it from the view; the view never rewinds below it afterwards.
func (v *View[S, A]) Squash() (Snapshot[S], error) { return Snapshot[S]{}, ErrNothingFinal }

// Check re-folds the order from the base and compares the result, and every
// retained snapshot, with what the view holds. A mismatch means the reducer
// mutated a state it was given (set Config.Clone) or is not deterministic.
func (v *View[S, A]) Check() error { return nil }
