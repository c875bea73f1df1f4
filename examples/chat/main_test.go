package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/identity"
)

// peer runs one chat peer in the test, with a pipe as its keyboard.
type peer struct {
	name  string
	kbd   *io.PipeWriter
	done  chan error
	addr  string
	mu    sync.Mutex
	room  []Message
	out   bytes.Buffer
	outMu sync.Mutex
}

func (p *peer) Write(b []byte) (int, error) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.out.Write(b)
}

func (p *peer) output() string {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.out.String()
}

func (p *peer) say(t *testing.T, text string) {
	t.Helper()
	if _, err := fmt.Fprintln(p.kbd, text); err != nil {
		t.Fatal(err)
	}
}

func (p *peer) texts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.room {
		out = append(out, m.Name+": "+m.Text)
	}
	return out
}

func start(t *testing.T, ctx context.Context, name, dir string, peers ...string) *peer {
	t.Helper()
	r, w := io.Pipe()
	p := &peer{name: name, kbd: w, done: make(chan error, 1)}
	ready := make(chan string, 1)
	cfg := Config{Name: name, Dir: dir, Listen: "127.0.0.1:0", Peers: peers,
		Network: identity.NetworkFromName("examples/chat/test"),
		Ready:   func(a string) { ready <- a },
		OnRoom: func(m []Message) {
			p.mu.Lock()
			p.room = m
			p.mu.Unlock()
		}}
	go func() { p.done <- run(ctx, cfg, r, p) }()
	select {
	case p.addr = <-ready:
	case err := <-p.done:
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func (p *peer) quit(t *testing.T) {
	t.Helper()
	p.say(t, "/quit")
	if err := <-p.done; err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
}

func waitRoom(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// TestChat: alice and bob chat; carol, offline, writes two messages; when
// she comes back everyone's room holds the same messages in the same order,
// with carol's in their place, and the others' screens say so.
func TestChat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dirs := map[string]string{"alice": t.TempDir(), "bob": t.TempDir(), "carol": t.TempDir()}

	carol := start(t, ctx, "carol", dirs["carol"])
	carol.say(t, "written offline, first")
	carol.say(t, "written offline, second")
	waitRoom(t, "carol's own messages", func() bool { return len(carol.texts()) == 2 })
	carol.quit(t)

	alice := start(t, ctx, "alice", dirs["alice"])
	bob := start(t, ctx, "bob", dirs["bob"], alice.addr)
	alice.say(t, "hi bob")
	waitRoom(t, "bob to see alice", func() bool { return len(bob.texts()) == 1 })
	bob.say(t, "hi alice")
	bob.say(t, "anyone else here?")
	waitRoom(t, "alice to see bob", func() bool { return len(alice.texts()) == 3 })

	carol = start(t, ctx, "carol", dirs["carol"], alice.addr, bob.addr)
	all := []*peer{alice, bob, carol}
	waitRoom(t, "every room to hold 5 messages", func() bool {
		for _, p := range all {
			if len(p.texts()) != 5 {
				return false
			}
		}
		return true
	})
	want := strings.Join(alice.texts(), "\n")
	for _, p := range all {
		if got := strings.Join(p.texts(), "\n"); got != want {
			t.Errorf("%s's room:\n%s\nalice's:\n%s", p.name, got, want)
		}
	}
	// Carol wrote without having seen anything, so her messages sort among
	// the first: the others had already shown later ones and reprint.
	if texts := alice.texts(); !strings.HasPrefix(texts[0], "carol:") && !strings.HasPrefix(texts[1], "carol:") {
		t.Errorf("carol's offline messages are not in their place: %q", texts)
	}
	if !strings.Contains(alice.output(), "offline arrived") {
		t.Errorf("alice's screen does not show the reordering:\n%s", alice.output())
	}
	for _, p := range all {
		p.quit(t)
	}
}
