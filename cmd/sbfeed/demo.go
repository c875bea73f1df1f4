package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/identity"
)

// demoState is the demo's application: a counter and a chat room in one
// state, each driven by the built-in reducer, unchanged.
type demoState struct {
	Counter int64          `json:"counter"`
	Chat    apps.ChatState `json:"chat"`
}

// demoAction is either app's action; the type says which.
type demoAction struct {
	Type   string      `json:"type"`
	Text   string      `json:"text,omitempty"`
	Author identity.ID `json:"-"`
}

func (a *demoAction) SetAuthor(id identity.ID) { a.Author = id }

func demoReduce(s demoState, a demoAction) (demoState, error) {
	switch a.Type {
	case apps.Increment, apps.Decrement:
		c, err := apps.CounterReduce(s.Counter, apps.CounterAction{Type: a.Type})
		if err != nil {
			return s, err
		}
		s.Counter = c
		return s, nil
	}
	c, err := apps.ChatReduce(s.Chat, apps.ChatAction{Type: a.Type, Text: a.Text, Author: a.Author})
	if err != nil {
		return s, err
	}
	s.Chat = c
	return s, nil
}

func demoDigest(s demoState) string {
	if s.Chat == nil {
		s.Chat = apps.ChatState{}
	}
	b, _ := json.Marshal(s)
	return apps.DigestJSON(b)
}

type demoPeer struct {
	name string
	dir  string
	key  *identity.Key
	node *sbfeed.Node[demoState, demoAction]
	addr string
}

func cmdDemo(e *env, args []string) int {
	fs := e.newFlags("demo", "[--peers N] [--actions N] [--timeout D] [--keep]", `
Run several peers on this machine and watch them converge: each is a real
node with its own Pebble store (in a temporary directory) and QUIC on
loopback. They share a counter and a chat room, dispatch actions at the same
time, one peer goes offline, keeps writing, and comes back; then every
peer's state digest is printed.

Exit status 0 once every peer holds the same state; 1, with the reason,
if they do not agree within --timeout.`)
	npeers := fs.Int("peers", 4, "number of peers (2 to 16)")
	nact := fs.Int("actions", 50, "actions each peer dispatches in each round")
	timeout := fs.Duration("timeout", 45*time.Second, "give up after this long")
	keep := fs.Bool("keep", false, "keep the temporary directory")
	if st, done := parseFlags(fs, args); done {
		return st
	}
	if *npeers < 2 || *npeers > 16 || *nact < 1 || *nact > 100000 {
		e.errorf("--peers must be 2 to 16 and --actions 1 to 100000")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	err := runDemo(ctx, e, *npeers, *nact, *keep)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			e.errorf("the peers did not converge within %v: %v", *timeout, err)
		} else {
			e.errorf("%v", err)
		}
		return 1
	}
	return 0
}

var demoNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil"}

func runDemo(ctx context.Context, e *env, npeers, nact int, keep bool) (err error) {
	out := e.stdout
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	tmp, err := os.MkdirTemp("", "sbfeed-demo-")
	if err != nil {
		return err
	}
	if keep {
		say("data directories kept in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	network := identity.NetworkFromName("sbfeed-demo")
	peers := make([]*demoPeer, npeers)
	open := func(p *demoPeer) error {
		n, err := sbfeed.Open(p.dir, demoReduce, sbfeed.Options{Key: p.key, Network: network, Tick: 50 * time.Millisecond})
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		p.node = n
		return nil
	}
	defer func() {
		for _, p := range peers {
			if p != nil && p.node != nil {
				p.node.Close()
			}
		}
	}()
	say("sbfeed demo: %d peers on loopback (QUIC, a Pebble store each, in %s)", npeers, tmp)
	for i := range peers {
		k, err := identity.Generate(randReader{})
		if err != nil {
			return err
		}
		p := &demoPeer{name: demoNames[i], dir: filepath.Join(tmp, demoNames[i]), key: k}
		peers[i] = p
		if err := open(p); err != nil {
			return err
		}
		if p.addr, err = p.node.Listen("127.0.0.1:0"); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		say("  %-6s %s  listening on %s", p.name, k.ID().Short(), p.addr)
	}
	// A ring with a hub: everyone dials alice and its predecessor, so
	// entries also travel through relays.
	connect := func(i int) error {
		targets := []int{0}
		if i > 1 {
			targets = append(targets, i-1)
		}
		for _, j := range targets {
			if err := peers[i].node.Connect(ctx, peers[j].addr); err != nil {
				return fmt.Errorf("%s dialling %s: %w", peers[i].name, peers[j].name, err)
			}
		}
		return nil
	}
	for i := 1; i < npeers; i++ {
		if err := connect(i); err != nil {
			return err
		}
	}
	total := 0
	round := func(which []*demoPeer, label string) error {
		say("%s", label)
		var wg sync.WaitGroup
		errs := make(chan error, len(which))
		for _, p := range which {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range nact {
					a := demoAction{Type: apps.Increment}
					if k%10 == 0 {
						a = demoAction{Type: apps.ChatSay, Text: fmt.Sprintf("%s says hello #%d", p.name, k/10+1)}
					}
					if err := p.node.Dispatch(ctx, a); err != nil {
						errs <- fmt.Errorf("%s: %w", p.name, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		total += len(which) * nact
		return <-errs
	}
	if err := round(peers, fmt.Sprintf("round 1: every peer dispatches %d actions at once (counter increments and chat messages)", nact)); err != nil {
		return err
	}
	if err := waitConverged(ctx, say, peers, total); err != nil {
		return err
	}
	off := peers[npeers-1]
	say("%s goes offline", off.name)
	if err := off.node.Close(); err != nil {
		return err
	}
	off.node = nil
	if err := round(peers[:npeers-1], "round 2: the others keep dispatching"); err != nil {
		return err
	}
	if err := open(off); err != nil {
		return err
	}
	if err := round([]*demoPeer{off}, fmt.Sprintf("%s, still offline, dispatches too (its store keeps what it had)", off.name)); err != nil {
		return err
	}
	if off.addr, err = off.node.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	say("%s comes back online", off.name)
	if err := connect(npeers - 1); err != nil {
		return err
	}
	if err := waitConverged(ctx, say, peers, total); err != nil {
		return err
	}
	say("")
	st := peers[0].node.State()
	say("every peer holds all %d actions: counter = %d, %d chat messages; last messages:", total, st.Counter, len(st.Chat))
	for _, m := range st.Chat[max(0, len(st.Chat)-5):] {
		say("  %s: %s", nameOf(peers, m.Author), m.Text)
	}
	say("state digests:")
	for _, p := range peers {
		say("  %-6s %s", p.name, demoDigest(p.node.State()))
	}
	say("all %d peers agree", npeers)
	return nil
}

func nameOf(peers []*demoPeer, id identity.ID) string {
	for _, p := range peers {
		if p.key.ID() == id {
			return p.name
		}
	}
	return id.Short()
}

// waitConverged waits until every peer has folded total entries and all
// digests agree, printing progress twice a second.
func waitConverged(ctx context.Context, say func(string, ...any), peers []*demoPeer, total int) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var counts []string
		done := true
		first := ""
		for _, p := range peers {
			n := p.node.Len()
			counts = append(counts, fmt.Sprintf("%s %d", p.name, n))
			d := demoDigest(p.node.State())
			if first == "" {
				first = d
			}
			if n != total || d != first {
				done = false
			}
		}
		say("  synced: %s (of %d)", strings.Join(counts, ", "), total)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (entries held: %s of %d)", ctx.Err(), strings.Join(counts, ", "), total)
		case <-tick.C:
		}
	}
}

// randReader is crypto/rand for key generation.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptorand.Read(p) }
