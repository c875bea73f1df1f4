package leaktest

import (
	"sync"
	"testing"
	"time"
)

type worker struct {
	started, stop chan struct{}
	once          sync.Once
}

func (w *worker) run() {
	close(w.started)
	<-w.stop
}

func (w *worker) end() { w.once.Do(func() { close(w.stop) }) }

func TestLeftoverSeesARunningGoroutine(t *testing.T) {
	w := &worker{started: make(chan struct{}), stop: make(chan struct{})}
	defer w.end() // never leak it into the next test, even on failure
	go w.run()
	<-w.started
	if left := leftover(t.Name(), []string{"leaktest.(*worker)"}); len(left) != 1 {
		t.Fatalf("leftover found %d goroutines, want the worker", len(left))
	}
	w.end()
	Check(t, 10*time.Second, "leaktest.(*worker)") // passes once it has exited
}
