package peer

import (
	"context"

	"github.com/sbfeed/sbfeed/identity"
)

// Transport carries replication frames between peers. The default is
// [QUIC]; any other implementation (an in-memory network for tests, a
// custom one) plugs in through Config.Transport.
//
// A transport authenticates: Conn.Peer must be the identity that proved
// possession of its key during the connection's handshake, and
// Conn.Binding bytes that both ends share and no other connection has (the
// replication handshake signs them, so a proof cannot be replayed). The
// network is checked above the transport, by the replication handshake.
type Transport interface {
	// Open starts this peer's endpoint with its identity. addr is where to
	// accept connections ("host:port"), or "" for an endpoint that only
	// dials.
	Open(key *identity.Key, addr string) (Endpoint, error)
}

// Endpoint is one peer's attachment to a transport.
type Endpoint interface {
	// Addr is the address it accepts on, for others to dial.
	Addr() string
	// Accept waits for the next authenticated incoming connection.
	Accept(ctx context.Context) (Conn, error)
	// Dial connects to addr. If peer is not zero, a connection to anyone
	// else fails.
	Dial(ctx context.Context, addr string, peer identity.ID) (Conn, error)
	// Close closes the endpoint and every connection, and returns once
	// every goroutine the endpoint started has exited.
	Close() error
}

// Class says what a frame carries, so that a transport with more than one
// stream per connection can keep bulk entries from delaying the small
// messages both sides wait for. The replication protocol tolerates Bulk
// frames overtaking Control frames and the reverse (docs/protocol.md,
// "Transport"); frames of one class must arrive in the order sent.
type Class uint8

const (
	// Control frames: the handshake, heads, wants, acknowledgements,
	// goodbyes. Small and urgent.
	Control Class = 0
	// Bulk frames: entries.
	Bulk Class = 1
)

// Conn is one authenticated connection.
//
// Send is called by at most one goroutine per Class at a time, Recv by one
// goroutine; Close may be called at any time, concurrently with both, and
// more than once.
type Conn interface {
	// Peer is the remote's identity.
	Peer() identity.ID
	// Binding is the channel binding the replication handshake signs.
	Binding() []byte
	// Send writes frames of class c, in order. It may block under flow
	// control (the remote reading slowly): that is the backpressure.
	Send(c Class, frames ...[]byte) error
	// Recv returns the next frame, of either class. It returns io.EOF once
	// the remote has shut down gracefully (Close(nil)) and every frame it
	// sent before has been returned.
	Recv() ([]byte, error)
	// Close ends the connection. With err == nil it is a graceful
	// shutdown: frames Send returned for are delivered first (within a
	// transport-defined timeout). Otherwise the connection ends at once and
	// err says why (a *replicate.PeerError carries its Goodbye code).
	Close(err error) error
}
