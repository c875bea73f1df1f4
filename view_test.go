package sbfeed

import (
	"encoding/json"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

type sayAction struct {
	Text   string      `json:"text"`
	Author identity.ID `json:"-"`
}

func (a *sayAction) SetAuthor(id identity.ID) { a.Author = id }

type said struct{ Author, Text string }

func sayReduce(s []said, a sayAction) ([]said, error) {
	out := append([]said(nil), s...)
	return append(out, said{a.Author.Short(), a.Text}), nil
}

// TestMergeViewAuthors checks that the adapter gives every action its own
// author, including entries that wait in the view for a reference and are
// decoded during a later Add, and sealed ones.
func TestMergeViewAuthors(t *testing.T) {
	gk, _ := GenerateGroupKey(&counterReader{})
	for _, sealed := range []bool{false, true} {
		o := (&Options{Network: identity.NetworkFromName("authors")}).EnsureDefaults()
		if sealed {
			o.GroupKey = &gk
		}
		alice, _ := identity.FromSeed(make([]byte, 32))
		bobSeed := make([]byte, 32)
		bobSeed[0] = 1
		bob, _ := identity.FromSeed(bobSeed)
		mk := func(k *identity.Key, head feed.Head, text string, refs ...feed.Ref) feed.Entry {
			c, _ := json.Marshal(sayAction{Text: text})
			if sealed {
				c, _ = gk.Seal(&counterReader{}, o.Network, k.ID(), c)
			}
			e, err := feed.Create(k, o.Network, head, feed.Draft{Content: c, Refs: refs})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		a1 := mk(alice, feed.Head{}, "a1")
		b1 := mk(bob, feed.Head{}, "b1", feed.Ref{ID: a1.ID(), Clock: a1.Clock})
		b2 := mk(bob, b1.Head(), "b2")
		a2 := mk(alice, a1.Head(), "a2", feed.Ref{ID: b2.ID(), Clock: b2.Clock})

		v, err := newMergeView(sayReduce, o)
		if err != nil {
			t.Fatal(err)
		}
		// b1, b2 and a2 wait for a1; a1 arrives last.
		v.Add(a2)
		v.Add(b1, b2)
		if v.Len() != 0 {
			t.Fatalf("placed %d entries before their reference arrived", v.Len())
		}
		res := v.Add(a1)
		if len(res.Refused) != 0 {
			t.Fatalf("refused: %v", res.Refused)
		}
		got := v.State()
		want := []said{{alice.ID().Short(), "a1"}, {bob.ID().Short(), "b1"}, {bob.ID().Short(), "b2"}, {alice.ID().Short(), "a2"}}
		if len(got) != len(want) {
			t.Fatalf("sealed=%v: state %v, want %v", sealed, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("sealed=%v: message %d is %v, want %v", sealed, i, got[i], want[i])
			}
		}
	}
}
