package store

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sbfeed/sbfeed/identity"
)

// Options configures [Open]. The zero value (and nil) is a synced store on
// the operating system's file system, in the default network.
type Options struct {
	// FS is the file system. Nil means the operating system's (vfs.Default).
	// Tests pass vfs.NewMem, vfs.NewCrashableMem or an errorfs wrapper.
	FS vfs.FS

	// Network is the network whose signatures the store accepts. The zero
	// value means identity.DefaultNetwork. A store remembers a fingerprint
	// of its network at creation and refuses to open in another one.
	Network identity.Network

	// NoSync, when set, lets Append return before its batch reaches stable
	// storage: a crash may then lose the most recent appends (never corrupt
	// older ones). False, the default, syncs every batch.
	NoSync bool

	// CacheSize is Pebble's block cache in bytes. Zero means 32 MiB.
	CacheSize int64

	// MemTableSize is Pebble's write buffer (memtable) in bytes. A larger
	// one absorbs a bulk sync with fewer flushes and far less compaction
	// work, at the cost of memory: up to twice this much while one flushes.
	// Zero means 4 MiB (Pebble's default), which keeps a peer syncing a
	// million entries under 150 MiB of RSS; an sbfeed node uses 32 MiB
	// (sbfeed.Options.MemTableSize).
	MemTableSize int64

	// Log receives Pebble's informational and error messages. Nil discards
	// them.
	Log func(format string, args ...any)
}

// DefaultCacheSize is the block cache used when Options.CacheSize is zero.
const DefaultCacheSize = 32 << 20

// DefaultMemTableSize is the write buffer used when Options.MemTableSize is
// zero.
const DefaultMemTableSize = 4 << 20

// Clone returns a copy of o; nil gives a zero Options.
func (o *Options) Clone() *Options {
	if o == nil {
		return &Options{}
	}
	c := *o
	return &c
}

// EnsureDefaults fills the zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Network == (identity.Network{}) {
		o.Network = identity.DefaultNetwork
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return o
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	switch {
	case o.CacheSize < 0:
		return errors.New("store: options: negative CacheSize")
	case o.MemTableSize < 0:
		return errors.New("store: options: negative MemTableSize")
	case o.MemTableSize >= 4<<30:
		return fmt.Errorf("store: options: MemTableSize %d is not below 4 GiB", o.MemTableSize)
	}
	return nil
}
