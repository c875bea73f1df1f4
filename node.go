package sbfeed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
	"github.com/sbfeed/sbfeed/peer"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/store"
)

// Node is one peer of an application: its identity, its Pebble store, the
// reducer's view of the merged feeds, and replication. Create it with
// [Open]; its methods are safe for concurrent use.
//
// Two goroutines own everything mutable: the owner goroutine holds the
// store's writes and the replication sessions, the folder goroutine the
// merge view, the published state and the subscribers (see the package
// documentation). The methods send them work and wait for the answer, so
// the reducer only ever runs on the folder goroutine, never concurrently
// with itself, and never on a network goroutine.
type Node[S, A any] struct {
	opts    *Options
	key     *identity.Key
	db      *store.DB
	reducer func(S, A) (S, error)
	view    *mergeView[S, A] // nil for a relay-only node

	p    *peer.Peer // replication; its owner goroutine is the node's
	once sync.Once

	state atomic.Pointer[stateBox[S]]

	// Owned by the owner goroutine.
	head    feed.Head              // own feed's head
	forked  bool                   // own feed proven forked
	lastRef map[identity.ID]uint64 // seq of each feed last referenced
	hub     *replicate.Hub         // the replication sessions' hub

	// The fold horizon (merge.View.SetHorizon) during a bulk sync (repl.go),
	// owned by the owner goroutine.
	horizon uint64
	fh      foldHorizon

	folder *folder[S, A] // the view's goroutine (fold.go)
	// squashedTo is the final count at the last squash (folder goroutine).
	squashedTo uint64
}

type stateBox[S any] struct {
	s       S
	version uint64
	entries int
}

// Event is what a subscriber receives: a new state, or a refused action.
type Event[S any] struct {
	// State is the state after the change; valid when Refusal is nil.
	State S
	// Refusal is set when the event reports a refused action.
	Refusal *Refusal
	// Squashed is set when the event reports an automatic squash
	// (Options.Retention); State is then the current state.
	Squashed *Squashed
	// Missed counts events dropped before this one because the subscriber
	// was slow. States are cumulative, so a missed state change loses
	// nothing; missed refusals can be read with Refusals.
	Missed int
}

// Squashed describes an automatic squash of final history.
type Squashed struct {
	// Entries is how many entries of the agreed order have been squashed
	// since the view was loaded, this squash included.
	Entries uint64
	// Root is the squash chain's root (merge.Snapshot.Root): it commits to
	// every squashed entry ID in order, so an auditor can be shown that an
	// entry is inside.
	Root [32]byte
}

type subscriber[S any] struct {
	c      chan Event[S]
	missed int
	ctx    context.Context
}

// Open opens (creating if needed) the node whose store is in dir and whose
// state is the fold of reducer over the merged feeds. reducer may be nil:
// the node then only stores, verifies and relays (as "sbfeed peer" without
// --app does). The zero value of S is the initial state.
func Open[S, A any](dir string, reducer func(S, A) (S, error), opts Options) (*Node[S, A], error) {
	o := opts.Clone().EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	key, err := loadKey(dir, o)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dir, &store.Options{Network: o.Network, NoSync: o.NoSync, MemTableSize: o.MemTableSize})
	if err != nil {
		return nil, err
	}
	n := &Node[S, A]{
		opts: o, key: key, db: db, reducer: reducer,
		lastRef: map[identity.ID]uint64{},
	}
	if reducer != nil {
		if n.view, err = newMergeView(reducer, o); err != nil {
			db.Close()
			return nil, err
		}
	}
	n.folder = newFolder(n)
	if err := n.load(); err != nil {
		db.Close()
		return nil, err
	}
	go n.folder.run()
	if err := n.startPeer(); err != nil {
		n.folder.close()
		db.Close()
		return nil, err
	}
	return n, nil
}

// loadKey resolves the node's identity from the options.
func loadKey(dir string, o *Options) (*identity.Key, error) {
	if o.Key != nil {
		return o.Key, nil
	}
	path := o.KeyFile
	if path == "" {
		path = filepath.Join(dir, "identity")
	}
	k, err := identity.ReadKeyFile(path, nil)
	if errors.Is(err, fs.ErrNotExist) && o.KeyFile == "" {
		k, err = identity.Generate(o.Rand)
		if err == nil {
			err = identity.WriteKeyFile(path, k, nil, identity.SealOptions{}, false)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sbfeed: identity: %w", err)
	}
	return k, nil
}

// load reads the store into the view.
func (n *Node[S, A]) load() error {
	fh, ok, err := n.db.Feed(n.key.ID())
	if err != nil {
		return err
	}
	if ok {
		n.head = fh.Head
		n.forked = fh.ForkedAt != 0
	}
	heads, err := n.db.Heads()
	if err != nil {
		return err
	}
	for _, h := range heads {
		n.lastRef[h.Author] = h.Head.Seq
	}
	if n.view == nil {
		n.publish()
		return nil
	}
	res, err := loadView(n.db, n.view)
	if err != nil {
		return err
	}
	n.apply(res)
	return nil
}

// loadView adds every stored entry and fork proof to v, in merge order and
// in batches, and returns the combined result.
func loadView[S, A any](db *store.DB, v *mergeView[S, A]) (merge.Result, error) {
	var all merge.Result
	add := func(r merge.Result) {
		all.Changed = all.Changed || r.Changed
		all.Refused = append(all.Refused, r.Refused...)
		all.Rejected = append(all.Rejected, r.Rejected...)
		all.Forks = append(all.Forks, r.Forks...)
	}
	batch := make([]feed.Entry, 0, 1024)
	for e, err := range db.MergeOrder(0) {
		if err != nil {
			return all, err
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			add(v.Add(batch...))
			batch = make([]feed.Entry, 0, 1024)
		}
	}
	add(v.Add(batch...))
	forks, err := db.Forks()
	if err != nil {
		return all, err
	}
	for _, p := range forks {
		add(v.AddForkProof(p))
	}
	return all, nil
}

// decodeAction unseals (with a group key) and decodes an entry's content,
// then tells the action its author (Authored).
func decodeAction[A any](o *Options, author identity.ID, content []byte) (A, error) {
	var a A
	if o.GroupKey != nil {
		pt, err := o.GroupKey.Open(o.Network, author, content)
		if err != nil {
			return a, err
		}
		content = pt
	}
	if err := o.Codec.Unmarshal(content, &a); err != nil {
		return a, err
	}
	if au, ok := any(&a).(Authored); ok {
		au.SetAuthor(author)
	}
	return a, nil
}

// Replay folds every entry of db through reducer exactly as a Node with
// opts would, without opening a node (no identity, no network): what
// "sbfeed state" and "sbfeed verify --app" print. It returns the state, the
// refused actions and the number of entries folded.
func Replay[S, A any](db *store.DB, reducer func(S, A) (S, error), opts Options) (S, []Refusal, int, error) {
	o := opts.Clone().EnsureDefaults()
	var zero S
	if err := o.Validate(); err != nil {
		return zero, nil, 0, err
	}
	v, err := newMergeView(reducer, o)
	if err != nil {
		return zero, nil, 0, err
	}
	if _, err := loadView(db, v); err != nil {
		return zero, nil, 0, err
	}
	return v.State(), v.Refusals(), v.Len(), nil
}

// apply publishes a view result: logs, subscriber events, the new state.
func (n *Node[S, A]) apply(res merge.Result) {
	log := n.opts.Logger
	for _, r := range res.Refused {
		rf := refusalOf(r)
		log.Info("refused", "author", rf.Author.Short(), "seq", rf.Seq, "id", rf.ID.Short(), "reason", rf.Reason)
		n.emit(Event[S]{Refusal: &rf})
	}
	for _, r := range res.Rejected {
		log.Warn("entry not placed", "author", r.Author.Short(), "seq", r.Seq, "id", r.ID.Short(), "err", r.Err)
	}
	for _, a := range res.Forks {
		log.Warn("feed forked: its entries from the fork on stop counting", "author", a.Short())
	}
	if res.Changed || n.state.Load() == nil {
		n.publish()
		if n.view != nil {
			n.emit(Event[S]{State: n.view.State()})
		}
	}
	if res.FinalAdvanced {
		n.retain()
	}
}

// retain applies the retention policy on the folder goroutine: squash once
// SquashEvery entries beyond the last squash are final.
func (n *Node[S, A]) retain() {
	every := n.opts.Retention.SquashEvery
	if every == 0 || n.view == nil {
		return
	}
	v := n.view.v
	if v.Final().Count < n.squashedTo+uint64(every) {
		return
	}
	snap, err := v.Squash()
	if err != nil {
		n.opts.Logger.Warn("squash failed", "err", err)
		return
	}
	n.squashedTo = snap.Frontier.Count
	n.opts.Logger.Info("squashed final history", "entries", snap.Frontier.Count, "root", fmt.Sprintf("%x", snap.Root[:8]))
	n.emit(Event[S]{State: v.State(), Squashed: &Squashed{Entries: snap.Frontier.Count, Root: snap.Root}})
}

func (n *Node[S, A]) publish() {
	old := n.state.Load()
	b := &stateBox[S]{}
	if old != nil {
		b.version = old.version + 1
	}
	if n.view != nil {
		b.s = n.view.State()
		b.entries = n.view.v.Folded()
	}
	n.state.Store(b)
}

// emit delivers ev to every subscriber without blocking the owner.
func (n *Node[S, A]) emit(ev Event[S]) {
	f := n.folder
	live := f.subs[:0]
	for _, s := range f.subs {
		if s.ctx.Err() != nil {
			close(s.c)
			continue
		}
		live = append(live, s)
		e := ev
		e.Missed = s.missed
		select {
		case s.c <- e:
			s.missed = 0
		default:
			s.missed++
		}
	}
	clear(f.subs[len(live):])
	f.subs = live
}

// do runs f on the owner goroutine (package peer's) and waits for it; the
// entries f returns, stored by it, are offered to the peers.
func (n *Node[S, A]) do(ctx context.Context, f func() []feed.Entry) error {
	// Once accepted, the work runs to completion (it is short and bounded
	// by the store's sync); waiting keeps "acknowledged" meaning durable.
	return closedErr(n.p.Do(ctx, f))
}

// ID returns the node's identity.
func (n *Node[S, A]) ID() identity.ID { return n.key.ID() }

// Network returns the node's network.
func (n *Node[S, A]) Network() identity.Network { return n.opts.Network }

// Store returns the node's store, for reads (an audit, an export). Writes
// go through the node.
func (n *Node[S, A]) Store() *store.DB { return n.db }

// State returns the current state: the fold of the reducer over every
// entry the node holds, in the agreed order. It never blocks. During a bulk
// sync it may be the fold of a prefix of that order (Len says how long),
// while entries that would land before the rest are still arriving; a
// Dispatch, Subscribe or Refusals call folds everything first.
func (n *Node[S, A]) State() S { return n.state.Load().s }

// Len returns the number of entries folded into State. During a bulk sync
// it may trail the entries stored: the fold waits for feeds that are still
// arriving (see Options.Tick), so that it does not replay behind each late
// entry.
func (n *Node[S, A]) Len() int { return n.state.Load().entries }

// Dispatch signs action into the node's own feed, stores it durably (unless
// NoSync), folds it into the state and offers it to connected peers. When
// Dispatch returns nil the action is acknowledged: it survives a crash. The
// reducer may still refuse it (see Subscribe); that is part of the agreed
// history, not an error of Dispatch.
func (n *Node[S, A]) Dispatch(ctx context.Context, action A) error {
	content, err := n.opts.Codec.Marshal(action)
	if err != nil {
		return fmt.Errorf("sbfeed: encode action: %w", err)
	}
	_, err = n.Append(ctx, content)
	return err
}

// Append signs raw content (an encoded action) into the node's own feed;
// it is Dispatch without the codec, for tools such as "sbfeed append". The
// content is sealed first when a group key is set.
func (n *Node[S, A]) Append(ctx context.Context, content []byte) (feed.Entry, error) {
	var e feed.Entry
	var err error
	if n.opts.GroupKey != nil {
		content, err = n.opts.GroupKey.Seal(n.opts.Rand, n.opts.Network, n.key.ID(), content)
		if err != nil {
			return e, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
	}
	if len(content) > feed.MaxContentSize {
		return e, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(content), feed.MaxContentSize)
	}
	var folded chan struct{}
	if derr := n.do(ctx, func() []feed.Entry {
		if e, folded, err = n.appendOwn(content); err != nil {
			return nil
		}
		return []feed.Entry{e}
	}); derr != nil {
		return e, derr
	}
	if err == nil && folded != nil {
		// The entry is durable; wait until the state includes it.
		select {
		case <-folded:
		case <-ctx.Done():
		}
	}
	return e, err
}

// appendOwn runs on the owner goroutine.
func (n *Node[S, A]) appendOwn(content []byte) (feed.Entry, chan struct{}, error) {
	if n.forked {
		return feed.Entry{}, nil, ErrForked
	}
	d := feed.Draft{Content: content, Refs: n.refs()}
	if n.opts.Timestamps == HLC {
		d.Kind = feed.HLC
		d.Now = uint64(n.opts.Now().UnixMilli())
	}
	e, err := feed.Create(n.key, n.opts.Network, n.head, d)
	if err != nil {
		return e, nil, err
	}
	if _, err := n.db.Append(e); err != nil {
		var fe *feed.ForkError
		if errors.As(err, &fe) {
			n.forked = true
			n.opts.Logger.Error("own feed forked: is this key used by another node?", "seq", e.Seq)
			return e, nil, fmt.Errorf("%w: %v", ErrForked, err)
		}
		return e, nil, err
	}
	n.head = e.Head()
	return e, n.stored([]feed.Entry{e}, true), nil
}

// refs picks the causal references of a new entry: the heads of other
// feeds that changed since this node last referenced them, newest clock
// first, at most feed.MaxRefs. Referencing them makes the new entry sort
// after everything the node had seen when it dispatched.
func (n *Node[S, A]) refs() []feed.Ref {
	heads, err := n.db.Heads()
	if err != nil {
		return nil
	}
	var changed []store.FeedHead
	for _, h := range heads {
		if h.Author == n.key.ID() || h.ForkedAt != 0 || h.Head.Seq <= n.lastRef[h.Author] {
			continue
		}
		changed = append(changed, h)
	}
	if len(changed) > feed.MaxRefs {
		slices.SortFunc(changed, func(a, b store.FeedHead) int { return cmp.Compare(b.Head.Clock, a.Head.Clock) })
		changed = changed[:feed.MaxRefs]
	}
	out := make([]feed.Ref, 0, len(changed))
	for _, h := range changed {
		out = append(out, feed.Ref{ID: h.Head.ID, Clock: h.Head.Clock})
		n.lastRef[h.Author] = h.Head.Seq
	}
	return out
}

// stored is called on the owner goroutine with entries that are now
// durable: queue them for the view. It returns a channel closed once they
// are folded (nil without a view, or for entries received from peers).
func (n *Node[S, A]) stored(entries []feed.Entry, local bool) chan struct{} {
	var ack chan struct{}
	if n.view != nil {
		if local {
			ack = make(chan struct{})
		}
		n.folder.push(foldItem{entries: entries, ack: ack})
	}
	return ack
}

// forkFound is called on the owner goroutine with a stored fork proof.
func (n *Node[S, A]) forkFound(p feed.ForkProof) {
	n.opts.Logger.Warn("fork", "author", p.Author().Short(), "seq", p.Seq(), "a", p.A.ID().Short(), "b", p.B.ID().Short())
	if p.Author() == n.key.ID() {
		n.forked = true
	}
	if n.view != nil {
		n.folder.push(foldItem{fork: &p})
	}
}

// tick runs on the owner goroutine every Options.Tick: with HLC it moves
// the view's wall clock, releasing entries that were in the future.
func (n *Node[S, A]) tick() {
	if n.view != nil && n.opts.Timestamps == HLC {
		now := uint64(n.opts.Now().UnixMilli())
		n.folder.push(foldItem{fn: func() { n.apply(n.view.SetNow(now)) }})
	}
}

// Subscribe returns a channel of state changes and refusals, starting with
// the current state. The channel is closed when ctx is done (at the next
// event) or the node closes. A slow reader does not slow the node: events it
// has no room for are dropped and counted in the next one's Missed.
func (n *Node[S, A]) Subscribe(ctx context.Context) (<-chan Event[S], error) {
	c := make(chan Event[S], 64)
	if err := n.onFolder(ctx, func() {
		n.folder.subs = append(n.folder.subs, &subscriber[S]{c: c, ctx: ctx})
		c <- Event[S]{State: n.State()}
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Refusals returns every action refused in the current fold, in order.
func (n *Node[S, A]) Refusals(ctx context.Context) ([]Refusal, error) {
	var out []Refusal
	err := n.onFolder(ctx, func() {
		if n.view != nil {
			out = n.view.Refusals()
		}
	})
	return out, err
}

// onFolder runs f on the folder goroutine, after everything stored so far
// is folded, and waits for it.
func (n *Node[S, A]) onFolder(ctx context.Context, f func()) error {
	ack := make(chan struct{})
	ran := false
	// Queue through the owner goroutine so f also comes after entries the
	// owner has stored but not yet queued.
	if err := n.do(ctx, func() []feed.Entry {
		n.folder.push(foldItem{fn: func() { ran = true; f() }, ack: ack})
		return nil
	}); err != nil {
		return err
	}
	select {
	case <-ack:
		if !ran {
			return ErrClosed
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops replication, waits for the owner goroutine and closes the
// store. Every acknowledged entry is already durable; Close loses nothing.
func (n *Node[S, A]) Close() error {
	var err error
	n.once.Do(func() {
		// The sessions say goodbye and the connections close (what was
		// queued is flushed) before the store goes.
		n.p.Close()
		n.folder.close()
		err = n.db.Close()
	})
	return err
}

// ErrNoView: the node runs no reducer (a relay), so it has no state to
// squash.
var ErrNoView = errors.New("sbfeed: node has no reducer")

// Squash is the retention policy's tool: it folds the final part of the
// history (acknowledged by every writer of Options.Writers; nothing is
// final in open mode) into the view's base state and releases the memory
// its actions and snapshots held; the view never rewinds below it again.
// The snapshot returned carries the state, the frontier and a Merkle root
// over the squashed entry IDs, so an auditor can be shown that an entry is
// inside it. The entries stay in the store. It returns merge.ErrNothingFinal
// when nothing new is final.
func (n *Node[S, A]) Squash(ctx context.Context) (merge.Snapshot[S], error) {
	var snap merge.Snapshot[S]
	var err error
	if n.view == nil {
		return snap, ErrNoView
	}
	if ferr := n.onFolder(ctx, func() {
		if snap, err = n.view.v.Squash(); err == nil {
			n.squashedTo = snap.Frontier.Count
		}
	}); ferr != nil {
		return snap, ferr
	}
	return snap, err
}

// Final returns the final frontier: how many entries of the agreed order
// can never move again.
func (n *Node[S, A]) Final(ctx context.Context) (merge.Frontier, error) {
	var f merge.Frontier
	if n.view == nil {
		return f, ErrNoView
	}
	err := n.onFolder(ctx, func() { f = n.view.v.Final() })
	return f, err
}
