package audit_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/audit"
	"github.com/sbfeed/sbfeed/identity"
)

// FuzzAuditBundle feeds arbitrary bytes to LoadBundle and RunBundle: they
// must never panic, and a report may be clean only if the bundle was read
// to its end record.
func FuzzAuditBundle(f *testing.F) {
	files, _ := filepath.Glob("../docs/vectors/bundle/*.txt")
	if len(files) == 0 {
		f.Fatal("no seed vectors in docs/vectors/bundle")
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		_, body, _ := strings.Cut(string(raw), "\n\n")
		data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\n", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	net := identity.NetworkFromName("sbfeed-vectors")
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := audit.LoadBundle(bytes.NewReader(data), net)
		if err != nil {
			return
		}
		for _, full := range []bool{false, true} {
			rep, err := audit.RunBundle(b, audit.Options{Network: net, Full: full, ChunkSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Clean() && b.Damage() != nil {
				t.Fatalf("clean report for a damaged bundle: %v", b.Damage())
			}
		}
	})
}
