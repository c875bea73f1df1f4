package identity_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// TestFuzzSeeds fails when a fuzz target has no committed seed corpus: an
// empty corpus would let `go test` pass without running a single input.
func TestFuzzSeeds(t *testing.T) {
	for _, name := range []string{"FuzzParseID", "FuzzParseNetwork", "FuzzParseKeyFile"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
		if len(seeds) == 0 {
			t.Errorf("%s has no seeds in testdata/fuzz/%s (run go run docs/vectors/gen.go)", name, name)
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, err := identity.ParseID(s)
		if err != nil {
			if !errors.Is(err, identity.ErrBadID) && !errors.Is(err, identity.ErrBadChecksum) && !errors.Is(err, identity.ErrWeakKey) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		// Exactly one text names each key.
		if id.String() != strings.TrimSpace(s) {
			t.Fatalf("accepted %q, which is not the text form %q", s, id)
		}
		if id.CheckKey() != nil {
			t.Fatal("accepted a weak key")
		}
	})
}

func FuzzParseNetwork(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := identity.ParseNetwork(s)
		if err != nil {
			if !errors.Is(err, identity.ErrBadNetwork) && !errors.Is(err, identity.ErrBadChecksum) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		s = strings.TrimSpace(s)
		if n.String() != s && hex.EncodeToString(n[:]) != strings.ToLower(s) {
			t.Fatalf("accepted %q, which is neither text form of %x", s, n[:])
		}
	})
}

func FuzzParseKeyFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		// Only the cheapest scrypt work factor is run: a fuzzer must not
		// spend seconds and gigabytes per input on logN 22.
		pass := func() ([]byte, error) { return nil, errors.New("no passphrase for expensive files") }
		if bytes.Contains(b, []byte("\nsealed scrypt 10 ")) {
			pass = func() ([]byte, error) { return []byte("correct horse battery staple"), nil }
		}
		k, err := identity.ParseKeyFile(b, pass)
		info, ierr := identity.InspectKeyFile(b)
		if err != nil {
			if ierr == nil && !info.Sealed {
				t.Fatalf("Inspect accepts a plain file Parse refuses: %v", err)
			}
			return
		}
		if ierr != nil || info.ID != k.ID() {
			t.Fatalf("Inspect disagrees with Parse: %v", ierr)
		}
		if !info.Sealed {
			out, err := identity.MarshalKeyFile(k, nil, identity.SealOptions{})
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("accepted plain file does not round trip:\n%q\n%q", b, out)
			}
		}
	})
}
