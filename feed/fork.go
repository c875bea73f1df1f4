package feed

import (
	"encoding/binary"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

// ForkProofVersion is the first byte of an encoded fork proof.
const ForkProofVersion = 1

// ForkProof is self-contained evidence that an author forked its feed: two
// entries by that author at one seq with different IDs, both validly signed.
// A is the one with the smaller ID, so each fork has one encoding.
type ForkProof struct {
	A, B Entry
}

// NewForkProof orders a and b and checks that they prove a fork in network.
func NewForkProof(network identity.Network, a, b Entry) (ForkProof, error) {
	// Order by freshly computed IDs: a cached ID may be stale if the
	// caller changed a field.
	if a.computeID().Compare(b.computeID()) > 0 {
		a, b = b, a
	}
	p := ForkProof{A: a, B: b}
	return p, p.Verify(network)
}

// Author returns the author the proof convicts.
func (p *ForkProof) Author() identity.ID { return p.A.Author }

// Seq returns the seq at which the feed forked.
func (p *ForkProof) Seq() uint64 { return p.A.Seq }

// Verify checks that p proves a fork in network, trusting nothing: same
// author, same seq, different IDs in canonical order, both signatures valid.
func (p *ForkProof) Verify(network identity.Network) error {
	bad := func(detail string, args ...any) error {
		return &Error{Author: p.A.Author, Seq: p.A.Seq, Field: "fork proof", Err: ErrBadForkProof, Detail: fmt.Sprintf(detail, args...)}
	}
	if p.A.Author != p.B.Author {
		return bad("entries of different authors")
	}
	if p.A.Seq != p.B.Seq {
		return bad("entries at seq %d and %d", p.A.Seq, p.B.Seq)
	}
	if err := p.A.Verify(network); err != nil {
		return bad("first entry: %v", err)
	}
	if err := p.B.Verify(network); err != nil {
		return bad("second entry: %v", err)
	}
	switch c := p.A.ID().Compare(p.B.ID()); {
	case c == 0:
		return bad("the same entry twice")
	case c > 0:
		return bad("entries not in ID order")
	}
	return nil
}

// Encode returns the canonical encoding: version byte, then each entry with
// a 4-byte big-endian length prefix, A first.
func (p *ForkProof) Encode() []byte {
	out := []byte{ForkProofVersion}
	for _, e := range []*Entry{&p.A, &p.B} {
		out = binary.BigEndian.AppendUint32(out, uint32(e.EncodedSize()))
		out = e.AppendEncode(out)
	}
	return out
}

// MaxForkProofSize bounds an encoded fork proof.
const MaxForkProofSize = 1 + 2*(4+MaxEntrySize)

// DecodeForkProof reads an encoded fork proof. It checks the encoding
// (including the ID order), not the signatures: call Verify.
func DecodeForkProof(b []byte) (ForkProof, error) {
	var p ForkProof
	if len(b) < 1 {
		return p, &DecodeError{Field: "fork proof version", Err: ErrMalformed, Detail: "empty input"}
	}
	if b[0] != ForkProofVersion {
		return p, &DecodeError{Field: "fork proof version", Err: ErrVersion, Detail: fmt.Sprintf("version %d", b[0])}
	}
	off := 1
	for i, dst := range []*Entry{&p.A, &p.B} {
		if len(b)-off < 4 {
			return ForkProof{}, &DecodeError{Offset: off, Field: fmt.Sprintf("fork proof entry %d length", i+1), Err: ErrMalformed, Detail: "truncated"}
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		off += 4
		if n > MaxEntrySize || n > len(b)-off {
			return ForkProof{}, &DecodeError{Offset: off - 4, Field: fmt.Sprintf("fork proof entry %d length", i+1), Err: ErrMalformed, Detail: fmt.Sprintf("%d bytes declared, %d left", n, len(b)-off)}
		}
		e, err := Decode(b[off : off+n])
		if err != nil {
			if de, ok := err.(*DecodeError); ok {
				de.Offset += off
				de.Field = fmt.Sprintf("fork proof entry %d: %s", i+1, de.Field)
			}
			return ForkProof{}, err
		}
		*dst = e
		off += n
	}
	if off != len(b) {
		return ForkProof{}, &DecodeError{Offset: off, Field: "fork proof end", Err: ErrMalformed, Detail: "trailing bytes"}
	}
	if p.A.ID().Compare(p.B.ID()) >= 0 {
		return ForkProof{}, &DecodeError{Offset: 1, Field: "fork proof order", Err: ErrNonCanonical, Detail: "entries not in strictly ascending ID order"}
	}
	return p, nil
}

// CheckFork compares incoming with stored, the entry already held for the
// same author and seq. It returns nil when they are the same entry (equal
// IDs; the signature bytes may differ, see docs/spec/feed-v1.md), a
// *ForkError (errors.Is ErrFork) carrying the proof when both are validly
// signed in network and differ, and the verification error otherwise: an
// incoming entry that does not verify proves nothing and is simply refused.
func CheckFork(network identity.Network, stored, incoming Entry) error {
	if err := incoming.Verify(network); err != nil {
		return err
	}
	if incoming.Author != stored.Author || incoming.Seq != stored.Seq {
		return entryErr(&incoming, "fork proof", ErrBadForkProof, "stored entry is %s, not the same author and seq", stored.String())
	}
	if incoming.ID() == stored.computeID() {
		return nil
	}
	p, err := NewForkProof(network, stored, incoming)
	if err != nil {
		return err
	}
	return &ForkError{Proof: p}
}
