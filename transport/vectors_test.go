package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

// The test vectors of docs/spec/transport-v1.md.
func TestSpecVectors(t *testing.T) {
	// Certificate of the identity with seed 01×32.
	cert, err := Certificate(testKey(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	if got := hex.EncodeToString(sum[:]); got != "5fb16157bc1deb3a2ead4599c0267f332f1ed35c0516379626a4e1a7563d7df9" {
		t.Errorf("certificate SHA-256 %s", got)
	}
	id, err := PeerID(cert.Certificate)
	if err != nil || id != testKey(t, 1).ID() {
		t.Errorf("PeerID = %s, %v", id.Short(), err)
	}
	// A control stream carrying "hello" then the empty frame, as a peer
	// reads it.
	stream, _ := hex.DecodeString("00" + "0000000568656c6c6f" + "00000000")
	if StreamKind(stream[0]) != Control {
		t.Fatal("kind byte")
	}
	fr := newFrameReader(bytes.NewReader(stream[1:]), Control, DefaultMaxFrameSize)
	for _, want := range []string{"hello", ""} {
		got, err := fr.next()
		if err != nil || string(got) != want {
			t.Fatalf("frame %q: got %q, %v", want, got, err)
		}
	}
	if _, err := fr.next(); err != io.EOF {
		t.Fatalf("after the frames: %v", err)
	}
	// Frames.
	for _, tc := range []struct{ payload, want string }{
		{"", "00000000"},
		{"hello", "0000000568656c6c6f"},
	} {
		if got := hex.EncodeToString(AppendFrame(nil, []byte(tc.payload))); got != tc.want {
			t.Errorf("frame %q = %s, want %s", tc.payload, got, tc.want)
		}
	}
}
