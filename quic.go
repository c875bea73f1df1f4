package sbfeed

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/transport"
)

// QUIC is the default Transport: QUIC over UDP with mutual TLS 1.3, each
// side's certificate made from its sbfeed identity (package transport).
// The zero value is ready to use.
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
	cfg := transport.Config{Key: key, Allow: q.Allow, Logger: q.Logger}
	if addr == "" {
		addr, cfg.NoAccept = ":0", true
	}
	ep, err := transport.Listen(addr, cfg)
	if err != nil {
		return nil, err
	}
	return quicEndpoint{ep}, nil
}

type quicEndpoint struct{ ep *transport.Endpoint }

func (e quicEndpoint) Addr() string { return e.ep.Addr().String() }
func (e quicEndpoint) Close() error { return e.ep.Close() }

func (e quicEndpoint) Accept(ctx context.Context) (Conn, error) {
	c, err := e.ep.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return &quicConn{c: c}, nil
}

func (e quicEndpoint) Dial(ctx context.Context, addr string, peer identity.ID) (Conn, error) {
	c, err := e.ep.Dial(ctx, addr, peer)
	if err != nil {
		return nil, err
	}
	return &quicConn{c: c}, nil
}

// quicConn carries every replication message on one Control stream each
// way: the session's messages must arrive in the order they were sent (a
// Hello before anything else, acknowledgements after the entries they
// acknowledge), which two streams would not keep.
type quicConn struct {
	c *transport.Conn

	sendMu sync.Mutex
	send   *transport.SendStream
	recvMu sync.Mutex
	recv   *transport.RecvStream
}

func (q *quicConn) Peer() identity.ID { return q.c.Peer() }
func (q *quicConn) Binding() []byte   { return q.c.Binding() }

func (q *quicConn) Send(frame []byte) error {
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	if q.send == nil {
		s, err := q.c.OpenStream(context.Background(), transport.Control)
		if err != nil {
			return err
		}
		q.send = s
	}
	return q.send.Send(frame)
}

func (q *quicConn) Recv() ([]byte, error) {
	q.recvMu.Lock()
	defer q.recvMu.Unlock()
	if q.recv == nil {
		r, err := q.c.AcceptStream(context.Background())
		if err != nil {
			return nil, err
		}
		q.recv = r
	}
	return q.recv.Recv()
}

// Close closes the connection. A replication error travels with its own
// Goodbye code (transport codes 0–7 equal replicate's on purpose), so the
// peer learns why it was dropped instead of seeing "internal".
func (q *quicConn) Close(err error) error {
	var pe *replicate.PeerError
	if errors.As(err, &pe) && transport.CodeOf(err) == transport.CodeInternal {
		return q.c.CloseWithCode(transport.Code(replicate.CodeOf(err)), err.Error())
	}
	return q.c.Close(err)
}
