package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzFrameReader feeds arbitrary stream bytes to the frame reader: it
// must return frames that re-encode to a prefix of the input, then io.EOF
// or a FrameError, and never allocate for a length over the limit.
func FuzzFrameReader(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")))
	f.Add(append(AppendFrame(nil, nil), AppendFrame(nil, []byte("x"))...))
	f.Add([]byte{0, 0, 0, 100, 1, 2})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := newFrameReader(bytes.NewReader(in), Data, 1024)
		var out []byte
		for {
			b, err := fr.next()
			if err == io.EOF {
				if !bytes.Equal(out, in) {
					t.Fatalf("clean EOF after %d of %d bytes", len(out), len(in))
				}
				return
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) || fe.Offset != int64(len(out))+1 {
					t.Fatalf("error %v at offset %d", err, len(out))
				}
				return
			}
			if len(b) > 1024 {
				t.Fatalf("frame of %d bytes over the limit", len(b))
			}
			out = AppendFrame(out, b)
			if !bytes.HasPrefix(in, out) {
				t.Fatal("frames do not re-encode to the input")
			}
		}
	})
}
