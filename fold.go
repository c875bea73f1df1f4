package sbfeed

import (
	"sync"

	"github.com/sbfeed/sbfeed/feed"
)

// folder owns the merge view, the published state and the subscribers, on
// a goroutine of its own, so that folding never holds up replication: the
// node's owner goroutine stores entries and acknowledges them to peers,
// then queues them here. Whatever queued while the folder was busy is
// added to the view in one Add, and a quiet node folds each entry as soon
// as it is stored. During a bulk sync the owner also sends a fold horizon
// (repl.go, setHorizon): entries that feeds still behind a peer would land
// in front of are placed but not folded yet, so each action is reduced
// about once instead of being replayed behind every late entry.
type folder[S, A any] struct {
	n *Node[S, A]

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []foldItem
	closed bool
	done   chan struct{}

	// Owned by the folder goroutine.
	subs []*subscriber[S]
}

// foldItem is one unit of work: entries to add, a fork proof, a new fold
// horizon, or a function to run on the folder goroutine. ack, if set, is
// closed once it is done.
type foldItem struct {
	entries []feed.Entry
	fork    *feed.ForkProof
	horizon *uint64
	fn      func()
	ack     chan struct{}
}

func newFolder[S, A any](n *Node[S, A]) *folder[S, A] {
	f := &folder[S, A]{n: n, done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// push queues work; it never blocks.
func (f *folder[S, A]) push(it foldItem) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		if it.ack != nil {
			close(it.ack)
		}
		return
	}
	f.queue = append(f.queue, it)
	f.cond.Signal()
	f.mu.Unlock()
}

// close lets the folder finish what is queued and exit.
func (f *folder[S, A]) close() {
	f.mu.Lock()
	f.closed = true
	f.cond.Signal()
	f.mu.Unlock()
	<-f.done
}

func (f *folder[S, A]) run() {
	defer close(f.done)
	defer func() {
		for _, s := range f.subs {
			close(s.c)
		}
		f.subs = nil
	}()
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.closed {
			f.cond.Wait()
		}
		q := f.queue
		f.queue = nil
		closed := f.closed
		f.mu.Unlock()
		f.handle(q)
		if closed && len(q) == 0 {
			return
		}
	}
}

// handle runs a batch of queued work in order, merging runs of entries into
// one Add. Someone waiting (a local Dispatch, a query) gets the whole
// order folded, past any horizon: the horizon only defers work nobody
// waits for.
func (f *folder[S, A]) handle(q []foldItem) {
	n := f.n
	var batch []feed.Entry
	var acks []chan struct{}
	flush := func() {
		if len(batch) > 0 && n.view != nil {
			if n.opts.Timestamps == HLC {
				// The view holds entries from its future; tell it the
				// time first, so an entry dispatched now is placed now.
				n.apply(n.view.SetNow(uint64(n.opts.Now().UnixMilli())))
			}
			n.apply(n.view.Add(batch...))
			if len(acks) > 0 {
				n.apply(n.view.v.FoldAll())
			}
		}
		batch = nil
		for _, a := range acks {
			close(a)
		}
		acks = nil
	}
	for _, it := range q {
		switch {
		case it.entries != nil:
			batch = append(batch, it.entries...)
			if it.ack != nil {
				acks = append(acks, it.ack)
			}
			continue
		case it.fork != nil:
			flush()
			if n.view != nil {
				n.apply(n.view.AddForkProof(*it.fork))
			}
		case it.horizon != nil:
			flush()
			if n.view != nil {
				n.apply(n.view.v.SetHorizon(*it.horizon))
			}
		case it.fn != nil:
			flush()
			if n.view != nil {
				n.apply(n.view.v.FoldAll())
			}
			it.fn()
		}
		if it.ack != nil {
			close(it.ack)
		}
	}
	flush()
}
