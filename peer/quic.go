package peer

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/transport"
)

// QUIC is the default [Transport]: package transport's QUIC endpoints,
// mutual TLS 1.3 with certificates made from sbfeed identities. Control
// frames travel on the connection's Control stream and Bulk frames on its
// Data stream, which QUIC schedules after the control stream, so a long
// bulk transfer never delays handshakes and acknowledgements.
type QUIC struct {
	// Config configures every endpoint opened: limits, timeouts,
	// allowlist, logger. Its Key and NoAccept are set by Open.
	Config transport.Config
}

// Open implements Transport. An empty addr opens a dial-only endpoint on
// an ephemeral port.
func (q *QUIC) Open(key *identity.Key, addr string) (Endpoint, error) {
	cfg := q.Config.Clone()
	cfg.Key = key
	cfg.NoAccept = addr == ""
	if addr == "" {
		addr = ":0"
	}
	ep, err := transport.Listen(addr, *cfg)
	if err != nil {
		return nil, err
	}
	return &quicEndpoint{ep: ep}, nil
}

type quicEndpoint struct {
	ep *transport.Endpoint
	wg sync.WaitGroup // the connections' stream goroutines
}

func (e *quicEndpoint) Addr() string { return e.ep.Addr().String() }

// Close closes every connection (gracefully, see transport.Endpoint.Close)
// and waits for the stream goroutines, which end with their connections.
func (e *quicEndpoint) Close() error {
	err := e.ep.Close()
	e.wg.Wait()
	return err
}

func (e *quicEndpoint) Accept(ctx context.Context) (Conn, error) {
	c, err := e.ep.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return e.conn(c), nil
}

func (e *quicEndpoint) Dial(ctx context.Context, addr string, peer identity.ID) (Conn, error) {
	c, err := e.ep.Dial(ctx, addr, peer)
	if err != nil {
		return nil, err
	}
	return e.conn(c), nil
}

func (e *quicEndpoint) conn(c *transport.Conn) *quicConn {
	q := &quicConn{c: c, frames: make(chan recvd, 16)}
	e.wg.Add(1)
	go q.accept(&e.wg)
	return q
}

// quicConn is a Conn over one QUIC connection: this end's Control and Data
// streams, opened on first use, and the remote's, read by one goroutine
// each into frames.
type quicConn struct {
	c      *transport.Conn
	send   [2]quicSend
	frames chan recvd // from the stream readers, closed when all ended
}

type quicSend struct {
	mu  sync.Mutex
	s   *transport.SendStream
	buf []byte
}

// recvd is a frame or a stream's end (err; io.EOF for a clean end).
type recvd struct {
	frame []byte
	err   error
}

func (q *quicConn) Peer() identity.ID { return q.c.Peer() }
func (q *quicConn) Binding() []byte   { return q.c.Binding() }

// Send coalesces frames into writes of up to about 1 MiB.
func (q *quicConn) Send(class Class, frames ...[]byte) error {
	kind := transport.Control
	if class == Bulk {
		kind = transport.Data
	}
	st := &q.send[kind]
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil {
		s, err := q.c.OpenStream(context.Background(), kind)
		if err != nil {
			return err
		}
		st.s = s
	}
	buf := st.buf[:0]
	for _, f := range frames {
		if len(buf) > 0 && len(buf)+len(f) > 1<<20 {
			if err := st.s.SendRaw(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = transport.AppendFrame(buf, f)
	}
	var err error
	if len(buf) > 0 {
		err = st.s.SendRaw(buf)
	}
	if cap(buf) <= 4<<20 {
		st.buf = buf[:0]
	} else {
		st.buf = nil
	}
	return err
}

// accept accepts the remote's streams (at most two) and starts a reader
// for each; frames closes once the connection and every reader are done.
func (q *quicConn) accept(wg *sync.WaitGroup) {
	defer wg.Done()
	var all sync.WaitGroup // the acceptor and the readers
	defer func() {
		<-q.c.Done()
		all.Wait()
		close(q.frames)
	}()
	// A stream's end (io.EOF, or why not): at most one per reader and one
	// from the acceptor, so no send blocks.
	ended := make(chan error, 3)
	streams := make(chan *transport.RecvStream)
	all.Add(1)
	go func() {
		defer all.Done()
		for range 2 {
			r, err := q.c.AcceptStream(context.Background())
			if err != nil {
				if e := q.c.Err(); e != nil {
					err = e
				}
				ended <- err
				return
			}
			select {
			case streams <- r:
			case <-q.c.Done():
				return
			}
		}
	}()
	accepted, eofs := 0, 0
	for {
		select {
		case r := <-streams:
			accepted++
			all.Add(1)
			go q.read(r, &all, ended)
		case err := <-ended:
			if err == io.EOF {
				// The remote finished a stream: it is shutting down. Once
				// all its streams ended, everything it sent was read.
				if eofs++; eofs < accepted {
					continue
				}
			}
			q.push(recvd{err: err})
			return
		case <-q.c.Done():
			return
		}
	}
}

// read hands one stream's frames to Recv. When Recv is not called (the
// driver is busy), push blocks and the stream is not read, so QUIC flow
// control stops the remote: that is the backpressure.
func (q *quicConn) read(r *transport.RecvStream, wg *sync.WaitGroup, ended chan<- error) {
	defer wg.Done()
	for {
		b, err := r.Recv()
		if err != nil {
			if err != io.EOF {
				if e := q.c.Err(); e != nil {
					err = e
				}
			}
			ended <- err
			return
		}
		if !q.push(recvd{frame: b}) {
			return
		}
	}
}

func (q *quicConn) push(r recvd) bool {
	select {
	case q.frames <- r:
		return true
	case <-q.c.Done():
		return false
	}
}

func (q *quicConn) Recv() ([]byte, error) {
	select {
	case r, ok := <-q.frames:
		if !ok {
			return nil, q.closedErr()
		}
		return r.frame, r.err
	case <-q.c.Done():
		// Frames already queued were read before the connection ended.
		select {
		case r, ok := <-q.frames:
			if ok {
				return r.frame, r.err
			}
		default:
		}
		return nil, q.closedErr()
	}
}

func (q *quicConn) closedErr() error {
	if err := q.c.Err(); err != nil {
		return err
	}
	return transport.ErrClosed
}

// Close closes the connection. A replication error travels with its own
// Goodbye code (transport codes 0–7 equal replicate's on purpose), so the
// remote learns why it was dropped instead of seeing "internal".
func (q *quicConn) Close(err error) error {
	var pe *replicate.PeerError
	if errors.As(err, &pe) && transport.CodeOf(err) == transport.CodeInternal {
		return q.c.CloseWithCode(transport.Code(replicate.CodeOf(err)), err.Error())
	}
	return q.c.Close(err)
}
