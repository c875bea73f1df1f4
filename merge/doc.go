// Package merge turns the feeds of many writers into one total order and
// folds an application reducer over it: the deterministic merge and the
// rewindable reducer of sbfeed. It sits above [feed] (which makes each
// writer's log unforgeable) and below the node (which owns the goroutine,
// the store and the network).
//
// # The order
//
// Every peer that holds the same set of entries computes the same order:
// entries are sorted by (clock, entry ID). The clock rules of [feed] (an
// entry's clock is above its previous entry's and above every entry it
// references) make this order respect causality; the ID, a hash, breaks
// ties. A [View] checks those rules itself ([feed.Entry.VerifyAfter],
// [feed.Entry.VerifyRefs]) before it places an entry, identically on every
// peer, and parks an entry whose previous entry or references are not known
// yet in a bounded pending set until they arrive.
//
// # The rewindable reducer
//
// [View] is generic over the application's state S and action A. A
// Redux-style reducer, func(state S, action A) (S, error), drops in
// unchanged ([Reducer]), with a codec from entry content to A. Entries may be
// added in any order, any number of times; an entry that sorts before the
// tip is inserted in its place: the view restores the newest snapshot at or
// before it and replays the rest, so [View.State] is always the fold of the
// reducer over the current order. A reducer that returns an error or panics
// refuses the action: it has no effect and the refusal is recorded
// ([View.Refusals]); every peer refuses the same actions.
//
// Snapshot safety: a snapshot is the state value the reducer returned. The
// reducer must therefore not mutate the state it is given (return a new
// value, as Redux requires), or the configuration must provide
// [Config.Clone], which the view then applies whenever it keeps or restores
// a snapshot. [View.Check] re-folds from the base and reports a mismatch
// ([ErrStateMismatch]), which is how a mutating reducer is caught in tests.
//
// # Writers, finality and squashing
//
// The writer set is explicit: [Config.Writers], grown and shrunk by
// membership entries (content built by [AddWriterContent] and
// [RemoveWriterContent]) from existing writers. An entry is final when every
// current writer has acknowledged it, that is, has it in the causal past of
// its newest entry; the final part of the order is a prefix that can never
// change again ([Final] computes it as a pure function). [View.Squash]
// folds the final prefix into a [Snapshot] with the state, the frontier and
// a Merkle root over the squashed entry IDs; [Snapshot.Prove] and
// [VerifyInclusion] let an auditor check that an entry is inside it. A
// writer that never comes back stops finality; removing it restores
// progress (its entries concurrent with the removal stop counting).
//
// # Forks
//
// An author with two entries at one seq is forked. Its entries from the
// fork seq on stop counting, on every peer, whatever order it learned things
// in, except entries every other current writer had already acknowledged
// (which may already be final somewhere and so must stay).
//
// # Driving a view
//
// The node's owner goroutine does, for every batch of entries it has
// verified and persisted:
//
//	r := view.Add(entries...)          // any order, duplicates fine
//	if r.Changed { notify(view.State()) }
//	for _, x := range r.Refused { report(x) }   // identical on every peer
//	if r.FinalAdvanced { snap, _ := view.Squash(); persist(snap) }
//	if r.FinalReverted { log(...) }    // only under equivocation
//
// on a fork proof from the store, view.AddForkProof(p); with HLC clocks,
// view.SetNow(ms) on every tick. Config.IndexSeed should come from
// crypto/rand (the view itself never reads randomness).
//
// The rules, with worked examples, are in docs/spec/merge-v1.md.
//
// The package is pure: no goroutines, clocks, randomness or I/O. Time
// enters only through [View.SetNow], called by the node.
package merge
