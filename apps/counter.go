package apps

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sbfeed/sbfeed/identity"
)

// CounterAction is a counter action: {"type":"INCREMENT"} or
// {"type":"DECREMENT"}, as in the Redux counter example.
type CounterAction struct {
	Type string `json:"type"`
}

// Counter action types.
const (
	Increment = "INCREMENT"
	Decrement = "DECREMENT"
)

// CounterReduce is the counter reducer. Unknown types are refused (Redux
// would ignore them; a replicated log records the refusal instead, so every
// peer can see that the action had no effect and why).
func CounterReduce(state int64, a CounterAction) (int64, error) {
	switch a.Type {
	case Increment:
		return state + 1, nil
	case Decrement:
		return state - 1, nil
	}
	return state, fmt.Errorf("%w: counter: %q", ErrUnknownType, a.Type)
}

// Counter is the built-in counter app. Its state is a JSON number.
var Counter = &App[int64, CounterAction]{
	Name:   "counter",
	Reduce: CounterReduce,
	Decode: func(_ identity.ID, b []byte) (CounterAction, error) {
		var a CounterAction
		err := unmarshal(b, &a)
		return a, err
	},
	Encode:  func(a CounterAction) ([]byte, error) { return json.Marshal(a) },
	Marshal: func(s int64) ([]byte, error) { return strconv.AppendInt(nil, s, 10), nil },
}

// UnmarshalJSON reads a counter action; it must be an object with a string
// "type".
func (a *CounterAction) UnmarshalJSON(b []byte) error {
	var p struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return badAction(b, "not a counter action: %v", err)
	}
	if p.Type == nil {
		return badAction(b, "no \"type\" field")
	}
	*a = CounterAction{Type: *p.Type}
	return nil
}

// unmarshal is json.Unmarshal whose every error wraps ErrBadAction.
func unmarshal(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if err != nil && !errors.Is(err, ErrBadAction) {
		err = badAction(b, "%v", err)
	}
	return err
}
