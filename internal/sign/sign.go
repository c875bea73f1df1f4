package sign

import (
	"errors"
	"runtime"
	"sync"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// All signs every entry with key for network, on up to GOMAXPROCS
// goroutines (one per 64 entries at least, so a short run is not split
// for nothing). The entries must be key's, chained.
func All(key *identity.Key, network identity.Network, entries []feed.Entry) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(entries)/64))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				if err := entries[i].Sign(key, network); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
