package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/internal/control"
	"github.com/sbfeed/sbfeed/store"
)

func cmdState(e *env, args []string) int {
	fs := e.newFlags("state", "--app NAME [--data DIR] [--network KEY] [--group-key FILE] [--digest]", fmt.Sprintf(`
Print the state that the built-in app NAME (%s) computes from every feed
in the data directory, as JSON on stdout: the reducer folded over the merged
order, exactly as a running peer computes it. A summary (entries, refused
actions, digest) goes to stderr. With --digest, print only the state's
SHA-256 digest, which two peers compare.

If a peer is running on the directory, the state comes from it.`, strings.Join(apps.Names(), ", ")))
	nf := e.addNodeFlags(fs)
	app := fs.String("app", "", "the built-in app: "+strings.Join(apps.Names(), ", "))
	digest := fs.Bool("digest", false, "print only the state's digest")
	if st, done := parseFlags(fs, args); done {
		return st
	}
	if fs.NArg() != 0 {
		e.errorf("state takes no arguments, got %q", fs.Args())
		return 2
	}
	if !contains(apps.Names(), *app) {
		if *app == "" {
			e.errorf("state needs --app")
		} else {
			e.errorf("unknown app %q", *app)
		}
		e.hint("the built-in apps are %s", strings.Join(apps.Names(), ", "))
		return 2
	}
	net, err := nf.parseNetwork()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	gk, err := nf.group()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	dir := nf.dir(e)
	if _, err := os.Stat(dir); err != nil {
		e.errorf("no data directory at %s", dir)
		return 1
	}
	db, err := store.Open(dir, &store.Options{Network: net})
	if errors.Is(err, store.ErrLocked) {
		op := "state"
		if *digest {
			op = "digest"
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cerr := control.Call(ctx, dir, control.Request{Op: op, Args: []string{*app}}, e.stdout)
		if cerr == nil {
			return 0
		}
		if !errors.Is(cerr, control.ErrNoPeer) {
			e.errorf("%v", cerr)
			return 1
		}
	}
	if err != nil {
		return e.openFailed(dir, err)
	}
	defer db.Close()
	res, err := apps.Replay(db, *app, gk)
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	if *digest {
		fmt.Fprintln(e.stdout, res.Digest)
	} else {
		fmt.Fprintf(e.stdout, "%s\n", res.State)
	}
	fmt.Fprintf(e.stderr, "sbfeed: %s: %d entries, %d refused, digest %s\n", res.App, res.Entries, res.Refused, res.Digest)
	return 0
}
