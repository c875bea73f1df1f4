package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// DB is an open store. Create it with [Open]; it is safe for concurrent use.
type DB struct {
	dir     string
	opts    *Options
	pdb     *pebble.DB
	lock    io.Closer
	network identity.Network
	wo      *pebble.WriteOptions

	mu     sync.Mutex // serialises Append, fork and snapshot writes, and Close
	closed bool
	// failed holds the error of a write that failed fatally (see commit);
	// from then on every operation but Close returns it.
	failed atomic.Pointer[error]
}

// FeedHead is what the store knows of one feed.
type FeedHead struct {
	Author identity.ID
	Head   feed.Head
	// ForkedAt is the lowest seq at which a fork of this feed is stored,
	// 0 if none is known.
	ForkedAt uint64
}

// AppendResult counts what an Append did.
type AppendResult struct {
	New   int // entries stored by this call
	Known int // entries that were already stored (idempotent no-ops)
	// Forks lists the forks found by this call. Each proof is stored and
	// its feed marked forked; the call's error is a *feed.ForkError for the
	// first of them.
	Forks []feed.ForkProof
	// Skipped counts entries of a fork's other branch in this batch: they
	// are not stored (the proof is).
	Skipped int
}

// networkFingerprint is what the store records of its network: a hash, so
// the key itself, which admits peers, is never written to the store.
func networkFingerprint(n identity.Network) []byte {
	h := sha256.Sum256(append([]byte("sbfeed/store/network\x00"), n[:]...))
	return h[:]
}

// Open opens (creating if needed) the store in dir. See [Options] for the
// defaults a nil opts gives.
func Open(dir string, opts *Options) (*DB, error) {
	o := opts.Clone().EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	lock, err := lockDir(o.FS, dir)
	if err != nil {
		return nil, err
	}
	po := &pebble.Options{
		FS:                 o.FS,
		CacheSize:          o.CacheSize,
		MemTableSize:       uint64(o.MemTableSize),
		Logger:             pebbleLogger{o.Log},
		FormatMajorVersion: pebble.FormatNewest,
	}
	// Scans dominate reads (replication streams feed ranges, an audit
	// reads everything): 32 KiB blocks cut the per-block cost of a scan
	// (read, decompress, cache) and measured 1.5x faster audits than the
	// default 4 KiB. Other levels inherit L0's block size.
	po.Levels[0].BlockSize = 32 << 10
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	db := &DB{dir: dir, opts: o, pdb: pdb, lock: lock, network: o.Network, wo: pebble.Sync}
	if o.NoSync {
		db.wo = pebble.NoSync
	}
	if err := db.checkFormat(); err != nil {
		pdb.Close()
		lock.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) checkFormat() error {
	v, err := db.get(keyVersion)
	if errors.Is(err, ErrNotFound) {
		// A new store, unless it holds keys: then it is not ours.
		it, err := db.pdb.NewIter(nil)
		if err != nil {
			return err
		}
		nonEmpty := it.First()
		it.Close()
		if nonEmpty {
			return fmt.Errorf("%w: %s holds data but no sbfeed format version", ErrVersion, db.dir)
		}
		b := db.pdb.NewBatch()
		b.Set(keyVersion, binary.BigEndian.AppendUint64(nil, FormatVersion), nil)
		b.Set(keyNetwork, networkFingerprint(db.network), nil)
		return b.Commit(pebble.Sync)
	}
	if err != nil {
		return err
	}
	if len(v) != 8 {
		return fmt.Errorf("%w: %s: version record of %d bytes", ErrVersion, db.dir, len(v))
	}
	if n := binary.BigEndian.Uint64(v); n != FormatVersion {
		return fmt.Errorf("%w: %s has store format %d, this build reads only %d (upgrade sbfeed)", ErrVersion, db.dir, n, FormatVersion)
	}
	fp, err := db.get(keyNetwork)
	if err != nil {
		return fmt.Errorf("store: %s: network record: %w", db.dir, err)
	}
	if !bytes.Equal(fp, networkFingerprint(db.network)) {
		return fmt.Errorf("%w: %s was created for another network than %s", ErrNetwork, db.dir, db.network.Short())
	}
	return nil
}

// Close closes the store and releases the directory lock. It is idempotent.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	err := db.closePebble()
	if lerr := db.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }

// Network returns the network whose signatures the store accepts.
func (db *DB) Network() identity.Network { return db.network }

// get returns a copy of the value at key, or ErrNotFound.
func (db *DB) get(key []byte) ([]byte, error) {
	if err := db.failure(); err != nil {
		return nil, err
	}
	v, c, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	out := bytes.Clone(v)
	c.Close()
	return out, nil
}

// Append stores entries, of one or several feeds, in any order, atomically
// and durably (unless Options.NoSync). Each feed's new entries must extend
// its stored head without a gap; they are checked with feed.VerifyChain
// (every field, hash link and clock step, and the newest signature of the
// run) and, when their references are known, with feed.VerifyRefs. An
// invalid entry refuses the whole batch with the feed package's typed error
// naming it; nothing is written.
//
// An entry already stored is a no-op (counted as Known). A validly signed
// entry that differs from the stored one at its seq is a fork: the proof is
// stored, the feed marked forked, the stored entry kept, and the rest of
// the batch still stored; the error is then a *feed.ForkError.
func (db *DB) Append(entries ...feed.Entry) (AppendResult, error) {
	var res AppendResult
	if len(entries) == 0 {
		return res, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return res, ErrClosed
	}
	if err := db.failure(); err != nil {
		return res, err
	}
	// Group by author, keeping the order in which feeds first appear, and
	// sort each group by seq (stable, so duplicates keep their order). A
	// batch usually holds one feed's run, so groups are sized exactly
	// rather than grown entry by entry.
	var order []identity.ID
	counts := make(map[identity.ID]int)
	for i := range entries {
		a := entries[i].Author
		if counts[a] == 0 {
			order = append(order, a)
		}
		counts[a]++
	}
	groups := make(map[identity.ID][]feed.Entry, len(order))
	for _, a := range order {
		groups[a] = make([]feed.Entry, 0, counts[a])
	}
	for i := range entries {
		a := entries[i].Author
		groups[a] = append(groups[a], entries[i])
	}
	type plan struct {
		fh    FeedHead
		run   []feed.Entry
		forks []feed.ForkProof
	}
	plans := make([]plan, 0, len(order))
	withRefs := false
	for _, author := range order {
		g := groups[author]
		slices.SortStableFunc(g, func(a, b feed.Entry) int {
			switch {
			case a.Seq < b.Seq:
				return -1
			case a.Seq > b.Seq:
				return 1
			}
			return 0
		})
		fh, known, err := db.feedHead(author)
		if err != nil {
			return AppendResult{}, err
		}
		if !known {
			// A low-order or non-canonical author key can "sign" for many
			// messages at once; such a feed proves nothing. Checked once,
			// when the feed is new to the store.
			if err := author.CheckKey(); err != nil {
				return AppendResult{}, &feed.Error{Author: author, Seq: g[0].Seq, Field: "author", Err: feed.ErrBadSignature, Detail: err.Error()}
			}
		}
		p := plan{fh: fh, run: make([]feed.Entry, 0, len(g))}
		// After a fork, the entries of the other branch are skipped (one
		// proof is enough) and those extending the stored branch kept.
		forked := false
		tip := fh.Head
		for i := range g {
			e := &g[i]
			// other is the entry this store or batch already has at e.Seq.
			var other *feed.Entry
			switch {
			case e.Seq <= fh.Head.Seq:
				stored, err := db.Get(author, e.Seq)
				if err != nil {
					return AppendResult{}, err
				}
				other = &stored
			case len(p.run) > 0 && e.Seq <= tip.Seq:
				// Sorted by seq, so e repeats the run's last seq.
				other = &p.run[len(p.run)-1]
			}
			switch {
			case other != nil && other.ID() == e.ID():
				res.Known++
			case other != nil && forked:
				res.Skipped++
			case other != nil:
				proof, err := forkProof(db.network, *other, *e)
				if err != nil {
					return AppendResult{}, err
				}
				p.forks = append(p.forks, proof)
				forked = true
			case forked && (e.Seq != tip.Seq+1 || e.Prev != tip.ID):
				res.Skipped++
			default:
				p.run = append(p.run, *e)
				tip = feed.Head{Seq: e.Seq, ID: e.ID(), Clock: e.Clock, Kind: e.Kind}
			}
		}
		if err := feed.VerifyChain(db.network, fh.Head, p.run); err != nil {
			return AppendResult{}, err
		}
		for i := range p.run {
			withRefs = withRefs || len(p.run[i].Refs) > 0
		}
		plans = append(plans, p)
	}
	// The new entries of this batch, for references among them: only
	// indexed when some entry has references.
	var pending map[feed.ID]ref
	if withRefs {
		pending = make(map[feed.ID]ref)
		for _, p := range plans {
			for i := range p.run {
				e := &p.run[i]
				pending[e.ID()] = ref{author: e.Author, seq: e.Seq, clock: e.Clock}
			}
		}
	}
	// References: check the causal rule for every entry whose references
	// are all known; a missing reference is not a fault yet (it may arrive
	// later) and is left to the audit and the merge layer.
	for _, p := range plans {
		prevClock := p.fh.Head.Clock
		for i := range p.run {
			e := &p.run[i]
			if len(e.Refs) > 0 {
				err := e.VerifyRefs(prevClock, func(id feed.ID) (identity.ID, uint64, bool) {
					if r, ok := pending[id]; ok {
						return r.author, r.clock, true
					}
					r, err := db.lookup(id)
					return r.author, r.clock, err == nil
				})
				if err != nil && !errors.Is(err, feed.ErrMissingRef) {
					return AppendResult{}, err
				}
			}
			prevClock = e.Clock
		}
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	var kbuf, vbuf []byte
	for _, p := range plans {
		fh := p.fh
		for i := range p.run {
			e := &p.run[i]
			id := e.ID()
			kbuf = entryKey(kbuf[:0], e.Author, e.Seq)
			vbuf = e.AppendEncode(vbuf[:0])
			b.Set(kbuf, vbuf, nil)
			vbuf = locator(vbuf[:0], e.Author, e.Seq)
			vbuf = binary.BigEndian.AppendUint64(vbuf, e.Clock)
			kbuf = idKey(kbuf[:0], id)
			b.Set(kbuf, vbuf, nil)
			kbuf = mergeKey(kbuf[:0], e.Clock, id)
			b.Set(kbuf, vbuf[:identity.IDSize+8], nil)
			fh.Head = feed.Head{Seq: e.Seq, ID: id, Clock: e.Clock, Kind: e.Kind}
			res.New++
		}
		for _, f := range p.forks {
			b.Set(forkKey(f.Author(), f.Seq(), f.B.ID()), f.Encode(), nil)
			if fh.ForkedAt == 0 || f.Seq() < fh.ForkedAt {
				fh.ForkedAt = f.Seq()
			}
			res.Forks = append(res.Forks, f)
		}
		if len(p.run) > 0 || len(p.forks) > 0 {
			fh.Author = p.fh.Author
			b.Set(headKey(fh.Author), encodeHead(fh), nil)
		}
	}
	if b.Empty() {
		return res, nil
	}
	if err := db.commit(b); err != nil {
		return AppendResult{New: 0, Known: res.Known}, fmt.Errorf("store: append: %w", err)
	}
	if len(res.Forks) > 0 {
		return res, &feed.ForkError{Proof: res.Forks[0]}
	}
	return res, nil
}

// forkProof checks the new entry stands alone (so an invalid entry is a
// refusal, not a fork) and builds the proof.
func forkProof(network identity.Network, stored, e feed.Entry) (feed.ForkProof, error) {
	if err := e.Verify(network); err != nil {
		return feed.ForkProof{}, err
	}
	return feed.NewForkProof(network, stored, e)
}

type ref struct {
	author identity.ID
	seq    uint64
	clock  uint64
}

func (db *DB) lookup(id feed.ID) (ref, error) {
	v, err := db.get(idKey(nil, id))
	if err != nil {
		return ref{}, err
	}
	if len(v) != identity.IDSize+16 {
		return ref{}, corruptf("ID index value of %d bytes", len(v))
	}
	var r ref
	copy(r.author[:], v)
	r.seq = binary.BigEndian.Uint64(v[identity.IDSize:])
	r.clock = binary.BigEndian.Uint64(v[identity.IDSize+8:])
	return r, nil
}

func (db *DB) feedHead(author identity.ID) (FeedHead, bool, error) {
	v, err := db.get(headKey(author))
	if errors.Is(err, ErrNotFound) {
		return FeedHead{Author: author}, false, nil
	}
	if err != nil {
		return FeedHead{}, false, err
	}
	fh, err := decodeHead(author, v)
	return fh, err == nil, err
}

// Head returns the head of author's feed; ok is false for a feed the store
// does not know (whose head is the zero feed.Head).
func (db *DB) Head(author identity.ID) (h feed.Head, ok bool, err error) {
	fh, ok, err := db.feedHead(author)
	return fh.Head, ok, err
}

// Feed returns what the store knows of author's feed, including a fork.
func (db *DB) Feed(author identity.ID) (FeedHead, bool, error) { return db.feedHead(author) }

// Heads returns the head of every stored feed, ordered by author.
func (db *DB) Heads() ([]FeedHead, error) {
	it, err := db.newIter([]byte{tagHead}, []byte{tagHead + 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []FeedHead
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 1+identity.IDSize {
			return nil, corruptf("head key of %d bytes", len(k))
		}
		var a identity.ID
		copy(a[:], k[1:])
		fh, err := decodeHead(a, it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, fh)
	}
	return out, it.Error()
}

// GetRaw returns the stored encoding of author's entry at seq, or
// ErrNotFound.
func (db *DB) GetRaw(author identity.ID, seq uint64) ([]byte, error) {
	return db.get(entryKey(nil, author, seq))
}

// Get returns author's entry at seq, or ErrNotFound.
func (db *DB) Get(author identity.ID, seq uint64) (feed.Entry, error) {
	raw, err := db.GetRaw(author, seq)
	if err != nil {
		return feed.Entry{}, err
	}
	return decodeStored(author, seq, raw)
}

// GetByID returns the entry with the given ID, or ErrNotFound.
func (db *DB) GetByID(id feed.ID) (feed.Entry, error) {
	r, err := db.lookup(id)
	if err != nil {
		return feed.Entry{}, err
	}
	return db.Get(r.author, r.seq)
}

// Has reports whether the entry with the given ID is stored.
func (db *DB) Has(id feed.ID) (bool, error) {
	_, err := db.lookup(id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func decodeStored(author identity.ID, seq uint64, raw []byte) (feed.Entry, error) {
	e, err := feed.Decode(raw)
	if err != nil {
		return feed.Entry{}, corruptf("entry %s:%d: %v", author.Short(), seq, err)
	}
	if e.Author != author || e.Seq != seq {
		return feed.Entry{}, corruptf("entry stored at %s:%d is %s:%d", author.Short(), seq, e.Author.Short(), e.Seq)
	}
	return e, nil
}

// RangeRaw yields the stored encodings of author's entries with
// from <= seq <= to, in seq order; to == 0 means up to the head. The bytes
// are only valid until the next iteration step: copy them to keep them.
// This is replication's hot path: no decoding, no copying.
func (db *DB) RangeRaw(author identity.ID, from, to uint64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if to == 0 {
			to = ^uint64(0)
		}
		if from == 0 {
			from = 1
		}
		if from > to {
			return
		}
		lo, hi := feedBounds(author, from, to)
		it, err := db.newIter(lo, hi)
		if err != nil {
			yield(nil, err)
			return
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				yield(nil, fmt.Errorf("store: %w", err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := it.Error(); err != nil {
			yield(nil, fmt.Errorf("store: %w", err))
		}
	}
}

// Range yields author's entries with from <= seq <= to, decoded; to == 0
// means up to the head.
func (db *DB) Range(author identity.ID, from, to uint64) iter.Seq2[feed.Entry, error] {
	return func(yield func(feed.Entry, error) bool) {
		want := max(from, 1)
		for raw, err := range db.RangeRaw(author, from, to) {
			if err != nil {
				yield(feed.Entry{}, err)
				return
			}
			e, err := decodeStored(author, want, raw)
			if !yield(e, err) || err != nil {
				return
			}
			want++
		}
	}
}

// MergeOrder yields every entry with clock >= fromClock in the merge order:
// by clock, then by ID. The merge layer streams from its last snapshot's
// clock; MergeOrder(0) is every entry.
func (db *DB) MergeOrder(fromClock uint64) iter.Seq2[feed.Entry, error] {
	return func(yield func(feed.Entry, error) bool) {
		lo := binary.BigEndian.AppendUint64([]byte{tagMerge}, fromClock)
		it, err := db.newIter(lo, []byte{tagMerge + 1})
		if err != nil {
			yield(feed.Entry{}, err)
			return
		}
		defer it.Close()
		cur := newFeedCursors(db)
		defer cur.close()
		for it.First(); it.Valid(); it.Next() {
			a, seq, err := parseLocator(it.Value())
			var e feed.Entry
			if err == nil {
				e, err = cur.get(a, seq)
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
		if err := it.Error(); err != nil {
			yield(feed.Entry{}, fmt.Errorf("store: %w", err))
		}
	}
}

// feedCursors reads entries of many feeds in rising seq order, as the
// merge order visits them: one iterator per feed moves forward with Next
// (the next entry of a feed is usually the next key), which is several
// times faster than a point Get per entry. Past maxCursors feeds it falls
// back to Get.
type feedCursors struct {
	db  *DB
	its map[identity.ID]*pebble.Iterator
	key []byte
}

const maxCursors = 256

func newFeedCursors(db *DB) *feedCursors {
	return &feedCursors{db: db, its: make(map[identity.ID]*pebble.Iterator)}
}

func (c *feedCursors) get(author identity.ID, seq uint64) (feed.Entry, error) {
	it, ok := c.its[author]
	if !ok {
		if len(c.its) >= maxCursors {
			return c.db.Get(author, seq)
		}
		lo, hi := feedBounds(author, 1, ^uint64(0))
		var err error
		if it, err = c.db.newIter(lo, hi); err != nil {
			return feed.Entry{}, err
		}
		c.its[author] = it
	}
	c.key = entryKey(c.key[:0], author, seq)
	if !(it.Valid() && bytes.Equal(it.Key(), c.key)) && !(it.Valid() && it.Next() && bytes.Equal(it.Key(), c.key)) {
		if !it.SeekGE(c.key) || !bytes.Equal(it.Key(), c.key) {
			if err := it.Error(); err != nil {
				return feed.Entry{}, fmt.Errorf("store: %w", err)
			}
			return feed.Entry{}, corruptf("merge index names %s:%d, which is not stored", author.Short(), seq)
		}
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return feed.Entry{}, fmt.Errorf("store: %w", err)
	}
	return decodeStored(author, seq, v)
}

func (c *feedCursors) close() {
	for _, it := range c.its {
		it.Close()
	}
}

// Forks returns every stored fork proof, by author and seq.
func (db *DB) Forks() ([]feed.ForkProof, error) {
	it, err := db.newIter([]byte{tagFork}, []byte{tagFork + 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []feed.ForkProof
	for it.First(); it.Valid(); it.Next() {
		p, err := feed.DecodeForkProof(it.Value())
		if err != nil {
			return nil, corruptf("fork proof: %v", err)
		}
		out = append(out, p)
	}
	return out, it.Error()
}

// PutSnapshot stores data under name (durably unless NoSync), replacing
// any previous value. The store does not interpret it.
func (db *DB) PutSnapshot(name string, data []byte) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Set(snapshotKey(name), data, nil)
	if err := db.commit(b); err != nil {
		return fmt.Errorf("store: put snapshot %q: %w", name, err)
	}
	return nil
}

// GetSnapshot returns the data stored under name, or ErrNotFound.
func (db *DB) GetSnapshot(name string) ([]byte, error) {
	v, err := db.get(snapshotKey(name))
	if err != nil {
		return nil, fmt.Errorf("store: snapshot %q: %w", name, err)
	}
	return v, nil
}

// DeleteSnapshot removes the snapshot name; a missing one is not an error.
func (db *DB) DeleteSnapshot(name string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Delete(snapshotKey(name), nil)
	if err := db.commit(b); err != nil {
		return fmt.Errorf("store: delete snapshot %q: %w", name, err)
	}
	return nil
}

// pebbleLogger routes Pebble's messages to Options.Log.
type pebbleLogger struct{ log func(string, ...any) }

func (l pebbleLogger) Infof(format string, args ...any)  { l.log("pebble: "+format, args...) }
func (l pebbleLogger) Errorf(format string, args ...any) { l.log("pebble: error: "+format, args...) }

// Fatalf is called by Pebble when it cannot go on, notably when a write
// to the WAL fails (a full disk). It must not return; it panics with a
// *fatalError that the commit path recovers, so the process stays up and
// the DB refuses further writes (see ErrFailed).
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log("pebble: fatal: "+format, args...)
	fe := &fatalError{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			fe.cause = err
			break
		}
	}
	panic(fe)
}

type fatalError struct {
	msg   string
	cause error
}

// commit applies b, turning a fatal Pebble error into ErrFailed. After it
// the DB is failed: Pebble may have applied the batch in memory without
// making it durable, so no further write is accepted until a reopen
// replays exactly what reached the disk.
func (db *DB) commit(b *pebble.Batch) (err error) {
	if err := db.failure(); err != nil {
		return err
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fe, ok := r.(*fatalError)
		if !ok {
			panic(r)
		}
		if fe.cause != nil {
			err = fmt.Errorf("%w: %s: %w", ErrFailed, fe.msg, fe.cause)
		} else {
			err = fmt.Errorf("%w: %s", ErrFailed, fe.msg)
		}
		db.failed.Store(&err)
	}()
	return b.Commit(db.wo)
}

// AddForkProof verifies p and stores it, marking its feed forked at p's
// seq, as Append does when it finds a fork itself. Replication and bundle
// import use it to keep proofs received from others. A proof already
// stored is a no-op.
func (db *DB) AddForkProof(p feed.ForkProof) error {
	if err := p.Author().CheckKey(); err != nil {
		return &feed.Error{Author: p.Author(), Seq: p.Seq(), Field: "fork proof", Err: feed.ErrBadForkProof, Detail: err.Error()}
	}
	if err := p.Verify(db.network); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	fh, _, err := db.feedHead(p.Author())
	if err != nil {
		return err
	}
	fk := forkKey(p.Author(), p.Seq(), p.B.ID())
	if _, err := db.get(fk); err == nil {
		return nil
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Set(fk, p.Encode(), nil)
	if fh.ForkedAt == 0 || p.Seq() < fh.ForkedAt {
		fh.ForkedAt = p.Seq()
	}
	b.Set(headKey(fh.Author), encodeHead(fh), nil)
	if err := db.commit(b); err != nil {
		return fmt.Errorf("store: add fork proof: %w", err)
	}
	return nil
}

// closePebble closes Pebble; after a fatal write error Pebble may panic
// on close (through Fatalf) or report the error again, which is then
// already known.
func (db *DB) closePebble() (err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(*fatalError); !ok {
				panic(r)
			}
			err = db.failure()
		}
	}()
	err = db.pdb.Close()
	if ferr := db.failure(); ferr != nil {
		return ferr
	}
	return err
}

// failure returns the error that failed the DB, or nil.
func (db *DB) failure() error {
	if p := db.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// newIter opens an iterator over [lo, hi), unless the DB has failed.
func (db *DB) newIter(lo, hi []byte) (*pebble.Iterator, error) {
	if err := db.failure(); err != nil {
		return nil, err
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return it, nil
}

// CheckIndexed reports whether e, a stored entry, has the index records the
// layout requires (docs/spec/store-v1.md, invariant 3): its 'i' record
// names it, with its clock, and its 'm' record exists and names it. The
// audit calls it for every entry with --full. The error wraps ErrCorrupt.
func (db *DB) CheckIndexed(e *feed.Entry) error {
	id := e.ID()
	r, err := db.lookup(id)
	switch {
	case errors.Is(err, ErrNotFound):
		return corruptf("ID index has no record of %s:%d (%s)", e.Author.Short(), e.Seq, id.Short())
	case err != nil:
		return err
	case r.author != e.Author || r.seq != e.Seq || r.clock != e.Clock:
		return corruptf("ID index maps %s to %s:%d clock %d, the entry is %s:%d clock %d",
			id.Short(), r.author.Short(), r.seq, r.clock, e.Author.Short(), e.Seq, e.Clock)
	}
	v, err := db.get(mergeKey(nil, e.Clock, id))
	switch {
	case errors.Is(err, ErrNotFound):
		return corruptf("merge index has no record of %s:%d (%s)", e.Author.Short(), e.Seq, id.Short())
	case err != nil:
		return err
	}
	if a, seq, err := parseLocator(v); err != nil || a != e.Author || seq != e.Seq {
		return corruptf("merge index record of %s does not name %s:%d", id.Short(), e.Author.Short(), e.Seq)
	}
	return nil
}

// IndexRecord is what one record of the ID index or of the merge index
// says: the entry with this ID is author's entry at seq, with this clock.
type IndexRecord struct {
	ID     feed.ID
	Author identity.ID
	Seq    uint64
	Clock  uint64
}

// IDIndex yields every record of the ID index, in ID order. In a sound
// store they describe exactly the stored entries (invariant 3); the audit
// compares them with the entries as a multiset, by one sequential scan.
func (db *DB) IDIndex() iter.Seq2[IndexRecord, error] {
	return db.scanIndex(tagByID, func(k, v []byte) (IndexRecord, bool) {
		var r IndexRecord
		if len(k) != 1+feed.IDSize || len(v) != identity.IDSize+16 {
			return r, false
		}
		copy(r.ID[:], k[1:])
		copy(r.Author[:], v)
		r.Seq = binary.BigEndian.Uint64(v[identity.IDSize:])
		r.Clock = binary.BigEndian.Uint64(v[identity.IDSize+8:])
		return r, true
	})
}

// MergeIndex yields every record of the merge index, in merge order.
func (db *DB) MergeIndex() iter.Seq2[IndexRecord, error] {
	return db.scanIndex(tagMerge, func(k, v []byte) (IndexRecord, bool) {
		var r IndexRecord
		if len(k) != 1+8+feed.IDSize || len(v) != identity.IDSize+8 {
			return r, false
		}
		r.Clock = binary.BigEndian.Uint64(k[1:])
		copy(r.ID[:], k[9:])
		copy(r.Author[:], v)
		r.Seq = binary.BigEndian.Uint64(v[identity.IDSize:])
		return r, true
	})
}

func (db *DB) scanIndex(tag byte, parse func(k, v []byte) (IndexRecord, bool)) iter.Seq2[IndexRecord, error] {
	return func(yield func(IndexRecord, error) bool) {
		it, err := db.newIter([]byte{tag}, []byte{tag + 1})
		if err != nil {
			yield(IndexRecord{}, err)
			return
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				yield(IndexRecord{}, fmt.Errorf("store: %w", err))
				return
			}
			r, ok := parse(it.Key(), v)
			if !ok {
				yield(IndexRecord{}, corruptf("index record %x of %d bytes", it.Key(), len(v)))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := it.Error(); err != nil {
			yield(IndexRecord{}, fmt.Errorf("store: %w", err))
		}
	}
}
