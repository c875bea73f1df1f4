package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/identity"
)

// Say is the one action of the room.
type Say struct {
	Name   string      `json:"name"`
	Text   string      `json:"text"`
	Author identity.ID `json:"-"` // from the entry's signature, never from the JSON
}

// SetAuthor lets the node tell the action who signed it.
func (s *Say) SetAuthor(id identity.ID) { s.Author = id }

// Message is one line of the room.
type Message struct {
	Author identity.ID
	Name   string
	Text   string
}

// room is the reducer: it appends the message. It returns a new slice, so
// older states stay intact (the node keeps some to rewind to).
func room(state []Message, a Say) ([]Message, error) {
	text := strings.TrimSpace(a.Text)
	if text == "" {
		return state, errors.New("empty message")
	}
	name := strings.TrimSpace(a.Name)
	if name == "" {
		name = a.Author.Short()
	}
	out := make([]Message, len(state), len(state)+1)
	copy(out, state)
	return append(out, Message{Author: a.Author, Name: name, Text: text}), nil
}

// Config is one chat peer.
type Config struct {
	Name    string
	Dir     string
	Listen  string
	Peers   []string
	Network identity.Network
	// Ready, if set, is called with the address the peer listens on.
	Ready func(addr string)
	// OnRoom, if set, is called with the room after every change.
	OnRoom func([]Message)
}

func main() {
	var c Config
	flag.StringVar(&c.Name, "name", os.Getenv("USER"), "your name in the room")
	flag.StringVar(&c.Dir, "data", "", "data directory (required; one per peer)")
	flag.StringVar(&c.Listen, "listen", "127.0.0.1:7412", "UDP address to listen on")
	network := flag.String("room", "sbfeed-chat", "room name (peers of other rooms are refused)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: chat --name NAME --data DIR [--listen ADDR] [--room NAME] [PEER-ADDR...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if c.Dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	c.Peers = flag.Args()
	c.Network = identity.NetworkFromName("examples/chat/" + *network)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run runs one peer until in ends, "/quit" is typed or ctx is done.
func run(ctx context.Context, c Config, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	node, err := sbfeed.Open(c.Dir, room, sbfeed.Options{Network: c.Network})
	if err != nil {
		return err
	}
	defer node.Close()
	addr, err := node.Listen(c.Listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "* %s (%s) in the room, listening on %s\n", c.Name, node.ID().Short(), addr)
	if c.Ready != nil {
		c.Ready(addr)
	}
	for _, p := range c.Peers {
		go node.Connect(ctx, p) // redials until the node closes
	}
	events, err := node.Subscribe(ctx)
	if err != nil {
		return err
	}
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		show(events, out, c.OnRoom)
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "/quit" {
				return nil
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := node.Dispatch(ctx, Say{Name: c.Name, Text: line}); err != nil {
				return err
			}
		}
	}
}

// show prints the room as it changes: new messages as they come, and the
// whole room again when messages arrive before ones already shown (a peer
// that was offline came back).
func show(events <-chan sbfeed.Event[[]Message], out io.Writer, onRoom func([]Message)) {
	var printed []Message
	for ev := range events {
		if ev.Refusal != nil {
			continue
		}
		msgs := ev.State
		if !isPrefix(printed, msgs) {
			fmt.Fprintln(out, "* messages from a peer that was offline arrived; the room in the agreed order:")
			printed = nil
		}
		for _, m := range msgs[len(printed):] {
			fmt.Fprintf(out, "%s: %s\n", m.Name, m.Text)
		}
		printed = msgs
		if onRoom != nil {
			onRoom(msgs)
		}
	}
}

func isPrefix(a, b []Message) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
