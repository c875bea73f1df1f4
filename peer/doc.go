// Package peer is sbfeed's replication driver: it carries one
// replicate.Session per connection of a [Transport] and stores what the
// sessions release in a store.DB. It runs both the standalone [Peer] and
// every sbfeed.Node (the root package builds its replication on it).
//
// It is the wrapper that owns goroutines, in the way etcd raft's node.go
// wraps RawNode. One owner goroutine runs every session and the node-wide
// replicate.Hub, and is the only writer of the store:
//
//	for {
//		select { inbound frame → Session.Step | tick → Session.Tick, OnTick |
//		         Publish/Append/Do → store, Hub.Notify | new connection → replicate.New }
//		for each session with HasReady():
//			rd := Ready()
//			store.Append(rd.Entries...)  // synced, before anything is acknowledged
//			queue rd.Messages            // Entries as Bulk frames, the rest as Control
//			Advance(rd); OnStored(rd.Entries)
//	}
//
// Around it, per connection, one goroutine reads and decodes frames and
// one writes each class of frames. The reader hands messages to the owner
// through a bounded channel, so a busy owner stops reading and the
// transport's flow control stops the remote; writers block on flow
// control, never the owner, and their queues are bounded in bytes.
//
// The transport is small on purpose ([Transport], [Endpoint], [Conn]):
// authenticated connections that move whole frames, each tagged Control
// or Bulk. [QUIC], the default, sends the two classes on two streams, so
// a long bulk transfer does not delay handshakes, wants or
// acknowledgements; an in-memory transport may use one queue. Entries
// that overtake the Hello are held until the handshake is done.
//
// One connection serves each pair of peers: when two peers dial each other
// at once, both keep the connection the lower identity dialled and close
// the other ([ErrDuplicate]); a redial loop waits while another connection
// to its peer is open, and dials when it ends.
//
// Nothing acknowledged is lost: a session acknowledges entries (Heads
// notes) only in messages of a Ready whose entries were stored first, and a
// peer that goes away mid-sync resumes from its stored heads on the next
// connection; the store ignores entries it already holds.
package peer
