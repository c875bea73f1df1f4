package store_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/store"
)

// buildCrashtest builds the helper binary into a temporary directory.
func buildCrashtest(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills a helper process; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			t.Skip("no go command to build the helper process with")
		}
	}
	bin := filepath.Join(t.TempDir(), "crashtest")
	cmd := exec.Command(gobin, "build", "-o", bin, "./internal/crashtest")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestProcesses runs the crash and lock tests that need a real second
// process, sharing one build of the helper.
func TestProcesses(t *testing.T) {
	bin := buildCrashtest(t)
	t.Run("kill", func(t *testing.T) { testCrashKill(t, bin) })
	t.Run("second", func(t *testing.T) { testSecondProcess(t, bin) })
}

// testCrashKill runs the helper, SIGKILLs it at random points many times,
// and checks after each restart that every seq it printed (acknowledged) is
// stored; at the end the store audits clean.
func testCrashKill(t *testing.T, bin string) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(42, 4242))
	network := identity.NetworkFromName("crashtest")
	var acked uint64
	deadline := time.Now().Add(10 * time.Second)
	rounds := 0
	for ; rounds < 40 && time.Now().Before(deadline); rounds++ {
		cmd := exec.Command(bin, "-dir", dir, "-seed", strconv.Itoa(rounds))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			cmd.Wait()
			t.Fatalf("round %d: helper said nothing: %s", rounds, stderr.String())
		}
		// The reopened store must hold every seq acknowledged before.
		var opened uint64
		if _, err := fmt.Sscanf(sc.Text(), "open %d", &opened); err != nil || opened < acked {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: reopened at seq %d (%q), but seq %d was acknowledged", rounds, opened, sc.Text(), acked)
		}
		// Kill after a random number of acknowledged batches, between
		// lines or, as often as not, in the middle of an Append.
		lines := 1 + rng.IntN(30)
		for i := 0; i < lines && sc.Scan(); i++ {
			n, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64)
			if err != nil {
				t.Fatalf("round %d: bad line %q", rounds, sc.Text())
			}
			acked = n
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Lines printed before the kill landed are acknowledged too.
		for sc.Scan() {
			if n, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64); err == nil {
				acked = n
			}
		}
		cmd.Wait()
	}
	if rounds < 5 {
		t.Fatalf("only %d rounds", rounds)
	}
	db, err := store.Open(dir, &store.Options{Network: network})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	heads, err := db.Heads()
	if err != nil || len(heads) != 1 || heads[0].Head.Seq < acked {
		t.Fatalf("heads %+v (acknowledged %d): %v", heads, acked, err)
	}
	rep, err := audit.Run(audit.FromStore(db), audit.Options{Network: network, Full: true})
	if err != nil || !rep.Clean() {
		t.Fatalf("audit after %d kills: %v %+v", rounds, err, rep)
	}
	t.Logf("%d kills, %d entries acknowledged, %d stored", rounds, acked, heads[0].Head.Seq)
}

// testSecondProcess: while this process holds the store, another process
// opening it fails at once with "in use by process <our pid>".
func testSecondProcess(t *testing.T, bin string) {
	dir := t.TempDir()
	db, err := store.Open(dir, &store.Options{Network: identity.NetworkFromName("crashtest")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cmd := exec.Command(bin, "-dir", dir)
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("second process hung")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("second process: %v: %s", err, out)
	}
	if want := fmt.Sprintf("in use by process %d", os.Getpid()); !strings.Contains(string(out), want) {
		t.Fatalf("second process said %q, want %q", out, want)
	}
}

// TestCrashClone simulates power loss with Pebble's crashable in-memory
// file system: after each acknowledged Append, a crash clone keeping a
// random half of the unsynced data must still hold every acknowledged
// entry, and nothing half-written.
func TestCrashClone(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db, err := store.Open("data", &store.Options{FS: fs, Network: testNet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	k := testKey(t, 1)
	var head feed.Head
	for round := 0; round < 20; round++ {
		batch := makeFeed(t, k, head, 1+rng.IntN(10))
		if _, err := db.Append(batch...); err != nil {
			t.Fatal(err)
		}
		head = batch[len(batch)-1].Head()
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(uint64(round), 7))})
		cdb, err := store.Open("data", &store.Options{FS: crashed, Network: testNet})
		if err != nil {
			t.Fatalf("round %d: reopen after crash: %v", round, err)
		}
		h, _, err := cdb.Head(k.ID())
		if err != nil || h != head {
			t.Fatalf("round %d: head after crash %+v, want %+v (%v)", round, h, head, err)
		}
		rep, err := audit.Run(audit.FromStore(cdb), audit.Options{Network: testNet})
		if err != nil || !rep.Clean() {
			t.Fatalf("round %d: audit after crash: %v %+v", round, err, rep.Problems)
		}
		cdb.Close()
	}
}
