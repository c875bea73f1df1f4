package peer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/internal/sign"
	"github.com/sbfeed/sbfeed/store"
)

// Benchmarks of replication over real QUIC on loopback into Pebble. Results
// and commands: docs/bench/transport.md.

const benchContent = 100 // bytes of content per entry

// sourceStore returns a store holding n entries of one feed (author seed 1,
// 100-byte contents), built once and kept under the system temp directory
// (signing a million entries takes a while), and the path of its directory.
func sourceStore(tb testing.TB, n int) (*store.DB, string) {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("sbfeed-bench-source-%d-v1", n))
	key := testKey(tb, 1)
	if db, err := store.Open(dir, &store.Options{Network: testNet}); err == nil {
		if h, ok, _ := db.Head(key.ID()); ok && h.Seq == uint64(n) {
			return db, dir
		}
		db.Close()
	}
	os.RemoveAll(dir)
	db, err := store.Open(dir, &store.Options{Network: testNet, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	var head feed.Head
	const batch = 20000
	content := bytes.Repeat([]byte("x"), benchContent)
	for done := 0; done < n; {
		k := min(batch, n-done)
		drafts := make([]feed.Draft, k)
		for i := range drafts {
			c := slices.Clone(content)
			copy(c, strconv.Itoa(done+i))
			drafts[i] = feed.Draft{Content: c}
		}
		run, err := feed.Chain(key.ID(), head, drafts)
		if err != nil {
			tb.Fatal(err)
		}
		// Every entry is signed so each stands alone when relayed.
		if err := sign.All(key, testNet, run); err != nil {
			tb.Fatal(err)
		}
		if _, err := db.Append(run...); err != nil {
			tb.Fatal(err)
		}
		head = run[len(run)-1].Head()
		done += k
	}
	db.Close()
	db, err = store.Open(dir, &store.Options{Network: testNet})
	if err != nil {
		tb.Fatal(err)
	}
	return db, dir
}

// benchPeer starts a peer on db without the test helpers' log capture.
func benchPeer(tb testing.TB, seed byte, db *store.DB, listen string, dial []string, onStored func([]feed.Entry)) *Peer {
	tb.Helper()
	p, err := New(Config{Key: testKey(tb, seed), Store: db, Listen: listen, Dial: dial, OnStored: onStored})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkBulkSync: a fresh peer downloads 100,000 entries of 100-byte
// content from another over QUIC on loopback, verifying them and storing
// them (synced) in Pebble. One op is one whole download, connection
// included.
func BenchmarkBulkSync(b *testing.B) {
	const n = 100_000
	src, _ := sourceStore(b, n)
	defer src.Close()
	sp := benchPeer(b, 1, src, "127.0.0.1:0", nil, nil)
	defer sp.Close()
	addr := testKey(b, 1).ID().String() + "@" + sp.Addr()
	author := testKey(b, 1).ID()
	var bytesPer int64
	for raw, err := range src.RangeRaw(author, 1, 0) {
		if err != nil {
			b.Fatal(err)
		}
		bytesPer += int64(len(raw))
	}
	var total, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		var got int
		onStored := func(es []feed.Entry) {
			got += len(es)
			if got >= n {
				close(done)
			}
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		dp := benchPeer(b, 2, dst, "", []string{addr}, onStored)
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("synced %d of %d entries", got, n)
		}
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		dp.Close()
		if h, _, _ := dst.Head(author); h.Seq != n {
			b.Fatalf("head %d, want %d", h.Seq, n)
		}
		dst.Close()
		b.StartTimer()
	}
	secs := total.Seconds()
	b.ReportMetric(float64(n*b.N)/secs, "entries/s")
	b.ReportMetric(float64(bytesPer*int64(b.N))/secs/1e6, "MB/s")
	// CPU time of both peers per entry: what the figures would be on
	// otherwise idle cores, when the machine is shared.
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/entry")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLiveLatency: two connected peers; one op publishes one entry on
// the first and waits until the second has stored it. Reports the median
// and 99th percentile of Publish → stored on the other peer.
func BenchmarkLiveLatency(b *testing.B) {
	da, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
	if err != nil {
		b.Fatal(err)
	}
	defer da.Close()
	db, err := store.Open(b.TempDir(), &store.Options{Network: testNet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	stored := make(chan time.Time, 16)
	a := benchPeer(b, 1, da, "127.0.0.1:0", nil, nil)
	defer a.Close()
	pb := benchPeer(b, 2, db, "", []string{testKey(b, 1).ID().String() + "@" + a.Addr()}, func(es []feed.Entry) {
		stored <- time.Now()
	})
	defer pb.Close()
	// Warm up: the connection and the first exchange.
	if _, err := a.Publish(context.Background(), []byte("warm up")); err != nil {
		b.Fatal(err)
	}
	<-stored
	lat := make([]time.Duration, 0, b.N)
	content := bytes.Repeat([]byte("l"), benchContent)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := a.Publish(context.Background(), content); err != nil {
			b.Fatal(err)
		}
		select {
		case t := <-stored:
			lat = append(lat, t.Sub(start))
		case <-time.After(time.Minute):
			b.Fatal("entry not stored on the other peer")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkSyncRSS1M: a fresh peer, in a child process, downloads
// 1,000,000 entries; the child reports its peak RSS (VmHWM).
func BenchmarkSyncRSS1M(b *testing.B) { benchChildSync(b, 1_000_000) }

// BenchmarkBulkSyncProcess is BenchmarkBulkSync with the downloading peer
// in its own process, as it is deployed: the two peers do not share a Go
// heap, a garbage collector or a scheduler.
func BenchmarkBulkSyncProcess(b *testing.B) { benchChildSync(b, 100_000) }

func benchChildSync(b *testing.B, n int) {
	src, _ := sourceStore(b, n)
	defer src.Close()
	sp := benchPeer(b, 1, src, "127.0.0.1:0", nil, nil)
	defer sp.Close()
	addr := testKey(b, 1).ID().String() + "@" + sp.Addr()
	var bytesPer int64
	for raw, err := range src.RangeRaw(testKey(b, 1).ID(), 1, 0) {
		if err != nil {
			b.Fatal(err)
		}
		bytesPer += int64(len(raw))
	}
	var peak, secs float64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSyncChild$", "-test.v")
		cmd.Env = append(os.Environ(), "SBFEED_SYNC_CHILD="+addr, "SBFEED_SYNC_N="+strconv.Itoa(n),
			"SBFEED_SYNC_DIR="+b.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		got := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "VmHWM-KiB "); ok {
				kib, _ := strconv.ParseFloat(v, 64)
				peak = max(peak, kib/1024)
			}
			if v, ok := strings.CutPrefix(line, "seconds "); ok {
				s, _ := strconv.ParseFloat(v, 64)
				secs += s
				got = true
			}
		}
		if i == 0 {
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "go-sys-MiB") {
					b.Log(l)
				}
			}
		}
		if peak == 0 || !got {
			b.Fatalf("child reported no figures:\n%s", out)
		}
	}
	b.ReportMetric(float64(n*b.N)/secs, "entries/s")
	b.ReportMetric(float64(bytesPer*int64(b.N))/secs/1e6, "MB/s")
	b.ReportMetric(peak, "peak-RSS-MiB")
}

// TestSyncChild is the child process of BenchmarkSyncRSS1M; it does
// nothing in a normal test run.
func TestSyncChild(t *testing.T) {
	addr := os.Getenv("SBFEED_SYNC_CHILD")
	if addr == "" {
		t.Skip("child process of BenchmarkSyncRSS1M")
	}
	n, _ := strconv.Atoi(os.Getenv("SBFEED_SYNC_N"))
	dst, err := store.Open(os.Getenv("SBFEED_SYNC_DIR"), &store.Options{Network: testNet})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	done := make(chan struct{})
	got := 0
	start := time.Now()
	heapProf := os.Getenv("SBFEED_SYNC_HEAPPROF") // debugging: heap profile at half way
	p := benchPeer(t, 2, dst, "", []string{addr}, func(es []feed.Entry) {
		got += len(es)
		if heapProf != "" && got >= n/2 {
			if f, err := os.Create(heapProf); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
			heapProf = ""
		}
		if got >= n {
			close(done)
		}
	})
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Fatalf("synced %d of %d", got, n)
	}
	el := time.Since(start)
	p.Close()
	fmt.Printf("seconds %.6f\n", el.Seconds())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("go-sys-MiB %.1f heap-sys-MiB %.1f gc %d\n", float64(ms.Sys)/(1<<20), float64(ms.HeapSys)/(1<<20), ms.NumGC)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("VmHWM-KiB %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
}
