// Package apps holds sbfeed's built-in applications: counter, kv and chat.
//
// Each is an ordinary Redux-style reducer, func(S, A) (S, error), that knows
// nothing about replication, plus what sbfeed needs around it:
//
//   - a JSON codec for its actions, exactly the JSON users type on the
//     command line ({"type":"INCREMENT"}, {"type":"set","key":"k","value":1},
//     {"type":"say","text":"hi"});
//   - a canonical JSON form of its state and a digest over it (SHA-256), so
//     two peers compare states by comparing 64 hex digits.
//
// Reducers here never mutate the state they are given (the merge view keeps
// old states as snapshots and may rewind to them): counter's state is a
// number, chat copies its message list on append, and kv keeps its entries in
// a persistent (path-copying) tree so a set costs O(log n), not a map copy.
//
// A reducer that returns an error refuses the action: it has no effect and
// every peer refuses it identically. The built-in apps refuse unknown action
// types and malformed actions, and kv refuses deleting a missing key; they
// never panic on any input.
//
// The [Lookup] registry lets the command line pick an app by name
// ("sbfeed peer --app chat"); [Replay] folds a store's entries through an
// app, which is what "sbfeed verify --app" and "sbfeed state" print.
package apps
