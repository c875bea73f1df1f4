package leaktest

import (
	"testing"
	"time"
)

type worker struct{ stop chan struct{} }

func (w *worker) run() { <-w.stop }

func TestLeftoverSeesARunningGoroutine(t *testing.T) {
	w := &worker{stop: make(chan struct{})}
	go w.run()
	if left := leftover(t.Name(), []string{"leaktest.(*worker)"}); len(left) != 1 {
		t.Fatalf("leftover found %d goroutines, want the worker", len(left))
	}
	close(w.stop)
	Check(t, 10*time.Second, "leaktest.(*worker)") // passes once it exits
}
