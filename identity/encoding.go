package identity

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// IDPrefix begins the text form of every identity. The "1" is the version of
// the text form.
const IDPrefix = "sbf1"

// NetworkPrefix begins the text form of a network key.
const NetworkPrefix = "sbfnet1"

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// textChecksum is the 4-byte checksum appended before base32: the first four
// bytes of SHA-256(prefix || key). A changed, dropped or swapped character
// changes the checksum with probability 1 - 2^-32.
func textChecksum(prefix string, key []byte) []byte {
	h := sha256.New()
	h.Write([]byte(prefix))
	h.Write(key)
	return h.Sum(nil)[:4]
}

func encodeText(prefix string, key []byte) string {
	buf := append(append([]byte(nil), key...), textChecksum(prefix, key)...)
	return prefix + b32.EncodeToString(buf)
}

func decodeText(prefix, s string, key []byte, bad error) error {
	if !strings.HasPrefix(s, prefix) {
		return fmt.Errorf("%w: %q does not start with %q", bad, clip(s), prefix)
	}
	body := s[len(prefix):]
	want := b32.EncodedLen(len(key) + 4)
	if len(body) != want {
		return fmt.Errorf("%w: %q has %d characters after %q, want %d", bad, clip(s), len(body), prefix, want)
	}
	if strings.ToLower(body) != body {
		// Copy-paste through a system that upper-cases; say so plainly.
		return fmt.Errorf("%w: %q has upper-case letters; the text form is lower case", bad, clip(s))
	}
	raw, err := b32.DecodeString(body)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", bad, clip(s), err)
	}
	// base32 without padding accepts non-zero trailing bits; re-encoding
	// catches them so that exactly one string names each key.
	if b32.EncodeToString(raw) != body {
		return fmt.Errorf("%w: %q is not canonical base32", bad, clip(s))
	}
	n := len(key)
	if string(textChecksum(prefix, raw[:n])) != string(raw[n:]) {
		return fmt.Errorf("%w: %q", ErrBadChecksum, clip(s))
	}
	copy(key, raw[:n])
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// String returns the text form of id: "sbf1" followed by the lowercase,
// unpadded base32 of the 32-byte key and a 4-byte checksum (58 characters).
func (id ID) String() string { return encodeText(IDPrefix, id[:]) }

// Short returns a short form of id for logs and messages: the first 8
// characters after the prefix. It is not unique and is never parsed.
func (id ID) Short() string { return id.String()[len(IDPrefix) : len(IDPrefix)+8] }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseID]'s checks.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID reads the text form of an identity. Surrounding white space is
// ignored; anything else that is not exactly a String() output is an error:
// a wrong prefix or length, a character outside the alphabet, non-canonical
// trailing bits, a checksum mismatch (ErrBadChecksum) or a weak key
// (ErrWeakKey).
func ParseID(s string) (ID, error) {
	var id ID
	if err := decodeText(IDPrefix, strings.TrimSpace(s), id[:], ErrBadID); err != nil {
		return ID{}, err
	}
	if err := id.CheckKey(); err != nil {
		return ID{}, fmt.Errorf("%w (key %s)", err, id.Short())
	}
	return id, nil
}

// String returns the text form of the network key: "sbfnet1" followed by
// base32 of the key and a checksum. The text form is the secret that admits
// a peer to the network; log [Network.Short] instead.
func (n Network) String() string { return encodeText(NetworkPrefix, n[:]) }

// ParseNetwork reads a network key in its text form, or as 64 hex digits.
func ParseNetwork(s string) (Network, error) {
	var n Network
	s = strings.TrimSpace(s)
	if len(s) == 2*NetworkSize && !strings.HasPrefix(s, NetworkPrefix) {
		b, err := hex.DecodeString(s)
		if err != nil {
			return n, fmt.Errorf("%w: %v", ErrBadNetwork, err)
		}
		copy(n[:], b)
		return n, nil
	}
	if err := decodeText(NetworkPrefix, s, n[:], ErrBadNetwork); err != nil {
		return Network{}, err
	}
	return n, nil
}
