package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// SocketName is the control socket's file name inside the data directory.
const SocketName = "control.sock"

// MaxRequest bounds a request line (an append of many actions fits).
const MaxRequest = 64 << 20

// ErrNoPeer: no running peer answers on the data directory's socket.
var ErrNoPeer = errors.New("control: no running peer on this data directory")

// Request is one command sent to the running peer.
type Request struct {
	// Op is the command: "append", "state", "log", "ping".
	Op string `json:"op"`
	// Args are its arguments: contents to append, an app name, flags.
	Args []string `json:"args,omitempty"`
}

// Reply heads the answer. Error is empty on success; Status is the exit
// status the client should return.
type Reply struct {
	Error  string `json:"error,omitempty"`
	Status int    `json:"status"`
}

// Handler runs one request, writing its output to w. An error is sent to
// the client in the reply, with status 1, before any output.
type Handler func(ctx context.Context, req Request, w io.Writer) error

// Path returns the socket path for a data directory.
func Path(dir string) string { return filepath.Join(dir, SocketName) }

// Server serves requests on a data directory's socket.
type Server struct {
	ln      net.Listener
	path    string
	handler Handler
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Listen creates the socket in dir, replacing a stale one (the caller holds
// the store's lock, so no live peer can own it), and serves requests with h
// until Close.
func Listen(dir string, h Handler) (*Server, error) {
	path := Path(dir)
	if len(path) > 104 {
		// sun_path is 108 bytes on Linux, 104 on the BSDs.
		return nil, fmt.Errorf("control: socket path %s is %d bytes, longer than Unix sockets allow", path, len(path))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, handler: h, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func (s *Server) serve(c io.ReadWriter) {
	br := bufio.NewReaderSize(io.LimitReader(c, MaxRequest), 64<<10)
	line, err := br.ReadBytes('\n')
	if err != nil {
		writeReply(c, Reply{Error: "control: truncated request", Status: 2})
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		writeReply(c, Reply{Error: fmt.Sprintf("control: malformed request: %v", err), Status: 2})
		return
	}
	if req.Op == "ping" {
		writeReply(c, Reply{})
		return
	}
	// Buffer the output so an error can still be reported in the reply.
	var out bufferWriter
	if err := s.handler(s.ctx, req, &out); err != nil {
		writeReply(c, Reply{Error: err.Error(), Status: 1})
		return
	}
	if writeReply(c, Reply{}) == nil {
		c.Write(out.b)
	}
}

type bufferWriter struct{ b []byte }

func (w *bufferWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func writeReply(w io.Writer, r Reply) error {
	b, _ := json.Marshal(r)
	_, err := w.Write(append(b, '\n'))
	return err
}

// Close stops serving, waits for requests in progress and removes the
// socket.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
	return err
}

// Call sends req to the peer running on dir and copies its output to w. It
// returns ErrNoPeer when no peer answers, a *RemoteError when the peer ran
// the command and it failed.
func Call(ctx context.Context, dir string, req Request, w io.Writer) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "unix", Path(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return ErrNoPeer
		}
		return fmt.Errorf("control: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("control: send: %w", err)
	}
	br := bufio.NewReader(c)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("control: the peer closed the connection without answering: %w", err)
	}
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return fmt.Errorf("control: malformed reply: %v", err)
	}
	if rep.Error != "" {
		return &RemoteError{Msg: rep.Error, Status: rep.Status}
	}
	if _, err := io.Copy(w, br); err != nil {
		return fmt.Errorf("control: read output: %w", err)
	}
	return nil
}

// RemoteError is a command that the running peer ran and that failed.
type RemoteError struct {
	Msg    string
	Status int
}

func (e *RemoteError) Error() string { return e.Msg }
