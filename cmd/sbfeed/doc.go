// Command sbfeed is the command-line tool of sbfeed: it makes identities,
// writes and audits feeds, syncs them through files, and runs peers.
//
// Run "sbfeed help" for the list of commands and "sbfeed <command> -h" for
// each command's flags.
package main
