package feed

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"github.com/sbfeed/sbfeed/identity"
)

// Byte layout of an entry (docs/spec/feed-v1.md):
//
//	off  size  field
//	0    1     version (1)
//	1    1     clock kind (0 Lamport, 1 HLC)
//	2    32    author public key
//	34   8     seq, big endian, >= 1
//	42   32    prev ID, all zero iff seq == 1
//	74   8     clock, big endian, >= 1
//	82   1     number of refs n, <= MaxRefs
//	83   32n   refs, strictly ascending, none zero
//	     4     content length m, big endian, <= MaxContentSize
//	     m     content
//	     64    signature
//
// The body is everything but the signature; the ID is SHA-256(body).
const (
	offKind    = 1
	offAuthor  = 2
	offSeq     = 34
	offPrev    = 42
	offClock   = 74
	offNRefs   = 82
	headerSize = 83
)

// EncodedSize returns the length of e's encoding.
func (e *Entry) EncodedSize() int {
	return headerSize + IDSize*len(e.Refs) + 4 + len(e.Content) + identity.SignatureSize
}

func (e *Entry) appendBody(dst []byte) []byte {
	dst = append(dst, e.Version, byte(e.Kind))
	dst = append(dst, e.Author[:]...)
	dst = binary.BigEndian.AppendUint64(dst, e.Seq)
	dst = append(dst, e.Prev[:]...)
	dst = binary.BigEndian.AppendUint64(dst, e.Clock)
	dst = append(dst, byte(len(e.Refs)))
	for i := range e.Refs {
		dst = append(dst, e.Refs[i][:]...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.Content)))
	return append(dst, e.Content...)
}

// AppendEncode appends e's canonical encoding to dst. It does not check the
// entry; encode only entries that [Entry.Verify] accepts, or [Decode] will
// refuse the bytes.
func (e *Entry) AppendEncode(dst []byte) []byte {
	dst = e.appendBody(dst)
	return append(dst, e.Sig[:]...)
}

// Encode returns e's canonical encoding.
func (e *Entry) Encode() []byte {
	return e.AppendEncode(make([]byte, 0, e.EncodedSize()))
}

// Decode reads exactly one entry from b. Every rule that can be checked on
// the bytes alone is checked here: version, sizes, seq/prev consistency,
// clock >= 1, ordering of refs, and no trailing bytes. The signature is not
// checked (see [Entry.Verify]). The result does not alias b. For every b that
// Decode accepts, Encode returns b exactly.
func Decode(b []byte) (Entry, error) {
	var e Entry
	n, err := decodeInto(&e, b)
	if err != nil {
		return Entry{}, err
	}
	if n != len(b) {
		return Entry{}, &DecodeError{Offset: n, Field: "end", Err: ErrMalformed, Author: e.Author, Seq: e.Seq,
			Detail: strconv.Itoa(len(b)-n) + " trailing bytes"}
	}
	return e, nil
}

// DecodePrefix reads one entry from the front of b and returns it with the
// number of bytes it used, for readers of concatenated entries.
func DecodePrefix(b []byte) (Entry, int, error) {
	var e Entry
	n, err := decodeInto(&e, b)
	if err != nil {
		return Entry{}, 0, err
	}
	return e, n, nil
}

// SizeAt returns the size of the entry that starts at b[0], reading only
// its header, or an error if the header is short or declares too much.
func SizeAt(b []byte) (int, error) {
	if len(b) < headerSize {
		return 0, &DecodeError{Offset: len(b), Field: "header", Err: ErrMalformed, Detail: "truncated"}
	}
	nrefs := int(b[offNRefs])
	if nrefs > MaxRefs {
		return 0, &DecodeError{Offset: offNRefs, Field: "refs", Err: ErrTooLarge}
	}
	off := headerSize + nrefs*IDSize
	if len(b) < off+4 {
		return 0, &DecodeError{Offset: len(b), Field: "content length", Err: ErrMalformed, Detail: "truncated"}
	}
	m := binary.BigEndian.Uint32(b[off:])
	if m > MaxContentSize {
		return 0, &DecodeError{Offset: off, Field: "content length", Err: ErrTooLarge}
	}
	return off + 4 + int(m) + identity.SignatureSize, nil
}

func decodeInto(e *Entry, b []byte) (int, error) {
	if len(b) < 1 {
		return 0, &DecodeError{Offset: 0, Field: "version", Err: ErrMalformed, Detail: "empty input"}
	}
	if b[0] != Version {
		return 0, &DecodeError{Offset: 0, Field: "version", Err: ErrVersion,
			Detail: "version " + strconv.Itoa(int(b[0])) + ", this build reads " + strconv.Itoa(Version)}
	}
	size, err := SizeAt(b)
	if len(b) >= headerSize {
		// From here on the header is present, so every error names the entry.
		copy(e.Author[:], b[offAuthor:])
		e.Seq = binary.BigEndian.Uint64(b[offSeq:])
	}
	if err != nil {
		if de, ok := err.(*DecodeError); ok {
			de.Author, de.Seq = e.Author, e.Seq
		}
		return 0, err
	}
	fail := func(off int, field string, sentinel error, detail string) (int, error) {
		return 0, &DecodeError{Offset: off, Field: field, Err: sentinel, Detail: detail, Author: e.Author, Seq: e.Seq}
	}
	if len(b) < size {
		return fail(len(b), "entry", ErrMalformed,
			"truncated: "+strconv.Itoa(len(b))+" of "+strconv.Itoa(size)+" bytes")
	}
	e.Version = b[0]
	e.Kind = ClockKind(b[offKind])
	if e.Kind != Lamport && e.Kind != HLC {
		return fail(offKind, "clock kind", ErrMalformed, "unknown kind "+strconv.Itoa(int(b[offKind])))
	}
	copy(e.Prev[:], b[offPrev:])
	e.Clock = binary.BigEndian.Uint64(b[offClock:])
	if e.Seq == 0 {
		return fail(offSeq, "seq", ErrMalformed, "seq 0 (feeds start at 1)")
	}
	if (e.Seq == 1) != e.Prev.IsZero() {
		return fail(offPrev, "prev", ErrMalformed, "prev must be zero exactly for seq 1")
	}
	if e.Clock == 0 {
		return fail(offClock, "clock", ErrMalformed, "clock 0")
	}
	if e.Clock < e.Seq && e.Kind == Lamport {
		// A Lamport clock grows by at least one per entry of the feed.
		return fail(offClock, "clock", ErrMalformed, "lamport clock "+strconv.FormatUint(e.Clock, 10)+" below seq")
	}
	nrefs := int(b[offNRefs])
	if nrefs > 0 {
		e.Refs = make([]ID, nrefs)
		for i := range e.Refs {
			off := headerSize + i*IDSize
			copy(e.Refs[i][:], b[off:])
			if e.Refs[i].IsZero() {
				return fail(off, "refs", ErrMalformed, "zero reference")
			}
			if i > 0 && e.Refs[i-1].Compare(e.Refs[i]) >= 0 {
				return fail(off, "refs", ErrNonCanonical, "refs not strictly ascending")
			}
		}
	}
	start := headerSize + nrefs*IDSize + 4
	end := size - identity.SignatureSize
	if end > start {
		// The entry owns its content: the result never aliases b.
		e.Content = append([]byte(nil), b[start:end]...)
	}
	copy(e.Sig[:], b[end:size])
	e.id = sha256.Sum256(b[:end])
	e.hasID = true
	return size, nil
}
