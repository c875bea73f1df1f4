package feed

import (
	"fmt"
	"math"
	"slices"

	"github.com/sbfeed/sbfeed/identity"
)

// Draft is what an author chooses for a new entry; everything else follows
// from the feed's head.
type Draft struct {
	Kind    ClockKind
	Refs    []Ref  // entries of other feeds to reference, with their clocks
	Content []byte // at most MaxContentSize bytes; not copied, so leave it unchanged afterwards
	// Now is the wall clock in milliseconds since the Unix epoch, used only
	// by HLC clocks. The package never reads a clock itself.
	Now uint64
}

// Next builds the unsigned entry that follows head in author's feed. Refs are
// sorted and de-duplicated. The clock is the least the rule allows: for
// Lamport 1 + max(head, refs); for HLC max(that, Now<<16).
func Next(author identity.ID, head Head, d Draft) (Entry, error) {
	e := Entry{Version: Version, Kind: d.Kind, Author: author, Seq: head.Seq + 1, Prev: head.ID, Content: d.Content}
	if head.Seq > 0 && head.Kind != d.Kind {
		return Entry{}, entryErr(&e, "clock kind", ErrBadClock, "feed uses %s clocks, draft asks for %s", head.Kind, d.Kind)
	}
	switch {
	case head.Seq == math.MaxUint64:
		return Entry{}, entryErr(&e, "seq", ErrTooLarge, "the feed is full")
	case head.Seq == 0 && !head.ID.IsZero():
		return Entry{}, entryErr(&e, "prev", ErrBrokenChain, "an empty feed's head has no ID, got %s", head.ID.Short())
	}
	if d.Kind != Lamport && d.Kind != HLC {
		return Entry{}, entryErr(&e, "clock kind", ErrMalformed, "unknown kind %d", d.Kind)
	}
	if len(d.Content) > MaxContentSize {
		return Entry{}, entryErr(&e, "content", ErrTooLarge, "%d bytes, limit %d", len(d.Content), MaxContentSize)
	}
	maxClock := head.Clock
	if len(d.Refs) > 0 {
		refs := make([]ID, 0, len(d.Refs))
		for _, r := range d.Refs {
			if r.ID.IsZero() {
				return Entry{}, entryErr(&e, "refs", ErrBadRef, "zero reference")
			}
			refs = append(refs, r.ID)
			maxClock = max(maxClock, r.Clock)
		}
		slices.SortFunc(refs, ID.Compare)
		refs = slices.Compact(refs)
		if len(refs) > MaxRefs {
			return Entry{}, entryErr(&e, "refs", ErrTooLarge, "%d refs, limit %d", len(refs), MaxRefs)
		}
		e.Refs = refs
	}
	if maxClock == math.MaxUint64 {
		return Entry{}, entryErr(&e, "clock", ErrBadClock, "clock would overflow")
	}
	e.Clock = maxClock + 1
	if d.Kind == HLC {
		if d.Now > math.MaxUint64>>16 {
			return Entry{}, entryErr(&e, "clock", ErrBadClock, "wall clock %d ms out of range", d.Now)
		}
		e.Clock = max(e.Clock, d.Now<<16)
	}
	e.id = e.computeID()
	e.hasID = true
	return e, nil
}

// Sign signs e (whose fields are final) with key for network. The key must
// be the author's.
func (e *Entry) Sign(key *identity.Key, network identity.Network) error {
	if key.ID() != e.Author {
		return entryErr(e, "author", ErrBadSignature, "signing key %s is not the author", key.ID().Short())
	}
	e.signID(key, network, e.computeID())
	return nil
}

// signID signs e under its ID id, which the caller has just computed.
func (e *Entry) signID(key *identity.Key, network identity.Network, id ID) {
	e.id, e.hasID = id, true
	e.Sig = key.Sign(SignaturePurpose, network, id[:])
}

// Create builds and signs the entry after head: [Next] then [Entry.Sign].
func Create(key *identity.Key, network identity.Network, head Head, d Draft) (Entry, error) {
	e, err := Next(key.ID(), head, d)
	if err != nil {
		return Entry{}, err
	}
	// Next has just hashed the body; sign that ID rather than hash again.
	e.signID(key, network, e.id)
	return e, nil
}

// Chain builds the unsigned entries that follow head, one per draft. Since
// an ID does not cover the signature, the whole run can be chained first and
// signed afterwards, on several cores; signing only the last entry already
// authenticates the run (see [VerifyChain]), but every entry is signed so each
// stands alone when relayed.
func Chain(author identity.ID, head Head, drafts []Draft) ([]Entry, error) {
	out := make([]Entry, 0, len(drafts))
	for _, d := range drafts {
		e, err := Next(author, head, d)
		if err != nil {
			return nil, fmt.Errorf("feed: chain entry %d: %w", len(out)+1, err)
		}
		out = append(out, e)
		head = e.Head()
	}
	return out, nil
}
