package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCall(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := Call(ctx, dir, Request{Op: "ping"}, io.Discard); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("no server: %v, want ErrNoPeer", err)
	}
	// A socket left by a killed peer answers nothing: ErrNoPeer, and a new
	// server replaces it.
	ln, err := net.Listen("unix", Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if err := Call(ctx, dir, Request{Op: "ping"}, io.Discard); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("stale socket: %v, want ErrNoPeer", err)
	}
	s, err := Listen(dir, func(ctx context.Context, req Request, w io.Writer) error {
		switch req.Op {
		case "echo":
			fmt.Fprint(w, strings.Join(req.Args, ","))
			return nil
		}
		return fmt.Errorf("unknown op %q", req.Op)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(Path(dir)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", st, err)
	}
	var out bytes.Buffer
	if err := Call(ctx, dir, Request{Op: "echo", Args: []string{"a", "b"}}, &out); err != nil || out.String() != "a,b" {
		t.Fatalf("echo: %q %v", out.String(), err)
	}
	var re *RemoteError
	if err := Call(ctx, dir, Request{Op: "nope"}, &out); !errors.As(err, &re) || re.Status != 1 || !strings.Contains(re.Msg, "unknown op") {
		t.Fatalf("failing op: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Path(dir)); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
	if err := Call(ctx, dir, Request{Op: "ping"}, io.Discard); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("after close: %v", err)
	}
}
