// Package sign signs a chain of entries on every core. An entry's ID does
// not cover its signature, so a run is chained first (feed.Chain) and its
// signatures, the costly part, are made in parallel afterwards: what
// "sbfeed append" does with many actions, and what benchmarks do to build
// large feeds. Package feed stays free of goroutines; this is the wrapper.
package sign
