package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
)

type rw struct {
	in  io.Reader
	out bytes.Buffer
}

func (r *rw) Read(p []byte) (int, error)  { return r.in.Read(p) }
func (r *rw) Write(p []byte) (int, error) { return r.out.Write(p) }

// FuzzServe: whatever a client sends, the server answers with one
// well-formed reply line and never panics.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"op":"echo","args":["a"]}` + "\n"))
	f.Add([]byte(`{"op":"ping"}` + "\n"))
	f.Add([]byte(`{"op":` + "\n"))
	f.Add([]byte("no newline"))
	s := &Server{ctx: context.Background(), handler: func(_ context.Context, req Request, w io.Writer) error {
		if req.Op == "echo" {
			_, err := fmt.Fprint(w, req.Args)
			return err
		}
		return fmt.Errorf("unknown op %q", req.Op)
	}}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &rw{in: bytes.NewReader(in)}
		s.serve(c)
		line, err := bufio.NewReader(&c.out).ReadBytes('\n')
		if err != nil {
			t.Fatalf("no reply line for %q: %v", in, err)
		}
		var rep Reply
		if err := json.Unmarshal(line, &rep); err != nil {
			t.Fatalf("malformed reply %q: %v", line, err)
		}
	})
}
