package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// StreamKind is the first byte the opener writes on a stream: what the
// stream carries. Each kind is opened at most once per direction of a
// connection.
type StreamKind byte

// Stream kinds (docs/spec/transport-v1.md, "Streams").
const (
	// Control carries small messages that must not wait behind bulk data:
	// the replication handshake, heads, wants, acknowledgements.
	Control StreamKind = 0
	// Data carries bulk entries.
	Data StreamKind = 1

	numKinds = 2
)

func (k StreamKind) String() string {
	switch k {
	case Control:
		return "control"
	case Data:
		return "data"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Frame limits.
const (
	// FrameHeaderSize is the size of the length prefix of a frame.
	FrameHeaderSize = 4
	// DefaultMaxFrameSize is the default largest payload accepted.
	DefaultMaxFrameSize = 4 << 20
	// MaxFrameSizeLimit is the largest MaxFrameSize a Config may set.
	MaxFrameSizeLimit = 64 << 20
)

// AppendFrame appends payload as one frame (4-byte big-endian length, then
// the bytes) to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// FrameError reports a frame that could not be read, with the stream and
// the byte offset in it where the frame began.
type FrameError struct {
	Kind   StreamKind
	Offset int64 // stream offset of the frame's length prefix
	Err    error // ErrFrameTooLarge or ErrProtocol
	Detail string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("transport: %s stream: frame at byte %d: %v: %s", e.Kind, e.Offset, e.Err, e.Detail)
}

func (e *FrameError) Unwrap() error { return e.Err }

// firstChunk is the buffer first allocated for a frame's payload; it
// doubles as bytes arrive.
const firstChunk = 64 << 10

// frameReader reads frames from one stream.
type frameReader struct {
	r    *bufio.Reader
	kind StreamKind
	max  int
	off  int64 // bytes consumed so far, including the stream header
	hdr  [FrameHeaderSize]byte
}

func newFrameReader(r io.Reader, kind StreamKind, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), kind: kind, max: max, off: 1}
}

// next reads one frame. A clean end of stream between frames gives io.EOF;
// an end inside a frame gives a FrameError wrapping ErrProtocol; a length
// over max gives a FrameError wrapping ErrFrameTooLarge, before any of the
// payload is read or allocated.
func (f *frameReader) next() ([]byte, error) {
	start := f.off
	n, err := io.ReadFull(f.r, f.hdr[:])
	f.off += int64(n)
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FrameError{Kind: f.kind, Offset: start, Err: ErrProtocol, Detail: fmt.Sprintf("stream ends inside the length prefix (%d of 4 bytes)", n)}
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(f.hdr[:])
	if uint64(size) > uint64(f.max) {
		return nil, &FrameError{Kind: f.kind, Offset: start, Err: ErrFrameTooLarge, Detail: fmt.Sprintf("%d bytes declared, limit %d", size, f.max)}
	}
	// Grow the buffer as the payload arrives rather than trusting the
	// declared length: a peer that declares large frames and sends
	// nothing costs no memory.
	buf := make([]byte, 0, min(int(size), firstChunk))
	for len(buf) < int(size) {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, min(cap(buf), int(size)-cap(buf)))...)[:len(buf)]
		}
		// append may round the capacity up past the frame: read no further.
		n, err = io.ReadFull(f.r, buf[len(buf):min(cap(buf), int(size))])
		buf = buf[:len(buf)+n]
		f.off += int64(n)
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &FrameError{Kind: f.kind, Offset: start, Err: ErrProtocol, Detail: fmt.Sprintf("stream ends inside the frame (%d of %d bytes)", len(buf), size)}
			}
			return nil, err
		}
	}
	return buf, nil
}
