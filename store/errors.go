package store

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Errors callers branch on with errors.Is.
var (
	// ErrLocked: another process (or another Open in this one) holds the
	// data directory. The error is a *LockedError naming the process.
	ErrLocked = errors.New("store: data directory in use")
	// ErrVersion: the store's format is unknown to this build or newer.
	ErrVersion = errors.New("store: unsupported store format version")
	// ErrNetwork: the store belongs to another network.
	ErrNetwork = errors.New("store: store belongs to another network")
	// ErrNotFound: no such entry, feed or snapshot.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("store: closed")
	// ErrFailed: a write failed in a way that leaves the open DB unsure of
	// its state (a full disk, an I/O error on the log). Nothing more is
	// written; close and reopen the store, which then holds exactly the
	// acknowledged entries. The error wraps the cause (e.g. ENOSPC).
	ErrFailed = errors.New("store: write failed; reopen the store")
	// ErrCorrupt: stored bytes that are not what the store wrote. Also
	// reported for Pebble's own corruption errors; see IsCorruption.
	ErrCorrupt = errors.New("store: corrupt")
)

// LockedError says which process holds a data directory. PID is 0 when it
// could not be read (for example on an in-memory file system).
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("store: %s is in use by process %d", e.Dir, e.PID)
	}
	return fmt.Sprintf("store: %s is in use by another process", e.Dir)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// IsCorruption reports whether err, however wrapped, says the stored data
// is damaged (as opposed to a refused entry or an I/O error).
func IsCorruption(err error) bool {
	return errors.Is(err, ErrCorrupt) || pebble.IsCorruptionError(err)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
