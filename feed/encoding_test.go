package feed_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// TestLayout pins every byte of an entry against docs/spec/feed-v1.md.
func TestLayout(t *testing.T) {
	k := rfcKey(t, 0)
	other := build(t, rfcKey(t, 1), feed.Head{}, 3)
	first := build(t, k, feed.Head{}, 1)[0]
	refs := []feed.Ref{{ID: other[2].ID(), Clock: 3}, {ID: other[0].ID(), Clock: 1}}
	e := mustCreate(t, k, first.Head(), feed.Draft{Refs: refs, Content: []byte("hi")})
	b := e.Encode()
	if len(b) != e.EncodedSize() || len(b) != 83+2*32+4+2+64 {
		t.Fatalf("size %d, EncodedSize %d", len(b), e.EncodedSize())
	}
	r0, r1 := other[0].ID(), other[2].ID()
	if r0.Compare(r1) > 0 {
		r0, r1 = r1, r0
	}
	author := k.ID()
	prev := first.ID()
	want := []byte{1, 0}
	want = append(want, author[:]...)
	want = binary.BigEndian.AppendUint64(want, 2)
	want = append(want, prev[:]...)
	want = binary.BigEndian.AppendUint64(want, 4) // 1 + max(1, 3, 1)
	want = append(want, 2)
	want = append(want, r0[:]...)
	want = append(want, r1[:]...)
	want = append(want, 0, 0, 0, 2, 'h', 'i')
	if !bytes.Equal(b[:len(b)-64], want) {
		t.Fatalf("body\n got %x\nwant %x", b[:len(b)-64], want)
	}
	id := sha256Sum(want)
	if e.ID() != id {
		t.Fatal("ID is not SHA-256 of the body")
	}
	msg := identity.AppendSignedMessage(nil, feed.SignaturePurpose, testNet, id[:])
	if string(msg[:16]) != "sbfeed/entry/v1\x00" || len(msg) != 16+32+32 {
		t.Fatalf("signed message %q", msg)
	}
	if !identity.VerifyRaw(author[:], msg, b[len(b)-64:]) {
		t.Fatal("signature is not over purpose || 0 || network || ID")
	}
	if n, err := feed.SizeAt(b); err != nil || n != len(b) {
		t.Fatalf("SizeAt = %d, %v", n, err)
	}
	if feed.MaxEntrySize != 83+32*32+4+64<<10+64 {
		t.Fatalf("MaxEntrySize %d", feed.MaxEntrySize)
	}
}

// TestRoundTrip: Encode(Decode(b)) == b for entries of every shape, and a
// decoded entry does not alias its input.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	k, o := rfcKey(t, 0), rfcKey(t, 1)
	others := build(t, o, feed.Head{}, 40)
	var head feed.Head
	for i := range 60 {
		d := feed.Draft{Content: make([]byte, rng.IntN(300))}
		if i%10 == 9 {
			d.Content = make([]byte, feed.MaxContentSize)
		}
		for j := range d.Content {
			d.Content[j] = byte(rng.Uint32())
		}
		for range rng.IntN(4) * rng.IntN(12) {
			r := others[rng.IntN(len(others))]
			d.Refs = append(d.Refs, feed.Ref{ID: r.ID(), Clock: r.Clock})
		}
		e := mustCreate(t, k, head, d)
		b := e.Encode()
		got, err := feed.Decode(b)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if !bytes.Equal(got.Encode(), b) || got.ID() != e.ID() {
			t.Fatalf("entry %d: round trip differs", i)
		}
		if err := got.Verify(testNet); err != nil {
			t.Fatal(err)
		}
		if len(got.Content) > 0 {
			b[len(b)-65] ^= 1
			if got.Content[len(got.Content)-1] != d.Content[len(d.Content)-1] {
				t.Fatal("decoded content aliases the input")
			}
		}
		// DecodePrefix reads one entry off a concatenation.
		two := append(e.Encode(), e.Encode()...)
		p, n, err := feed.DecodePrefix(two)
		if err != nil || n != len(two)/2 || p.ID() != e.ID() {
			t.Fatalf("DecodePrefix = %d, %v", n, err)
		}
		head = e.Head()
	}
}

func sha256Sum(b []byte) feed.ID { return feed.ID(sha256.Sum256(b)) }

// mutation describes a change to the encoding of a valid entry and what
// Decode must say about it.
type mutation struct {
	name  string
	edit  func(b []byte) []byte
	want  error
	field string
	named bool // the header was read, so the error names author and seq
}

func TestDecodeErrors(t *testing.T) {
	k := rfcKey(t, 0)
	others := build(t, rfcKey(t, 1), feed.Head{}, 3)
	first := build(t, k, feed.Head{}, 1)[0]
	e := mustCreate(t, k, first.Head(), feed.Draft{
		Refs:    []feed.Ref{{ID: others[0].ID(), Clock: 1}, {ID: others[1].ID(), Clock: 2}},
		Content: []byte("content"),
	})
	valid := e.Encode()
	const refs = 83
	clen := refs + 64
	put64 := func(off int, v uint64) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
	}
	tests := []mutation{
		{"empty", func([]byte) []byte { return nil }, feed.ErrMalformed, "version", false},
		{"version 0", func(b []byte) []byte { b[0] = 0; return b }, feed.ErrVersion, "version", false},
		{"version 2", func(b []byte) []byte { b[0] = 2; return b }, feed.ErrVersion, "version", false},
		{"header cut", func(b []byte) []byte { return b[:82] }, feed.ErrMalformed, "header", false},
		{"content length cut", func(b []byte) []byte { return b[:clen+2] }, feed.ErrMalformed, "content length", true},
		{"signature cut", func(b []byte) []byte { return b[:len(b)-1] }, feed.ErrMalformed, "truncated", true},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, feed.ErrMalformed, "trailing", true},
		{"clock kind 2", func(b []byte) []byte { b[1] = 2; return b }, feed.ErrMalformed, "clock kind", true},
		{"clock kind 255", func(b []byte) []byte { b[1] = 255; return b }, feed.ErrMalformed, "clock kind", true},
		{"seq 0", put64(34, 0), feed.ErrMalformed, "seq", false},
		{"seq 1 with prev", put64(34, 1), feed.ErrMalformed, "prev", true},
		{"seq 2 without prev", func(b []byte) []byte { clear(b[42:74]); return b }, feed.ErrMalformed, "prev", true},
		{"clock 0", put64(74, 0), feed.ErrMalformed, "clock", true},
		{"lamport clock below seq", put64(74, 1), feed.ErrMalformed, "clock", true},
		{"33 refs", func(b []byte) []byte { b[82] = 33; return b }, feed.ErrTooLarge, "refs", true},
		{"255 refs", func(b []byte) []byte { b[82] = 255; return b }, feed.ErrTooLarge, "refs", true},
		// With a wrong ref count the content length is read from the
		// wrong place: here from hash bytes, which declare too much.
		{"3 refs declared, 2 present", func(b []byte) []byte { b[82] = 3; return b }, feed.ErrTooLarge, "content length", true},
		{"1 ref declared, 2 present", func(b []byte) []byte { b[82] = 1; return b }, feed.ErrTooLarge, "content length", true},
		{"zero ref", func(b []byte) []byte { clear(b[refs : refs+32]); return b }, feed.ErrMalformed, "refs", true},
		{"refs descending", func(b []byte) []byte {
			r := bytes.Clone(b[refs : refs+32])
			copy(b[refs:], b[refs+32:refs+64])
			copy(b[refs+32:], r)
			return b
		}, feed.ErrNonCanonical, "refs", true},
		{"refs repeated", func(b []byte) []byte { copy(b[refs+32:], b[refs:refs+32]); return b }, feed.ErrNonCanonical, "refs", true},
		{"content too large", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[clen:], feed.MaxContentSize+1)
			return b
		}, feed.ErrTooLarge, "content length", true},
		{"content length 2^32-1", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[clen:], 1<<32-1)
			return b
		}, feed.ErrTooLarge, "content length", true},
		{"content length one more", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[clen:], 8)
			return b
		}, feed.ErrMalformed, "truncated", true},
		{"content length one less", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[clen:], 6)
			return b
		}, feed.ErrMalformed, "trailing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(bytes.Clone(valid))
			_, err := feed.Decode(b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
			var de *feed.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%T is not a *DecodeError", err)
			}
			if tt.named {
				namesEntry(t, err, e.Author, binary.BigEndian.Uint64(b[34:]), tt.field)
			} else if !bytes.Contains([]byte(err.Error()), []byte(tt.field)) {
				t.Errorf("message %q does not name %q", err, tt.field)
			}
			if _, _, err2 := feed.DecodePrefix(b); err2 == nil && tt.want != feed.ErrMalformed {
				t.Errorf("DecodePrefix accepted it")
			}
		})
	}
	// Every proper prefix of a valid entry is refused as malformed.
	for n := range len(valid) {
		if _, err := feed.Decode(valid[:n]); !errors.Is(err, feed.ErrMalformed) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
}

// TestEveryMutationRefused flips every bit of a valid entry: each flip is
// refused by Decode, or decodes to an entry whose signature no longer
// verifies. No single-bit change yields another valid entry, and no two
// encodings of one entry exist.
func TestEveryMutationRefused(t *testing.T) {
	k := rfcKey(t, 0)
	others := build(t, rfcKey(t, 1), feed.Head{}, 2)
	first := build(t, k, feed.Head{}, 1)[0]
	e := mustCreate(t, k, first.Head(), feed.Draft{
		Refs:    []feed.Ref{{ID: others[0].ID(), Clock: 1}, {ID: others[1].ID(), Clock: 2}},
		Content: []byte("a little content"),
	})
	valid := e.Encode()
	decoded, verified := 0, 0
	for i := range len(valid) * 8 {
		b := bytes.Clone(valid)
		b[i/8] ^= 1 << (i % 8)
		got, err := feed.Decode(b)
		if err != nil {
			continue
		}
		decoded++
		if !bytes.Equal(got.Encode(), b) {
			t.Fatalf("bit %d: accepted bytes do not round trip", i)
		}
		if err := got.Verify(testNet); err == nil {
			verified++
			t.Errorf("bit %d: mutated entry verifies", i)
		} else if !errors.Is(err, feed.ErrBadSignature) {
			t.Errorf("bit %d: decoded but Verify says %v", i, err)
		}
	}
	if decoded == 0 {
		t.Fatal("no mutation decoded: the test checks nothing about signatures")
	}
	t.Logf("%d bit flips: %d refused by Decode, %d by Verify", len(valid)*8, len(valid)*8-decoded, decoded)
}

// TestSizeAt checks the header-only size reader used by stores and streams.
func TestSizeAt(t *testing.T) {
	e := build(t, rfcKey(t, 0), feed.Head{}, 1)[0]
	b := e.Encode()
	for n := range 87 {
		if _, err := feed.SizeAt(b[:n]); !errors.Is(err, feed.ErrMalformed) {
			t.Fatalf("SizeAt of %d bytes: %v", n, err)
		}
	}
	if n, err := feed.SizeAt(b[:87]); err != nil || n != len(b) {
		t.Fatalf("SizeAt(header) = %d, %v", n, err)
	}
}
