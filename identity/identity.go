package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// Sizes of the byte forms.
const (
	IDSize        = ed25519.PublicKeySize // 32
	SeedSize      = ed25519.SeedSize      // 32
	SignatureSize = ed25519.SignatureSize // 64
	NetworkSize   = 32
)

// Errors callers branch on.
var (
	ErrBadID        = errors.New("identity: malformed identity")
	ErrBadChecksum  = errors.New("identity: checksum mismatch (a typo?)")
	ErrWeakKey      = errors.New("identity: public key is a low-order or non-canonical point")
	ErrBadNetwork   = errors.New("identity: malformed network key")
	ErrBadSignature = errors.New("identity: bad signature")
)

// ID is the public half of an identity: an ed25519 public key. Its text form
// is given by [ID.String] and read by [ParseID].
type ID [IDSize]byte

// Network names one network. Peers of different networks never exchange
// entries: every signature is bound to the network.
type Network [NetworkSize]byte

// DefaultNetwork is the network used when none is configured: the SHA-256 of
// "sbfeed/network/default". It is public, so it isolates nothing; real
// deployments generate their own with [GenerateNetwork].
var DefaultNetwork = Network(sha256.Sum256([]byte("sbfeed/network/default")))

// NetworkFromName derives a network key from a human name, for demos and
// tests. Anyone who knows the name can join; use [GenerateNetwork] for a
// private network.
func NetworkFromName(name string) Network {
	return Network(sha256.Sum256([]byte("sbfeed/network/name/" + name)))
}

// GenerateNetwork returns a new random network key read from rand.
func GenerateNetwork(rand io.Reader) (Network, error) {
	var n Network
	if _, err := io.ReadFull(rand, n[:]); err != nil {
		return n, fmt.Errorf("identity: generate network: %w", err)
	}
	return n, nil
}

// Short returns the first 8 hex digits of the network's SHA-256, safe to log
// and to show in errors: it names the network without revealing the key.
func (n Network) Short() string {
	h := sha256.Sum256(n[:])
	return fmt.Sprintf("%x", h[:4])
}

// Key is a private identity. The zero Key is not usable; obtain one from
// [Generate], [FromSeed] or [ReadKeyFile].
type Key struct {
	priv ed25519.PrivateKey
	id   ID
}

// Generate returns a new key whose seed is read from rand (crypto/rand.Reader
// in production; a fixed reader in tests and vectors).
func Generate(rand io.Reader) (*Key, error) {
	var seed [SeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("identity: generate key: %w", err)
	}
	return FromSeed(seed[:])
}

// FromSeed returns the key with the given 32-byte RFC 8032 private key (seed).
func FromSeed(seed []byte) (*Key, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("identity: seed is %d bytes, want %d", len(seed), SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k := &Key{priv: priv}
	copy(k.id[:], priv[SeedSize:])
	return k, nil
}

// ID returns the public identity of k.
func (k *Key) ID() ID { return k.id }

// Seed returns a copy of the 32-byte private seed. Handle with care.
func (k *Key) Seed() []byte { return append([]byte(nil), k.priv.Seed()...) }

// PrivateKey returns the key as a crypto/ed25519 private key, for TLS
// certificates. The caller must not modify it.
func (k *Key) PrivateKey() ed25519.PrivateKey { return k.priv }

// Sign signs msg for purpose in network: the signed bytes are
// SignedMessage(purpose, network, msg).
func (k *Key) Sign(purpose string, network Network, msg []byte) [SignatureSize]byte {
	var sig [SignatureSize]byte
	// Entry IDs and handshake transcripts fit the stack buffer, so signing
	// them does not touch the heap; longer messages grow it.
	var stack [128]byte
	buf := AppendSignedMessage(stack[:0], purpose, network, msg)
	copy(sig[:], ed25519.Sign(k.priv, buf))
	return sig
}

// SignRaw signs msg with no domain separation. It exists for the RFC 8032
// vectors; sbfeed itself never signs raw messages.
func (k *Key) SignRaw(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// AppendSignedMessage appends to dst the bytes that are actually signed for
// msg under purpose and network: purpose, one zero byte, the 32-byte network,
// then msg. Purposes are fixed ASCII strings without zero bytes, such as
// "sbfeed/entry/v1", so no message of one purpose is a message of another.
func AppendSignedMessage(dst []byte, purpose string, network Network, msg []byte) []byte {
	dst = append(dst, purpose...)
	dst = append(dst, 0)
	dst = append(dst, network[:]...)
	return append(dst, msg...)
}

// Verify reports whether sig is id's signature of msg for purpose in network.
func Verify(id ID, purpose string, network Network, msg []byte, sig []byte) bool {
	var stack [128]byte
	buf := AppendSignedMessage(stack[:0], purpose, network, msg)
	return VerifyRaw(id[:], buf, sig)
}

// VerifyRaw is the signature primitive every peer uses: Go's
// crypto/ed25519.Verify, which never panics on malformed input here because
// the lengths are checked first. See the package documentation for the exact
// acceptance rule.
func VerifyRaw(pub, msg, sig []byte) bool {
	if len(pub) != IDSize || len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

// CheckKey reports whether id is an acceptable author key: a canonically
// encoded point that is not of small order. The all-zero and other low-order
// keys are refused (ErrWeakKey) because their "signatures" can verify for
// arbitrary messages under lenient rules.
func (id ID) CheckKey() error {
	p, err := new(edwards25519.Point).SetBytes(id[:])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWeakKey, err)
	}
	if subtle.ConstantTimeCompare(p.Bytes(), id[:]) != 1 {
		return ErrWeakKey
	}
	// Low order: [8]P is the identity.
	q := new(edwards25519.Point).MultByCofactor(p)
	if q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return ErrWeakKey
	}
	return nil
}
