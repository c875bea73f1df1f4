package sbfeed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Content encryption (docs/spec/content-v1.md). With Options.GroupKey set, a
// node seals every action it dispatches with XChaCha20-Poly1305 under the
// group key before signing it. The entry around the sealed content stays in
// the clear: relays verify signatures, chains and forks and pass entries on
// without being able to read them.
//
// Sealed content layout:
//
//	off  size  field
//	0    4     magic "sbfc"
//	4    1     version (1)
//	5    8     key ID: SHA-256("sbfeed/content/key-id/v1" || key)[:8]
//	13   24    nonce, random
//	37   n+16  ciphertext and Poly1305 tag
//
// The associated data is "sbfeed/content/v1", a zero byte, the network, the
// author's public key and the 13-byte header, so a sealed action cannot be
// moved into another author's feed or another network and still open.

// GroupKeySize is the size of a content encryption key.
const GroupKeySize = chacha20poly1305.KeySize

// SealOverhead is the number of bytes sealing adds to an action.
const SealOverhead = sealHeaderSize + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// MaxSealedPlaintext is the largest action that still fits in an entry once
// sealed.
const MaxSealedPlaintext = feed.MaxContentSize - SealOverhead

const (
	sealMagic      = "sbfc"
	sealVersion    = 1
	sealKeyIDSize  = 8
	sealHeaderSize = len(sealMagic) + 1 + sealKeyIDSize
	sealPurpose    = "sbfeed/content/v1"
	groupKeyPrefix = "sbfgroup1"
)

// Content errors callers branch on.
var (
	// ErrNotSealed: a node with a group key met content that is not sealed.
	ErrNotSealed = errors.New("sbfeed: content is not sealed")
	// ErrWrongGroupKey: the content was sealed under another group key.
	ErrWrongGroupKey = errors.New("sbfeed: content sealed under another group key")
	// ErrUnseal: the content is damaged, or was moved to another author or
	// network.
	ErrUnseal = errors.New("sbfeed: sealed content does not open")
	// ErrBadGroupKey: a group key's text form is malformed.
	ErrBadGroupKey = errors.New("sbfeed: malformed group key")
)

// GroupKey is a symmetric key shared by every member allowed to read an
// app's actions. Keep it secret; share it out of band.
type GroupKey [GroupKeySize]byte

// GenerateGroupKey returns a new group key read from rand
// (crypto/rand.Reader in production).
func GenerateGroupKey(rand io.Reader) (GroupKey, error) {
	var k GroupKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return k, fmt.Errorf("sbfeed: generate group key: %w", err)
	}
	return k, nil
}

// String returns the secret text form: "sbfgroup1" and 64 hex digits.
func (k GroupKey) String() string { return groupKeyPrefix + hex.EncodeToString(k[:]) }

// ParseGroupKey reads the text form of a group key, with or without the
// "sbfgroup1" prefix.
func ParseGroupKey(s string) (GroupKey, error) {
	var k GroupKey
	h := strings.TrimPrefix(strings.TrimSpace(s), groupKeyPrefix)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != GroupKeySize {
		return k, fmt.Errorf("%w: want %q and %d hex digits", ErrBadGroupKey, groupKeyPrefix, 2*GroupKeySize)
	}
	copy(k[:], b)
	return k, nil
}

// KeyID returns the 8-byte public name of the key written in sealed
// content, so a reader with the wrong key gets a clear error.
func (k GroupKey) KeyID() [sealKeyIDSize]byte {
	h := sha256.New()
	h.Write([]byte("sbfeed/content/key-id/v1"))
	h.Write(k[:])
	var id [sealKeyIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

func sealAD(network identity.Network, author identity.ID, header []byte) []byte {
	ad := make([]byte, 0, len(sealPurpose)+1+len(network)+len(author)+len(header))
	ad = append(ad, sealPurpose...)
	ad = append(ad, 0)
	ad = append(ad, network[:]...)
	ad = append(ad, author[:]...)
	return append(ad, header...)
}

// Seal encrypts an action written by author in network, with a nonce read
// from rand.
func (k GroupKey) Seal(rand io.Reader, network identity.Network, author identity.ID, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxSealedPlaintext {
		return nil, fmt.Errorf("sbfeed: seal: action of %d bytes, limit %d once sealed", len(plaintext), MaxSealedPlaintext)
	}
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, sealHeaderSize+aead.NonceSize(), SealOverhead+len(plaintext))
	copy(out, sealMagic)
	out[len(sealMagic)] = sealVersion
	id := k.KeyID()
	copy(out[len(sealMagic)+1:], id[:])
	if _, err := io.ReadFull(rand, out[sealHeaderSize:]); err != nil {
		return nil, fmt.Errorf("sbfeed: seal: nonce: %w", err)
	}
	nonce := out[sealHeaderSize:]
	return aead.Seal(out, nonce, plaintext, sealAD(network, author, out[:sealHeaderSize])), nil
}

// IsSealed reports whether content starts like sealed content.
func IsSealed(content []byte) bool { return bytes.HasPrefix(content, []byte(sealMagic)) }

// Open decrypts content sealed by author in network. Errors wrap
// ErrNotSealed, ErrWrongGroupKey or ErrUnseal.
func (k GroupKey) Open(network identity.Network, author identity.ID, content []byte) ([]byte, error) {
	if !IsSealed(content) {
		return nil, ErrNotSealed
	}
	if len(content) < SealOverhead {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte overhead", ErrUnseal, len(content), SealOverhead)
	}
	if v := content[len(sealMagic)]; v != sealVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrUnseal, v, sealVersion)
	}
	id := k.KeyID()
	if got := content[len(sealMagic)+1 : sealHeaderSize]; !bytes.Equal(got, id[:]) {
		return nil, fmt.Errorf("%w: key %x, ours is %x", ErrWrongGroupKey, got, id)
	}
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		return nil, err
	}
	nonce := content[sealHeaderSize : sealHeaderSize+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, content[sealHeaderSize+aead.NonceSize():], sealAD(network, author, content[:sealHeaderSize]))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (damaged, or moved from another author or network)", ErrUnseal)
	}
	return pt, nil
}
