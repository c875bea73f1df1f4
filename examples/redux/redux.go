package redux

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Action is a Redux action as JSON: a type plus the fields these examples
// use. Unknown fields are ignored, as the reducers ignore them.
type Action struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      *int            `json:"id,omitempty"`
	Text    string          `json:"text,omitempty"`
	Filter  string          `json:"filter,omitempty"`
}

// Decode reads an action from JSON content. It is the codec given to
// merge.Config.Decode.
func Decode(content []byte) (Action, error) {
	var a Action
	if err := json.Unmarshal(content, &a); err != nil {
		return Action{}, fmt.Errorf("redux: action: %w", err)
	}
	return a, nil
}

// Encode returns the JSON content of an action.
func Encode(a Action) []byte {
	b, err := json.Marshal(a)
	if err != nil { // cannot happen for this type
		panic(err)
	}
	return b
}

// CounterVanilla is examples/counter-vanilla: the state is an integer,
// INCREMENT adds one, DECREMENT subtracts one, anything else leaves it.
func CounterVanilla(state int, a Action) (int, error) {
	switch a.Type {
	case "INCREMENT":
		return state + 1, nil
	case "DECREMENT":
		return state - 1, nil
	}
	return state, nil
}

// Counter is the state of the Redux Toolkit counter slice.
type Counter struct {
	Value  int    `json:"value"`
	Status string `json:"status"`
}

// CounterInitial is the slice's initial state.
func CounterInitial() Counter { return Counter{Value: 0, Status: "idle"} }

// CounterSlice is examples/counter's counterSlice reducer.
// counter/fetchCount/rejected is deliberately unhandled, as upstream.
func CounterSlice(s Counter, a Action) (Counter, error) {
	switch a.Type {
	case "counter/increment":
		s.Value++
	case "counter/decrement":
		s.Value--
	case "counter/incrementByAmount":
		n, err := intPayload(a)
		if err != nil {
			return s, err
		}
		s.Value += n
	case "counter/fetchCount/pending":
		s.Status = "loading"
	case "counter/fetchCount/fulfilled":
		n, err := intPayload(a)
		if err != nil {
			return s, err
		}
		s.Status = "idle"
		s.Value += n
	}
	return s, nil
}

func intPayload(a Action) (int, error) {
	var n int
	if err := json.Unmarshal(a.Payload, &n); err != nil {
		return 0, fmt.Errorf("redux: %s: payload is not an integer: %w", a.Type, err)
	}
	return n, nil
}

// Todo is one item of the todos example.
type Todo struct {
	ID        int    `json:"id"`
	Text      string `json:"text"`
	Completed bool   `json:"completed"`
}

// Todos is the root state of examples/todos (combineReducers of todos and
// visibilityFilter).
type Todos struct {
	Todos            []Todo `json:"todos"`
	VisibilityFilter string `json:"visibilityFilter"`
}

// TodosInitial is the root's initial state.
func TodosInitial() Todos { return Todos{Todos: []Todo{}, VisibilityFilter: "SHOW_ALL"} }

// TodoList is the todos slice reducer: ADD_TODO appends (the id comes from
// the action as it is, so two writers can mint the same id, as upstream),
// TOGGLE_TODO flips every todo with that id. It returns a new slice and
// never changes the one it is given.
func TodoList(s []Todo, a Action) ([]Todo, error) {
	switch a.Type {
	case "ADD_TODO":
		if a.ID == nil {
			return s, fmt.Errorf("redux: ADD_TODO without id")
		}
		out := make([]Todo, len(s), len(s)+1)
		copy(out, s)
		return append(out, Todo{ID: *a.ID, Text: a.Text}), nil
	case "TOGGLE_TODO":
		if a.ID == nil {
			return s, fmt.Errorf("redux: TOGGLE_TODO without id")
		}
		if !slices.ContainsFunc(s, func(t Todo) bool { return t.ID == *a.ID }) {
			return s, nil
		}
		out := slices.Clone(s)
		for i := range out {
			if out[i].ID == *a.ID {
				out[i].Completed = !out[i].Completed
			}
		}
		return out, nil
	}
	if s == nil {
		s = []Todo{}
	}
	return s, nil
}

// VisibilityFilter is the visibilityFilter slice reducer.
func VisibilityFilter(s string, a Action) (string, error) {
	if a.Type == "SET_VISIBILITY_FILTER" {
		return a.Filter, nil
	}
	return s, nil
}

// TodosRoot is combineReducers({todos, visibilityFilter}).
func TodosRoot(s Todos, a Action) (Todos, error) {
	todos, err := TodoList(s.Todos, a)
	if err != nil {
		return s, err
	}
	f, err := VisibilityFilter(s.VisibilityFilter, a)
	if err != nil {
		return s, err
	}
	return Todos{Todos: todos, VisibilityFilter: f}, nil
}
