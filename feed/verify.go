package feed

import (
	"crypto/sha256"

	"github.com/sbfeed/sbfeed/identity"
)

// checkFields checks what Decode checks, for entries built in memory.
func (e *Entry) checkFields() error {
	switch {
	case e.Version != Version:
		return entryErr(e, "version", ErrVersion, "version %d", e.Version)
	case e.Kind != Lamport && e.Kind != HLC:
		return entryErr(e, "clock kind", ErrMalformed, "unknown kind %d", e.Kind)
	case e.Seq == 0:
		return entryErr(e, "seq", ErrMalformed, "seq 0")
	case (e.Seq == 1) != e.Prev.IsZero():
		return entryErr(e, "prev", ErrMalformed, "prev must be zero exactly for seq 1")
	case e.Clock == 0 || (e.Kind == Lamport && e.Clock < e.Seq):
		return entryErr(e, "clock", ErrMalformed, "clock %d at seq %d", e.Clock, e.Seq)
	case len(e.Refs) > MaxRefs:
		return entryErr(e, "refs", ErrTooLarge, "%d refs, limit %d", len(e.Refs), MaxRefs)
	case len(e.Content) > MaxContentSize:
		return entryErr(e, "content", ErrTooLarge, "%d bytes, limit %d", len(e.Content), MaxContentSize)
	}
	for i := range e.Refs {
		if e.Refs[i].IsZero() {
			return entryErr(e, "refs", ErrMalformed, "zero reference")
		}
		if i > 0 && e.Refs[i-1].Compare(e.Refs[i]) >= 0 {
			return entryErr(e, "refs", ErrNonCanonical, "refs not strictly ascending")
		}
	}
	return nil
}

// hashBody recomputes the ID into a scratch buffer, so verification never
// trusts a cached ID.
func (e *Entry) hashBody(scratch []byte) (ID, []byte) {
	scratch = e.appendBody(scratch[:0])
	return sha256.Sum256(scratch), scratch
}

// Verify checks everything intrinsic to e: its fields and its signature by
// the author in network.
func (e *Entry) Verify(network identity.Network) error {
	if err := e.checkFields(); err != nil {
		return err
	}
	var stack [512]byte
	id, _ := e.hashBody(stack[:0])
	if !identity.Verify(e.Author, SignaturePurpose, network, id[:], e.Sig[:]) {
		return entryErr(e, "signature", ErrBadSignature, "network %s", network.Short())
	}
	e.cacheID(id)
	return nil
}

// cacheID records a freshly computed ID. Entries from Decode and Create
// already hold it, so verification normally writes nothing and several
// goroutines may verify one entry at once; only an entry built or changed
// in memory is written to.
func (e *Entry) cacheID(id ID) {
	if !e.hasID || e.id != id {
		e.id, e.hasID = id, true
	}
}

// VerifyAfter checks the chain rule: e directly follows prev in the same
// feed. It checks seq, the previous ID, the clock kind and the part of the
// clock rule that prev alone decides (clock > prev's, and for a Lamport entry
// without refs exactly prev's + 1). It does not check the signature.
func (e *Entry) VerifyAfter(prev Head) error {
	if e.Seq != prev.Seq+1 {
		return entryErr(e, "seq", ErrBrokenChain, "expected seq %d after head %d", prev.Seq+1, prev.Seq)
	}
	if e.Prev != prev.ID {
		return entryErr(e, "prev", ErrBrokenChain, "names %s, head is %s", e.Prev.Short(), prev.ID.Short())
	}
	if prev.Seq > 0 && e.Kind != prev.Kind {
		return entryErr(e, "clock kind", ErrBadClock, "%s after %s", e.Kind, prev.Kind)
	}
	if e.Clock <= prev.Clock {
		return entryErr(e, "clock", ErrBadClock, "clock %d not after previous %d", e.Clock, prev.Clock)
	}
	if e.Kind == Lamport && len(e.Refs) == 0 && e.Clock != prev.Clock+1 {
		return entryErr(e, "clock", ErrBadClock, "clock %d, rule gives %d", e.Clock, prev.Clock+1)
	}
	return nil
}

// Resolver finds a referenced entry's author and clock. ok is false while
// the entry is not known.
type Resolver func(id ID) (author identity.ID, clock uint64, ok bool)

// VerifyRefs checks the causal rule once references can be resolved: each
// reference names a known entry of another feed, and the clock is exactly
// 1 + max(prev clock, ref clocks) for Lamport, or above it for HLC. A missing
// reference gives ErrMissingRef: wait and retry, it is not yet a fault.
func (e *Entry) VerifyRefs(prevClock uint64, resolve Resolver) error {
	m := prevClock
	for _, r := range e.Refs {
		a, c, ok := resolve(r)
		if !ok {
			return entryErr(e, "refs", ErrMissingRef, "%s", r.Short())
		}
		if a == e.Author {
			return entryErr(e, "refs", ErrBadRef, "%s is in the author's own feed", r.Short())
		}
		m = max(m, c)
	}
	switch {
	case e.Kind == Lamport && e.Clock != m+1:
		return entryErr(e, "clock", ErrBadClock, "clock %d, rule gives %d", e.Clock, m+1)
	case e.Kind == HLC && e.Clock <= m:
		return entryErr(e, "clock", ErrBadClock, "clock %d not above %d", e.Clock, m)
	}
	return nil
}

// VerifyChain checks a run of consecutive entries of one feed that follows
// after: every field, every hash link and the chain rule, but only the
// newest entry's signature. That is enough: the newest signature covers the
// newest ID, which is a hash over the previous ID, and so on back to the
// first entry of the run, so forging any earlier entry means finding a
// SHA-256 second preimage. See docs/spec/feed-v1.md, "Chain verification".
// An error names the first bad entry.
func VerifyChain(network identity.Network, after Head, run []Entry) error {
	return verifyChain(network, after, run, false)
}

// VerifyChainFull is [VerifyChain] that also checks every signature.
func VerifyChainFull(network identity.Network, after Head, run []Entry) error {
	return verifyChain(network, after, run, true)
}

func verifyChain(network identity.Network, after Head, run []Entry, full bool) error {
	if len(run) == 0 {
		return nil
	}
	scratch := make([]byte, 0, 512)
	author := run[0].Author
	head := after
	for i := range run {
		e := &run[i]
		if e.Author != author {
			return entryErr(e, "author", ErrBrokenChain, "run mixes feeds %s and %s", author.Short(), e.Author.Short())
		}
		if err := e.checkFields(); err != nil {
			return err
		}
		if err := e.VerifyAfter(head); err != nil {
			return err
		}
		var id ID
		id, scratch = e.hashBody(scratch)
		if full || i == len(run)-1 {
			if !identity.Verify(e.Author, SignaturePurpose, network, id[:], e.Sig[:]) {
				return entryErr(e, "signature", ErrBadSignature, "network %s", network.Short())
			}
		}
		e.cacheID(id)
		head = Head{Seq: e.Seq, ID: id, Clock: e.Clock, Kind: e.Kind}
	}
	return nil
}
