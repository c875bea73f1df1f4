package sbfeed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/peer"
)

// Transport carries replication frames between nodes. The default is QUIC
// (package transport, two streams per connection so bulk entries never
// delay handshakes and acknowledgements); [NewMemNetwork] gives an
// in-memory one for tests and examples, and any other implementation plugs
// in through Options.Transport.
//
// A transport authenticates: Conn.Peer must be the identity that proved
// possession of its key during the connection's handshake, and
// Conn.Binding bytes that both ends share and no other connection has (the
// replication handshake signs them, so a proof cannot be replayed). The
// network is checked above the transport.
//
// The interfaces are package peer's, whose driver runs the node's
// replication.
type Transport = peer.Transport

// Endpoint is one node's attachment to a transport.
type Endpoint = peer.Endpoint

// Conn is one authenticated connection: Send and Recv move whole frames,
// each of a Class.
type Conn = peer.Conn

// Class says what a frame carries: Control or Bulk. A transport with one
// ordered channel per connection may ignore it.
type Class = peer.Class

// Frame classes.
const (
	Control = peer.Control // handshakes, heads, wants, acknowledgements
	Bulk    = peer.Bulk    // entries
)

// ParseAddr splits a dial address "host:port" or "sbf1…@host:port" into
// the address and the expected peer (zero when not given). A missing port
// means DefaultPort.
func ParseAddr(s string) (addr string, peer identity.ID, err error) {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		peer, err = identity.ParseID(s[:at])
		if err != nil {
			return "", peer, fmt.Errorf("sbfeed: address %q: %w", s, err)
		}
		s = s[at+1:]
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(strings.Trim(s, "[]"), strconv.Itoa(DefaultPort))
	}
	return s, peer, nil
}

// ErrNoRoute: a dial to an in-memory address nobody listens on.
var ErrNoRoute = errors.New("sbfeed: memnet: nobody listens on that address")

// MemNetwork is an in-memory Transport: nodes of one MemNetwork reach each
// other by name, with no sockets. Frames are delivered in order and never
// lost. It is for tests and examples.
type MemNetwork struct {
	mu        sync.Mutex
	endpoints map[string]*memEndpoint
	n         int
}

// NewMemNetwork returns an empty in-memory network.
func NewMemNetwork() *MemNetwork { return &MemNetwork{endpoints: map[string]*memEndpoint{}} }

// Open implements Transport. An empty addr, or one with port 0, gets a
// fresh name.
func (m *MemNetwork) Open(key *identity.Key, addr string) (Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	if addr == "" || strings.HasSuffix(addr, ":0") {
		addr = fmt.Sprintf("mem-%d:%d", m.n, DefaultPort)
	}
	if _, ok := m.endpoints[addr]; ok {
		return nil, fmt.Errorf("sbfeed: memnet: %s is in use", addr)
	}
	e := &memEndpoint{net: m, key: key, addr: addr, accept: make(chan *memConn, 16), done: make(chan struct{})}
	m.endpoints[addr] = e
	return e, nil
}

type memEndpoint struct {
	net    *MemNetwork
	key    *identity.Key
	addr   string
	accept chan *memConn
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	conns []*memConn
}

func (e *memEndpoint) Addr() string { return e.addr }

func (e *memEndpoint) Accept(ctx context.Context) (Conn, error) {
	select {
	case c := <-e.accept:
		return c, nil
	case <-e.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *memEndpoint) Dial(ctx context.Context, addr string, peer identity.ID) (Conn, error) {
	e.net.mu.Lock()
	r := e.net.endpoints[addr]
	e.net.n++
	binding := []byte(fmt.Sprintf("sbfeed-memnet-binding-%016d", e.net.n))
	e.net.mu.Unlock()
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoRoute, addr)
	}
	if peer != (identity.ID{}) && peer != r.key.ID() {
		return nil, fmt.Errorf("sbfeed: memnet: %s is %s, not %s", addr, r.key.ID().Short(), peer.Short())
	}
	a, b := newMemPipe(e.key.ID(), r.key.ID(), binding)
	e.track(a)
	r.track(b)
	select {
	case r.accept <- b:
		return a, nil
	case <-r.done:
		return nil, fmt.Errorf("%w: %s", ErrNoRoute, addr)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// track remembers c for Close, forgetting connections that have ended, so
// an endpoint that redials for days holds only its live ones.
func (e *memEndpoint) track(c *memConn) {
	e.mu.Lock()
	live := e.conns[:0]
	for _, o := range e.conns {
		if !o.ended() {
			live = append(live, o)
		}
	}
	clear(e.conns[len(live):])
	e.conns = append(live, c)
	e.mu.Unlock()
}

func (c *memConn) ended() bool {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.p.closed != nil
}

func (e *memEndpoint) Close() error {
	e.once.Do(func() {
		close(e.done)
		e.net.mu.Lock()
		delete(e.net.endpoints, e.addr)
		e.net.mu.Unlock()
		e.mu.Lock()
		conns := e.conns
		e.mu.Unlock()
		for _, c := range conns {
			c.Close(net.ErrClosed)
		}
	})
	return nil
}

// memPipe is the shared state of the two ends of an in-memory connection.
// One ordered queue per direction carries both classes.
type memPipe struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    [2][][]byte // frames waiting for end i
	closed   error       // why the connection ended; nil while open
	closedBy int         // the end that closed it
	graceful bool        // closed with Close(nil)
}

type memConn struct {
	p       *memPipe
	end     int
	self    identity.ID
	peer    identity.ID
	binding []byte
}

func newMemPipe(a, b identity.ID, binding []byte) (*memConn, *memConn) {
	p := &memPipe{}
	p.cond = sync.NewCond(&p.mu)
	return &memConn{p: p, end: 0, self: a, peer: b, binding: binding},
		&memConn{p: p, end: 1, self: b, peer: a, binding: binding}
}

func (c *memConn) Peer() identity.ID { return c.peer }
func (c *memConn) Binding() []byte   { return c.binding }

// Send queues copies of the frames; it never blocks.
func (c *memConn) Send(_ Class, frames ...[]byte) error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.p.closed != nil {
		return c.p.closed
	}
	for _, f := range frames {
		c.p.queue[1-c.end] = append(c.p.queue[1-c.end], append([]byte(nil), f...))
	}
	c.p.cond.Broadcast()
	return nil
}

// Recv returns the next frame; after a close, the frames sent before it,
// then io.EOF at the end that did not close gracefully, or the error.
func (c *memConn) Recv() ([]byte, error) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	for len(c.p.queue[c.end]) == 0 && c.p.closed == nil {
		c.p.cond.Wait()
	}
	if q := c.p.queue[c.end]; len(q) > 0 {
		f := q[0]
		q[0] = nil
		c.p.queue[c.end] = q[1:]
		return f, nil
	}
	if c.p.graceful && c.p.closedBy != c.end {
		return nil, io.EOF
	}
	return nil, c.p.closed
}

func (c *memConn) Close(err error) error {
	c.p.mu.Lock()
	if c.p.closed == nil {
		c.p.closedBy, c.p.graceful = c.end, err == nil
		if err == nil {
			err = net.ErrClosed
		}
		c.p.closed = fmt.Errorf("sbfeed: memnet: connection closed: %w", err)
	}
	c.p.cond.Broadcast()
	c.p.mu.Unlock()
	return nil
}
