package replicate

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Protocol versions this build speaks, announced in Hello.
const (
	MinVersion = 1
	MaxVersion = 1
)

// Wire constants (docs/protocol.md).
const (
	// HelloMagic opens every Hello so a stray connection is refused at once.
	HelloMagic = "sbfr"
	// HelloPurpose is the domain-separation purpose of the Hello proof.
	HelloPurpose = "sbfeed/hello/v1"
	// MaxBinding is the longest channel binding accepted.
	MaxBinding = 64
	// MaxReason is the longest Goodbye reason, in bytes.
	MaxReason = 256
	// MaxHelloExt is the longest Hello extension block.
	MaxHelloExt = 1024
	// minEntrySize is the smallest encoded entry (no refs, no content).
	minEntrySize = 83 + 4 + identity.SignatureSize
	noteMinSize  = identity.IDSize + 1
)

// EncodeMessage appends the encoding of b (type byte, then body) to dst.
// Every message has exactly one encoding.
func EncodeMessage(dst []byte, b Body) []byte {
	dst = append(dst, byte(b.Type()))
	return b.appendBody(dst)
}

// EncodedSize is len(EncodeMessage(nil, b)).
func EncodedSize(b Body) int {
	if e, ok := b.(*Entries); ok {
		n := 1 + uvarintLen(uint64(len(e.Runs)))
		for i := range e.Runs {
			n += uvarintLen(uint64(e.Runs[i].Count)) + len(e.Runs[i].Raw)
		}
		return n
	}
	return len(EncodeMessage(nil, b))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (h *Hello) appendBody(dst []byte) []byte {
	dst = append(dst, HelloMagic...)
	dst = append(dst, h.MinVersion, h.MaxVersion)
	dst = append(dst, h.NetworkTag[:]...)
	dst = append(dst, h.From[:]...)
	dst = append(dst, h.Proof[:]...)
	dst = binary.AppendUvarint(dst, uint64(h.Limits.Window))
	dst = binary.AppendUvarint(dst, uint64(h.Limits.MaxFrame))
	dst = binary.AppendUvarint(dst, uint64(h.Limits.MaxFeeds))
	dst = binary.AppendUvarint(dst, uint64(len(h.Ext)))
	return append(dst, h.Ext...)
}

func (s *Summary) appendBody(dst []byte) []byte {
	dst = append(dst, boolByte(s.Known))
	dst = binary.AppendUvarint(dst, s.Count)
	return append(dst, s.Root[:]...)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (h *Heads) appendBody(dst []byte) []byte {
	dst = append(dst, boolByte(h.Full))
	dst = binary.AppendUvarint(dst, uint64(len(h.Notes)))
	for _, n := range h.Notes {
		dst = append(dst, n.Author[:]...)
		withID := n.Seq > 0 && n.ID != (feed.ID{})
		dst = binary.AppendUvarint(dst, n.Seq<<1|uint64(boolByte(withID)))
		if withID {
			dst = append(dst, n.ID[:]...)
		}
	}
	return dst
}

func (w *Want) appendBody(dst []byte) []byte {
	dst = append(dst, boolByte(w.Full))
	if w.Full {
		dst = append(dst, byte(w.Default))
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.Feeds)))
	for _, f := range w.Feeds {
		dst = append(dst, f.Author[:]...)
		dst = append(dst, byte(f.Mode))
	}
	return dst
}

func (e *Entries) appendBody(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(e.Runs)))
	for _, r := range e.Runs {
		dst = binary.AppendUvarint(dst, uint64(r.Count))
		dst = append(dst, r.Raw...)
	}
	return dst
}

func (f *Fork) appendBody(dst []byte) []byte { return append(dst, f.Proof.Encode()...) }

func (g *Goodbye) appendBody(dst []byte) []byte {
	dst = append(dst, byte(g.Code))
	dst = binary.AppendUvarint(dst, uint64(len(g.Reason)))
	return append(dst, g.Reason...)
}

// decoder reads one message body, remembering the first error.
type decoder struct {
	t   Type
	b   []byte
	off int
	err error
}

func (d *decoder) fail(field string, err error, detail string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Type: d.t, Offset: d.off, Field: field, Err: err, Detail: fmt.Sprintf(detail, args...)}
	}
}

func (d *decoder) bytes(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b)-d.off < n {
		d.fail(field, ErrMalformed, "truncated: need %d bytes, %d left", n, len(d.b)-d.off)
		return nil
	}
	out := d.b[d.off : d.off+n]
	d.off += n
	return out
}

func (d *decoder) byte1(field string) byte {
	b := d.bytes(field, 1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) uvarint(field string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail(field, ErrMalformed, "truncated varint")
		return 0
	case n < 0:
		d.fail(field, ErrMalformed, "varint overflows 64 bits")
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail(field, ErrNonCanonical, "varint not minimal")
		return 0
	case v > max:
		d.fail(field, ErrLimit, "%d, limit %d", v, max)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) flag(field string) bool {
	switch d.byte1(field) {
	case 0:
		return false
	case 1:
		return true
	}
	if d.err == nil {
		d.off--
		d.fail(field, ErrMalformed, "unknown flags %#x", d.b[d.off])
	}
	return false
}

func (d *decoder) id(field string) (id identity.ID) {
	copy(id[:], d.bytes(field, identity.IDSize))
	return id
}

func (d *decoder) left() int { return len(d.b) - d.off }

// DecodeMessage decodes one message (as EncodeMessage writes it) of at most
// MaxFrameLimit bytes. It checks structure and canonical form only; the
// session checks signatures, chains and limits. Entries runs are decoded and
// checked to be consecutive entries of one author.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, &DecodeError{Field: "type", Err: ErrMalformed, Detail: "empty message"}
	}
	if len(b) > MaxFrameLimit {
		return Message{}, &DecodeError{Field: "size", Err: ErrLimit, Detail: fmt.Sprintf("%d bytes, limit %d", len(b), MaxFrameLimit)}
	}
	d := &decoder{t: Type(b[0]), b: b, off: 1}
	var body Body
	switch d.t {
	case TypeHello:
		body = d.hello()
	case TypeSummary:
		s := &Summary{Known: d.flag("flags")}
		s.Count = d.uvarint("count", 1<<40)
		copy(s.Root[:], d.bytes("root", 32))
		body = s
	case TypeHeads:
		body = d.heads()
	case TypeWant:
		body = d.want()
	case TypeEntries:
		body = d.entries()
	case TypeFork:
		p, err := feed.DecodeForkProof(d.b[d.off:])
		if err != nil {
			d.fail("fork proof", ErrMalformed, "%v", err)
		}
		d.off = len(d.b)
		body = &Fork{Proof: p}
	case TypeGoodbye:
		g := &Goodbye{Code: Code(d.byte1("code"))}
		n := d.uvarint("reason length", MaxReason)
		r := d.bytes("reason", int(n))
		if d.err == nil && !utf8.Valid(r) {
			d.fail("reason", ErrMalformed, "not UTF-8")
		}
		g.Reason = string(r)
		body = g
	default:
		return Message{}, &DecodeError{Field: "type", Err: ErrMalformed, Detail: fmt.Sprintf("unknown message type %d", b[0])}
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("end", ErrMalformed, "%d trailing bytes", len(d.b)-d.off)
	}
	if d.err != nil {
		return Message{}, d.err
	}
	return Message{Body: body, size: len(b)}, nil
}

func (d *decoder) hello() *Hello {
	h := &Hello{}
	if m := d.bytes("magic", len(HelloMagic)); d.err == nil && string(m) != HelloMagic {
		d.off -= len(HelloMagic)
		d.fail("magic", ErrMalformed, "not an sbfeed replication stream")
	}
	h.MinVersion = d.byte1("min version")
	h.MaxVersion = d.byte1("max version")
	if d.err == nil && (h.MinVersion == 0 || h.MinVersion > h.MaxVersion) {
		d.fail("version", ErrMalformed, "range %d..%d", h.MinVersion, h.MaxVersion)
	}
	copy(h.NetworkTag[:], d.bytes("network", 4))
	h.From = d.id("from")
	copy(h.Proof[:], d.bytes("proof", identity.SignatureSize))
	h.Limits.Window = uint32(d.uvarint("window", 1<<32-1))
	h.Limits.MaxFrame = uint32(d.uvarint("max frame", 1<<32-1))
	h.Limits.MaxFeeds = uint32(d.uvarint("max feeds", 1<<32-1))
	n := d.uvarint("extension length", MaxHelloExt)
	if ext := d.bytes("extension", int(n)); len(ext) > 0 {
		h.Ext = append([]byte(nil), ext...)
	}
	return h
}

func (d *decoder) heads() *Heads {
	h := &Heads{Full: d.flag("flags")}
	n := d.uvarint("count", uint64(d.left()/noteMinSize))
	if d.err != nil {
		return h
	}
	h.Notes = make([]Note, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		var nt Note
		nt.Author = d.id("author")
		v := d.uvarint("seq", 1<<64-1)
		nt.Seq = v >> 1
		if v&1 == 1 {
			if nt.Seq == 0 && d.err == nil {
				d.fail("seq", ErrMalformed, "note %d: head ID with seq 0", i)
			}
			copy(nt.ID[:], d.bytes("head id", feed.IDSize))
			if nt.ID == (feed.ID{}) && d.err == nil {
				d.off -= feed.IDSize
				d.fail("head id", ErrNonCanonical, "note %d: zero head ID (omit it)", i)
			}
		}
		if d.err == nil && i > 0 && compareID(h.Notes[i-1].Author, nt.Author) >= 0 {
			d.fail("author", ErrNonCanonical, "note %d: authors not strictly ascending", i)
		}
		h.Notes = append(h.Notes, nt)
	}
	return h
}

func (d *decoder) want() *Want {
	w := &Want{Full: d.flag("flags")}
	if w.Full {
		w.Default = Mode(d.byte1("default mode"))
		if d.err == nil && w.Default > Eager {
			d.off--
			d.fail("default mode", ErrMalformed, "unknown mode %d", w.Default)
		}
	}
	n := d.uvarint("count", uint64(d.left()/(identity.IDSize+1)))
	if d.err != nil {
		return w
	}
	w.Feeds = make([]FeedMode, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		f := FeedMode{Author: d.id("author")}
		f.Mode = Mode(d.byte1("mode"))
		if d.err == nil && f.Mode > Eager {
			d.off--
			d.fail("mode", ErrMalformed, "unknown mode %d", f.Mode)
		}
		if d.err == nil && i > 0 && compareID(w.Feeds[i-1].Author, f.Author) >= 0 {
			d.fail("author", ErrNonCanonical, "feed %d: authors not strictly ascending", i)
		}
		w.Feeds = append(w.Feeds, f)
	}
	return w
}

func (d *decoder) entries() *Entries {
	e := &Entries{}
	n := d.uvarint("run count", uint64(d.left()/(1+minEntrySize)))
	if d.err != nil {
		return e
	}
	e.Runs = make([]Run, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.uvarint("entry count", uint64(d.left()/minEntrySize))
		if d.err != nil {
			break
		}
		if c == 0 {
			d.fail("entry count", ErrMalformed, "run %d is empty", i)
			break
		}
		start := d.off
		es := make([]feed.Entry, 0, c)
		for j := uint64(0); j < c; j++ {
			en, size, err := feed.DecodePrefix(d.b[d.off:])
			if err != nil {
				d.fail(fmt.Sprintf("run %d entry %d", i, j), ErrMalformed, "%v", err)
				break
			}
			if j > 0 && (en.Author != es[0].Author || en.Seq != es[j-1].Seq+1) {
				d.fail(fmt.Sprintf("run %d entry %d", i, j), ErrMalformed, "not the entry after %s", es[j-1].String())
				break
			}
			d.off += size
			es = append(es, en)
		}
		if d.err != nil {
			break
		}
		e.Runs = append(e.Runs, Run{Author: es[0].Author, First: es[0].Seq, Count: int(c),
			Raw: d.b[start:d.off:d.off], entries: es})
	}
	return e
}

// decodeRun decodes count consecutive entries from raw.
func decodeRun(raw []byte, count int) ([]feed.Entry, error) {
	b := append([]byte{byte(TypeEntries), 1}, binary.AppendUvarint(nil, uint64(count))...)
	m, err := DecodeMessage(append(b, raw...))
	if err != nil {
		return nil, err
	}
	return m.Body.(*Entries).Runs[0].entries, nil
}

func compareID(a, b identity.ID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
