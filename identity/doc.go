// Package identity holds sbfeed's ed25519 identities and network keys.
//
// An identity is an ed25519 key pair. Its public half, an [ID], names a feed:
// every entry of a feed is signed by the key whose ID is the feed's author. A
// [Network] is a 32-byte key that names one application's network; every
// signature sbfeed makes is domain-separated with a purpose string and the
// network, so an entry signed for one network never verifies in another and a
// handshake proof never verifies as an entry.
//
// The package is pure: it reads randomness only from the io.Reader it is given
// and touches the file system only in the key-file helpers ([WriteKeyFile],
// [ReadKeyFile]), which exist so every tool stores keys the same way.
//
// Signature rule. sbfeed accepts exactly the signatures Go's crypto/ed25519
// accepts: RFC 8032 cofactorless verification with S < L enforced, R compared
// by its encoding (so a non-canonical R never matches), and A decoded leniently
// (non-canonical and low-order public keys are accepted by the primitive).
// Measured against the 914 C2SP CCTV edge cases this is
// "accept unless low_order_residue or non_canonical_R". Every peer must use
// the same rule, so it is pinned by TestCCTV. In addition, [ParseID]
// and [Key] refuse identities whose public key is a low-order point or not
// canonically encoded: such keys can sign for many messages at once and no
// honest implementation generates them. See docs/spec/identity-v1.md.
package identity
