package redux_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sbfeed/sbfeed/examples/redux"
)

// The shared test material lives beside the repository:
// <repo>/../shared/data/redux-examples.json.
func casesFile(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", "redux-examples.json")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

type reduxCase struct {
	ID       string            `json:"id"`
	Example  string            `json:"example"`
	Reducer  string            `json:"reducer"`
	Start    string            `json:"start"`
	State    json.RawMessage   `json:"state"`
	Actions  []json.RawMessage `json:"actions"`
	Expected json.RawMessage   `json:"expected"`
}

// run folds a case's actions with reducer from its start state and returns
// the result as JSON.
func run[S any](t *testing.T, c reduxCase, initial S, reduce func(S, redux.Action) (S, error)) any {
	t.Helper()
	s := initial
	if c.Start == "given" {
		var g S
		if err := json.Unmarshal(c.State, &g); err != nil {
			t.Fatalf("%s: state: %v", c.ID, err)
		}
		s = g
	}
	for i, raw := range c.Actions {
		a, err := redux.Decode(raw)
		if err != nil {
			t.Fatalf("%s: action %d: %v", c.ID, i, err)
		}
		if s, err = reduce(s, a); err != nil {
			t.Fatalf("%s: action %d refused: %v", c.ID, i, err)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpstreamCases checks every counter-vanilla, counter and todos case of
// redux-examples.json (the upstream spec assertions and the derived
// sequences) against the Go ports.
func TestUpstreamCases(t *testing.T) {
	path := casesFile(t)
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("shared test material absent (%s): skipping the upstream Redux cases", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []reduxCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range file.Cases {
		var got any
		switch {
		case c.Example == "counter-vanilla" && c.Reducer == "counter":
			got = run(t, c, 0, redux.CounterVanilla)
		case c.Example == "counter" && c.Reducer == "counterSlice":
			got = run(t, c, redux.CounterInitial(), redux.CounterSlice)
		case c.Example == "todos" && c.Reducer == "todos":
			got = run(t, c, []redux.Todo{}, redux.TodoList)
		case c.Example == "todos" && c.Reducer == "root":
			got = run(t, c, redux.TodosInitial(), redux.TodosRoot)
		default:
			continue
		}
		var want any
		if err := json.Unmarshal(c.Expected, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", c.ID, got, want)
		}
		checked++
	}
	if checked != 16 {
		t.Fatalf("checked %d counter/todos cases, the file has 16", checked)
	}
}

func TestUnknownActionKeepsState(t *testing.T) {
	s := redux.TodosInitial()
	s2, err := redux.TodosRoot(s, redux.Action{Type: "UNKNOWN"})
	if err != nil || !reflect.DeepEqual(s, s2) {
		t.Fatalf("%v %v", s2, err)
	}
	if _, err := redux.Decode([]byte("not json")); err == nil {
		t.Fatal("bad JSON decoded")
	}
	if _, err := redux.CounterSlice(redux.CounterInitial(), redux.Action{Type: "counter/incrementByAmount", Payload: json.RawMessage(`"x"`)}); err == nil {
		t.Fatal("non-integer payload accepted")
	}
}

// The ported reducers never mutate their input: the property a snapshot of
// merge.View relies on.
func TestNoMutation(t *testing.T) {
	id := 1
	s := redux.Todos{Todos: []redux.Todo{{ID: 1, Text: "a"}}, VisibilityFilter: "SHOW_ALL"}
	before, _ := json.Marshal(s)
	for _, a := range []redux.Action{{Type: "TOGGLE_TODO", ID: &id}, {Type: "ADD_TODO", ID: &id, Text: "b"}, {Type: "SET_VISIBILITY_FILTER", Filter: "x"}} {
		if _, err := redux.TodosRoot(s, a); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := json.Marshal(s)
	if string(before) != string(after) {
		t.Fatalf("input mutated: %s -> %s", before, after)
	}
}
