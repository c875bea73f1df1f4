package transport

import (
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/internal/leaktest"
)

// Close waits for every goroutine the endpoint started. (Within a second:
// one that has signalled its WaitGroup may still be returning.)
func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := newServer(t, testKey(t, 1), nil)
	assertServes(t, s)
	s.ep.Close()
	s.wg.Wait()
	leaktest.Check(t, time.Second, "sbfeed/transport.(*")
}
