package audit

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

// Feed describes one feed to audit: it holds seqs First..Last.
type Feed struct {
	Author      identity.ID
	First, Last uint64
	// Head is the head record the source claims for the feed (a store's),
	// nil when the source has none (a bundle).
	Head *feed.Head
	// ForkedAt is the seq a source says the feed forked at, 0 if none.
	ForkedAt uint64
}

// Source is what an audit reads.
type Source interface {
	// Feeds lists the feeds to audit.
	Feeds() ([]Feed, error)
	// Raw yields the encodings of author's entries with from <= seq <= to
	// in seq order (to == 0: to the end). The bytes need only be valid
	// until the next step.
	Raw(author identity.ID, from, to uint64) iter.Seq2[[]byte, error]
	// Forks returns the fork proofs the source holds.
	Forks() ([]feed.ForkProof, error)
	// Resolve finds a referenced entry's author and clock.
	Resolve(id feed.ID) (author identity.ID, clock uint64, ok bool, err error)
}

// Indexed is implemented by sources with indexes of their own (a store).
// With Options.Full the audit checks that each index describes exactly the
// entries: it compares multiset digests of the index records and of the
// entries (sequential scans only), and only if they differ looks up each
// entry's records (CheckIndexed) to name the damaged ones.
type Indexed interface {
	IDIndex() iter.Seq2[store.IndexRecord, error]
	MergeIndex() iter.Seq2[store.IndexRecord, error]
	CheckIndexed(e *feed.Entry) error
}

// digest is an order-independent digest of a multiset of index records:
// the sum of a randomly keyed 128-bit hash of each. The key is new for
// every audit, so no stored data can be made to collide on purpose.
type digest struct {
	n    int64
	a, b uint64
}

type digester struct{ s1, s2 maphash.Seed }

func (d digester) add(g *digest, id feed.ID, author identity.ID, seq, clock uint64) {
	var buf [feed.IDSize + identity.IDSize + 16]byte
	copy(buf[:], id[:])
	copy(buf[feed.IDSize:], author[:])
	binary.BigEndian.PutUint64(buf[feed.IDSize+identity.IDSize:], seq)
	binary.BigEndian.PutUint64(buf[feed.IDSize+identity.IDSize+8:], clock)
	g.n++
	g.a += maphash.Bytes(d.s1, buf[:])
	g.b += maphash.Bytes(d.s2, buf[:])
}

func (g *digest) merge(o digest) { g.n, g.a, g.b = g.n+o.n, g.a+o.a, g.b+o.b }

// Locator is implemented by sources that can name where an entry is, such
// as a bundle's byte offset. It is optional.
type Locator interface {
	Offset(author identity.ID, seq uint64) int64
}

// DefaultChunkSize is the most entries one worker checks as one range when
// Options.ChunkSize is zero.
const DefaultChunkSize = 1 << 15

// Options configures [Run]. The zero value is a default audit on all cores
// in the default network.
type Options struct {
	// Network whose signatures are checked; zero means
	// identity.DefaultNetwork.
	Network identity.Network
	// Full checks every signature, not only the newest of each run.
	Full bool
	// Workers is the number of parallel workers; zero means GOMAXPROCS.
	Workers int
	// Checked, if non-nil, is advanced as entries are checked (in steps of
	// at most 4096), so a caller can show progress while Run works.
	Checked *atomic.Int64
	// ChunkSize is the most entries a worker checks as one range; zero
	// means DefaultChunkSize. Each range costs one extra read and one
	// extra signature check in the default audit.
	ChunkSize uint64
	digester  digester
	// MaxProblems bounds the problems reported per feed; zero means 20.
	MaxProblems int
}

// Problem is one thing wrong, named by feed, seq and what.
type Problem struct {
	Author identity.ID `json:"author"`
	Seq    uint64      `json:"seq"`
	What   string      `json:"what"`
	// Offset is the byte offset in a bundle, -1 when there is none.
	Offset int64 `json:"offset"`
	// Err is the typed error behind the problem, for errors.Is.
	Err error `json:"-"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s seq %d: %s", p.Author.Short(), p.Seq, p.What)
	if p.Offset >= 0 {
		s += fmt.Sprintf(" (byte %d)", p.Offset)
	}
	return s
}

// FeedReport summarises one feed.
type FeedReport struct {
	Author   identity.ID `json:"author"`
	First    uint64      `json:"first"`
	Entries  int64       `json:"entries"`
	Head     uint64      `json:"head"`
	HeadID   feed.ID     `json:"-"`
	ForkedAt uint64      `json:"forked_at,omitempty"`
	Problems int         `json:"problems"`
	Status   string      `json:"status"`
}

// Report is the result of an audit.
type Report struct {
	Full     bool             `json:"full"`
	Entries  int64            `json:"entries"`
	Feeds    []FeedReport     `json:"feeds"`
	Problems []Problem        `json:"problems"`
	Forks    []feed.ForkProof `json:"-"`
	// Unresolved counts references to entries the source does not hold:
	// not a fault of the history (the entries may arrive later), but parts
	// of the clock rule that could not be checked.
	Unresolved int `json:"unresolved_refs"`
}

// Clean reports whether the audit found nothing wrong (forks included).
func (r *Report) Clean() bool { return len(r.Problems) == 0 && len(r.Forks) == 0 }

type chunk struct {
	feedIdx  int
	from, to uint64
}

type chunkResult struct {
	digest     digest // of the entries, with Full on an Indexed source
	entries    int64
	last       feed.Head
	hasLast    bool
	problems   []Problem
	unresolved int
}

// Run audits src. Its error means the audit could not run (the source is
// unreadable); problems with the data are in the report.
func Run(src Source, opts Options) (*Report, error) {
	if opts.Network == (identity.Network{}) {
		opts.Network = identity.DefaultNetwork
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 20
	}
	opts.digester = digester{maphash.MakeSeed(), maphash.MakeSeed()}
	feeds, err := src.Feeds()
	if err != nil {
		return nil, fmt.Errorf("audit: list feeds: %w", err)
	}
	var chunks []chunk
	for i, f := range feeds {
		for from := f.First; from <= f.Last; from += opts.ChunkSize {
			chunks = append(chunks, chunk{feedIdx: i, from: from, to: min(f.Last, from+opts.ChunkSize-1)})
			if from+opts.ChunkSize < from {
				break
			}
		}
	}
	results := make([]chunkResult, len(chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Workers, max(len(chunks), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				c := chunks[i]
				results[i] = checkChunk(src, feeds[c.feedIdx], c, &opts)
			}
		}()
	}
	wg.Wait()

	rep := &Report{Full: opts.Full}
	loc, _ := src.(Locator)
	ci := 0
	for i, f := range feeds {
		fr := FeedReport{Author: f.Author, First: f.First, ForkedAt: f.ForkedAt}
		var last feed.Head
		hasLast := false
		var probs []Problem
		for ; ci < len(chunks) && chunks[ci].feedIdx == i; ci++ {
			r := &results[ci]
			fr.Entries += r.entries
			if r.hasLast {
				last, hasLast = r.last, true
			}
			probs = append(probs, r.problems...)
			rep.Unresolved += r.unresolved
		}
		if err := f.Author.CheckKey(); err != nil {
			probs = append([]Problem{{Author: f.Author, Seq: f.First, Offset: -1, Err: err,
				What: "author key is a low-order or non-canonical point: its signatures prove nothing"}}, probs...)
		}
		if f.Head != nil && (!hasLast || *f.Head != last) {
			probs = append(probs, Problem{Author: f.Author, Seq: f.Head.Seq, Offset: -1, Err: errHead,
				What: fmt.Sprintf("head record says seq %d id %s, the stored chain ends at seq %d id %s", f.Head.Seq, f.Head.ID.Short(), last.Seq, last.ID.Short())})
		}
		if f.Head != nil {
			for raw, err := range src.Raw(f.Author, f.Last+1, 0) {
				if err == nil {
					e, _, _ := feed.DecodePrefix(raw)
					probs = append(probs, Problem{Author: f.Author, Seq: e.Seq, Offset: -1, Err: errHead, What: "entry stored beyond the head record"})
				}
				break
			}
		}
		if loc != nil {
			for j := range probs {
				if probs[j].Offset < 0 {
					probs[j].Offset = loc.Offset(f.Author, probs[j].Seq)
				}
			}
		}
		fr.Head, fr.HeadID = last.Seq, last.ID
		fr.Problems = len(probs)
		if len(probs) > opts.MaxProblems {
			probs = probs[:opts.MaxProblems]
		}
		rep.Problems = append(rep.Problems, probs...)
		rep.Entries += fr.Entries
		rep.Feeds = append(rep.Feeds, fr)
	}
	forks, err := src.Forks()
	if err != nil {
		return nil, fmt.Errorf("audit: read fork proofs: %w", err)
	}
	forkedAt := map[identity.ID]uint64{}
	for _, p := range forks {
		if err := p.Verify(opts.Network); err != nil {
			rep.Problems = append(rep.Problems, Problem{Author: p.Author(), Seq: p.Seq(), Offset: -1, Err: err, What: "invalid fork proof: " + err.Error()})
			continue
		}
		rep.Forks = append(rep.Forks, p)
		if s, ok := forkedAt[p.Author()]; !ok || p.Seq() < s {
			forkedAt[p.Author()] = p.Seq()
		}
	}
	for i := range rep.Feeds {
		fr := &rep.Feeds[i]
		if s, ok := forkedAt[fr.Author]; ok && (fr.ForkedAt == 0 || s < fr.ForkedAt) {
			fr.ForkedAt = s
		}
		switch {
		case fr.Problems > 0:
			fr.Status = fmt.Sprintf("%d problem(s)", fr.Problems)
		case fr.ForkedAt > 0:
			fr.Status = fmt.Sprintf("forked at seq %d", fr.ForkedAt)
		case fr.First > 1:
			fr.Status = fmt.Sprintf("ok (seq %d-%d only)", fr.First, fr.Head)
		default:
			fr.Status = "ok"
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		if c := cmp.Compare(a.Author.String(), b.Author.String()); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	// Problems of the index come after those of the feeds.
	if ix, ok := src.(Indexed); ok && opts.Full {
		var entries digest
		for i := range results {
			entries.merge(results[i].digest)
		}
		probs, err := checkIndexes(src, ix, feeds, entries, opts.digester, opts.MaxProblems)
		if err != nil {
			return nil, err
		}
		rep.Problems = append(rep.Problems, probs...)
	}
	return rep, nil
}

var (
	errHead  = errors.New("head record does not match the chain")
	errIndex = errors.New("index records do not match the entries")
)

// describe turns a feed error into the "what" of a problem.
func describe(err error) string {
	var fe *feed.Error
	if errors.As(err, &fe) {
		s := fe.Field + ": " + fe.Err.Error()
		if fe.Detail != "" {
			s += " (" + fe.Detail + ")"
		}
		return s
	}
	var de *feed.DecodeError
	if errors.As(err, &de) {
		s := fmt.Sprintf("encoding: %s at byte %d of the entry: %v", de.Field, de.Offset, de.Err)
		if de.Detail != "" {
			s += " (" + de.Detail + ")"
		}
		return s
	}
	return err.Error()
}

func checkChunk(src Source, f Feed, c chunk, opts *Options) chunkResult {
	var r chunkResult
	ix, _ := src.(Indexed)
	dg := opts.digester
	problem := func(seq uint64, err error) {
		r.problems = append(r.problems, Problem{Author: f.Author, Seq: seq, What: describe(err), Err: err, Offset: -1})
	}
	var head feed.Head
	haveHead := c.from == 1
	if c.from > f.First {
		for raw, err := range src.Raw(f.Author, c.from-1, c.from-1) {
			if err == nil {
				if e, err := feed.Decode(raw); err == nil {
					head, haveHead = e.Head(), true
				}
			}
			break
		}
	}
	var last feed.Entry
	haveLast := false
	verifyLast := func() {
		if haveLast && !opts.Full {
			if err := last.Verify(opts.Network); err != nil {
				problem(last.Seq, err)
			}
		}
		haveLast = false
	}
	expect := c.from
	var pending int64
	flush := func() {
		if opts.Checked != nil && pending > 0 {
			opts.Checked.Add(pending)
		}
		pending = 0
	}
	for raw, err := range src.Raw(f.Author, c.from, c.to) {
		if err != nil {
			problem(expect, fmt.Errorf("read: %w", err))
			break
		}
		r.entries++
		if pending++; pending == 4096 {
			flush()
		}
		e, err := feed.Decode(raw)
		if err != nil {
			verifyLast()
			problem(expect, err)
			haveHead = false
			expect++
			continue
		}
		if e.Author != f.Author {
			verifyLast()
			problem(expect, fmt.Errorf("%w: entry of feed %s stored in feed %s", feed.ErrBrokenChain, e.Author.Short(), f.Author.Short()))
			haveHead = false
			expect = e.Seq + 1
			continue
		}
		if haveHead && e.Seq > head.Seq+1 {
			// Name the missing entries rather than the one after them.
			verifyLast()
			problem(head.Seq+1, missing(head.Seq+1, e.Seq-1))
		} else if haveHead {
			if err := e.VerifyAfter(head); err != nil {
				verifyLast()
				problem(e.Seq, err)
			}
		} else if e.Seq != expect && c.from != f.First {
			problem(e.Seq, fmt.Errorf("%w: expected seq %d", feed.ErrBrokenChain, expect))
		}
		if opts.Full {
			if err := e.Verify(opts.Network); err != nil {
				problem(e.Seq, err)
			}
			if ix != nil {
				dg.add(&r.digest, e.ID(), e.Author, e.Seq, e.Clock)
			}
		}
		if len(e.Refs) > 0 && haveHead {
			err := e.VerifyRefs(head.Clock, func(id feed.ID) (identity.ID, uint64, bool) {
				a, clk, ok, err := src.Resolve(id)
				return a, clk, ok && err == nil
			})
			switch {
			case errors.Is(err, feed.ErrMissingRef):
				r.unresolved++
			case err != nil:
				problem(e.Seq, err)
			}
		}
		head, haveHead = e.Head(), true
		last, haveLast = e, true
		expect = e.Seq + 1
	}
	flush()
	verifyLast()
	if haveHead {
		r.last, r.hasLast = head, true
	}
	if expect <= c.to {
		problem(expect, missing(expect, c.to))
	}
	return r
}

// missing reports entries absent from a feed's chain.
func missing(from, to uint64) error {
	if from == to {
		return fmt.Errorf("%w: entry missing", feed.ErrBrokenChain)
	}
	return fmt.Errorf("%w: entries %d to %d missing", feed.ErrBrokenChain, from, to)
}

// checkIndexes compares the multiset digests of each index with that of
// the entries; if one differs, it names the entries whose index records are
// missing or wrong, and reports records of entries that are not stored.
func checkIndexes(src Source, ix Indexed, feeds []Feed, entries digest, dg digester, maxProblems int) ([]Problem, error) {
	var ids, merge digest
	for r, err := range ix.IDIndex() {
		if err != nil {
			return nil, fmt.Errorf("audit: read the ID index: %w", err)
		}
		dg.add(&ids, r.ID, r.Author, r.Seq, r.Clock)
	}
	for r, err := range ix.MergeIndex() {
		if err != nil {
			return nil, fmt.Errorf("audit: read the merge index: %w", err)
		}
		dg.add(&merge, r.ID, r.Author, r.Seq, r.Clock)
	}
	if ids == entries && merge == entries {
		return nil, nil
	}
	var probs []Problem
	for _, f := range feeds {
		for raw, err := range src.Raw(f.Author, f.First, f.Last) {
			if err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			e, err := feed.Decode(raw)
			if err != nil {
				continue // reported by the feed checks
			}
			if err := ix.CheckIndexed(&e); err != nil && len(probs) < maxProblems {
				probs = append(probs, Problem{Author: e.Author, Seq: e.Seq, Offset: -1, Err: err, What: err.Error()})
			}
		}
	}
	probs = append(probs, Problem{Offset: -1, Err: errIndex,
		What: fmt.Sprintf("indexes do not describe exactly the stored entries: %d ID and %d merge records for %d entries", ids.n, merge.n, entries.n)})
	return probs, nil
}
