package sbfeed

import (
	"bytes"
	"context"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// An in-memory endpoint that dials again and again keeps only its live
// connections.
func TestMemEndpointForgetsEndedConns(t *testing.T) {
	key := func(b byte) *identity.Key {
		k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	mn := NewMemNetwork()
	srv, err := mn.Open(key(1), "srv:1")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := mn.Open(key(2), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	for range 100 {
		c, err := cli.Dial(ctx, "srv:1", identity.ID{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := srv.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Close(nil)
		s.Close(nil)
	}
	for _, ep := range []Endpoint{srv, cli} {
		if n := len(ep.(*memEndpoint).conns); n > 1 {
			t.Errorf("%s tracks %d connections after 100 ended ones, want at most the last", ep.Addr(), n)
		}
	}
}
