package sbfeed

import (
	"context"
	"errors"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
	"github.com/sbfeed/sbfeed/peer"
	"github.com/sbfeed/sbfeed/replicate"
)

// Replication is package peer's driver: its owner goroutine is the node's
// (Dispatch and queries run there through peer.Peer.Do), it stores what
// the sessions release and calls the hooks below, which hand the entries
// to the folder and keep the fold horizon.

// startPeer starts the node's replication driver (owner goroutine
// included); it opens no endpoint before Listen or Connect.
func (n *Node[S, A]) startPeer() error {
	tr := n.opts.Transport
	if tr == nil {
		tr = &QUIC{Logger: n.opts.Logger}
	}
	n.hub = replicate.NewHub()
	n.horizon = merge.NoHorizon
	p, err := peer.New(peer.Config{
		Key:       n.key,
		Store:     n.db,
		Transport: tr,
		// Limits and BatchBytes: package peer's defaults (window 32768
		// entries, 2 MiB batches), a deep pipeline of synced batches; a
		// fresh node joining three writers (BenchmarkJoin300k) is as fast
		// or faster with them than with a 4096-entry window.
		Tick:       n.opts.Tick,
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 5 * time.Second,
		Hub:        n.hub,
		OnStored:   n.received,
		OnFork:     n.forkFound,
		OnTick:     n.onTick,
		Logger:     n.opts.Logger,
	})
	if err != nil {
		return err
	}
	n.p = p
	return nil
}

// received runs on the owner goroutine with entries received from peers,
// once durable.
func (n *Node[S, A]) received(entries []feed.Entry) {
	n.stored(entries, false)
	if n.fh.add(len(entries)) {
		// A bulk sync starts: hold the fold back at once.
		n.setHorizon()
	}
}

// onTick runs on the owner goroutine every Options.Tick.
func (n *Node[S, A]) onTick() {
	n.tick()
	n.fh.tick()
	n.setHorizon()
}

// setHorizon tells the folder how far the merge order is settled (see
// foldHorizon).
func (n *Node[S, A]) setHorizon() {
	if n.view == nil {
		return
	}
	h := n.fh.value(n.hub.Behind, n.hub.Head)
	if h != n.horizon {
		n.horizon = h
		n.folder.push(foldItem{horizon: &h})
	}
}

// closedErr maps the driver's ErrClosed to the node's.
func closedErr(err error) error {
	if errors.Is(err, peer.ErrClosed) {
		return ErrClosed
	}
	return err
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
	a, err := n.p.Listen(addr)
	return a, closedErr(err)
}

// Connect keeps a replication connection to addr ("host:port", or
// "sbf1…@host:port" to accept only that identity) until the node closes,
// redialling with exponential backoff whenever it drops. It returns once
// the first connection is up, or with ctx's error if ctx ends first (the
// node keeps trying in the background).
func (n *Node[S, A]) Connect(ctx context.Context, addr string) error {
	a, id, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	if id != (identity.ID{}) {
		a = id.String() + "@" + a
	}
	return closedErr(n.p.Connect(ctx, a))
}
