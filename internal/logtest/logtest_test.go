package logtest_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/internal/logtest"
)

func TestSink(t *testing.T) {
	s := logtest.New(slog.LevelInfo)
	log := slog.New(s).With("peer", "abc")
	log.Debug("not kept")
	done := make(chan struct{})
	go func() {
		defer close(done)
		log.Warn("peer refused", "err", "wrong network")
	}()
	if got := s.WaitFor(t, 10*time.Second, "refused", "err=wrong network"); got != "peer refused peer=abc err=wrong network" {
		t.Fatalf("line %q", got)
	}
	<-done
	if lines := s.Lines(); len(lines) != 1 {
		t.Fatalf("kept %q, want only the warning", lines)
	}
}
