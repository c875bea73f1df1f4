package sbfeed_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/identity"
)

// waitUntil polls cond (a read of node state, cheap and lock-free) until it
// holds or the deadline passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

type cluster[S, A any] struct {
	nodes []*sbfeed.Node[S, A]
	addrs []string
}

func startCluster[S, A any](t *testing.T, n int, reduce func(S, A) (S, error), tr func() sbfeed.Transport, mesh bool) *cluster[S, A] {
	t.Helper()
	c := &cluster[S, A]{}
	net := identity.NetworkFromName(t.Name())
	for i := range n {
		nd, err := sbfeed.Open(t.TempDir(), reduce, sbfeed.Options{Key: mustKey(t, byte(i+1)), Network: net,
			Transport: tr(), Tick: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nd.Close() })
		addr, err := nd.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
		c.addrs = append(c.addrs, addr)
	}
	ctx := ctxT(t)
	for i := 1; i < n; i++ {
		targets := []int{0} // client–server: everyone dials node 0
		if mesh {
			targets = nil
			for j := range i {
				targets = append(targets, j)
			}
		}
		for _, j := range targets {
			if err := c.nodes[i].Connect(ctx, c.addrs[j]); err != nil {
				t.Fatalf("node %d connect to %d: %v", i, j, err)
			}
		}
	}
	return c
}

func TestReplicateCounter(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   func() sbfeed.Transport
		mesh bool
	}{
		{"mem/server", memTransport(), false},
		{"mem/mesh", memTransport(), true},
		{"quic/server", func() sbfeed.Transport { return nil }, false},
		{"quic/mesh", func() sbfeed.Transport { return nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 3, apps.CounterReduce, tc.tr, tc.mesh)
			ctx := ctxT(t)
			var wg sync.WaitGroup
			const per = 20
			for i, nd := range c.nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range per {
						typ := apps.Increment
						if k%4 == 3 && i == 1 {
							typ = apps.Decrement
						}
						if err := nd.Dispatch(ctx, apps.CounterAction{Type: typ}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			want := int64(3*per - 2*(per/4))
			for i, nd := range c.nodes {
				waitUntil(t, 20*time.Second, fmt.Sprintf("node %d to hold all %d entries", i, 3*per), func() bool {
					return nd.Len() == 3*per
				})
				if got := nd.State(); got != want {
					t.Errorf("node %d: state %d, want %d", i, got, want)
				}
			}
		})
	}
}

// memTransport returns a factory giving every node of one test the same
// in-memory network.
func memTransport() func() sbfeed.Transport {
	var once sync.Once
	var m *sbfeed.MemNetwork
	return func() sbfeed.Transport {
		once.Do(func() { m = sbfeed.NewMemNetwork() })
		return m
	}
}

var _ = context.Background

// TestCloseLeavesNoGoroutines: after Close, every goroutine a node started
// (owner, folder, connection readers and writers, accept and dial loops)
// has exited.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		c := startCluster(t, 3, apps.CounterReduce, func() sbfeed.Transport { return nil }, true)
		ctx := ctxT(t)
		events, err := c.nodes[0].Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range c.nodes {
			if err := nd.Dispatch(ctx, apps.CounterAction{Type: apps.Increment}); err != nil {
				t.Fatal(err)
			}
		}
		for _, nd := range c.nodes {
			waitUntil(t, 20*time.Second, "convergence", func() bool { return nd.Len() == 3 })
		}
		for _, nd := range c.nodes {
			if err := nd.Close(); err != nil {
				t.Fatal(err)
			}
		}
		for range events { // closed by Close
		}
	}()
	waitUntil(t, 10*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+2 })
}
