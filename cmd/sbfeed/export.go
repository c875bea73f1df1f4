package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/identity"
)

func cmdExport(e *env, args []string) int {
	fs := e.newFlags("export", "[--data DIR] [--network KEY] [--since HEADS] FILE", `
Write a bundle file (docs/spec/bundle-v1.md) of the data directory's
entries and fork proofs, for offline sync: carry it to another peer and run
"sbfeed import FILE" there. FILE "-" writes to stdout.

With --since, write only what a peer with the given heads lacks. HEADS is a
file, or a string, listing AUTHOR:SEQ pairs separated by newlines, commas
or spaces ("#" starts a comment line); "sbfeed log --heads" on the other
peer prints them.`)
	sf := e.addStoreFlags(fs)
	since := fs.String("since", "", "export only entries after these heads (file or AUTHOR:SEQ list)")
	pos, st, done := parseInterspersed(fs, args)
	if done {
		return st
	}
	if len(pos) != 1 {
		e.errorf("export takes one argument, the bundle file to write, got %d", len(pos))
		return 2
	}
	if _, err := sf.parseNetwork(); err != nil {
		e.errorf("%v", err)
		return 2
	}
	var peer map[identity.ID]uint64
	if *since != "" {
		var err error
		peer, err = readHeads(*since)
		if err != nil {
			e.errorf("--since: %v", err)
			return 2
		}
	}
	db, err := sf.open(e, true)
	if err != nil {
		e.report(err)
		return 1
	}
	defer db.Close()
	path := pos[0]
	var out io.Writer = e.stdout
	var tmp *os.File
	if path != "-" {
		// Write beside the target and rename, so a failed export never
		// leaves a half-written bundle under the final name.
		tmp, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
		if err != nil {
			e.errorf("%v", err)
			return 1
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		out = tmp
	}
	w, err := bundle.NewWriter(out, db.Network())
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	heads, err := db.Heads()
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	feeds := 0
	for _, h := range heads {
		from := peer[h.Author] + 1
		if from > h.Head.Seq {
			continue
		}
		feeds++
		for raw, err := range db.RangeRaw(h.Author, from, h.Head.Seq) {
			if err == nil {
				err = w.WriteRaw(raw)
			}
			if err != nil {
				e.errorf("%v", err)
				return 1
			}
		}
	}
	forks, err := db.Forks()
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	for i := range forks {
		if err := w.WriteForkProof(&forks[i]); err != nil {
			e.errorf("%v", err)
			return 1
		}
	}
	if err := w.Close(); err != nil {
		e.errorf("%v", err)
		return 1
	}
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			e.errorf("%v", err)
			return 1
		}
		if err := tmp.Close(); err != nil {
			e.errorf("%v", err)
			return 1
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			e.errorf("%v", err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "sbfeed: exported %d entries of %d feeds and %d fork proofs to %s\n", w.Entries(), feeds, len(forks), path)
	return 0
}

// readHeads reads AUTHOR:SEQ pairs from the file named s, or from s itself
// when no such file exists.
func readHeads(s string) (map[identity.ID]uint64, error) {
	text := s
	source := "argument"
	if b, err := os.ReadFile(s); err == nil {
		text, source = string(b), s
	} else if !strings.Contains(s, ":") {
		return nil, err
	}
	heads := map[identity.ID]uint64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, f := range strings.FieldsFunc(l, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			a, seq, ok := strings.Cut(f, ":")
			if !ok {
				return nil, fmt.Errorf("%s line %d: %q is not AUTHOR:SEQ", source, line, f)
			}
			id, err := identity.ParseID(a)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %v", source, line, err)
			}
			n, err := strconv.ParseUint(seq, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: seq %q: not a number", source, line, seq)
			}
			heads[id] = max(heads[id], n)
		}
	}
	return heads, nil
}
