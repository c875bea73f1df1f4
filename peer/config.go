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

	// Listen is the UDP address to accept connections on ("127.0.0.1:0"
	// picks a port). Empty: the peer only dials.
	Listen string

	// Dial lists peers to keep a connection to, as "host:port" or
	// "sbf1…@host:port" (the second form fails unless that identity
	// answers). Each is redialled with backoff whenever its connection ends.
	Dial []string

	// Transport configures the QUIC endpoint: limits, timeouts, backoff,
	// allowlist. Its Key, Logger and NoAccept are set by the peer.
	Transport transport.Config

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
	// is durable in Store: entries received from remotes and local
	// appends, in chain order per feed. It runs on the owner goroutine:
	// it must return quickly and must not call the Peer's blocking methods.
	OnStored func(entries []feed.Entry)

	// Logger receives connection and session errors. Nil discards.
	Logger *slog.Logger
}

// Clone returns a copy of c that shares no slices with it.
func (c *Config) Clone() *Config {
	n := *c
	n.Dial = append([]string(nil), c.Dial...)
	n.Transport = *c.Transport.Clone()
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
	c.Transport.Key = c.Key
	c.Transport.Logger = c.Logger
	c.Transport.NoAccept = c.Listen == ""
	if c.Transport.MaxFrameSize == 0 {
		c.Transport.MaxFrameSize = max(transport.DefaultMaxFrameSize, int(c.Limits.MaxFrame)+1024)
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
	case int(c.Limits.MaxFrame)+1024 > c.Transport.MaxFrameSize:
		return fmt.Errorf("peer: replication MaxFrame %d does not fit the transport's MaxFrameSize %d", c.Limits.MaxFrame, c.Transport.MaxFrameSize)
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
