// Package bundle reads and writes sbfeed bundle files: a versioned,
// self-delimiting sequence of signed entries (and fork proofs) for offline
// sync — a USB stick, an e-mail attachment, a backup.
//
// A bundle carries no trust of its own. Every entry in it is verified by
// whoever imports it, exactly as if it had arrived over the network; the
// per-record CRC-32C only tells damage apart from forgery and lets a reader
// name the byte offset where a file went bad. A reader stops at the first
// damaged record and reports its offset and index, so an importer can keep
// every verifying entry before it.
//
// The byte format is specified in docs/spec/bundle-v1.md and pinned by the
// vectors in docs/vectors/bundle.
package bundle
