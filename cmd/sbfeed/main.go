package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = `sbfeed — replicated application state that nobody can forge.

Usage:
    sbfeed <command> [flags] [arguments]

Commands:
    keygen   create a new identity (key file) and print its public ID
    append   sign content into your own feed in a data directory
    log      print every entry of a data directory in merge order
    verify   audit a data directory or a bundle: signatures, chains, clocks, forks
    export   write a bundle file of entries for offline sync
    import   verify and store the entries of a bundle file
    peer     run a peer: listen, dial, replicate over QUIC, stay live
    state    print the state an app's reducer computes from the feeds
    demo     run several peers on loopback and watch them converge
    help     show this help, or "sbfeed help <command>"

Environment:
    SBFEED_HOME   where the identity and data live (default ~/.sbfeed):
                  the key file is $SBFEED_HOME/identity and the data
                  directory $SBFEED_HOME/data.

Examples:
    sbfeed keygen
    sbfeed append 'hello, world'
    sbfeed verify --full
    sbfeed demo

Exit status: 0 on success, 1 when the command ran and found a problem (or
failed), 2 on bad usage.
`

// command is one subcommand: run receives the arguments after its name and
// returns the exit status.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) int
}

func commands() []command {
	return []command{
		{"keygen", "create a new identity", cmdKeygen},
		{"append", "sign content into your own feed", cmdAppend},
		{"log", "print entries in merge order", cmdLog},
		{"verify", "audit a data directory or a bundle", cmdVerify},
		{"export", "write a bundle file", cmdExport},
		{"import", "store the entries of a bundle file", cmdImport},
		{"peer", "run a peer", cmdPeer},
		{"state", "print an app's reduced state", cmdState},
		{"demo", "run a local demo of peers converging", cmdDemo},
	}
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process with their own streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		if len(rest) == 1 {
			return run(e, []string{rest[0], "-h"})
		}
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(e, rest)
		}
	}
	e.errorf("unknown command %q", name)
	e.hint("run \"sbfeed help\" for the list of commands")
	return 2
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "sbfeed: error: "+format+"\n", args...)
}

func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "sbfeed: warning: "+format+"\n", args...)
}

func (e *env) hint(format string, args ...any) {
	fmt.Fprintf(e.stderr, "sbfeed: hint: "+format+"\n", args...)
}

// home returns $SBFEED_HOME, defaulting to ~/.sbfeed.
func (e *env) home() string {
	if h := e.getenv("SBFEED_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".sbfeed")
	}
	return ".sbfeed"
}

func (e *env) defaultKeyFile() string { return filepath.Join(e.home(), "identity") }
func (e *env) defaultDataDir() string { return filepath.Join(e.home(), "data") }

// newFlags returns a flag set whose -h prints the command's usage text on
// stdout and whose errors exit with status 2.
func (e *env) newFlags(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: sbfeed %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		if hasFlags(fs) {
			fmt.Fprintln(e.stdout, "\nFlags:")
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			fs.SetOutput(e.stderr)
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args; it returns (exit status, done). -h exits 0.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0, true
	}
	if err != nil {
		return 2, true
	}
	return 0, false
}
