package merge_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// TestScripts runs the interaction scripts in testdata/scripts (regenerate
// expected output with -rewrite). Writers are a, b, c, d; entries are
// named; the application is the vectors' counter (deltas, refused below
// zero). Commands:
//
//	view writers=(a,b) [spacing=N]     or   view open
//	entry name=N by=W delta=D|add=W|remove=W|raw=TEXT [refs=(N,…)] [after=N|none]
//	add N …            add entries by name, in this order, in one call
//	order | state | final | writers | refusals | squash
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		s := &script{t: t, entries: map[string]feed.Entry{}, heads: map[string]feed.Head{}}
		datadriven.RunTest(t, path, s.handle)
	})
}

type script struct {
	t       *testing.T
	v       *merge.View[int64, int64]
	entries map[string]feed.Entry
	heads   map[string]feed.Head
	names   []string // entry names in creation order
}

func (s *script) author(name string) identity.ID {
	if len(name) != 1 || name[0] < 'a' || name[0] > 'd' {
		s.t.Fatalf("unknown writer %q", name)
	}
	return testKey(s.t, name[0]-'a'+1).ID()
}

func (s *script) writerName(id identity.ID) string {
	for c := byte('a'); c <= 'd'; c++ {
		if s.author(string(c)) == id {
			return string(c)
		}
	}
	return id.Short()
}

func (s *script) name(id feed.ID) string {
	for _, n := range s.names {
		if e := s.entries[n]; e.ID() == id {
			return n
		}
	}
	return id.Short()
}

func (s *script) handle(t *testing.T, td *datadriven.TestData) string {
	switch td.Cmd {
	case "view":
		var ws []identity.ID
		if !td.HasArg("open") {
			var names []string
			td.ScanArgs(t, "writers", &names)
			for _, n := range names {
				ws = append(ws, s.author(n))
			}
		}
		spacing := 0
		td.MaybeScanArgs(t, "spacing", &spacing)
		v, err := merge.New(merge.Config[int64, int64]{Reducer: vecReduce, Decode: vecDecode, Writers: ws,
			Snapshots: merge.SnapshotPolicy{Spacing: spacing}})
		if err != nil {
			return err.Error()
		}
		s.v = v
		return ""
	case "entry":
		var name, by string
		td.ScanArgs(t, "name", &name)
		td.ScanArgs(t, "by", &by)
		var content []byte
		switch {
		case td.HasArg("delta"):
			var d int64
			td.ScanArgs(t, "delta", &d)
			content = u64(uint64(d))
		case td.HasArg("add"):
			var w string
			td.ScanArgs(t, "add", &w)
			content = merge.AddWriterContent(s.author(w))
		case td.HasArg("remove"):
			var w string
			td.ScanArgs(t, "remove", &w)
			content = merge.RemoveWriterContent(s.author(w))
		case td.HasArg("raw"):
			var r string
			td.ScanArgs(t, "raw", &r)
			content = []byte(r)
		}
		head := s.heads[by]
		if td.HasArg("after") {
			var after string
			td.ScanArgs(t, "after", &after)
			head = feed.Head{}
			if after != "none" {
				e := s.entries[after]
				head = e.Head()
			}
		}
		var refs []feed.Ref
		var rn []string
		td.MaybeScanArgs(t, "refs", &rn)
		for _, r := range rn {
			e, ok := s.entries[r]
			if !ok {
				t.Fatalf("unknown entry %q", r)
			}
			refs = append(refs, feed.Ref{ID: e.ID(), Clock: e.Clock})
		}
		e, err := feed.Next(s.author(by), head, feed.Draft{Refs: refs, Content: content})
		if err != nil {
			return err.Error()
		}
		s.entries[name] = e
		s.names = append(s.names, name)
		s.heads[by] = e.Head()
		return fmt.Sprintf("%s: seq %d clock %d", name, e.Seq, e.Clock)
	case "add":
		var es []feed.Entry
		for _, a := range td.CmdArgs {
			e, ok := s.entries[a.Key]
			if !ok {
				t.Fatalf("unknown entry %q", a.Key)
			}
			es = append(es, e)
		}
		r := s.v.Add(es...)
		var b strings.Builder
		fmt.Fprintf(&b, "placed %d duplicates %d pending %d replayed %d final %d", r.Placed, r.Duplicates, r.Pending, r.Replayed, r.Final.Count)
		for _, x := range r.Refused {
			fmt.Fprintf(&b, "\nrefused %s: %v", s.name(x.ID), x.Err)
		}
		for _, x := range r.Unrefused {
			fmt.Fprintf(&b, "\nunrefused %s", s.name(x))
		}
		for _, x := range r.Rejected {
			fmt.Fprintf(&b, "\nrejected %s: %v", s.name(x.ID), x.Err)
		}
		for _, f := range r.Forks {
			fmt.Fprintf(&b, "\nfork %s", s.writerName(f))
		}
		if r.FinalReverted {
			b.WriteString("\nfinal reverted")
		}
		return b.String()
	case "order":
		var out []string
		for _, p := range s.v.Order() {
			n := s.name(p.ID)
			if p.Refused != nil {
				n += "!"
			}
			out = append(out, n)
		}
		return strings.Join(out, " ")
	case "state":
		return strconv.FormatInt(s.v.State(), 10)
	case "final":
		f := s.v.Final()
		if f.Count == 0 {
			return "none"
		}
		return fmt.Sprintf("%d entries, last %s", f.Count, s.name(f.Last))
	case "writers":
		var out []string
		for _, w := range s.v.Writers() {
			out = append(out, s.writerName(w))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	case "refusals":
		var out []string
		for _, r := range s.v.Refusals() {
			out = append(out, fmt.Sprintf("%s: %v", s.name(r.ID), r.Err))
		}
		return strings.Join(out, "\n")
	case "squash":
		snap, err := s.v.Squash()
		if err != nil {
			return err.Error()
		}
		var ids []string
		ok := true
		for _, id := range snap.IDs {
			ids = append(ids, s.name(id))
			p, err := snap.Prove(id)
			ok = ok && err == nil && merge.VerifyInclusion(snap.Root, id, p) == nil
		}
		return fmt.Sprintf("squashed %s; state %d; proofs verify: %v", strings.Join(ids, " "), snap.State, ok)
	}
	t.Fatalf("unknown command %q", td.Cmd)
	return ""
}
