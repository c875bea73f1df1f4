package sbfeed

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// zeros is a deterministic reader for nonces and keys in tests.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type counterReader struct{ n byte }

func (c *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

func TestSealOpen(t *testing.T) {
	key, _ := GenerateGroupKey(&counterReader{})
	other, _ := GenerateGroupKey(&counterReader{n: 100})
	net := identity.NetworkFromName("t")
	alice, bob := identity.ID{1}, identity.ID{2}
	msg := []byte(`{"type":"say","text":"secret"}`)

	sealed, err := key.Seal(&counterReader{}, net, alice, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(msg)+SealOverhead || !IsSealed(sealed) || bytes.Contains(sealed, []byte("secret")) {
		t.Fatalf("sealed content %x does not look sealed", sealed)
	}
	if pt, err := key.Open(net, alice, sealed); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("Open: %q, %v", pt, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name    string
		key     GroupKey
		net     identity.Network
		author  identity.ID
		content []byte
		want    error
	}{
		{"wrong key", other, net, alice, sealed, ErrWrongGroupKey},
		{"other author", key, net, bob, sealed, ErrUnseal},
		{"other network", key, identity.DefaultNetwork, alice, sealed, ErrUnseal},
		{"flipped bit", key, net, alice, flipped, ErrUnseal},
		{"truncated", key, net, alice, sealed[:20], ErrUnseal},
		{"plain", key, net, alice, msg, ErrNotSealed},
	}
	for _, tt := range tests {
		if _, err := tt.key.Open(tt.net, tt.author, tt.content); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := key.Seal(zeros{}, net, alice, make([]byte, MaxSealedPlaintext+1)); err == nil {
		t.Error("oversized action sealed")
	}
}

func TestGroupKeyText(t *testing.T) {
	key, _ := GenerateGroupKey(&counterReader{})
	got, err := ParseGroupKey(key.String())
	if err != nil || got != key {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "sbfgroup1", "sbfgroup1zz", key.String() + "00"} {
		if _, err := ParseGroupKey(bad); !errors.Is(err, ErrBadGroupKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	key, _ := GenerateGroupKey(&counterReader{})
	net := identity.NetworkFromName("t")
	s, _ := key.Seal(&counterReader{}, net, identity.ID{1}, []byte("x"))
	f.Add(s)
	f.Add([]byte("sbfc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := key.Open(net, identity.ID{1}, b)
		if err == nil && !bytes.Equal(b, s) {
			t.Fatalf("forged content opened: %x -> %q", b, pt)
		}
	})
}

// TestContentVector checks the code against the vector in
// docs/spec/content-v1.md, read from the file itself.
func TestContentVector(t *testing.T) {
	spec, err := os.ReadFile("docs/spec/content-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) string {
		for _, line := range strings.Split(string(spec), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == name+":" {
				return f[1]
			}
		}
		t.Fatalf("vector has no %q", name)
		return ""
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key, err := ParseGroupKey(field("key"))
	if err != nil {
		t.Fatal(err)
	}
	if id := key.KeyID(); hex.EncodeToString(id[:]) != field("key-id") {
		t.Errorf("key ID %x, vector says %s", id, field("key-id"))
	}
	author, err := identity.ParseID(field("author"))
	if err != nil {
		t.Fatal(err)
	}
	seedKey, _ := identity.FromSeed(make([]byte, 32))
	if seedKey.ID() != author {
		t.Fatal("vector author is not the zero-seed identity")
	}
	net := identity.NetworkFromName("vector")
	got, err := key.Seal(bytes.NewReader(unhex(field("nonce"))), net, author, []byte(field("plaintext")))
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(field("sealed"))
	if !bytes.Equal(got, want) {
		t.Fatalf("sealed\n%x\nvector\n%x", got, want)
	}
	if pt, err := key.Open(net, author, want); err != nil || string(pt) != field("plaintext") {
		t.Fatalf("open vector: %q %v", pt, err)
	}
}
