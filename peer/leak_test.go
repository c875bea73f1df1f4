package peer

import (
	"runtime"
	"strings"
	"testing"
)

// Close waits for every goroutine the peer started; none may outlive it.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	a := startNode(t, 1, nodeOpts{listen: "127.0.0.1:0"})
	a.publish(t, 10, "a")
	b := startNode(t, 2, nodeOpts{dial: []string{a.addr()}})
	b.waitHeads(t, a.heads(t))
	b.stop()
	a.stop()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sbfeed/peer.(*") || strings.Contains(g, "sbfeed/transport.(*") {
			if !strings.Contains(g, "TestCloseLeavesNoGoroutines") {
				t.Errorf("goroutine left after Close:\n%s", g)
			}
		}
	}
}
