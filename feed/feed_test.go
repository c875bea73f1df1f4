package feed_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

func testKey(t testing.TB, b byte) *identity.Key {
	t.Helper()
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCreateDecodeVerify(t *testing.T) {
	net := identity.NetworkFromName("test")
	k := testKey(t, 1)
	var head feed.Head
	var run []feed.Entry
	for i := 0; i < 5; i++ {
		e, err := feed.Create(k, net, head, feed.Draft{Content: []byte("hello")})
		if err != nil {
			t.Fatal(err)
		}
		b := e.Encode()
		d, err := feed.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Encode(), b) {
			t.Fatal("round trip")
		}
		if err := d.Verify(net); err != nil {
			t.Fatal(err)
		}
		if err := d.Verify(identity.NetworkFromName("other")); !errors.Is(err, feed.ErrBadSignature) {
			t.Fatalf("other network: %v", err)
		}
		if err := d.VerifyAfter(head); err != nil {
			t.Fatal(err)
		}
		head = d.Head()
		run = append(run, d)
	}
	if err := feed.VerifyChain(net, feed.Head{}, run); err != nil {
		t.Fatal(err)
	}
	run[2].Content = []byte("HELLO")
	if err := feed.VerifyChain(net, feed.Head{}, run); !errors.Is(err, feed.ErrBrokenChain) {
		t.Fatalf("tampered: %v", err)
	}
}
