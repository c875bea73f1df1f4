package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sbfeed/sbfeed/identity"
)

// Config configures an [Endpoint]. Only Key is required; every other zero
// value means the documented default.
type Config struct {
	// Key is this peer's identity; its certificate is made from it.
	Key *identity.Key

	// Allow, when not empty, is the allowlist of a private network: only
	// these identities may connect in, and only these may be dialled.
	// Empty: anyone who completes the handshake (the replication handshake
	// then checks the network).
	Allow []identity.ID

	// NoAccept makes a dial-only endpoint: incoming connection attempts are
	// ignored. Zero: the endpoint accepts connections (see Endpoint.Accept).
	NoAccept bool

	// MaxFrameSize is the largest frame payload accepted; a larger one
	// closes the connection with CodeFrameTooLarge. Zero: DefaultMaxFrameSize.
	MaxFrameSize int

	// MaxConnsPerPeer bounds simultaneous connections with one identity,
	// dialled and accepted together. Zero: 4.
	MaxConnsPerPeer int

	// MaxConns bounds simultaneous connections in total, including
	// handshakes in progress. Zero: 1024.
	MaxConns int

	// KeepAlive is the period of QUIC keep-alive packets. Zero: 5s.
	KeepAlive time.Duration

	// IdleTimeout closes a connection after this long without a packet
	// from the peer. Zero: 30s.
	IdleTimeout time.Duration

	// HandshakeTimeout bounds the QUIC+TLS handshake. Zero: 5s.
	HandshakeTimeout time.Duration

	// CloseTimeout bounds how long a graceful close waits for the peer to
	// finish its streams. Zero: 2s.
	CloseTimeout time.Duration

	// MinBackoff and MaxBackoff bound the delay between redial attempts
	// (exponential, with jitter). Zero: 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration

	// Jitter returns a number in [0, 1) for each backoff delay. Nil: the
	// math/rand/v2 global source. Tests inject a fixed sequence.
	Jitter func() float64

	// StreamWindow and ConnWindow are the largest QUIC flow-control receive
	// windows, per stream and per connection: how much a peer may send
	// before this end reads it. Zero: 8 MiB and 16 MiB.
	StreamWindow, ConnWindow uint64

	// Logger receives refused connections and other errors. Nil discards.
	Logger *slog.Logger
}

// Clone returns a copy of c that shares nothing mutable with it.
func (c *Config) Clone() *Config {
	n := *c
	n.Allow = slices.Clone(c.Allow)
	return &n
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.MaxConnsPerPeer == 0 {
		c.MaxConnsPerPeer = 4
	}
	if c.MaxConns == 0 {
		c.MaxConns = 1024
	}
	def(&c.KeepAlive, 5*time.Second)
	def(&c.IdleTimeout, 30*time.Second)
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.CloseTimeout, 2*time.Second)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 30*time.Second)
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	if c.StreamWindow == 0 {
		c.StreamWindow = 8 << 20
	}
	if c.ConnWindow == 0 {
		c.ConnWindow = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first field that is out of range.
func (c *Config) Validate() error {
	switch {
	case c.Key == nil:
		return errors.New("transport: Config.Key is required")
	case c.MaxFrameSize < 0 || c.MaxFrameSize > MaxFrameSizeLimit:
		return fmt.Errorf("transport: Config.MaxFrameSize %d outside [1, %d]", c.MaxFrameSize, MaxFrameSizeLimit)
	case c.MaxConnsPerPeer < 0 || c.MaxConns < 0:
		return errors.New("transport: negative connection limit")
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("transport: backoff range [%v, %v] is empty", c.MinBackoff, c.MaxBackoff)
	case c.KeepAlive < 0 || c.IdleTimeout < 0 || c.HandshakeTimeout < 0 || c.CloseTimeout < 0:
		return errors.New("transport: negative timeout")
	}
	for _, id := range c.Allow {
		if err := id.CheckKey(); err != nil {
			return fmt.Errorf("transport: Config.Allow: %s: %w", id.Short(), err)
		}
	}
	return nil
}

// Backoff returns the delay before redial attempt n (0 for the first
// retry): min·2ⁿ capped at max, of which the upper half is scaled by jitter
// ∈ [0, 1) ("equal jitter"), so a delay is never below half its cap.
func Backoff(n int, min, max time.Duration, jitter float64) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max || d <= 0 {
		d = max
	}
	half := d / 2
	return half + time.Duration(float64(d-half)*jitter)
}
