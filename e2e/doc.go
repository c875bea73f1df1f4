// Package e2e holds sbfeed's end-to-end tests: real "sbfeed" processes of
// the binary built from ./cmd/sbfeed, talking QUIC on loopback, each with its
// own Pebble data directory. Nothing is mocked. The tests wait on conditions
// with deadlines (polling "sbfeed state" through the control socket), never
// on sleeps.
package e2e
