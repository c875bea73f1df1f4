// Package sim is a deterministic network simulator for package replicate: it
// drives the very same [replicate.Session] code as the QUIC transport, with
// seeded randomness for latency, loss, duplication and reordering, links that
// go down and come back (partitions that heal, peers offline for a while),
// and any topology (client–server, mesh, chain of relays).
//
// Time is counted in ticks; one [Sim.Step] is one tick: due messages are
// delivered, every session ticks, and every peer handles its sessions' Ready
// (persist to an in-memory store, send, advance) one at a time, as a
// single-goroutine node does. Every message is encoded and decoded, so the
// byte counts are real wire bytes. The same seed gives the same run, bit for
// bit: [Sim.TraceHash] hashes every delivery.
//
// Loss, duplication and reordering apply to messages after the Hello; the
// Hello itself travels reliably, as it does at the start of a QUIC stream.
package sim
