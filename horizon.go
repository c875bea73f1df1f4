package sbfeed

import (
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// foldHorizon decides the merge view's fold horizon (merge.View.SetHorizon)
// during a bulk sync. While a peer holds more of some feed than the node has
// stored, that feed's next entries sort after its stored head, so folding
// past the lowest such head's clock would replay everything behind each
// late entry: a fresh node joining three writers folded each action about
// three times. Peers send feeds one after another, so a feed may wait for
// seconds before its first entry comes; it holds the horizon all along.
//
// A peer may also announce entries it never sends. So the horizon applies
// only while the node is storing entries in bulk (at least bulkPerTick in
// the last tick): a false announcement can then delay the state only while
// a real bulk sync runs, and live traffic, a few entries a tick, always
// folds at once. It is driven by the owner goroutine.
type foldHorizon struct {
	stored int  // entries stored since the last tick
	bulk   bool // the last tick stored at least bulkPerTick
}

// bulkPerTick is how many entries stored in one tick make a bulk sync:
// 2,560 a second at the default tick, far above what live applications
// write and far below what a sync moves.
const bulkPerTick = 256

// add counts stored entries. It reports whether a bulk sync has just
// started, so that the caller sets the horizon without waiting for the
// next tick.
func (h *foldHorizon) add(n int) bool {
	h.stored += n
	return !h.bulk && h.stored >= bulkPerTick && h.stored-n < bulkPerTick
}

// tick ends a tick: the sync is in bulk if the tick stored enough (or the
// one before it, the tick having started mid-sync).
func (h *foldHorizon) tick() {
	h.bulk = h.stored >= bulkPerTick
	h.stored = 0
}

// value returns the horizon for the feeds behind (replicate.Hub.Behind,
// read only during a bulk sync, as it walks every session's feeds) given
// their stored heads: the lowest stored-head clock among them during a
// bulk sync, else merge.NoHorizon.
func (h *foldHorizon) value(behind func() map[identity.ID]uint64, head func(identity.ID) feed.Head) uint64 {
	out := merge.NoHorizon
	if !h.bulk && h.stored < bulkPerTick {
		return out
	}
	for a := range behind() {
		out = min(out, head(a).Clock)
	}
	return out
}
