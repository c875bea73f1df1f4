package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// LockFile is the name of the lock file in a data directory. While a DB is
// open it holds an exclusive flock on it and its text is the holder's PID.
const LockFile = "sbfeed.lock"

// lockDir takes the directory lock. On the operating system's file system
// it uses flock, which conflicts between processes and between two opens
// in one process, and is released by the kernel when the holder dies (so a
// SIGKILLed process never leaves a stale lock). Other file systems use
// their own Lock, without a PID.
func lockDir(fs vfs.FS, dir string) (io.Closer, error) {
	path := filepath.Join(dir, LockFile)
	if fs != vfs.Default {
		c, err := fs.Lock(path)
		if err != nil {
			return nil, &LockedError{Dir: dir}
		}
		return c, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 32))
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil // closing the file releases the flock
}
