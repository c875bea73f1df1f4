// Package lint holds tests that enforce the project's structural rules over
// the source tree: the protocol packages (identity, feed, merge, replicate)
// stay pure — no goroutines, clocks, randomness, network, file system or
// locks — and no package anywhere has an init function. It has no code of
// its own; see lint_test.go.
package lint
