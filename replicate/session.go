package replicate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Ready is the work a session hands to its caller. Fields are handled in
// this order: ForkProofs and Entries are persisted (synced) first, then
// Messages are sent, then Events are handled, then [Session.Advance] is
// called with this Ready.
type Ready struct {
	// ForkProofs are newly learned, verified fork proofs. Persist them with
	// the entries: the store refuses the forked feed past the fork.
	ForkProofs []feed.ForkProof
	// Entries are verified entries to store, in chain order per feed (feeds in
	// ascending author order). Each chains from the stored head or from an
	// entry earlier in this or an earlier Ready. They MUST be durable before
	// Messages are sent and before Advance.
	Entries []feed.Entry
	// Messages go to the remote, in order, after Entries are durable.
	Messages []Message
	// Events report what happened, for logs and the application.
	Events []Event
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventOpen: the handshake completed; Version is the agreed version.
	EventOpen EventKind = iota + 1
	// EventSynced: the remote's Summary equals ours.
	EventSynced
	// EventFork: a fork of Feed at Seq was proven (by this session).
	EventFork
	// EventClosed: the session ended; Err says why (nil: normal goodbye).
	EventClosed
)

func (k EventKind) String() string {
	switch k {
	case EventOpen:
		return "open"
	case EventSynced:
		return "synced"
	case EventFork:
		return "fork"
	case EventClosed:
		return "closed"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is something the caller may log or act on.
type Event struct {
	Kind    EventKind
	Peer    identity.ID
	Feed    identity.ID
	Seq     uint64
	Version uint8
	Err     error
}

func (e Event) String() string {
	switch e.Kind {
	case EventOpen:
		return fmt.Sprintf("%s open v%d", e.Peer.Short(), e.Version)
	case EventFork:
		return fmt.Sprintf("%s fork %s:%d", e.Peer.Short(), e.Feed.Short(), e.Seq)
	case EventClosed:
		if e.Err != nil {
			return fmt.Sprintf("%s closed: %v", e.Peer.Short(), e.Err)
		}
		return e.Peer.Short() + " closed"
	}
	return e.Peer.Short() + " " + e.Kind.String()
}

// Stats counts a session's traffic in entries.
type Stats struct {
	Received   int // entries received in Entries messages
	Duplicates int // received entries the node already had or had pending
	Accepted   int // received entries verified and released
	Ignored    int // received entries not asked for, beyond a gap or a fork
	// Unsigned counts received entries dropped (also counted in Ignored)
	// because the run's newest signature failed and no later entry of the
	// run was signed: a relay passed on altered signature bytes.
	Unsigned int
	Sent     int // entries pushed to the remote
	// Withheld counts pushes not made because no entry near the end of the
	// run had a valid signature (the node holds altered signature bytes);
	// the remote gets that part of the feed from another peer.
	Withheld int
}

type state uint8

const (
	stateHello state = iota
	stateOpen
	stateClosed
)

// remoteFeed is what a session knows about one feed at the remote.
type remoteFeed struct {
	mode     Mode // how the remote wants it from us, if modeSet
	modeSet  bool
	head     uint64 // the remote's announced head seq
	sent     uint64 // highest seq pushed to the remote (≥ head while in flight)
	sentTick int    // tick of the last push or acknowledgement progress
	told     uint64 // our seq the remote knows (notes or pushes)
	checked  uint64 // the seq of the last note checked against our entries
	poked    uint64 // seq of our entry pushed to show the remote a fork

	claim       uint64 // the remote's announced head beyond ours (lazy)
	claimTick   int
	eagerTick   int  // tick this session was made eager by its claim
	claimBanned bool // it claimed, was made eager, delivered nothing
	bannedUntil int  // tick the ban ends (a lost message is not a lie forever)
	bans        int  // consecutive bans: the next lasts twice as long
	wantRetried bool // the eager Want was sent again after a stall
	named       bool // the remote named this feed (counts against MaxFeeds)
}

// Session is one side of a replication session with one remote peer. See
// the package documentation for the contract.
type Session struct {
	cfg    Config
	hub    *Hub
	num    int
	tag    [4]byte
	remote identity.ID
	state  state
	ver    uint8
	rlim   Limits
	ticks  int
	err    error

	// Outbox.
	out        []Body
	notes      map[identity.ID]bool // feeds to announce in the next Heads (true: with head ID)
	lazy       map[identity.ID]bool // feeds to announce at the next Tick
	wantDelta  map[identity.ID]Mode
	wantFull   bool
	events     []Event
	forkProofs []feed.ForkProof
	forksSent  int

	// The remote.
	theirs        map[identity.ID]*remoteFeed
	remoteDefault Mode
	knowTheirs    bool
	dirty         map[identity.ID]bool // feeds to consider for pushing
	inflight      map[identity.ID]bool // feeds with sent > head
	inflightN     uint64
	claims        map[identity.ID]bool
	namedN        int // distinct feeds the remote named
	changeCursor  int
	recvUnacked   int

	summaryTick         int
	summaryVersion      uint64
	summaryEvery        int
	matched             bool
	fullSent            bool // a full Heads was sent in this session
	mismatches          int  // summaries in a row that mismatched with nothing moving
	lastTheirRoot       [32]byte
	lastMismatchVersion uint64

	// Verified entries not yet released, as contiguous runs per feed.
	pending map[identity.ID][][]feed.Entry
	// Feeds with entries released in a Ready not yet advanced.
	outstanding map[identity.ID]bool

	stats Stats
}

// New creates a session and queues its Hello.
func New(cfg Config) (*Session, error) {
	c := cfg.Clone()
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	hub := c.Hub
	if hub == nil {
		hub = NewHub()
	}
	if err := hub.load(&c); err != nil {
		return nil, err
	}
	s := &Session{
		cfg: c, hub: hub, num: hub.nextSession, remote: c.Remote,
		notes: map[identity.ID]bool{}, lazy: map[identity.ID]bool{}, wantDelta: map[identity.ID]Mode{},
		theirs: map[identity.ID]*remoteFeed{}, dirty: map[identity.ID]bool{}, inflight: map[identity.ID]bool{},
		claims: map[identity.ID]bool{}, pending: map[identity.ID][][]feed.Entry{}, outstanding: map[identity.ID]bool{},
		summaryEvery: c.SummaryTicks,
	}
	hub.nextSession++
	s.tag = networkTag(c.Network)
	_, s.changeCursor = hub.changesSince(0)
	s.out = append(s.out, s.hello())
	return s, nil
}

func networkTag(n identity.Network) [4]byte {
	h := sha256.Sum256(n[:])
	return [4]byte(h[:4])
}

func (s *Session) hello() *Hello {
	msg := append(append([]byte(nil), s.cfg.Binding...), s.cfg.Self[:]...)
	return &Hello{MinVersion: MinVersion, MaxVersion: MaxVersion, NetworkTag: s.tag, From: s.cfg.Self,
		Proof: s.cfg.Key.Sign(HelloPurpose, s.cfg.Network, msg), Limits: s.cfg.Limits}
}

// Remote returns the remote identity: Config.Remote, or the one its Hello
// proved (zero before the Hello).
func (s *Session) Remote() identity.ID { return s.remote }

// Version returns the agreed protocol version (0 before the handshake).
func (s *Session) Version() uint8 { return s.ver }

// Err returns why the session ended, or nil while it runs or after a normal
// goodbye.
func (s *Session) Err() error { return s.err }

// Closed reports whether the session ended.
func (s *Session) Closed() bool { return s.state == stateClosed }

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return s.stats }

// Hub returns the hub the session belongs to.
func (s *Session) Hub() *Hub { return s.hub }

func (s *Session) logf(format string, args ...any) {
	s.cfg.Log("%s->%s "+format, append([]any{s.cfg.Self.Short(), s.remote.Short()}, args...)...)
}

// peerErr builds the error that drops the remote.
func (s *Session) peerErr(msg Body, err error, detail string, args ...any) *PeerError {
	e := &PeerError{Peer: s.remote, Err: err, Detail: fmt.Sprintf(detail, args...)}
	if msg != nil {
		e.Message = msg.String()
	}
	return e
}

// fail ends the session: everything queued is dropped but a Goodbye.
func (s *Session) fail(err error) error {
	if s.state == stateClosed {
		return err
	}
	s.err = err
	reason := err.Error()
	if len(reason) > MaxReason {
		reason = reason[:MaxReason]
	}
	for !utf8.ValidString(reason) {
		reason = reason[:len(reason)-1]
	}
	s.out = []Body{&Goodbye{Code: codeOf(err), Reason: reason}}
	s.notes, s.lazy, s.wantDelta, s.wantFull = map[identity.ID]bool{}, map[identity.ID]bool{}, map[identity.ID]Mode{}, false
	s.close(err)
	return err
}

func (s *Session) close(err error) {
	s.state = stateClosed
	clear(s.notes)
	clear(s.lazy)
	clear(s.wantDelta)
	s.wantFull = false
	s.events = append(s.events, Event{Kind: EventClosed, Peer: s.remote, Err: err})
	s.hub.remove(s)
	s.pending = map[identity.ID][][]feed.Entry{}
	// A Ready that was never advanced was never stored: forget it.
	for a := range s.outstanding {
		if fs := s.hub.feeds[a]; fs != nil && fs.released.Seq > fs.stored.Seq {
			fs.released = fs.stored
			s.hub.rechain(a, fs)
		}
	}
	clear(s.outstanding)
}

// Close ends the session locally: a Goodbye with CodeNormal is queued, the
// hub forgets the session's pending entries, and the entries of a Ready that
// was not advanced (the store failed) count as not stored; its feeds go to
// other sessions.
func (s *Session) Close() {
	if s.state == stateClosed {
		return
	}
	s.out = append(s.out, &Goodbye{Code: CodeNormal})
	s.close(nil)
}

// Step feeds one message from the remote into the session. It returns a
// *PeerError (and the session is closed) when the remote broke the protocol,
// a limit or sent something invalid, or said goodbye other than normally.
func (s *Session) Step(m Message) error {
	if s.state == stateClosed {
		return ErrClosed
	}
	if m.Body == nil {
		return s.fail(s.peerErr(nil, ErrProtocol, "empty message"))
	}
	if m.size > int(s.cfg.Limits.MaxFrame) {
		return s.fail(s.peerErr(m.Body, ErrLimit, "%d bytes, MaxFrame %d", m.size, s.cfg.Limits.MaxFrame))
	}
	if s.state == stateHello {
		h, ok := m.Body.(*Hello)
		if !ok {
			if g, ok := m.Body.(*Goodbye); ok {
				return s.goodbye(g)
			}
			return s.fail(s.peerErr(m.Body, ErrProtocol, "sent before Hello"))
		}
		return s.stepHello(h)
	}
	var err error
	switch b := m.Body.(type) {
	case *Hello:
		err = s.peerErr(b, ErrProtocol, "second Hello")
	case *Summary:
		err = s.stepSummary(b)
	case *Heads:
		err = s.stepHeads(b)
	case *Want:
		err = s.stepWant(b)
	case *Entries:
		err = s.stepEntries(b)
	case *Fork:
		err = s.stepFork(b)
	case *Goodbye:
		return s.goodbye(b)
	default:
		err = s.peerErr(b, ErrProtocol, "unknown message")
	}
	if err != nil {
		return s.fail(err)
	}
	return nil
}

func (s *Session) goodbye(g *Goodbye) error {
	var err error
	if g.Code != CodeNormal {
		err = s.peerErr(g, ErrRemoteClosed, "code %d", g.Code)
		s.err = err
	}
	s.close(err)
	return err
}

func (s *Session) stepHello(h *Hello) error {
	lo, hi := max(MinVersion, h.MinVersion), min(MaxVersion, h.MaxVersion)
	switch {
	case lo > hi:
		return s.fail(s.peerErr(h, ErrVersion, "we speak %d..%d, peer speaks %d..%d", MinVersion, MaxVersion, h.MinVersion, h.MaxVersion))
	case h.NetworkTag != s.tag:
		if s.remote == (identity.ID{}) {
			s.remote = h.From
		}
		return s.fail(s.peerErr(h, ErrWrongNetwork, "peer is in network %x, we are in network %s", h.NetworkTag, s.cfg.Network.Short()))
	case s.remote != (identity.ID{}) && h.From != s.remote:
		return s.fail(s.peerErr(h, ErrWrongPeer, "Hello from %s, transport authenticated %s", h.From.Short(), s.remote.Short()))
	case h.From == s.cfg.Self:
		return s.fail(s.peerErr(h, ErrWrongPeer, "peer claims our own identity"))
	}
	s.remote = h.From
	if err := h.From.CheckKey(); err != nil {
		// A low-order key can "sign" without a private key.
		return s.fail(s.peerErr(h, ErrBadProof, "identity %s: %v", h.From.Short(), err))
	}
	msg := append(append([]byte(nil), s.cfg.Binding...), h.From[:]...)
	if !identity.Verify(h.From, HelloPurpose, s.cfg.Network, msg, h.Proof[:]) {
		return s.fail(s.peerErr(h, ErrBadProof, "signature does not verify for %s over this connection's binding in network %s", h.From.Short(), s.cfg.Network.Short()))
	}
	if err := h.Limits.Validate(); err != nil {
		return s.fail(s.peerErr(h, ErrProtocol, "%s", trimPrefix(err.Error())))
	}
	s.ver, s.rlim, s.state = uint8(hi), h.Limits, stateOpen
	s.events = append(s.events, Event{Kind: EventOpen, Peer: s.remote, Version: s.ver})
	s.hub.open(s)
	s.sendSummary()
	s.wantFull = true
	return nil
}

func (s *Session) sendSummary() {
	n, root := s.hub.summary()
	s.out = append(s.out, &Summary{Known: s.knowTheirs, Count: n, Root: root})
	s.summaryTick, s.summaryVersion = s.ticks, s.hub.version
}

func (s *Session) rf(a identity.ID) *remoteFeed {
	r := s.theirs[a]
	if r == nil {
		r = &remoteFeed{}
		s.theirs[a] = r
	}
	return r
}

// remoteMode is how the remote wants a's feed from us.
func (s *Session) remoteMode(a identity.ID) Mode {
	if r := s.theirs[a]; r != nil && r.modeSet {
		return r.mode
	}
	return s.remoteDefault
}

func (s *Session) markDirtyAll() {
	for a := range s.hub.feeds {
		s.dirty[a] = true
	}
}

func (s *Session) stepSummary(m *Summary) error {
	n, root := s.hub.summary()
	if m.Count == n && m.Root == root {
		if !s.matched {
			s.events = append(s.events, Event{Kind: EventSynced, Peer: s.remote})
		}
		s.matched, s.mismatches, s.summaryEvery = true, 0, s.cfg.SummaryTicks
		s.knowTheirs = true
		for a, fs := range s.hub.feeds {
			hd := s.hub.announced(a, fs)
			if hd.Seq == 0 {
				continue
			}
			r := s.rf(a)
			s.setHead(a, r, hd.Seq)
			r.told = max(r.told, hd.Seq)
		}
		return nil
	}
	s.matched = false
	// A mismatch while either side's heads move is normal (entries in
	// flight). Only a mismatch that stays put over three summaries, with
	// nothing left to tell, means a note was lost: then the full vector.
	if m.Root == s.lastTheirRoot && s.hub.version == s.lastMismatchVersion {
		s.mismatches++
	} else {
		s.mismatches = 0
	}
	s.lastTheirRoot, s.lastMismatchVersion = m.Root, s.hub.version
	if !m.Known || s.mismatches >= 2 {
		s.mismatches = 0
		s.sendHeads(true)
		return nil
	}
	for a, fs := range s.hub.feeds {
		if r := s.theirs[a]; fs.stored.Seq > 0 && (r == nil || s.hub.announced(a, fs).Seq > max(r.told, r.head)) && s.remoteMode(a) != None {
			s.notes[a] = true
		}
	}
	return nil
}

// sendHeads queues our full heads vector (split to fit the remote's frame).
func (s *Session) sendHeads(full bool) {
	authors := make([]identity.ID, 0, len(s.hub.feeds))
	for a, fs := range s.hub.feeds {
		if s.hub.announced(a, fs).Seq > 0 {
			authors = append(authors, a)
		}
	}
	slices.SortFunc(authors, compareID)
	if s.fullSent {
		// A repeated full vector: the remote may have missed our forks and
		// our Want too.
		s.forksSent = 0
		s.wantFull = true
	}
	s.fullSent = true
	if len(authors) > int(s.rlim.MaxFeeds) {
		s.logf("announcing %d of %d feeds (remote MaxFeeds)", s.rlim.MaxFeeds, len(authors))
		authors = authors[:s.rlim.MaxFeeds]
	}
	per := max(1, (int(s.rlim.MaxFrame)-16)/(identity.IDSize+10+feed.IDSize))
	for len(authors) > 0 || full {
		k := min(per, len(authors))
		h := &Heads{Full: full && k == len(authors)}
		for _, a := range authors[:k] {
			st := s.hub.announced(a, s.hub.feeds[a])
			h.Notes = append(h.Notes, Note{Author: a, Seq: st.Seq, ID: st.ID})
			r := s.rf(a)
			r.told = max(r.told, st.Seq)
			delete(s.notes, a)
		}
		authors = authors[k:]
		s.out = append(s.out, h)
		if h.Full || !full {
			break
		}
	}
	s.recvUnacked = 0
}

// setHead records that the remote holds a's feed up to seq.
func (s *Session) setHead(a identity.ID, r *remoteFeed, seq uint64) {
	if seq <= r.head {
		return
	}
	if r.sent > r.head {
		s.inflightN -= min(r.sent, seq) - r.head
	}
	r.head = seq
	r.sentTick = s.ticks
	if r.sent <= r.head {
		r.sent = r.head
		delete(s.inflight, a)
	}
	s.dirty[a] = true
}

// named returns the remote feed state of a feed the remote names, counting
// the distinct feeds it names against MaxFeeds.
func (s *Session) named(m Body, a identity.ID) (*remoteFeed, error) {
	r := s.rf(a)
	if !r.named {
		if s.namedN >= int(s.cfg.Limits.MaxFeeds) {
			return nil, s.peerErr(m, ErrLimit, "more than MaxFeeds %d feeds named", s.cfg.Limits.MaxFeeds)
		}
		r.named = true
		s.namedN++
	}
	return r, nil
}

func (s *Session) stepHeads(m *Heads) error {
	for _, n := range m.Notes {
		r, err := s.named(m, n.Author)
		if err != nil {
			return err
		}
		s.setHead(n.Author, r, n.Seq)
		if n.Seq == 0 {
			continue
		}
		fs := s.hub.feed(n.Author)
		// Same seq, another ID: show the remote our entry; it proves the fork.
		if n.ID != (feed.ID{}) && n.Seq <= fs.stored.Seq && n.Seq != r.checked {
			r.checked = n.Seq
			ours, err := s.idAt(n.Author, n.Seq, fs)
			if err != nil {
				return err
			}
			if ours != n.ID && r.poked != n.Seq && (fs.forkSeq == 0 || n.Seq < fs.forkSeq) {
				r.poked = n.Seq
				if err := s.poke(n.Author, n.Seq); err != nil {
					return err
				}
			}
		}
		// A lazy remote ahead of us: remember since when, to detect a stall.
		if r.claimBanned && s.ticks >= r.bannedUntil {
			r.claimBanned, r.wantRetried = false, false
		}
		claim := n.Seq
		if fs.forkSeq > 0 {
			claim = min(claim, fs.forkSeq-1) // the prefix before a fork still spreads
		}
		if claim > fs.accepted.Seq && s.hub.wanted(n.Author) && !r.claimBanned {
			if r.claim <= fs.accepted.Seq {
				r.claimTick = s.ticks
			}
			r.claim = max(r.claim, claim)
			s.claims[n.Author] = true
			if s.hub.eagerOf(n.Author) == nil {
				s.hub.setEager(n.Author, s)
				r.eagerTick = s.ticks
			}
		}
	}
	if m.Full {
		if !s.knowTheirs {
			s.markDirtyAll()
		}
		s.knowTheirs = true
	}
	return nil
}

// idAt returns the ID of our entry of a's feed at seq (≤ stored).
func (s *Session) idAt(a identity.ID, seq uint64, fs *feedState) (feed.ID, error) {
	if seq == fs.stored.Seq {
		return fs.stored.ID, nil
	}
	es, err := s.readRange(a, seq, seq, 0)
	if err != nil || len(es) == 0 {
		return feed.ID{}, err
	}
	return es[0].ID(), nil
}

func (s *Session) readRange(a identity.ID, from, to uint64, maxBytes int) ([]feed.Entry, error) {
	raw, err := s.hub.storage.Range(a, from, to, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: range %s:%d..%d: %v", ErrStorage, a.Short(), from, to, err)
	}
	var out []feed.Entry
	for len(raw) > 0 {
		e, n, err := feed.DecodePrefix(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: range %s:%d..%d: %v", ErrStorage, a.Short(), from, to, err)
		}
		out = append(out, e)
		raw = raw[n:]
	}
	return out, nil
}

// poke pushes our entries up to seq (the last ones, as many as a frame
// holds, from up to pokeSpan before) so the remote, which holds another
// entry at seq, can prove the fork at the first seq where we differ: every
// peer then freezes the feed at the same place.
func (s *Session) poke(a identity.ID, seq uint64) error {
	// Within the remote's window: a poke is not acknowledged like a push.
	span := min(uint64(pokeSpan), max(1, uint64(s.rlim.Window)/2))
	from := uint64(1)
	if seq > span {
		from = seq - span + 1
	}
	for {
		raw, err := s.hub.storage.Range(a, from, seq, int(s.rlim.MaxFrame)-64)
		if err != nil {
			return fmt.Errorf("%w: range %s:%d..%d: %v", ErrStorage, a.Short(), from, seq, err)
		}
		n := countEntries(raw)
		if n == 0 {
			return nil
		}
		if from+uint64(n)-1 < seq {
			from += max(1, uint64(n)/2) // too big for one frame: start later
			continue
		}
		s.out = append(s.out, &Entries{Runs: []Run{{Author: a, First: from, Count: n, Raw: raw}}})
		return nil
	}
}

// pokeSpan is how many entries before a suspected fork a poke shows.
const pokeSpan = 64

func (s *Session) stepWant(m *Want) error {
	if m.Full {
		s.remoteDefault = m.Default
		for _, r := range s.theirs {
			r.modeSet = false
		}
		s.markDirtyAll()
	}
	for _, f := range m.Feeds {
		r, err := s.named(m, f.Author)
		if err != nil {
			return err
		}
		r.mode, r.modeSet = f.Mode, true
		s.dirty[f.Author] = true
	}
	return nil
}

func (s *Session) stepFork(m *Fork) error {
	if err := m.Proof.Verify(s.cfg.Network); err != nil {
		return s.peerErr(m, ErrInvalid, "%v", err)
	}
	s.learnFork(m.Proof)
	return nil
}

func (s *Session) learnFork(p feed.ForkProof) {
	if !s.hub.addFork(p) {
		return
	}
	s.forkProofs = append(s.forkProofs, p)
	s.events = append(s.events, Event{Kind: EventFork, Peer: s.remote, Feed: p.Author(), Seq: p.Seq()})
	s.logf("fork %s:%d", p.Author().Short(), p.Seq())
}

func (s *Session) stepEntries(m *Entries) error {
	total := 0
	for i := range m.Runs {
		total += m.Runs[i].Count
	}
	s.recvUnacked += total
	if total > int(s.cfg.Limits.Window) || s.recvUnacked > 4*int(s.cfg.Limits.Window) {
		return s.peerErr(m, ErrLimit, "%d entries unacknowledged, window %d", s.recvUnacked, s.cfg.Limits.Window)
	}
	for i := range m.Runs {
		if err := s.stepRun(m, &m.Runs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) stepRun(m *Entries, run *Run) error {
	es, err := run.Entries()
	if err != nil {
		return s.peerErr(m, ErrMalformed, "%v", err)
	}
	a := run.Author
	s.stats.Received += len(es)
	if !s.hub.wanted(a) {
		s.stats.Ignored += len(es)
		return nil
	}
	if !s.hub.keyChecked(a) {
		if err := a.CheckKey(); err != nil {
			// Signatures of a low-order key prove nothing.
			return s.peerErr(m, ErrInvalid, "feed %s: %v", a.Short(), err)
		}
	}
	fs := s.hub.feed(a)
	if _, ok := s.notes[a]; !ok {
		s.notes[a] = false // acknowledge (seq only), once what we accept is stored
	}
	if fs.forkSeq > 0 {
		k := 0
		for k < len(es) && es[k].Seq < fs.forkSeq {
			k++
		}
		s.stats.Ignored += len(es) - k
		es = es[:k]
	}
	acc := fs.accepted
	k := 0
	for k < len(es) && es[k].Seq <= acc.Seq {
		k++
	}
	dups, fresh := es[:k], es[k:]
	s.stats.Duplicates += len(dups)
	if len(dups) > 0 {
		forked, err := s.checkDups(a, dups, fs)
		if err != nil || forked {
			s.stats.Ignored += len(fresh)
			return err
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if fresh[0].Seq != acc.Seq+1 {
		s.stats.Ignored += len(fresh)
		return nil
	}
	if err := s.verifyRun(acc, fresh); err != nil && badNewestSig(err, fresh) {
		// Links and fields are fine, the newest signature is not: maybe an
		// honest relay of a copy whose intermediate signatures a hostile
		// relay altered (IDs do not cover signatures). Keep the prefix up
		// to the newest entry that is signed: the hash links authenticate
		// it. Only a run where no entry of the bounded walk is signed drops
		// the peer: an honest sender ends every run at an entry it verified
		// (docs/protocol.md §9, "signature poisoning").
		s.hub.sigs.note(&fresh[len(fresh)-1], false)
		k := s.signedPrefix(fresh)
		if k == 0 {
			return s.peerErr(m, ErrInvalid, "%v (and none of the %d entries before it is signed)", err, min(len(fresh)-1, maxSigWalk))
		}
		s.stats.Unsigned += len(fresh) - k
		s.stats.Ignored += len(fresh) - k
		s.logf("%s:%d..%d: newest signature fails, keeping %d..%d (signed at %d)", a.Short(), fresh[0].Seq, fresh[len(fresh)-1].Seq, fresh[0].Seq, fresh[k-1].Seq, fresh[k-1].Seq)
		fresh = fresh[:k]
	} else if err != nil {
		var fe *feed.Error
		if errors.As(err, &fe) && errors.Is(err, feed.ErrBrokenChain) && fe.Seq == fresh[0].Seq && fe.Field == "prev" {
			// It follows another branch than ours: maybe a fork. Our note,
			// with our head ID, lets the remote show us its entry there.
			if fresh[0].Verify(s.cfg.Network) == nil {
				s.notes[a] = true
				s.stats.Ignored += len(fresh)
				s.rf(a).checked = 0
				return nil
			}
		}
		return s.peerErr(m, ErrInvalid, "%v", err)
	}
	s.noteSig(&fresh[len(fresh)-1], true)
	s.stats.Accepted += len(fresh)
	r := s.rf(a)
	r.claimBanned, r.wantRetried, r.bans = false, false, 0
	s.setHead(a, r, fresh[len(fresh)-1].Seq)
	runs := s.pending[a]
	if n := len(runs); n > 0 && runs[n-1][len(runs[n-1])-1].Seq == acc.Seq {
		runs[n-1] = append(runs[n-1], fresh...)
	} else {
		runs = append(runs, slices.Clone(fresh))
	}
	s.pending[a] = runs
	fs.accepted = fresh[len(fresh)-1].Head()
	return nil
}

// checkDups compares received entries the node already has with its own;
// a difference at one seq is a fork.
func (s *Session) checkDups(a identity.ID, dups []feed.Entry, fs *feedState) (bool, error) {
	last := dups[len(dups)-1]
	if last.Seq > fs.stored.Seq {
		return false, nil // pending, not stored: compared once stored
	}
	ourLast, err := s.idAt(a, last.Seq, fs)
	if err != nil {
		return false, err
	}
	if ourLast == last.ID() {
		return false, nil // hash links: all earlier ones are ours too
	}
	ours, err := s.readRange(a, dups[0].Seq, last.Seq, 1<<30)
	if err != nil {
		return false, err
	}
	for i := range dups {
		if i >= len(ours) || ours[i].ID() == dups[i].ID() {
			continue
		}
		p, err := feed.NewForkProof(s.cfg.Network, ours[i], dups[i])
		if err != nil {
			s.logf("no fork proof at %s:%d: %v", a.Short(), dups[i].Seq, err)
			return true, nil
		}
		s.learnFork(p)
		return true, nil
	}
	return true, nil
}

// queueWant asks the remote to send a's feed in mode m.
func (s *Session) queueWant(a identity.ID, m Mode) {
	if s.state != stateOpen {
		return
	}
	s.wantDelta[a] = m
}

// queueFullWant re-sends the complete Want (after becoming the default).
func (s *Session) queueFullWant() {
	if s.state == stateOpen {
		s.wantFull = true
	}
}

func (s *Session) buildWant() *Want {
	w := &Want{}
	if s.wantFull {
		w.Full = true
		switch {
		case s.hub.filter != nil:
			w.Default = None
		case s.hub.defaultEager == s:
			w.Default = Eager
		default:
			w.Default = Lazy
		}
		for a, fs := range s.hub.feeds {
			switch {
			case !s.hub.wanted(a):
			case fs.eager == s && w.Default != Eager:
				s.wantDelta[a] = Eager
			case fs.eager != nil && fs.eager != s && w.Default == Eager:
				s.wantDelta[a] = Lazy
			}
		}
		if s.hub.filter != nil {
			for a := range s.hub.filter {
				if _, ok := s.wantDelta[a]; !ok {
					if s.hub.eagerOf(a) == nil {
						s.hub.feed(a).eager = s
					}
					if s.hub.eagerOf(a) == s {
						s.wantDelta[a] = Eager
					} else {
						s.wantDelta[a] = Lazy
					}
				}
			}
		}
	}
	for a, m := range s.wantDelta {
		w.Feeds = append(w.Feeds, FeedMode{Author: a, Mode: m})
	}
	slices.SortFunc(w.Feeds, func(x, y FeedMode) int { return compareID(x.Author, y.Author) })
	s.wantFull, s.wantDelta = false, map[identity.ID]Mode{}
	return w
}

// Notify tells the session's hub that entries were stored locally; see
// [Hub.Notify].
func (s *Session) Notify(entries ...feed.Entry) { s.hub.Notify(entries...) }

// Tick advances the session's abstract clock by one.
func (s *Session) Tick() {
	if s.state == stateClosed {
		return
	}
	s.ticks++
	if s.state == stateHello {
		if s.ticks > s.cfg.HandshakeTicks {
			s.fail(s.peerErr(nil, ErrProtocol, "no Hello within %d ticks", s.cfg.HandshakeTicks))
		}
		return
	}
	// Lazy announcements, batched per tick, without head IDs (acks and
	// recovery notes carry them, for fork checks).
	for a := range s.lazy {
		if _, ok := s.notes[a]; !ok {
			s.notes[a] = false
		}
	}
	clear(s.lazy)
	// Unacknowledged pushes: send again.
	for a := range s.inflight {
		r := s.theirs[a]
		if s.ticks-r.sentTick >= s.cfg.ResendTicks {
			s.inflightN -= r.sent - r.head
			r.sent = r.head
			r.sentTick = s.ticks
			delete(s.inflight, a)
			s.dirty[a] = true
		}
	}
	// Stalls: a lazy remote is ahead and the eager source did not deliver.
	for a := range s.claims {
		r, fs := s.theirs[a], s.hub.feeds[a]
		if fs.forkSeq > 0 {
			r.claim = min(r.claim, fs.forkSeq-1)
		}
		if r.claim <= fs.accepted.Seq || r.claimBanned {
			r.claim = 0
			delete(s.claims, a)
			continue
		}
		if s.hub.eagerOf(a) == s {
			if s.ticks-r.eagerTick >= 2*s.cfg.StallTicks && s.ticks-r.claimTick >= 2*s.cfg.StallTicks {
				if r.eagerTick > 0 && r.wantRetried {
					// It claimed, we asked twice, nothing came: ignore its
					// claims for a while, longer each time.
					r.claimBanned = true
					r.bans++
					r.bannedUntil = s.ticks + s.cfg.StallTicks<<min(r.bans+2, 10)
					r.claim = 0
					delete(s.claims, a)
					continue
				}
				// Our Want may have been lost: ask again, once.
				r.wantRetried = true
				r.eagerTick = s.ticks
				s.wantDelta[a] = Eager
			}
			continue
		}
		if s.ticks-r.claimTick >= s.cfg.StallTicks {
			s.hub.setEager(a, s)
			r.eagerTick = s.ticks
			r.claimTick = s.ticks
		}
	}
	// Anti-entropy: a Summary when our heads changed or we did not match.
	if s.ticks-s.summaryTick >= s.summaryEvery && (s.hub.version != s.summaryVersion || !s.matched) {
		if !s.matched && s.hub.version == s.summaryVersion {
			s.summaryEvery = min(2*s.summaryEvery, 64*s.cfg.SummaryTicks)
		} else {
			s.summaryEvery = s.cfg.SummaryTicks
		}
		s.sendSummary()
	}
}

// prepare moves pushes and acknowledgements into the outbox.
func (s *Session) prepare() error {
	if s.state != stateOpen {
		return nil
	}
	changed, cursor := s.hub.changesSince(s.changeCursor)
	for _, a := range changed {
		s.dirty[a] = true
	}
	s.changeCursor = cursor
	s.hub.compact()
	for ; s.forksSent < len(s.hub.forkLog); s.forksSent++ {
		s.out = append(s.out, &Fork{Proof: s.hub.forks[s.hub.forkLog[s.forksSent]]})
	}
	if len(s.dirty) == 0 {
		return nil
	}
	authors := make([]identity.ID, 0, len(s.dirty))
	for a := range s.dirty {
		authors = append(authors, a)
	}
	slices.SortFunc(authors, compareID)
	var frame *Entries
	frameSize := 0
	maxFrame := int(s.rlim.MaxFrame) - 16
	for _, a := range authors {
		fs := s.hub.feeds[a]
		if fs == nil {
			delete(s.dirty, a)
			continue
		}
		top := fs.stored.Seq
		if fs.forkSeq > 0 {
			top = min(top, fs.forkSeq-1)
		}
		r := s.rf(a)
		switch s.remoteMode(a) {
		case Eager:
			if !s.knowTheirs {
				continue // wait until we know what the remote has
			}
			from := max(r.sent, r.head) + 1
			for from <= top {
				if s.inflightN >= uint64(s.rlim.Window) {
					break
				}
				if frame == nil || maxFrame-frameSize < feed.MaxEntrySize {
					frame = &Entries{}
					frameSize = 8
					s.out = append(s.out, frame)
				}
				n := min(top-from+1, uint64(s.rlim.Window)-s.inflightN)
				raw, err := s.hub.storage.Range(a, from, from+n-1, maxFrame-frameSize)
				if err != nil {
					return fmt.Errorf("%w: range %s:%d..%d: %v", ErrStorage, a.Short(), from, from+n-1, err)
				}
				cnt := countEntries(raw)
				if cnt == 0 {
					break
				}
				// The remote authenticates the run by its newest signature:
				// end it at an entry known to be signed (a relay may hold
				// entries whose signature bytes a hostile relay altered).
				k, err := s.signedEnd(a, from, raw, cnt)
				if err != nil {
					return fmt.Errorf("%w: range %s:%d..%d: %v", ErrStorage, a.Short(), from, from+uint64(cnt)-1, err)
				}
				if k == 0 {
					// Withhold it until something changes (an ack, a resend
					// tick, a new head): the remote gets it from another peer.
					s.stats.Withheld++
					s.logf("%s:%d..%d: no valid signature among the last entries, not sent", a.Short(), from, from+uint64(cnt)-1)
					if len(frame.Runs) == 0 {
						s.out = s.out[:len(s.out)-1] // the frame just opened: drop it
						frame = nil
					}
					delete(s.dirty, a)
					break
				}
				cnt, raw = k, raw[:sizeOf(raw, k)]
				frame.Runs = append(frame.Runs, Run{Author: a, First: from, Count: cnt, Raw: raw})
				frameSize += len(raw) + 4
				r.sent = from + uint64(cnt) - 1
				r.told = max(r.told, r.sent)
				r.sentTick = s.ticks
				s.inflight[a] = true
				s.inflightN += uint64(cnt)
				s.stats.Sent += cnt
				from = r.sent + 1
			}
			if from > top {
				delete(s.dirty, a)
			}
		case Lazy:
			if top > r.told && top > r.head {
				s.lazy[a] = true
			}
			delete(s.dirty, a)
		default:
			delete(s.dirty, a)
		}
	}
	return nil
}

// sizeOf is the size of the first n entries encoded in raw.
func sizeOf(raw []byte, n int) int {
	off := 0
	for range n {
		k, err := feed.SizeAt(raw[off:])
		if err != nil || off+k > len(raw) {
			break
		}
		off += k
	}
	return off
}

func countEntries(raw []byte) int {
	n := 0
	for len(raw) > 0 {
		k, err := feed.SizeAt(raw)
		if err != nil || k > len(raw) {
			break
		}
		raw = raw[k:]
		n++
	}
	return n
}

// HasReady reports whether Ready would return any work.
func (s *Session) HasReady() bool {
	if err := s.prepare(); err != nil {
		s.fail(err)
	}
	if len(s.out) > 0 || len(s.events) > 0 || len(s.forkProofs) > 0 || len(s.wantDelta) > 0 || s.wantFull {
		return true
	}
	for a := range s.notes {
		if len(s.pending[a]) == 0 {
			return true
		}
	}
	for a, runs := range s.pending {
		if s.releasable(a, runs[0]) {
			return true
		}
	}
	return false
}

// releasable reports whether Ready would release or drop (part of) run.
func (s *Session) releasable(a identity.ID, run []feed.Entry) bool {
	fs := s.hub.feeds[a]
	if fs.forkSeq > 0 && run[len(run)-1].Seq >= fs.forkSeq {
		return true
	}
	for i := range run {
		if run[i].Seq > fs.released.Seq {
			return run[i].Seq == fs.released.Seq+1 && run[i].Prev == fs.released.ID
		}
	}
	return true // all of it released by another session: drop
}

// Ready returns the work to do now; the caller handles it and calls Advance.
func (s *Session) Ready() Ready {
	if err := s.prepare(); err != nil {
		s.fail(err)
	}
	var rd Ready
	rd.ForkProofs, s.forkProofs = s.forkProofs, nil
	// Release pending runs that chain from released heads.
	authors := make([]identity.ID, 0, len(s.pending))
	for a := range s.pending {
		authors = append(authors, a)
	}
	slices.SortFunc(authors, compareID)
	for _, a := range authors {
		fs := s.hub.feeds[a]
		runs := s.pending[a]
		for len(runs) > 0 {
			run := runs[0]
			if fs.forkSeq > 0 {
				k := 0
				for k < len(run) && run[k].Seq < fs.forkSeq {
					k++
				}
				run = run[:k]
			}
			// Drop what another session released meanwhile.
			k := 0
			for k < len(run) && run[k].Seq <= fs.released.Seq {
				k++
			}
			run = run[k:]
			if len(run) == 0 {
				runs = runs[1:]
				continue
			}
			runs[0] = run
			if run[0].Seq != fs.released.Seq+1 || run[0].Prev != fs.released.ID {
				break
			}
			rd.Entries = append(rd.Entries, run...)
			fs.released = run[len(run)-1].Head()
			s.outstanding[a] = true
			runs = runs[1:]
		}
		if len(runs) == 0 {
			delete(s.pending, a)
		} else {
			s.pending[a] = runs
		}
	}
	var bodies []Body
	if len(s.out) > 0 && s.out[0].Type() == TypeHello {
		bodies, s.out = append(bodies, s.out[0]), s.out[1:] // always first
	}
	if s.state == stateOpen {
		if s.wantFull || len(s.wantDelta) > 0 {
			bodies = append(bodies, s.buildWant())
		}
	}
	bodies = append(bodies, s.out...)
	s.out = nil
	// Acknowledgements and announcements: heads the remote does not know.
	if s.state == stateOpen && len(s.notes) > 0 {
		h := &Heads{}
		for a := range s.notes {
			if len(s.pending[a]) > 0 {
				continue // acknowledge once stored
			}
			// Released entries are durable before these messages are sent.
			fs := s.hub.feeds[a]
			if fs == nil || fs.released.Seq == 0 {
				delete(s.notes, a)
				continue
			}
			hd := fs.released
			if fs.forkSeq > 0 && hd.Seq >= fs.forkSeq {
				hd = s.hub.announced(a, fs)
			}
			r := s.rf(a)
			nt := Note{Author: a, Seq: hd.Seq}
			if s.notes[a] {
				nt.ID = hd.ID
			}
			h.Notes = append(h.Notes, nt)
			r.told = max(r.told, hd.Seq)
			delete(s.notes, a)
		}
		if len(h.Notes) > 0 {
			slices.SortFunc(h.Notes, func(x, y Note) int { return compareID(x.Author, y.Author) })
			bodies = append(bodies, h)
			s.recvUnacked = 0
		}
	}
	for _, b := range bodies {
		rd.Messages = append(rd.Messages, Message{From: s.cfg.Self, To: s.remote, Body: b})
	}
	rd.Events, s.events = s.events, nil
	return rd
}

// Advance tells the session that rd was handled: its entries and fork proofs
// are durable and its messages sent.
func (s *Session) Advance(rd Ready) {
	clear(s.outstanding)
	for i := range rd.Entries {
		e := &rd.Entries[i]
		s.hub.stored(e.Author, e.Head())
		if r := s.theirs[e.Author]; s.state == stateOpen && (r == nil || r.told < e.Seq) {
			if _, ok := s.notes[e.Author]; !ok {
				s.notes[e.Author] = false // not acknowledged in rd itself
			}
		}
	}
}
