package feed

import (
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

// Sentinel errors. Every error this package returns about an entry wraps one
// of them, so callers branch with errors.Is.
var (
	ErrMalformed    = errors.New("malformed entry")        // bytes that are not an entry
	ErrNonCanonical = errors.New("non-canonical encoding") // an entry, but not in its one encoding
	ErrVersion      = errors.New("unsupported version")    // a format version this build does not read
	ErrTooLarge     = errors.New("too large")              // over a documented size limit
	ErrBadSignature = errors.New("bad signature")          // does not verify for the author in this network
	ErrBrokenChain  = errors.New("broken chain")           // seq or prev does not follow the previous entry
	ErrBadClock     = errors.New("clock rule violated")    // clock not what prev and refs allow
	ErrMissingRef   = errors.New("reference not known")    // a reference cannot be resolved yet
	ErrBadRef       = errors.New("bad reference")          // a reference to one's own feed, or unsorted
	ErrFork         = errors.New("fork")                   // two signed entries at one seq
	ErrBadForkProof = errors.New("invalid fork proof")     // a fork proof that proves nothing
)

// Error describes what is wrong with one entry: whose, which seq, which field.
// Unwrap returns the sentinel, so errors.Is(err, ErrBadSignature) works.
type Error struct {
	Author identity.ID
	Seq    uint64
	Field  string // "signature", "prev", "clock", "refs", …
	Err    error  // a sentinel
	Detail string // optional human detail
}

// Error returns "feed: entry <author> seq <n>: <field>: <sentinel>: <detail>".
func (e *Error) Error() string {
	s := fmt.Sprintf("feed: entry %s seq %d: %s: %v", e.Author.Short(), e.Seq, e.Field, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

func entryErr(e *Entry, field string, err error, format string, args ...any) *Error {
	return &Error{Author: e.Author, Seq: e.Seq, Field: field, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// DecodeError reports bytes that could not be decoded, with the byte offset
// and the field where decoding stopped.
//
// Author and Seq are filled in once the header (the first 82 bytes) has been
// read, so a message about a later field names the entry it belongs to; they
// are zero when decoding stopped earlier.
type DecodeError struct {
	Offset int
	Field  string
	Err    error // ErrMalformed, ErrNonCanonical, ErrVersion or ErrTooLarge
	Detail string
	Author identity.ID // zero if not yet read
	Seq    uint64      // zero if not yet read
}

// Error returns "feed: decode: [entry <author> seq <n>: ]<field> at byte <offset>: <sentinel>: <detail>".
func (e *DecodeError) Error() string {
	var s string
	if e.Seq != 0 {
		s = fmt.Sprintf("feed: decode: entry %s seq %d: %s at byte %d: %v", e.Author.Short(), e.Seq, e.Field, e.Offset, e.Err)
	} else {
		s = fmt.Sprintf("feed: decode: %s at byte %d: %v", e.Field, e.Offset, e.Err)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel, for errors.Is.
func (e *DecodeError) Unwrap() error { return e.Err }

// ForkError is returned when an entry conflicts with a stored one. It carries
// the proof, which the caller should store and pass on.
type ForkError struct{ Proof ForkProof }

// Error names the author, the seq and both entries.
func (e *ForkError) Error() string {
	return fmt.Sprintf("feed: entry %s seq %d: fork: %s and %s", e.Proof.A.Author.Short(), e.Proof.A.Seq,
		e.Proof.A.ID().Short(), e.Proof.B.ID().Short())
}

// Unwrap returns ErrFork, for errors.Is.
func (e *ForkError) Unwrap() error { return ErrFork }
