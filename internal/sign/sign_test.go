package sign_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/sign"
)

// Every entry of a chain signed in parallel verifies, as if signed one by
// one, for runs shorter and longer than one worker's share.
func TestAll(t *testing.T) {
	k, err := identity.FromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	net := identity.NetworkFromName("sign-test")
	for _, n := range []int{1, 63, 500} {
		drafts := make([]feed.Draft, n)
		for i := range drafts {
			drafts[i].Content = fmt.Appendf(nil, "action %d", i)
		}
		entries, err := feed.Chain(k.ID(), feed.Head{}, drafts)
		if err != nil {
			t.Fatal(err)
		}
		if err := sign.All(k, net, entries); err != nil {
			t.Fatal(err)
		}
		if err := feed.VerifyChainFull(net, feed.Head{}, entries); err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
	}
}
