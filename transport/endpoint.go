package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/sbfeed/sbfeed/identity"
)

// Endpoint is one UDP socket carrying any number of QUIC connections, dialled
// and accepted: one quic.Transport per socket.
type Endpoint struct {
	cfg   Config
	id    identity.ID
	log   *slog.Logger
	udp   *net.UDPConn
	tr    *quic.Transport
	ln    *quic.Listener
	qconf *quic.Config
	cert  tls.Certificate
	allow map[identity.ID]bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // dropNonQUIC
	after  sync.WaitGroup // context.AfterFunc callbacks still to run

	inbound atomic.Int64 // incoming connections, handshaking or open
	nonQUIC atomic.Int64 // non-QUIC datagrams dropped

	mu      sync.Mutex
	closed  bool
	conns   map[*Conn]struct{}
	perPeer map[identity.ID]int
}

// Listen opens a UDP socket on addr ("127.0.0.1:0" picks a port) and
// starts a QUIC endpoint on it. Unless cfg.NoAccept is set, incoming
// connections are handshaken and queued for [Endpoint.Accept].
func Listen(addr string, cfg Config) (*Endpoint, error) {
	c := cfg.Clone()
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cert, err := Certificate(c.Key)
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endpoint{
		cfg:     *c,
		id:      c.Key.ID(),
		log:     c.Logger.With("self", c.Key.ID().Short()),
		udp:     udp,
		cert:    cert,
		ctx:     ctx,
		cancel:  cancel,
		conns:   make(map[*Conn]struct{}),
		perPeer: make(map[identity.ID]int),
	}
	if len(c.Allow) > 0 {
		e.allow = make(map[identity.ID]bool, len(c.Allow))
		for _, id := range c.Allow {
			e.allow[id] = true
		}
	}
	e.qconf = &quic.Config{
		HandshakeIdleTimeout:       c.HandshakeTimeout,
		MaxIdleTimeout:             c.IdleTimeout,
		KeepAlivePeriod:            c.KeepAlive,
		MaxIncomingStreams:         -1, // only unidirectional streams
		MaxIncomingUniStreams:      numKinds,
		InitialStreamReceiveWindow: min(512<<10, c.StreamWindow),
		MaxStreamReceiveWindow:     c.StreamWindow,
		InitialConnectionReceiveWindow: min(
			768<<10, c.ConnWindow),
		MaxConnectionReceiveWindow: c.ConnWindow,
	}
	e.tr = &quic.Transport{Conn: udp, ConnContext: e.connContext}
	if !c.NoAccept {
		ln, err := e.tr.Listen(e.serverTLS(), e.qconf)
		if err != nil {
			cancel()
			udp.Close()
			return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
		}
		e.ln = ln
	}
	// Register as the reader of non-QUIC packets before any arrive
	// (quic-go drops them silently until the first call); the cancelled
	// context makes this first call return at once.
	done, stop := context.WithCancel(ctx)
	stop()
	e.tr.ReadNonQUICPacket(done, nil)
	e.wg.Add(1)
	go e.dropNonQUIC()
	return e, nil
}

// ID returns this endpoint's identity.
func (e *Endpoint) ID() identity.ID { return e.id }

// Addr returns the local UDP address.
func (e *Endpoint) Addr() net.Addr { return e.udp.LocalAddr() }

// connContext admits an incoming connection attempt, before its handshake,
// while the total is under MaxConns.
func (e *Endpoint) connContext(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
	if n := e.inbound.Add(1); n > int64(e.cfg.MaxConns) {
		e.inbound.Add(-1)
		e.log.Warn("transport: refused connection: over the connection limit", "from", info.RemoteAddr.String(), "limit", e.cfg.MaxConns)
		return nil, fmt.Errorf("%w: %d", ErrTooManyConns, e.cfg.MaxConns)
	}
	st := &inboundState{from: info.RemoteAddr.String()}
	e.after.Add(1)
	context.AfterFunc(ctx, func() {
		defer e.after.Done()
		e.inbound.Add(-1)
		if !st.registered.Load() {
			// Handshakes that fail never reach Accept; say why here.
			e.log.Warn("transport: refused connection: handshake failed", "from", st.from, "err", mapErr(context.Cause(ctx)))
		}
	})
	return context.WithValue(ctx, inboundKey{}, st), nil
}

// inboundState follows an incoming connection from its first packet.
type inboundState struct {
	from       string
	registered atomic.Bool // passed the handshake (and reached register)
}

type inboundKey struct{}

// dropNonQUIC reads datagrams that are not QUIC (random bytes sent to the
// port) so they are logged rather than silently queued.
func (e *Endpoint) dropNonQUIC() {
	defer e.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := e.tr.ReadNonQUICPacket(e.ctx, buf)
		if err != nil {
			return
		}
		if c := e.nonQUIC.Add(1); c <= 10 || c%1000 == 0 {
			e.log.Warn("transport: dropped a datagram that is not QUIC", "from", from.String(), "bytes", n, "count", c)
		}
	}
}

func (e *Endpoint) serverTLS() *tls.Config {
	base := tlsConfig(e.cert, true, nil)
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		from := "?"
		if hello.Conn != nil {
			from = hello.Conn.RemoteAddr().String()
		}
		if !slices.Contains(hello.SupportedProtos, ALPN) {
			e.log.Warn("transport: refused connection: unknown protocol version", "from", from,
				"offered", hello.SupportedProtos, "want", ALPN)
			// Returning the base config lets crypto/tls send the
			// no_application_protocol alert the peer can recognise.
		}
		c := tlsConfig(e.cert, true, nil)
		verify := c.VerifyPeerCertificate
		c.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
			err := verify(raw, chains)
			if err != nil {
				e.log.Warn("transport: refused connection: bad certificate", "from", from, "err", err)
			}
			return err
		}
		return c, nil
	}
	return base
}

// Dial connects to the endpoint at addr. If want is not the zero ID, the
// peer must be that identity: anyone else fails the handshake with a
// [*WrongPeerError]. With an allowlist, the peer must also be on it.
func (e *Endpoint) Dial(ctx context.Context, addr string, want identity.ID) (*Conn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	tc := tlsConfig(e.cert, false, func(got identity.ID) error {
		if want != (identity.ID{}) && got != want {
			return &WrongPeerError{Addr: addr, Want: want, Got: got}
		}
		if e.allow != nil && !e.allow[got] {
			return &CertError{Peer: got, Err: ErrNotAllowed, Detail: "not on this peer's allowlist"}
		}
		return nil
	})
	qc, err := e.tr.Dial(ctx, ua, tc, e.qconf)
	if err != nil {
		err = mapErr(err)
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	c, err := e.register(qc, true)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	return c, nil
}

// Accept returns the next incoming connection whose peer passed the
// handshake, the allowlist and the per-peer limit. Refused connections are
// closed with their code and logged; Accept goes on to the next one.
func (e *Endpoint) Accept(ctx context.Context) (*Conn, error) {
	if e.ln == nil {
		return nil, fmt.Errorf("%w: endpoint does not accept connections (NoAccept)", ErrClosed)
	}
	for {
		qc, err := e.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, mapErr(err)
		}
		c, err := e.register(qc, false)
		if err != nil {
			continue // logged and closed by register
		}
		return c, nil
	}
}

// register wraps an established QUIC connection after checking the peer
// against the allowlist and the per-peer limit.
func (e *Endpoint) register(qc *quic.Conn, dialled bool) (*Conn, error) {
	if st, ok := qc.Context().Value(inboundKey{}).(*inboundState); ok {
		st.registered.Store(true)
	}
	st := qc.ConnectionState()
	refuse := func(code Code, reason string, peer identity.ID) error {
		_ = qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
		e.log.Warn("transport: refused connection: "+reason, "peer", peer.Short(), "from", qc.RemoteAddr().String(), "code", code.String())
		return &CloseError{Code: code, Reason: reason}
	}
	if len(st.TLS.PeerCertificates) != 1 {
		return nil, refuse(CodeProtocol, "no peer certificate", identity.ID{})
	}
	raw := [][]byte{st.TLS.PeerCertificates[0].Raw}
	peer, err := PeerID(raw)
	if err != nil {
		return nil, refuse(CodeProtocol, err.Error(), identity.ID{})
	}
	if e.allow != nil && !e.allow[peer] {
		return nil, refuse(CodeNotAllowed, fmt.Sprintf("%s is not on the allowlist of %s", peer, e.id), peer)
	}
	binding, err := st.TLS.ExportKeyingMaterial(ExporterLabel, nil, BindingSize)
	if err != nil {
		return nil, refuse(CodeInternal, "TLS exporter: "+err.Error(), peer)
	}
	c := &Conn{
		ep:       e,
		qc:       qc,
		peer:     peer,
		binding:  binding,
		dialled:  dialled,
		maxFrame: e.cfg.MaxFrameSize,
		log:      e.log.With("peer", peer.Short(), "addr", qc.RemoteAddr().String()),
	}
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return nil, refuse(CodeShutdown, "endpoint closing", peer)
	case e.perPeer[peer] >= e.cfg.MaxConnsPerPeer:
		n := e.perPeer[peer]
		e.mu.Unlock()
		return nil, refuse(CodeTooManyConns, fmt.Sprintf("%s already has %d connections (limit %d)", peer, n, e.cfg.MaxConnsPerPeer), peer)
	}
	e.perPeer[peer]++
	e.conns[c] = struct{}{}
	e.after.Add(1)
	e.mu.Unlock()
	context.AfterFunc(qc.Context(), func() {
		defer e.after.Done()
		e.unregister(c)
	})
	return c, nil
}

func (e *Endpoint) unregister(c *Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.conns[c]; !ok {
		return
	}
	delete(e.conns, c)
	if e.perPeer[c.peer]--; e.perPeer[c.peer] <= 0 {
		delete(e.perPeer, c.peer)
	}
}

// Conns returns the number of open connections (dialled and accepted) and
// the number with peer.
func (e *Endpoint) Conns(peer identity.ID) (total, withPeer int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns), e.perPeer[peer]
}

// Close stops accepting, closes every connection gracefully (each bounded
// by CloseTimeout, all in parallel), then releases the socket.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	conns := make([]*Conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	if e.ln != nil {
		e.ln.Close()
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close(nil)
		}()
	}
	wg.Wait()
	e.cancel()
	err := e.tr.Close()
	e.udp.Close()
	e.wg.Wait()
	e.after.Wait() // every connection is unregistered
	if err != nil && !errors.Is(err, quic.ErrTransportClosed) {
		return fmt.Errorf("transport: close: %w", err)
	}
	return nil
}

// Abort closes the endpoint at once, as a crash would: no connection is
// told (peers find out at their idle timeout), nothing queued is flushed.
// It is for tests of crashes and for emergencies; Close is the normal end.
func (e *Endpoint) Abort() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.tr.Close() // "abruptly terminates all existing connections"
	e.udp.Close()
	e.wg.Wait()
	e.after.Wait()
}

// Redial dials addr (expecting identity want, or anyone if zero) until ctx
// is done. Each connection is passed to serve, which returns when the
// connection has ended, with the reason. After a failed dial, or a
// connection the peer refused (allowlist, limits, network, version), the
// next attempt waits an exponentially growing delay with jitter (see
// [Backoff]); after a connection that ended otherwise the delay starts
// again from MinBackoff. Redial returns ctx's error.
func (e *Endpoint) Redial(ctx context.Context, addr string, want identity.ID, serve func(*Conn) error) error {
	attempt := 0
	for {
		c, err := e.Dial(ctx, addr, want)
		if err == nil {
			err = serve(c)
			c.Close(err)
			if !refused(err) {
				attempt = 0
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := Backoff(attempt, e.cfg.MinBackoff, e.cfg.MaxBackoff, e.cfg.Jitter())
		attempt++
		if err != nil {
			e.log.Info("transport: redial", "addr", addr, "in", d.String(), "attempt", attempt, "err", err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-e.ctx.Done():
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
	}
}

// refused reports whether err means the peer turned this connection down
// and an immediate retry would be turned down too.
func refused(err error) bool {
	for _, s := range []error{ErrNotAllowed, ErrTooManyConns, ErrWrongNetwork, ErrVersion, ErrBadEntry, ErrWrongPeer, ErrBadCertificate, ErrProtocol, ErrFrameTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
