package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
	"github.com/sbfeed/sbfeed/transport"
)

// ErrClosed is returned by the methods of a closed Peer.
var ErrClosed = errors.New("peer: closed")

// Peer replicates the feeds of one store with every connected remote. One
// owner goroutine runs every replication session, writes the store and
// calls the hooks; around it, per connection, one goroutine reads and one
// writes each class of frames.
type Peer struct {
	cfg     Config
	self    identity.ID
	network identity.Network
	log     *slog.Logger
	tr      Transport
	db      *store.DB
	st      storage

	mu     sync.Mutex // guards ep and closed
	ep     Endpoint   // opened by Listen or the first Connect
	closed bool

	// Owned by the run goroutine.
	hub      *replicate.Hub
	conns    map[*pconn]struct{}
	progress progress

	inbound  chan inbound
	newConns chan *pconn
	requests chan request
	ctx      context.Context
	cancel   context.CancelFunc
	quit     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup // accept, redial and per-connection goroutines
	closing  sync.Once

	// live counts the open connections to each remote, for the redial
	// loops: they do not dial a peer already connected the other way.
	liveMu sync.Mutex
	live   map[identity.ID]*liveConns

	stats struct {
		received, stored, published atomic.Int64
		conns, dialled              atomic.Int64
	}
}

// liveConns is the open connections to one remote; gone is closed when the
// last one ends.
type liveConns struct {
	n    int
	gone chan struct{}
}

// ErrDuplicate ends the second of two connections between the same two
// peers that dialled each other at once (a mesh where both sides Connect):
// both sides keep the one the lower identity dialled, so one session runs
// per pair, and the other side's redial loop waits for it to end.
var ErrDuplicate = errors.New("peer: duplicate connection: both peers dialled; the one the lower identity dialled is kept")

// inbound is a frame from a connection, or its end (err: io.EOF when the
// remote shut down cleanly).
type inbound struct {
	pc   *pconn
	size int               // frame bytes
	msg  replicate.Message // decoded by the reader, off the owner goroutine
	bad  error             // the frame is not a message
	err  error
}

// request is local work handed to the owner goroutine.
type request struct {
	contents [][]byte            // Publish: new entries of our own feed
	entries  []feed.Entry        // Append: entries made elsewhere
	fn       func() []feed.Entry // Do
	reply    chan result
}

type result struct {
	entries []feed.Entry
	err     error
}

// progress counts entries received for the periodic sync log line.
type progress struct {
	start, last time.Time
	entries     int
}

// New starts a peer: its owner goroutine, its endpoint if Listen is set,
// and a redial loop per Dial address. Without Listen or Dial it opens no
// endpoint until Listen or Connect is called.
func New(cfg Config) (*Peer, error) {
	c := cfg.Clone()
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tr := c.Transport
	if tr == nil {
		tr = &QUIC{Config: c.QUIC}
	}
	hub := c.Hub
	if hub == nil {
		hub = replicate.NewHub()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{
		cfg:      *c,
		self:     c.Key.ID(),
		network:  c.Store.Network(),
		log:      c.Logger,
		tr:       tr,
		db:       c.Store,
		st:       storage{c.Store},
		hub:      hub,
		conns:    make(map[*pconn]struct{}),
		live:     make(map[identity.ID]*liveConns),
		inbound:  make(chan inbound, 256),
		newConns: make(chan *pconn),
		requests: make(chan request),
		ctx:      ctx,
		cancel:   cancel,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go p.run()
	if c.Listen != "" {
		if _, err := p.Listen(c.Listen); err != nil {
			p.Close()
			return nil, err
		}
	}
	for _, d := range c.Dial {
		if err := p.connect(d, nil); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// ParseAddr splits "host:port" or "sbf1…@host:port" into the address and
// the identity expected there (zero if not given).
func ParseAddr(s string) (addr string, want identity.ID, err error) {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		want, err = identity.ParseID(s[:at])
		if err != nil {
			return "", want, fmt.Errorf("peer: address %q: %w", s, err)
		}
		s = s[at+1:]
	}
	if !strings.Contains(s, ":") {
		return "", want, fmt.Errorf("peer: address %q has no port", s)
	}
	return s, want, nil
}

// ID returns the peer's identity.
func (p *Peer) ID() identity.ID { return p.self }

// Addr returns the address the peer listens (or dials) on; "" before
// Listen or Connect.
func (p *Peer) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ep == nil {
		return ""
	}
	return p.ep.Addr()
}

// endpoint returns the peer's endpoint, opening it: on addr to listen, or
// dial-only when addr is "" and none is open yet. It counts the goroutine
// the caller starts on it in wg, under the lock Close takes, so none
// starts once Close waits.
func (p *Peer) endpoint(addr string, listen bool) (Endpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.ep == nil {
		ep, err := p.tr.Open(p.cfg.Key, addr)
		if err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
		p.ep = ep
	} else if listen {
		return nil, errors.New("peer: Listen must be called once, before Connect")
	}
	p.wg.Add(1)
	return p.ep, nil
}

// Listen accepts connections on addr and returns the address it listens
// on. Call it at most once, before Connect (Config.Listen calls it).
func (p *Peer) Listen(addr string) (string, error) {
	ep, err := p.endpoint(addr, true)
	if err != nil {
		return "", err
	}
	go p.acceptLoop(ep)
	p.log.Info("listening", "addr", ep.Addr(), "id", p.self.String(), "network", p.network.Short())
	return ep.Addr(), nil
}

// Connect keeps a connection to addr ("host:port" or "sbf1…@host:port")
// until the peer closes, redialling with backoff whenever it drops. It
// returns once the first connection is up, or with ctx's error if ctx ends
// first (the peer keeps trying in the background).
func (p *Peer) Connect(ctx context.Context, addr string) error {
	up := make(chan struct{})
	if err := p.connect(addr, up); err != nil {
		return err
	}
	select {
	case <-up:
		return nil
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// connect starts the redial loop of addr; up, if not nil, is closed once
// the first connection is up.
func (p *Peer) connect(addr string, up chan struct{}) error {
	a, want, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	ep, err := p.endpoint("", false)
	if err != nil {
		return err
	}
	go p.redial(ep, a, want, up)
	return nil
}

// redial dials addr until the peer closes. After a failed dial, or a
// connection whose session never opened or that the remote refused, the
// delay before the next attempt grows; after a connection that was up it
// starts again from MinBackoff.
func (p *Peer) redial(ep Endpoint, addr string, want identity.ID, up chan struct{}) {
	defer p.wg.Done()
	attempt, failures := 0, 0
	for p.ctx.Err() == nil {
		c, err := ep.Dial(p.ctx, addr, want)
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			if failures++; failures == 1 || failures%10 == 0 {
				p.log.Warn("dial failed; retrying", "addr", addr, "attempt", failures, "err", err)
			}
		} else {
			failures = 0
			p.stats.dialled.Add(1)
			pc := newPconn(p, c)
			pc.dialled = true
			select {
			case p.newConns <- pc:
			case <-p.ctx.Done():
				c.Close(nil)
				return
			}
			if up != nil {
				close(up)
				up = nil
			}
			select {
			case <-pc.ended:
			case <-p.ctx.Done():
				return
			}
			if pc.opened && !refused(pc.endErr) || errors.Is(pc.endErr, ErrDuplicate) {
				attempt = 0
			}
			// Connected the other way too (the remote dials us): that
			// connection serves; dial again once it ends.
			if !p.waitUnconnected(c.Peer()) {
				return
			}
		}
		d := transport.Backoff(attempt, p.cfg.MinBackoff, p.cfg.MaxBackoff, rand.Float64())
		attempt++
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return
		}
	}
}

// waitUnconnected waits until no connection to remote is open. It reports
// false if the peer closed meanwhile.
func (p *Peer) waitUnconnected(remote identity.ID) bool {
	for {
		p.liveMu.Lock()
		var gone chan struct{}
		if l := p.live[remote]; l != nil {
			gone = l.gone
		}
		p.liveMu.Unlock()
		if gone == nil {
			return true
		}
		select {
		case <-gone:
		case <-p.ctx.Done():
			return false
		}
	}
}

func (p *Peer) liveAdd(remote identity.ID) {
	p.liveMu.Lock()
	l := p.live[remote]
	if l == nil {
		l = &liveConns{gone: make(chan struct{})}
		p.live[remote] = l
	}
	l.n++
	p.liveMu.Unlock()
}

func (p *Peer) liveDel(remote identity.ID) {
	p.liveMu.Lock()
	if l := p.live[remote]; l != nil {
		if l.n--; l.n == 0 {
			close(l.gone)
			delete(p.live, remote)
		}
	}
	p.liveMu.Unlock()
}

// refused reports whether a connection ended in a way an immediate retry
// would meet again: the remote refused the session.
func refused(err error) bool {
	var pe *replicate.PeerError
	if errors.As(err, &pe) {
		return true
	}
	for _, s := range []error{replicate.ErrRemoteClosed, transport.ErrNotAllowed, transport.ErrTooManyConns,
		transport.ErrWrongNetwork, transport.ErrVersion, transport.ErrBadEntry, transport.ErrProtocol,
		transport.ErrFrameTooLarge, transport.ErrLimit, transport.ErrBadProof} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func (p *Peer) acceptLoop(ep Endpoint) {
	defer p.wg.Done()
	for {
		c, err := ep.Accept(p.ctx)
		if err != nil {
			return
		}
		select {
		case p.newConns <- newPconn(p, c):
		case <-p.ctx.Done():
			c.Close(nil)
			return
		}
	}
}

// Publish appends one entry per content to this peer's own feed, stores
// them (synced) and pushes them to every remote that wants them. It
// returns the new entries. The entries carry no causal references and use
// the feed's clock kind (Lamport for a new feed); an application that
// references other feeds builds its entries with feed.Create and uses
// Append.
func (p *Peer) Publish(ctx context.Context, contents ...[]byte) ([]feed.Entry, error) {
	return p.do(ctx, request{contents: contents})
}

// Append stores entries made elsewhere (of any feed, each extending its
// stored head, verified by the store) and pushes them to the remotes.
func (p *Peer) Append(ctx context.Context, entries ...feed.Entry) error {
	_, err := p.do(ctx, request{entries: entries})
	return err
}

// Do runs f on the owner goroutine, between two steps of the sessions, and
// waits for it: f may write to the store and read the Hub, and returns the
// entries it stored, which are then pushed to the remotes (Hub.Notify;
// OnStored is not called for them). Once f has started, Do waits for it
// even if ctx ends. Do returns ErrClosed if the peer closed before f ran.
func (p *Peer) Do(ctx context.Context, f func() []feed.Entry) error {
	_, err := p.do(ctx, request{fn: f})
	return err
}

func (p *Peer) do(ctx context.Context, r request) ([]feed.Entry, error) {
	r.reply = make(chan result, 1)
	select {
	case p.requests <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, ErrClosed
	}
	// The owner replies before it can exit: the reply wins over done.
	res := <-r.reply
	return res.entries, res.err
}

// Stats are a peer's counters.
type Stats struct {
	Received  int64 // entries received from remotes and stored
	Stored    int64 // entries stored, received or published
	Published int64 // entries appended locally
	Conns     int64 // open connections
	Dialled   int64 // connections this peer dialled, redials included
}

// Stats returns the peer's counters.
func (p *Peer) Stats() Stats {
	return Stats{Received: p.stats.received.Load(), Stored: p.stats.stored.Load(),
		Published: p.stats.published.Load(), Conns: p.stats.conns.Load(), Dialled: p.stats.dialled.Load()}
}

// Close ends every session with a Goodbye, closes every connection
// gracefully (what was queued is delivered, within the transport's close
// timeout), stops every goroutine and closes the endpoint. The store is
// left open.
func (p *Peer) Close() error {
	p.closing.Do(func() {
		p.cancel()
		close(p.quit)
	})
	<-p.done
	p.mu.Lock()
	ep := p.ep
	p.closed = true
	p.mu.Unlock()
	var err error
	if ep != nil {
		err = ep.Close()
	}
	p.wg.Wait()
	return err
}

// run is the owner goroutine: the only one that touches sessions, the hub
// and the store's writes.
func (p *Peer) run() {
	defer close(p.done)
	ticker := time.NewTicker(p.cfg.Tick)
	defer ticker.Stop()
	for {
		select {
		case in := <-p.inbound:
			// Step what else has arrived, up to BatchBytes, before
			// persisting: one synced batch covers several frames, yet
			// acknowledgements still flow back while later frames are in
			// flight, so the remote never waits for a whole window.
			stepped := in.size
			p.handle(in)
			for stepped < p.cfg.BatchBytes {
				select {
				case in := <-p.inbound:
					stepped += in.size
					p.handle(in)
					continue
				default:
				}
				break
			}
		case pc := <-p.newConns:
			p.open(pc)
		case r := <-p.requests:
			p.local(r)
		case <-ticker.C:
			for pc := range p.conns {
				pc.sess.Tick()
			}
			p.logProgress(false)
			if p.cfg.OnTick != nil {
				p.cfg.OnTick()
			}
		case <-p.quit:
			p.shutdown()
			return
		}
		p.ready()
	}
}

// open starts a session on a new connection.
func (p *Peer) open(pc *pconn) {
	c := pc.c
	o := p.crossed(pc)
	if o != nil {
		// Both sides dialled: keep the connection the lower identity
		// dialled, on both sides alike, with no message needed.
		remote := c.Peer()
		keepDialled := bytes.Compare(p.self[:], remote[:]) < 0
		if pc.dialled != keepDialled {
			p.log.Debug("duplicate connection closed", "peer", c.Peer().Short())
			c.Close(ErrDuplicate)
			pc.endErr = ErrDuplicate
			close(pc.ended)
			return
		}
	}
	cfg := replicate.Config{
		Self:    p.self,
		Key:     p.cfg.Key,
		Network: p.network,
		Remote:  c.Peer(),
		Binding: c.Binding(),
		Storage: p.st,
		Hub:     p.hub,
		Limits:  p.cfg.Limits,
		// The transports do not lose messages: resend only after a long
		// silence.
		ResendTicks: 50,
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		cfg.Log = func(format string, args ...any) {
			p.log.Debug(fmt.Sprintf(format, args...), "peer", c.Peer().Short())
		}
	}
	sess, err := replicate.New(cfg)
	if err != nil {
		p.log.Error("cannot start a session", "peer", c.Peer().Short(), "err", err)
		c.Close(err)
		pc.endErr = err
		close(pc.ended)
		return
	}
	pc.sess = sess
	p.conns[pc] = struct{}{}
	p.liveAdd(c.Peer())
	p.stats.conns.Add(1)
	if o != nil {
		// pc wins. It is counted live first, so the redial loop of o
		// waits for it rather than dialling again.
		p.log.Debug("duplicate connection closed", "peer", c.Peer().Short())
		o.sess.Close()   // a Goodbye: the remote drops it too
		o.failing = true // closed below, with the reason
		p.readyOne(o)
		o.closeAfterFlush(nil)
		p.forget(o, ErrDuplicate)
	}
	p.wg.Add(3)
	go pc.read()
	go pc.out[Control].run()
	go pc.out[Bulk].run()
}

// crossed returns an open connection to pc's remote made in the other
// direction, if any.
func (p *Peer) crossed(pc *pconn) *pconn {
	for o := range p.conns {
		if !o.dead && o.dialled != pc.dialled && o.c.Peer() == pc.c.Peer() {
			return o
		}
	}
	return nil
}

// handle steps one inbound frame or a connection's end.
func (p *Peer) handle(in inbound) {
	pc := in.pc
	if pc.dead {
		return
	}
	if in.err != nil {
		if in.err == io.EOF {
			// The remote shut down and we read everything it sent.
			p.drop(pc, nil)
			return
		}
		p.drop(pc, in.err)
		return
	}
	if in.bad == nil && in.msg.Body.Type() == replicate.TypeEntries && pc.sess.Version() == 0 {
		// Entries may overtake the Hello, which travels as a control
		// frame; hold them until the handshake is done.
		if len(pc.early) >= 64 {
			p.fail(pc, &replicate.PeerError{Peer: pc.c.Peer(), Err: replicate.ErrProtocol,
				Detail: fmt.Sprintf("%d data frames before the handshake", len(pc.early))})
			return
		}
		pc.early = append(pc.early, in)
		return
	}
	p.step(pc, in)
	if len(pc.early) > 0 && pc.sess.Version() != 0 && !pc.dead {
		early := pc.early
		pc.early = nil
		for _, e := range early {
			if pc.dead {
				return
			}
			p.step(pc, e)
		}
	}
}

func (p *Peer) step(pc *pconn, in inbound) {
	if in.bad != nil {
		p.fail(pc, &replicate.PeerError{Peer: pc.c.Peer(), Err: replicate.ErrMalformed, Detail: in.bad.Error()})
		return
	}
	m := in.msg
	m.From, m.To = pc.c.Peer(), p.self
	if err := pc.sess.Step(m); err != nil {
		p.fail(pc, err)
	}
}

// fail ends a session the remote broke (or that failed locally): its
// Goodbye, if any, is sent, then the connection is closed with err (a
// *replicate.PeerError carries the code).
func (p *Peer) fail(pc *pconn, err error) {
	if pc.dead {
		return
	}
	p.log.Warn("peer refused", "peer", pc.c.Peer().Short(), "err", err)
	pc.sess.Close()
	// Flush this session's Goodbye (and anything before it).
	pc.failing = true
	p.readyOne(pc)
	pc.closeAfterFlush(err)
	p.forget(pc, err)
}

// drop forgets a connection that ended (err != nil) or that the remote
// shut down cleanly (err == nil).
func (p *Peer) drop(pc *pconn, err error) {
	if pc.dead {
		return
	}
	pc.sess.Close()
	pc.closeAfterFlush(nil)
	p.forget(pc, err)
}

// forget removes a connection whose close is under way; err is why it
// ended, nil for a clean shutdown.
func (p *Peer) forget(pc *pconn, err error) {
	if pc.dead {
		return
	}
	pc.dead = true
	pc.early = nil
	pc.opened = pc.sess.Version() != 0
	pc.endErr = err
	delete(p.conns, pc)
	p.liveDel(pc.c.Peer())
	p.stats.conns.Add(-1)
	close(pc.ended)
	if err != nil && !errors.Is(err, transport.ErrShutdown) && !errors.Is(err, replicate.ErrRemoteClosed) {
		p.log.Info("peer disconnected", "peer", pc.c.Peer().Short(), "reason", err)
	} else {
		p.log.Info("peer disconnected", "peer", pc.c.Peer().Short())
	}
}

// ready handles every session's Ready until none has work: relaying one
// session's entries gives others work.
func (p *Peer) ready() {
	for {
		busy := false
		for pc := range p.conns {
			if pc.sess.HasReady() {
				busy = true
				p.readyOne(pc)
			}
		}
		if !busy {
			return
		}
	}
}

// readyOne handles one session's Ready: persist (synced), send, report,
// advance — the order replicate requires.
func (p *Peer) readyOne(pc *pconn) {
	for pc.sess.HasReady() {
		rd := pc.sess.Ready()
		for _, fp := range rd.ForkProofs {
			if err := p.db.AddForkProof(fp); err != nil {
				p.storeFailed(pc, err)
				return
			}
			if p.cfg.OnFork != nil {
				p.cfg.OnFork(fp)
			}
		}
		if len(rd.Entries) > 0 {
			res, err := p.db.Append(rd.Entries...)
			var fe *feed.ForkError
			if err != nil && !errors.As(err, &fe) {
				p.storeFailed(pc, err)
				return
			}
			if p.cfg.OnFork != nil {
				for _, fp := range res.Forks {
					p.cfg.OnFork(fp)
				}
			}
			p.stats.received.Add(int64(res.New))
			p.stats.stored.Add(int64(res.New))
			p.progress.entries += res.New
		}
		for _, m := range rd.Messages {
			pc.send(m.Body)
		}
		for _, ev := range rd.Events {
			p.event(ev)
		}
		pc.sess.Advance(rd)
		if len(rd.Entries) > 0 && p.cfg.OnStored != nil {
			p.cfg.OnStored(rd.Entries)
		}
	}
	if pc.sess.Closed() && !pc.dead && !pc.failing {
		// The session ended itself (a Tick found the handshake too slow,
		// or the remote said goodbye): its Goodbye is queued; close.
		err := pc.sess.Err()
		pc.closeAfterFlush(err)
		p.forget(pc, err)
	}
}

func (p *Peer) event(ev replicate.Event) {
	switch ev.Kind {
	case replicate.EventOpen:
		p.log.Info("peer connected", "peer", ev.Peer.Short(), "version", ev.Version)
	case replicate.EventSynced:
		p.log.Info("synced", "peer", ev.Peer.Short(), "feeds", len(p.hub.Heads()), "entries", p.held())
	case replicate.EventFork:
		p.log.Warn("fork proven", "peer", ev.Peer.Short(), "feed", ev.Feed.Short(), "seq", ev.Seq)
	case replicate.EventClosed:
		if ev.Err != nil && !errors.Is(ev.Err, replicate.ErrRemoteClosed) {
			p.log.Warn("peer dropped", "peer", ev.Peer.Short(), "err", ev.Err)
		}
	}
}

// held is the number of entries the peer holds, from the hub.
func (p *Peer) held() uint64 {
	var t uint64
	for _, h := range p.hub.Heads() {
		t += h.Seq
	}
	return t
}

// logProgress logs the sync rate once a second while entries arrive.
func (p *Peer) logProgress(force bool) {
	now := time.Now()
	if p.progress.entries == 0 {
		p.progress.start = time.Time{}
		return
	}
	if p.progress.start.IsZero() {
		p.progress.start, p.progress.last = now, now
		return
	}
	if el := now.Sub(p.progress.last); force || el >= time.Second {
		rate := float64(p.progress.entries) / el.Seconds()
		// What the peers announced beyond what is stored: how much of
		// the sync is left, and at this rate how long it takes.
		var left uint64
		for a, seq := range p.hub.Behind() {
			left += seq - p.hub.Head(a).Seq
		}
		attrs := []any{"new_entries", p.progress.entries, "rate", fmt.Sprintf("%.0f/s", rate),
			"feeds", len(p.hub.Heads()), "held", p.held(), "left", left, "peers", len(p.conns)}
		if left > 0 && rate > 0 {
			attrs = append(attrs, "eta", (time.Duration(float64(left) / rate * float64(time.Second))).Round(time.Second).String())
		}
		p.log.Info("sync progress", attrs...)
		p.progress.entries = 0
		p.progress.last = now
	}
}

// storeFailed ends a session whose Ready could not be stored: nothing of
// it was acknowledged, so nothing is lost; the remote retries later.
func (p *Peer) storeFailed(pc *pconn, err error) {
	p.log.Error("store failed", "peer", pc.c.Peer().Short(), "err", err)
	pc.sess.Close()
	perr := &replicate.PeerError{Peer: pc.c.Peer(), Err: replicate.ErrStorage, Detail: "store failed"}
	pc.closeAfterFlush(perr)
	p.forget(pc, perr)
}

// local performs a Publish, Append or Do on the owner goroutine.
func (p *Peer) local(r request) {
	if r.fn != nil {
		if entries := r.fn(); len(entries) > 0 {
			p.hub.Notify(entries...)
		}
		r.reply <- result{}
		return
	}
	var entries []feed.Entry
	if len(r.contents) > 0 {
		head, _, err := p.db.Head(p.self)
		if err != nil {
			r.reply <- result{err: fmt.Errorf("peer: publish: %w", err)}
			return
		}
		for _, c := range r.contents {
			e, err := feed.Create(p.cfg.Key, p.network, head, feed.Draft{Kind: head.Kind, Content: c})
			if err != nil {
				r.reply <- result{err: fmt.Errorf("peer: publish: %w", err)}
				return
			}
			entries = append(entries, e)
			head = e.Head()
		}
	} else {
		entries = r.entries
	}
	if len(entries) == 0 {
		r.reply <- result{}
		return
	}
	res, err := p.db.Append(entries...)
	if err != nil {
		r.reply <- result{err: fmt.Errorf("peer: append: %w", err)}
		return
	}
	if len(r.contents) > 0 {
		p.stats.published.Add(int64(res.New))
	}
	p.stats.stored.Add(int64(res.New))
	p.hub.Notify(entries...)
	if p.cfg.OnStored != nil {
		p.cfg.OnStored(entries)
	}
	r.reply <- result{entries: entries}
}

// flushTimeout bounds how long Close waits for a connection to deliver
// what was queued for it before closing it at once.
const flushTimeout = 5 * time.Second

// errFlushTimeout closes a connection whose remote did not read what was
// queued for it in time.
var errFlushTimeout = errors.New("peer: closing: the remote did not read what was queued in time")

// shutdown ends every session with a Goodbye and closes the connections
// gracefully; inbound frames are drained meanwhile so no reader blocks.
func (p *Peer) shutdown() {
	p.logProgress(true)
	var pcs []*pconn
	for pc := range p.conns {
		pc.sess.Close()
		p.readyOne(pc)
		pc.closeAfterFlush(nil)
		pcs = append(pcs, pc)
		p.forget(pc, nil)
	}
	all := make(chan struct{})
	go func() {
		for _, pc := range pcs {
			<-pc.closed
		}
		close(all)
	}()
	t := time.NewTimer(flushTimeout)
	defer t.Stop()
	for {
		select {
		case <-p.inbound:
		case <-all:
			return
		case <-t.C:
			for _, pc := range pcs {
				pc.c.Close(errFlushTimeout)
			}
		}
	}
}
