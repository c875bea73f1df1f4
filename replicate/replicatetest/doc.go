// Package replicatetest holds test helpers for package replicate: an
// in-memory [replicate.Storage] that checks what it is given, used by the
// replicate tests, the simulator in internal/sim and drivers' tests.
package replicatetest
