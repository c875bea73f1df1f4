package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/identity"
)

// Action is a Redux action.
type Action struct {
	Type string `json:"type"`
}

// counter is Redux's counter reducer: the state is a number.
func counter(state int, action Action) (int, error) {
	switch action.Type {
	case "INCREMENT":
		return state + 1, nil
	case "DECREMENT":
		return state - 1, nil
	default:
		return state, nil
	}
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "counter:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tmp, err := os.MkdirTemp("", "sbfeed-counter-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	names := []string{"alice", "bob", "carol"}
	network := identity.NetworkFromName("examples/counter")
	var peers []*sbfeed.Node[int, Action]
	var addrs []string
	for _, name := range names {
		p, err := sbfeed.Open(tmp+"/"+name, counter, sbfeed.Options{Network: network})
		if err != nil {
			return err
		}
		defer p.Close()
		addr, err := p.Listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if err := p.Connect(ctx, a); err != nil {
				return err
			}
		}
		peers = append(peers, p)
		addrs = append(addrs, addr)
	}

	// Everyone clicks at once: alice +10, bob +10, carol +10 and -5.
	clicks := map[string][]string{
		"alice": repeat("INCREMENT", 10),
		"bob":   repeat("INCREMENT", 10),
		"carol": append(repeat("INCREMENT", 10), repeat("DECREMENT", 5)...),
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(peers))
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, t := range clicks[names[i]] {
				if err := p.Dispatch(ctx, Action{Type: t}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	// Wait until every peer has folded all 35 actions.
	for _, p := range peers {
		for p.Len() < 35 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("peers did not converge: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for i, p := range peers {
		fmt.Fprintf(out, "%s: counter = %d\n", names[i], p.State())
	}
	return nil
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
