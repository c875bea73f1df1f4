package store_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/store"
)

// TestWriteFailures makes writes to the WAL fail once the store holds some
// entries (a full disk; an I/O error on sync): Append reports a clear
// error, the process stays up, later writes are refused, and after
// reopening the store holds exactly the acknowledged entries.
func TestWriteFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind func(errorfs.OpKind) bool
		err  error
		// exact: the failed batch never reached the file. When only the
		// sync fails, the batch may sit in the OS cache and survive a
		// reopen: then it must be there whole, never in part.
		exact bool
	}{
		{"disk full on write", func(k errorfs.OpKind) bool { return k.ReadOrWrite() == errorfs.OpIsWrite }, syscall.ENOSPC, true},
		{"EIO on sync", func(k errorfs.OpKind) bool {
			return k == errorfs.OpFileSync || k == errorfs.OpFileSyncData || k == errorfs.OpFileSyncTo
		}, syscall.EIO, false},
	} {
		t.Run(tc.name, func(t *testing.T) { testWriteFailure(t, tc.kind, tc.err, tc.exact) })
	}
}

func testWriteFailure(t *testing.T, match func(errorfs.OpKind) bool, injected error, exact bool) {
	dir := t.TempDir()
	var full atomic.Bool
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && match(op.Kind) && strings.HasSuffix(op.Path, ".log") {
			return injected
		}
		return nil
	})
	fs := errorfs.Wrap(vfs.Default, inj)
	var logged atomic.Int64
	db, err := store.Open(dir, &store.Options{FS: fs, Network: testNet, Log: func(string, ...any) { logged.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	k := testKey(t, 1)
	entries := makeFeed(t, k, feed.Head{}, 30)
	if _, err := db.Append(entries[:10]...); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	_, err = db.Append(entries[10:20]...)
	if !errors.Is(err, injected) || !errors.Is(err, store.ErrFailed) {
		t.Fatalf("append on a failing disk: %v", err)
	}
	t.Log(err)
	// The process is still up; the store refuses writes until reopened.
	full.Store(false)
	if _, err := db.Append(entries[10:20]...); !errors.Is(err, store.ErrFailed) {
		t.Fatalf("append after failure: %v", err)
	}
	// Reads too: Pebble may hold the failed batch in memory.
	if _, _, err := db.Head(k.ID()); !errors.Is(err, store.ErrFailed) {
		t.Fatalf("read after failure: %v", err)
	}
	db.Close()
	db = openTest(t, dir)
	h, _, err := db.Head(k.ID())
	if err != nil || h != entries[9].Head() && (exact || h != entries[19].Head()) {
		t.Fatalf("after reopen: head %+v, want seq 10 (or 20 if the batch survived whole): %v", h, err)
	}
	rep, err := audit.Run(audit.FromStore(db), audit.Options{Network: testNet})
	if err != nil || !rep.Clean() || rep.Entries != int64(h.Seq) {
		t.Fatalf("audit after reopen: %v %+v", err, rep)
	}
	if _, err := db.Append(entries[10:]...); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
}
