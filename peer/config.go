package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
	"github.com/sbfeed/sbfeed/transport"
)

// Config configures a [Peer]. Key and Store are required; every other zero
// value means the documented default.
type Config struct {
	// Key is this peer's identity: it signs its feed, its TLS certificate
	// and its network proofs.
	Key *identity.Key

	// Store holds every feed this peer knows. The peer writes to it only
	// from its owner goroutine; readers elsewhere are fine (store.DB is
	// safe for concurrent use). The peer does not close it.
	Store *store.DB

	// Transport carries the connections. Nil: [QUIC] with the QUIC
	// settings below.
	Transport Transport

	// QUIC configures the default transport's endpoints (limits, timeouts,
	// allowlist) when Transport is nil. Its Key and NoAccept are set by the
	// peer, a nil Logger means Logger below, and its backoff fields are not
	// used (the peer redials itself, see MinBackoff).
	QUIC transport.Config

	// Listen is the address to accept connections on ("127.0.0.1:0" picks
	// a port). Empty: the peer accepts nothing unless Listen is called.
	Listen string

	// Dial lists peers to keep a connection to, as "host:port" or
	// "sbf1…@host:port" (the second form fails unless that identity
	// answers). Each is redialled with backoff whenever its connection ends.
	Dial []string

	// MinBackoff and MaxBackoff bound the delay between redial attempts:
	// exponential with jitter, growing while dials fail or remotes refuse
	// the session, from MinBackoff again after a connection that was up.
	// Zero: 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration

	// Limits are announced to every remote and enforced on it. Zero
	// fields: Window 32768 entries (bulk sync needs a deep pipeline:
	// several synced batches in flight), MaxFrame 1 MiB, MaxFeeds 65536.
	Limits replicate.Limits

	// Tick is the length of one replication tick (handshake timeout,
	// stalled-source detection, resends are counted in ticks). Zero: 100ms.
	Tick time.Duration

	// BatchBytes is how many bytes of received frames the owner steps
	// before it persists what they released in one synced batch. Larger
	// batches sync less often; smaller ones acknowledge sooner. Zero: 2 MiB.
	BatchBytes int

	// MaxQueue bounds the bytes queued for one connection's writers. A
	// remote that reads so slowly that the queue overflows is dropped (its
	// entries are not lost: they are acknowledged only once stored). Zero:
	// 64 MiB.
	MaxQueue int

	// OnStored, if not nil, is called with every batch of entries once it
	// is durable in Store: entries received from remotes and those of
	// Publish and Append (not those a Do function stored), in chain order
	// per feed. It runs on the owner goroutine:
	// it must return quickly and must not call the Peer's blocking methods.
	OnStored func(entries []feed.Entry)

	// Hub is the replication hub the peer's sessions share. Nil: a new
	// one. Only the owner goroutine may use it: a caller that passes its
	// own reads it from the hooks below and from Do.
	Hub *replicate.Hub

	// OnTick, if not nil, is called on the owner goroutine every Tick,
	// after the sessions ticked. The rules of OnStored apply.
	OnTick func()

	// OnFork, if not nil, is called on the owner goroutine with every fork
	// proof once it is stored: received from a remote, or found when a
	// received entry contradicts a stored one. The rules of OnStored apply.
	OnFork func(p feed.ForkProof)

	// Logger receives the peer's log: listening, peers connected and
	// disconnected, sync progress, refused peers. Nil discards.
	Logger *slog.Logger
}

// Clone returns a copy of c that shares no slices with it.
func (c *Config) Clone() *Config {
	n := *c
	n.Dial = append([]string(nil), c.Dial...)
	n.QUIC = *c.QUIC.Clone()
	return &n
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Limits.Window == 0 {
		c.Limits.Window = 32768
	}
	c.Limits.EnsureDefaults()
	if c.Tick == 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 2 << 20
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	c.QUIC.Key = c.Key
	if c.QUIC.Logger == nil {
		c.QUIC.Logger = c.Logger
	}
	if c.QUIC.MaxFrameSize == 0 {
		c.QUIC.MaxFrameSize = max(transport.DefaultMaxFrameSize, int(c.Limits.MaxFrame)+1024)
	}
}

// Validate reports the first field that is wrong.
func (c *Config) Validate() error {
	switch {
	case c.Key == nil:
		return errors.New("peer: Config.Key is required")
	case c.Store == nil:
		return errors.New("peer: Config.Store is required")
	case c.Tick < 0:
		return fmt.Errorf("peer: Config.Tick %v is negative", c.Tick)
	case c.MaxQueue < int(c.Limits.MaxFrame):
		return fmt.Errorf("peer: Config.MaxQueue %d is below one frame (%d)", c.MaxQueue, c.Limits.MaxFrame)
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("peer: Config.MinBackoff %v and MaxBackoff %v are out of order", c.MinBackoff, c.MaxBackoff)
	case c.Transport == nil && int(c.Limits.MaxFrame)+1024 > c.QUIC.MaxFrameSize:
		return fmt.Errorf("peer: replication MaxFrame %d does not fit the QUIC MaxFrameSize %d", c.Limits.MaxFrame, c.QUIC.MaxFrameSize)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	for _, d := range c.Dial {
		if _, _, err := ParseAddr(d); err != nil {
			return err
		}
	}
	return nil
}
