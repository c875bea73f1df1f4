package bundle

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Format constants (docs/spec/bundle-v1.md).
const (
	// Magic begins every bundle.
	Magic = "sbfeed/bundle\x00"
	// Version is the format version this package writes and reads.
	Version = 1
	// HeaderSize is the size of the header: magic, version, network
	// fingerprint.
	HeaderSize = len(Magic) + 1 + 32
	// recordOverhead is kind(1) + length(4) + crc(4).
	recordOverhead = 9
	// endPayloadSize is the end record's payload: entries(8) forks(8).
	endPayloadSize = 16
)

// Kind is the type of a record.
type Kind uint8

// Record kinds.
const (
	KindEnd   Kind = 0 // last record: counts of the records before it
	KindEntry Kind = 1 // one entry's canonical encoding
	KindFork  Kind = 2 // one fork proof's canonical encoding
)

func (k Kind) String() string {
	switch k {
	case KindEnd:
		return "end"
	case KindEntry:
		return "entry"
	case KindFork:
		return "fork proof"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Errors callers branch on with errors.Is. Every error about the bytes of
// a bundle is a *Error that wraps one of them.
var (
	ErrNotBundle = errors.New("bundle: not an sbfeed bundle")
	ErrVersion   = errors.New("bundle: unsupported bundle version")
	ErrNetwork   = errors.New("bundle: bundle of another network")
	ErrTruncated = errors.New("bundle: truncated")
	ErrChecksum  = errors.New("bundle: checksum mismatch (damaged)")
	ErrMalformed = errors.New("bundle: malformed")
)

// Error locates a problem in a bundle: the byte offset of the record (or
// header field) and the record's index, counting from 0, with the entry's
// author and seq when they could be read.
type Error struct {
	Offset int64 // byte offset where the damaged record or field starts
	Record int   // index of the record, -1 for the header
	Kind   Kind  // kind of the record, when known
	Author identity.ID
	Seq    uint64 // 0 when the entry could not be read
	Err    error  // a sentinel above, or a feed error
	Detail string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("bundle: byte %d", e.Offset)
	if e.Record >= 0 {
		s += fmt.Sprintf(", record %d", e.Record)
		if e.Seq != 0 {
			s += fmt.Sprintf(" (entry %s seq %d)", e.Author.Short(), e.Seq)
		}
	} else {
		s += ", header"
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NetworkFingerprint is what a bundle records of its network: a hash, so a
// bundle never reveals the network key that admits peers.
func NetworkFingerprint(n identity.Network) [32]byte {
	return sha256.Sum256(append([]byte("sbfeed/bundle/network\x00"), n[:]...))
}

// AppendHeader appends a bundle header for network to dst.
func AppendHeader(dst []byte, network identity.Network) []byte {
	fp := NetworkFingerprint(network)
	dst = append(dst, Magic...)
	dst = append(dst, Version)
	return append(dst, fp[:]...)
}

// AppendRecord appends one record to dst.
func AppendRecord(dst []byte, kind Kind, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, byte(kind))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// Writer writes a bundle to an io.Writer. Call Close to write the end
// record; a bundle without it reads as truncated.
type Writer struct {
	w       *bufio.Writer
	buf     []byte
	entries uint64
	forks   uint64
	err     error
}

// NewWriter writes the header for network and returns a Writer.
func NewWriter(w io.Writer, network identity.Network) (*Writer, error) {
	bw := &Writer{w: bufio.NewWriterSize(w, 256<<10)}
	if _, err := bw.w.Write(AppendHeader(nil, network)); err != nil {
		return nil, fmt.Errorf("bundle: write header: %w", err)
	}
	return bw, nil
}

func (w *Writer) record(kind Kind, payload []byte) error {
	if w.err != nil {
		return w.err
	}
	w.buf = AppendRecord(w.buf[:0], kind, payload)
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("bundle: write: %w", err)
	}
	return w.err
}

// WriteEntry writes one entry.
func (w *Writer) WriteEntry(e *feed.Entry) error {
	if err := w.record(KindEntry, e.Encode()); err != nil {
		return err
	}
	w.entries++
	return nil
}

// WriteRaw writes one entry given in its canonical encoding, as a store
// returns it. The bytes are not checked here; readers verify everything.
func (w *Writer) WriteRaw(raw []byte) error {
	if err := w.record(KindEntry, raw); err != nil {
		return err
	}
	w.entries++
	return nil
}

// WriteForkProof writes one fork proof.
func (w *Writer) WriteForkProof(p *feed.ForkProof) error {
	if err := w.record(KindFork, p.Encode()); err != nil {
		return err
	}
	w.forks++
	return nil
}

// Entries returns the number of entries written so far.
func (w *Writer) Entries() uint64 { return w.entries }

// Close writes the end record and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	var p [endPayloadSize]byte
	binary.BigEndian.PutUint64(p[:], w.entries)
	binary.BigEndian.PutUint64(p[8:], w.forks)
	if err := w.record(KindEnd, p[:]); err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("bundle: write: %w", err)
	}
	return nil
}

// Record is one record read from a bundle.
type Record struct {
	Kind   Kind
	Offset int64 // byte offset of the record in the bundle
	Index  int   // index of the record, from 0
	// Raw is the payload: an entry's or a fork proof's encoding. It is only
	// valid until the next call to Next.
	Raw   []byte
	Entry feed.Entry     // for KindEntry
	Proof feed.ForkProof // for KindFork
}

// Reader reads a bundle record by record. It decodes every record and
// checks its CRC, but verifies no signature: that is the importer's job.
type Reader struct {
	r       *bufio.Reader
	off     int64
	index   int
	network [32]byte
	entries uint64
	forks   uint64
	done    bool
	err     error
	buf     []byte
}

// NewReader reads and checks the header. If network is non-nil, a bundle of
// another network is refused with ErrNetwork.
func NewReader(r io.Reader, network *identity.Network) (*Reader, error) {
	br := &Reader{r: bufio.NewReaderSize(r, 256<<10)}
	h := make([]byte, HeaderSize)
	n, err := io.ReadFull(br.r, h)
	if n == 0 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("bundle: read header: %w", err)
		}
		return nil, &Error{Offset: 0, Record: -1, Err: ErrNotBundle, Detail: "empty file"}
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("bundle: read header: %w", err)
	}
	if err := checkHeader(h[:n], network); err != nil {
		return nil, err
	}
	copy(br.network[:], h[len(Magic)+1:])
	br.off = int64(HeaderSize)
	return br, nil
}

func checkHeader(h []byte, network *identity.Network) error {
	if m := min(len(h), len(Magic)); string(h[:m]) != Magic[:m] {
		return &Error{Offset: 0, Record: -1, Err: ErrNotBundle, Detail: "bad magic"}
	}
	if len(h) < HeaderSize {
		return &Error{Offset: int64(len(h)), Record: -1, Err: ErrTruncated, Detail: "header"}
	}
	if v := h[len(Magic)]; v != Version {
		return &Error{Offset: int64(len(Magic)), Record: -1, Err: ErrVersion, Detail: fmt.Sprintf("version %d, this build reads %d", v, Version)}
	}
	if network != nil {
		fp := NetworkFingerprint(*network)
		if string(h[len(Magic)+1:HeaderSize]) != string(fp[:]) {
			return &Error{Offset: int64(len(Magic) + 1), Record: -1, Err: ErrNetwork, Detail: "not " + network.Short()}
		}
	}
	return nil
}

// Network returns the bundle's network fingerprint.
func (r *Reader) Network() [32]byte { return r.network }

// Offset returns the byte offset of the next record.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next record. It returns io.EOF after the end record,
// and a *Error (sticky) for a truncated or damaged bundle.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		// Nothing may follow the end record.
		if _, err := r.r.ReadByte(); err == nil {
			r.err = &Error{Offset: r.off, Record: r.index, Err: ErrMalformed, Detail: "bytes after the end record"}
			return nil, r.err
		}
		return nil, io.EOF
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return rec, nil
}

func (r *Reader) fail(kind Kind, sentinel error, format string, args ...any) error {
	return &Error{Offset: r.off, Record: r.index, Kind: kind, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

func (r *Reader) next() (*Record, error) {
	var hdr [5]byte
	n, err := io.ReadFull(r.r, hdr[:])
	if err != nil {
		if n == 0 {
			return nil, r.fail(0, ErrTruncated, "no end record after %d entries", r.entries)
		}
		return nil, r.fail(0, ErrTruncated, "record header cut after %d bytes", n)
	}
	kind := Kind(hdr[0])
	size := binary.BigEndian.Uint32(hdr[1:])
	var limit int
	switch kind {
	case KindEntry:
		limit = feed.MaxEntrySize
	case KindFork:
		limit = feed.MaxForkProofSize
	case KindEnd:
		limit = endPayloadSize
	default:
		return nil, r.fail(kind, ErrMalformed, "unknown record kind %d", hdr[0])
	}
	if int64(size) > int64(limit) {
		return nil, r.fail(kind, ErrMalformed, "%s record of %d bytes, limit %d", kind, size, limit)
	}
	need := 5 + int(size) + 4
	if cap(r.buf) < need {
		r.buf = make([]byte, need)
	}
	buf := r.buf[:need]
	copy(buf, hdr[:])
	if n, err := io.ReadFull(r.r, buf[5:]); err != nil {
		rec := &Record{Kind: kind}
		if kind == KindEntry {
			rec.Entry, _ = peekEntry(buf[5 : 5+n])
		}
		e := r.fail(kind, ErrTruncated, "%s record of %d bytes cut after %d", kind, need, 5+n).(*Error)
		e.Author, e.Seq = rec.Entry.Author, rec.Entry.Seq
		return nil, e
	}
	payload := buf[5 : 5+size]
	want := binary.BigEndian.Uint32(buf[5+size:])
	if got := crc32.Checksum(buf[:5+size], castagnoli); got != want {
		e := r.fail(kind, ErrChecksum, "crc %08x, record says %08x", got, want).(*Error)
		if kind == KindEntry {
			pe, _ := peekEntry(payload)
			e.Author, e.Seq = pe.Author, pe.Seq
		}
		return nil, e
	}
	rec := &Record{Kind: kind, Offset: r.off, Index: r.index, Raw: payload}
	switch kind {
	case KindEntry:
		e, err := feed.Decode(payload)
		if err != nil {
			be := r.fail(kind, ErrMalformed, "entry: %v", err).(*Error)
			pe, _ := peekEntry(payload)
			be.Author, be.Seq = pe.Author, pe.Seq
			be.Err = fmt.Errorf("%w: %w", ErrMalformed, err)
			be.Detail = ""
			return nil, be
		}
		rec.Entry = e
		r.entries++
	case KindFork:
		p, err := feed.DecodeForkProof(payload)
		if err != nil {
			be := r.fail(kind, ErrMalformed, "").(*Error)
			be.Err = fmt.Errorf("%w: fork proof: %w", ErrMalformed, err)
			return nil, be
		}
		rec.Proof = p
		r.forks++
	case KindEnd:
		if size != endPayloadSize {
			return nil, r.fail(kind, ErrMalformed, "end record of %d bytes", size)
		}
		ne := binary.BigEndian.Uint64(payload)
		nf := binary.BigEndian.Uint64(payload[8:])
		if ne != r.entries || nf != r.forks {
			return nil, r.fail(kind, ErrMalformed, "end record counts %d entries and %d fork proofs, bundle has %d and %d", ne, nf, r.entries, r.forks)
		}
		r.done = true
	}
	r.off += int64(need)
	r.index++
	return rec, nil
}

// peekEntry reads author and seq from the front of a damaged entry, for
// error messages only.
func peekEntry(b []byte) (feed.Entry, bool) {
	var e feed.Entry
	if len(b) < 42 {
		return e, false
	}
	copy(e.Author[:], b[2:34])
	e.Seq = binary.BigEndian.Uint64(b[34:42])
	return e, true
}

// Decode reads a whole bundle held in memory and returns its records (the
// end record excluded). It is what the fuzzer checks: for every b that
// Decode accepts, Encode of the result returns b exactly.
func Decode(b []byte, network *identity.Network) (fp [32]byte, recs []Record, err error) {
	r, err := NewReader(byteReader(b), network)
	if err != nil {
		return fp, nil, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.network, recs, nil
		}
		if err != nil {
			return r.network, recs, err
		}
		if rec.Kind == KindEnd {
			continue
		}
		c := *rec
		c.Raw = append([]byte(nil), rec.Raw...)
		recs = append(recs, c)
	}
}

// Encode writes records into a bundle with the given network fingerprint.
func Encode(fp [32]byte, recs []Record) []byte {
	out := append([]byte(Magic), Version)
	out = append(out, fp[:]...)
	var ne, nf uint64
	for i := range recs {
		out = AppendRecord(out, recs[i].Kind, recs[i].Raw)
		switch recs[i].Kind {
		case KindEntry:
			ne++
		case KindFork:
			nf++
		}
	}
	var p [endPayloadSize]byte
	binary.BigEndian.PutUint64(p[:], ne)
	binary.BigEndian.PutUint64(p[8:], nf)
	return AppendRecord(out, KindEnd, p[:])
}

type sliceReader struct {
	b []byte
}

func byteReader(b []byte) *sliceReader { return &sliceReader{b} }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
