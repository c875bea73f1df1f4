package replicate

import (
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Storage is what a session reads from the node's entry store. The session
// never writes: verified entries leave through [Ready] and the caller stores
// them. If a Storage method returns an error the session fails with
// [ErrStorage] (the caller closes the connection; nothing is acknowledged that
// was not stored).
type Storage interface {
	// Heads returns the head of every feed held.
	Heads() (map[identity.ID]feed.Head, error)
	// Range returns the canonical encodings of author's entries from seq from
	// to seq to (inclusive) back to back, as feed.Encode gives them. It stops
	// early, after at least one entry, before the total would exceed maxBytes,
	// and returns fewer entries (or none) when it holds fewer.
	Range(author identity.ID, from, to uint64, maxBytes int) ([]byte, error)
	// Forks returns the fork proofs held, at most one per author. (A proof
	// released in a Ready for an author that already has one has a lower
	// seq and replaces it: every peer ends with the lowest-seq proof.)
	Forks() ([]feed.ForkProof, error)
}

// Limits are the flow-control limits a peer announces in its Hello and
// enforces on what it receives. The zero value of each field means its
// default.
type Limits struct {
	// Window is the most entries the remote may have sent and this side not
	// yet acknowledged (by a Heads note). Default 512.
	Window uint32
	// MaxFrame is the largest encoded message accepted, in bytes. Default
	// 1 MiB; it must be at least MinFrame so any single entry fits.
	MaxFrame uint32
	// MaxFeeds is the most feeds the remote may announce in Heads (in total
	// over the session). Default 65536.
	MaxFeeds uint32
}

// Defaults and bounds of [Limits].
const (
	DefaultWindow   = 512
	DefaultMaxFrame = 1 << 20
	DefaultMaxFeeds = 1 << 16
	// MinFrame is the smallest MaxFrame allowed: one largest entry plus the
	// Entries framing.
	MinFrame = feed.MaxEntrySize + 64
	// MaxFrameLimit bounds MaxFrame so a peer cannot ask for absurd buffers.
	MaxFrameLimit = 64 << 20
)

// EnsureDefaults replaces zero fields by their defaults.
func (l *Limits) EnsureDefaults() {
	if l.Window == 0 {
		l.Window = DefaultWindow
	}
	if l.MaxFrame == 0 {
		l.MaxFrame = DefaultMaxFrame
	}
	if l.MaxFeeds == 0 {
		l.MaxFeeds = DefaultMaxFeeds
	}
}

// Validate reports limits no peer may announce.
func (l Limits) Validate() error {
	if l.MaxFrame < MinFrame || l.MaxFrame > MaxFrameLimit {
		return fmt.Errorf("replicate: MaxFrame %d outside [%d, %d]", l.MaxFrame, MinFrame, MaxFrameLimit)
	}
	if l.Window == 0 {
		return fmt.Errorf("replicate: Window 0")
	}
	if l.MaxFeeds == 0 {
		return fmt.Errorf("replicate: MaxFeeds 0")
	}
	return nil
}

// Config configures one [Session]. Zero values are documented per field.
type Config struct {
	// Self is the local identity; Key must be its key: it signs the network
	// proof in the Hello.
	Self identity.ID
	Key  *identity.Key
	// Network is the network both sides must be in.
	Network identity.Network
	// Remote is the remote identity the transport authenticated. If zero, the
	// session accepts the identity the remote's Hello claims (the proof is
	// still checked against it) and the caller MUST compare [Session.Remote]
	// with the transport's authenticated identity.
	Remote identity.ID
	// Binding is the transport's channel binding, the same bytes on both ends
	// (the QUIC transport passes a TLS exporter value, the simulator random
	// bytes). The Hello proof signs it, so a proof cannot be replayed on
	// another connection. Required, 16 to 64 bytes.
	Binding []byte
	// Storage is read, never written. Required.
	Storage Storage
	// Hub coordinates the sessions of one node (heads, eager/lazy roles,
	// relaying). Nil: a private hub, eager for every feed.
	Hub *Hub
	// Limits are announced to the remote and enforced on it.
	Limits Limits
	// Feeds, if not nil, restricts replication to these feeds (partial
	// replication): the session asks only for them and accepts nothing else.
	// Nil replicates every feed. The hub takes the choice of the first
	// session created with it; all sessions of one Hub must pass the same.
	Feeds []identity.ID
	// SummaryTicks is how many ticks pass between two anti-entropy Summary
	// messages while the local heads changed. Default 10.
	SummaryTicks int
	// StallTicks is how many ticks a lazy remote's newer head may wait for the
	// eager source before the feed is pulled from that remote. Default 3.
	StallTicks int
	// ResendTicks is how many ticks unacknowledged pushed entries wait before
	// they are sent again (messages may be lost in a lossy simulation or a
	// bundle). Default 8.
	ResendTicks int
	// HandshakeTicks is how many ticks the remote's Hello may take. Default 30.
	HandshakeTicks int
	// SigCache, if set, is shared by the sessions of many simulated peers so
	// each distinct entry's signature is verified once per process. Nil (the
	// production setting): every received run is verified.
	SigCache *SigCache
	// Log receives debug lines. Nil discards.
	Log func(format string, args ...any)
}

// Clone returns a copy of c that shares no slices with it.
func (c *Config) Clone() Config {
	d := *c
	d.Binding = append([]byte(nil), c.Binding...)
	if c.Feeds != nil {
		d.Feeds = append([]identity.ID{}, c.Feeds...)
	}
	return d
}

// EnsureDefaults fills in zero fields.
func (c *Config) EnsureDefaults() {
	c.Limits.EnsureDefaults()
	if c.SummaryTicks <= 0 {
		c.SummaryTicks = 10
	}
	if c.StallTicks <= 0 {
		c.StallTicks = 3
	}
	if c.ResendTicks <= 0 {
		c.ResendTicks = 8
	}
	if c.HandshakeTicks <= 0 {
		c.HandshakeTicks = 30
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
}

// Validate reports a configuration no session can run with.
func (c *Config) Validate() error {
	switch {
	case c.Key == nil:
		return fmt.Errorf("replicate: config: no Key")
	case c.Key.ID() != c.Self:
		return fmt.Errorf("replicate: config: Key is %s, Self is %s", c.Key.ID().Short(), c.Self.Short())
	case c.Storage == nil:
		return fmt.Errorf("replicate: config: no Storage")
	case len(c.Binding) < 16 || len(c.Binding) > MaxBinding:
		return fmt.Errorf("replicate: config: Binding is %d bytes, want 16 to %d", len(c.Binding), MaxBinding)
	case c.Remote == c.Self:
		return fmt.Errorf("replicate: config: Remote is Self")
	}
	return c.Limits.Validate()
}
