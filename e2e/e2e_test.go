package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// counterLines returns n counter actions, one a line, for "sbfeed append -";
// every seventh is an action the reducer refuses, so refusals are part of
// what must agree.
func counterLines(n int, tag string) string {
	var b strings.Builder
	for i := range n {
		switch {
		case i%7 == 6:
			fmt.Fprintf(&b, `{"type":"BOGUS-%s"}`+"\n", tag)
		case i%5 == 4:
			b.WriteString(`{"type":"DECREMENT"}` + "\n")
		default:
			b.WriteString(`{"type":"INCREMENT"}` + "\n")
		}
	}
	return b.String()
}

func (n *node) appendLines(lines string) {
	n.t.Helper()
	out, errOut, err := n.tryStdin(lines, "append", "-")
	if err != nil {
		n.t.Fatalf("%s: sbfeed append: %v\n%s\n%s", n.name, err, out, errOut)
	}
}

// heads returns "sbfeed log --heads" of n (through its peer if running).
func (n *node) heads() string {
	out, _, err := n.try("log", "--heads")
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

func (n *node) digest() string {
	out, _, err := n.try("state", "--app", "counter", "--digest")
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(out)
}

// converged waits until every node holds the same feeds at the same heads
// and computes the same state digest.
func converged(t *testing.T, what string, nodes ...*node) {
	t.Helper()
	waitFor(t, 60*time.Second, what, func() (bool, string) {
		h0, d0 := nodes[0].heads(), nodes[0].digest()
		if strings.Count(h0, "\n") < len(nodes) || strings.HasPrefix(h0, "error") {
			return false, fmt.Sprintf("%s holds %q", nodes[0].name, h0)
		}
		for _, n := range nodes[1:] {
			if h, d := n.heads(), n.digest(); h != h0 || d != d0 {
				return false, fmt.Sprintf("%s heads %q digest %s; %s heads %q digest %s", nodes[0].name, h0, d0, n.name, h, d)
			}
		}
		return true, ""
	})
}

// TestThreePeers runs three "sbfeed peer" processes appending concurrently,
// in a mesh and in client–server; kills one with SIGKILL and restarts it;
// brings a fourth, offline peer up to date through export/import; and
// checks at the end that every data directory gives the same "sbfeed state"
// and passes "sbfeed verify".
func TestThreePeers(t *testing.T) {
	for _, topo := range []string{"mesh", "client-server"} {
		t.Run(topo, func(t *testing.T) {
			t0 := time.Now()
			a, b, c, d := newNode(t, "a"), newNode(t, "b"), newNode(t, "c"), newNode(t, "d")
			app := []string{"--app", "counter"}
			addrA := a.start(app...)
			addrB := b.start(append(app, addrA)...)
			dialC := []string{addrA} // client–server: a is the server
			if topo == "mesh" {
				dialC = append(dialC, addrB)
			}
			c.start(append(app, dialC...)...)

			// Concurrent appends through the running peers.
			var wg sync.WaitGroup
			for i, n := range []*node{a, b, c} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n.appendLines(counterLines(30+i, n.name))
				}()
			}
			wg.Wait()
			t.Logf("%v appended", time.Since(t0))
			converged(t, "a, b and c to converge", a, b, c)
			t.Logf("%v converged", time.Since(t0))

			// The peers log what happened, with log/slog.
			for _, want := range []string{"msg=listening", `msg="peer connected"`, "msg=refused", "msg=state"} {
				if logs := a.proc.logs(); !strings.Contains(logs, want) {
					t.Errorf("a's log has no %s:\n%s", want, logs)
				}
			}

			// c dies without warning; the others go on.
			c.stop(syscall.SIGKILL)
			a.appendLines(counterLines(10, "a2"))
			b.appendLines(counterLines(10, "b2"))

			// d was never online: it writes offline, and syncs with c's
			// directory by bundle files while c is down.
			d.appendLines(counterLines(8, "d"))
			fromC := filepath.Join(t.TempDir(), "c.bundle")
			c.run("export", fromC)
			d.run("import", fromC)
			fromD := filepath.Join(t.TempDir(), "d.bundle")
			d.run("export", fromD)
			c.run("import", fromD)

			// c comes back (its data directory survived SIGKILL) and relays
			// d's entries to everyone.
			t.Logf("%v bundles done", time.Since(t0))
			c.start(append(app, dialC...)...)
			converged(t, "a, b and c to converge after c's restart", a, b, c)
			t.Logf("%v converged again", time.Since(t0))

			// Stop cleanly; d catches up offline from a's bundle.
			for _, n := range []*node{a, b, c} {
				n.proc.cmd.Process.Signal(syscall.SIGTERM)
			}
			for _, n := range []*node{a, b, c} {
				n.stop(syscall.SIGTERM) // waits for a clean exit
			}
			fromA := filepath.Join(t.TempDir(), "a.bundle")
			a.run("export", fromA)
			d.run("import", fromA)

			t.Logf("%v stopped", time.Since(t0))
			var states []string
			digests := []string{a.digest()}
			for _, n := range []*node{a, b, c, d} {
				states = append(states, n.run("state", "--app", "counter"))
				out := n.run("verify", "--app", "counter")
				if !strings.Contains(out, "state digest "+digests[0]) {
					t.Errorf("%s: sbfeed verify --app counter does not give the digest of a:\n%s", n.name, out)
				}
			}
			for i, s := range states {
				if s != states[0] {
					t.Errorf("sbfeed state differs: a %q, %s %q", states[0], []string{"a", "b", "c", "d"}[i], s)
				}
			}
			// 4 feeds, every action counted: increments minus decrements,
			// refusals excluded.
			want := 0
			for _, k := range []int{30, 31, 32, 10, 10, 8} {
				for i := range k {
					switch {
					case i%7 == 6:
					case i%5 == 4:
						want--
					default:
						want++
					}
				}
			}
			if got := strings.TrimSpace(states[0]); got != fmt.Sprint(want) {
				t.Errorf("state %s, want %d", got, want)
			}
		})
	}
}
