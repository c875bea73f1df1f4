// Package redux ports reducers of the Redux examples (reduxjs/redux
// examples/counter-vanilla, examples/counter and examples/todos; behaviour as
// specified in ../shared/data/redux-examples.md) to Go, unchanged in spirit:
// each is a pure func(state, action) (state, error) that never mutates its
// input, so it drops into [merge.View] as it is. Actions are the Redux JSON
// objects; [Decode] reads them from entry content.
//
// The package exists to show, and to test against the upstream cases, that
// an existing Redux reducer needs no change to become replicated state.
package redux
