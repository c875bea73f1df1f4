package store_test

import (
	"bytes"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/sign"
	"github.com/sbfeed/sbfeed/store"
)

// BenchmarkAppend measures durable (synced) append throughput of one
// author's feed on disk, including chaining and signing (on every core),
// with 100-byte contents, in batches of 1 and of 1000 entries.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			key := testKey(b, 1)
			drafts := make([]feed.Draft, batch)
			for i := range drafts {
				drafts[i] = feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)}
			}
			var head feed.Head
			n := 0
			cpu0 := cpuTime()
			for b.Loop() {
				entries, err := feed.Chain(key.ID(), head, drafts)
				if err != nil {
					b.Fatal(err)
				}
				mustSign(key, testNet, entries)
				if _, err := db.Append(entries...); err != nil {
					b.Fatal(err)
				}
				head = entries[len(entries)-1].Head()
				n += batch
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
		})
	}
}

// BenchmarkAppendPipelined is BenchmarkAppend with batches of 1000 where
// the next batch is chained and signed (on every core) while the previous
// one is being written and synced, as "sbfeed append -" does: every entry
// is still durable before its Append returns.
func BenchmarkAppendPipelined(b *testing.B) {
	db, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key := testKey(b, 1)
	const batch = 1000
	drafts := make([]feed.Draft, batch)
	for i := range drafts {
		drafts[i] = feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)}
	}
	signed := make(chan []feed.Entry, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(signed)
		var head feed.Head
		for {
			entries, err := feed.Chain(key.ID(), head, drafts)
			if err != nil {
				panic(err)
			}
			mustSign(key, testNet, entries)
			head = entries[batch-1].Head()
			select {
			case signed <- entries:
			case <-stop:
				return
			}
		}
	}()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := db.Append(<-signed...); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
	close(stop)
	for range signed {
	}
	wg.Wait()
}

// BenchmarkSign is the bare rate of signing on one core, for comparison
// with BenchmarkAppend.
func BenchmarkSign(b *testing.B) {
	key := testKey(b, 1)
	e, err := feed.Next(key.ID(), feed.Head{}, feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		if err := e.Sign(key, testNet); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
}

// BenchmarkAppendPresigned measures the store alone: durable appends of
// pre-signed batches of 1000 entries (the verification of each batch's
// chain and newest signature included).
func BenchmarkAppendPresigned(b *testing.B) {
	db, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key := testKey(b, 1)
	drafts := make([]feed.Draft, 1000)
	for i := range drafts {
		drafts[i] = feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)}
	}
	var head feed.Head
	sign := func() []feed.Entry {
		entries, err := feed.Chain(key.ID(), head, drafts)
		if err != nil {
			b.Fatal(err)
		}
		mustSign(key, testNet, entries)
		head = entries[len(entries)-1].Head()
		return entries
	}
	next := sign()
	n := 0
	for b.Loop() {
		if _, err := db.Append(next...); err != nil {
			b.Fatal(err)
		}
		n += len(next)
		b.StopTimer()
		next = sign()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mustSign(key *identity.Key, network identity.Network, entries []feed.Entry) {
	if err := sign.All(key, network, entries); err != nil {
		panic(err)
	}
}
