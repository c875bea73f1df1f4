// Package store keeps sbfeed feeds durably on disk, in Pebble.
//
// A [DB] holds every feed a peer knows: its own and those it relays. It is
// the only place where entries become durable, so it is also where the
// chain rule is enforced for good: [DB.Append] accepts a batch of entries
// only if each one extends its feed's stored chain (hash links, seq, clock
// rule, and the signature of the newest entry of each run, which
// authenticates the run through the hash chain), and writes the entries,
// the feed heads and every index in one synced Pebble batch. Nothing is
// half-written: either the whole batch is durable when Append returns, or
// nothing of it is stored.
//
// A second validly signed entry at a stored seq is a fork. It never
// overwrites the stored entry: the store keeps a [feed.ForkProof], marks the
// feed forked at that seq and reports it as a *feed.ForkError.
//
// Reads serve the other layers: [DB.Get] and [DB.GetByID] for single
// entries, [DB.Range] and [DB.RangeRaw] for replication (RangeRaw yields the
// stored bytes, with no decode and re-encode on the hot path), [DB.Heads] for
// anti-entropy, [DB.MergeOrder] for the merge layer (every entry by Lamport
// clock then ID), and [DB.PutSnapshot]/[DB.GetSnapshot] for the reducer's
// snapshots.
//
// The key layout and its format version are specified in
// docs/spec/store-v1.md. [Open] refuses a store of an unknown or newer
// version, a store of another network, and a directory another process
// holds open (*[LockedError], "in use by process N").
//
// A DB is safe for concurrent use. Appends are serialised; reads run in
// parallel with them and see whole batches only.
package store
