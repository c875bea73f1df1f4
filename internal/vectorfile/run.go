package vectorfile

import "testing"

// Run runs every vector in dir as a subtest of t. expectations maps each
// "expect:" value the spec allows to the error it means (nil for success);
// body gets the vector and that error. A vector naming another outcome
// fails, an empty directory fails (no vectors is not a pass), and so does
// an outcome no vector covers.
func Run(t *testing.T, dir string, expectations map[string]error, body func(t *testing.T, f *File, want error)) {
	t.Helper()
	files, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			want, ok := expectations[f.Expect()]
			if !ok {
				t.Fatalf("unknown expect %q", f.Expect())
			}
			seen[f.Expect()]++
			body(t, f, want)
		})
	}
	for name := range expectations {
		if seen[name] == 0 {
			t.Errorf("no vector expects %q", name)
		}
	}
}
