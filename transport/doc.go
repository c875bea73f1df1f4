// Package transport carries sbfeed frames between authenticated peers over
// QUIC. It is the only package that imports quic-go, and no quic-go type
// leaves it: what it exports are an [Endpoint] (one UDP socket, one
// quic.Transport, dialling and accepting), a [Conn] (one authenticated
// peer) and its streams, which move length-prefixed frames.
//
// Peers authenticate with TLS 1.3 in both directions. Each presents a
// self-signed certificate whose ed25519 key is its sbfeed identity, so the
// identity of a connection's peer is read from its certificate
// ([Conn.Peer]), a dial to a named identity fails when someone else answers
// ([WrongPeerError]), and an optional allowlist makes a private network.
// ALPN "sbfeed/1" carries the protocol version.
//
// The transport knows nothing of feeds or networks. The replication
// handshake above it proves the network by signing [Conn.Binding], a TLS
// exporter value unique to the connection, so the proof cannot be replayed
// on another connection.
//
// Each side sends on at most two unidirectional streams, a [Control] stream
// and a [Data] stream, so bulk entries cannot hold back control messages.
// [SendStream.Send] blocks under QUIC flow control: a peer that reads
// slowly slows its sender, and memory stays bounded on both sides.
//
// Connections end with an application error code ([Code]) that maps to a
// sentinel error on both sides. The wire format is specified in
// docs/spec/transport-v1.md.
package transport
