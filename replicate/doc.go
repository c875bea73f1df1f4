// Package replicate is sbfeed's replication protocol: scuttlebutt
// anti-entropy with epidemic-broadcast-tree (EBT) flow, written as a pure
// state machine in the style of etcd raft's RawNode.
//
// A [Session] is one peer's side of one connection to one remote peer. It
// starts no goroutines and reads no clock, socket or randomness: messages come
// in through [Session.Step], abstract time through [Session.Tick], entries the
// local node stored through [Session.Notify] (or [Hub.Notify]), and everything
// the caller must do comes out through [Session.Ready]:
//
//	s, err := replicate.New(replicate.Config{Self: me, Key: key, Network: net,
//		Remote: them, Binding: tlsExporter, Storage: st, Hub: hub})
//	// inbound frame:   m, err := replicate.DecodeMessage(frame); err = s.Step(m)
//	// every tick:      s.Tick()
//	for s.HasReady() {
//		rd := s.Ready()
//		// 1. persist rd.ForkProofs and rd.Entries (synced) — in this order;
//		// 2. send rd.Messages (replicate.EncodeMessage(nil, m) per frame);
//		// 3. handle rd.Events (logs) and hand rd.Entries on (merge.View.Add, …);
//		s.Advance(rd)
//	}
//
// Persistence rule (as in raft): the entries in a Ready MUST be durable before
// Advance is called, and the messages of a Ready MUST NOT be sent before the
// entries of the same Ready are durable, because some of those messages
// acknowledge them (a Heads note tells the remote "I hold up to seq n"). When
// Step returns an error, or [Session.Closed] reports true after Tick (no
// Hello in time), the session is dead: the caller sends the Goodbye found in
// the next Ready and closes the connection; [Session.Err] says why and
// [CodeOf] gives the transport's close code.
//
// # Several peers: the Hub
//
// A node with several connections creates one [Hub] and passes it in every
// session's Config. The Hub is the node-wide, single-goroutine shared state
// (no locks: the driver calls every session and the hub from one goroutine):
//
//   - the node's heads (stored, plus entries released in an outstanding Ready),
//     so a session never asks for or accepts what another session already got;
//   - the EBT tree: for every feed exactly one session is the eager source
//     (its remote pushes new entries of that feed as soon as it has them); every
//     other session is lazy for that feed (its remote only announces its new
//     head). When a lazy remote announces a head beyond ours and the eager
//     source has not delivered it within Config.StallTicks ticks, the hub moves
//     the feed's eager role to that session (a Want message to each side);
//   - relaying: when one session's Ready is advanced, every other session
//     learns the new heads and pushes them to the remotes that want them
//     eagerly, or announces them lazily.
//
// Entries released in a session's Ready chain only from heads that are stored
// or released in an earlier Ready, so the driver MUST handle Readies one at a
// time (Ready → persist → send → Advance) before asking another session, which
// a single-goroutine loop does naturally. A session closed with an outstanding
// Ready must call [Session.Close] so the hub forgets its pending entries.
//
// Without a Hub (Config.Hub nil) a session uses a private one: it is eager for
// every feed, which is right for a client talking to one server.
//
// # Protocol in short
//
// Both sides send [Hello] (version range, network, identity, a signature over
// the transport's channel binding, limits). Nothing else is accepted before a
// valid Hello: a peer of another network is refused with [ErrWrongNetwork]
// before any entry moves. Then each side sends a [Summary] (a Merkle root over
// its sorted heads and their count); equal roots mean "already equal" and cost
// under 100 bytes whatever the number of feeds. Otherwise each sends its full
// [Heads] once, and afterwards only the notes that changed. Each side tells the
// other with [Want] which feeds it wants pushed eagerly, which lazily, and which
// not at all (partial replication). [Entries] frames carry runs of consecutive
// entries of one feed in seq order, raw canonical encodings back to back, at
// most Limits.Window unacknowledged entries and Limits.MaxFrame bytes per frame.
// Every received entry is verified (hash links, the newest signature of each
// run, and a fork check) before it is released in a Ready. Since an entry's
// ID does not cover its signature, a relay may hold entries whose signature
// bytes a hostile peer altered: every run is therefore sent ending at an
// entry whose signature the sender verified, and a received run whose
// newest signature fails is kept up to its newest signed entry (see
// "signature poisoning" in docs/protocol.md). Two signed entries
// at one seq become a [Fork] proof, passed to every peer; a forked feed is not
// accepted past the fork.
//
// The byte-level specification, the state machine, its invariants and the
// test vectors are in docs/protocol.md; internal/sim drives hundreds of
// sessions in a deterministic simulated network.
package replicate
