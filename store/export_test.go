package store

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"
)

// SetFormatVersionForTest rewrites the version record of the closed store
// in dir, to test that Open refuses other versions.
func SetFormatVersionForTest(dir string, v uint64) error {
	pdb, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{func(string, ...any) {}}})
	if err != nil {
		return err
	}
	defer pdb.Close()
	return pdb.Set(keyVersion, binary.BigEndian.AppendUint64(nil, v), pebble.Sync)
}
