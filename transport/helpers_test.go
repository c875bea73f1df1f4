package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/logtest"
)

// wait is how long a test waits for a condition before failing.
const wait = 20 * time.Second

func testKey(t testing.TB, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logSink keeps what the component logs, so tests can wait for a
// refusal to be logged.
type logSink = logtest.Sink

func newLogSink() *logSink { return logtest.New(slog.LevelDebug) }

type testServer struct {
	ep  *Endpoint
	log *logSink
	wg  sync.WaitGroup
}

// newServer starts an endpoint on loopback that echoes every frame back
// on its own stream of the same kind.
func newServer(t testing.TB, key *identity.Key, mod func(*Config)) *testServer {
	t.Helper()
	s := &testServer{log: newLogSink()}
	cfg := Config{Key: key, Logger: slog.New(s.log)}
	if mod != nil {
		mod(&cfg)
	}
	ep, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.ep = ep
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ep.Accept(context.Background())
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				echo(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ep.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) addr() string { return s.ep.Addr().String() }

// echo serves one connection: every frame received on a stream is sent
// back on this end's stream of the same kind.
func echo(c *Conn) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		r, err := c.AcceptStream(context.Background())
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w *SendStream
			for {
				b, err := r.Recv()
				if err == io.EOF {
					if w != nil {
						w.Close()
					}
					c.Close(nil)
					return
				}
				if err != nil {
					return
				}
				if w == nil {
					if w, err = c.OpenStream(context.Background(), r.Kind()); err != nil {
						return
					}
				}
				if w.Send(b) != nil {
					return
				}
			}
		}()
	}
}

func newClient(t testing.TB, key *identity.Key, mod func(*Config)) (*Endpoint, *logSink) {
	t.Helper()
	log := newLogSink()
	cfg := Config{Key: key, Logger: slog.New(log), NoAccept: true}
	if mod != nil {
		mod(&cfg)
	}
	ep, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep, log
}

func ctxWait(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// roundTrip sends msg on a stream of kind and expects it echoed back.
func roundTrip(t testing.TB, c *Conn, kind StreamKind, msgs ...[]byte) *RecvStream {
	t.Helper()
	w, err := c.OpenStream(ctxWait(t), kind)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := w.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.AcceptStream(ctxWait(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind() != kind {
		t.Fatalf("echo came on %s stream, want %s", r.Kind(), kind)
	}
	for i, m := range msgs {
		got, err := r.Recv()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("frame %d: got %d bytes %.16q, want %d bytes %.16q", i, len(got), got, len(m), m)
		}
	}
	return r
}

// drain reads r to its end, as a driver does, so a graceful close can
// see the peer finish.
func drain(r *RecvStream) {
	for {
		if _, err := r.Recv(); err != nil {
			return
		}
	}
}

// assertServes checks that an honest peer can still connect to s, and
// exchange frames with it.
func assertServes(t testing.TB, s *testServer) {
	t.Helper()
	ep, _ := newClient(t, testKey(t, 0xee), nil)
	c, err := ep.Dial(ctxWait(t), s.addr(), s.ep.ID())
	if err != nil {
		t.Fatalf("honest peer refused: %v", err)
	}
	r := roundTrip(t, c, Control, []byte("still there?"))
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		drain(r)
	}()
	if err := c.Close(nil); err != nil {
		t.Fatal(err)
	}
	ep.Close()
	// The client's reader is gone before the caller looks for leftover
	// goroutines (TestCloseLeavesNoGoroutines).
	select {
	case <-drained:
	case <-time.After(wait):
		t.Fatal("the client's stream did not end after Close")
	}
}

// waitClosed waits for c to end and returns why.
func waitClosed(t testing.TB, c *Conn) error {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("connection not closed")
	}
	return c.Err()
}

// wantCode checks that err is a CloseError with code, from the peer.
func wantCode(t testing.TB, err error, code Code) {
	t.Helper()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != code || !ce.Remote {
		t.Fatalf("got %v, want the peer to close with %s", err, code)
	}
	if !errors.Is(err, code.Err()) {
		t.Fatalf("%v does not wrap %v", err, code.Err())
	}
}
