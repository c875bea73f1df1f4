package identity_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// rfcKey is the key of RFC 8032 section 7.1 TEST 1, used as a fixed key
// throughout the tests and vectors.
func rfcKey(t testing.TB) *identity.Key {
	t.Helper()
	seed := []byte{
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	}
	k, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

func TestIDTextRoundTrip(t *testing.T) {
	id := rfcKey(t).ID()
	s := id.String()
	if len(s) != len(identity.IDPrefix)+58 || !strings.HasPrefix(s, identity.IDPrefix) {
		t.Fatalf("text form %q: want %q and 58 base32 characters", s, identity.IDPrefix)
	}
	for _, in := range []string{s, " " + s + "\n", "\t" + s} {
		got, err := identity.ParseID(in)
		if err != nil || got != id {
			t.Fatalf("ParseID(%q) = %v, %v", in, got, err)
		}
	}
	if !strings.HasPrefix(s[len(identity.IDPrefix):], id.Short()) || len(id.Short()) != 8 {
		t.Errorf("Short %q is not the first 8 characters after the prefix of %q", id.Short(), s)
	}
	b, err := id.MarshalText()
	if err != nil || string(b) != s {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	var back identity.ID
	if err := back.UnmarshalText(b); err != nil || back != id {
		t.Fatalf("UnmarshalText = %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("sbf1")); !errors.Is(err, identity.ErrBadID) {
		t.Fatalf("UnmarshalText of junk: %v", err)
	}
}

// TestIDTypos changes, drops, adds and swaps characters of a valid text
// form: every such typo must be an error, never another key.
func TestIDTypos(t *testing.T) {
	s := rfcKey(t).ID().String()
	body := len(identity.IDPrefix)
	last := len(s) - 1
	for i := body; i < len(s); i++ {
		for _, c := range alphabet {
			if byte(c) == s[i] {
				continue
			}
			typo := s[:i] + string(c) + s[i+1:]
			_, err := identity.ParseID(typo)
			switch {
			case err == nil:
				t.Fatalf("typo at %d (%q) parsed as a key", i, typo)
			case i < last && !errors.Is(err, identity.ErrBadChecksum):
				t.Fatalf("typo at %d: %v, want ErrBadChecksum", i, err)
			case i == last && !errors.Is(err, identity.ErrBadChecksum) && !errors.Is(err, identity.ErrBadID):
				// The last character carries 2 padding bits: a change
				// there is either a checksum or a canonicality error.
				t.Fatalf("typo in last character: %v", err)
			}
		}
	}
	for i := body; i+1 < len(s); i++ {
		if s[i] == s[i+1] {
			continue
		}
		swapped := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
		if _, err := identity.ParseID(swapped); err == nil {
			t.Fatalf("swap at %d parsed as a key", i)
		}
	}
}

func TestIDMalformed(t *testing.T) {
	s := rfcKey(t).ID().String()
	body := s[len(identity.IDPrefix):]
	lastVal := strings.IndexByte(alphabet, s[len(s)-1])
	tests := []struct {
		name string
		in   string
		want error
		msg  string // a substring the message must contain
	}{
		{"empty", "", identity.ErrBadID, "does not start with"},
		{"prefix only", "sbf1", identity.ErrBadID, "characters"},
		{"wrong version", "sbf2" + body, identity.ErrBadID, "does not start with"},
		{"upper-case prefix", "SBF1" + body, identity.ErrBadID, "does not start with"},
		{"upper case", "sbf1" + strings.ToUpper(body), identity.ErrBadID, "upper-case letters"},
		{"network prefix", identity.NetworkPrefix + body, identity.ErrBadID, "does not start with"},
		{"one short", s[:len(s)-1], identity.ErrBadID, "want 58"},
		{"one long", s + "a", identity.ErrBadID, "want 58"},
		{"padding", s[:len(s)-1] + "=", identity.ErrBadID, "illegal"},
		{"digit 0", s[:10] + "0" + s[11:], identity.ErrBadID, "illegal"},
		{"digit 1", s[:10] + "1" + s[11:], identity.ErrBadID, "illegal"},
		{"digit 8", s[:10] + "8" + s[11:], identity.ErrBadID, "illegal"},
		{"inner space", s[:10] + " " + s[11:], identity.ErrBadID, "illegal"},
		{"inner newline", s[:10] + "\n" + s[11:], identity.ErrBadID, "canonical"},
		// The final character holds 3 data bits and 2 zero bits; setting
		// a zero bit names the same bytes, so it must be refused.
		{"non-canonical tail", s[:len(s)-1] + string(alphabet[lastVal|1]), identity.ErrBadID, "not canonical base32"},
		{"hex", strings.Repeat("ab", 32), identity.ErrBadID, "does not start with"},
	}
	if lastVal&1 != 0 {
		t.Fatal("test assumes the last character has its low padding bit clear")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.ParseID(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseID(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err, tt.msg)
			}
		})
	}
	long := "sbf1" + strings.Repeat("a", 1000)
	if _, err := identity.ParseID(long); err == nil || len(err.Error()) > 200 {
		t.Errorf("a long input gives an unbounded message: %d bytes", len(err.Error()))
	}
}

// TestWeakKeys: text forms with a correct checksum of keys no honest
// implementation produces are refused with ErrWeakKey.
func TestWeakKeys(t *testing.T) {
	identityPoint := identity.ID{1}
	var nonCanonical identity.ID // y = p, which reduces to y = 0
	copy(nonCanonical[:], []byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	var nonCanonicalOne identity.ID // y = p + 1, the identity point spelled non-canonically
	copy(nonCanonicalOne[:], nonCanonical[:])
	nonCanonicalOne[0] = 0xee
	var notOnCurve identity.ID // y = 2 has no x on the curve
	notOnCurve[0] = 2
	for _, tt := range []struct {
		name string
		id   identity.ID
	}{
		{"all zero (order 4)", identity.ID{}},
		{"identity point", identityPoint},
		{"y = p", nonCanonical},
		{"y = p+1", nonCanonicalOne},
		{"not on the curve", notOnCurve},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.id.CheckKey(); !errors.Is(err, identity.ErrWeakKey) {
				t.Errorf("CheckKey = %v, want ErrWeakKey", err)
			}
			_, err := identity.ParseID(tt.id.String())
			if !errors.Is(err, identity.ErrWeakKey) {
				t.Fatalf("ParseID = %v, want ErrWeakKey", err)
			}
		})
	}
	if err := rfcKey(t).ID().CheckKey(); err != nil {
		t.Fatalf("a real key is refused: %v", err)
	}
}

func TestNetworkText(t *testing.T) {
	n := identity.NetworkFromName("test")
	s := n.String()
	if !strings.HasPrefix(s, identity.NetworkPrefix) || len(s) != len(identity.NetworkPrefix)+58 {
		t.Fatalf("network text %q", s)
	}
	hexForm := hex.EncodeToString(n[:])
	for _, in := range []string{s, " " + s + "\n", hexForm, strings.ToUpper(hexForm)} {
		got, err := identity.ParseNetwork(in)
		if err != nil || got != n {
			t.Fatalf("ParseNetwork(%q) = %x, %v", in, got, err)
		}
	}
	if identity.NetworkFromName("test") == identity.NetworkFromName("other") || identity.NetworkFromName("") == identity.DefaultNetwork {
		t.Fatal("network names collide")
	}
	if len(n.Short()) != 8 || strings.Contains(s, n.Short()) {
		t.Errorf("Short %q must be 8 digits that do not reveal the key", n.Short())
	}
	typo := s[:10] + string(alphabet[(strings.IndexByte(alphabet, s[10])+1)%32]) + s[11:]
	for _, tt := range []struct {
		name, in string
		want     error
	}{
		{"typo", typo, identity.ErrBadChecksum},
		{"identity text", rfcKey(t).ID().String(), identity.ErrBadNetwork},
		{"bad hex", "zz" + hexForm[2:], identity.ErrBadNetwork},
		{"short hex", hexForm[2:], identity.ErrBadNetwork},
		{"empty", "", identity.ErrBadNetwork},
	} {
		if _, err := identity.ParseNetwork(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseNetwork(%q) = %v, want %v", tt.name, tt.in, err, tt.want)
		}
	}
	// An ID's text is not a network's, even with the prefixes swapped:
	// the checksum covers the prefix.
	idText := rfcKey(t).ID().String()
	if _, err := identity.ParseNetwork(identity.NetworkPrefix + idText[len(identity.IDPrefix):]); !errors.Is(err, identity.ErrBadChecksum) {
		t.Errorf("ID body under the network prefix: %v, want ErrBadChecksum", err)
	}
	g1, err := identity.GenerateNetwork(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil || g1 != identity.Network(bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("GenerateNetwork = %x, %v", g1, err)
	}
	if _, err := identity.GenerateNetwork(bytes.NewReader(nil)); err == nil {
		t.Fatal("GenerateNetwork with an empty reader succeeded")
	}
}

func TestSignVerify(t *testing.T) {
	k := rfcKey(t)
	other, err := identity.Generate(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := identity.NetworkFromName("a"), identity.NetworkFromName("b")
	msg := []byte("message")
	sig := k.Sign("sbfeed/test/v1", n1, msg)
	if !identity.Verify(k.ID(), "sbfeed/test/v1", n1, msg, sig[:]) {
		t.Fatal("signature does not verify")
	}
	// The signed bytes are exactly purpose || 0 || network || msg.
	raw := identity.AppendSignedMessage(nil, "sbfeed/test/v1", n1, msg)
	want := append(append(append([]byte("sbfeed/test/v1"), 0), n1[:]...), msg...)
	kid := k.ID()
	if !bytes.Equal(raw, want) || !identity.VerifyRaw(kid[:], raw, sig[:]) {
		t.Fatal("signed message layout")
	}
	long := bytes.Repeat([]byte("x"), 1000) // beyond the stack buffer
	lsig := k.Sign("sbfeed/test/v1", n1, long)
	if !identity.Verify(k.ID(), "sbfeed/test/v1", n1, long, lsig[:]) {
		t.Fatal("long message")
	}
	for _, tt := range []struct {
		name    string
		id      identity.ID
		purpose string
		net     identity.Network
		msg     []byte
		sig     []byte
	}{
		{"other network", k.ID(), "sbfeed/test/v1", n2, msg, sig[:]},
		{"other purpose", k.ID(), "sbfeed/test/v2", n1, msg, sig[:]},
		{"purpose boundary", k.ID(), "sbfeed/test/v", n1, msg, sig[:]},
		{"other key", other.ID(), "sbfeed/test/v1", n1, msg, sig[:]},
		{"other message", k.ID(), "sbfeed/test/v1", n1, []byte("massage"), sig[:]},
		{"short signature", k.ID(), "sbfeed/test/v1", n1, msg, sig[:63]},
		{"long signature", k.ID(), "sbfeed/test/v1", n1, msg, append(sig[:], 0)},
		{"nil signature", k.ID(), "sbfeed/test/v1", n1, msg, nil},
	} {
		if identity.Verify(tt.id, tt.purpose, tt.net, tt.msg, tt.sig) {
			t.Errorf("%s: verifies", tt.name)
		}
	}
	if identity.VerifyRaw(kid[:31], raw, sig[:]) {
		t.Error("VerifyRaw accepted a 31-byte key")
	}
}

func TestKeyConstruction(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 32)
	a, err := identity.Generate(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	b, err := identity.FromSeed(seed)
	if err != nil || a.ID() != b.ID() || !bytes.Equal(a.Seed(), seed) {
		t.Fatal("Generate from a fixed reader differs from FromSeed")
	}
	s := a.Seed()
	s[0] ^= 1
	if a.Seed()[0] != 9 {
		t.Fatal("Seed returns an alias of the key")
	}
	if id := a.ID(); !bytes.Equal(a.PrivateKey()[32:], id[:]) {
		t.Fatal("PrivateKey does not hold the ID")
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := identity.FromSeed(make([]byte, n)); err == nil {
			t.Errorf("FromSeed accepted %d bytes", n)
		}
	}
	if _, err := identity.Generate(bytes.NewReader(seed[:10])); err == nil {
		t.Error("Generate from a short reader succeeded")
	}
}
