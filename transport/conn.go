package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/sbfeed/sbfeed/identity"
)

// Conn is an authenticated connection with one peer. Its streams are
// unidirectional: each side opens at most one stream of each [StreamKind]
// to send on, and accepts the peer's to receive from.
type Conn struct {
	ep       *Endpoint
	qc       *quic.Conn
	peer     identity.ID
	binding  []byte
	dialled  bool
	maxFrame int
	log      *slog.Logger

	mu       sync.Mutex
	sends    [numKinds]*SendStream
	recvs    [numKinds]*RecvStream
	accepted int           // recv streams accepted
	ended    int           // recv streams at their end (EOF or error)
	peerEnd  chan struct{} // closed when every accepted recv stream has ended
	closing  bool
}

// Peer returns the peer's identity, read from its certificate.
func (c *Conn) Peer() identity.ID { return c.peer }

// Binding returns BindingSize bytes that both ends of this connection, and
// no other connection, derive from the TLS 1.3 exporter (label
// ExporterLabel). The replication handshake signs it, so its network proof
// cannot be replayed on another connection.
func (c *Conn) Binding() []byte { return c.binding }

// Dialled reports whether this end dialled the connection.
func (c *Conn) Dialled() bool { return c.dialled }

// RemoteAddr returns the peer's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.qc.Context().Done() }

// Err returns why the connection ended (a [*CloseError] for an application
// close, ErrTimeout for an idle peer, …), or nil while it is open.
func (c *Conn) Err() error {
	ctx := c.qc.Context()
	if ctx.Err() == nil {
		return nil
	}
	return mapErr(context.Cause(ctx))
}

// OpenStream opens this end's stream of kind and writes its header. It
// blocks only while the peer's stream limit is reached.
func (c *Conn) OpenStream(ctx context.Context, kind StreamKind) (*SendStream, error) {
	if kind >= numKinds {
		return nil, fmt.Errorf("transport: open stream: unknown kind %d", kind)
	}
	c.mu.Lock()
	if c.sends[kind] != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("transport: open stream: %s stream already open", kind)
	}
	c.mu.Unlock()
	qs, err := c.qc.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("transport: open %s stream: %w", kind, mapErr(err))
	}
	// Control frames go out before queued bulk data (RFC 9218 urgency,
	// lower first): a long Entries transfer must not delay handshakes and
	// acknowledgements, which the sender of that transfer is waiting for.
	if kind == Control {
		qs.SetPriority(1, true)
	} else {
		qs.SetPriority(4, true)
	}
	s := &SendStream{c: c, s: qs, kind: kind, max: c.maxFrame}
	// The opener writes first: the peer learns of the stream from its
	// header byte.
	if _, err := qs.Write([]byte{byte(kind)}); err != nil {
		return nil, fmt.Errorf("transport: open %s stream: %w", kind, mapErr(err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sends[kind] != nil {
		qs.CancelWrite(quic.StreamErrorCode(CodeProtocol))
		return nil, fmt.Errorf("transport: open stream: %s stream already open", kind)
	}
	c.sends[kind] = s
	return s, nil
}

// AcceptStream returns the peer's next stream. A stream with an unknown
// kind, or a second stream of one kind, is a protocol violation: the
// connection is closed with CodeProtocol and the error says why.
func (c *Conn) AcceptStream(ctx context.Context) (*RecvStream, error) {
	qs, err := c.qc.AcceptUniStream(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	var hdr [1]byte
	if _, err := io.ReadFull(qs, hdr[:]); err != nil {
		return nil, c.violate(CodeProtocol, fmt.Sprintf("stream %d ended before its header: %v", qs.StreamID(), mapErr(err)))
	}
	kind := StreamKind(hdr[0])
	if kind >= numKinds {
		return nil, c.violate(CodeProtocol, fmt.Sprintf("stream %d has unknown kind %d", qs.StreamID(), hdr[0]))
	}
	c.mu.Lock()
	if c.recvs[kind] != nil {
		c.mu.Unlock()
		return nil, c.violate(CodeProtocol, fmt.Sprintf("second %s stream", kind))
	}
	r := &RecvStream{c: c, s: qs, kind: kind, fr: newFrameReader(qs, kind, c.maxFrame)}
	c.recvs[kind] = r
	c.accepted++
	c.mu.Unlock()
	return r, nil
}

// violate closes the connection because the peer broke the protocol, logs
// it, and returns the error.
func (c *Conn) violate(code Code, reason string) error {
	c.log.Warn("transport: closing connection: "+reason, "code", code.String())
	_ = c.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
	return &CloseError{Code: code, Reason: reason}
}

// Close ends the connection. With err == nil it is a graceful shutdown.
// If the peer has already finished every stream this end accepted (the
// peer started the shutdown, and this end has read all it sent), Close
// finishes this end's streams and closes with CodeShutdown at once.
// Otherwise this end is the initiator: it finishes its streams (QUIC FIN
// after every frame Send returned for), then waits up to CloseTimeout for
// the peer to read them to their end and close, and closes. With err !=
// nil the connection is closed at once with CodeOf(err) and err's text.
//
// The responder notices the shutdown only by reading the initiator's
// streams to io.EOF; a driver must keep reading every accepted stream.
func (c *Conn) Close(err error) error {
	if err != nil {
		var ce *CloseError
		if errors.As(err, &ce) && ce.Remote {
			return nil // the peer closed it
		}
		return c.CloseWithCode(CodeOf(err), err.Error())
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.Done()
		return nil
	}
	c.closing = true
	responder := c.accepted > 0 && c.ended == c.accepted
	sends := c.sends
	c.mu.Unlock()
	sent := false
	for _, s := range sends {
		if s != nil {
			s.Close()
			sent = true
		}
	}
	// A responder has read the initiator's streams to their end: it has
	// everything, and closes. An initiator that sent something waits for
	// the responder's close (or for the responder's own streams to end,
	// when both sides shut down at once), so its frames are read first.
	if sent && !responder {
		t := time.NewTimer(c.ep.cfg.CloseTimeout)
		defer t.Stop()
		select {
		case <-c.Done():
			return nil
		case <-c.peerEnded():
		case <-t.C:
			c.log.Info("transport: peer did not finish within the close timeout", "timeout", c.ep.cfg.CloseTimeout.String())
		}
	}
	return c.qc.CloseWithError(quic.ApplicationErrorCode(CodeShutdown), "")
}

// CloseWithCode closes the connection at once with code and reason (at
// most 256 bytes are sent), for callers whose errors carry their own code.
func (c *Conn) CloseWithCode(code Code, reason string) error {
	if len(reason) > 256 {
		reason = reason[:256]
	}
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	return c.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

// peerEnded returns a channel closed once every stream accepted from the
// peer has ended.
func (c *Conn) peerEnded() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peerEnd == nil {
		c.peerEnd = make(chan struct{})
		if c.accepted > 0 && c.ended == c.accepted {
			close(c.peerEnd)
		}
	}
	return c.peerEnd
}

func (c *Conn) streamEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended++
	if c.peerEnd != nil && c.ended == c.accepted {
		select {
		case <-c.peerEnd:
		default:
			close(c.peerEnd)
		}
	}
}

// SendStream is this end's stream of one kind. Send may be called from
// several goroutines; frames are not interleaved.
type SendStream struct {
	c    *Conn
	s    *quic.SendStream
	kind StreamKind
	max  int

	mu  sync.Mutex
	hdr [FrameHeaderSize]byte
}

// Kind returns the stream's kind.
func (s *SendStream) Kind() StreamKind { return s.kind }

// Send writes payload as one frame. It blocks while QUIC flow control
// (the peer reading too slowly) holds the stream back; that is the
// backpressure. It fails once the connection is closed.
func (s *SendStream) Send(payload []byte) error {
	if len(payload) > s.max {
		return &FrameError{Kind: s.kind, Err: ErrFrameTooLarge, Detail: fmt.Sprintf("sending %d bytes, limit %d", len(payload), s.max)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	putUint32(s.hdr[:], uint32(len(payload)))
	if _, err := s.s.Write(s.hdr[:]); err != nil {
		return fmt.Errorf("transport: send on %s stream: %w", s.kind, mapErr(err))
	}
	if _, err := s.s.Write(payload); err != nil {
		return fmt.Errorf("transport: send on %s stream: %w", s.kind, mapErr(err))
	}
	return nil
}

// SendRaw writes bytes already framed with [AppendFrame], for callers that
// batch many frames into one write. The frames are not checked.
func (s *SendStream) SendRaw(frames []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.s.Write(frames); err != nil {
		return fmt.Errorf("transport: send on %s stream: %w", s.kind, mapErr(err))
	}
	return nil
}

// Close finishes the stream (QUIC FIN) after the frames already sent.
func (s *SendStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.s.Close(); err != nil {
		return fmt.Errorf("transport: close %s stream: %w", s.kind, mapErr(err))
	}
	return nil
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// RecvStream is the peer's stream of one kind. Recv must be called from
// one goroutine at a time.
type RecvStream struct {
	c     *Conn
	s     *quic.ReceiveStream
	kind  StreamKind
	fr    *frameReader
	ended bool
}

// Kind returns the stream's kind.
func (r *RecvStream) Kind() StreamKind { return r.kind }

// Recv returns the next frame's payload, which the caller owns. At the
// peer's clean end of stream it returns io.EOF. A frame over MaxFrameSize
// or a stream that ends inside a frame closes the connection (CodeFrameTooLarge,
// CodeProtocol) and returns a [*FrameError].
func (r *RecvStream) Recv() ([]byte, error) {
	if r.ended {
		return nil, io.EOF
	}
	b, err := r.fr.next()
	if err == nil {
		return b, nil
	}
	r.ended = true
	r.c.streamEnded()
	if err == io.EOF {
		return nil, io.EOF
	}
	var fe *FrameError
	if errors.As(err, &fe) {
		code := CodeProtocol
		if errors.Is(err, ErrFrameTooLarge) {
			code = CodeFrameTooLarge
		}
		r.s.CancelRead(quic.StreamErrorCode(code))
		r.c.violate(code, fe.Error())
		return nil, fe
	}
	return nil, fmt.Errorf("transport: receive on %s stream: %w", r.kind, mapErr(err))
}
