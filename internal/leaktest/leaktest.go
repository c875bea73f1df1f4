package leaktest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check fails t if, within timeout, the goroutines whose stacks mention
// any of funcs (such as "sbfeed/peer.(*") have not all ended; the test's
// own goroutine is ignored. It retries, because a goroutine that has
// signalled its WaitGroup may still be returning when Close does.
func Check(t testing.TB, timeout time.Duration, funcs ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := leftover(t.Name(), funcs)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, g := range left {
				t.Errorf("goroutine left after Close:\n%s", g)
			}
			return
		}
		<-time.After(time.Millisecond) // poll the stacks until the deadline
	}
}

func leftover(test string, funcs []string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	top := test
	if i := strings.IndexByte(top, '/'); i >= 0 {
		top = top[:i]
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "."+top+"(") {
			continue // the test's own goroutine (a frame, not "created by")
		}
		for _, f := range funcs {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
