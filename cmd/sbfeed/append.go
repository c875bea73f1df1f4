package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/control"
	"github.com/sbfeed/sbfeed/internal/sign"
	"github.com/sbfeed/sbfeed/store"
)

// storeFlags are the flags of every command that opens a data directory.
type storeFlags struct {
	data    *string
	network *string
}

func (e *env) addStoreFlags(fs interface {
	String(name, value, usage string) *string
}) storeFlags {
	return storeFlags{
		data:    fs.String("data", "", "data directory (default $SBFEED_HOME/data)"),
		network: fs.String("network", "", "network key, sbfnet1… or 64 hex digits (default: the public default network)"),
	}
}

func (sf storeFlags) dir(e *env) string {
	if *sf.data != "" {
		return *sf.data
	}
	return e.defaultDataDir()
}

// parseNetwork returns the --network value, or the default network.
func (sf storeFlags) parseNetwork() (identity.Network, error) {
	if *sf.network == "" {
		return identity.DefaultNetwork, nil
	}
	n, err := identity.ParseNetwork(*sf.network)
	if err != nil {
		return n, fmt.Errorf("--network: %w", err)
	}
	return n, nil
}

// open opens the data directory. With mustExist, a missing directory is an
// error instead of a new, empty store.
func (sf storeFlags) open(e *env, mustExist bool) (*store.DB, error) {
	net, err := sf.parseNetwork()
	if err != nil {
		return nil, err
	}
	dir := sf.dir(e)
	if mustExist {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("no data directory at %s (nothing appended or imported yet?)", dir)
		}
	}
	db, err := store.Open(dir, &store.Options{Network: net})
	var le *store.LockedError
	if errors.As(err, &le) {
		e.errorf("%v", err)
		e.hint("stop that process (a running \"sbfeed peer\"?) or use another --data directory")
		return nil, errReported
	}
	return db, err
}

// errReported is returned by helpers that already printed the error.
var errReported = errors.New("reported")

func (e *env) report(err error) {
	if err != errReported {
		e.errorf("%v", err)
	}
}

func cmdAppend(e *env, args []string) int {
	fs := e.newFlags("append", "[--data DIR] [--key FILE] [--network KEY] CONTENT|-", `
Sign CONTENT into your own feed in the data directory and store it durably.
With "-", read stdin and append one entry per line (empty lines are
skipped); the entries are chained, signed on every core, and stored in
batches of 1000.

Each new entry references the newest entries of other feeds that are ahead
of yours, so its Lamport clock follows what you have seen. For each entry
it prints "seq N clock C id ID".`)
	sf := e.addStoreFlags(fs)
	keyFile := fs.String("key", "", "key file (default $SBFEED_HOME/identity)")
	pos, st, done := parseInterspersed(fs, args)
	if done {
		return st
	}
	if len(pos) != 1 {
		e.errorf("append takes one argument, CONTENT or -, got %d", len(pos))
		return 2
	}
	if _, err := sf.parseNetwork(); err != nil {
		e.errorf("%v", err)
		return 2
	}
	var contents [][]byte
	if arg := pos[0]; arg == "-" {
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 64<<10), feed.MaxContentSize+1)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			contents = append(contents, append([]byte(nil), sc.Bytes()...))
		}
		if err := sc.Err(); err != nil {
			e.errorf("reading stdin: %v", err)
			return 1
		}
	} else {
		contents = [][]byte{[]byte(arg)}
	}
	for i, c := range contents {
		if len(c) > feed.MaxContentSize {
			e.errorf("entry %d: %d bytes of content, the limit is %d", i+1, len(c), feed.MaxContentSize)
			return 1
		}
	}
	key, err := e.loadKey(*keyFile)
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	// While "sbfeed peer" runs on the directory, append through it.
	if len(contents) > 0 {
		req := control.Request{Op: "append", Args: []string{key.ID().String()}}
		for _, c := range contents {
			req.Args = append(req.Args, string(c))
		}
		if st, ok := e.viaPeer(sf.dir(e), req); ok {
			return st
		}
	}
	db, err := sf.open(e, false)
	if err != nil {
		e.report(err)
		return 1
	}
	defer db.Close()
	if len(contents) == 0 {
		return 0
	}
	head, _, err := db.Head(key.ID())
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	refs, err := newRefs(db, key.ID(), head)
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	// Chain and sign batch n+1 (on every core) while batch n is being
	// written and synced; each batch is durable before it is printed.
	type signed struct {
		entries []feed.Entry
		err     error
	}
	const batch = 1000
	ready := make(chan signed, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ready)
		network := db.Network()
		for len(contents) > 0 {
			n := min(batch, len(contents))
			drafts := make([]feed.Draft, n)
			for i := range drafts {
				drafts[i] = feed.Draft{Content: contents[i]}
			}
			drafts[0].Refs, refs = refs, nil
			entries, err := feed.Chain(key.ID(), head, drafts)
			if err == nil {
				err = sign.All(key, network, entries)
			}
			select {
			case ready <- signed{entries, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
			head = entries[n-1].Head()
			contents = contents[n:]
		}
	}()
	defer wg.Wait()
	defer close(stop)
	for s := range ready {
		if s.err != nil {
			e.errorf("%v", s.err)
			return 1
		}
		if _, err := db.Append(s.entries...); err != nil {
			e.errorf("%v", err)
			return 1
		}
		for i := range s.entries {
			fmt.Fprintf(e.stdout, "seq %d clock %d id %s\n", s.entries[i].Seq, s.entries[i].Clock, s.entries[i].ID().Short())
		}
	}
	return 0
}

// newRefs returns references to the heads of other feeds whose clocks are
// ahead of own, newest first, at most feed.MaxRefs.
func newRefs(db *store.DB, self identity.ID, own feed.Head) ([]feed.Ref, error) {
	heads, err := db.Heads()
	if err != nil {
		return nil, err
	}
	var refs []feed.Ref
	for _, h := range heads {
		if h.Author != self && h.Head.Seq > 0 && h.Head.Clock >= own.Clock {
			refs = append(refs, feed.Ref{ID: h.Head.ID, Clock: h.Head.Clock})
		}
	}
	slices.SortFunc(refs, func(a, b feed.Ref) int { return cmp.Compare(b.Clock, a.Clock) })
	return refs[:min(len(refs), feed.MaxRefs)], nil
}

// preview returns the first n characters of content, printable.
func preview(content []byte, n int) string {
	s := strings.ToValidUTF8(string(content), "\uFFFD")
	r := []rune(s)
	cut := len(r) > n
	if cut {
		r = r[:n]
	}
	var b strings.Builder
	for _, c := range r {
		if c < 0x20 || c == 0x7f {
			b.WriteRune('·')
		} else {
			b.WriteRune(c)
		}
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("sbfeed verify FILE --json"), which the flag
// package alone does not allow. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) (pos []string, status int, done bool) {
	for {
		if st, done := parseFlags(fs, args); done {
			return nil, st, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
