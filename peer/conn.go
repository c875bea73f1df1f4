package peer

import (
	"fmt"
	"sync"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
)

// pconn is one connection and its session. Fields without a lock belong to
// the owner goroutine, except those the redial loop reads once ended is
// closed.
type pconn struct {
	p    *Peer
	c    Conn
	sess *replicate.Session
	out  [2]*outQueue // by Class

	dead    bool
	dialled bool      // this peer dialled it (set before open)
	failing bool      // fail, or open for a crossed dial, is closing it
	early   []inbound // data frames that arrived before the handshake

	ended  chan struct{} // closed by the owner when it forgets the connection
	opened bool          // the session completed its handshake (set before ended)
	endErr error         // why it ended (set before ended)
	closed chan struct{} // closed once the connection is closed
}

func newPconn(p *Peer, c Conn) *pconn {
	pc := &pconn{p: p, c: c, ended: make(chan struct{}), closed: make(chan struct{})}
	pc.out[Control] = newOutQueue(pc, Control)
	pc.out[Bulk] = newOutQueue(pc, Bulk)
	return pc
}

// send encodes one message as a frame and queues it: Entries as Bulk,
// everything else as Control, so bulk entries never hold back handshakes
// and acknowledgements.
func (pc *pconn) send(b replicate.Body) {
	frame := replicate.EncodeMessage(make([]byte, 0, replicate.EncodedSize(b)), b)
	class := Control
	if b.Type() == replicate.TypeEntries {
		class = Bulk
	}
	if !pc.out[class].push(frame) {
		err := &replicate.PeerError{Peer: pc.c.Peer(), Err: replicate.ErrLimit,
			Detail: fmt.Sprintf("send queue over %d bytes: the remote reads too slowly", pc.p.cfg.MaxQueue)}
		pc.p.log.Warn("peer dropped", "peer", pc.c.Peer().Short(), "err", err)
		pc.sess.Close()
		pc.closeAfterFlush(err)
		pc.p.forget(pc, err)
	}
}

// closeAfterFlush lets both writers send what is queued, then closes the
// connection: gracefully for err == nil, else at once with err.
func (pc *pconn) closeAfterFlush(err error) {
	pc.out[Bulk].finish(nil)
	pc.out[Control].finish(&closeReq{err: err, bulk: pc.out[Bulk]})
}

type closeReq struct {
	err  error
	bulk *outQueue // finished first
}

// read decodes frames and hands the messages to the owner goroutine
// (decoding here spreads it over the cores). When the owner is slow,
// deliver blocks, the connection is not read, and the transport's flow
// control stops the remote: that is the backpressure.
func (pc *pconn) read() {
	defer pc.p.wg.Done()
	for {
		b, err := pc.c.Recv()
		if err != nil {
			pc.deliver(inbound{pc: pc, err: err})
			return
		}
		in := inbound{pc: pc, size: len(b)}
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

// outQueue is one class's send queue and its writer goroutine. It is
// bounded in bytes (Config.MaxQueue for both queues of a connection
// together); the writer blocks under flow control, never the owner.
type outQueue struct {
	pc    *pconn
	class Class

	mu     sync.Mutex
	frames [][]byte
	bytes  int
	fin    bool
	close  *closeReq
	wake   chan struct{}
	done   chan struct{} // closed when the writer has exited
}

func newOutQueue(pc *pconn, class Class) *outQueue {
	return &outQueue{pc: pc, class: class, wake: make(chan struct{}, 1), done: make(chan struct{})}
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

// run writes queued frames, handing the transport everything that has
// accumulated at once (it coalesces them into few writes).
func (q *outQueue) run() {
	defer q.pc.p.wg.Done()
	defer close(q.done)
	var failed bool
	for {
		<-q.wake
		for {
			q.mu.Lock()
			frames, fin, cr := q.frames, q.fin, q.close
			q.frames, q.bytes = nil, 0
			q.mu.Unlock()
			if len(frames) == 0 {
				if fin {
					q.closeConn(cr)
					return
				}
				break
			}
			if !failed && q.pc.c.Send(q.class, frames...) != nil {
				failed = true
			}
		}
	}
}

// closeConn closes the connection from the control writer, once the bulk
// writer is done.
func (q *outQueue) closeConn(cr *closeReq) {
	if cr == nil {
		return
	}
	<-cr.bulk.done
	q.pc.c.Close(cr.err)
	close(q.pc.closed)
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
