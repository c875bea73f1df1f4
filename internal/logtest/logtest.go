package logtest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sink is a slog.Handler that keeps every record at or above its level as
// one line: the message, then " key=value" for each attribute (those given
// to With first). It is safe for concurrent use.
type Sink struct {
	level slog.Level

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
}

// New returns an empty sink that keeps records at or above level.
func New(level slog.Level) *Sink { return &Sink{level: level, changed: make(chan struct{})} }

// Enabled implements slog.Handler.
func (s *Sink) Enabled(_ context.Context, lv slog.Level) bool { return lv >= s.level }

// Handle implements slog.Handler.
func (s *Sink) Handle(_ context.Context, r slog.Record) error { return s.add(r, nil) }

// WithAttrs implements slog.Handler.
func (s *Sink) WithAttrs(as []slog.Attr) slog.Handler { return &with{s, as} }

// WithGroup implements slog.Handler; groups are not kept.
func (s *Sink) WithGroup(string) slog.Handler { return s }

func (s *Sink) add(r slog.Record, pre []slog.Attr) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range pre {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	s.mu.Lock()
	s.lines = append(s.lines, b.String())
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// Lines returns a copy of every line kept so far.
func (s *Sink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// WaitFor returns the first line that contains every one of subs, waiting
// up to timeout for it to be logged; it fails the test with the whole log
// if none is.
func (s *Sink) WaitFor(t testing.TB, timeout time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, line := range s.lines {
			ok := true
			for _, sub := range subs {
				ok = ok && strings.Contains(line, sub)
			}
			if ok {
				s.mu.Unlock()
				return line
			}
		}
		ch, all := s.changed, strings.Join(s.lines, "\n")
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no log line with %q in %v; log:\n%s", subs, timeout, all)
		}
	}
}

// with is the handler With returns: the sink plus attributes.
type with struct {
	s  *Sink
	as []slog.Attr
}

func (w *with) Enabled(ctx context.Context, lv slog.Level) bool { return w.s.Enabled(ctx, lv) }
func (w *with) Handle(_ context.Context, r slog.Record) error   { return w.s.add(r, w.as) }
func (w *with) WithGroup(string) slog.Handler                   { return w }
func (w *with) WithAttrs(as []slog.Attr) slog.Handler {
	return &with{w.s, append(append([]slog.Attr{}, w.as...), as...)}
}
