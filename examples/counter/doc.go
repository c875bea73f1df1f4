// Command counter is the Redux counter example on three sbfeed peers.
//
// The reducer below is the one from Redux's counter-vanilla example,
// written in Go and untouched by replication: it knows nothing of feeds,
// peers or networks. Three peers, each with its own Pebble store in a
// temporary directory, connect over QUIC on loopback, press the buttons at
// the same time, and end with the same count.
//
//	go run ./examples/counter
package main
