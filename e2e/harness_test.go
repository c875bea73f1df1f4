package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the sbfeed binary built once per test process.
var binary struct {
	once sync.Once
	path string
	err  error
}

// sbfeedBinary builds ./cmd/sbfeed into a temporary directory. The binary is
// built without the race detector even under "go test -race": the processes
// are black boxes here (their code is race-tested by the package tests), and
// race-instrumented peers would make the suite several times slower on two
// cores. Set SBFEED_E2E_RACE=1 to build them with -race anyway.
func sbfeedBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests build and run the binary; skipped in -short mode")
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "sbfeed-e2e-bin")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "sbfeed")
		args := []string{"build", "-o", binary.path}
		if os.Getenv("SBFEED_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "../cmd/sbfeed")
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// node is one peer's home: key file and data directory.
type node struct {
	t    *testing.T
	name string
	home string
	id   string
	proc *peerProc
}

func (n *node) data() string { return filepath.Join(n.home, "data") }
func (n *node) key() string  { return filepath.Join(n.home, "identity") }

func newNode(t *testing.T, name string) *node {
	n := &node{t: t, name: name, home: filepath.Join(t.TempDir(), name)}
	n.id = strings.TrimSpace(n.run("keygen"))
	return n
}

// env is the environment of every sbfeed process of n.
func (n *node) env() []string {
	return append(os.Environ(), "SBFEED_HOME="+n.home)
}

// run runs an sbfeed command to completion and returns its stdout; a non-zero
// exit fails the test.
func (n *node) run(args ...string) string {
	n.t.Helper()
	out, errOut, err := n.try(args...)
	if err != nil {
		n.t.Fatalf("%s: sbfeed %s: %v\nstdout:\n%s\nstderr:\n%s", n.name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (n *node) try(args ...string) (string, string, error) {
	return n.tryStdin("", args...)
}

func (n *node) tryStdin(stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sbfeedBinary(n.t), args...)
	cmd.Env = n.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// peerProc is a running "sbfeed peer".
type peerProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

var listenRE = regexp.MustCompile(`msg=listening .*addr=(\S+)`)

// start runs "sbfeed peer" for n with extra args and waits until it
// listens; it returns the address it listens on.
func (n *node) start(args ...string) string {
	n.t.Helper()
	if n.proc != nil {
		n.t.Fatalf("%s: already running", n.name)
	}
	all := append([]string{"peer", "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(sbfeedBinary(n.t), all...)
	cmd.Env = n.env()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	p := &peerProc{cmd: cmd, done: make(chan struct{})}
	n.proc = p
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(p.done)
	}()
	n.t.Cleanup(func() {
		if n.proc == p {
			n.stop(syscall.SIGKILL)
		}
	})
	select {
	case p.addr = <-addrc:
		return p.addr
	case <-p.done:
		n.t.Fatalf("%s: sbfeed peer exited before listening:\n%s", n.name, p.logs())
	case <-time.After(30 * time.Second):
		n.t.Fatalf("%s: sbfeed peer did not listen within 30s:\n%s", n.name, p.logs())
	}
	return ""
}

func (p *peerProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends sig to the running peer and waits for it to exit; after SIGTERM
// the exit must be clean (status 0).
func (n *node) stop(sig syscall.Signal) {
	n.t.Helper()
	p := n.proc
	if p == nil {
		return
	}
	n.proc = nil
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		n.t.Fatalf("%s: peer did not exit within 30s of %v:\n%s", n.name, sig, p.logs())
	}
	if sig != syscall.SIGKILL && !p.cmd.ProcessState.Success() {
		n.t.Errorf("%s: peer exited with %v after %v:\n%s", n.name, p.cmd.ProcessState, sig, p.logs())
	}
}

// waitFor polls cond until it returns true or the deadline passes. It polls
// a real condition (another process's output), so the interval only bounds
// how soon the test notices.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", d, what, last)
		}
		runtime.Gosched()
		<-time.After(50 * time.Millisecond)
	}
}
