package replicate

import (
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
