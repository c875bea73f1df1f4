package peer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/replicate/replicatetest"
	"github.com/sbfeed/sbfeed/transport"
)

func TestTwoPeers(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 300, "a")
	b := startNode(t, 2, nodeOpts{dial: []string{a.addr()}})
	b.publish(t, 50, "b")
	want := map[identity.ID]uint64{a.key.ID(): 300, b.key.ID(): 50}
	a.waitHeads(t, want)
	b.waitHeads(t, want)
	// Live: a new entry on either side reaches the other.
	a.publish(t, 1, "live a")
	b.publish(t, 1, "live b")
	want = map[identity.ID]uint64{a.key.ID(): 301, b.key.ID(): 51}
	a.waitHeads(t, want)
	b.waitHeads(t, want)
	for _, n := range []*node{a, b} {
		n.checkFeed(t, a.key.ID(), 301)
		n.checkFeed(t, b.key.ID(), 51)
	}
	if r := b.waitReceived(t, 301); r != 301 || b.p.Stats().Published != 51 {
		t.Fatalf("b stats %+v", b.p.Stats())
	}
}

// converge publishes k entries on every node and waits until every node
// holds every feed.
func converge(t *testing.T, nodes []*node, k int) {
	t.Helper()
	want := map[identity.ID]uint64{}
	for i, n := range nodes {
		n.publish(t, k, fmt.Sprint("node ", i))
		want[n.key.ID()] = uint64(k)
	}
	for _, n := range nodes {
		n.waitHeads(t, want)
	}
	for _, n := range nodes {
		for a := range want {
			n.checkFeed(t, a, uint64(k))
		}
	}
}

func TestFivePeersClientServer(t *testing.T) {
	srv := startNode(t, 10, nodeOpts{listen: "127.0.0.1:0"})
	nodes := []*node{srv}
	for i := range 4 {
		nodes = append(nodes, startNode(t, byte(11+i), nodeOpts{dial: []string{srv.addr()}}))
	}
	converge(t, nodes, 40)
}

func TestFivePeersMesh(t *testing.T) {
	var nodes []*node
	for i := range 5 {
		var dial []string
		for _, n := range nodes {
			dial = append(dial, n.addr())
		}
		nodes = append(nodes, startNode(t, byte(20+i), nodeOpts{listen: "127.0.0.1:0", dial: dial}))
	}
	converge(t, nodes, 40)
}

// A client that goes away mid-sync resumes from what it stored, with
// nothing lost or stored twice.
func TestResumeClient(t *testing.T) {
	const total = 5000
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, total, "bulk")
	dir := t.TempDir()
	b := startNode(t, 2, nodeOpts{dir: dir, dial: []string{a.addr()}, mod: smallWindow})
	b.waitCount(t, 500)
	if err := b.p.Close(); err != nil {
		t.Fatal(err)
	}
	first := b.p.Stats().Received
	b.p = nil
	got := b.heads(t)[a.key.ID()]
	b.stop()
	if got != uint64(first) {
		t.Fatalf("stored head %d after %d entries received", got, first)
	}
	if got >= total {
		t.Skipf("the whole feed arrived before the peer stopped (%d entries)", got)
	}
	// The progress line says how much of the sync was left (at least what
	// was still missing when it stopped) and when it would be done.
	line := b.log.WaitFor(t, wait, "sync progress", " left=")
	var left uint64
	if _, err := fmt.Sscanf(line[strings.Index(line, " left=")+1:], "left=%d", &left); err != nil || left < total-got || left > total {
		t.Errorf("progress line %q: left %d (%v), want between %d and %d", line, left, err, total-got, total)
	}
	if !strings.Contains(line, " eta=") {
		t.Errorf("progress line %q has no eta", line)
	}
	b = startNode(t, 2, nodeOpts{dir: dir, dial: []string{a.addr()}, mod: smallWindow})
	b.waitHeads(t, map[identity.ID]uint64{a.key.ID(): total})
	second := b.waitReceived(t, total-first)
	if first+second != total {
		t.Fatalf("stored %d + %d entries, want %d in all", first, second, total)
	}
	b.checkFeed(t, a.key.ID(), total)
}

// A client that crashes mid-sync (no CONNECTION_CLOSE, nothing flushed)
// and restarts on its store resumes with nothing lost or stored twice.
func TestResumeAfterCrash(t *testing.T) {
	const total = 5000
	quickIdle := func(c *Config) {
		smallWindow(c)
		c.QUIC.IdleTimeout = time.Second
		c.QUIC.KeepAlive = 200 * time.Millisecond
	}
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0", mod: quickIdle})
	a.publish(t, total, "bulk")
	dir := t.TempDir()
	b := startNode(t, 2, nodeOpts{dir: dir, dial: []string{a.addr()}, mod: quickIdle})
	b.waitCount(t, 500)
	b.p.ep.(*quicEndpoint).ep.Abort() // the crash: the socket is gone, peers are not told
	if err := b.p.Close(); err != nil {
		t.Fatal(err)
	}
	first := b.p.Stats().Received
	b.p = nil
	b.stop()
	b = startNode(t, 2, nodeOpts{dir: dir, dial: []string{a.addr()}, mod: quickIdle})
	b.waitHeads(t, map[identity.ID]uint64{a.key.ID(): total})
	if second := b.waitReceived(t, total-first); first+second != total {
		t.Fatalf("stored %d + %d entries, want %d in all", first, second, total)
	}
	b.checkFeed(t, a.key.ID(), total)
	// a notices the dead connection at its idle timeout.
	a.log.WaitFor(t, wait, "peer disconnected", "timeout")
}

// smallWindow slows the transfer enough to stop it in the middle.
func smallWindow(c *Config) { c.Limits.Window = 64 }

// A server that goes away mid-sync and comes back at the same address:
// the client redials and resumes.
func TestResumeServer(t *testing.T) {
	const total = 5000
	dirA := t.TempDir()
	a := startNode(t, 1, nodeOpts{dir: dirA, listen: "127.0.0.1:0"})
	a.publish(t, total, "bulk")
	addr := a.p.Addr()
	b := startNode(t, 2, nodeOpts{dial: []string{a.addr()}, mod: smallWindow})
	b.waitCount(t, 500)
	a.stop()
	a = startNode(t, 1, nodeOpts{dir: dirA, listen: addr})
	b.waitHeads(t, map[identity.ID]uint64{a.key.ID(): total})
	if r := b.waitReceived(t, total); r != total {
		t.Fatalf("received %d entries in all, want %d", r, total)
	}
	b.checkFeed(t, a.key.ID(), total)
}

func TestWrongNetwork(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 5, "a")
	other := identity.NetworkFromName("elsewhere")
	b := startNode(t, 2, nodeOpts{network: other, dial: []string{a.addr()}})
	b.publish(t, 5, "b")
	// Both sides name both networks.
	a.log.WaitFor(t, wait, "peer refused", testNet.Short(), other.Short())
	b.log.WaitFor(t, wait, other.Short(), testNet.Short())
	if h := b.heads(t)[a.key.ID()]; h != 0 {
		t.Fatalf("an entry crossed networks: head %d", h)
	}
	// An honest peer still syncs with a.
	c := startNode(t, 3, nodeOpts{dial: []string{a.addr()}})
	c.waitHeads(t, map[identity.ID]uint64{a.key.ID(): 5})
	if h := a.heads(t)[b.key.ID()]; h != 0 {
		t.Fatalf("a stored %d entries of another network", h)
	}
}

// hostile completes an honest handshake with the server, then sends body.
func hostile(t *testing.T, srv *node, key *identity.Key, bodies ...replicate.Body) *transport.Conn {
	t.Helper()
	ep, err := transport.Listen("127.0.0.1:0", transport.Config{Key: key, NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ep.Dial(ctx, srv.p.Addr(), srv.key.ID())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := replicate.New(replicate.Config{Self: key.ID(), Key: key, Network: testNet, Remote: c.Peer(),
		Binding: c.Binding(), Storage: replicatetest.NewMemStore(testNet)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.OpenStream(ctx, transport.Control)
	if err != nil {
		t.Fatal(err)
	}
	rd := sess.Ready()
	for _, m := range rd.Messages {
		if err := w.Send(replicate.EncodeMessage(nil, m.Body)); err != nil {
			t.Fatal(err)
		}
	}
	sess.Advance(rd)
	for _, b := range bodies {
		if err := w.Send(replicate.EncodeMessage(nil, b)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func waitClosed(t *testing.T, c *transport.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	select {
	case <-c.Done():
		return c.Err()
	case <-ctx.Done():
		t.Fatal("connection not closed")
		return nil
	}
}

func TestForgedEntry(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 5, "a")
	evil := testKey(t, 66)
	// A run of the evil peer's own feed in which no signature verifies: the
	// hash chain then authenticates nothing. (A run whose newest signature
	// alone is broken keeps its signed prefix: see docs/protocol.md on
	// signature poisoning.)
	var head feed.Head
	var run []feed.Entry
	for i := range 3 {
		e, err := feed.Create(evil, testNet, head, feed.Draft{Content: fmt.Appendf(nil, "e%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		run = append(run, e)
		head = e.Head()
	}
	for i := range run {
		run[i].Sig[0] ^= 1
	}
	c := hostile(t, a, evil, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(run)}})
	err := waitClosed(t, c)
	if !errors.Is(err, transport.ErrBadEntry) {
		t.Fatalf("forger sees %v, want ErrBadEntry", err)
	}
	a.log.WaitFor(t, wait, "peer refused", "signature")
	if h := a.heads(t)[evil.ID()]; h != 0 {
		t.Fatalf("a stored %d forged entries", h)
	}
	honest := startNode(t, 3, nodeOpts{dial: []string{a.addr()}})
	honest.waitHeads(t, map[identity.ID]uint64{a.key.ID(): 5})
}

func TestGarbageAndFlood(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 20, "a")
	honest := startNode(t, 3, nodeOpts{dial: []string{a.addr()}})
	// Garbage instead of a Hello: a malformed message.
	ep, err := transport.Listen("127.0.0.1:0", transport.Config{Key: testKey(t, 71), NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	g, err := ep.Dial(ctx, a.p.Addr(), identity.ID{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := g.OpenStream(ctx, transport.Control)
	if err != nil {
		t.Fatal(err)
	}
	w.Send([]byte("this is not a replication message"))
	if err := waitClosed(t, g); !errors.Is(err, transport.ErrProtocol) {
		t.Fatalf("garbage sender sees %v", err)
	}
	a.log.WaitFor(t, wait, "peer refused", "malformed")
	// A flood of connections from many identities that never speak.
	var conns []*transport.Conn
	for i := range 30 {
		ep, err := transport.Listen("127.0.0.1:0", transport.Config{Key: testKey(t, byte(100+i)), NoAccept: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close()
		c, err := ep.Dial(ctx, a.p.Addr(), identity.ID{})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Meanwhile the honest peer keeps syncing.
	a.publish(t, 20, "more")
	honest.waitHeads(t, map[identity.ID]uint64{a.key.ID(): 40})
	// The silent ones are dropped when their handshake times out.
	for _, c := range conns {
		if err := waitClosed(t, c); err == nil {
			t.Fatal("silent connection not closed")
		}
	}
	a.log.WaitFor(t, wait, "peer dropped", "Hello")
}

// A private network: only identities on the allowlist replicate.
func TestAllowlist(t *testing.T) {
	friend, stranger := testKey(t, 2), testKey(t, 3)
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0", mod: func(c *Config) {
		c.QUIC.Allow = []identity.ID{friend.ID()}
	}})
	a.publish(t, 10, "private")
	s := startNode(t, 3, nodeOpts{dial: []string{a.addr()}})
	a.log.WaitFor(t, wait, "not on the allowlist", stranger.ID().String())
	f := startNode(t, 2, nodeOpts{dial: []string{a.addr()}})
	f.waitHeads(t, map[identity.ID]uint64{a.key.ID(): 10})
	if h := s.heads(t)[a.key.ID()]; h != 0 {
		t.Fatalf("a stranger got %d entries of a private network", h)
	}
}

// Data frames are held until the handshake, but only a few: a peer that
// streams entries and never says Hello is dropped.
func TestDataBeforeHello(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 3, "a")
	ep, err := transport.Listen("127.0.0.1:0", transport.Config{Key: testKey(t, 80), NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ep.Dial(ctx, a.p.Addr(), a.key.ID())
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.OpenStream(ctx, transport.Data)
	if err != nil {
		t.Fatal(err)
	}
	e, err := feed.Create(testKey(t, 80), testNet, feed.Head{}, feed.Draft{Content: []byte("early")})
	if err != nil {
		t.Fatal(err)
	}
	frame := replicate.EncodeMessage(nil, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun([]feed.Entry{e})}})
	for range 100 {
		if w.Send(frame) != nil {
			break
		}
	}
	if err := waitClosed(t, c); !errors.Is(err, transport.ErrProtocol) {
		t.Fatalf("got %v, want a protocol error", err)
	}
	a.log.WaitFor(t, wait, "peer refused", "data frames before the handshake")
	honest := startNode(t, 3, nodeOpts{dial: []string{a.addr()}})
	honest.waitHeads(t, map[identity.ID]uint64{a.key.ID(): 3})
}
