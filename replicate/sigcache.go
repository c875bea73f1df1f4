package replicate

import (
	"crypto/sha256"
	"errors"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// SigCache remembers entries whose signature verified, so that many
// simulated peers in one process verify each distinct entry once. It exists
// for simulations: a real node leaves Config.SigCache nil and verifies every
// run it receives with feed.VerifyChain. Not safe for concurrent use.
type SigCache struct {
	ok map[sigKey]struct{}
}

type sigKey struct {
	id      feed.ID
	network identity.Network
	sig     [identity.SignatureSize]byte
}

// NewSigCache returns an empty cache.
func NewSigCache() *SigCache { return &SigCache{ok: map[sigKey]struct{}{}} }

// verify checks e's fields and signature, or finds them checked before.
func (c *SigCache) verify(e *feed.Entry, network identity.Network) error {
	k := sigKey{id: e.ID(), network: network, sig: e.Sig}
	if _, ok := c.ok[k]; ok {
		return nil
	}
	if err := e.Verify(network); err != nil {
		return err
	}
	c.ok[k] = struct{}{}
	return nil
}

// maxSigWalk bounds the signatures verified to find, in a run whose newest
// signature fails, the newest entry that is signed (on receipt), or to end
// an outgoing run at an entry that is signed (when sending). See
// "signature poisoning" in docs/protocol.md §9.
const maxSigWalk = 32

// verifyRun is feed.VerifyChain, with the newest signature looked up in the
// cache when there is one.
func (s *Session) verifyRun(after feed.Head, run []feed.Entry) error {
	if s.cfg.SigCache == nil {
		return feed.VerifyChain(s.cfg.Network, after, run)
	}
	h := after
	for i := range run {
		if err := run[i].VerifyAfter(h); err != nil {
			return err
		}
		h = run[i].Head()
	}
	return s.cfg.SigCache.verify(&run[len(run)-1], s.cfg.Network)
}

// verifyEntry checks one entry's fields and signature (through the cache
// when there is one).
func (s *Session) verifyEntry(e *feed.Entry) error {
	if s.cfg.SigCache != nil {
		return s.cfg.SigCache.verify(e, s.cfg.Network)
	}
	return e.Verify(s.cfg.Network)
}

// badNewestSig reports whether err, from verifyRun over run, says that only
// the newest entry's signature failed: every link and field of the run is
// fine (VerifyChain checks those first, entry by entry).
func badNewestSig(err error, run []feed.Entry) bool {
	var fe *feed.Error
	return errors.As(err, &fe) && errors.Is(err, feed.ErrBadSignature) && fe.Seq == run[len(run)-1].Seq
}

// signedPrefix is how many entries of run (whose links verified and whose
// newest signature failed) are authenticated: up to and including the newest
// entry, among the maxSigWalk before the newest, whose signature verifies.
// Zero: none of them does.
func (s *Session) signedPrefix(run []feed.Entry) int {
	for i, n := len(run)-2, 0; i >= 0 && n < maxSigWalk; i, n = i-1, n+1 {
		if s.verifyEntry(&run[i]) == nil {
			s.noteSig(&run[i], true)
			return i + 1
		}
	}
	return 0
}

// sigMemo remembers the verdict on a few entries' signatures, keyed by
// SHA-256(ID ‖ signature): a verdict depends only on those (the ID covers
// author, seq and every field; the hub has one network). A sender uses it to
// end every run it sends at an entry whose signature it knows is valid,
// without verifying the same entry for every remote. Bounded: the oldest
// verdict is forgotten first.
type sigMemo struct {
	verdict map[[32]byte]bool
	order   [][32]byte // insertion order, for eviction
	next    int
}

// sigMemoSize bounds the verdicts a hub remembers (about 80 bytes each).
const sigMemoSize = 4096

func sigDigest(e *feed.Entry) [32]byte {
	id := e.ID()
	var b [feed.IDSize + identity.SignatureSize]byte
	copy(b[:], id[:])
	copy(b[feed.IDSize:], e.Sig[:])
	return sha256.Sum256(b[:])
}

func (m *sigMemo) lookup(e *feed.Entry) (ok, known bool) {
	if m.verdict == nil {
		return false, false
	}
	ok, known = m.verdict[sigDigest(e)]
	return ok, known
}

func (m *sigMemo) note(e *feed.Entry, ok bool) {
	if m.verdict == nil {
		m.verdict = map[[32]byte]bool{}
	}
	k := sigDigest(e)
	if _, dup := m.verdict[k]; dup {
		m.verdict[k] = ok
		return
	}
	if len(m.order) < sigMemoSize {
		m.order = append(m.order, k)
	} else {
		delete(m.verdict, m.order[m.next])
		m.order[m.next] = k
		m.next = (m.next + 1) % sigMemoSize
	}
	m.verdict[k] = ok
}

// signedEnd returns how many of the cnt entries encoded in raw (a run read
// from storage to send) to send so that the run ends at an entry whose
// signature is valid: the newest such entry among the last ones, verifying
// at most maxSigWalk signatures not known before (the newest entry's
// verdict is usually known: it headed a run this node verified on receipt,
// or another session sent it). Zero: none found; nothing may be sent, since
// the remote authenticates a run by its newest signature and would rightly
// drop us.
func (s *Session) signedEnd(a identity.ID, from uint64, raw []byte, cnt int) (int, error) {
	offs := make([]int, 0, cnt+1)
	for off := 0; len(offs) < cnt; {
		offs = append(offs, off)
		k, err := feed.SizeAt(raw[off:])
		if err != nil {
			return 0, err
		}
		off += k
	}
	offs = append(offs, len(raw))
	at := func(i int) (feed.Entry, error) { return feed.Decode(raw[offs[i]:offs[i+1]]) }
	n := 0 // signatures verified
	check := func(i int) (bool, error) {
		e, err := at(i)
		if err != nil {
			return false, err
		}
		ok, known := s.hub.sigs.lookup(&e)
		if !known {
			n++
			ok = s.verifyEntry(&e) == nil
			s.noteSig(&e, ok)
		}
		return ok, nil
	}
	// The newest entry: usually known, else one verification.
	if ok, err := check(cnt - 1); err != nil || ok {
		return cnt, err
	}
	// A seq known signed inside the run (the head of a run this node
	// verified on receipt), confirmed against the stored bytes.
	best := -1
	if fs := s.hub.feeds[a]; fs != nil {
		for _, q := range fs.signed {
			if q >= from && q < from+uint64(cnt)-1 {
				best = max(best, int(q-from))
			}
		}
	}
	if best >= 0 {
		e, err := at(best)
		if err != nil {
			return 0, err
		}
		if ok, known := s.hub.sigs.lookup(&e); ok && known {
			return best + 1, nil
		}
	}
	// Walk back, verifying a bounded number of signatures.
	for i := cnt - 2; i >= 0 && n < maxSigWalk; i-- {
		ok, err := check(i)
		if err != nil || ok {
			return i + 1, err
		}
	}
	return 0, nil
}

// noteSig records the verdict on e's signature, and for a valid one its seq
// among the feed's few known-signed seqs.
func (s *Session) noteSig(e *feed.Entry, ok bool) {
	s.hub.sigs.note(e, ok)
	if !ok {
		return
	}
	fs := s.hub.feed(e.Author)
	if slices.Contains(fs.signed, e.Seq) {
		return
	}
	if len(fs.signed) >= signedSeqs {
		fs.signed = append(fs.signed[:0], fs.signed[1:]...)
	}
	fs.signed = append(fs.signed, e.Seq)
}

// signedSeqs bounds the known-signed seqs kept per feed.
const signedSeqs = 16
