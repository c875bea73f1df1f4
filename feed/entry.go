package feed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

// Version is the entry format version this package writes and reads.
const Version = 1

// Limits. They are part of the format: an entry over them is not an entry.
const (
	MaxContentSize = 64 << 10 // bytes of content
	MaxRefs        = 32       // causal references per entry
	// MaxEntrySize is the largest encoded entry.
	MaxEntrySize = headerSize + MaxRefs*IDSize + 4 + MaxContentSize + identity.SignatureSize
)

// IDSize is the size of an entry ID.
const IDSize = sha256.Size

// SignaturePurpose is the domain-separation string of entry signatures.
const SignaturePurpose = "sbfeed/entry/v1"

// ID names an entry: the SHA-256 of its body (every field but the signature).
type ID [IDSize]byte

// String returns the ID in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for logs.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zeros, the "no previous entry" value.
func (id ID) IsZero() bool { return id == ID{} }

// Compare orders IDs bytewise, the tie-break of the merge order.
func (id ID) Compare(o ID) int {
	for i := range id {
		if id[i] != o[i] {
			if id[i] < o[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ParseID reads an ID from 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IDSize {
		return id, fmt.Errorf("feed: entry ID %q is not %d hex digits", s, 2*IDSize)
	}
	copy(id[:], b)
	return id, nil
}

// ClockKind says how an entry's clock is chosen and checked.
type ClockKind uint8

const (
	// Lamport clocks: clock = 1 + max(clock of prev, clocks of refs), exactly.
	Lamport ClockKind = 0
	// HLC clocks: a hybrid logical clock, wall milliseconds << 16 | counter;
	// clock > max(clock of prev, clocks of refs). How far in the future a
	// clock may be is a policy of the merge layer, not of the feed.
	HLC ClockKind = 1
)

// String returns "lamport", "hlc" or "clock-kind(n)".
func (k ClockKind) String() string {
	switch k {
	case Lamport:
		return "lamport"
	case HLC:
		return "hlc"
	}
	return fmt.Sprintf("clock-kind(%d)", uint8(k))
}

// Entry is one signed action in one author's feed. Entries are values; treat
// them as immutable once signed (the ID is cached by [Decode] and [Create]).
type Entry struct {
	Version uint8
	Kind    ClockKind
	Author  identity.ID
	Seq     uint64 // from 1
	Prev    ID     // ID of entry Seq-1; zero for Seq 1
	Clock   uint64
	Refs    []ID // entries of other feeds the author had seen; strictly ascending
	Content []byte
	Sig     [identity.SignatureSize]byte

	id    ID
	hasID bool
}

// ID returns the entry's ID. It is cached when the entry came from [Decode]
// or [Create]; verification never trusts the cache.
func (e *Entry) ID() ID {
	if e.hasID {
		return e.id
	}
	return e.computeID()
}

func (e *Entry) computeID() ID {
	var stack [512]byte
	return sha256.Sum256(e.appendBody(stack[:0]))
}

// Head is what the chain rule needs to know of a feed's newest entry. The
// zero Head is the head of an empty feed.
type Head struct {
	Seq   uint64
	ID    ID
	Clock uint64
	Kind  ClockKind
}

// Head returns the head of a feed whose newest entry is e.
func (e *Entry) Head() Head { return Head{Seq: e.Seq, ID: e.ID(), Clock: e.Clock, Kind: e.Kind} }

// String returns a compact, stable form: author:seq@clock#id.
func (e *Entry) String() string {
	return fmt.Sprintf("%s:%d@%d#%s", e.Author.Short(), e.Seq, e.Clock, e.ID().Short())
}

// Ref is what an author needs to know of an entry it references.
type Ref struct {
	ID    ID
	Clock uint64
}
