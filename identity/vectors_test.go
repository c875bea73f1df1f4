package identity_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/vectorfile"
)

// TestTextVectors runs docs/vectors/identity: each body line is parsed as
// the kind of key the header names; "expect:" maps to a sentinel.
func TestTextVectors(t *testing.T) {
	expectations := map[string]error{
		"success":      nil,
		"bad id":       identity.ErrBadID,
		"bad checksum": identity.ErrBadChecksum,
		"weak key":     identity.ErrWeakKey,
		"bad network":  identity.ErrBadNetwork,
	}
	vectorfile.Run(t, "../docs/vectors/identity", expectations, func(t *testing.T, f *vectorfile.File, want error) {
		text := strings.TrimSuffix(string(f.Body), "\n")
		var key []byte
		switch f.Header["kind"] {
		case "id":
			id, err := identity.ParseID(text)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("ParseID: %v, want %q", err, f.Expect())
			}
			key = id[:]
			if err == nil && id.String() != text {
				t.Fatalf("String() = %s, not the vector's text", id)
			}
		case "network":
			n, err := identity.ParseNetwork(text)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("ParseNetwork: %v, want %q", err, f.Expect())
			}
			key = n[:]
		default:
			t.Fatalf("unknown kind %q", f.Header["kind"])
		}
		if h := f.Header["key"]; want == nil && h != hex.EncodeToString(key) {
			t.Errorf("key %x, header says %s", key, h)
		}
		if h := f.Header["key"]; want == identity.ErrWeakKey {
			var id identity.ID
			copy(id[:], mustHex(t, h))
			if id.String() != text {
				t.Errorf("weak-key vector's text is not the text of its key")
			}
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyFileVectors runs docs/vectors/keyfile: the body is a key file; a
// "passphrase" header is the passphrase to open it with, and its absence
// means none is available.
func TestKeyFileVectors(t *testing.T) {
	expectations := map[string]error{
		"success":            nil,
		"malformed key file": identity.ErrKeyFile,
		"wrong passphrase":   identity.ErrPassphrase,
		"need passphrase":    identity.ErrNeedPass,
	}
	vectorfile.Run(t, "../docs/vectors/keyfile", expectations, func(t *testing.T, f *vectorfile.File, want error) {
		var pass func() ([]byte, error)
		if p, ok := f.Header["passphrase"]; ok {
			pass = func() ([]byte, error) { return []byte(p), nil }
		}
		k, err := identity.ParseKeyFile(f.Body, pass)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("ParseKeyFile: %v, want %q", err, f.Expect())
		}
		if err != nil {
			return
		}
		if k.ID().String() != f.Header["id"] || hex.EncodeToString(k.Seed()) != f.Header["seed"] {
			t.Fatalf("key %s, headers say %s", k.ID(), f.Header["id"])
		}
		if pass == nil {
			// A plain file is the one canonical encoding of its key.
			b, err := identity.MarshalKeyFile(k, nil, identity.SealOptions{})
			if err != nil || !bytes.Equal(b, f.Body) {
				t.Fatal("plain key file does not round trip")
			}
		}
	})
}
