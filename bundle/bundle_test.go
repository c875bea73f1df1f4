package bundle_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/bundle"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

const vectorDir = "../docs/vectors/bundle"

type vector struct {
	name   string
	header map[string]string
	data   []byte
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vectorDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bundle vectors in %s (%v)", vectorDir, err)
	}
	var out []vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := strings.Cut(string(b), "\n\n")
		if !ok {
			t.Fatalf("%s: no blank line after the header", f)
		}
		v := vector{name: strings.TrimSuffix(filepath.Base(f), ".txt"), header: map[string]string{}}
		for _, line := range strings.Split(head, "\n") {
			k, val, _ := strings.Cut(line, ": ")
			v.header[k] = val
		}
		v.data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\n", ""))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, v)
	}
	return out
}

// expectErr maps a vector's expect: value to the sentinel it must match.
var expectErr = map[string]error{
	"truncated":    bundle.ErrTruncated,
	"checksum":     bundle.ErrChecksum,
	"not a bundle": bundle.ErrNotBundle,
	"version":      bundle.ErrVersion,
	"network":      bundle.ErrNetwork,
	"malformed":    bundle.ErrMalformed,
}

func TestVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			net := identity.NetworkFromName(v.header["network"])
			fp, recs, err := bundle.Decode(v.data, &net)
			want := v.header["expect"]
			if want == "ok" {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if got := bundle.Encode(fp, recs); !bytes.Equal(got, v.data) {
					t.Fatal("re-encoding differs from the vector")
				}
				return
			}
			sentinel, ok := expectErr[want]
			if !ok {
				t.Fatalf("unknown expect: %q", want)
			}
			if !errors.Is(err, sentinel) {
				t.Fatalf("got %v, want %v", err, sentinel)
			}
			var be *bundle.Error
			if !errors.As(err, &be) {
				t.Fatalf("error is not a *bundle.Error: %T", err)
			}
			if be.Offset < 0 || be.Offset > int64(len(v.data)) {
				t.Fatalf("offset %d outside the %d-byte bundle", be.Offset, len(v.data))
			}
			t.Log(err)
		})
	}
}

func testKey(t testing.TB, b byte) *identity.Key {
	k, err := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWriterReaderRoundTrip(t *testing.T) {
	net := identity.NetworkFromName("t")
	k := testKey(t, 3)
	var entries []feed.Entry
	var head feed.Head
	for i := 0; i < 50; i++ {
		e, err := feed.Create(k, net, head, feed.Draft{Content: bytes.Repeat([]byte{byte(i)}, i*37)})
		if err != nil {
			t.Fatal(err)
		}
		entries, head = append(entries, e), e.Head()
	}
	var buf bytes.Buffer
	w, err := bundle.NewWriter(&buf, net)
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		if i%2 == 0 {
			err = w.WriteEntry(&entries[i])
		} else {
			err = w.WriteRaw(entries[i].Encode())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	r, err := bundle.NewReader(bytes.NewReader(data), &net)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == bundle.KindEnd {
			continue
		}
		if rec.Entry.ID() != entries[i].ID() || rec.Index != i {
			t.Fatalf("record %d differs", i)
		}
		offsets = append(offsets, rec.Offset)
	}
	if len(offsets) != len(entries) {
		t.Fatalf("read %d entries", len(offsets))
	}
	// Cutting the file anywhere inside entry k reports entry k's offset
	// and index, after returning entries 0..k-1 intact.
	for _, k := range []int{0, 1, 17, 49} {
		cut := offsets[k] + 60
		r, err := bundle.NewReader(bufio.NewReader(bytes.NewReader(data[:cut])), &net)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err != nil {
				var be *bundle.Error
				if !errors.Is(err, bundle.ErrTruncated) || !errors.As(err, &be) || be.Offset != offsets[k] || be.Record != k || be.Seq != uint64(k+1) {
					t.Fatalf("cut in entry %d: %v", k, err)
				}
				break
			}
			n++
		}
		if n != k {
			t.Fatalf("cut in entry %d: %d entries before the error", k, n)
		}
	}
}

func FuzzDecode(f *testing.F) {
	vs := readVectors(f)
	for _, v := range vs {
		f.Add(v.data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fp, recs, err := bundle.Decode(b, nil)
		if err != nil {
			var be *bundle.Error
			if !errors.As(err, &be) {
				t.Fatalf("error is not a *bundle.Error: %v", err)
			}
			if be.Offset < 0 || be.Offset > int64(len(b)) {
				t.Fatalf("offset %d outside input of %d bytes", be.Offset, len(b))
			}
			return
		}
		if got := bundle.Encode(fp, recs); !bytes.Equal(got, b) {
			t.Fatalf("round trip differs")
		}
	})
}

// BenchmarkRead decodes a bundle of 10,000 entries with 100-byte contents
// (CRC and canonical decoding of every record; no signature checks).
func BenchmarkRead(b *testing.B) {
	net := identity.NetworkFromName("bench")
	k := testKey(b, 4)
	var buf bytes.Buffer
	w, _ := bundle.NewWriter(&buf, net)
	var head feed.Head
	for i := 0; i < 10_000; i++ {
		e, err := feed.Next(k.ID(), head, feed.Draft{Content: bytes.Repeat([]byte{'x'}, 100)})
		if err != nil {
			b.Fatal(err)
		}
		w.WriteEntry(&e)
		head = e.Head()
	}
	w.Close()
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		r, err := bundle.NewReader(bytes.NewReader(data), &net)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
