package vectorfile

import (
	"os/exec"
	"testing"
)

// Generate runs the vector generator gen (a path below the repository
// root, such as "./docs/vectors/gen.go") with -root set to a fresh
// temporary directory, from root (the repository root, relative to the
// test's package), and returns that directory. A test that compares what
// it writes with the committed vectors shows they are what the generator
// makes and that nobody edited them by hand. It skips under -short (it
// builds and runs a program) and without a go tool.
func Generate(t testing.TB, root, gen string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	tmp := t.TempDir()
	cmd := exec.Command(goTool, "run", gen, "-root", tmp)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run %s: %v\n%s", gen, err, out)
	}
	return tmp
}
