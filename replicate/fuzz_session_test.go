package replicate_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/sbfeed/sbfeed/replicate"
)

// FuzzSessionStep feeds arbitrary frames into an open session whose remote
// holds real entries: the session never panics, every error is a
// *PeerError, and whatever it releases is accepted by a store that checks
// chain links.
func FuzzSessionStep(f *testing.F) {
	// Seeds: real traffic of a session, as length-prefixed frames.
	ka, kb := key(1), key(2)
	a := newPeer(f, ka, net1, kb.ID(), binding, nil)
	b := newPeer(f, kb, net1, ka.ID(), binding, nil)
	b.write(f, 5)
	var stream []byte
	for range 6 {
		ma, mb := a.drain(f), b.drain(f)
		deliver(f, b, ma)
		for _, m := range mb {
			stream = binary.AppendUvarint(stream, uint64(len(m)))
			stream = append(stream, m...)
		}
		deliver(f, a, mb)
		a.s.Tick()
		b.s.Tick()
	}
	f.Add(stream)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		p := newPeer(t, ka, net1, kb.ID(), binding, nil)
		p.drain(t)
		for len(in) > 0 {
			n, k := binary.Uvarint(in)
			if k <= 0 || n > uint64(len(in)-k) {
				return
			}
			frame := in[k : k+int(n)]
			in = in[k+int(n):]
			m, err := replicate.DecodeMessage(frame)
			if err != nil {
				continue
			}
			if err := p.s.Step(m); err != nil {
				var pe *replicate.PeerError
				if !errors.As(err, &pe) && !errors.Is(err, replicate.ErrClosed) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
			}
			p.drain(t) // fails if a released entry does not chain
			p.s.Tick()
		}
	})
}
