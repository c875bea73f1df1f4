package replicatetest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// MemStore is an in-memory entry store. Append checks chain links (and, with
// VerifySigs, every signature) so a test notices anything a session released
// that it should not have. It is not safe for concurrent use.
type MemStore struct {
	network identity.Network
	feeds   map[identity.ID][][]byte // canonical encodings, index seq-1
	heads   map[identity.ID]feed.Head
	forks   map[identity.ID]feed.ForkProof
	// VerifySigs makes Append check every entry's signature, not only links.
	VerifySigs bool
}

// NewMemStore returns an empty store for network.
func NewMemStore(network identity.Network) *MemStore {
	return &MemStore{network: network, feeds: map[identity.ID][][]byte{}, heads: map[identity.ID]feed.Head{},
		forks: map[identity.ID]feed.ForkProof{}}
}

// Heads implements replicate.Storage.
func (m *MemStore) Heads() (map[identity.ID]feed.Head, error) { return maps.Clone(m.heads), nil }

// Head returns one feed's head.
func (m *MemStore) Head(a identity.ID) feed.Head { return m.heads[a] }

// Range implements replicate.Storage.
func (m *MemStore) Range(a identity.ID, from, to uint64, maxBytes int) ([]byte, error) {
	f := m.feeds[a]
	if from == 0 {
		from = 1
	}
	to = min(to, uint64(len(f)))
	var out []byte
	for s := from; s <= to; s++ {
		e := f[s-1]
		if len(out) > 0 && len(out)+len(e) > maxBytes {
			break
		}
		out = append(out, e...)
	}
	return out, nil
}

// Forks implements replicate.Storage.
func (m *MemStore) Forks() ([]feed.ForkProof, error) {
	out := make([]feed.ForkProof, 0, len(m.forks))
	for _, a := range slices.SortedFunc(maps.Keys(m.forks), cmpID) {
		out = append(out, m.forks[a])
	}
	return out, nil
}

func cmpID(a, b identity.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// Append stores entries that must chain from the stored heads, in order.
func (m *MemStore) Append(entries ...feed.Entry) error {
	for i := range entries {
		e := &entries[i]
		h := m.heads[e.Author]
		if err := e.VerifyAfter(h); err != nil {
			return fmt.Errorf("memstore: %w", err)
		}
		if m.VerifySigs {
			if err := e.Verify(m.network); err != nil {
				return fmt.Errorf("memstore: %w", err)
			}
		}
		m.feeds[e.Author] = append(m.feeds[e.Author], e.Encode())
		m.heads[e.Author] = e.Head()
	}
	return nil
}

// AddFork stores a fork proof after checking it.
func (m *MemStore) AddFork(p feed.ForkProof) error {
	if err := p.Verify(m.network); err != nil {
		return err
	}
	// A proof at a lower seq replaces the one held, as replicate.Storage
	// documents; ties keep the lower IDs.
	if q, ok := m.forks[p.Author()]; !ok || p.Seq() < q.Seq() ||
		(p.Seq() == q.Seq() && (p.A.ID().Compare(q.A.ID()) < 0 || (p.A.ID() == q.A.ID() && p.B.ID().Compare(q.B.ID()) < 0))) {
		m.forks[p.Author()] = p
	}
	return nil
}

// Fork returns the stored fork proof of a's feed.
func (m *MemStore) Fork(a identity.ID) (feed.ForkProof, bool) {
	p, ok := m.forks[a]
	return p, ok
}

// Entries returns a's stored entries, decoded.
func (m *MemStore) Entries(a identity.ID) ([]feed.Entry, error) {
	var out []feed.Entry
	for _, b := range m.feeds[a] {
		e, err := feed.Decode(b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Authors returns the authors held, ascending.
func (m *MemStore) Authors() []identity.ID {
	return slices.SortedFunc(maps.Keys(m.feeds), cmpID)
}

// EntryCount returns the number of stored entries.
func (m *MemStore) EntryCount() int {
	n := 0
	for _, f := range m.feeds {
		n += len(f)
	}
	return n
}
