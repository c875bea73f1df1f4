package replicate

import (
	"fmt"
	"strings"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Type is a message's type byte on the wire.
type Type uint8

// Message types. Values are part of the wire format (docs/protocol.md).
const (
	TypeHello   Type = 1
	TypeSummary Type = 2
	TypeHeads   Type = 3
	TypeWant    Type = 4
	TypeEntries Type = 5
	TypeFork    Type = 6
	TypeGoodbye Type = 7
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "Hello"
	case TypeSummary:
		return "Summary"
	case TypeHeads:
		return "Heads"
	case TypeWant:
		return "Want"
	case TypeEntries:
		return "Entries"
	case TypeFork:
		return "Fork"
	case TypeGoodbye:
		return "Goodbye"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Message is one protocol message between two peers. From and To are not
// encoded (the transport knows the endpoints); they name the ends in String
// and in the simulator.
type Message struct {
	From, To identity.ID
	Body     Body
	size     int // encoded size when decoded from the wire, else 0
}

// Body is one of *Hello, *Summary, *Heads, *Want, *Entries, *Fork, *Goodbye.
type Body interface {
	Type() Type
	String() string
	appendBody(dst []byte) []byte
}

// maxListed is how many notes, feeds or runs a String lists before "…+n".
const maxListed = 8

// String gives the compact, stable form "a1b2c3d4->e5f6a7b8 Want{*:lazy}".
func (m Message) String() string {
	b := "<nil>"
	if m.Body != nil {
		b = m.Body.String()
	}
	return m.From.Short() + "->" + m.To.Short() + " " + b
}

// Hello opens a session. Its layout is the same in every protocol version.
type Hello struct {
	// MinVersion and MaxVersion are the protocol versions the sender speaks.
	MinVersion, MaxVersion uint8
	// NetworkTag is the first 4 bytes of SHA-256 of the sender's network key:
	// the receiver names the network in its refusal without learning the key.
	NetworkTag [4]byte
	// From is the sender's identity; Proof its signature, purpose
	// HelloPurpose in the network, over the channel binding followed by From.
	From  identity.ID
	Proof [identity.SignatureSize]byte
	// Limits are those the sender enforces on what it receives.
	Limits Limits
	// Ext is reserved for later versions' extensions: v1 senders leave it
	// empty and v1 receivers ignore it.
	Ext []byte
}

// Summary is the quick "are we already equal" check: a Merkle root over the
// sender's sorted heads (see [HeadsRoot]) and how many feeds it covers.
type Summary struct {
	// Known says the sender holds the receiver's full heads vector (from a
	// full Heads or an equal Summary), so a delta answers a mismatch.
	Known bool
	Count uint64
	Root  [32]byte
}

// Note is one feed's head as a peer holds it: Seq 0 means none. ID is the
// head's entry ID, or zero when not given (lazy announcements leave it out;
// full vectors and acknowledgements carry it, for fork checks).
type Note struct {
	Author identity.ID
	Seq    uint64
	ID     feed.ID
}

// Heads announces heads. Full means Notes is the sender's complete vector;
// otherwise it lists only the feeds that changed since the last Heads sent.
// Notes are in ascending author order. A Heads note also acknowledges the
// entries up to Seq.
type Heads struct {
	Full  bool
	Notes []Note
}

// Mode is how a peer wants a feed replicated from the other side.
type Mode uint8

// Modes. Values are part of the wire format.
const (
	// None: do not send this feed at all (partial replication).
	None Mode = 0
	// Lazy: announce new heads (Heads notes) but do not push entries.
	Lazy Mode = 1
	// Eager: push entries beyond the head last acknowledged, live.
	Eager Mode = 2
)

func (m Mode) String() string {
	switch m {
	case None:
		return "none"
	case Lazy:
		return "lazy"
	case Eager:
		return "eager"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// FeedMode is one feed's Mode in a Want.
type FeedMode struct {
	Author identity.ID
	Mode   Mode
}

// Want sets how the sender wants feeds sent to it. A Full Want replaces
// everything said before: Default applies to every feed not listed in Feeds
// (ascending authors). A Want that is not Full changes only the listed feeds
// (Default is then None and ignored).
type Want struct {
	Full    bool
	Default Mode
	Feeds   []FeedMode
}

// Run is consecutive entries of one feed, First to First+Count-1, as their
// canonical encodings back to back.
type Run struct {
	Author identity.ID
	First  uint64
	Count  int
	Raw    []byte

	entries []feed.Entry // decoded form, filled by DecodeMessage / NewRun
}

// Entries carries runs of entries, each run in seq order.
type Entries struct {
	Runs []Run
}

// Fork passes on a fork proof.
type Fork struct {
	Proof feed.ForkProof
}

// Goodbye tells the remote why the sender closes the session.
type Goodbye struct {
	Code   Code
	Reason string // at most MaxReason bytes
}

// Code is a Goodbye reason code; the QUIC transport uses it as its
// application error code.
type Code uint8

// Goodbye codes.
const (
	CodeNormal       Code = 0
	CodeProtocol     Code = 1 // malformed or out-of-order message
	CodeWrongNetwork Code = 2
	CodeVersion      Code = 3 // no common protocol version
	CodeBadProof     Code = 4
	CodeLimit        Code = 5 // a limit was broken
	CodeInvalid      Code = 6 // an invalid entry or fork proof
	CodeInternal     Code = 7 // local failure (storage)
)

func (*Hello) Type() Type   { return TypeHello }
func (*Summary) Type() Type { return TypeSummary }
func (*Heads) Type() Type   { return TypeHeads }
func (*Want) Type() Type    { return TypeWant }
func (*Entries) Type() Type { return TypeEntries }
func (*Fork) Type() Type    { return TypeFork }
func (*Goodbye) Type() Type { return TypeGoodbye }

func (h *Hello) String() string {
	return fmt.Sprintf("Hello{v%d..%d net:%x from:%s window:%d frame:%d feeds:%d}", h.MinVersion, h.MaxVersion,
		h.NetworkTag, h.From.Short(), h.Limits.Window, h.Limits.MaxFrame, h.Limits.MaxFeeds)
}

func (s *Summary) String() string {
	k := ""
	if s.Known {
		k = " known"
	}
	return fmt.Sprintf("Summary{%d #%x%s}", s.Count, s.Root[:4], k)
}

func (h *Heads) String() string {
	var b strings.Builder
	b.WriteString("Heads{")
	if h.Full {
		b.WriteString("full")
	}
	for i, n := range h.Notes {
		if i > 0 || h.Full {
			b.WriteByte(' ')
		}
		if i == maxListed {
			fmt.Fprintf(&b, "…+%d", len(h.Notes)-i)
			break
		}
		fmt.Fprintf(&b, "%s:%d", n.Author.Short(), n.Seq)
		if n.Seq > 0 && n.ID != (feed.ID{}) {
			b.WriteString("#" + n.ID.Short())
		}
	}
	b.WriteByte('}')
	return b.String()
}

func (w *Want) String() string {
	var b strings.Builder
	b.WriteString("Want{")
	sep := ""
	if w.Full {
		b.WriteString("*:" + w.Default.String())
		sep = " "
	}
	for i, f := range w.Feeds {
		if i == maxListed {
			fmt.Fprintf(&b, "%s…+%d", sep, len(w.Feeds)-i)
			break
		}
		b.WriteString(sep + f.Author.Short() + ":" + f.Mode.String())
		sep = " "
	}
	b.WriteByte('}')
	return b.String()
}

func (e *Entries) String() string {
	var b strings.Builder
	b.WriteString("Entries{")
	for i, r := range e.Runs {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == maxListed {
			fmt.Fprintf(&b, "…+%d", len(e.Runs)-i)
			break
		}
		if r.Count == 1 {
			fmt.Fprintf(&b, "%s:%d", r.Author.Short(), r.First)
		} else {
			fmt.Fprintf(&b, "%s:%d..%d", r.Author.Short(), r.First, r.First+uint64(r.Count)-1)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func (f *Fork) String() string {
	return fmt.Sprintf("Fork{%s:%d #%s/#%s}", f.Proof.A.Author.Short(), f.Proof.A.Seq, f.Proof.A.ID().Short(), f.Proof.B.ID().Short())
}

func (g *Goodbye) String() string {
	return fmt.Sprintf("Goodbye{%d %q}", g.Code, g.Reason)
}

// NewRun builds a Run from consecutive entries of one feed. It does not
// verify them.
func NewRun(entries []feed.Entry) Run {
	if len(entries) == 0 {
		return Run{}
	}
	r := Run{Author: entries[0].Author, First: entries[0].Seq, Count: len(entries)}
	n := 0
	for i := range entries {
		n += entries[i].EncodedSize()
	}
	r.Raw = make([]byte, 0, n)
	for i := range entries {
		r.Raw = entries[i].AppendEncode(r.Raw)
	}
	r.entries = entries
	return r
}

// Entries returns the run's entries, decoding Raw if needed.
func (r *Run) Entries() ([]feed.Entry, error) {
	if r.entries != nil {
		return r.entries, nil
	}
	es, err := decodeRun(r.Raw, r.Count)
	if err != nil {
		return nil, err
	}
	r.entries = es
	return es, nil
}
