package sbfeed_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sbfeed/sbfeed"
	"github.com/sbfeed/sbfeed/apps"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/internal/sign"
	"github.com/sbfeed/sbfeed/store"
)

// writerDirs builds (once per process) the data directories of three
// writers that authored per kv actions each and, as writers of one
// application that have converged, each hold all three feeds. The entries
// are signed on every core and written straight into the stores, so the
// benchmark measures the joining peer, not the setup.
var benchWriters struct {
	once sync.Once
	dir  string
	err  error
}

var benchPer = envInt("SBFEED_BENCH_PER", 100_000)

func writerDirs(b *testing.B, net identity.Network) (string, []*identity.Key) {
	keys := []*identity.Key{mustKey(b, 101), mustKey(b, 102), mustKey(b, 103)}
	benchWriters.once.Do(func() {
		benchWriters.dir, benchWriters.err = os.MkdirTemp("", "sbfeed-bench-writers")
		if benchWriters.err != nil {
			return
		}
		var feeds [][]feed.Entry
		for _, k := range keys {
			feeds = append(feeds, signedFeed(net, k, benchPer))
		}
		for i := range keys {
			if err := fillStore(filepath.Join(benchWriters.dir, fmt.Sprint(i)), net, feeds); err != nil {
				benchWriters.err = err
				return
			}
		}
	})
	if benchWriters.err != nil {
		b.Fatal(benchWriters.err)
	}
	return benchWriters.dir, keys
}

// signedFeed returns n kv actions of k's feed, signed on every core.
func signedFeed(net identity.Network, k *identity.Key, n int) []feed.Entry {
	drafts := make([]feed.Draft, n)
	for j := range drafts {
		drafts[j].Content = fmt.Appendf(nil, `{"type":"set","key":"k%d","value":%d}`, j%1000, j)
	}
	entries, err := feed.Chain(k.ID(), feed.Head{}, drafts)
	if err != nil {
		panic(err)
	}
	if err := sign.All(k, net, entries); err != nil {
		panic(err)
	}
	return entries
}

func fillStore(dir string, net identity.Network, feeds [][]feed.Entry) error {
	db, err := store.Open(dir, &store.Options{Network: net, NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	const batch = 5000
	for _, es := range feeds {
		for i := 0; i < len(es); i += batch {
			if _, err := db.Append(es[i:min(i+batch, len(es))]...); err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkJoin300k: a fresh peer joins three writers that hold 100,000 kv
// actions each (and, converged, each other's), over real QUIC on loopback,
// and syncs (verifies, stores durably), merges and reduces all 300,000.
// Reported in actions/s.
func BenchmarkJoin300k(b *testing.B) {
	net := identity.NetworkFromName("bench")
	dir, keys := writerDirs(b, net)
	var tr sbfeed.Transport // nil: QUIC
	var writers []*sbfeed.Node[apps.KVState, apps.KVAction]
	var addrs []string
	for i, k := range keys {
		n, err := sbfeed.Open(filepath.Join(dir, fmt.Sprint(i)), apps.KVReduce, sbfeed.Options{Key: k, Network: net, Tick: benchTick(), Transport: tr})
		if err != nil {
			b.Fatal(err)
		}
		defer n.Close()
		a, err := n.Listen("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		writers = append(writers, n)
		addrs = append(addrs, a)
	}
	total := 3 * benchPer
	// One untimed join first: the writers' stores were just written, and
	// Pebble's compactions of them would otherwise run during the first
	// measurement.
	join(b, net, addrs, total)
	b.ResetTimer()
	var sum time.Duration
	for i := 0; i < b.N; i++ {
		sum += join(b, net, addrs, total)
	}
	b.ReportMetric(float64(total*b.N)/sum.Seconds(), "actions/s")
	b.ReportMetric(0, "ns/op")
}

// join runs one fresh peer until it has folded total actions.
func join(b *testing.B, net identity.Network, addrs []string, total int) time.Duration {
	b.StopTimer()
	fresh := b.TempDir()
	b.StartTimer()
	start := time.Now()
	opts := sbfeed.Options{Key: mustKey(b, 200), Network: net, Tick: benchTick(), NoSync: os.Getenv("SBFEED_BENCH_NOSYNC") != ""}
	if os.Getenv("SBFEED_BENCH_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if os.Getenv("SBFEED_BENCH_MEM") != "" {
		b.Fatal("SBFEED_BENCH_MEM is not supported with a warm-up join")
	}
	n, err := sbfeed.Open(fresh, apps.KVReduce, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, a := range addrs {
		if err := n.Connect(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	for n.Len() < total {
		if ctx.Err() != nil {
			b.Fatalf("joined %d of %d actions in 5 minutes", n.Len(), total)
		}
		<-time.After(5 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	if got := n.State().Len(); got != 1000 {
		b.Fatalf("kv state has %d keys, want 1000", got)
	}
	n.Close()
	b.StartTimer()
	return el
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}

func benchTick() time.Duration {
	return time.Duration(envInt("SBFEED_BENCH_TICK_MS", 100)) * time.Millisecond
}
