package transport

import (
	"runtime"
	"strings"
	"testing"
)

// Close waits for every goroutine the endpoint started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	assertServes(t, s)
	s.ep.Close()
	s.wg.Wait()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sbfeed/transport.(*") && !strings.Contains(g, "TestCloseLeavesNoGoroutines") {
			t.Errorf("goroutine left after Close:\n%s", g)
		}
	}
}
