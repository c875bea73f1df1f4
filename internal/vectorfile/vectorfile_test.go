package vectorfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	b := Format([]string{"expect", "comment"}, map[string]string{"expect": "success", "comment": "a: b"}, []byte("aGk=\nAA==\n"))
	f, err := Parse("x", b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Expect() != "success" || f.Header["comment"] != "a: b" || len(f.Keys) != 2 {
		t.Fatalf("%+v", f)
	}
	lines, err := f.Lines()
	if err != nil || len(lines) != 2 || string(lines[0]) != "hi" || len(lines[1]) != 1 {
		t.Fatalf("Lines = %q, %v", lines, err)
	}
	for _, bad := range []string{
		"expect: x\n",              // no blank line
		"comment: x\n\nbody",       // no expect
		"expect: x\nexpect: y\n\n", // repeated key
		"Expect: x\n\n",            // upper case
		"expect x\n\n",             // no separator
	} {
		if _, err := Parse("bad", []byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	f, _ = Parse("x", []byte("expect: x\n\nnot base64!\n"))
	if _, err := f.Lines(); err == nil {
		t.Error("Lines accepted bad base64")
	}
	f, _ = Parse("x", []byte("expect: x\n\n"))
	if _, err := f.Lines(); err == nil {
		t.Error("Lines accepted an empty body")
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "no vector files") {
		t.Fatalf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "b"), []byte("expect: b\n\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a"), []byte("expect: a\n\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("junk"), 0o644)
	fs, err := ReadDir(dir)
	if err != nil || len(fs) != 2 || fs[0].Name != "a" {
		t.Fatalf("ReadDir = %v, %v", fs, err)
	}
}
