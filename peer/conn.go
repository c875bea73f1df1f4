package peer

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
	"github.com/sbfeed/sbfeed/transport"
)

// pconn is one connection and its session. Fields without a lock belong to
// the owner goroutine.
type pconn struct {
	p    *Peer
	c    *transport.Conn
	sess *replicate.Session
	log  *slog.Logger
	out  [2]*outQueue

	dead     bool
	failing  bool      // fail is closing it
	accepted int       // remote streams accepted
	eofs     int       // remote streams ended cleanly
	early    []inbound // data frames that arrived before the handshake
}

// send encodes one message as a frame and queues it: Entries on the data
// stream, everything else on the control stream, so bulk entries never
// hold back handshakes and acknowledgements.
func (pc *pconn) send(b replicate.Body) {
	size := replicate.EncodedSize(b)
	frame := make([]byte, transport.FrameHeaderSize, transport.FrameHeaderSize+size)
	frame = replicate.EncodeMessage(frame, b)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-transport.FrameHeaderSize))
	kind := transport.Control
	if b.Type() == replicate.TypeEntries {
		kind = transport.Data
	}
	if !pc.out[kind].push(frame) {
		pc.log.Warn("peer: remote reads too slowly, dropping it", "queued", pc.p.cfg.MaxQueue)
		pc.sess.Close()
		pc.closeAfterFlush(transport.CodeLimit, "send queue overflow: reading too slowly")
		pc.p.forget(pc)
	}
}

// closeAfterFlush lets both writers send what is queued, then closes the
// connection: gracefully for CodeShutdown, else with code and reason.
func (pc *pconn) closeAfterFlush(code transport.Code, reason string) {
	pc.out[transport.Data].finish(nil)
	pc.out[transport.Control].finish(&closeReq{code: code, reason: reason, data: pc.out[transport.Data]})
}

type closeReq struct {
	code   transport.Code
	reason string
	data   *outQueue // finished first
}

// acceptStreams accepts the remote's (at most two) streams and starts a
// reader for each.
func (pc *pconn) acceptStreams() {
	defer pc.p.wg.Done()
	for range 2 {
		r, err := pc.c.AcceptStream(pc.p.ctx)
		if err != nil {
			if pc.c.Err() != nil {
				err = pc.c.Err()
			}
			pc.deliver(inbound{pc: pc, err: err})
			return
		}
		if !pc.deliver(inbound{pc: pc, accepted: true}) {
			return
		}
		pc.p.wg.Add(1)
		go pc.read(r)
	}
}

// read decodes frames from one stream and hands the messages to the owner
// goroutine (decoding here spreads it over the cores). When the owner
// is slow, deliver blocks, the stream is not read, and QUIC flow control
// stops the remote: that is the backpressure.
func (pc *pconn) read(r *transport.RecvStream) {
	defer pc.p.wg.Done()
	for {
		b, err := r.Recv()
		if err != nil {
			if e := pc.c.Err(); e != nil {
				err = e
			}
			pc.deliver(inbound{pc: pc, kind: r.Kind(), err: err})
			return
		}
		in := inbound{pc: pc, kind: r.Kind(), size: len(b)}
		in.msg, in.bad = replicate.DecodeMessage(b)
		if !pc.deliver(in) {
			return
		}
	}
}

func (pc *pconn) deliver(in inbound) bool {
	select {
	case pc.p.inbound <- in:
		return true
	case <-pc.p.done:
		return false
	}
}

// outQueue is one stream's send queue and its writer goroutine. It is
// bounded in bytes (Config.MaxQueue for both queues of a connection
// together); the writer blocks under QUIC flow control, never the owner.
type outQueue struct {
	pc   *pconn
	kind transport.StreamKind

	mu     sync.Mutex
	frames [][]byte
	bytes  int
	fin    bool
	close  *closeReq
	wake   chan struct{}
	done   chan struct{} // closed when the writer has exited
}

func newOutQueue(pc *pconn, kind transport.StreamKind) *outQueue {
	return &outQueue{pc: pc, kind: kind, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (q *outQueue) push(frame []byte) bool {
	q.mu.Lock()
	if q.fin {
		q.mu.Unlock()
		return true // the connection is going; drop silently
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	over := q.bytes > q.pc.p.cfg.MaxQueue/2
	q.mu.Unlock()
	q.signal()
	return !over
}

func (q *outQueue) finish(c *closeReq) {
	q.mu.Lock()
	if !q.fin {
		q.fin, q.close = true, c
	}
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run writes queued frames, batching what has accumulated into one write.
func (q *outQueue) run() {
	defer q.pc.p.wg.Done()
	defer close(q.done)
	var s *transport.SendStream
	var failed bool
	var buf []byte
	for {
		<-q.wake
		for {
			q.mu.Lock()
			frames, fin, cr := q.frames, q.fin, q.close
			q.frames, q.bytes = nil, 0
			q.mu.Unlock()
			if len(frames) == 0 {
				if fin {
					q.closeStream(s, cr, failed)
					return
				}
				break
			}
			if failed {
				continue
			}
			if s == nil {
				var err error
				if s, err = q.pc.c.OpenStream(q.pc.p.ctx, q.kind); err != nil {
					failed = true
					continue
				}
			}
			// Coalesce small frames into one write; large ones go alone.
			buf = buf[:0]
			for _, f := range frames {
				if len(buf) > 0 && len(buf)+len(f) > 1<<20 {
					if s.SendRaw(buf) != nil {
						failed = true
						break
					}
					buf = buf[:0]
				}
				buf = append(buf, f...)
			}
			if !failed && len(buf) > 0 && s.SendRaw(buf) != nil {
				failed = true
			}
			if cap(buf) > 4<<20 {
				buf = nil
			}
		}
	}
}

// closeStream finishes the stream; the control queue's writer then closes
// the connection, after the data writer is done.
func (q *outQueue) closeStream(s *transport.SendStream, cr *closeReq, failed bool) {
	if s != nil && !failed {
		s.Close()
	}
	if cr == nil {
		return
	}
	<-cr.data.done
	if cr.code == transport.CodeShutdown {
		q.pc.c.Close(nil)
	} else {
		q.pc.c.CloseWithCode(cr.code, cr.reason)
	}
}

// storage is replicate.Storage over the Pebble store: Range serves stored
// bytes as they are, with no decoding.
type storage struct{ db *store.DB }

func (s storage) Heads() (map[identity.ID]feed.Head, error) {
	hs, err := s.db.Heads()
	if err != nil {
		return nil, err
	}
	m := make(map[identity.ID]feed.Head, len(hs))
	for _, h := range hs {
		m[h.Author] = h.Head
	}
	return m, nil
}

func (s storage) Range(author identity.ID, from, to uint64, maxBytes int) ([]byte, error) {
	out := make([]byte, 0, min(max(maxBytes, 4<<10), 1<<20))
	for raw, err := range s.db.RangeRaw(author, from, to) {
		if err != nil {
			return nil, fmt.Errorf("peer: range %s:%d..%d: %w", author.Short(), from, to, err)
		}
		if len(out) > 0 && len(out)+len(raw) > maxBytes {
			break
		}
		out = append(out, raw...)
	}
	return out, nil
}

func (s storage) Forks() ([]feed.ForkProof, error) {
	ps, err := s.db.Forks()
	if err != nil {
		return nil, err
	}
	seen := make(map[identity.ID]bool)
	out := ps[:0]
	for _, p := range ps {
		if !seen[p.Author()] {
			seen[p.Author()] = true
			out = append(out, p)
		}
	}
	return out, nil
}
