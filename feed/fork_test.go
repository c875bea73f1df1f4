package feed_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// forkPair returns two validly signed entries of one author at seq 3.
func forkPair(t *testing.T) (a, b feed.Entry) {
	t.Helper()
	k := rfcKey(t, 0)
	run := build(t, k, feed.Head{}, 2)
	a = mustCreate(t, k, run[1].Head(), feed.Draft{Content: []byte("left")})
	b = mustCreate(t, k, run[1].Head(), feed.Draft{Content: []byte("right")})
	return a, b
}

func TestForkProof(t *testing.T) {
	a, b := forkPair(t)
	p, err := feed.NewForkProof(testNet, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if p.A.ID().Compare(p.B.ID()) >= 0 {
		t.Fatal("NewForkProof did not order the entries")
	}
	if p.Author() != a.Author || p.Seq() != 3 {
		t.Fatalf("proof convicts %s at %d", p.Author().Short(), p.Seq())
	}
	q, err := feed.NewForkProof(testNet, a, b)
	if err != nil || !bytes.Equal(q.Encode(), p.Encode()) {
		t.Fatal("argument order changes the proof")
	}
	enc := p.Encode()
	if enc[0] != feed.ForkProofVersion || len(enc) != 1+4+a.EncodedSize()+4+b.EncodedSize() || len(enc) > feed.MaxForkProofSize {
		t.Fatalf("encoding of %d bytes", len(enc))
	}
	if n := binary.BigEndian.Uint32(enc[1:]); int(n) != p.A.EncodedSize() || !bytes.Equal(enc[5:5+n], p.A.Encode()) {
		t.Fatal("first entry is not length-prefixed A")
	}
	got, err := feed.DecodeForkProof(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip differs")
	}
	if err := got.Verify(testNet); err != nil {
		t.Fatal(err)
	}
	// Anyone checks it without trusting the sender: in another network it
	// proves nothing.
	if err := got.Verify(identity.NetworkFromName("other")); !errors.Is(err, feed.ErrBadForkProof) {
		t.Fatalf("other network: %v", err)
	}

	other := mustCreate(t, rfcKey(t, 1), feed.Head{}, feed.Draft{Content: []byte("x")})
	k := rfcKey(t, 0)
	seq1 := build(t, k, feed.Head{}, 1)[0]
	badSig := b
	badSig.Sig[5] ^= 1
	lo, hi := p.A, p.B
	for _, tt := range []struct {
		name string
		a, b feed.Entry
	}{
		{"same entry twice", a, a},
		{"different authors", a, other},
		{"different seqs", a, seq1},
		{"bad signature", a, badSig},
		{"unsigned", a, func() feed.Entry { e := b; e.Sig = [64]byte{}; return e }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := feed.NewForkProof(testNet, tt.a, tt.b)
			if !errors.Is(err, feed.ErrBadForkProof) {
				t.Fatalf("NewForkProof = %v, want ErrBadForkProof", err)
			}
			namesEntry(t, err, tt.a.Author, tt.a.Seq, "fork proof")
		})
	}
	wrongOrder := feed.ForkProof{A: hi, B: lo}
	if err := wrongOrder.Verify(testNet); !errors.Is(err, feed.ErrBadForkProof) {
		t.Fatalf("wrong order: %v", err)
	}
	if _, err := feed.DecodeForkProof(wrongOrder.Encode()); !errors.Is(err, feed.ErrNonCanonical) {
		t.Fatalf("wrong order decoded: %v", err)
	}
	same := feed.ForkProof{A: a, B: a}
	if _, err := feed.DecodeForkProof(same.Encode()); !errors.Is(err, feed.ErrNonCanonical) {
		t.Fatalf("same entry twice decoded: %v", err)
	}
}

func TestForkError(t *testing.T) {
	a, b := forkPair(t)
	err := feed.CheckFork(testNet, a, b)
	if !errors.Is(err, feed.ErrFork) {
		t.Fatalf("CheckFork = %v, want ErrFork", err)
	}
	var fe *feed.ForkError
	if !errors.As(err, &fe) || fe.Proof.Verify(testNet) != nil {
		t.Fatalf("ForkError does not carry a valid proof: %v", err)
	}
	namesEntry(t, err, a.Author, a.Seq, "fork")
	if err := feed.CheckFork(testNet, a, a); err != nil {
		t.Fatalf("same entry: %v", err)
	}
	bad := b
	bad.Sig[0] ^= 1
	if err := feed.CheckFork(testNet, a, bad); !errors.Is(err, feed.ErrBadSignature) {
		t.Fatalf("unsigned conflict: %v", err)
	}
	c := mustCreate(t, rfcKey(t, 0), feed.Head{}, feed.Draft{})
	if err := feed.CheckFork(testNet, a, c); !errors.Is(err, feed.ErrBadForkProof) {
		t.Fatalf("different seq: %v", err)
	}
}

func TestDecodeForkProofErrors(t *testing.T) {
	a, b := forkPair(t)
	p, err := feed.NewForkProof(testNet, a, b)
	if err != nil {
		t.Fatal(err)
	}
	valid := p.Encode()
	n1 := int(binary.BigEndian.Uint32(valid[1:]))
	second := 1 + 4 + n1
	tests := []struct {
		name  string
		edit  func(b []byte) []byte
		want  error
		field string
	}{
		{"empty", func([]byte) []byte { return nil }, feed.ErrMalformed, "version"},
		{"version 2", func(b []byte) []byte { b[0] = 2; return b }, feed.ErrVersion, "version"},
		{"no length", func(b []byte) []byte { return b[:3] }, feed.ErrMalformed, "entry 1 length"},
		{"first length past the end", func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], uint32(len(b))); return b }, feed.ErrMalformed, "entry 1 length"},
		{"first length huge", func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], 1<<31); return b }, feed.ErrMalformed, "entry 1 length"},
		{"first length short", func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], uint32(n1-1)); return b }, feed.ErrMalformed, "entry 1"},
		{"first entry bad version", func(b []byte) []byte { b[5] = 9; return b }, feed.ErrVersion, "entry 1: version"},
		{"second missing", func(b []byte) []byte { return b[:second] }, feed.ErrMalformed, "entry 2 length"},
		{"second truncated", func(b []byte) []byte { return b[:len(b)-1] }, feed.ErrMalformed, "entry 2 length"},
		{"second entry bad kind", func(b []byte) []byte { b[second+5] = 9; return b }, feed.ErrMalformed, "entry 2: clock kind"},
		{"trailing", func(b []byte) []byte { return append(b, 0) }, feed.ErrMalformed, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := feed.DecodeForkProof(tt.edit(bytes.Clone(valid)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeForkProof = %v, want %v", err, tt.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.field)) {
				t.Errorf("message %q does not name %q", err, tt.field)
			}
		})
	}
	// Offsets of errors inside an entry are offsets into the proof.
	b2 := bytes.Clone(valid)
	b2[second+5] = 9
	_, err = feed.DecodeForkProof(b2)
	var de *feed.DecodeError
	if !errors.As(err, &de) || de.Offset != second+5 {
		t.Fatalf("offset %v, want %d", err, second+5)
	}
	for n := range len(valid) {
		if _, err := feed.DecodeForkProof(valid[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
}
