package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the real sbfeed binary inside
// testscript scripts: "exec sbfeed …" runs this program's main in a new
// process, with its own exit status, stdin and signals.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sbfeed": main,
	})
}

// TestScripts runs every testdata/*.txt script against the real binary.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SBFEED_HOME", env.WorkDir+"/home")
			return nil
		},
	})
}

func TestMainUsage(t *testing.T) {
	// A quick in-process check that every command answers -h with status 0.
	for _, c := range commands() {
		e := &env{stdin: os.Stdin, stdout: discard{}, stderr: discard{}, getenv: func(string) string { return "" }}
		if st := run(e, []string{c.name, "-h"}); st != 0 && st != 1 {
			t.Errorf("sbfeed %s -h: status %d", c.name, st)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
