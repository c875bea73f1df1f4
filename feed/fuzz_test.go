package feed_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
)

// TestFuzzSeeds fails when a fuzz target has no committed seed corpus: an
// empty corpus would let `go test` pass without running a single input.
func TestFuzzSeeds(t *testing.T) {
	for _, name := range []string{"FuzzDecodeEntry", "FuzzDecodeForkProof"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
		if len(seeds) == 0 {
			t.Errorf("%s has no seeds in testdata/fuzz/%s (run go run docs/vectors/gen.go)", name, name)
		}
	}
}

// decodeSentinel reports whether err wraps one of the errors Decode may
// return.
func decodeSentinel(err error) bool {
	for _, s := range []error{feed.ErrMalformed, feed.ErrNonCanonical, feed.ErrVersion, feed.ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzDecodeEntry: Decode never panics; whatever it accepts re-encodes to
// exactly the input; DecodePrefix and SizeAt agree with it; verification
// of accepted entries never panics.
func FuzzDecodeEntry(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := feed.Decode(b)
		e2, n, err2 := feed.DecodePrefix(b)
		if err != nil {
			var de *feed.DecodeError
			if !errors.As(err, &de) || !decodeSentinel(err) {
				t.Fatalf("error %v (%T) is not a *DecodeError with a sentinel", err, err)
			}
			if err2 == nil && n == len(b) {
				t.Fatal("DecodePrefix accepts exactly what Decode refuses")
			}
			return
		}
		if out := e.Encode(); !bytes.Equal(out, b) {
			t.Fatalf("round trip:\n in %x\nout %x", b, out)
		}
		if err2 != nil || n != len(b) || e2.ID() != e.ID() {
			t.Fatalf("DecodePrefix = %d, %v", n, err2)
		}
		if size, err := feed.SizeAt(b); err != nil || size != len(b) {
			t.Fatalf("SizeAt = %d, %v", size, err)
		}
		if e.EncodedSize() != len(b) {
			t.Fatalf("EncodedSize %d, len %d", e.EncodedSize(), len(b))
		}
		if err := e.Verify(testNet); err != nil && !errors.Is(err, feed.ErrBadSignature) {
			t.Fatalf("decoded entry fails a field check: %v", err)
		}
		_ = e.VerifyAfter(feed.Head{})
	})
}

// FuzzDecodeForkProof: DecodeForkProof never panics and what it accepts
// re-encodes exactly; Verify never panics.
func FuzzDecodeForkProof(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := feed.DecodeForkProof(b)
		if err != nil {
			if !decodeSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if out := p.Encode(); !bytes.Equal(out, b) {
			t.Fatalf("round trip:\n in %x\nout %x", b, out)
		}
		if p.A.ID().Compare(p.B.ID()) >= 0 {
			t.Fatal("accepted a proof out of ID order")
		}
		if err := p.Verify(testNet); err != nil && !errors.Is(err, feed.ErrBadForkProof) {
			t.Fatalf("Verify: %v", err)
		}
	})
}
