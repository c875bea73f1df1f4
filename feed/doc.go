// Package feed defines sbfeed's signed, append-only, hash-chained feeds: the
// [Entry], its one canonical encoding, its ID, and the rules that make a feed
// unforgeable and a fork provable.
//
// Every peer has one feed. Entry n of a feed names entry n-1 by its ID (a
// SHA-256 over every field but the signature), carries a Lamport clock that is
// verifiably 1 + the largest clock it had seen, may reference entries of other
// feeds, and is signed by the author with the network's domain separation.
// Because each ID commits to the previous one, a valid signature on the newest
// entry of a run authenticates the whole run: [VerifyChain] checks hash links
// and one signature, [VerifyChainFull] checks every signature.
//
// Validation is split by what it needs:
//
//   - intrinsic ([Entry.Verify]): encoding, sizes, signature; needs only the
//     entry and the network;
//   - chain ([Entry.VerifyAfter]): seq, previous ID, clock kind and clock
//     against the author's previous entry;
//   - causal ([Entry.VerifyRefs]): references resolve to entries of other
//     feeds and the clock is exactly what they allow.
//
// Two validly signed entries of one author at one seq with different IDs are
// a [ForkProof]: self-contained evidence anyone can check.
//
// The package is pure: no goroutines, clocks, randomness or I/O. The byte
// format is specified in docs/spec/feed-v1.md and pinned by the vectors in
// docs/vectors/feed.
package feed
