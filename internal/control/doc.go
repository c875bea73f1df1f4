// Package control is the control socket of a running peer: a Unix socket in
// the data directory through which "sbfeed append", "sbfeed state" and
// "sbfeed log" reach the peer that holds the directory's store open, so a
// user never meets a lock error while a peer runs.
//
// The socket is DIR/control.sock, created with mode 0600 inside the data
// directory, so only the directory's owner can use it. The protocol is one
// request per connection: the client writes one JSON object and a newline
// ([Request]); the server answers with one JSON line ([Reply]) and then,
// when the reply is OK, the command's output as raw bytes until it closes
// the connection. A client that finds no socket, or a socket nobody listens
// on (a peer that was killed), gets [ErrNoPeer].
package control
