package sim

import (
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/merge"
)

// checkMergeViews folds every peer's entries through a merge.View with a
// counter reducer, adding feeds in a peer-specific order, and checks every
// peer reaches the same state and order length.
func checkMergeViews(t *testing.T, s *Sim, ps []int) {
	t.Helper()
	type counter struct{ N, Sum int }
	var want *counter
	wantLen := 0
	for k, i := range ps {
		v, err := merge.New(merge.Config[counter, int]{
			Reducer: func(c counter, a int) (counter, error) { return counter{c.N + 1, c.Sum + a}, nil },
			Decode:  func(b []byte) (int, error) { return len(b) + int(b[0]), nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		st := s.Peers[i].Store
		authors := st.Authors()
		var all []feed.Entry
		for j := range authors {
			es, err := st.Entries(authors[(j+k)%len(authors)])
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, es...)
		}
		v.Add(all...)
		got := v.State()
		if want == nil {
			want, wantLen = &got, v.Len()
			continue
		}
		if got != *want || v.Len() != wantLen {
			t.Fatalf("peer %d: merge state %+v (%d placed), peer %d has %+v (%d placed)", i, got, v.Len(), ps[0], *want, wantLen)
		}
	}
	if want != nil && want.N == 0 {
		t.Fatal("merge views folded nothing")
	}
}
