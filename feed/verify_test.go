package feed_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// TestVerifyIntrinsic: Entry.Verify refuses every in-memory entry that
// Decode would refuse, and every signature that is not the author's for
// this network and these exact fields.
func TestVerifyIntrinsic(t *testing.T) {
	k, o := rfcKey(t, 0), rfcKey(t, 1)
	ref := build(t, o, feed.Head{}, 1)[0]
	first := build(t, k, feed.Head{}, 1)[0]
	base := mustCreate(t, k, first.Head(), feed.Draft{Refs: []feed.Ref{{ID: ref.ID(), Clock: 1}}, Content: []byte("x")})
	if err := base.Verify(testNet); err != nil {
		t.Fatal(err)
	}
	type edit func(e *feed.Entry)
	tests := []struct {
		name   string
		edit   edit
		resign bool // sign again after the edit, to reach the field check
		want   error
		field  string
	}{
		{"other network", func(e *feed.Entry) {}, false, feed.ErrBadSignature, "signature"},
		{"content changed", func(e *feed.Entry) { e.Content = []byte("y") }, false, feed.ErrBadSignature, "signature"},
		{"clock changed", func(e *feed.Entry) { e.Clock++ }, false, feed.ErrBadSignature, "signature"},
		{"signature bit", func(e *feed.Entry) { e.Sig[10] ^= 4 }, false, feed.ErrBadSignature, "signature"},
		{"signature zero", func(e *feed.Entry) { e.Sig = [64]byte{} }, false, feed.ErrBadSignature, "signature"},
		{"author changed", func(e *feed.Entry) { e.Author = o.ID() }, false, feed.ErrBadSignature, "signature"},
		{"version 2", func(e *feed.Entry) { e.Version = 2 }, true, feed.ErrVersion, "version"},
		{"kind 7", func(e *feed.Entry) { e.Kind = 7 }, true, feed.ErrMalformed, "clock kind"},
		{"seq 0", func(e *feed.Entry) { e.Seq = 0 }, true, feed.ErrMalformed, "seq"},
		{"seq 1 with prev", func(e *feed.Entry) { e.Seq = 1 }, true, feed.ErrMalformed, "prev"},
		{"clock 0", func(e *feed.Entry) { e.Clock = 0 }, true, feed.ErrMalformed, "clock"},
		{"lamport clock below seq", func(e *feed.Entry) { e.Clock = 1 }, true, feed.ErrMalformed, "clock"},
		{"content too large", func(e *feed.Entry) { e.Content = make([]byte, feed.MaxContentSize+1) }, true, feed.ErrTooLarge, "content"},
		{"too many refs", func(e *feed.Entry) {
			e.Refs = make([]feed.ID, feed.MaxRefs+1)
			for i := range e.Refs {
				e.Refs[i][0] = byte(i + 1)
			}
		}, true, feed.ErrTooLarge, "refs"},
		{"zero ref", func(e *feed.Entry) { e.Refs = []feed.ID{{}} }, true, feed.ErrMalformed, "refs"},
		{"refs unsorted", func(e *feed.Entry) { e.Refs = []feed.ID{{2}, {1}} }, true, feed.ErrNonCanonical, "refs"},
		{"refs repeated", func(e *feed.Entry) { e.Refs = []feed.ID{{1}, {1}} }, true, feed.ErrNonCanonical, "refs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			e.Refs = append([]feed.ID(nil), base.Refs...)
			tt.edit(&e)
			if tt.resign {
				e = resign(t, k, e)
			}
			net := testNet
			if tt.name == "other network" {
				net = identity.NetworkFromName("other")
			}
			err := e.Verify(net)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			var fe *feed.Error
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("error %#v: want a *feed.Error on field %q", err, tt.field)
			}
			namesEntry(t, err, e.Author, e.Seq, tt.field)
		})
	}
	// The cached ID is never trusted: changing a field after Decode is
	// caught even though ID() still returns the old value.
	d, err := feed.Decode(base.Encode())
	if err != nil {
		t.Fatal(err)
	}
	d.Content = []byte("changed")
	if err := d.Verify(testNet); !errors.Is(err, feed.ErrBadSignature) {
		t.Fatalf("changed after decode: %v", err)
	}
}

// TestChainRule exercises VerifyAfter: seq, prev, clock kind and the part
// of the clock rule that the previous entry alone decides.
func TestChainRule(t *testing.T) {
	k := rfcKey(t, 0)
	run := build(t, k, feed.Head{}, 3)
	h2 := run[1].Head()
	next := run[2]
	if err := next.VerifyAfter(h2); err != nil {
		t.Fatal(err)
	}
	hlc := mustCreate(t, k, feed.Head{}, feed.Draft{Kind: feed.HLC, Now: 1000})
	tests := []struct {
		name  string
		e     feed.Entry
		after feed.Head
		want  error
		field string
	}{
		{"first entry after empty head", run[0], feed.Head{}, nil, ""},
		{"seq gap", run[2], run[0].Head(), feed.ErrBrokenChain, "seq"},
		{"seq repeated", run[1], run[1].Head(), feed.ErrBrokenChain, "seq"},
		{"first entry after a head", run[0], run[0].Head(), feed.ErrBrokenChain, "seq"},
		{"wrong prev", next, feed.Head{Seq: 2, ID: run[0].ID(), Clock: 2}, feed.ErrBrokenChain, "prev"},
		{"kind changes", next, feed.Head{Seq: 2, ID: h2.ID, Clock: 2, Kind: feed.HLC}, feed.ErrBadClock, "clock kind"},
		{"backdated: clock equal to prev", next, feed.Head{Seq: 2, ID: h2.ID, Clock: 3}, feed.ErrBadClock, "clock"},
		{"backdated: clock below prev", next, feed.Head{Seq: 2, ID: h2.ID, Clock: 9}, feed.ErrBadClock, "clock"},
		{"inflated: lamport without refs", next, feed.Head{Seq: 2, ID: h2.ID, Clock: 1}, feed.ErrBadClock, "clock"},
		{"hlc first entry", hlc, feed.Head{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.VerifyAfter(tt.after)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyAfter = %v, want %v", err, tt.want)
			}
			if err != nil {
				namesEntry(t, err, tt.e.Author, tt.e.Seq, tt.field)
			}
		})
	}
	// An inflated Lamport clock without refs, validly signed, is refused.
	inflated := run[1]
	inflated.Clock = 5
	inflated = resign(t, k, inflated)
	if err := inflated.Verify(testNet); err != nil {
		t.Fatal(err)
	}
	if err := inflated.VerifyAfter(run[0].Head()); !errors.Is(err, feed.ErrBadClock) {
		t.Fatalf("inflated clock: %v", err)
	}
}

// TestCausalRule exercises VerifyRefs: refs must resolve to entries of
// other feeds, and the clock must be exactly what prev and refs allow.
func TestCausalRule(t *testing.T) {
	a, b, c := rfcKey(t, 0), rfcKey(t, 1), rfcKey(t, 2)
	bs := build(t, b, feed.Head{}, 5) // clocks 1..5
	cs := build(t, c, feed.Head{}, 2) // clocks 1..2
	as := build(t, a, feed.Head{}, 2) // clocks 1..2
	known := map[feed.ID]feed.Entry{}
	for _, e := range append(append(append([]feed.Entry(nil), bs...), cs...), as...) {
		known[e.ID()] = e
	}
	resolve := func(id feed.ID) (identity.ID, uint64, bool) {
		e, ok := known[id]
		return e.Author, e.Clock, ok
	}
	ok := mustCreate(t, a, as[1].Head(), feed.Draft{Refs: []feed.Ref{{ID: bs[4].ID(), Clock: 5}, {ID: cs[1].ID(), Clock: 2}}})
	if ok.Clock != 6 {
		t.Fatalf("clock %d, want 1 + max(2, 5, 2) = 6", ok.Clock)
	}
	if err := ok.VerifyAfter(as[1].Head()); err != nil {
		t.Fatal(err)
	}
	if err := ok.VerifyRefs(as[1].Clock, resolve); err != nil {
		t.Fatal(err)
	}
	withClock := func(e feed.Entry, clock uint64) feed.Entry {
		e.Clock = clock
		return resign(t, a, e)
	}
	lied := mustCreate(t, a, as[1].Head(), feed.Draft{Refs: []feed.Ref{{ID: cs[0].ID(), Clock: 40}}})
	unknown := mustCreate(t, a, as[1].Head(), feed.Draft{Refs: []feed.Ref{{ID: feed.ID{9}, Clock: 1}}})
	self := mustCreate(t, a, as[1].Head(), feed.Draft{Refs: []feed.Ref{{ID: as[0].ID(), Clock: 1}}})
	hlc1 := mustCreate(t, a, feed.Head{}, feed.Draft{Kind: feed.HLC, Refs: []feed.Ref{{ID: bs[4].ID(), Clock: 5}}, Now: 0})
	hlcFuture := withClock(hlc1, 1<<40)
	hlcLow := withClock(hlc1, 5)
	tests := []struct {
		name      string
		e         feed.Entry
		prevClock uint64
		want      error
	}{
		{"inflated clock", withClock(ok, 7), 2, feed.ErrBadClock},
		{"inflated far", withClock(ok, 1<<60), 2, feed.ErrBadClock},
		{"backdated clock", withClock(ok, 5), 2, feed.ErrBadClock},
		{"backdated to prev+1", withClock(ok, 3), 2, feed.ErrBadClock},
		{"clock from a lied ref clock", lied, 2, feed.ErrBadClock},
		{"unknown ref", unknown, 2, feed.ErrMissingRef},
		{"ref into own feed", self, 2, feed.ErrBadRef},
		{"hlc above refs", hlc1, 0, nil},
		{"hlc far above refs", hlcFuture, 0, nil},
		{"hlc equal to a ref", hlcLow, 0, feed.ErrBadClock},
		{"hlc below prev", hlc1, 1 << 50, feed.ErrBadClock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.e.Verify(testNet); err != nil {
				t.Fatalf("test entry does not verify: %v", err)
			}
			err := tt.e.VerifyRefs(tt.prevClock, resolve)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyRefs = %v, want %v", err, tt.want)
			}
			if err != nil {
				field := "clock"
				if tt.want != feed.ErrBadClock {
					field = "refs"
				}
				namesEntry(t, err, tt.e.Author, tt.e.Seq, field)
			}
		})
	}
}

// TestNextErrors: drafts the rules forbid are refused before signing.
func TestNextErrors(t *testing.T) {
	k := rfcKey(t, 0)
	head := build(t, k, feed.Head{}, 1)[0].Head()
	many := make([]feed.Ref, feed.MaxRefs+1)
	for i := range many {
		many[i] = feed.Ref{ID: feed.ID{byte(i + 1)}, Clock: 1}
	}
	dup := append(append([]feed.Ref(nil), many[:feed.MaxRefs]...), many[0])
	tests := []struct {
		name  string
		head  feed.Head
		d     feed.Draft
		want  error
		field string
	}{
		{"kind change", head, feed.Draft{Kind: feed.HLC}, feed.ErrBadClock, "clock kind"},
		{"unknown kind", feed.Head{}, feed.Draft{Kind: 9}, feed.ErrMalformed, "clock kind"},
		{"content too large", head, feed.Draft{Content: make([]byte, feed.MaxContentSize+1)}, feed.ErrTooLarge, "content"},
		{"too many refs", head, feed.Draft{Refs: many}, feed.ErrTooLarge, "refs"},
		{"zero ref", head, feed.Draft{Refs: []feed.Ref{{}}}, feed.ErrBadRef, "refs"},
		{"clock overflow from a ref", head, feed.Draft{Refs: []feed.Ref{{ID: feed.ID{1}, Clock: math.MaxUint64}}}, feed.ErrBadClock, "clock"},
		{"wall clock out of range", feed.Head{}, feed.Draft{Kind: feed.HLC, Now: 1 << 48}, feed.ErrBadClock, "clock"},
		{"feed full", feed.Head{Seq: math.MaxUint64, ID: feed.ID{1}, Clock: math.MaxUint64 - 1}, feed.Draft{}, feed.ErrTooLarge, "seq"},
		{"empty head with an ID", feed.Head{ID: feed.ID{1}}, feed.Draft{}, feed.ErrBrokenChain, "prev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := feed.Create(k, testNet, tt.head, tt.d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Create = %v, want %v", err, tt.want)
			}
			namesEntry(t, err, k.ID(), tt.head.Seq+1, tt.field)
		})
	}
	// Duplicates collapse, so 33 refs with one repeated are allowed.
	e, err := feed.Next(k.ID(), head, feed.Draft{Refs: dup})
	if err != nil || len(e.Refs) != feed.MaxRefs {
		t.Fatalf("duplicate refs: %d refs, %v", len(e.Refs), err)
	}
	// Signing with a key that is not the author's.
	if err := e.Sign(rfcKey(t, 1), testNet); !errors.Is(err, feed.ErrBadSignature) {
		t.Fatalf("foreign key: %v", err)
	}
	// HLC: the clock is the wall clock when that is larger.
	h, err := feed.Next(k.ID(), feed.Head{}, feed.Draft{Kind: feed.HLC, Now: 1700000000000})
	if err != nil || h.Clock != 1700000000000<<16 {
		t.Fatalf("hlc clock %d, %v", h.Clock, err)
	}
	h2, err := feed.Next(k.ID(), h.Head(), feed.Draft{Kind: feed.HLC, Now: 1})
	if err != nil || h2.Clock != h.Clock+1 {
		t.Fatalf("hlc with a wall clock behind: %d, %v", h2.Clock, err)
	}
}

// TestChainSign: Chain builds a run first; the entries are then signed in
// any order (in parallel in production) and the run verifies.
func TestChainSign(t *testing.T) {
	k := rfcKey(t, 0)
	drafts := make([]feed.Draft, 6)
	for i := range drafts {
		drafts[i].Content = []byte{byte(i)}
	}
	run, err := feed.Chain(k.ID(), feed.Head{}, drafts)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(run) - 1; i >= 0; i-- { // signing order does not matter
		if err := run[i].Sign(k, testNet); err != nil {
			t.Fatal(err)
		}
	}
	if err := feed.VerifyChainFull(testNet, feed.Head{}, run); err != nil {
		t.Fatal(err)
	}
	drafts[3].Content = make([]byte, feed.MaxContentSize+1)
	if _, err := feed.Chain(k.ID(), feed.Head{}, drafts); !errors.Is(err, feed.ErrTooLarge) {
		t.Fatalf("Chain with a bad draft: %v", err)
	}
}

// TestVerifyChainTamper changes each entry of a run in each field and
// checks that VerifyChain catches it at the right entry.
func TestVerifyChainTamper(t *testing.T) {
	k, o := rfcKey(t, 0), rfcKey(t, 1)
	before := build(t, k, feed.Head{}, 2)
	after := before[1].Head()
	run := build(t, k, after, 8)
	if err := feed.VerifyChain(testNet, after, run); err != nil {
		t.Fatal(err)
	}
	if err := feed.VerifyChainFull(testNet, after, run); err != nil {
		t.Fatal(err)
	}
	if err := feed.VerifyChain(testNet, after, nil); err != nil {
		t.Fatal("empty run:", err)
	}
	clone := func() []feed.Entry {
		c := make([]feed.Entry, len(run))
		for i, e := range run {
			c[i] = e
			c[i].Content = bytes.Clone(e.Content)
		}
		return c
	}
	last := len(run) - 1
	for i := range run {
		for _, f := range []struct {
			field string
			edit  func(e *feed.Entry)
		}{
			{"content", func(e *feed.Entry) { e.Content[0] ^= 1 }},
			{"content appended", func(e *feed.Entry) { e.Content = append(e.Content, 0) }},
			{"clock", func(e *feed.Entry) { e.Clock += 1 }},
			{"refs", func(e *feed.Entry) { e.Refs = []feed.ID{{7}} }},
			{"author", func(e *feed.Entry) { e.Author = o.ID() }},
		} {
			c := clone()
			f.edit(&c[i])
			err := feed.VerifyChain(testNet, after, c)
			if err == nil {
				t.Fatalf("entry %d %s changed: VerifyChain accepted the run", i, f.field)
			}
			var fe *feed.Error
			if !errors.As(err, &fe) {
				t.Fatalf("%T", err)
			}
			// The fault is reported at the changed entry or, when only
			// the hash link shows it, at its successor.
			if fe.Seq != c[i].Seq && fe.Seq != c[i].Seq+1 {
				t.Errorf("entry %d %s: error at seq %d: %v", i, f.field, fe.Seq, err)
			}
			if i == last && f.field == "content" && !errors.Is(err, feed.ErrBadSignature) {
				t.Errorf("newest entry changed: %v, want ErrBadSignature", err)
			}
			if i < last && f.field == "content" && !errors.Is(err, feed.ErrBrokenChain) {
				t.Errorf("entry %d changed: %v, want ErrBrokenChain", i, err)
			}
			if err2 := feed.VerifyChainFull(testNet, after, c); err2 == nil {
				t.Fatalf("entry %d %s changed: VerifyChainFull accepted the run", i, f.field)
			}
		}
		// A bad signature on an inner entry: VerifyChain, which checks
		// only the newest signature, accepts the run (its bodies are
		// authenticated); VerifyChainFull names the entry.
		c := clone()
		c[i].Sig[0] ^= 1
		errLinks := feed.VerifyChain(testNet, after, c)
		errFull := feed.VerifyChainFull(testNet, after, c)
		if !errors.Is(errFull, feed.ErrBadSignature) {
			t.Fatalf("entry %d bad signature: VerifyChainFull = %v", i, errFull)
		}
		namesEntry(t, errFull, c[i].Author, c[i].Seq, "signature")
		if (i == last) != (errLinks != nil) {
			t.Fatalf("entry %d bad signature: VerifyChain = %v", i, errLinks)
		}
	}
	for _, tt := range []struct {
		name  string
		after feed.Head
		run   []feed.Entry
		want  error
	}{
		{"dropped entry", after, append(append([]feed.Entry(nil), run[:3]...), run[4:]...), feed.ErrBrokenChain},
		{"swapped entries", after, append(append([]feed.Entry(nil), run[0], run[2], run[1]), run[3:]...), feed.ErrBrokenChain},
		{"duplicated entry", after, append(append([]feed.Entry(nil), run[:4]...), run[3:]...), feed.ErrBrokenChain},
		{"wrong starting head", before[0].Head(), run, feed.ErrBrokenChain},
		{"starting from empty", feed.Head{}, run, feed.ErrBrokenChain},
		{"mixed feeds", feed.Head{}, []feed.Entry{before[0], build(t, o, feed.Head{}, 1)[0]}, feed.ErrBrokenChain},
		{"other network", after, run, feed.ErrBadSignature},
	} {
		net := testNet
		if tt.name == "other network" {
			net = identity.NetworkFromName("other")
		}
		for _, full := range []bool{false, true} {
			verify := feed.VerifyChain
			if full {
				verify = feed.VerifyChainFull
			}
			if err := verify(net, tt.after, tt.run); !errors.Is(err, tt.want) {
				t.Errorf("%s (full %v): %v, want %v", tt.name, full, err, tt.want)
			}
		}
	}
}

// TestConcurrentVerify: verifying one decoded entry, one fork proof and one
// run from several goroutines is race-free (run under -race): verification
// does not write to entries whose cached ID is already right.
func TestConcurrentVerify(t *testing.T) {
	k := rfcKey(t, 0)
	run := build(t, k, feed.Head{}, 4)
	e, err := feed.Decode(run[3].Encode())
	if err != nil {
		t.Fatal(err)
	}
	a, b := forkPair(t)
	p, err := feed.NewForkProof(testNet, a, b)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			if err := e.Verify(testNet); err != nil {
				done <- err
				return
			}
			if err := p.Verify(testNet); err != nil {
				done <- err
				return
			}
			done <- feed.VerifyChain(testNet, feed.Head{}, run)
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
