// Package sbfeed is replicated application state that nobody can forge.
//
// Several peers share one application state — a counter, a chat room, a
// game, a ledger — the way a Redux store holds it: the state is the fold of
// a reducer over actions. Every peer signs the actions it dispatches into
// its own append-only, hash-chained feed (package feed); peers replicate
// every feed with scuttlebutt anti-entropy over QUIC (packages replicate
// and transport); a deterministic merge of all feeds gives every peer the
// same order, and a rewindable reducer folds it (package merge). Everything
// is kept durably in Pebble (package store).
//
// A [Node] puts these together behind one call:
//
//	node, err := sbfeed.Open(dir, reducer, sbfeed.Options{})
//	node.Listen(":7411")                       // accept peers (QUIC, UDP)
//	node.Connect(ctx, "192.0.2.7:7411")        // and dial some
//	err = node.Dispatch(ctx, Action{Type: "INCREMENT"}) // sign, store, fold, send
//	fmt.Println(node.State())
//
// The reducer is an ordinary func(S, A) (S, error) that knows nothing
// about replication; it must not mutate the state it is given (older
// states are kept to rewind to). An error, or a panic, refuses the action:
// it has no effect, and every peer refuses the same actions. Actions are
// encoded as JSON unless Options.Codec says otherwise.
//
// # How a node runs
//
// Two goroutines own everything mutable, so no lock guards application
// state and the reducer never runs on a network goroutine:
//
//   - the owner goroutine, package peer's replication driver, holds the
//     store's writes and the replication sessions. It steps each inbound
//     message (decoded on the connection's reader goroutine) into its
//     session, and handles each session's Ready in the order replicate
//     requires: persist the entries and fork proofs (one synced Pebble
//     batch for up to 2 MiB of received frames), then queue the messages
//     for the connection's writers, then Advance; local Dispatch calls are
//     served on it too (peer.Peer.Do), between messages, and it keeps the
//     fold horizon during a bulk sync;
//   - the folder goroutine owns the merge view, the published state and the
//     subscribers. Entries reach it only once durable. Whatever arrived
//     while it was folding is added in one batch; while a sync is behind a
//     peer, a fold horizon (merge.View.SetHorizon) holds the reducer back
//     from the part of the order that late entries would still land in, so
//     each action is reduced about once.
//
// Each connection has a reader goroutine (frames in, decoded, to the
// owner) and a writer goroutine per frame class (Control, Bulk), whose
// queues are bounded in bytes (a peer that reads too slowly is dropped),
// because sending may block under flow control and the owner must never
// block on a peer. Over QUIC the two classes travel on two streams, so
// bulk entries never delay handshakes and acknowledgements. Connect
// redials with exponential backoff until the node closes.
//
// [Node.Close] stops accepting work, says goodbye to every peer, flushes
// what each connection has queued (bounded by a timeout), closes the
// endpoint and the store. Every acknowledged Dispatch was durable before
// it returned, so Close loses nothing.
//
// # Options
//
// [Options] has documented zero-value defaults: the identity in
// DIR/identity (created on first use), the public default network, Lamport
// clocks, QUIC, JSON, no encryption, synced writes, no logging. Content
// encryption with a group key ([GroupKey], docs/spec/content-v1.md) lets
// relays carry and verify entries they cannot read. A [RetentionPolicy]
// squashes final history as it goes.
//
// See docs/security.md for what sbfeed guarantees and what it does not.
package sbfeed
