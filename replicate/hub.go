package replicate

import (
	"fmt"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Hub is the node-wide state shared by the sessions of one node: the node's
// heads, the fork proofs it knows, and the epidemic-broadcast tree (which
// session pulls each feed eagerly). It is not safe for concurrent use: the
// driver calls every session and the hub from one goroutine. The zero Hub is
// not usable; call [NewHub].
type Hub struct {
	loaded  bool
	storage Storage
	network identity.Network
	filter  map[identity.ID]bool // nil: every feed

	feeds   map[identity.ID]*feedState
	forks   map[identity.ID]feed.ForkProof
	forkLog []identity.ID // order in which forks were learned

	sessions     []*Session // open sessions, in creation order
	nextSession  int
	defaultEager *Session // eager source of every feed without its own

	changes    []identity.ID // feeds whose stored head changed, oldest first
	changeBase int           // global index of changes[0]
	version    uint64        // bumped on every stored-head change

	keysOK map[identity.ID]bool // authors whose key passed CheckKey
	sigs   sigMemo              // signature verdicts, for ending pushed runs at signed entries

	rootVersion uint64
	rootValid   bool
	root        [32]byte
	rootCount   uint64
}

// feedState is what the node knows of one feed.
type feedState struct {
	stored   feed.Head // durable (Advance or Notify)
	released feed.Head // stored plus entries in Readies not yet advanced
	accepted feed.Head // released plus verified entries pending in sessions
	eager    *Session  // eager source; nil: the hub's default
	signed   []uint64  // a few seqs whose stored entry's signature verified (see sigMemo)
	forkSeq  uint64    // seq of a known fork; 0: none
	prefix   feed.Head // for a forked feed: our entry at forkSeq-1, once read
}

// announced is the head the node announces for a feed: the stored head, or
// for a forked feed the last entry before the fork (peers agree on that
// prefix; past it they may hold different branches).
func (h *Hub) announced(a identity.ID, fs *feedState) feed.Head {
	if fs.forkSeq == 0 || fs.stored.Seq < fs.forkSeq {
		return fs.stored
	}
	if fs.prefix.Seq == fs.forkSeq-1 {
		return fs.prefix
	}
	if fs.forkSeq == 1 {
		return feed.Head{}
	}
	raw, err := h.storage.Range(a, fs.forkSeq-1, fs.forkSeq-1, 0)
	if err != nil || len(raw) == 0 {
		return feed.Head{}
	}
	e, _, err := feed.DecodePrefix(raw)
	if err != nil {
		return feed.Head{}
	}
	fs.prefix = e.Head()
	return fs.prefix
}

// NewHub returns an empty hub; it loads the node's heads and fork proofs
// from the Storage of the first session created with it.
func NewHub() *Hub {
	return &Hub{feeds: map[identity.ID]*feedState{}, forks: map[identity.ID]feed.ForkProof{}, keysOK: map[identity.ID]bool{}}
}

func (h *Hub) load(cfg *Config) error {
	if h.loaded {
		if cfg.Network != h.network {
			return fmt.Errorf("replicate: hub serves network %s, session is for %s", h.network.Short(), cfg.Network.Short())
		}
		return nil
	}
	heads, err := cfg.Storage.Heads()
	if err != nil {
		return fmt.Errorf("%w: heads: %v", ErrStorage, err)
	}
	forks, err := cfg.Storage.Forks()
	if err != nil {
		return fmt.Errorf("%w: forks: %v", ErrStorage, err)
	}
	h.storage = cfg.Storage
	h.network = cfg.Network
	if cfg.Feeds != nil {
		h.filter = map[identity.ID]bool{}
		for _, f := range cfg.Feeds {
			h.filter[f] = true
		}
	}
	for a, hd := range heads {
		h.feeds[a] = &feedState{stored: hd, released: hd, accepted: hd}
	}
	for _, p := range forks {
		h.addFork(p)
	}
	h.loaded = true
	return nil
}

// wanted reports whether the node replicates author's feed.
func (h *Hub) wanted(a identity.ID) bool { return h.filter == nil || h.filter[a] }

func (h *Hub) feed(a identity.ID) *feedState {
	fs := h.feeds[a]
	if fs == nil {
		fs = &feedState{}
		h.feeds[a] = fs
	}
	return fs
}

// Head returns the stored head of author's feed (zero if none).
func (h *Hub) Head(author identity.ID) feed.Head {
	if fs := h.feeds[author]; fs != nil {
		return fs.stored
	}
	return feed.Head{}
}

// Heads returns a copy of every stored head.
func (h *Hub) Heads() map[identity.ID]feed.Head {
	out := make(map[identity.ID]feed.Head, len(h.feeds))
	for a, fs := range h.feeds {
		if fs.stored.Seq > 0 {
			out[a] = fs.stored
		}
	}
	return out
}

// Behind returns the feeds that the remote of some open session has
// announced beyond the node's stored head, each with the highest seq
// announced: what replication has yet to fetch. Forked and unwanted feeds
// are left out (they will not be fetched past the fork, or at all). A
// driver uses it to tell a merge view how far its order is settled
// (merge.View.SetHorizon): the next entries of a feed that is behind have
// larger clocks than its stored head. A remote may announce what it never
// sends, so a driver must not wait on this forever. It costs one pass over
// every session's view of its remote's feeds.
func (h *Hub) Behind() map[identity.ID]uint64 {
	out := map[identity.ID]uint64{}
	for _, s := range h.sessions {
		if s.Closed() {
			continue
		}
		for a, r := range s.theirs {
			fs := h.feeds[a]
			var have uint64
			if fs != nil {
				if fs.forkSeq != 0 {
					continue
				}
				have = fs.stored.Seq
			}
			if r.head > have && r.head > out[a] && h.wanted(a) {
				out[a] = r.head
			}
		}
	}
	return out
}

// Forks returns the fork proofs the hub knows, in the order learned.
func (h *Hub) Forks() []feed.ForkProof {
	out := make([]feed.ForkProof, 0, len(h.forks))
	seen := map[identity.ID]bool{}
	for _, a := range h.forkLog {
		if !seen[a] {
			seen[a] = true
			out = append(out, h.forks[a])
		}
	}
	return out
}

// Notify tells the hub that entries were stored locally by something other
// than a session of this hub (the local writer, a bundle import). They must be
// in chain order per feed. Every session then pushes them to the remotes that
// want them.
func (h *Hub) Notify(entries ...feed.Entry) {
	for i := range entries {
		h.stored(entries[i].Author, entries[i].Head())
	}
}

// stored records a durable head.
func (h *Hub) stored(a identity.ID, hd feed.Head) {
	fs := h.feed(a)
	if hd.Seq <= fs.stored.Seq {
		return
	}
	fs.stored = hd
	if hd.Seq > fs.released.Seq {
		fs.released = hd
	}
	if hd.Seq > fs.accepted.Seq {
		fs.accepted = hd
	}
	h.version++
	h.changes = append(h.changes, a)
}

// changesSince returns the feeds changed since global index cursor and the
// new cursor.
func (h *Hub) changesSince(cursor int) ([]identity.ID, int) {
	if cursor < h.changeBase {
		cursor = h.changeBase
	}
	return h.changes[cursor-h.changeBase:], h.changeBase + len(h.changes)
}

// compact drops changes every session has seen.
func (h *Hub) compact() {
	if len(h.changes) < 4096 {
		return
	}
	low := h.changeBase + len(h.changes)
	for _, s := range h.sessions {
		low = min(low, s.changeCursor)
	}
	if drop := low - h.changeBase; drop > len(h.changes)/2 {
		h.changes = append([]identity.ID(nil), h.changes[drop:]...)
		h.changeBase = low
	}
}

// summary returns the Merkle root and count over the stored heads.
func (h *Hub) summary() (uint64, [32]byte) {
	if !h.rootValid || h.rootVersion != h.version {
		heads := make(map[identity.ID]feed.Head, len(h.feeds))
		for a, fs := range h.feeds {
			if hd := h.announced(a, fs); hd.Seq > 0 {
				heads[a] = hd
			}
		}
		h.root, h.rootCount = HeadsRoot(heads), uint64(len(heads))
		h.rootVersion, h.rootValid = h.version, true
	}
	return h.rootCount, h.root
}

// lowerProof reports whether fork proof p supersedes q.
func lowerProof(p, q feed.ForkProof) bool {
	if p.Seq() != q.Seq() {
		return p.Seq() < q.Seq()
	}
	if c := p.A.ID().Compare(q.A.ID()); c != 0 {
		return c < 0
	}
	return p.B.ID().Compare(q.B.ID()) < 0
}

// addFork records a verified fork proof; it reports whether it was new (or
// supersedes the one known).
func (h *Hub) addFork(p feed.ForkProof) bool {
	a := p.Author()
	if old, ok := h.forks[a]; ok && !lowerProof(p, old) {
		return false
	}
	// The proof with the lowest seq wins (ties: the lowest first ID), so
	// every peer ends with the same proof and the same frozen prefix.
	h.forks[a] = p
	h.forkLog = append(h.forkLog, a)
	fs := h.feed(a)
	fs.forkSeq = p.Seq()
	fs.prefix = feed.Head{}
	h.version++ // the summary announces the prefix before the fork from now on
	return true
}

// eagerOf returns the session that pulls a's feed eagerly, or nil.
func (h *Hub) eagerOf(a identity.ID) *Session {
	if fs := h.feeds[a]; fs != nil && fs.eager != nil {
		return fs.eager
	}
	if h.filter != nil {
		return nil
	}
	return h.defaultEager
}

// setEager makes s the eager source of a's feed, demoting the previous one.
func (h *Hub) setEager(a identity.ID, s *Session) {
	old := h.eagerOf(a)
	if old == s {
		return
	}
	h.feed(a).eager = s
	s.queueWant(a, Eager)
	if old != nil {
		old.queueWant(a, Lazy)
		// A demoted session whose remote claims more waits a full stall
		// before taking the role back: two claimers (one that cannot
		// deliver, e.g. it withholds unsigned runs) would otherwise swap
		// the role every tick and the Want never reach either remote.
		if r := old.theirs[a]; r != nil && r.claim > 0 {
			r.claimTick = old.ticks
		}
	}
}

func (h *Hub) open(s *Session) {
	h.sessions = append(h.sessions, s)
	if h.defaultEager == nil && h.filter == nil {
		h.defaultEager = s
	}
}

// remove forgets a closed session: its pending entries are dropped and the
// feeds it pulled eagerly move to another session.
func (h *Hub) remove(s *Session) {
	i := slices.Index(h.sessions, s)
	if i < 0 {
		return
	}
	h.sessions = slices.Delete(h.sessions, i, i+1)
	// Pending entries of s no longer count as accepted; entries of other
	// sessions that chained from them are dropped too (they will come again).
	for a := range s.pending {
		if fs := h.feeds[a]; fs != nil && fs.accepted.Seq > fs.released.Seq {
			h.rechain(a, fs)
		}
	}
	var orphans []identity.ID
	for a, fs := range h.feeds {
		if fs.eager == s {
			fs.eager = nil
			orphans = append(orphans, a)
		}
	}
	slices.SortFunc(orphans, compareID)
	if h.defaultEager == s {
		h.defaultEager = nil
		if len(h.sessions) > 0 && h.filter == nil {
			h.defaultEager = h.sessions[0]
			h.sessions[0].queueFullWant()
		}
	}
	for _, a := range orphans {
		if h.filter == nil && h.defaultEager != nil {
			h.defaultEager.queueWant(a, Eager)
		} else if len(h.sessions) > 0 {
			h.setEager(a, h.sessions[0])
		}
	}
}

// rechain recomputes a feed's accepted head from the released head and the
// sessions' pending runs, dropping runs that no longer chain.
func (h *Hub) rechain(a identity.ID, fs *feedState) {
	cur := fs.released
	for progress := true; progress; {
		progress = false
		for _, o := range h.sessions {
			for _, run := range o.pending[a] {
				for i := range run {
					if run[i].Seq == cur.Seq+1 && run[i].Prev == cur.ID {
						cur = run[len(run)-1].Head()
						progress = true
						break
					}
				}
			}
		}
	}
	fs.accepted = cur
	for _, o := range h.sessions {
		runs := o.pending[a][:0]
		for _, run := range o.pending[a] {
			if run[len(run)-1].Seq <= cur.Seq {
				runs = append(runs, run)
			}
		}
		if len(runs) == 0 {
			delete(o.pending, a)
		} else {
			o.pending[a] = runs
		}
	}
}

// keyChecked reports whether a's key passed identity.ID.CheckKey before, and
// records it as checked if it passes now.
func (h *Hub) keyChecked(a identity.ID) bool {
	if h.keysOK[a] {
		return true
	}
	if h.feeds[a] != nil && h.feeds[a].stored.Seq > 0 {
		h.keysOK[a] = true // stored entries were checked when received or written
		return true
	}
	if a.CheckKey() == nil {
		h.keysOK[a] = true
		return true
	}
	return false
}
