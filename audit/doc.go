// Package audit is the verification engine behind "sbfeed verify": it
// re-checks every feed of a store or of a bundle file and reports each
// problem by author, seq and what is wrong.
//
// For every feed it checks the encoding of each entry, seq continuity, hash
// links, the clock rule (against the previous entry, and against resolved
// references), that references resolve to entries of other feeds, and
// signatures: by default the newest signature of each verified run, which
// authenticates the run through the hash chain (see feed.VerifyChain); with
// Options.Full every signature. It verifies stored fork proofs and reports
// forks. For a store it also checks that each head record matches the
// stored chain and, with Full, that the ID and merge indexes hold exactly
// one correct record per entry.
//
// The work is split into ranges of at most Options.ChunkSize entries that workers
// check in parallel (one per core by default); each range starts from the
// entry before it, so splitting loses no link check.
//
// An audit reads through the small [Source] interface, implemented here for
// a *store.DB ([FromStore]) and for a bundle ([LoadBundle]).
package audit
