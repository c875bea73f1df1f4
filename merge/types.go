package merge

import (
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Result reports what one call to [View.Add], [View.AddForkProof] or
// [View.SetNow] did. The node turns it into notifications for subscribers.
type Result struct {
	// Changed reports that the state may differ from before the call.
	Changed bool
	// Placed counts entries that entered the view (including entries that
	// were waiting and could now be placed); Duplicates the ones already
	// known; Pending the entries waiting after the call.
	Placed, Duplicates, Pending int
	// Refused lists entries newly refused by this call's fold (reducer
	// error, panic, undecodable content, invalid membership entry).
	// Unrefused lists entries refused before that a replay now applied.
	Refused   []Refusal
	Unrefused []feed.ID
	// Rejected lists entries that were not placed and never will be as
	// they are: wrong clock kind, broken chain, bad clock, bad reference,
	// or no room in the pending set (add again later).
	Rejected []Rejection
	// Forks lists authors newly found forked.
	Forks []identity.ID
	// Final is the final frontier after the call; FinalAdvanced reports
	// that it moved.
	Final         Frontier
	FinalAdvanced bool
	// FinalReverted reports that entries this view had reported final left
	// their place: only possible when a writer forked at a seq some of whose
	// entries were already final here (equivocation; merge-v1.md, "Known
	// limits"). The node should log it loudly.
	FinalReverted bool
	// Replayed counts reducer calls made by this call (replays included).
	Replayed int
}

// Refusal is an entry that is in the order but has no effect.
type Refusal struct {
	ID     feed.ID
	Author identity.ID
	Seq    uint64
	Err    error // wraps ErrReducer, ErrPanic, ErrDecode or ErrMembership
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s:%d#%s refused: %v", r.Author.Short(), r.Seq, r.ID.Short(), r.Err)
}

// Rejection is an entry the view did not place.
type Rejection struct {
	ID     feed.ID
	Author identity.ID
	Seq    uint64
	Err    error // a feed sentinel (ErrBrokenChain, ErrBadClock, ErrBadRef), ErrClockKind or ErrPendingFull
}

func (r Rejection) String() string {
	return fmt.Sprintf("%s:%d#%s rejected: %v", r.Author.Short(), r.Seq, r.ID.Short(), r.Err)
}

// Placed describes one entry of the order.
type Placed struct {
	ID      feed.ID
	Author  identity.ID
	Seq     uint64
	Clock   uint64
	Member  bool  // a membership entry
	Refused error // non-nil if the entry has no effect
}

func (p Placed) String() string {
	s := fmt.Sprintf("%s:%d@%d#%s", p.Author.Short(), p.Seq, p.Clock, p.ID.Short())
	if p.Refused != nil {
		s += " refused"
	}
	return s
}

// Frontier is the end of the final prefix of the order: Count entries (from
// the very first, squashed ones included) are final, the last of them being
// Last at clock Clock. The zero Frontier means nothing is final.
type Frontier struct {
	Count uint64
	Clock uint64
	Last  feed.ID
}

// Key is an entry's position key in the merge order: (Clock, ID).
type Key struct {
	Clock uint64
	ID    feed.ID
}

// Compare orders keys: by clock, then by ID bytewise.
func (k Key) Compare(o Key) int {
	switch {
	case k.Clock < o.Clock:
		return -1
	case k.Clock > o.Clock:
		return 1
	}
	return k.ID.Compare(o.ID)
}

// KeyOf returns e's key in the merge order.
func KeyOf(e *feed.Entry) Key { return Key{Clock: e.Clock, ID: e.ID()} }
