// Package peer runs sbfeed replication over QUIC: it carries one
// replicate.Session per connection of a transport.Endpoint and stores what
// the sessions release in a store.DB.
//
// It is the wrapper that owns goroutines, in the way etcd raft's node.go
// wraps RawNode. One owner goroutine runs every session and the node-wide
// replicate.Hub, and is the only writer of the store:
//
//	for {
//		select { inbound frame → Session.Step | tick → Session.Tick |
//		         Publish/Append → store, Hub.Notify | new connection → replicate.New }
//		for each session with HasReady():
//			rd := Ready()
//			store.Append(rd.Entries...)  // synced, before anything is acknowledged
//			queue rd.Messages            // Entries on the data stream, the rest on control
//			Advance(rd); OnStored(rd.Entries)
//	}
//
// Around it, per connection, one goroutine accepts the remote's streams,
// one reads each of them and one writes each of ours. Readers hand frames
// to the owner through a bounded channel, so a busy owner stops reading and
// QUIC flow control stops the remote; writers block on QUIC flow control,
// never the owner, and their queues are bounded in bytes.
//
// Entries travel on the data stream and every other message on the control
// stream, so a long bulk transfer does not delay handshakes, wants or
// acknowledgements. Data frames that overtake the Hello are held until the
// handshake is done.
//
// Nothing acknowledged is lost: a session acknowledges entries (Heads
// notes) only in messages of a Ready whose entries were stored first, and a
// peer that goes away mid-sync resumes from its stored heads on the next
// connection; the store ignores entries it already holds.
package peer
