package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/internal/control"
	"github.com/sbfeed/sbfeed/store"
)

// nodeFlags are the flags of the commands that run or read a node: peer,
// state. They are the store flags plus the group key.
type nodeFlags struct {
	storeFlags
	groupKey *string
}

func (e *env) addNodeFlags(fs interface {
	String(name, value, usage string) *string
}) nodeFlags {
	return nodeFlags{
		storeFlags: e.addStoreFlags(fs),
		groupKey:   fs.String("group-key", "", "file holding the group key (sbfgroup1…) that seals and opens actions"),
	}
}

func (nf nodeFlags) group() (*sbfeed.GroupKey, error) {
	if *nf.groupKey == "" {
		return nil, nil
	}
	b, err := os.ReadFile(*nf.groupKey)
	if err != nil {
		return nil, fmt.Errorf("--group-key: %w", err)
	}
	k, err := sbfeed.ParseGroupKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("--group-key %s: %w", *nf.groupKey, err)
	}
	return &k, nil
}

func cmdPeer(e *env, args []string) int {
	fs := e.newFlags("peer", "[--data DIR] [--key FILE] [--listen ADDR] [--network KEY] [--app NAME] [ADDR...]", fmt.Sprintf(`
Run a peer: listen for other peers (QUIC over UDP, port %d by default), dial
each ADDR ("host:port", or "sbf1…@host:port" to accept only that identity),
and replicate every feed in both directions: verify, store durably, relay to
everyone connected, and stay live until SIGINT or SIGTERM, redialling peers
that go away. It logs peers connected and dropped, sync progress, refused
actions and forks.

With --app NAME (%s) it also folds the feeds through that built-in app's
reducer and logs each state change. Apps take JSON actions:
    counter  {"type":"INCREMENT"}  {"type":"DECREMENT"}
    kv       {"type":"set","key":"k","value":<any JSON>}  {"type":"del","key":"k"}
    chat     {"type":"say","text":"hello"}

While the peer runs, "sbfeed append", "sbfeed state" and "sbfeed log" on the
same data directory go through it (a control socket in the directory).

Example:
    sbfeed peer --app chat 192.0.2.7:%d`, sbfeed.DefaultPort, strings.Join(apps.Names(), ", "), sbfeed.DefaultPort))
	nf := e.addNodeFlags(fs)
	keyFile := fs.String("key", "", "key file (default $SBFEED_HOME/identity)")
	listen := fs.String("listen", ":"+strconv.Itoa(sbfeed.DefaultPort), "UDP address to listen on (\"\" to only dial)")
	app := fs.String("app", "", "run a built-in app: "+strings.Join(apps.Names(), ", "))
	verbose := fs.Bool("v", false, "log debug messages too")
	if st, done := parseFlags(fs, args); done {
		return st
	}
	addrs := fs.Args()
	net, err := nf.parseNetwork()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	if *app != "" && !contains(apps.Names(), *app) {
		e.errorf("unknown app %q", *app)
		e.hint("the built-in apps are %s", strings.Join(apps.Names(), ", "))
		return 2
	}
	for _, a := range addrs {
		if _, _, err := sbfeed.ParseAddr(a); err != nil {
			e.errorf("%v", err)
			return 2
		}
	}
	gk, err := nf.group()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	key, err := e.loadKey(*keyFile)
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	dir := nf.dir(e)
	opts := sbfeed.Options{Key: key, Network: net, GroupKey: gk, Logger: log}

	var peer apps.Peer
	var inst *apps.Instance
	if *app == "" {
		n, err := sbfeed.Open[struct{}, struct{}](dir, nil, opts)
		if err != nil {
			return e.openFailed(dir, err)
		}
		peer = n
	} else {
		inst, err = apps.Open(*app, dir, opts)
		if err != nil {
			return e.openFailed(dir, err)
		}
		peer = inst
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("peer starting", "id", key.ID().String(), "data", dir, "network", net.Short(), "app", *app)

	ctl, err := control.Listen(dir, controlHandler(peer, inst, gk))
	if err != nil {
		log.Warn("no control socket: append/state/log on this directory will meet the lock", "err", err)
	}
	if *listen != "" {
		if _, err := peer.Listen(*listen); err != nil {
			e.errorf("listen %s: %v", *listen, err)
			if ctl != nil {
				ctl.Close()
			}
			peer.Close()
			return 1
		}
	}
	for _, a := range addrs {
		go func() {
			if err := peer.Connect(ctx, a); err == nil {
				log.Info("dialled", "addr", a)
			}
		}()
	}
	if inst != nil {
		if ch, err := inst.Watch(ctx); err == nil {
			go logChanges(log, ch)
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	if ctl != nil {
		ctl.Close()
	}
	if err := peer.Close(); err != nil {
		e.errorf("close: %v", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// openFailed reports an error opening a node's data directory.
func (e *env) openFailed(dir string, err error) int {
	e.errorf("%v", err)
	switch {
	case errors.Is(err, store.ErrLocked):
		e.hint("another process uses %s (a running \"sbfeed peer\"?); stop it or pass another --data", dir)
	case errors.Is(err, store.ErrNetwork):
		e.hint("pass the --network this data directory was created with")
	}
	return 1
}

// logChanges logs state changes (throttled: at most about ten lines a
// second) and every refusal.
func logChanges(log *slog.Logger, ch <-chan apps.Change) {
	var last time.Time
	var pending *apps.Change
	flush := func() {
		if pending != nil {
			log.Info("state", "entries", pending.Entries, "digest", apps.DigestJSON(pending.State)[:16],
				"state", clip(string(pending.State), 120))
			pending = nil
			last = time.Now()
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				flush()
				return
			}
			if c.Refusal != nil {
				continue // the node logs refusals itself
			}
			pending = &c
			if time.Since(last) >= 100*time.Millisecond {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// controlHandler serves "sbfeed append", "state" and "log" for a running
// peer, printing what those commands print when they open the directory
// themselves.
func controlHandler(peer apps.Peer, inst *apps.Instance, gk *sbfeed.GroupKey) control.Handler {
	return func(ctx context.Context, req control.Request, w io.Writer) error {
		switch req.Op {
		case "append":
			// Args: the author the caller's key names, then the contents.
			if len(req.Args) == 0 {
				return errors.New("append: no author")
			}
			if want := req.Args[0]; want != peer.ID().String() {
				return fmt.Errorf("the running peer signs as %s, not as the --key given (%s)", peer.ID().Short(), clip(want, 12))
			}
			for _, c := range req.Args[1:] {
				en, err := peer.Append(ctx, []byte(c))
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "seq %d clock %d id %s\n", en.Seq, en.Clock, en.ID().Short())
			}
			return nil
		case "state":
			if len(req.Args) != 1 {
				return errors.New("state: want one app name")
			}
			if inst != nil && inst.Name == req.Args[0] {
				b, err := inst.StateJSON()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			}
			res, err := apps.Replay(peer.Store(), req.Args[0], gk)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", res.State)
			return err
		case "digest":
			if len(req.Args) != 1 {
				return errors.New("digest: want one app name")
			}
			res, err := apps.Replay(peer.Store(), req.Args[0], gk)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", res.Digest)
			return err
		case "log":
			heads, limit := false, 0
			for i := 0; i < len(req.Args); i++ {
				switch req.Args[i] {
				case "heads":
					heads = true
				case "limit":
					if i+1 < len(req.Args) {
						limit, _ = strconv.Atoi(req.Args[i+1])
						i++
					}
				}
			}
			return writeLog(w, peer.Store(), heads, limit)
		}
		return fmt.Errorf("unknown control request %q", req.Op)
	}
}

// writeLog prints a store's entries in merge order, or its heads: what
// "sbfeed log" prints, directly or through a running peer.
func writeLog(out io.Writer, db *store.DB, heads bool, limit int) error {
	w := bufio.NewWriter(out)
	defer w.Flush()
	if heads {
		hs, err := db.Heads()
		if err != nil {
			return err
		}
		for _, h := range hs {
			if h.Head.Seq > 0 {
				fmt.Fprintf(w, "%s:%d\n", h.Author, h.Head.Seq)
			}
		}
		return nil
	}
	n := 0
	for entry, err := range db.MergeOrder(0) {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s %6d %8d %s %s\n", entry.Author.Short(), entry.Seq, entry.Clock, entry.ID().Short(), preview(entry.Content, 60))
		if n++; limit > 0 && n >= limit {
			break
		}
	}
	return nil
}

// viaPeer sends req to a peer running on dir, if there is one, and prints
// its output: "sbfeed append" and "sbfeed log" use it so that they work
// while "sbfeed peer" holds the directory's lock. handled is false when no
// peer answers; the caller then opens the store itself.
func (e *env) viaPeer(dir string, req control.Request) (status int, handled bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := control.Call(ctx, dir, req, e.stdout)
	var re *control.RemoteError
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, control.ErrNoPeer):
		return 0, false
	case errors.As(err, &re):
		e.errorf("%s (via the peer running on %s)", re.Msg, dir)
		return max(re.Status, 1), true
	}
	e.errorf("%v", err)
	return 1, true
}
