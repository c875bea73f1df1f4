package replicate_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/sim"
	"github.com/sbfeed/sbfeed/replicate"
)

// env drives a small simulated network from a datadriven script. Peers are
// named a, b, c, … and every identity in the output is replaced by its name.
type env struct {
	s     *sim.Sim
	names map[string]string // identity short form → peer name
	out   strings.Builder
}

func (e *env) name(i int) string { return string(rune('a' + i)) }

func (e *env) index(t *testing.T, d *datadriven.TestData, n string) int {
	for i := range e.s.Peers {
		if e.name(i) == n {
			return i
		}
	}
	d.Fatalf(t, "no peer %q", n)
	return -1
}

func (e *env) rename(s string) string {
	for short, n := range e.names {
		s = strings.ReplaceAll(s, short, n)
	}
	return s
}

func (e *env) added(p *sim.Peer) {
	if _, ok := e.names[p.ID.Short()]; !ok {
		e.names[p.ID.Short()] = e.name(p.Index)
	}
}

// TestInteraction runs testdata/*.txt; regenerate expectations with
// go test ./replicate -run TestInteraction -rewrite.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			return
		}
		e := &env{names: map[string]string{}}
		e.s = sim.New(sim.Config{Seed: 1, Trace: func(tick, from, to int, m replicate.Message, err error) {
			fmt.Fprintf(&e.out, "%d %s\n", tick, e.rename(m.String()))
			if err != nil {
				fmt.Fprintf(&e.out, "  error: %s\n", e.rename(err.Error()))
			}
		}})
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			e.out.Reset()
			e.handle(t, d)
			return e.out.String()
		})
	})
}

func (e *env) handle(t *testing.T, d *datadriven.TestData) {
	args := func() []string {
		var out []string
		for _, a := range d.CmdArgs {
			if len(a.Vals) == 0 {
				out = append(out, a.Key)
			}
		}
		return out
	}
	s := e.s
	switch d.Cmd {
	case "add-peers":
		n, _ := strconv.Atoi(args()[0])
		for _, p := range s.AddPeers(n) {
			e.added(p)
		}
	case "add-twin": // add-twin of=a: a new peer with a's key (a forking author)
		var of string
		d.ScanArgs(t, "of", &of)
		p := s.Peers[e.index(t, d, of)]
		tw := s.AddPeer(p.Key, p.Network)
		e.added(tw)
		es, err := p.Store.Entries(p.ID) // the twin starts with a copy of the feed
		if err == nil {
			err = tw.Store.Append(es...)
		}
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		tw.Hub.Notify(es...)
	case "add-outsider": // a peer of another network
		e.added(s.AddPeer(s.KeyFor(len(s.Peers)), identity.NetworkFromName("elsewhere")))
	case "append": // append a n=3
		n := 1
		d.MaybeScanArgs(t, "n", &n)
		for _, p := range args() {
			for _, en := range s.Append(e.index(t, d, p), n, 8) {
				fmt.Fprintf(&e.out, "%s\n", e.rename(en.String()))
			}
		}
	case "connect":
		a := args()
		for i := 1; i < len(a); i++ {
			s.Connect(e.index(t, d, a[0]), e.index(t, d, a[i]))
		}
	case "disconnect":
		a := args()
		s.Disconnect(e.index(t, d, a[0]), e.index(t, d, a[1]))
	case "partition": // partition a,b c,d
		var groups [][]int
		for _, g := range args() {
			var grp []int
			for _, n := range strings.Split(g, ",") {
				grp = append(grp, e.index(t, d, n))
			}
			groups = append(groups, grp)
		}
		s.Partition(groups...)
	case "heal":
		s.Heal()
	case "offline", "online":
		for _, p := range args() {
			s.SetOnline(e.index(t, d, p), d.Cmd == "online")
		}
	case "tick":
		n := 1
		if a := args(); len(a) > 0 {
			n, _ = strconv.Atoi(a[0])
		}
		for range n {
			s.Step()
		}
	case "stabilize": // step until nothing is in flight for 15 ticks
		quiet := 0
		for i := 0; i < 500 && quiet < 15; i++ {
			s.Step()
			if s.Idle() {
				quiet++
			} else {
				quiet = 0
			}
		}
	case "heads":
		for _, p := range s.Peers {
			var hs []string
			for _, a := range p.Store.Authors() {
				h := p.Store.Head(a)
				hs = append(hs, fmt.Sprintf("%s:%d", a.Short(), h.Seq))
			}
			fmt.Fprintf(&e.out, "%s: %s\n", e.name(p.Index), e.rename(strings.Join(hs, " ")))
		}
	case "forks":
		for _, p := range s.Peers {
			fs, _ := p.Store.Forks()
			var out []string
			for _, f := range fs {
				out = append(out, fmt.Sprintf("%s:%d", f.Author().Short(), f.Seq()))
			}
			slices.Sort(out)
			fmt.Fprintf(&e.out, "%s: %s\n", e.name(p.Index), e.rename(strings.Join(out, " ")))
		}
	case "stats":
		for i := range s.Peers {
			st := s.Stats(i)
			fmt.Fprintf(&e.out, "%s: received %d duplicates %d accepted %d sent %d\n", e.name(i), st.Received, st.Duplicates, st.Accepted, st.Sent)
		}
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
	for _, f := range s.Faults {
		d.Fatalf(t, "fault: %v", f)
	}
}
