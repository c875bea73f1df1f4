package sbfeed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
)

// replicator drives the node's replication sessions. Everything but the
// per-connection reader and writer goroutines runs on the node's owner
// goroutine: sessions and their hub are not safe for concurrent use, and
// the order "persist, then send, then advance" is kept by doing all three
// in one place (replicate's Ready contract).
type replicator[S, A any] struct {
	n       *Node[S, A]
	hub     *replicate.Hub
	storage storageAdapter
	inbound chan inbound
	conns   map[*peerConn]struct{}

	mu       sync.Mutex // guards ep and closed
	ep       Endpoint
	closed   bool
	wg       sync.WaitGroup // reader, writer, accept and dial goroutines
	flushing sync.WaitGroup // connections closing after a flush

	progress progress

	// The fold horizon (merge.View.SetHorizon) during a bulk sync: owned
	// by the owner goroutine.
	horizon uint64
	fh      foldHorizon
}

// inbound is one frame from one connection, or its end (err != nil).
type inbound struct {
	pc    *peerConn
	frame []byte
	err   error
}

// peerConn is one connection and its session.
type peerConn struct {
	conn   Conn
	sess   *replicate.Session
	out    *frameQueue
	closed bool
	ended  chan struct{} // closed when the connection is over
	opened time.Time
}

// progress counts entries received for the periodic sync log line.
type progress struct {
	start, last time.Time
	entries     int
	total       int
}

func newReplicator[S, A any](n *Node[S, A]) *replicator[S, A] {
	return &replicator[S, A]{n: n, hub: replicate.NewHub(), storage: storageAdapter{n.db},
		inbound: make(chan inbound, 256), conns: map[*peerConn]struct{}{}, horizon: merge.NoHorizon}
}

// storageAdapter is replicate.Storage over the Pebble store.
type storageAdapter struct{ db *store.DB }

func (s storageAdapter) Heads() (map[identity.ID]feed.Head, error) {
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

func (s storageAdapter) Range(author identity.ID, from, to uint64, maxBytes int) ([]byte, error) {
	var out []byte
	for raw, err := range s.db.RangeRaw(author, from, to) {
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && len(out)+len(raw) > maxBytes {
			break
		}
		out = append(out, raw...)
	}
	return out, nil
}

func (s storageAdapter) Forks() ([]feed.ForkProof, error) {
	ps, err := s.db.Forks()
	if err != nil {
		return nil, err
	}
	// At most one per author, as replicate.Storage asks.
	seen := map[identity.ID]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p.Author()] {
			seen[p.Author()] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// endpoint returns the node's endpoint, opening a dial-only one if Listen
// was not called.
func (r *replicator[S, A]) endpoint(addr string, listen bool) (Endpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.ep != nil {
		if listen {
			return nil, errors.New("sbfeed: Listen must be called once, before Connect")
		}
		return r.ep, nil
	}
	tr := r.n.opts.Transport
	if tr == nil {
		tr = &QUIC{Logger: r.n.opts.Logger}
	}
	ep, err := tr.Open(r.n.key, addr)
	if err != nil {
		return nil, err
	}
	r.ep = ep
	return ep, nil
}

// accept runs on its own goroutine: it hands accepted connections to the
// owner until the endpoint closes.
func (r *replicator[S, A]) accept(ep Endpoint) {
	defer r.wg.Done()
	for {
		c, err := ep.Accept(context.Background())
		if err != nil {
			return
		}
		if _, err := r.attach(c); err != nil {
			c.Close(err)
		}
	}
}

// attach registers a connection with the owner goroutine and starts its
// reader and writer. It returns a channel closed when the connection ends.
func (r *replicator[S, A]) attach(c Conn) (<-chan struct{}, error) {
	pc := &peerConn{conn: c, out: newFrameQueue(), ended: make(chan struct{}), opened: time.Now()}
	var err error
	derr := r.n.do(context.Background(), func() {
		pc.sess, err = replicate.New(replicate.Config{
			Self: r.n.key.ID(), Key: r.n.key, Network: r.n.opts.Network,
			Remote: c.Peer(), Binding: c.Binding(), Storage: r.storage, Hub: r.hub,
			// A larger window than the default means bigger Readies, so
			// fewer synced store batches during a bulk sync.
			Limits: replicate.Limits{Window: 4096},
			Log: func(format string, args ...any) {
				r.n.opts.Logger.Debug(fmt.Sprintf(format, args...), "peer", c.Peer().Short())
			},
		})
		if err != nil {
			return
		}
		r.conns[pc] = struct{}{}
		r.wg.Add(2)
		go r.read(pc)
		go r.write(pc)
		r.process()
	})
	if derr != nil {
		return nil, derr
	}
	return pc.ended, err
}

// read forwards frames to the owner goroutine.
func (r *replicator[S, A]) read(pc *peerConn) {
	defer r.wg.Done()
	for {
		f, err := pc.conn.Recv()
		select {
		case r.inbound <- inbound{pc: pc, frame: f, err: err}:
		case <-r.n.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// write sends queued frames; Send may block under flow control, which is
// why it is not done on the owner goroutine.
func (r *replicator[S, A]) write(pc *peerConn) {
	defer r.wg.Done()
	for {
		f, ok := pc.out.pop()
		if !ok {
			return
		}
		if err := pc.conn.Send(f); err != nil {
			pc.conn.Close(err)
			pc.out.fail()
			return
		}
	}
}

// step handles one inbound frame on the owner goroutine.
func (r *replicator[S, A]) step(in inbound) {
	pc := in.pc
	if pc.closed {
		return
	}
	if in.err != nil {
		r.drop(pc, in.err)
		r.process()
		return
	}
	m, err := replicate.DecodeMessage(in.frame)
	if err == nil {
		m.From, m.To = pc.conn.Peer(), r.n.key.ID()
		err = pc.sess.Step(m)
	}
	if err != nil {
		r.n.opts.Logger.Warn("peer refused", "peer", pc.conn.Peer().Short(), "err", err)
	}
	r.process()
}

func (r *replicator[S, A]) tick() {
	for pc := range r.conns {
		pc.sess.Tick()
	}
	r.process()
	r.logProgress(false)
	r.fh.tick()
	r.setHorizon()
}

// setHorizon tells the folder how far the merge order is settled (see
// foldHorizon).
func (r *replicator[S, A]) setHorizon() {
	if r.n.view == nil {
		return
	}
	h := r.fh.value(r.hub.Behind, r.hub.Head)
	if h != r.horizon {
		r.horizon = h
		r.n.folder.push(foldItem{horizon: &h})
	}
}

// notify tells every session about entries stored by the node itself.
func (r *replicator[S, A]) notify(entries []feed.Entry, local bool) {
	if local {
		r.hub.Notify(entries...)
		r.process()
	}
}

// process handles every session's Ready until none has work: persist, then
// send, then events, then Advance, one Ready at a time (replicate's hub
// contract).
func (r *replicator[S, A]) process() {
	for more := true; more; {
		more = false
		for pc := range r.conns {
			if pc.closed || !pc.sess.HasReady() {
				continue
			}
			more = true
			r.handle(pc, pc.sess.Ready())
		}
	}
}

func (r *replicator[S, A]) handle(pc *peerConn, rd replicate.Ready) {
	n := r.n
	for _, p := range rd.ForkProofs {
		r.storeFork(p)
	}
	if len(rd.Entries) > 0 {
		res, err := n.db.Append(rd.Entries...)
		var fe *feed.ForkError
		switch {
		case errors.As(err, &fe):
			for _, p := range res.Forks {
				n.forkFound(p)
			}
		case err != nil:
			// Nothing of the batch is stored: do not acknowledge it.
			n.opts.Logger.Error("store", "peer", pc.conn.Peer().Short(), "err", err)
			r.drop(pc, err)
			return
		}
		n.stored(rd.Entries, false)
		r.progress.entries += res.New
		r.progress.total += res.New
		if r.fh.add(res.New) {
			// A bulk sync starts: hold the fold back at once.
			r.setHorizon()
		}
	}
	for _, m := range rd.Messages {
		pc.out.push(replicate.EncodeMessage(nil, m.Body))
	}
	for _, ev := range rd.Events {
		r.event(pc, ev)
	}
	pc.sess.Advance(rd)
	if pc.sess.Closed() {
		r.drop(pc, pc.sess.Err())
	}
}

// storeFork persists a fork proof learned from a peer and applies the fork
// rule to the view.
func (r *replicator[S, A]) storeFork(p feed.ForkProof) {
	if err := r.n.db.AddForkProof(p); err != nil {
		r.n.opts.Logger.Warn("fork proof not stored", "author", p.Author().Short(), "err", err)
		return
	}
	r.n.forkFound(p)
}

func (r *replicator[S, A]) event(pc *peerConn, ev replicate.Event) {
	log := r.n.opts.Logger
	switch ev.Kind {
	case replicate.EventOpen:
		log.Info("peer connected", "peer", ev.Peer.Short(), "version", ev.Version)
	case replicate.EventSynced:
		log.Info("synced", "peer", ev.Peer.Short(), "feeds", len(r.hub.Heads()), "entries", r.heldEntries())
	case replicate.EventFork:
		log.Warn("fork proven", "peer", ev.Peer.Short(), "feed", ev.Feed.Short(), "seq", ev.Seq)
	case replicate.EventClosed:
		if ev.Err != nil && !errors.Is(ev.Err, replicate.ErrRemoteClosed) {
			log.Warn("peer dropped", "peer", ev.Peer.Short(), "err", ev.Err)
		}
	}
}

// heldEntries is the number of entries the node holds, from the hub.
func (r *replicator[S, A]) heldEntries() uint64 {
	var t uint64
	for _, h := range r.hub.Heads() {
		t += h.Seq
	}
	return t
}

// logProgress logs the sync rate once a second while entries arrive.
func (r *replicator[S, A]) logProgress(force bool) {
	now := r.n.opts.Now()
	if r.progress.entries == 0 {
		r.progress.start = time.Time{}
		return
	}
	if r.progress.start.IsZero() {
		r.progress.start, r.progress.last = now, now
		return
	}
	if el := now.Sub(r.progress.last); force || el >= time.Second {
		r.n.opts.Logger.Info("sync progress", "new_entries", r.progress.entries,
			"rate", fmt.Sprintf("%.0f/s", float64(r.progress.entries)/el.Seconds()),
			"feeds", len(r.hub.Heads()), "held", r.heldEntries(), "peers", len(r.conns))
		r.progress.entries = 0
		r.progress.last = now
	}
}

// drop ends a connection on the owner goroutine.
func (r *replicator[S, A]) drop(pc *peerConn, err error) {
	if pc.closed {
		return
	}
	pc.closed = true
	// Flush what the session still has to say (a Goodbye) before closing.
	if pc.sess.HasReady() {
		rd := pc.sess.Ready()
		for _, m := range rd.Messages {
			pc.out.push(replicate.EncodeMessage(nil, m.Body))
		}
	}
	pc.sess.Close()
	delete(r.conns, pc)
	pc.out.close()
	r.flushing.Add(1)
	go func() {
		defer r.flushing.Done()
		// The writer drains the queue first (a Goodbye, acknowledgements),
		// then the connection closes; a peer that stopped reading gets
		// FlushTimeout.
		flushed := make(chan struct{})
		go func() { pc.out.wait(); close(flushed) }()
		select {
		case <-flushed:
		case <-time.After(flushTimeout):
		}
		pc.conn.Close(err)
		pc.out.fail()
	}()
	close(pc.ended)
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, replicate.ErrRemoteClosed) {
		r.n.opts.Logger.Info("peer disconnected", "peer", pc.conn.Peer().Short(), "reason", err)
	} else {
		r.n.opts.Logger.Info("peer disconnected", "peer", pc.conn.Peer().Short())
	}
}

// flushTimeout bounds how long a closing connection may take to send what
// was queued for it.
const flushTimeout = 2 * time.Second

// shutdown drops every connection (owner goroutine).
func (r *replicator[S, A]) shutdown() {
	r.logProgress(true)
	for pc := range r.conns {
		r.drop(pc, nil)
	}
}

// wait closes the endpoint and waits for the connection goroutines, after
// the owner goroutine has exited.
func (r *replicator[S, A]) wait() {
	r.mu.Lock()
	ep := r.ep
	r.closed = true
	r.mu.Unlock()
	// Connections flush (bounded by flushTimeout) before the endpoint goes.
	r.flushing.Wait()
	if ep != nil {
		ep.Close()
	}
	r.wg.Wait()
}

// frameQueue is an unbounded FIFO of frames between the owner and a
// writer. The owner never blocks on it; the sessions' windows bound how
// much it can hold.
type frameQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	q      [][]byte
	closed bool
	busy   bool
}

func newFrameQueue() *frameQueue {
	q := &frameQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *frameQueue) push(f []byte) {
	q.mu.Lock()
	if !q.closed {
		q.q = append(q.q, f)
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

// pop waits for a frame; ok is false once the queue is closed and empty.
func (q *frameQueue) pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy = false
	q.cond.Broadcast()
	for len(q.q) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.q) == 0 {
		return nil, false
	}
	f := q.q[0]
	q.q[0] = nil
	q.q = q.q[1:]
	q.busy = true
	return f, true
}

// fail drops everything queued: the connection is gone.
func (q *frameQueue) fail() {
	q.mu.Lock()
	q.closed, q.busy, q.q = true, false, nil
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *frameQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// wait returns once the queue is closed, empty and the last frame sent.
func (q *frameQueue) wait() {
	q.mu.Lock()
	for len(q.q) > 0 || q.busy {
		q.cond.Wait()
	}
	q.mu.Unlock()
}

// Listen accepts replication connections on addr ("host:port"; a missing
// port means DefaultPort, port 0 any free port) and returns the address it
// listens on. Call it at most once, before Connect.
func (n *Node[S, A]) Listen(addr string) (string, error) {
	if addr != "" {
		a, _, err := ParseAddr(addr)
		if err != nil {
			return "", err
		}
		addr = a
	}
	r := n.repl
	ep, err := r.endpoint(addr, true)
	if err != nil {
		return "", err
	}
	r.wg.Add(1)
	go r.accept(ep)
	n.opts.Logger.Info("listening", "addr", ep.Addr(), "id", n.key.ID().String(), "network", n.opts.Network.Short())
	return ep.Addr(), nil
}

// Connect keeps a replication connection to addr ("host:port", or
// "sbf1…@host:port" to accept only that identity) until the node closes,
// redialling with exponential backoff whenever it drops. It returns once
// the first connection is up, or with ctx's error if ctx ends first (the
// node keeps trying in the background).
func (n *Node[S, A]) Connect(ctx context.Context, addr string) error {
	a, peer, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	r := n.repl
	ep, err := r.endpoint("", false)
	if err != nil {
		return err
	}
	up := make(chan struct{})
	r.wg.Add(1)
	go r.dialLoop(ep, a, peer, up)
	select {
	case <-up:
		return nil
	case <-n.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *replicator[S, A]) dialLoop(ep Endpoint, addr string, peer identity.ID, up chan struct{}) {
	defer r.wg.Done()
	n := r.n
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := 100 * time.Millisecond
	failures := 0
	for ctx.Err() == nil {
		c, err := ep.Dial(ctx, addr, peer)
		var ended <-chan struct{}
		if err == nil {
			ended, err = r.attach(c)
			if err != nil {
				c.Close(err)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%10 == 0 {
				n.opts.Logger.Warn("dial failed; retrying", "addr", addr, "attempt", failures, "err", err)
			}
		} else {
			failures = 0
			backoff = 100 * time.Millisecond
			select {
			case <-up:
			default:
				close(up)
			}
			select {
			case <-ended:
			case <-ctx.Done():
				return
			}
		}
		d := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		backoff = min(2*backoff, 5*time.Second)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
}
