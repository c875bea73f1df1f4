package transport

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/sbfeed/sbfeed/identity"
)

func TestExchange(t *testing.T) {
	srvKey, cliKey := testKey(t, 1), testKey(t, 2)
	s := newServer(t, srvKey, nil)
	ep, _ := newClient(t, cliKey, nil)
	c, err := ep.Dial(ctxWait(t), s.addr(), srvKey.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c.Peer() != srvKey.ID() || !c.Dialled() {
		t.Fatalf("peer %s dialled %v", c.Peer().Short(), c.Dialled())
	}
	if len(c.Binding()) != BindingSize {
		t.Fatalf("binding is %d bytes", len(c.Binding()))
	}
	big := bytes.Repeat([]byte("0123456789"), 100_000)
	roundTrip(t, c, Data, []byte("a"), big, []byte{}, []byte("z"))
	roundTrip(t, c, Control, []byte("hello"))

	// A second connection has another binding.
	c2, err := ep.Dial(ctxWait(t), s.addr(), srvKey.ID())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c.Binding(), c2.Binding()) {
		t.Fatal("two connections share a channel binding")
	}
	roundTrip(t, c2, Control, []byte("second"))
	if tot, with := s.ep.Conns(cliKey.ID()); tot != 2 || with != 2 {
		t.Fatalf("server counts %d connections, %d with the client", tot, with)
	}
	if err := c2.Close(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(nil); err != nil {
		t.Fatal(err)
	}
}

// The binding is the same on both ends.
func TestBindingBothEnds(t *testing.T) {
	srvKey, cliKey := testKey(t, 1), testKey(t, 2)
	srv, _ := newClient(t, srvKey, func(c *Config) { c.NoAccept = false })
	cli, _ := newClient(t, cliKey, nil)
	got := make(chan *Conn, 1)
	go func() {
		c, err := srv.Accept(context.Background())
		if err == nil {
			got <- c
		}
		close(got)
	}()
	c, err := cli.Dial(ctxWait(t), srv.Addr().String(), identity.ID{})
	if err != nil {
		t.Fatal(err)
	}
	sc := <-got
	if sc == nil {
		t.Fatal("accept failed")
	}
	if sc.Peer() != cliKey.ID() || c.Peer() != srvKey.ID() || sc.Dialled() {
		t.Fatal("identities not read from certificates")
	}
	if !bytes.Equal(sc.Binding(), c.Binding()) {
		t.Fatalf("bindings differ: %x %x", sc.Binding(), c.Binding())
	}
}

func TestWrongPeer(t *testing.T) {
	srvKey := testKey(t, 1)
	s := newServer(t, srvKey, nil)
	ep, _ := newClient(t, testKey(t, 2), nil)
	want := testKey(t, 3).ID()
	_, err := ep.Dial(ctxWait(t), s.addr(), want)
	var wp *WrongPeerError
	if !errors.As(err, &wp) || !errors.Is(err, ErrWrongPeer) {
		t.Fatalf("got %v, want WrongPeerError", err)
	}
	if wp.Want != want || wp.Got != srvKey.ID() {
		t.Fatalf("error names %s and %s", wp.Want.Short(), wp.Got.Short())
	}
	t.Log(err)
	assertServes(t, s)
}

// rawDial dials with quic-go directly, with a TLS config of the test's
// choosing: what a hostile or foreign client can do.
func rawDial(t *testing.T, addr string, tc *tls.Config) (*quic.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return quic.DialAddr(ctx, addr, tc, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
}

func ecdsaCert(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

func TestUnknownVersion(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	cert, err := Certificate(testKey(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rawDial(t, s.addr(), &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		NextProtos: []string{"sbfeed/2"}, ServerName: serverName})
	if err == nil {
		t.Fatal("a client of sbfeed/2 was accepted")
	}
	if err := mapErr(err); !errors.Is(err, ErrVersion) {
		t.Fatalf("client sees %v, want ErrVersion", err)
	} else {
		t.Log(err)
	}
	s.log.WaitFor(t, wait, "unknown protocol version", "sbfeed/2")
	assertServes(t, s)
}

func TestBadCertificates(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	for _, tc := range []struct {
		name string
		cert []tls.Certificate
		log  string
	}{
		{"ecdsa", []tls.Certificate{ecdsaCert(t)}, "want Ed25519"},
		{"none", nil, "handshake failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rawDial(t, s.addr(), &tls.Config{Certificates: tc.cert, InsecureSkipVerify: true,
				NextProtos: []string{ALPN}, ServerName: serverName})
			if err == nil {
				// TLS 1.3: the client finishes before the server checks
				// its certificate; the server then closes.
				select {
				case <-c.Context().Done():
				case <-time.After(wait):
					t.Fatal("server kept a connection with a bad client certificate")
				}
				err = context.Cause(c.Context())
			}
			t.Log(mapErr(err))
			s.log.WaitFor(t, wait, "refused connection", tc.log)
		})
	}
	assertServes(t, s)
}

// A server presenting a non-ed25519 certificate is refused by our client.
func TestServerBadCertificate(t *testing.T) {
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ecdsaCert(t)}, NextProtos: []string{ALPN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			if _, err := ln.Accept(context.Background()); err != nil {
				return
			}
		}
	}()
	ep, _ := newClient(t, testKey(t, 2), nil)
	_, err = ep.Dial(ctxWait(t), ln.Addr().String(), identity.ID{})
	if !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("got %v, want ErrBadCertificate", err)
	}
	t.Log(err)
}

func TestRandomBytes(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	u, err := net.Dial("udp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	buf := make([]byte, 1400)
	for i := range 200 {
		n := 1 + i*7%len(buf)
		rand.Read(buf[:n])
		switch i % 3 {
		case 0:
			buf[0] &^= 0xc0 // not QUIC: logged and dropped
		case 1:
			buf[0] |= 0xc0 // a long header of garbage
		}
		if _, err := u.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	s.log.WaitFor(t, wait, "not QUIC")
	assertServes(t, s)
}

func TestOversizedFrame(t *testing.T) {
	s := newServer(t, testKey(t, 1), func(c *Config) { c.MaxFrameSize = 1000 })
	ep, _ := newClient(t, testKey(t, 2), func(c *Config) { c.MaxFrameSize = 1 << 20 })
	c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.OpenStream(ctxWait(t), Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(make([]byte, 1000)); err != nil { // at the limit: fine
		t.Fatal(err)
	}
	w.Send(make([]byte, 1001))
	wantCode(t, waitClosed(t, c), CodeFrameTooLarge)
	s.log.WaitFor(t, wait, "frame too large", "1001 bytes declared, limit 1000")
	// The sender's own limit refuses before sending.
	if err := w.Send(make([]byte, 2<<20)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("send over own limit: %v", err)
	}
	assertServes(t, s)
}

func TestTruncatedStream(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	for _, tc := range []struct {
		name, log string
		raw       []byte
	}{
		{"in-payload", "stream ends inside the frame (10 of 100 bytes)", append([]byte{0, 0, 0, 100}, make([]byte, 10)...)},
		{"in-length", "inside the length prefix (2 of 4 bytes)", []byte{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, _ := newClient(t, testKey(t, 2), nil)
			c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := c.OpenStream(ctxWait(t), Control)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SendRaw(tc.raw); err != nil {
				t.Fatal(err)
			}
			w.Close()
			wantCode(t, waitClosed(t, c), CodeProtocol)
			s.log.WaitFor(t, wait, tc.log)
		})
	}
	assertServes(t, s)
}

// rawConn dials s with a valid identity but drives quic-go directly, to
// open streams our API would refuse.
func rawConn(t *testing.T, s *testServer, key *identity.Key) *quic.Conn {
	t.Helper()
	cert, err := Certificate(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rawDial(t, s.addr(), tlsConfig(cert, false, nil))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStreamFlood(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	for _, tc := range []struct {
		name, log string
		headers   []byte
	}{
		{"duplicate", "second control stream", []byte{0, 0}},
		{"unknown-kind", "unknown kind 7", []byte{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawConn(t, s, testKey(t, 2))
			for _, h := range tc.headers {
				// Open streams without waiting for credit: once the
				// server closes the connection, opening fails.
				st, err := c.OpenUniStream()
				if err != nil {
					break
				}
				// No FIN: the echo server would take it for a shutdown.
				st.Write([]byte{h, 0, 0, 0, 1, 'x'})
			}
			select {
			case <-c.Context().Done():
			case <-time.After(wait):
				t.Fatal("stream flood not refused")
			}
			wantCode(t, mapErr(context.Cause(c.Context())), CodeProtocol)
			s.log.WaitFor(t, wait, tc.log)
		})
	}
	// A flood of streams stops at QUIC's stream limit: two per connection.
	c := rawConn(t, s, testKey(t, 2))
	opened := 0
	var err error
	for i := range 100 {
		var st *quic.SendStream
		if st, err = c.OpenUniStream(); err != nil {
			break
		}
		st.Write([]byte{byte(i % 2)})
		opened++
	}
	var sl *quic.StreamLimitReachedError
	if opened != numKinds || !errors.As(err, &sl) {
		t.Fatalf("opened %d streams, then %v", opened, err)
	}
	c.CloseWithError(0, "")
	assertServes(t, s)
}

func TestConnectionFlood(t *testing.T) {
	const perPeer = 3
	s := newServer(t, testKey(t, 1), func(c *Config) { c.MaxConnsPerPeer = perPeer })
	// One identity opens too many connections: the extras are refused.
	ep, _ := newClient(t, testKey(t, 2), func(c *Config) { c.MaxConnsPerPeer = 100 })
	var conns []*Conn
	refusedN := 0
	for range perPeer + 4 {
		c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The server keeps exactly perPeer of them.
	for _, c := range conns {
		select {
		case <-c.Done():
			wantCode(t, c.Err(), CodeTooManyConns)
			refusedN++
		default:
		}
	}
	for refusedN < 4 {
		// The refusals may still be in flight: wait for them.
		var alive []*Conn
		for _, c := range conns {
			if c.Err() == nil {
				alive = append(alive, c)
			}
		}
		if len(alive) == perPeer {
			break
		}
		waitAnyClosed(t, alive)
		refusedN = len(conns) - len(alive) + 1
	}
	s.log.WaitFor(t, wait, "refused connection", "limit 3")

	// Many identities at once.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep, _ := newClient(t, testKey(t, byte(100+i)), nil)
			c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
			if err != nil {
				errs <- err
				return
			}
			w, err := c.OpenStream(ctxWait(t), Control)
			if err == nil {
				err = w.Send([]byte("flood"))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("flood connection: %v", err)
	}
	assertServes(t, s)
}

func waitAnyClosed(t *testing.T, cs []*Conn) {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	for _, c := range cs {
		go func() {
			select {
			case <-c.Done():
				once.Do(func() { close(done) })
			case <-done:
			}
		}()
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("no connection closed")
	}
}

// With MaxConns reached, new attempts are refused before their handshake.
func TestTotalConnectionLimit(t *testing.T) {
	s := newServer(t, testKey(t, 1), func(c *Config) { c.MaxConns = 2 })
	var open []*Conn
	for i := range 2 {
		ep, _ := newClient(t, testKey(t, byte(10+i)), nil)
		c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	ep, _ := newClient(t, testKey(t, 20), nil)
	_, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
	if !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("third connection: %v, want ErrTooManyConns", err)
	}
	s.log.WaitFor(t, wait, "over the connection limit")
	for _, c := range open {
		c.Close(nil)
	}
	// Once the server has seen them close, an honest peer gets in; each
	// attempt is a round trip, refused until then.
	deadline := time.Now().Add(wait)
	for {
		ep, _ := newClient(t, testKey(t, 21), nil)
		c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
		if err == nil {
			roundTrip(t, c, Control, []byte("in at last"))
			break
		}
		if !errors.Is(err, ErrTooManyConns) || time.Now().After(deadline) {
			t.Fatalf("after closing: %v", err)
		}
		ep.Close()
	}
}

func TestAllowlist(t *testing.T) {
	friend, stranger := testKey(t, 2), testKey(t, 3)
	s := newServer(t, testKey(t, 1), func(c *Config) { c.Allow = []identity.ID{friend.ID(), testKey(t, 0xee).ID()} })
	ep, _ := newClient(t, stranger, nil)
	c, err := ep.Dial(ctxWait(t), s.addr(), identity.ID{})
	if err == nil {
		err = waitClosed(t, c)
	}
	wantCode(t, err, CodeNotAllowed)
	t.Log(err)
	s.log.WaitFor(t, wait, "not on the allowlist", stranger.ID().String())

	ep2, _ := newClient(t, friend, nil)
	c2, err := ep2.Dial(ctxWait(t), s.addr(), identity.ID{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c2, Control, []byte("friend"))

	// A client with an allowlist refuses a server not on it.
	ep3, _ := newClient(t, friend, func(c *Config) { c.Allow = []identity.ID{stranger.ID()} })
	_, err = ep3.Dial(ctxWait(t), s.addr(), identity.ID{})
	if !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("dial to a server off the allowlist: %v", err)
	}
	assertServes(t, s)
}

// Everything sent before a graceful Close is delivered, and the peer sees a
// clean shutdown.
func TestGracefulClose(t *testing.T) {
	srvKey := testKey(t, 1)
	srv, _ := newClient(t, srvKey, func(c *Config) { c.NoAccept = false })
	cli, _ := newClient(t, testKey(t, 2), nil)
	const n = 2000
	got := make(chan int, 1)
	var serverConn *Conn
	go func() {
		c, err := srv.Accept(context.Background())
		if err != nil {
			close(got)
			return
		}
		serverConn = c
		r, err := c.AcceptStream(context.Background())
		if err != nil {
			close(got)
			return
		}
		count := 0
		for {
			b, err := r.Recv()
			if err == io.EOF {
				break
			}
			if err != nil || len(b) != 1000 {
				break
			}
			count++
		}
		c.Close(nil) // the responder: waits for the dialler's close
		got <- count
	}()
	c, err := cli.Dial(ctxWait(t), srv.Addr().String(), srvKey.ID())
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.OpenStream(ctxWait(t), Data)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := w.Send(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// The server opened no stream: Close waits for the peer's close or
	// the timeout; either way everything sent arrives.
	if err := c.Close(nil); err != nil {
		t.Fatal(err)
	}
	if count := <-got; count != n {
		t.Fatalf("server received %d frames, want %d", count, n)
	}
	err = waitClosed(t, serverConn)
	if !errors.Is(err, ErrShutdown) {
		t.Fatalf("server sees %v, want a clean shutdown", err)
	}
}

func TestRedial(t *testing.T) {
	srvKey := testKey(t, 1)
	s := newServer(t, srvKey, nil)
	var jitters []float64
	var mu sync.Mutex
	ep, _ := newClient(t, testKey(t, 2), func(c *Config) {
		c.MinBackoff = time.Millisecond
		c.MaxBackoff = 4 * time.Millisecond
		c.Jitter = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			jitters = append(jitters, 0.5)
			return 0.5
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := 0
	done := make(chan error, 1)
	go func() {
		done <- ep.Redial(ctx, s.addr(), srvKey.ID(), func(c *Conn) error {
			served++
			// Each connection exchanges a frame, then ends.
			w, err := c.OpenStream(ctx, Control)
			if err == nil {
				err = w.Send([]byte("x"))
			}
			if err != nil {
				return err
			}
			r, err := c.AcceptStream(ctx)
			if err != nil {
				return err
			}
			if _, err := r.Recv(); err != nil {
				return err
			}
			if served == 3 {
				cancel()
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Redial returned %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Redial did not reconnect three times")
	}
	if served != 3 {
		t.Fatalf("served %d connections", served)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(jitters) < 2 {
		t.Fatalf("jitter source used %d times", len(jitters))
	}
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{0, 0, 50 * ms},
		{0, 0.999999, 100 * ms},
		{1, 0, 100 * ms},
		{2, 0.5, 300 * ms},
		{10, 0, 5000 * ms},
		{1000, 0.5, 7500 * ms},
	} {
		got := Backoff(tc.n, 100*ms, 10000*ms, tc.jitter)
		if got.Round(ms) != tc.want {
			t.Errorf("Backoff(%d, jitter %v) = %v, want %v", tc.n, tc.jitter, got, tc.want)
		}
	}
}

func TestCodes(t *testing.T) {
	for _, x := range codes {
		c := x.code
		if CodeOf(c.Err()) != c {
			t.Errorf("%s: CodeOf(Err) = %s", c, CodeOf(c.Err()))
		}
		err := mapErr(&quic.ApplicationError{Remote: true, ErrorCode: quic.ApplicationErrorCode(c), ErrorMessage: "why"})
		if !errors.Is(err, c.Err()) {
			t.Errorf("%s: mapped to %v", c, err)
		}
	}
	if !errors.Is(Code(0x99).Err(), ErrUnknownCode) {
		t.Error("unknown code")
	}
	if CodeOf(errors.New("disk on fire")) != CodeInternal {
		t.Error("unknown errors should close with CodeInternal")
	}
}

func TestConfigValidate(t *testing.T) {
	k := testKey(t, 1)
	for _, c := range []Config{
		{},
		{Key: k, MaxFrameSize: MaxFrameSizeLimit + 1},
		{Key: k, MinBackoff: time.Second, MaxBackoff: time.Millisecond},
		{Key: k, Allow: []identity.ID{{}}},
	} {
		c.EnsureDefaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
