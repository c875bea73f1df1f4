package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/store"
)

func cmdImport(e *env, args []string) int {
	fs := e.newFlags("import", "[--data DIR] [--network KEY] FILE", `
Verify the entries of a bundle file and store those that verify against
the data directory's feeds. Importing is idempotent: entries already stored
count as known. FILE "-" reads stdin.

A truncated or damaged bundle is reported with the byte offset and the
entry where it went bad; every entry before the damage that verifies is
kept. Nothing unverified is ever stored. It prints the counts of new, known
and refused entries; the exit status is 1 if anything was refused or the
bundle was damaged.`)
	sf := e.addStoreFlags(fs)
	pos, st, done := parseInterspersed(fs, args)
	if done {
		return st
	}
	if len(pos) != 1 {
		e.errorf("import takes one argument, the bundle file, got %d", len(pos))
		return 2
	}
	net, err := sf.parseNetwork()
	if err != nil {
		e.errorf("%v", err)
		return 2
	}
	var in io.Reader = e.stdin
	if p := pos[0]; p != "-" {
		f, err := os.Open(p)
		if err != nil {
			e.errorf("%v", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	r, err := bundle.NewReader(in, &net)
	if err != nil {
		e.errorf("%s: %v", pos[0], err)
		if errors.Is(err, bundle.ErrNetwork) {
			e.hint("pass the bundle's network with --network")
		}
		return 1
	}
	db, err := sf.open(e, false)
	if err != nil {
		e.report(err)
		return 1
	}
	defer db.Close()
	im := importer{e: e, db: db}
	// Read and decode the next batch while the previous one is verified
	// and stored.
	type chunk struct {
		entries []feed.Entry
		proofs  []feed.ForkProof
		damage  error
	}
	chunks := make(chan chunk, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chunks)
		var c chunk
		send := func() bool {
			select {
			case chunks <- c:
				c = chunk{}
				return true
			case <-stop:
				return false
			}
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				send()
				return
			}
			if err != nil {
				c.damage = err
				send()
				return
			}
			switch rec.Kind {
			case bundle.KindEntry:
				c.entries = append(c.entries, rec.Entry)
			case bundle.KindFork:
				c.proofs = append(c.proofs, rec.Proof)
			}
			if len(c.entries) == importBatch && !send() {
				return
			}
		}
	}()
	defer wg.Wait()
	defer close(stop)
	var damage error
	for c := range chunks {
		if err := im.add(c.entries); err != nil {
			e.errorf("%v", err)
			return 1
		}
		for _, p := range c.proofs {
			if err := db.AddForkProof(p); err != nil {
				im.refused++
				im.warn("fork proof for %s seq %d refused: %v", p.Author().Short(), p.Seq(), err)
			} else {
				im.forks++
			}
		}
		if c.damage != nil {
			damage = c.damage
		}
	}
	fmt.Fprintf(e.stdout, "new %d known %d refused %d forks %d\n", im.new, im.known, im.refused, im.forks)
	if damage != nil {
		e.errorf("%s: %v", pos[0], damage)
		e.hint("the %d entries before the damage were verified and kept; get an intact copy for the rest", im.new+im.known+im.refused)
		return 1
	}
	if im.refused > 0 {
		return 1
	}
	return 0
}

type importer struct {
	e                          *env
	db                         *store.DB
	new, known, refused, forks int
	warned                     int
}

func (im *importer) warn(format string, args ...any) {
	if im.warned++; im.warned <= 10 {
		im.e.warnf(format, args...)
	}
}

// add stores entries. A batch that fails verification is split in halves
// until each refused entry stands alone, so every entry that verifies is
// kept and each refusal is named. Only store failures (I/O) are returned.
func (im *importer) add(entries []feed.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	res, err := im.db.Append(entries...)
	var fe *feed.ForkError
	switch {
	case err == nil || errors.As(err, &fe):
		im.new += res.New
		im.known += res.Known
		im.refused += res.Skipped
		for _, p := range res.Forks {
			im.forks++
			im.warn("fork: %s seq %d: entries %s and %s; proof stored", p.Author().Short(), p.Seq(), p.A.ID().Short(), p.B.ID().Short())
		}
		return nil
	case !isRefusal(err):
		return err
	case len(entries) == 1:
		im.refused++
		im.warn("refused %s: %v", entries[0].String(), err)
		return nil
	}
	h := len(entries) / 2
	if err := im.add(entries[:h]); err != nil {
		return err
	}
	return im.add(entries[h:])
}

// isRefusal tells a refused entry (its fault) from a store failure.
func isRefusal(err error) bool {
	var fe *feed.Error
	return errors.As(err, &fe)
}

// importBatch is the number of entries stored per synced batch: large
// enough that the sync is a small part of the cost, small enough that a
// batch refused as a whole is quickly split.
const importBatch = 8192
