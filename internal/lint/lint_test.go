package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, relative to this package's directory.
const root = "../.."

// purePackages must not start goroutines, read clocks or randomness, or
// touch the network, the file system or locks: they are state machines
// driven by their callers (STYLE.md sections 2 and 14). Packages that do
// not exist yet are skipped.
var purePackages = []string{"identity", "feed", "merge", "replicate"}

// forbiddenImports are the packages a pure package must not import.
var forbiddenImports = []string{"math/rand", "math/rand/v2", "crypto/rand", "net", "os", "sync", "sync/atomic"}

// forbiddenTime are the functions of package time that read or wait on the
// clock. Importing time itself is fine: a state machine may take a
// time.Duration in its configuration, it just never asks what time it is.
var forbiddenTime = []string{"Now", "Sleep", "After", "AfterFunc", "Since", "Until", "Tick", "NewTimer", "NewTicker"}

// allowed lists the only exceptions, file by file, with the reason.
var allowed = map[string][]string{
	// Key files live on disk: WriteKeyFile/ReadKeyFile must create with
	// mode 0600 and check permissions, which needs os. Everything else
	// in identity is pure, and randomness is still passed in as an
	// io.Reader (SealOptions.Rand, Generate).
	"identity/keyfile.go": {"os"},
}

// violation is one finding, with its position.
type violation struct {
	pos token.Position
	msg string
}

// checkPure parses one source file of a pure package and reports every
// forbidden construct. file is the slash path relative to the module root.
func checkPure(fset *token.FileSet, file string, src any) ([]violation, error) {
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []violation
	report := func(p token.Pos, msg string) { out = append(out, violation{fset.Position(p), msg}) }
	timeName := ""
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
		if slices.Contains(forbiddenImports, path) && !slices.Contains(allowed[file], path) {
			report(imp.Pos(), "imports "+strconv.Quote(path))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "go statement")
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && slices.Contains(forbiddenTime, n.Sel.Name) {
				report(n.Pos(), "calls time."+n.Sel.Name)
			}
		}
		return true
	})
	return out, nil
}

// checkInit reports init functions.
func checkInit(fset *token.FileSet, file string, src any) ([]violation, error) {
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []violation
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
			out = append(out, violation{fset.Position(fn.Pos()), "func init"})
		}
	}
	return out, nil
}

func TestPurePackages(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, pkg := range purePackages {
		dir := filepath.Join(root, pkg)
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			t.Logf("%s/ does not exist yet: skipped", pkg)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			vs, err := checkPure(fset, pkg+"/"+name, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				t.Errorf("%s: %s (pure packages must not; see internal/lint)", v.pos, v.msg)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked: is root wrong?")
	}
}

func TestNoInit(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		vs, err := checkInit(fset, path, src)
		if err != nil {
			// Another engineer's file may be mid-edit; a parse error is
			// the compiler's to report, not this test's.
			t.Logf("skipping %s: %v", path, err)
			return nil
		}
		for _, v := range vs {
			t.Errorf("%s: %s (no init functions anywhere: pass configuration explicitly)", v.pos, v.msg)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}

// TestCheckers proves the checks can fail: each forbidden construct in a
// synthetic file is reported, and the allow-list is exact.
func TestCheckers(t *testing.T) {
	fset := token.NewFileSet()
	src := `package feed
import (
	"crypto/rand"
	mr "math/rand"
	"net"
	"os"
	"sync"
	clock "time"
)
var _ = rand.Reader
var _ = mr.Int
var _ net.Conn
var _ = os.Stdin
var _ sync.Mutex
func f() {
	go f()
	_ = clock.Now()
	clock.Sleep(1)
	<-clock.After(1)
}
`
	vs, err := checkPure(fset, "feed/bad.go", src)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, v := range vs {
		msgs = append(msgs, v.msg)
	}
	want := []string{`imports "crypto/rand"`, `imports "math/rand"`, `imports "net"`, `imports "os"`, `imports "sync"`,
		"go statement", "calls time.Now", "calls time.Sleep", "calls time.After"}
	for _, w := range want {
		if !slices.Contains(msgs, w) {
			t.Errorf("not reported: %s (got %q)", w, msgs)
		}
	}
	// The allow-list admits os in identity/keyfile.go only, and only os.
	vs, _ = checkPure(fset, "identity/keyfile.go", `package identity; import ("os"; "crypto/rand"); var _ = os.Stdin; var _ = rand.Reader`)
	if len(vs) != 1 || vs[0].msg != `imports "crypto/rand"` {
		t.Errorf("allow-list: %v", vs)
	}
	vs, _ = checkPure(fset, "identity/identity.go", `package identity; import "os"; var _ = os.Stdin`)
	if len(vs) != 1 {
		t.Errorf("os allowed outside keyfile.go: %v", vs)
	}
	vs, _ = checkInit(fset, "x.go", "package x\nfunc init() {}\ntype T int\nfunc (T) init() {}\n")
	if len(vs) != 1 {
		t.Errorf("init functions: %v", vs)
	}
}
