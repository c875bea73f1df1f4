package transport_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/transport"
)

// Two endpoints on loopback: the dialler names the identity it expects,
// each side reads the other's identity from its certificate, both derive
// the same channel binding, and a frame crosses on the control stream.
func Example() {
	alice, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	bob, _ := identity.FromSeed(bytes.Repeat([]byte{2}, 32))
	srv, err := transport.Listen("127.0.0.1:0", transport.Config{Key: alice})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	cli, err := transport.Listen("127.0.0.1:0", transport.Config{Key: bob, NoAccept: true})
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	ctx := context.Background()
	accepted := make(chan *transport.Conn, 1)
	go func() {
		c, err := srv.Accept(ctx)
		if err == nil {
			accepted <- c
		}
	}()
	c, err := cli.Dial(ctx, srv.Addr().String(), alice.ID())
	if err != nil {
		panic(err)
	}
	w, _ := c.OpenStream(ctx, transport.Control)
	w.Send([]byte("hello"))

	s := <-accepted
	r, _ := s.AcceptStream(ctx)
	frame, _ := r.Recv()
	fmt.Println("alice hears", bob.ID() == s.Peer(), string(frame), "on", r.Kind())
	fmt.Println("bob reached", c.Peer() == alice.ID())
	fmt.Println("same binding:", bytes.Equal(c.Binding(), s.Binding()), len(c.Binding()), "bytes")
	s.Close(nil) // nothing to flush on this side: closes at once
	// Output:
	// alice hears true hello on control
	// bob reached true
	// same binding: true 32 bytes
}
