package vectorfile

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File is one parsed vector.
type File struct {
	Name   string            // file name, the scenario's name
	Header map[string]string // "key: value" lines
	Keys   []string          // header keys in file order
	Body   []byte            // everything after the blank line
}

// Expect returns the expected outcome.
func (f *File) Expect() string { return f.Header["expect"] }

// Lines decodes the body as standard, padded base64, one item per line.
// Empty lines are not allowed.
func (f *File) Lines() ([][]byte, error) {
	text := strings.TrimSuffix(string(f.Body), "\n")
	if text == "" {
		return nil, fmt.Errorf("%s: empty body", f.Name)
	}
	var out [][]byte
	for i, line := range strings.Split(text, "\n") {
		b, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%s: body line %d: %v", f.Name, i+1, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Parse reads one vector file.
func Parse(name string, b []byte) (*File, error) {
	f := &File{Name: name, Header: map[string]string{}}
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%s: no blank line after the header", name)
	}
	f.Body = body
	for i, line := range strings.Split(string(head), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "" || strings.ToLower(k) != k {
			return nil, fmt.Errorf("%s: header line %d %q is not \"key: value\"", name, i+1, line)
		}
		if _, dup := f.Header[k]; dup {
			return nil, fmt.Errorf("%s: header key %q repeated", name, k)
		}
		f.Header[k] = v
		f.Keys = append(f.Keys, k)
	}
	if f.Expect() == "" {
		return nil, fmt.Errorf("%s: no \"expect\" header", name)
	}
	return f, nil
}

// Format returns the bytes of a vector file with the given header (in the
// order of keys) and body.
func Format(keys []string, header map[string]string, body []byte) []byte {
	var buf bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&buf, "%s: %s\n", k, header[k])
	}
	buf.WriteByte('\n')
	buf.Write(body)
	return buf.Bytes()
}

// ReadDir parses every regular file in dir, sorted by name. It is an error
// for dir to hold no vectors: a test that silently runs nothing proves
// nothing.
func ReadDir(dir string) ([]*File, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*File
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		f, err := Parse(e.Name(), b)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no vector files in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
