package peer

import (
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/internal/leaktest"
)

// Close waits for every goroutine the peer started; none may outlive it.
// (Within a second: one that has signalled its WaitGroup may still be
// returning.)
func TestCloseLeavesNoGoroutines(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 10, "a")
	b := startNode(t, 2, nodeOpts{dial: []string{a.addr()}})
	b.waitHeads(t, a.heads(t))
	b.stop()
	a.stop()
	leaktest.Check(t, time.Second, "sbfeed/peer.(*", "sbfeed/transport.(*")
}
