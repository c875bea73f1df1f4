package merge_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// FuzzParseMember: membership content either parses, and then re-encodes
// to exactly the same bytes, or is refused with ErrMembership; never a
// panic.
func FuzzParseMember(f *testing.F) {
	op, id, err := merge.ParseMember(merge.AddWriterContent(identity.ID{1}))
	if err != nil || op != merge.OpAdd || id != (identity.ID{1}) {
		f.Fatal("seed does not parse")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		op, id, err := merge.ParseMember(b)
		if err != nil {
			return
		}
		var again []byte
		switch op {
		case merge.OpAdd:
			again = merge.AddWriterContent(id)
		case merge.OpRemove:
			again = merge.RemoveWriterContent(id)
		default:
			t.Fatalf("op %d accepted", op)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("not canonical: %x re-encodes to %x", b, again)
		}
	})
}

// FuzzView: any sequence of entries (encoded, concatenated) added in two
// different orders, or behind a moving fold horizon, gives the same order,
// state and refusals, and the view passes Check; no input panics the view.
func FuzzView(f *testing.F) {
	w := newWorld(f, 2)
	a1 := w.append(0, u64(1))
	b1 := w.append(1, u64(22), &a1)
	a2 := w.append(0, merge.RemoveWriterContent(w.ids[1]), &b1)
	var seed []byte
	for _, e := range []feed.Entry{a2, b1, a1} {
		seed = e.AppendEncode(seed)
	}
	f.Add(seed, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, nw uint8) {
		var es []feed.Entry
		for len(b) > 0 && len(es) < 64 {
			e, n, err := feed.DecodePrefix(b)
			if err != nil {
				break
			}
			es = append(es, e)
			b = b[n:]
		}
		writers := w.ids[:int(nw)%3]
		v1 := newView(t, writers, 1, 1)
		v1.Add(es...)
		v2 := newView(t, writers, 3, 0)
		rev := slices.Clone(es)
		slices.Reverse(rev)
		for _, e := range rev {
			v2.Add(e)
		}
		// A third view folds behind a horizon that moves with the input.
		v3 := newView(t, writers, 2, 0)
		v3.SetHorizon(uint64(nw) % 4)
		for i, e := range es {
			v3.Add(e)
			if i%3 == 0 {
				v3.SetHorizon(e.Clock)
			}
			if err := v3.Check(); err != nil {
				t.Fatal(err)
			}
		}
		v3.SetHorizon(merge.NoHorizon)
		s1, s2 := summarize(v1), summarize(v2)
		sameSummary(t, "two arrival orders", s1, s2)
		sameSummary(t, "with a horizon", summarize(v3), s1)
		if err := v1.Check(); err != nil {
			t.Fatal(err)
		}
	})
}
