// Package logtest keeps what a component logs through log/slog, so that a
// test can wait for a line (a refused connection, a disconnect, a sync
// progress report) with a deadline instead of sleeping. It is for the
// tests of package transport and package peer, which log what they refuse
// rather than returning it to a caller.
package logtest
