package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/identity"
)

func cmdVerify(e *env, args []string) int {
	fs := e.newFlags("verify", "[--data DIR | BUNDLE] [--full] [--json] [--progress] [--network KEY] [--app NAME]", `
Audit a data directory (default $SBFEED_HOME/data) or a bundle file: for
every feed, the encoding of each entry, hash links, seq continuity, the
Lamport rule, references that resolve, forks (printing the fork proof), and
signatures — the newest of each verified run by default, which
authenticates the run through the hash chain; every one with --full, which
also checks that a store's indexes describe exactly its entries.

It prints a summary per feed (author, entries, head, status), each problem
named by author, seq and what is wrong, and a verdict.

With --app NAME (a data directory only) it also replays the merge and the
built-in app's reducer and prints the state's digest, which two peers
compare ("sbfeed state --app NAME" prints the state itself).

Exit status: 0 clean, 1 problems found, 2 the audit could not run (bad
flags, unreadable store or bundle).`)
	sf := e.addStoreFlags(fs)
	full := fs.Bool("full", false, "check every signature (uses every core)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	progress := fs.Bool("progress", false, "print progress on stderr even when it is not a terminal")
	app := fs.String("app", "", "also replay this built-in app and print its state digest: "+strings.Join(apps.Names(), ", "))
	pos, st, done := parseInterspersed(fs, args)
	if done {
		return st
	}
	if *app != "" && !contains(apps.Names(), *app) {
		e.errorf("unknown app %q", *app)
		e.hint("the built-in apps are %s", strings.Join(apps.Names(), ", "))
		return 2
	}
	if *app != "" && len(pos) == 1 {
		e.errorf("--app needs a data directory, not a bundle")
		return 2
	}
	var appRes *apps.Result
	if len(pos) > 1 {
		e.errorf("verify takes at most one argument (a bundle file), got %q", pos)
		return 2
	}
	if len(pos) == 1 && *sf.data != "" {
		e.errorf("give either --data DIR or a bundle file, not both")
		return 2
	}
	net, err := sf.parseNetwork()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	opts := audit.Options{Network: net, Full: *full, Checked: new(atomic.Int64)}
	var (
		rep    *audit.Report
		source string
		total  int64
	)
	start := time.Now()
	stop := func() {}
	if len(pos) == 1 {
		source = pos[0]
		f, err := os.Open(source)
		if err != nil {
			e.errorf("%v", err)
			return 2
		}
		b, err := audit.LoadBundle(f, net)
		f.Close()
		if err != nil {
			e.errorf("%s: %v", source, err)
			if errors.Is(err, bundle.ErrNetwork) {
				e.hint("pass the bundle's network with --network")
			}
			return 2
		}
		total = int64(b.Entries())
		stop = e.startProgress(opts.Checked, total, *progress)
		rep, err = audit.RunBundle(b, opts)
		if err != nil {
			stop()
			e.errorf("%v", err)
			return 2
		}
	} else {
		source = sf.dir(e)
		db, err := sf.open(e, true)
		if err != nil {
			e.report(err)
			return 2
		}
		heads, err := db.Heads()
		if err != nil {
			db.Close()
			e.errorf("%v", err)
			return 2
		}
		for _, h := range heads {
			total += int64(h.Head.Seq)
		}
		stop = e.startProgress(opts.Checked, total, *progress)
		rep, err = audit.Run(audit.FromStore(db), opts)
		if err == nil && *app != "" {
			var r apps.Result
			if r, err = apps.Replay(db, *app, nil); err == nil {
				appRes = &r
			}
		}
		db.Close()
		if err != nil {
			stop()
			e.errorf("%v", err)
			return 2
		}
	}
	stop()
	elapsed := time.Since(start)
	if *asJSON {
		if err := writeJSONReport(e.stdout, source, rep, elapsed); err != nil {
			e.errorf("%v", err)
			return 2
		}
	} else {
		writeTextReport(e.stdout, source, rep, elapsed)
	}
	if appRes != nil {
		w := e.stdout
		if *asJSON {
			w = e.stderr // keep stdout one JSON document
		}
		fmt.Fprintf(w, "app %s: %d entries, %d refused, state digest %s\n", appRes.App, appRes.Entries, appRes.Refused, appRes.Digest)
	}
	if !rep.Clean() {
		return 1
	}
	return 0
}

func mode(full bool) string {
	if full {
		return "every signature"
	}
	return "newest signature of each run"
}

func writeTextReport(w io.Writer, source string, rep *audit.Report, elapsed time.Duration) {
	fmt.Fprintf(w, "verify %s (%s)\n", source, mode(rep.Full))
	for _, f := range rep.Feeds {
		fmt.Fprintf(w, "feed %s entries %d head %d: %s\n", f.Author, f.Entries, f.Head, f.Status)
	}
	for _, p := range rep.Problems {
		if p.Author == (identity.ID{}) {
			fmt.Fprintf(w, "problem: %s\n", p.What) // of the whole store
			continue
		}
		fmt.Fprintf(w, "problem: %s seq %d: %s", p.Author, p.Seq, p.What)
		if p.Offset >= 0 {
			fmt.Fprintf(w, " (bundle byte %d)", p.Offset)
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Forks {
		fmt.Fprintf(w, "fork: %s seq %d: entries %s and %s are both signed by the author\n", p.Author(), p.Seq(), p.A.ID(), p.B.ID())
		fmt.Fprintf(w, "  proof: %s\n", base64.StdEncoding.EncodeToString(p.Encode()))
	}
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(", %.0f entries/s", float64(rep.Entries)/s)
	}
	switch {
	case rep.Clean():
		fmt.Fprintf(w, "verdict: clean: %d entries in %d feeds verified in %s%s\n", rep.Entries, len(rep.Feeds), elapsed.Round(time.Millisecond), rate)
	default:
		fmt.Fprintf(w, "verdict: NOT CLEAN: %d problem(s), %d fork(s) in %d entries of %d feeds\n", len(rep.Problems), len(rep.Forks), rep.Entries, len(rep.Feeds))
	}
	if rep.Unresolved > 0 {
		fmt.Fprintf(w, "note: %d reference(s) to entries not held here could not be checked\n", rep.Unresolved)
	}
}

type jsonFork struct {
	Author string `json:"author"`
	Seq    uint64 `json:"seq"`
	A      string `json:"a"`
	B      string `json:"b"`
	Proof  string `json:"proof"`
}

type jsonFeed struct {
	audit.FeedReport
	HeadID string `json:"head_id"`
}

func writeJSONReport(w io.Writer, source string, rep *audit.Report, elapsed time.Duration) error {
	out := struct {
		Source   string          `json:"source"`
		Mode     string          `json:"mode"`
		Clean    bool            `json:"clean"`
		Entries  int64           `json:"entries"`
		Seconds  float64         `json:"seconds"`
		Feeds    []jsonFeed      `json:"feeds"`
		Problems []audit.Problem `json:"problems"`
		Forks    []jsonFork      `json:"forks"`
		Unres    int             `json:"unresolved_refs"`
	}{Source: source, Mode: mode(rep.Full), Clean: rep.Clean(), Entries: rep.Entries, Seconds: elapsed.Seconds(),
		Problems: rep.Problems, Unres: rep.Unresolved, Feeds: []jsonFeed{}, Forks: []jsonFork{}}
	if out.Problems == nil {
		out.Problems = []audit.Problem{}
	}
	for _, f := range rep.Feeds {
		out.Feeds = append(out.Feeds, jsonFeed{FeedReport: f, HeadID: f.HeadID.String()})
	}
	for _, p := range rep.Forks {
		out.Forks = append(out.Forks, jsonFork{Author: p.Author().String(), Seq: p.Seq(), A: p.A.ID().String(), B: p.B.ID().String(),
			Proof: base64.StdEncoding.EncodeToString(p.Encode())})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// startProgress prints a progress line on stderr once the audit has run
// for a second, if stderr is a terminal or forced is set (then also a final
// line). It returns a function that stops it and waits.
func (e *env) startProgress(checked *atomic.Int64, total int64, forced bool) func() {
	f, isFile := e.stderr.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	if !tty && !forced {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	line := func(final bool) {
		n := checked.Load()
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(n) / el
		}
		left := "?"
		if rate > 0 && total >= n {
			left = (time.Duration(float64(total-n) / rate * float64(time.Second))).Round(time.Second).String()
		}
		msg := fmt.Sprintf("sbfeed: verify: %d/%d entries, %.0f entries/s, %s left", n, total, rate, left)
		switch {
		case tty && final:
			fmt.Fprintf(e.stderr, "\r%s\n", msg)
		case tty:
			fmt.Fprintf(e.stderr, "\r%s", msg)
		default:
			fmt.Fprintln(e.stderr, msg)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		printed := false
		for {
			select {
			case <-done:
				if printed || forced {
					line(true)
				}
				return
			case <-t.C:
				line(false)
				printed = true
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
