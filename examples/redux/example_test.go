package redux_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sbfeed/sbfeed/examples/redux"
	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
	"github.com/sbfeed/sbfeed/merge"
)

// peer is a writer with a fixed key (examples must be reproducible).
type peer struct {
	key  *identity.Key
	head feed.Head
}

func newPeer(seed byte) *peer {
	k, err := identity.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		panic(err)
	}
	return &peer{key: k}
}

var network = identity.NetworkFromName("redux-example")

// write signs the next entry of p's feed with the action's JSON, after the
// given entries of other feeds.
func (p *peer) write(a string, after ...feed.Entry) feed.Entry {
	var refs []feed.Ref
	for _, e := range after {
		refs = append(refs, feed.Ref{ID: e.ID(), Clock: e.Clock})
	}
	e, err := feed.Create(p.key, network, p.head, feed.Draft{Refs: refs, Content: []byte(a)})
	if err != nil {
		panic(err)
	}
	p.head = e.Head()
	return e
}

func view[S any](reduce func(S, redux.Action) (S, error), initial S, writers ...*peer) *merge.View[S, redux.Action] {
	var ids []identity.ID
	for _, w := range writers {
		ids = append(ids, w.key.ID())
	}
	v, err := merge.New(merge.Config[S, redux.Action]{Reducer: reduce, Decode: redux.Decode, Initial: initial, Writers: ids})
	if err != nil {
		panic(err)
	}
	return v
}

// The vanilla counter, unchanged, as replicated state: case
// counter-vanilla/sequence. The entries reach the view backwards; the merge
// order puts them back.
func ExampleCounterVanilla() {
	alice := newPeer(1)
	var es []feed.Entry
	for _, t := range []string{"INCREMENT", "INCREMENT", "DECREMENT", "UNKNOWN", "INCREMENT"} {
		es = append(es, alice.write(`{"type":"`+t+`"}`))
	}
	slices.Reverse(es)
	v := view(redux.CounterVanilla, 0, alice)
	v.Add(es...)
	fmt.Println(v.State())
	// Output: 2
}

// The Redux Toolkit counter slice: case counter/async-and-mixed.
func ExampleCounterSlice() {
	alice := newPeer(1)
	actions := []string{
		`{"type":"counter/increment"}`,
		`{"type":"counter/increment"}`,
		`{"type":"counter/incrementByAmount","payload":5}`,
		`{"type":"counter/decrement"}`,
		`{"type":"counter/fetchCount/pending"}`,
		`{"type":"counter/fetchCount/fulfilled","payload":10}`,
		`{"type":"counter/incrementByAmount","payload":-20}`,
	}
	v := view(redux.CounterSlice, redux.CounterInitial(), alice)
	for _, a := range actions {
		v.Add(alice.write(a))
	}
	fmt.Printf("%+v\n", v.State())
	// Output: {Value:-4 Status:idle}
}

// The todos root reducer: case todos/root/sequence.
func ExampleTodosRoot() {
	alice := newPeer(1)
	actions := []string{
		`{"type":"ADD_TODO","id":0,"text":"Run the tests"}`,
		`{"type":"ADD_TODO","id":1,"text":"Use Redux"}`,
		`{"type":"ADD_TODO","id":2,"text":"Fix the tests"}`,
		`{"type":"TOGGLE_TODO","id":1}`,
		`{"type":"SET_VISIBILITY_FILTER","filter":"SHOW_COMPLETED"}`,
		`{"type":"TOGGLE_TODO","id":1}`,
		`{"type":"TOGGLE_TODO","id":2}`,
		`{"type":"TOGGLE_TODO","id":7}`,
	}
	v := view(redux.TodosRoot, redux.TodosInitial(), alice)
	for _, a := range actions {
		v.Add(alice.write(a))
	}
	b, _ := json.Marshal(v.State())
	fmt.Println(string(b))
	// Output: {"todos":[{"id":0,"text":"Run the tests","completed":false},{"id":1,"text":"Use Redux","completed":false},{"id":2,"text":"Fix the tests","completed":true}],"visibilityFilter":"SHOW_COMPLETED"}
}

// Two writers, case todos/root/duplicate-ids-from-two-writers: each peer's
// action creator minted id 0. Bob wrote after seeing Alice's todo, Alice
// toggled after seeing Bob's, so every peer orders A, B, toggle — and the
// toggle flips both, exactly as the unchanged upstream reducer does.
func ExampleTodosRoot_twoWriters() {
	alice, bob := newPeer(1), newPeer(2)
	a1 := alice.write(`{"type":"ADD_TODO","id":0,"text":"from peer A"}`)
	b1 := bob.write(`{"type":"ADD_TODO","id":0,"text":"from peer B"}`, a1)
	a2 := alice.write(`{"type":"TOGGLE_TODO","id":0}`, b1)

	// Two peers learn the entries in different orders.
	p1 := view(redux.TodosRoot, redux.TodosInitial(), alice, bob)
	p1.Add(a2, b1, a1)
	p2 := view(redux.TodosRoot, redux.TodosInitial(), alice, bob)
	p2.Add(a1)
	p2.Add(b1)
	p2.Add(a2)

	s1, _ := json.Marshal(p1.State())
	s2, _ := json.Marshal(p2.State())
	fmt.Println(string(s1))
	fmt.Println(string(s1) == string(s2), p1.Final().Count, "final")
	// Output:
	// {"todos":[{"id":0,"text":"from peer A","completed":true},{"id":0,"text":"from peer B","completed":true}],"visibilityFilter":"SHOW_ALL"}
	// true 2 final
}
