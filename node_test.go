package sbfeed_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/identity"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNodeDispatchReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	n, err := sbfeed.Open(dir, apps.CounterReduce, sbfeed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := n.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.State != 0 {
		t.Fatalf("first event %+v, want state 0", ev)
	}
	for _, typ := range []string{"INCREMENT", "INCREMENT", "BOGUS", "DECREMENT", "INCREMENT"} {
		if err := n.Dispatch(ctx, apps.CounterAction{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.State(); got != 2 {
		t.Fatalf("state %d, want 2", got)
	}
	var states []int64
	var refusals []string
	for len(states) < 5 {
		ev := <-events
		if ev.Refusal != nil {
			refusals = append(refusals, ev.Refusal.Reason)
			continue
		}
		states = append(states, ev.State)
	}
	if want := []int64{1, 2, 1, 2}; !equal(states[:4], want) && !equal(states, []int64{1, 2, 2, 1, 2}) {
		t.Errorf("states %v", states)
	}
	if len(refusals) != 1 || !strings.Contains(refusals[0], "BOGUS") {
		t.Errorf("refusals %q", refusals)
	}
	id := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Dispatch(ctx, apps.CounterAction{Type: "INCREMENT"}); !errors.Is(err, sbfeed.ErrClosed) {
		t.Fatalf("dispatch after close: %v", err)
	}

	// Reopen: same identity, same state, from the store.
	n, err = sbfeed.Open(dir, apps.CounterReduce, sbfeed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.ID() != id || n.State() != 2 || n.Len() != 5 {
		t.Fatalf("after reopen: id %s state %d len %d", n.ID().Short(), n.State(), n.Len())
	}
	rs, err := n.Refusals(ctx)
	if err != nil || len(rs) != 1 || rs[0].Seq != 3 || rs[0].Author != id {
		t.Fatalf("refusals after reopen: %v %v", rs, err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNodeSecondOpenLocked(t *testing.T) {
	dir := t.TempDir()
	n, err := sbfeed.Open(dir, apps.CounterReduce, sbfeed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, err = sbfeed.Open(dir, apps.CounterReduce, sbfeed.Options{})
	if err == nil {
		t.Fatal("second Open of one directory succeeded")
	}
}

func TestNodeReducerPanicRefused(t *testing.T) {
	ctx := ctxT(t)
	reduce := func(s int, a string) (int, error) {
		if a == "boom" {
			panic("boom")
		}
		return s + len(a), nil
	}
	n, err := sbfeed.Open(t.TempDir(), reduce, sbfeed.Options{Key: mustKey(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, a := range []string{"ab", "boom", "c"} {
		if err := n.Dispatch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if n.State() != 3 {
		t.Fatalf("state %d, want 3", n.State())
	}
	rs, _ := n.Refusals(ctx)
	if len(rs) != 1 || !strings.Contains(rs[0].Reason, "panicked") {
		t.Fatalf("refusals %v", rs)
	}
}

func mustKey(t testing.TB, b byte) *identity.Key {
	seed := make([]byte, 32)
	seed[0] = b
	k, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Retention.SquashEvery squashes final history by itself, reports each
// squash, and never changes the state.
func TestNodeRetentionSquashes(t *testing.T) {
	ctx := ctxT(t)
	k, err := identity.FromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := sbfeed.Options{Key: k, Writers: []identity.ID{k.ID()}, Retention: sbfeed.RetentionPolicy{SquashEvery: 4}}
	n, err := sbfeed.Open(dir, apps.CounterReduce, opts)
	if err != nil {
		t.Fatal(err)
	}
	events, err := n.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := n.Dispatch(ctx, apps.CounterAction{Type: "INCREMENT"}); err != nil {
			t.Fatal(err)
		}
	}
	// A sole writer's entries are final at once: squashes at 4 and 8.
	var squashed []uint64
	for len(squashed) < 2 {
		select {
		case ev := <-events:
			if ev.Squashed != nil {
				squashed = append(squashed, ev.Squashed.Entries)
				if ev.State < int64(ev.Squashed.Entries) {
					t.Fatalf("state %d after squashing %d increments", ev.State, ev.Squashed.Entries)
				}
			}
		case <-ctx.Done():
			t.Fatalf("squash events %v, want two", squashed)
		}
	}
	if squashed[0] != 4 || squashed[1] != 8 {
		t.Errorf("squashed at %v, want [4 8]", squashed)
	}
	if got := n.State(); got != 10 {
		t.Errorf("state %d, want 10", got)
	}
	// A manual squash takes the rest.
	snap, err := n.Squash(ctx)
	if err != nil || snap.Frontier.Count != 10 || snap.Start != 8 {
		t.Fatalf("manual squash: %+v %v, want entries 8..10", snap.Frontier, err)
	}
	n.Close()
	// Reopened, the view squashes what it reloads and the state is whole.
	n, err = sbfeed.Open(dir, apps.CounterReduce, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.State(); got != 10 {
		t.Errorf("after reopening: state %d, want 10", got)
	}
	if f, err := n.Final(ctx); err != nil || f.Count != 10 {
		t.Errorf("after reopening: final %+v %v, want 10", f, err)
	}
}

func TestOptionsRetentionRefused(t *testing.T) {
	for _, tc := range []struct {
		opts sbfeed.Options
		want string
	}{
		{sbfeed.Options{Retention: sbfeed.RetentionPolicy{SquashEvery: -1}}, "negative Retention.SquashEvery"},
		{sbfeed.Options{Retention: sbfeed.RetentionPolicy{SquashEvery: 100}}, "needs a writer set"},
		{sbfeed.Options{MemTableSize: -1}, "negative MemTableSize"},
	} {
		_, err := sbfeed.Open(t.TempDir(), apps.CounterReduce, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v): %v, want an error containing %q", tc.opts, err, tc.want)
		}
	}
}
