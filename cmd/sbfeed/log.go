package main

import (
	"bufio"
	"fmt"
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
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *heads {
		hs, err := db.Heads()
		if err != nil {
			e.errorf("%v", err)
			return 1
		}
		for _, h := range hs {
			if h.Head.Seq > 0 {
				fmt.Fprintf(w, "%s:%d\n", h.Author, h.Head.Seq)
			}
		}
		return 0
	}
	n := 0
	for entry, err := range db.MergeOrder(0) {
		if err != nil {
			w.Flush()
			e.errorf("%v", err)
			return 1
		}
		fmt.Fprintf(w, "%s %6d %8d %s %s\n", entry.Author.Short(), entry.Seq, entry.Clock, entry.ID().Short(), preview(entry.Content, 60))
		if n++; *limit > 0 && n >= *limit {
			break
		}
	}
	return 0
}
