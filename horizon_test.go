package sbfeed

import (
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// The fold horizon holds at the slowest feed still behind a peer, even one
// not started yet, while entries arrive in bulk, and never during live
// traffic: a peer announcing entries it never sends cannot hold the state.
func TestFoldHorizon(t *testing.T) {
	x, y := identity.ID{1}, identity.ID{2}
	heads := map[identity.ID]feed.Head{}
	head := func(a identity.ID) feed.Head { return heads[a] }
	both := map[identity.ID]uint64{x: 100_000, y: 100_000}
	var h foldHorizon
	check := func(what string, behind map[identity.ID]uint64, want uint64) {
		t.Helper()
		if got := h.value(func() map[identity.ID]uint64 { return behind }, head); got != want {
			t.Fatalf("%s: horizon %d, want %d", what, got, want)
		}
	}
	check("nothing stored", both, merge.NoHorizon)
	if h.add(10) {
		t.Fatal("10 entries started a bulk sync")
	}
	check("a trickle of entries: live traffic", both, merge.NoHorizon)
	if !h.add(bulkPerTick) {
		t.Fatal("a tick's worth of entries did not start a bulk sync")
	}
	heads[x] = feed.Head{Seq: 300, Clock: 300}
	check("bulk: y not started yet holds at 0", both, 0)
	h.tick()
	heads[y] = feed.Head{Seq: 50, Clock: 70}
	check("bulk tick: the lower clock", both, 70)
	if h.add(bulkPerTick) {
		t.Fatal("a bulk sync started twice")
	}
	h.tick()
	check("still bulk", map[identity.ID]uint64{x: 100_000}, 300)
	check("nothing behind", nil, merge.NoHorizon)
	h.add(3)
	h.tick()
	check("the bulk ended: an unkept announcement holds nothing", both, merge.NoHorizon)
}
