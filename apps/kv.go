package apps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"iter"

	"github.com/sbfeed/sbfeed/identity"
)

// KV action types.
const (
	KVSet = "set"
	KVDel = "del"
)

// KVAction is a kv action: {"type":"set","key":K,"value":V} with V any JSON
// value, or {"type":"del","key":K}.
type KVAction struct {
	Type  string          `json:"type"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value,omitempty"`
}

// UnmarshalJSON reads a kv action; it must be an object with a string
// "type". The value is compacted, so the state's JSON does not depend on
// how the writer spaced it.
func (a *KVAction) UnmarshalJSON(b []byte) error {
	if fast, ok := kvFast(b); ok {
		*a = fast
		return nil
	}
	g, err := kvGeneral(b)
	if err != nil {
		return err
	}
	*a = g
	return nil
}

// kvGeneral decodes any kv action with encoding/json.
func kvGeneral(b []byte) (KVAction, error) {
	var p struct {
		Type  *string         `json:"type"`
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return KVAction{}, badAction(b, "not a kv action: %v", err)
	}
	if p.Type == nil {
		return KVAction{}, badAction(b, "no \"type\" field")
	}
	a := KVAction{Type: *p.Type, Key: p.Key, Value: p.Value}
	if a.Value != nil && bytes.ContainsAny(a.Value, " \t\r\n") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, a.Value); err != nil {
			return KVAction{}, badAction(b, "value: %v", err)
		}
		a.Value = buf.Bytes()
	}
	return a, nil
}

// kvFast decodes the canonical form that KV.Encode writes and every tool
// sends, {"type":T,"key":K} or {"type":T,"key":K,"value":V}, with plain
// strings (printable ASCII, no escapes) and V a plain string or a number,
// without reflection: decoding was a tenth of a joining peer's CPU. It
// reports false for anything else, which the general decoder then
// handles; on what it accepts it gives exactly what the general decoder
// gives (FuzzKVFast checks that).
func kvFast(b []byte) (KVAction, bool) {
	var a KVAction
	rest, ok := bytes.CutPrefix(b, []byte(`{"type":`))
	if !ok {
		return a, false
	}
	if a.Type, rest, ok = kvString(rest); !ok {
		return a, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"key":`)); !ok {
		return a, false
	}
	if a.Key, rest, ok = kvString(rest); !ok {
		return a, false
	}
	if string(rest) == "}" {
		return a, true
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"value":`)); !ok || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return a, false
	}
	v := rest[:len(rest)-1]
	if v[0] == '"' {
		if _, tail, ok := kvString(v); !ok || len(tail) != 0 {
			return a, false
		}
	} else if !kvNumber(v) {
		return a, false
	}
	a.Value = json.RawMessage(bytes.Clone(v))
	return a, true
}

// kvString reads a JSON string of printable ASCII without escapes.
func kvString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", b, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return string(b[1:i]), b[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", b, false
		}
	}
	return "", b, false
}

// kvNumber reports whether b is exactly one JSON number.
func kvNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// KVReduce is the kv reducer. It refuses a set without a value, a del of a
// missing key and unknown types. It never mutates s.
func KVReduce(s KVState, a KVAction) (KVState, error) {
	switch a.Type {
	case KVSet:
		if a.Value == nil {
			return s, fmt.Errorf("%w: kv: set %q without a value", ErrBadAction, a.Key)
		}
		return s.Set(a.Key, a.Value), nil
	case KVDel:
		t, ok := s.Delete(a.Key)
		if !ok {
			return s, fmt.Errorf("%w: kv: del %q: no such key", ErrRefused, a.Key)
		}
		return t, nil
	}
	return s, fmt.Errorf("%w: kv: %q", ErrUnknownType, a.Type)
}

// KV is the built-in key-value app. Its state is a JSON object with the
// keys in sorted order.
var KV = &App[KVState, KVAction]{
	Name:   "kv",
	Reduce: KVReduce,
	Decode: func(_ identity.ID, b []byte) (KVAction, error) {
		var a KVAction
		err := unmarshal(b, &a)
		return a, err
	},
	Encode:  func(a KVAction) ([]byte, error) { return json.Marshal(a) },
	Marshal: func(s KVState) ([]byte, error) { return s.MarshalJSON() },
}

// KVState is an immutable map from string keys to JSON values: a treap
// whose node priorities are a hash of the key, updated by path copying. Set
// and Delete return a new state sharing all but O(log n) nodes with the old
// one, which stays valid; so the merge view can keep many snapshots cheaply.
// The zero value is the empty map.
type KVState struct {
	root *kvNode
	n    int
}

type kvNode struct {
	key         string
	val         json.RawMessage
	prio        uint64
	left, right *kvNode
}

// kvPrio is the treap priority of key: FNV-1a, then the splitmix64
// finalizer, because FNV's high bits barely change between keys that
// differ in their last byte ("k1", "k2"), which would make priorities
// follow key order and the treap a list.
func kvPrio(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Len returns the number of keys.
func (s KVState) Len() int { return s.n }

// Get returns the value of key.
func (s KVState) Get(key string) (json.RawMessage, bool) {
	for n := s.root; n != nil; {
		switch {
		case key < n.key:
			n = n.left
		case key > n.key:
			n = n.right
		default:
			return n.val, true
		}
	}
	return nil, false
}

// All yields every key and value in ascending key order.
func (s KVState) All() iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		var walk func(n *kvNode) bool
		walk = func(n *kvNode) bool {
			return n == nil || (walk(n.left) && yield(n.key, n.val) && walk(n.right))
		}
		walk(s.root)
	}
}

// Set returns s with key set to val.
func (s KVState) Set(key string, val json.RawMessage) KVState {
	root, added := kvInsert(s.root, key, val, kvPrio(key))
	if added {
		s.n++
	}
	return KVState{root: root, n: s.n}
}

// Delete returns s without key, and whether key was there.
func (s KVState) Delete(key string) (KVState, bool) {
	root, ok := kvDelete(s.root, key)
	if !ok {
		return s, false
	}
	return KVState{root: root, n: s.n - 1}, true
}

func kvInsert(n *kvNode, key string, val json.RawMessage, prio uint64) (*kvNode, bool) {
	if n == nil {
		return &kvNode{key: key, val: val, prio: prio}, true
	}
	c := *n
	var added bool
	switch {
	case key < n.key:
		c.left, added = kvInsert(n.left, key, val, prio)
		if c.left.prio > c.prio { // rotate right; c.left is a fresh node
			l := c.left
			c.left = l.right
			l.right = &c
			return l, added
		}
	case key > n.key:
		c.right, added = kvInsert(n.right, key, val, prio)
		if c.right.prio > c.prio { // rotate left
			r := c.right
			c.right = r.left
			r.left = &c
			return r, added
		}
	default:
		c.val = val
	}
	return &c, added
}

func kvDelete(n *kvNode, key string) (*kvNode, bool) {
	if n == nil {
		return nil, false
	}
	switch {
	case key < n.key:
		l, ok := kvDelete(n.left, key)
		if !ok {
			return n, false
		}
		c := *n
		c.left = l
		return &c, true
	case key > n.key:
		r, ok := kvDelete(n.right, key)
		if !ok {
			return n, false
		}
		c := *n
		c.right = r
		return &c, true
	}
	return kvJoin(n.left, n.right), true
}

// kvJoin joins two treaps whose keys are all of a below all of b.
func kvJoin(a, b *kvNode) *kvNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		c := *a
		c.right = kvJoin(a.right, b)
		return &c
	default:
		c := *b
		c.left = kvJoin(a, b.left)
		return &c
	}
}

// MarshalJSON writes the state as a JSON object with sorted keys.
func (s KVState) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	first := true
	for k, v := range s.All() {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	return append(buf, '}'), nil
}

// Map returns a copy of the state as a Go map.
func (s KVState) Map() map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, s.n)
	for k, v := range s.All() {
		m[k] = v
	}
	return m
}
