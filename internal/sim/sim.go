package sim

import (
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math/rand/v2"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/replicate/replicatetest"
)

// Config sets up a simulation. Zero values are documented per field.
type Config struct {
	// Seed drives every random choice (keys are derived from it too).
	Seed uint64
	// Network is the peers' network; zero: identity.NetworkFromName("sim").
	Network identity.Network
	// MinLatency and MaxLatency bound a message's delay in ticks, uniformly.
	// Default 1 and 1.
	MinLatency, MaxLatency int
	// Loss, Dup and Reorder are probabilities per message (after the Hello):
	// dropped, delivered twice, or delayed by up to 3*MaxLatency extra ticks
	// (overtaking later messages on the same link).
	Loss, Dup, Reorder float64
	// RedialTicks is how long a link that failed waits before it is dialled
	// again (if both ends are online and not partitioned). Default 5.
	RedialTicks int
	// NoSigCache makes every peer verify every signature itself. By default
	// the peers share a replicate.SigCache so each distinct entry is verified
	// once per simulation (hundreds of peers stay fast under -race).
	NoSigCache bool
	// Limits are every session's limits.
	Limits replicate.Limits
	// Session, if set, adjusts every session's configuration.
	Session func(p *Peer, c *replicate.Config)
	// Trace, if set, sees every message delivered (before Step) and the
	// error Step returned, if any.
	Trace func(tick, from, to int, m replicate.Message, err error)
}

// Peer is one simulated node: a key, an in-memory store, a hub, and one
// session per live link.
type Peer struct {
	Index   int
	Key     *identity.Key
	ID      identity.ID
	Network identity.Network
	Store   *replicatetest.MemStore
	Hub     *replicate.Hub
	Online  bool
	// Feeds, if set before the peer's first link, makes it replicate only
	// these feeds.
	Feeds []identity.ID
	// Errors are the errors its sessions returned, with the remote's index.
	Errors []PeerError

	sessions map[int]*replicate.Session // by remote index
	gen      map[int]int                // link generation of each session
	closed   replicate.Stats            // counters of sessions that ended
}

func (p *Peer) retire(r int) {
	if ss := p.sessions[r]; ss != nil {
		st := ss.Stats()
		p.closed.Received += st.Received
		p.closed.Duplicates += st.Duplicates
		p.closed.Accepted += st.Accepted
		p.closed.Ignored += st.Ignored
		p.closed.Sent += st.Sent
		p.closed.Unsigned += st.Unsigned
		p.closed.Withheld += st.Withheld
		delete(p.sessions, r)
	}
}

// PeerError is an error a session of a peer returned.
type PeerError struct {
	Remote int
	Tick   int
	Err    error
}

type link struct {
	a, b     int
	up       bool
	gen      int
	downAt   int
	blocked  bool // partitioned
	lastAt   [2]int
	helloAt  [2]int // nothing overtakes the Hello of the current dial
	dialable bool   // wanted: redial when down
}

type flight struct {
	at, seq  int
	from, to int
	gen      int
	b        []byte
	hello    bool
}

type queue []*flight

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*flight)) }
func (q *queue) Pop() any {
	old := *q
	f := old[len(old)-1]
	*q = old[:len(old)-1]
	return f
}

// Counters are the simulation's traffic totals.
type Counters struct {
	Messages   int
	Bytes      int            // every message's encoded size
	ByType     map[string]int // bytes per message type
	EntryBytes int            // encoded entries inside Entries messages
	Dropped    int
	Duplicated int
}

// Sim is a simulated network.
type Sim struct {
	cfg   Config
	rng   *rand.Rand
	Now   int
	Peers []*Peer
	links map[[2]int]*link
	q     queue
	seq   int
	trace hash.Hash
	cache *replicate.SigCache
	// Counters are the traffic so far.
	Counters Counters
	// Faults are invariant violations the simulator saw (a store refusing
	// what a session released): always a bug.
	Faults []error
}

// New returns an empty simulation.
func New(cfg Config) *Sim {
	if cfg.Network == (identity.Network{}) {
		cfg.Network = identity.NetworkFromName("sim")
	}
	if cfg.MinLatency <= 0 {
		cfg.MinLatency = 1
	}
	if cfg.MaxLatency < cfg.MinLatency {
		cfg.MaxLatency = cfg.MinLatency
	}
	if cfg.RedialTicks <= 0 {
		cfg.RedialTicks = 5
	}
	var cache *replicate.SigCache
	if !cfg.NoSigCache {
		cache = replicate.NewSigCache()
	}
	return &Sim{cfg: cfg, cache: cache, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5bfeed)), links: map[[2]int]*link{},
		trace: sha256.New(), Counters: Counters{ByType: map[string]int{}}}
}

// Rand returns the simulation's random source (for tests that need choices
// tied to the seed).
func (s *Sim) Rand() *rand.Rand { return s.rng }

// KeyFor derives peer i's key from the seed.
func (s *Sim) KeyFor(i int) *identity.Key {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("sbfeed/sim/key"), s.cfg.Seed), uint64(i)))
	k, _ := identity.FromSeed(seed[:])
	return k
}

// AddPeers adds n online peers with keys derived from the seed.
func (s *Sim) AddPeers(n int) []*Peer {
	out := make([]*Peer, 0, n)
	for range n {
		out = append(out, s.AddPeer(s.KeyFor(len(s.Peers)), s.cfg.Network))
	}
	return out
}

// AddPeer adds an online peer with the given key and network (a key shared
// by two peers makes a forking author; another network makes an outsider).
func (s *Sim) AddPeer(key *identity.Key, network identity.Network) *Peer {
	st := replicatetest.NewMemStore(network)
	p := &Peer{Index: len(s.Peers), Key: key, ID: key.ID(), Network: network, Store: st, Hub: replicate.NewHub(),
		Online: true, sessions: map[int]*replicate.Session{}, gen: map[int]int{}}
	s.Peers = append(s.Peers, p)
	return p
}

func key(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// Connect links peers a and b (and keeps redialling the link when it fails).
func (s *Sim) Connect(a, b int) {
	l := s.links[key(a, b)]
	if l == nil {
		l = &link{a: min(a, b), b: max(a, b)}
		s.links[key(a, b)] = l
	}
	l.dialable = true
	s.dial(l)
}

// Links returns every link's ends, in order.
func (s *Sim) Links() [][2]int {
	out := make([][2]int, 0, len(s.links))
	for k := range s.links {
		out = append(out, k)
	}
	slices.SortFunc(out, func(x, y [2]int) int {
		if x[0] != y[0] {
			return x[0] - y[0]
		}
		return x[1] - y[1]
	})
	return out
}

func (s *Sim) dial(l *link) {
	pa, pb := s.Peers[l.a], s.Peers[l.b]
	if l.up || l.blocked || !pa.Online || !pb.Online {
		return
	}
	binding := make([]byte, 32)
	for i := range binding {
		binding[i] = byte(s.rng.Uint32())
	}
	l.gen++
	sa, erra := s.newSession(pa, pb, binding)
	sb, errb := s.newSession(pb, pa, binding)
	if erra != nil || errb != nil {
		s.Faults = append(s.Faults, fmt.Errorf("sim: dial %d-%d: %v %v", l.a, l.b, erra, errb))
		return
	}
	pa.sessions[l.b], pa.gen[l.b] = sa, l.gen
	pb.sessions[l.a], pb.gen[l.a] = sb, l.gen
	l.up = true
}

func (s *Sim) newSession(p, remote *Peer, binding []byte) (*replicate.Session, error) {
	c := replicate.Config{Self: p.ID, Key: p.Key, Network: p.Network, Remote: remote.ID, Binding: binding,
		Storage: p.Store, Hub: p.Hub, Limits: s.cfg.Limits, Feeds: p.Feeds, SigCache: s.cache}
	if s.cfg.Session != nil {
		s.cfg.Session(p, &c)
	}
	return replicate.New(c)
}

// Disconnect takes the link down and stops redialling it.
func (s *Sim) Disconnect(a, b int) {
	if l := s.links[key(a, b)]; l != nil {
		l.dialable = false
		s.down(l)
	}
}

func (s *Sim) down(l *link) {
	if !l.up {
		return
	}
	l.up = false
	l.downAt = s.Now
	for _, pr := range [][2]int{{l.a, l.b}, {l.b, l.a}} {
		p := s.Peers[pr[0]]
		if ss := p.sessions[pr[1]]; ss != nil {
			ss.Close()
			s.drainSession(p, pr[1], ss) // persist what it released; its messages die with the link
			p.retire(pr[1])
		}
	}
}

// Partition cuts every link between peers of different groups (peers in no
// group form one more group) until Heal.
func (s *Sim) Partition(groups ...[]int) {
	g := map[int]int{}
	for i, grp := range groups {
		for _, p := range grp {
			g[p] = i + 1
		}
	}
	for _, k := range s.Links() {
		l := s.links[k]
		if g[l.a] != g[l.b] {
			l.blocked = true
			s.down(l)
		}
	}
}

// Heal ends every partition; links are redialled.
func (s *Sim) Heal() {
	for _, k := range s.Links() {
		l := s.links[k]
		l.blocked = false
		if l.dialable {
			s.dial(l)
		}
	}
}

// SetOnline takes a peer offline (all its links down) or back online.
func (s *Sim) SetOnline(i int, on bool) {
	p := s.Peers[i]
	p.Online = on
	for _, k := range s.Links() {
		l := s.links[k]
		if l.a != i && l.b != i {
			continue
		}
		if on && l.dialable {
			s.dial(l)
		} else if !on {
			s.down(l)
		}
	}
}

// Append writes n new entries of peer i's own feed (content of size bytes),
// as its local writer would, and notifies its sessions.
func (s *Sim) Append(i, n, size int) []feed.Entry {
	p := s.Peers[i]
	var out []feed.Entry
	for range n {
		content := make([]byte, size)
		for j := range content {
			content[j] = byte(s.rng.Uint32())
		}
		e, err := feed.Create(p.Key, p.Network, p.Store.Head(p.ID), feed.Draft{Content: content})
		if err != nil {
			s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d append: %w", i, err))
			return out
		}
		if err := p.Store.Append(e); err != nil {
			s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d append: %w", i, err))
			return out
		}
		p.Hub.Notify(e)
		out = append(out, e)
	}
	return out
}

// Inject sends body from peer a to peer b on their live link as if a's
// session had sent it (a hostile peer's extra messages).
func (s *Sim) Inject(a, b int, body replicate.Body) {
	l := s.links[key(a, b)]
	if l == nil || !l.up {
		return
	}
	s.send(l, a, b, replicate.EncodeMessage(nil, body), false)
}

func (s *Sim) send(l *link, from, to int, b []byte, hello bool) {
	s.Counters.Messages++
	s.Counters.Bytes += len(b)
	s.Counters.ByType[replicate.Type(b[0]).String()] += len(b)
	dir := 0
	if from > to {
		dir = 1
	}
	copies := 1
	if !hello {
		if s.cfg.Loss > 0 && s.rng.Float64() < s.cfg.Loss {
			s.Counters.Dropped++
			return
		}
		if s.cfg.Dup > 0 && s.rng.Float64() < s.cfg.Dup {
			s.Counters.Duplicated++
			copies = 2
		}
	}
	for range copies {
		at := s.Now + s.cfg.MinLatency + s.rng.IntN(s.cfg.MaxLatency-s.cfg.MinLatency+1)
		if !hello && s.cfg.Reorder > 0 && s.rng.Float64() < s.cfg.Reorder {
			at = max(at+1+s.rng.IntN(3*s.cfg.MaxLatency), l.helloAt[dir])
		} else {
			at = max(at, l.lastAt[dir]) // FIFO on the link
			l.lastAt[dir] = at
			if hello {
				l.helloAt[dir] = at
			}
		}
		s.seq++
		heap.Push(&s.q, &flight{at: at, seq: s.seq, from: from, to: to, gen: l.gen, b: b, hello: hello})
	}
}

// Step runs one tick.
func (s *Sim) Step() {
	s.Now++
	for s.q.Len() > 0 && s.q[0].at <= s.Now {
		f := heap.Pop(&s.q).(*flight)
		s.deliver(f)
	}
	s.drainAll()
	for _, p := range s.Peers {
		for _, r := range sortedKeys(p.sessions) {
			p.sessions[r].Tick()
		}
	}
	s.drainAll()
	for _, k := range s.Links() {
		l := s.links[k]
		if !l.up && l.dialable && !l.blocked && s.Now-l.downAt >= s.cfg.RedialTicks {
			s.dial(l)
		}
	}
}

func (s *Sim) deliver(f *flight) {
	l := s.links[key(f.from, f.to)]
	p := s.Peers[f.to]
	ss := p.sessions[f.from]
	if l == nil || !l.up || l.gen != f.gen || ss == nil || p.gen[f.from] != f.gen || ss.Closed() {
		return
	}
	var tb [16]byte
	binary.BigEndian.PutUint32(tb[0:], uint32(s.Now))
	binary.BigEndian.PutUint32(tb[4:], uint32(f.from))
	binary.BigEndian.PutUint32(tb[8:], uint32(f.to))
	binary.BigEndian.PutUint32(tb[12:], uint32(len(f.b)))
	s.trace.Write(tb[:])
	s.trace.Write(f.b)
	m, err := replicate.DecodeMessage(f.b)
	if err == nil {
		m.From, m.To = s.Peers[f.from].ID, p.ID
		err = ss.Step(m)
	}
	if s.cfg.Trace != nil {
		s.cfg.Trace(s.Now, f.from, f.to, m, err)
	}
	if err != nil {
		p.Errors = append(p.Errors, PeerError{Remote: f.from, Tick: s.Now, Err: err})
	}
}

func sortedKeys(m map[int]*replicate.Session) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (s *Sim) drainAll() {
	for _, p := range s.Peers {
		s.drain(p)
	}
}

// drain handles every Ready of p's sessions until none has work, as a
// single-goroutine node does.
func (s *Sim) drain(p *Peer) {
	for range 1000 {
		progress := false
		for _, r := range sortedKeys(p.sessions) {
			ss := p.sessions[r]
			if s.drainSession(p, r, ss) {
				progress = true
			}
			if ss.Closed() && !ss.HasReady() {
				p.retire(r)
				if l := s.links[key(p.Index, r)]; l != nil && l.gen == p.gen[r] {
					s.down(l)
				}
			}
		}
		if !progress {
			return
		}
	}
	s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d: Ready never quiesces", p.Index))
}

func (s *Sim) drainSession(p *Peer, r int, ss *replicate.Session) bool {
	progress := false
	for i := 0; ss.HasReady(); i++ {
		if i > 100 {
			s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d session %d: HasReady stays true", p.Index, r))
			return progress
		}
		progress = true
		rd := ss.Ready()
		for _, fp := range rd.ForkProofs {
			if err := p.Store.AddFork(fp); err != nil {
				s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d: fork proof from session %d: %w", p.Index, r, err))
			}
		}
		if err := p.Store.Append(rd.Entries...); err != nil {
			s.Faults = append(s.Faults, fmt.Errorf("sim: peer %d: entries from session %d: %w", p.Index, r, err))
		}
		l := s.links[key(p.Index, r)]
		for _, m := range rd.Messages {
			b := replicate.EncodeMessage(nil, m.Body)
			if e, ok := m.Body.(*replicate.Entries); ok {
				for _, run := range e.Runs {
					s.Counters.EntryBytes += len(run.Raw)
				}
			}
			if l != nil && l.up && l.gen == p.gen[r] {
				s.send(l, p.Index, r, b, m.Body.Type() == replicate.TypeHello)
			}
		}
		ss.Advance(rd)
	}
	return progress
}

// Run steps until done returns true or maxTicks ticks passed; it reports
// whether done was reached.
func (s *Sim) Run(maxTicks int, done func() bool) bool {
	for range maxTicks {
		s.Step()
		if done() {
			return true
		}
	}
	return done()
}

// Idle reports whether no message is in flight.
func (s *Sim) Idle() bool { return s.q.Len() == 0 }

// TraceHash is a SHA-256 over every delivery so far (tick, ends, bytes).
func (s *Sim) TraceHash() [32]byte {
	var h [32]byte
	copy(h[:], s.trace.Sum(nil))
	return h
}

// Session returns peer a's session to peer b, if the link is up.
func (s *Sim) Session(a, b int) *replicate.Session { return s.Peers[a].sessions[b] }

// Stats sums the entry counters of every session peer i had.
func (s *Sim) Stats(i int) replicate.Stats {
	t := s.Peers[i].closed
	for _, ss := range s.Peers[i].sessions {
		st := ss.Stats()
		t.Received += st.Received
		t.Duplicates += st.Duplicates
		t.Accepted += st.Accepted
		t.Ignored += st.Ignored
		t.Sent += st.Sent
		t.Unsigned += st.Unsigned
		t.Withheld += st.Withheld
	}
	return t
}

// Converged reports whether every peer in ps holds the same heads.
func (s *Sim) Converged(ps []int) bool {
	if len(ps) == 0 {
		return true
	}
	ref := s.Peers[ps[0]].Store
	for _, i := range ps[1:] {
		st := s.Peers[i].Store
		if len(st.Authors()) != len(ref.Authors()) {
			return false
		}
		for _, a := range ref.Authors() {
			if st.Head(a) != ref.Head(a) {
				return false
			}
		}
	}
	return true
}

// ConvergedModuloForks is Converged for feeds without a fork proof; for a
// forked feed (every peer of ps must hold its proof) it requires every peer
// to hold the same entries below the fork seq — past it, peers keep whichever
// branch they had, and accept no more.
func (s *Sim) ConvergedModuloForks(ps []int) bool {
	if len(ps) == 0 {
		return true
	}
	ref := s.Peers[ps[0]].Store
	forks, _ := ref.Forks()
	forked := map[identity.ID]uint64{}
	for _, f := range forks {
		forked[f.Author()] = f.Seq()
	}
	for _, i := range ps {
		st := s.Peers[i].Store
		for a, fseq := range forked {
			if _, ok := st.Fork(a); !ok {
				return false
			}
			if st.Head(a).Seq < fseq-1 || ref.Head(a).Seq < fseq-1 {
				return false
			}
			if fseq > 1 {
				x, _ := st.Range(a, fseq-1, fseq-1, 0)
				y, _ := ref.Range(a, fseq-1, fseq-1, 0)
				if string(x) != string(y) {
					return false
				}
			}
		}
		for _, a := range append(st.Authors(), ref.Authors()...) {
			if _, ok := forked[a]; !ok && st.Head(a) != ref.Head(a) {
				return false
			}
		}
	}
	return true
}
