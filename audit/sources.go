package audit

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

// FromStore returns a Source reading db.
func FromStore(db *store.DB) Source { return storeSource{db} }

type storeSource struct{ db *store.DB }

func (s storeSource) Feeds() ([]Feed, error) {
	heads, err := s.db.Heads()
	if err != nil {
		return nil, err
	}
	out := make([]Feed, 0, len(heads))
	for _, h := range heads {
		hd := h.Head
		out = append(out, Feed{Author: h.Author, First: 1, Last: h.Head.Seq, Head: &hd, ForkedAt: h.ForkedAt})
	}
	return out, nil
}

func (s storeSource) Raw(author identity.ID, from, to uint64) iter.Seq2[[]byte, error] {
	return s.db.RangeRaw(author, from, to)
}

func (s storeSource) Forks() ([]feed.ForkProof, error) { return s.db.Forks() }

func (s storeSource) CheckIndexed(e *feed.Entry) error { return s.db.CheckIndexed(e) }

func (s storeSource) IDIndex() iter.Seq2[store.IndexRecord, error] { return s.db.IDIndex() }

func (s storeSource) MergeIndex() iter.Seq2[store.IndexRecord, error] { return s.db.MergeIndex() }

func (s storeSource) Resolve(id feed.ID) (identity.ID, uint64, bool, error) {
	e, err := s.db.GetByID(id)
	if errors.Is(err, store.ErrNotFound) {
		return identity.ID{}, 0, false, nil
	}
	if err != nil {
		return identity.ID{}, 0, false, err
	}
	return e.Author, e.Clock, true, nil
}

// Bundle is a bundle read into memory for an audit. Damage found while
// reading does not stop the audit: it is reported as a problem, and the
// entries before it are audited.
type Bundle struct {
	feeds   map[identity.ID][]bundleEntry
	order   []identity.ID
	byID    map[feed.ID]bundleEntry
	forks   []feed.ForkProof
	damage  *bundle.Error
	extra   []Problem
	entries int
}

type bundleEntry struct {
	raw    []byte
	author identity.ID
	seq    uint64
	clock  uint64
	offset int64
}

// LoadBundle reads a bundle. Its error means the file is not a readable
// bundle at all (not a bundle, another version or network, an I/O error);
// damage after the header is kept for the report.
func LoadBundle(r io.Reader, network identity.Network) (*Bundle, error) {
	br, err := bundle.NewReader(r, &network)
	if err != nil {
		return nil, err
	}
	b := &Bundle{feeds: map[identity.ID][]bundleEntry{}, byID: map[feed.ID]bundleEntry{}}
	for {
		rec, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var be *bundle.Error
			if errors.As(err, &be) {
				b.damage = be
				break
			}
			return nil, err
		}
		switch rec.Kind {
		case bundle.KindEntry:
			e := &rec.Entry
			be := bundleEntry{raw: rec.Raw, author: e.Author, seq: e.Seq, clock: e.Clock, offset: rec.Offset}
			be.raw = append([]byte(nil), rec.Raw...)
			if _, ok := b.feeds[e.Author]; !ok {
				b.order = append(b.order, e.Author)
			}
			b.feeds[e.Author] = append(b.feeds[e.Author], be)
			b.byID[e.ID()] = be
			b.entries++
		case bundle.KindFork:
			b.forks = append(b.forks, rec.Proof)
		}
	}
	// Sort each feed by seq; an entry repeating a seq with another ID is a
	// fork (proven if both are validly signed), the same ID a duplicate.
	for _, a := range b.order {
		es := b.feeds[a]
		slices.SortStableFunc(es, func(x, y bundleEntry) int { return cmp.Compare(x.seq, y.seq) })
		out := es[:0]
		for _, e := range es {
			if n := len(out); n > 0 && out[n-1].seq == e.seq {
				first, _ := feed.Decode(out[n-1].raw)
				second, _ := feed.Decode(e.raw)
				if first.ID() == second.ID() {
					continue
				}
				p, err := feed.NewForkProof(network, first, second)
				if err != nil {
					b.extra = append(b.extra, Problem{Author: a, Seq: e.seq, Offset: e.offset, Err: err,
						What: "a second entry at this seq that does not prove a fork: " + describe(err)})
					continue
				}
				b.forks = append(b.forks, p)
				continue
			}
			out = append(out, e)
		}
		b.feeds[a] = out
	}
	return b, nil
}

// Damage returns the error that stopped reading the bundle, nil for an
// intact one.
func (b *Bundle) Damage() *bundle.Error { return b.damage }

// Entries returns the number of entries read.
func (b *Bundle) Entries() int { return b.entries }

// Problems returns what reading the bundle found wrong, beyond what Run
// reports: the damage that stopped reading and conflicting entries that
// prove nothing. Callers add them to the report.
func (b *Bundle) Problems() []Problem {
	out := append([]Problem(nil), b.extra...)
	if d := b.damage; d != nil {
		out = append(out, Problem{Author: d.Author, Seq: d.Seq, Offset: d.Offset, Err: d,
			What: fmt.Sprintf("bundle damaged at record %d: %v", d.Record, d.Err)})
	}
	return out
}

func (b *Bundle) Feeds() ([]Feed, error) {
	out := make([]Feed, 0, len(b.order))
	for _, a := range b.order {
		es := b.feeds[a]
		out = append(out, Feed{Author: a, First: es[0].seq, Last: es[len(es)-1].seq})
	}
	return out, nil
}

func (b *Bundle) Raw(author identity.ID, from, to uint64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if to == 0 {
			to = ^uint64(0)
		}
		es := b.feeds[author]
		i, _ := slices.BinarySearchFunc(es, from, func(e bundleEntry, s uint64) int { return cmp.Compare(e.seq, s) })
		for ; i < len(es) && es[i].seq <= to; i++ {
			if !yield(es[i].raw, nil) {
				return
			}
		}
	}
}

func (b *Bundle) Forks() ([]feed.ForkProof, error) { return b.forks, nil }

func (b *Bundle) Resolve(id feed.ID) (identity.ID, uint64, bool, error) {
	e, ok := b.byID[id]
	return e.author, e.clock, ok, nil
}

// Offset returns the byte offset of author's entry at seq, -1 if absent.
func (b *Bundle) Offset(author identity.ID, seq uint64) int64 {
	es := b.feeds[author]
	i, ok := slices.BinarySearchFunc(es, seq, func(e bundleEntry, s uint64) int { return cmp.Compare(e.seq, s) })
	if !ok {
		return -1
	}
	return es[i].offset
}

// RunBundle audits a loaded bundle, adding the problems found while
// reading it to the report.
func RunBundle(b *Bundle, opts Options) (*Report, error) {
	rep, err := Run(b, opts)
	if err != nil {
		return nil, err
	}
	for _, p := range b.Problems() {
		rep.Problems = append(rep.Problems, p)
		for i := range rep.Feeds {
			if fr := &rep.Feeds[i]; fr.Author == p.Author {
				fr.Problems++
				fr.Status = fmt.Sprintf("%d problem(s)", fr.Problems)
			}
		}
	}
	return rep, nil
}
