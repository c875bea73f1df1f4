package main

import (
	"strconv"

	"github.com/sbfeed/sbfeed/internal/control"
)

func cmdLog(e *env, args []string) int {
	fs := e.newFlags("log", "[--data DIR] [--network KEY] [--heads] [--limit N]", `
Print every entry of the data directory in merge order (Lamport clock, then
ID), one a line: author (short), seq, clock, ID (short), content preview.

With --heads, print instead each feed's head as AUTHOR:SEQ, the form that
"sbfeed export --since" reads.`)
	sf := e.addStoreFlags(fs)
	heads := fs.Bool("heads", false, "print each feed's head as AUTHOR:SEQ")
	limit := fs.Int("limit", 0, "print at most N entries (0: all)")
	pos, st, done := parseInterspersed(fs, args)
	if done {
		return st
	}
	if len(pos) != 0 {
		e.errorf("log takes no arguments, got %q", pos)
		return 2
	}
	if _, err := sf.parseNetwork(); err != nil {
		e.errorf("%v", err)
		return 2
	}
	// While "sbfeed peer" runs on the directory, read through it.
	req := control.Request{Op: "log"}
	if *heads {
		req.Args = append(req.Args, "heads")
	}
	if *limit > 0 {
		req.Args = append(req.Args, "limit", strconv.Itoa(*limit))
	}
	if st, ok := e.viaPeer(sf.dir(e), req); ok {
		return st
	}
	db, err := sf.open(e, true)
	if err != nil {
		e.report(err)
		return 1
	}
	defer db.Close()
	if err := writeLog(e.stdout, db, *heads, *limit); err != nil {
		e.errorf("%v", err)
		return 1
	}
	return 0
}
