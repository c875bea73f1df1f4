package replicate_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/replicate"
	"github.com/sbfeed/sbfeed/replicate/replicatetest"
)

func key(b byte) *identity.Key {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

var net1 = identity.NetworkFromName("one")

// peer is a test node: key, store, session.
type peer struct {
	key   *identity.Key
	store *replicatetest.MemStore
	s     *replicate.Session
	err   error
	// acked records, per feed, the highest seq announced in a Heads sent.
	acked map[identity.ID]uint64
	bytes int // bytes sent, Hello excluded
}

func newPeer(t testing.TB, k *identity.Key, net identity.Network, remote identity.ID, binding []byte, mod func(*replicate.Config)) *peer {
	t.Helper()
	p := &peer{key: k, store: replicatetest.NewMemStore(net), acked: map[identity.ID]uint64{}}
	return p.open(t, net, remote, binding, mod)
}

func (p *peer) open(t testing.TB, net identity.Network, remote identity.ID, binding []byte, mod func(*replicate.Config)) *peer {
	t.Helper()
	c := replicate.Config{Self: p.key.ID(), Key: p.key, Network: net, Remote: remote, Binding: binding, Storage: p.store}
	if mod != nil {
		mod(&c)
	}
	s, err := replicate.New(c)
	if err != nil {
		t.Fatal(err)
	}
	p.s = s
	return p
}

func (p *peer) write(t testing.TB, n int) {
	t.Helper()
	for range n {
		e, err := feed.Create(p.key, net1, p.store.Head(p.key.ID()), feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.store.Append(e); err != nil {
			t.Fatal(err)
		}
		p.s.Notify(e)
	}
}

// drain handles p's Ready and returns the encoded messages to deliver.
func (p *peer) drain(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for p.s.HasReady() {
		rd := p.s.Ready()
		for _, fp := range rd.ForkProofs {
			if err := p.store.AddFork(fp); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.store.Append(rd.Entries...); err != nil {
			t.Fatalf("store refused released entries: %v", err)
		}
		for _, m := range rd.Messages {
			// Persistence rule: a Heads note never runs ahead of the store.
			if h, ok := m.Body.(*replicate.Heads); ok {
				for _, n := range h.Notes {
					if n.Seq > p.store.Head(n.Author).Seq {
						t.Fatalf("%s acknowledges %s:%d before storing it", m, n.Author.Short(), n.Seq)
					}
				}
			}
			b := replicate.EncodeMessage(nil, m.Body)
			if testing.Verbose() {
				t.Logf("%s", m)
			}
			if m.Body.Type() != replicate.TypeHello {
				p.bytes += len(b)
			}
			out = append(out, b)
		}
		p.s.Advance(rd)
	}
	return out
}

func deliver(t testing.TB, to *peer, msgs [][]byte) {
	t.Helper()
	for _, b := range msgs {
		m, err := replicate.DecodeMessage(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if err := to.s.Step(m); err != nil && to.err == nil {
			to.err = err
		}
	}
}

// pump exchanges messages until both sides are quiet, ticking between rounds.
func pump(t testing.TB, a, b *peer, rounds int) {
	t.Helper()
	for range rounds {
		ma, mb := a.drain(t), b.drain(t)
		deliver(t, b, ma)
		deliver(t, a, mb)
		a.s.Tick()
		b.s.Tick()
	}
	a.drain(t)
	b.drain(t)
}

var binding = bytes.Repeat([]byte{7}, 32)

func TestHandshakeRefusals(t *testing.T) {
	ka, kb, kc := key(1), key(2), key(3)
	other := identity.NetworkFromName("two")
	for _, tc := range []struct {
		name      string
		netB      identity.Network
		bindB     []byte
		remoteOfA identity.ID
		want      error
		mentions  []string
		wantCode  replicate.Code
		byAOnly   bool
	}{
		{"wrong network", other, binding, kb.ID(), replicate.ErrWrongNetwork, []string{net1.Short(), other.Short()}, replicate.CodeWrongNetwork, false},
		{"binding differs", net1, bytes.Repeat([]byte{8}, 32), kb.ID(), replicate.ErrBadProof, []string{kb.ID().Short()}, replicate.CodeBadProof, false},
		{"unexpected identity", net1, binding, kc.ID(), replicate.ErrWrongPeer, []string{kb.ID().Short(), kc.ID().Short()}, replicate.CodeBadProof, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newPeer(t, ka, net1, tc.remoteOfA, binding, nil)
			b := newPeer(t, kb, tc.netB, ka.ID(), tc.bindB, nil)
			a.write(t, 3)
			pump(t, a, b, 5)
			if !errors.Is(a.err, tc.want) {
				t.Fatalf("a: got %v, want %v", a.err, tc.want)
			}
			for _, s := range tc.mentions {
				if !strings.Contains(a.err.Error(), s) {
					t.Errorf("error %q does not name %s", a.err, s)
				}
			}
			var pe *replicate.PeerError
			if !errors.As(a.err, &pe) || pe.Code() != tc.wantCode || !strings.HasPrefix(pe.Message, "Hello{") {
				t.Fatalf("a: %#v", a.err)
			}
			if !tc.byAOnly && !errors.Is(b.err, tc.want) && !errors.Is(b.err, replicate.ErrRemoteClosed) {
				t.Fatalf("b: %v", b.err)
			}
			if b.store.EntryCount() != 0 || a.s.Stats().Sent != 0 {
				t.Fatal("entries moved before the handshake succeeded")
			}
			if !a.s.Closed() {
				t.Fatal("session not closed")
			}
		})
	}
}

func TestVersionNegotiation(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	a.drain(t)
	id := kb.ID()
	h := &replicate.Hello{MinVersion: 2, MaxVersion: 3, From: id, Limits: replicate.Limits{Window: 1, MaxFrame: replicate.MinFrame, MaxFeeds: 1}}
	copy(h.NetworkTag[:], mustDecodeHello(t, a).NetworkTag[:])
	err := a.s.Step(replicate.Message{Body: h})
	if !errors.Is(err, replicate.ErrVersion) || !strings.Contains(err.Error(), "2..3") {
		t.Fatalf("got %v", err)
	}
}

func mustDecodeHello(t *testing.T, p *peer) *replicate.Hello {
	// A fresh session's first message is its Hello.
	q := newPeer(t, p.key, net1, identity.ID{}, binding, nil)
	rd := q.s.Ready()
	return rd.Messages[0].Body.(*replicate.Hello)
}

func TestProtocolViolations(t *testing.T) {
	ka, kb := key(1), key(2)
	t.Run("before hello", func(t *testing.T) {
		a := newPeer(t, ka, net1, kb.ID(), binding, nil)
		err := a.s.Step(replicate.Message{Body: &replicate.Summary{}})
		if !errors.Is(err, replicate.ErrProtocol) || !strings.Contains(err.Error(), "before Hello") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("max frame", func(t *testing.T) {
		a := newPeer(t, ka, net1, kb.ID(), binding, func(c *replicate.Config) { c.Limits.MaxFrame = replicate.MinFrame })
		b := newPeer(t, kb, net1, ka.ID(), binding, nil)
		pump(t, a, b, 2)
		big := bytes.Repeat([]byte{0}, replicate.MinFrame+1)
		big[0] = byte(replicate.TypeGoodbye)
		body := &replicate.Goodbye{Reason: "x"}
		m, _ := replicate.DecodeMessage(replicate.EncodeMessage(nil, body))
		if err := a.s.Step(m); err != nil {
			t.Fatal(err)
		}
		// A frame over the limit, as the transport would hand it over.
		c := newPeer(t, ka, net1, kb.ID(), binding, func(c *replicate.Config) { c.Limits.MaxFrame = replicate.MinFrame })
		es := chain(t, kb, 300, 300)
		mm, err := replicate.DecodeMessage(replicate.EncodeMessage(nil, &replicate.Entries{Runs: []replicate.Run{replicate.NewRun(es)}}))
		if err != nil {
			t.Fatal(err)
		}
		err = c.s.Step(mm)
		if !errors.Is(err, replicate.ErrLimit) || !strings.Contains(err.Error(), "MaxFrame") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("max feeds", func(t *testing.T) {
		a := newPeer(t, ka, net1, kb.ID(), binding, func(c *replicate.Config) { c.Limits.MaxFeeds = 2 })
		b := newPeer(t, kb, net1, ka.ID(), binding, nil)
		pump(t, a, b, 2)
		var notes []replicate.Note
		for i := byte(10); i < 13; i++ {
			notes = append(notes, replicate.Note{Author: key(i).ID(), Seq: 0})
		}
		sortNotes(notes)
		err := a.s.Step(replicate.Message{Body: &replicate.Heads{Notes: notes}})
		if !errors.Is(err, replicate.ErrLimit) || !strings.Contains(err.Error(), "MaxFeeds") {
			t.Fatalf("got %v", err)
		}
	})
}

func sortNotes(ns []replicate.Note) {
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if bytes.Compare(ns[j].Author[:], ns[i].Author[:]) < 0 {
				ns[i], ns[j] = ns[j], ns[i]
			}
		}
	}
}

func chain(t testing.TB, k *identity.Key, n, size int) []feed.Entry {
	t.Helper()
	var out []feed.Entry
	var h feed.Head
	for range n {
		e, err := feed.Create(k, net1, h, feed.Draft{Content: bytes.Repeat([]byte{'y'}, size)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		h = e.Head()
	}
	return out
}

// TestEqualPeersCheap: two peers holding the same 1000 feeds exchange fewer
// than 100 bytes (Hello aside) to find out, and then stay quiet.
func TestEqualPeersCheap(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	b := newPeer(t, kb, net1, ka.ID(), binding, nil)
	for i := range 1000 {
		seed := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		k, _ := identity.FromSeed(seed[:])
		es := chain(t, k, 1, 10)
		if err := a.store.Append(es...); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Append(es...); err != nil {
			t.Fatal(err)
		}
	}
	// Recreate the sessions so they load the filled stores.
	a.open(t, net1, kb.ID(), binding, nil)
	b.open(t, net1, ka.ID(), binding, nil)
	pump(t, a, b, 50)
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.bytes >= 100 || b.bytes >= 100 {
		t.Fatalf("equal peers exchanged %d and %d bytes", a.bytes, b.bytes)
	}
	t.Logf("equal peers with 1000 feeds: %d + %d bytes after Hello", a.bytes, b.bytes)
}

func TestPartialReplication(t *testing.T) {
	ka, kb, kc := key(1), key(2), key(3)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	if err := a.store.Append(chain(t, kc, 5, 10)...); err != nil {
		t.Fatal(err)
	}
	a.open(t, net1, kb.ID(), binding, nil)
	a.write(t, 4)
	b := newPeer(t, kb, net1, ka.ID(), binding, func(c *replicate.Config) { c.Feeds = []identity.ID{kc.ID()} })
	pump(t, a, b, 20)
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if got := b.store.Head(kc.ID()).Seq; got != 5 {
		t.Fatalf("chosen feed: seq %d, want 5", got)
	}
	if got := b.store.Head(ka.ID()).Seq; got != 0 {
		t.Fatalf("feed not chosen was replicated up to %d", got)
	}
}

func TestLiveAndRelay(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	b := newPeer(t, kb, net1, ka.ID(), binding, nil)
	a.write(t, 3)
	pump(t, a, b, 5)
	a.write(t, 2)
	b.write(t, 1)
	pump(t, a, b, 5)
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if b.store.Head(ka.ID()).Seq != 5 || a.store.Head(kb.ID()).Seq != 1 {
		t.Fatalf("heads %d %d", b.store.Head(ka.ID()).Seq, a.store.Head(kb.ID()).Seq)
	}
	if st := b.s.Stats(); st.Duplicates != 0 || st.Accepted != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCloseWithOutstandingReady: a Ready whose entries could not be stored is
// forgotten when the session closes; another session delivers them again.
func TestCloseWithOutstandingReady(t *testing.T) {
	ka, kb, kc := key(1), key(2), key(3)
	hub := replicate.NewHub()
	c := newPeer(t, kc, net1, identity.ID{}, binding, func(cfg *replicate.Config) { cfg.Hub = hub; cfg.Remote = ka.ID() })
	a := newPeer(t, ka, net1, kc.ID(), binding, nil)
	a.write(t, 3)
	// Handshake and deliver, but do not handle c's Ready with the entries.
	for range 4 {
		deliver(t, c, a.drain(t))
		msgs := [][]byte{}
		for c.s.HasReady() {
			rd := c.s.Ready()
			if len(rd.Entries) > 0 {
				c.s.Close() // the store failed
				break
			}
			if err := c.store.Append(rd.Entries...); err != nil {
				t.Fatal(err)
			}
			for _, m := range rd.Messages {
				msgs = append(msgs, replicate.EncodeMessage(nil, m.Body))
			}
			c.s.Advance(rd)
		}
		if c.s.Closed() {
			break
		}
		deliver(t, a, msgs)
	}
	if !c.s.Closed() || c.store.EntryCount() != 0 {
		t.Fatalf("setup: closed %v, %d entries", c.s.Closed(), c.store.EntryCount())
	}
	// A second session of the same hub, to b which has a's entries too.
	b := newPeer(t, kb, net1, kc.ID(), binding, nil)
	if err := b.store.Append(mustEntries(t, a.store, ka.ID())...); err != nil {
		t.Fatal(err)
	}
	b.open(t, net1, kc.ID(), binding, nil)
	c.open(t, net1, kb.ID(), binding, func(cfg *replicate.Config) { cfg.Hub = hub })
	pump(t, b, c, 10)
	if b.err != nil || c.err != nil {
		t.Fatal(b.err, c.err)
	}
	if got := c.store.Head(ka.ID()).Seq; got != 3 {
		t.Fatalf("after the failed Ready, c holds seq %d of a, want 3", got)
	}
}

func mustEntries(t *testing.T, st *replicatetest.MemStore, a identity.ID) []feed.Entry {
	t.Helper()
	es, err := st.Entries(a)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// BenchmarkEqualPeersSummary reports the bytes two peers holding the same
// feeds exchange after their Hellos (target: under 100 whatever the count).
func BenchmarkEqualPeersSummary(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("feeds=%d", n), func(b *testing.B) {
			ka, kb := key(1), key(2)
			a := newPeer(b, ka, net1, kb.ID(), binding, nil)
			c := newPeer(b, kb, net1, ka.ID(), binding, nil)
			for i := range n {
				seed := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
				k, _ := identity.FromSeed(seed[:])
				es := chain(b, k, 1, 10)
				if err := a.store.Append(es...); err != nil {
					b.Fatal(err)
				}
				if err := c.store.Append(es...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			total := 0
			for range b.N {
				a.bytes, c.bytes = 0, 0
				a.open(b, net1, kb.ID(), binding, nil)
				c.open(b, net1, ka.ID(), binding, nil)
				pump(b, a, c, 20)
				total += a.bytes + c.bytes
			}
			b.ReportMetric(float64(total)/float64(b.N), "bytes/exchange")
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, func(c *replicate.Config) { c.HandshakeTicks = 3 })
	a.drain(t)
	for range 3 {
		a.s.Tick()
	}
	if a.s.Closed() {
		t.Fatal("closed before the handshake deadline")
	}
	a.s.Tick()
	if !a.s.Closed() || !errors.Is(a.s.Err(), replicate.ErrProtocol) || !strings.Contains(a.s.Err().Error(), "no Hello") {
		t.Fatalf("after the deadline: closed %v, err %v", a.s.Closed(), a.s.Err())
	}
	rd := a.s.Ready()
	if len(rd.Messages) != 1 || rd.Messages[0].Body.Type() != replicate.TypeGoodbye {
		t.Fatalf("want a Goodbye, got %v", rd.Messages)
	}
}

// TestMaxFeedsRespected: a peer holding more feeds than the remote accepts
// announces only as many, and is not dropped.
func TestMaxFeedsRespected(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	for i := byte(10); i < 15; i++ {
		if err := a.store.Append(chain(t, key(i), 2, 10)...); err != nil {
			t.Fatal(err)
		}
	}
	a.open(t, net1, kb.ID(), binding, nil)
	b := newPeer(t, kb, net1, ka.ID(), binding, func(c *replicate.Config) { c.Limits.MaxFeeds = 3 })
	pump(t, a, b, 20)
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if n := len(b.store.Authors()); n == 0 {
		t.Fatal("nothing replicated")
	}
}

// TestWeakKeys: a low-order author key is refused, in an Entries run and as
// a Hello identity (such keys can "sign" without a private key).
func TestWeakKeys(t *testing.T) {
	ka, kb := key(1), key(2)
	var weak identity.ID // all zero: a low-order point
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	b := newPeer(t, kb, net1, ka.ID(), binding, nil)
	pump(t, a, b, 3)
	e, err := feed.Next(weak, feed.Head{}, feed.Draft{Content: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	err = a.s.Step(replicate.Message{Body: &replicate.Entries{Runs: []replicate.Run{replicate.NewRun([]feed.Entry{e})}}})
	if !errors.Is(err, replicate.ErrInvalid) || !strings.Contains(err.Error(), weak.Short()) {
		t.Fatalf("weak author: %v", err)
	}
	c := newPeer(t, ka, net1, identity.ID{}, binding, nil)
	h := mustDecodeHello(t, c)
	h.From = weak
	if err := c.s.Step(replicate.Message{Body: h}); !errors.Is(err, replicate.ErrBadProof) {
		t.Fatalf("weak Hello identity: %v", err)
	}
}

// Behind reports what the remote announced beyond the local store, until
// replication has fetched it.
func TestHubBehind(t *testing.T) {
	ka, kb := key(1), key(2)
	a := newPeer(t, ka, net1, kb.ID(), binding, nil)
	b := newPeer(t, kb, net1, ka.ID(), binding, nil)
	a.write(t, 50)
	if got := b.s.Hub().Behind(); len(got) != 0 {
		t.Fatalf("before the handshake: Behind = %v, want nothing", got)
	}
	// Exchange until a's heads reach b; b stores nothing until it handles
	// its next Ready.
	for range 4 {
		deliver(t, b, a.drain(t))
		if len(b.s.Hub().Behind()) > 0 {
			break
		}
		deliver(t, a, b.drain(t))
	}
	if got := b.s.Hub().Behind(); len(got) != 1 || got[ka.ID()] != 50 {
		t.Fatalf("after a's heads: Behind = %v, want {%s: 50}", got, ka.ID().Short())
	}
	if got := a.s.Hub().Behind(); len(got) != 0 {
		t.Fatalf("a is ahead, yet Behind = %v", got)
	}
	pump(t, a, b, 6)
	if b.store.Head(ka.ID()).Seq != 50 {
		t.Fatalf("b holds %d of 50", b.store.Head(ka.ID()).Seq)
	}
	if got := b.s.Hub().Behind(); len(got) != 0 {
		t.Fatalf("after the sync: Behind = %v, want nothing", got)
	}
	b.s.Close()
	if got := b.s.Hub().Behind(); len(got) != 0 {
		t.Fatalf("closed session still counted: %v", got)
	}
}
