package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
// calls OnStored; around it, per connection, one goroutine accepts the
// remote's streams, one reads each stream and one writes each of ours.
type Peer struct {
	cfg     Config
	self    identity.ID
	network identity.Network
	log     *slog.Logger
	ep      *transport.Endpoint
	db      *store.DB
	st      storage

	// Owned by the run goroutine.
	hub   *replicate.Hub
	conns map[*pconn]struct{}

	inbound  chan inbound
	newConns chan *transport.Conn
	requests chan request
	ctx      context.Context
	cancel   context.CancelFunc
	quit     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup // accept, redial and per-connection goroutines
	closing  sync.Once

	stats struct {
		received, stored, published atomic.Int64
		conns, sessions             atomic.Int64
	}
}

// inbound is a frame from one of a connection's streams, a newly accepted
// stream (accepted), or a stream's end (err: io.EOF for a clean end).
type inbound struct {
	pc       *pconn
	kind     transport.StreamKind
	size     int               // frame bytes
	msg      replicate.Message // decoded by the reader, off the owner goroutine
	bad      error             // the frame is not a message
	accepted bool
	err      error
}

// request is a local append handed to the owner goroutine.
type request struct {
	contents [][]byte     // Publish: new entries of our own feed
	entries  []feed.Entry // Append: entries made elsewhere
	reply    chan result
}

type result struct {
	entries []feed.Entry
	err     error
}

// New starts a peer: its endpoint, its owner goroutine, the accept loop
// (if Listen is set) and a redial loop per Dial address.
func New(cfg Config) (*Peer, error) {
	c := cfg.Clone()
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	network := c.Store.Network()
	listen := c.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
		if !strings.HasPrefix(firstDial(c.Dial), "127.") {
			listen = ":0"
		}
	}
	ep, err := transport.Listen(listen, c.Transport)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{
		cfg:      *c,
		self:     c.Key.ID(),
		network:  network,
		log:      c.Logger.With("self", c.Key.ID().Short()),
		ep:       ep,
		db:       c.Store,
		st:       storage{c.Store},
		hub:      replicate.NewHub(),
		conns:    make(map[*pconn]struct{}),
		inbound:  make(chan inbound, 256),
		newConns: make(chan *transport.Conn),
		requests: make(chan request),
		ctx:      ctx,
		cancel:   cancel,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go p.run()
	if c.Listen != "" {
		p.wg.Add(1)
		go p.acceptLoop()
	}
	for _, d := range c.Dial {
		p.Connect(d)
	}
	return p, nil
}

func firstDial(d []string) string {
	if len(d) == 0 {
		return ""
	}
	addr, _, _ := ParseAddr(d[0])
	return addr
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

// Addr returns the UDP address the peer listens (or dials) on.
func (p *Peer) Addr() string { return p.ep.Addr().String() }

// Connect keeps a connection to addr ("host:port" or "sbf1…@host:port")
// until the peer closes, redialling with backoff.
func (p *Peer) Connect(addr string) error {
	a, want, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.ep.Redial(p.ctx, a, want, func(c *transport.Conn) error {
			select {
			case p.newConns <- c:
			case <-p.ctx.Done():
				return ErrClosed
			}
			<-c.Done()
			return c.Err()
		})
	}()
	return nil
}

func (p *Peer) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ep.Accept(p.ctx)
		if err != nil {
			return
		}
		select {
		case p.newConns <- c:
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

func (p *Peer) do(ctx context.Context, r request) ([]feed.Entry, error) {
	r.reply = make(chan result, 1)
	select {
	case p.requests <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, ErrClosed
	}
	select {
	case res := <-r.reply:
		return res.entries, res.err
	case <-p.done:
		return nil, ErrClosed
	}
}

// Stats are a peer's counters.
type Stats struct {
	Received  int64 // entries received from remotes and stored
	Stored    int64 // entries stored, received or published
	Published int64 // entries appended locally
	Conns     int64 // open connections
}

// Stats returns the peer's counters.
func (p *Peer) Stats() Stats {
	return Stats{Received: p.stats.received.Load(), Stored: p.stats.stored.Load(),
		Published: p.stats.published.Load(), Conns: p.stats.conns.Load()}
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
	err := p.ep.Close()
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
		case c := <-p.newConns:
			p.open(c)
		case r := <-p.requests:
			p.local(r)
		case <-ticker.C:
			for pc := range p.conns {
				pc.sess.Tick()
			}
		case <-p.quit:
			p.shutdown()
			return
		}
		p.ready()
	}
}

// open starts a session on a new connection.
func (p *Peer) open(c *transport.Conn) {
	sess, err := replicate.New(replicate.Config{
		Self:    p.self,
		Key:     p.cfg.Key,
		Network: p.network,
		Remote:  c.Peer(),
		Binding: c.Binding(),
		Storage: p.st,
		Hub:     p.hub,
		Limits:  p.cfg.Limits,
		// QUIC does not lose messages: resend only after a long silence.
		ResendTicks: 50,
	})
	if err != nil {
		p.log.Error("peer: cannot start session", "remote", c.Peer().Short(), "err", err)
		c.Close(err)
		return
	}
	pc := &pconn{p: p, c: c, sess: sess, log: p.log.With("remote", c.Peer().Short(), "addr", c.RemoteAddr().String())}
	pc.out[transport.Control] = newOutQueue(pc, transport.Control)
	pc.out[transport.Data] = newOutQueue(pc, transport.Data)
	p.conns[pc] = struct{}{}
	p.stats.conns.Add(1)
	pc.log.Debug("peer: connected", "dialled", c.Dialled())
	p.wg.Add(3)
	go pc.acceptStreams()
	go pc.out[transport.Control].run()
	go pc.out[transport.Data].run()
}

// handle steps one inbound frame or stream event.
func (p *Peer) handle(in inbound) {
	pc := in.pc
	if pc.dead {
		return
	}
	switch {
	case in.accepted:
		pc.accepted++
		return
	case in.err != nil:
		if in.err == io.EOF {
			// The remote finished a stream: it is shutting down. Once all
			// its streams ended we hold everything it sent.
			pc.eofs++
			if pc.eofs < pc.accepted {
				return
			}
			pc.log.Debug("peer: remote shut down")
			p.drop(pc, nil)
			return
		}
		p.drop(pc, in.err)
		return
	}
	if in.kind == transport.Data && pc.sess.Version() == 0 {
		// Entries may overtake the Hello, which travels on the control
		// stream; hold them until the handshake is done.
		if len(pc.early) >= 64 {
			p.fail(pc, fmt.Errorf("%w: %d data frames before the handshake", transport.ErrProtocol, len(pc.early)))
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
// Goodbye, if any, is sent, then the connection is closed with the code.
func (p *Peer) fail(pc *pconn, err error) {
	if pc.dead {
		return
	}
	pc.log.Warn("peer: session failed", "err", err)
	pc.sess.Close()
	// Flush this session's Goodbye (and anything before it).
	pc.failing = true
	p.readyOne(pc)
	code := transport.Code(replicate.CodeOf(err))
	var ce *transport.CloseError
	if errors.As(err, &ce) {
		code = ce.Code
	} else if errors.Is(err, transport.ErrProtocol) {
		code = transport.CodeProtocol
	}
	pc.closeAfterFlush(code, err.Error())
	p.forget(pc)
}

// drop forgets a connection that ended (err != nil) or that the remote
// shut down cleanly (err == nil).
func (p *Peer) drop(pc *pconn, err error) {
	if pc.dead {
		return
	}
	if err != nil {
		var ce *transport.CloseError
		if errors.As(err, &ce) && ce.Remote && ce.Code != transport.CodeShutdown {
			pc.log.Warn("peer: remote refused the session", "err", err)
		} else if !errors.Is(err, transport.ErrShutdown) {
			pc.log.Info("peer: connection lost", "err", err)
		}
	}
	pc.sess.Close()
	pc.closeAfterFlush(transport.CodeShutdown, "")
	p.forget(pc)
}

func (p *Peer) forget(pc *pconn) {
	if pc.dead {
		return
	}
	pc.dead = true
	pc.early = nil
	delete(p.conns, pc)
	p.stats.conns.Add(-1)
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
		}
		if len(rd.Entries) > 0 {
			res, err := p.db.Append(rd.Entries...)
			var fe *feed.ForkError
			if err != nil && !errors.As(err, &fe) {
				p.storeFailed(pc, err)
				return
			}
			p.stats.received.Add(int64(res.New))
			p.stats.stored.Add(int64(res.New))
		}
		for _, m := range rd.Messages {
			pc.send(m.Body)
		}
		for _, ev := range rd.Events {
			switch ev.Kind {
			case replicate.EventClosed:
				if ev.Err != nil {
					pc.log.Info("peer: session closed", "err", ev.Err)
				}
			case replicate.EventFork:
				pc.log.Warn("peer: fork proven", "feed", ev.Feed.Short(), "seq", ev.Seq)
			default:
				pc.log.Debug("peer: " + ev.String())
			}
		}
		pc.sess.Advance(rd)
		if len(rd.Entries) > 0 && p.cfg.OnStored != nil {
			p.cfg.OnStored(rd.Entries)
		}
	}
	if pc.sess.Closed() && !pc.dead && !pc.failing {
		// The session ended itself (a Tick found the handshake too slow,
		// or the remote said goodbye): its Goodbye is queued; close.
		if err := pc.sess.Err(); err != nil {
			pc.log.Warn("peer: session failed", "err", err)
			pc.closeAfterFlush(transport.Code(replicate.CodeOf(err)), err.Error())
		} else {
			pc.closeAfterFlush(transport.CodeShutdown, "")
		}
		p.forget(pc)
	}
}

// storeFailed ends a session whose Ready could not be stored: nothing of
// it was acknowledged, so nothing is lost; the remote retries later.
func (p *Peer) storeFailed(pc *pconn, err error) {
	pc.log.Error("peer: store failed", "err", err)
	pc.sess.Close()
	pc.closeAfterFlush(transport.CodeInternal, "store failed")
	p.forget(pc)
}

// local performs a Publish or Append on the owner goroutine.
func (p *Peer) local(r request) {
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

// shutdown ends every session with a Goodbye and closes the connections
// gracefully; inbound frames are drained meanwhile so no reader blocks.
func (p *Peer) shutdown() {
	var closing sync.WaitGroup
	for pc := range p.conns {
		pc.sess.Close()
		p.readyOne(pc)
		closing.Add(1)
		pc.closeAfterFlush(transport.CodeShutdown, "")
		go func() {
			defer closing.Done()
			<-pc.c.Done()
		}()
		p.forget(pc)
	}
	all := make(chan struct{})
	go func() {
		closing.Wait()
		close(all)
	}()
	for {
		select {
		case <-p.inbound:
		case <-all:
			return
		}
	}
}
