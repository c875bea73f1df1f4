// Command chat is a chat room for several terminals, on sbfeed.
//
// Each terminal runs one peer with its own data directory. Lines typed are
// dispatched as actions; every peer shows the messages of every peer in the
// one order they all agree on. A peer that was offline keeps its messages
// and, when it comes back, they arrive in their place in everyone's room
// (the room is reprinted when that happens).
//
// Three terminals:
//
//	go run ./examples/chat --name alice --data /tmp/alice --listen 127.0.0.1:7412
//	go run ./examples/chat --name bob   --data /tmp/bob   --listen 127.0.0.1:7413 127.0.0.1:7412
//	go run ./examples/chat --name carol --data /tmp/carol --listen 127.0.0.1:7414 127.0.0.1:7412
//
// Type a line and press Enter to say it; Ctrl-D or /quit leaves.
package main
