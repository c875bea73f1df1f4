package sbfeed

import (
	"log/slog"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/peer"
	"github.com/sbfeed/sbfeed/transport"
)

// QUIC is the default Transport: QUIC over UDP with mutual TLS 1.3, each
// side's certificate made from its sbfeed identity (package transport).
// Entries travel on each connection's data stream and every other message
// on its control stream, which QUIC sends first. The zero value is ready
// to use.
type QUIC struct {
	// Allow, when not empty, admits only these identities (a private
	// network). Empty: anyone who completes the handshake; the replication
	// handshake then checks the network.
	Allow []identity.ID
	// Logger receives refused connections. Nil discards.
	Logger *slog.Logger
}

// Open implements Transport. An empty addr opens a dial-only endpoint on
// an ephemeral port.
func (q *QUIC) Open(key *identity.Key, addr string) (Endpoint, error) {
	t := &peer.QUIC{Config: transport.Config{Allow: q.Allow, Logger: q.Logger}}
	return t.Open(key, addr)
}
