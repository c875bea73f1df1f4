package apps

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

var alice = identity.ID{1}

// fold decodes and reduces every action, skipping refusals as the merge view
// does, and returns the final state and the refusals.
func fold[S, A any](t *testing.T, app *App[S, A], actions ...string) (S, []error) {
	t.Helper()
	s := app.Init
	var refused []error
	for _, raw := range actions {
		a, err := app.Decode(alice, []byte(raw))
		if err == nil {
			var next S
			next, err = app.Reduce(s, a)
			if err == nil {
				s = next
			}
		}
		if err != nil {
			refused = append(refused, err)
		}
	}
	return s, refused
}

func stateJSON[S, A any](t *testing.T, app *App[S, A], s S) string {
	t.Helper()
	b, err := app.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApps(t *testing.T) {
	tests := []struct {
		name    string
		run     func(t *testing.T, actions ...string) (string, []error)
		actions []string
		want    string
		refused []error // in order
	}{
		{"counter/empty", runApp(Counter), nil, `0`, nil},
		{"counter/sequence", runApp(Counter), []string{
			`{"type":"INCREMENT"}`, `{"type":"INCREMENT"}`, `{"type":"DECREMENT"}`, `{"type":"UNKNOWN"}`, `{"type":"INCREMENT"}`,
		}, `2`, []error{ErrUnknownType}},
		{"counter/negative", runApp(Counter), []string{`{"type":"DECREMENT"}`, `{"type":"DECREMENT"}`}, `-2`, nil},
		{"counter/garbage", runApp(Counter), []string{`nope`, `{}`, `[1]`, `{"type":1}`, `{"type":"INCREMENT"} x`}, `0`,
			[]error{ErrBadAction, ErrBadAction, ErrBadAction, ErrBadAction, ErrBadAction}},
		{"kv/empty", runApp(KV), nil, `{}`, nil},
		{"kv/set-del", runApp(KV), []string{
			`{"type":"set","key":"b","value":{"x": [1, 2]}}`,
			`{"type":"set","key":"a","value":"one"}`,
			`{"type":"set","key":"c","value":null}`,
			`{"type":"set","key":"a","value":1.5}`,
			`{"type":"del","key":"c"}`,
			`{"type":"del","key":"c"}`,
			`{"type":"set","key":"d"}`,
			`{"type":"put","key":"d","value":1}`,
		}, `{"a":1.5,"b":{"x":[1,2]}}`, []error{ErrRefused, ErrBadAction, ErrUnknownType}},
		{"chat/say", runApp(Chat), []string{
			`{"type":"say","text":"hello"}`, `{"type":"say","text":"  "}`, `{"type":"shout","text":"x"}`, `{"type":"say","text":"again"}`,
		}, `[{"author":"` + alice.String() + `","text":"hello"},{"author":"` + alice.String() + `","text":"again"}]`,
			[]error{ErrRefused, ErrUnknownType}},
		{"chat/too-long", runApp(Chat), []string{`{"type":"say","text":"` + strings.Repeat("x", MaxChatText+1) + `"}`}, `[]`, []error{ErrRefused}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, refused := tt.run(t, tt.actions...)
			if got != tt.want {
				t.Errorf("state %s, want %s", got, tt.want)
			}
			if len(refused) != len(tt.refused) {
				t.Fatalf("refusals %v, want %d", refused, len(tt.refused))
			}
			for i := range refused {
				if !errors.Is(refused[i], tt.refused[i]) {
					t.Errorf("refusal %d: %v, want %v", i, refused[i], tt.refused[i])
				}
			}
		})
	}
}

func runApp[S, A any](app *App[S, A]) func(t *testing.T, actions ...string) (string, []error) {
	return func(t *testing.T, actions ...string) (string, []error) {
		s, r := fold(t, app, actions...)
		return stateJSON(t, app, s), r
	}
}

// TestReduxCounterCases checks the counter against the Redux counter-vanilla
// cases of ../shared/data/redux-examples.md (unknown types leave the state
// unchanged there; here they are refused, which also leaves it unchanged).
func TestReduxCounterCases(t *testing.T) {
	f, err := os.Open("../../shared/data/redux-examples.md")
	if err != nil {
		t.Skipf("shared test data absent: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"id":"counter-vanilla/`) {
			continue
		}
		var c struct {
			ID       string
			Actions  []json.RawMessage
			Expected int64
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, a := range c.Actions {
			acts = append(acts, string(a))
		}
		got, _ := fold(t, Counter, acts...)
		if got != c.Expected {
			t.Errorf("%s: %d, want %d", c.ID, got, c.Expected)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no counter-vanilla cases found")
	}
}

// TestKVStateAgainstMap checks the persistent treap against a Go map over
// random operations, and that every older version stays intact.
func TestKVStateAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s KVState
	m := map[string]json.RawMessage{}
	type version struct {
		s KVState
		m map[string]json.RawMessage
	}
	var versions []version
	for i := range 5000 {
		k := string(rune('a' + r.IntN(26)))
		if r.IntN(4) > 0 {
			k += string(rune('a' + r.IntN(26)))
		}
		if r.IntN(3) == 0 {
			var ok bool
			s, ok = s.Delete(k)
			_, had := m[k]
			if ok != had {
				t.Fatalf("delete %q: %v, map had it: %v", k, ok, had)
			}
			delete(m, k)
		} else {
			v := json.RawMessage(`"` + k + `"`)
			s = s.Set(k, v)
			m[k] = v
		}
		if i%250 == 0 {
			versions = append(versions, version{s, maps.Clone(m)})
		}
	}
	versions = append(versions, version{s, m})
	for i, v := range versions {
		got := v.s.Map()
		if !maps.EqualFunc(got, v.m, func(a, b json.RawMessage) bool { return string(a) == string(b) }) || v.s.Len() != len(v.m) {
			t.Fatalf("version %d: %d keys, map has %d", i, v.s.Len(), len(v.m))
		}
		keys := slices.Collect(maps.Keys(v.m))
		slices.Sort(keys)
		var order []string
		for k := range v.s.All() {
			order = append(order, k)
		}
		if !slices.Equal(order, keys) {
			t.Fatalf("version %d: iteration order %v, want %v", i, order, keys)
		}
		for _, k := range keys {
			if g, ok := v.s.Get(k); !ok || string(g) != string(v.m[k]) {
				t.Fatalf("version %d: Get(%q) = %s, %v", i, k, g, ok)
			}
		}
	}
}

func TestDigest(t *testing.T) {
	a, _ := fold(t, KV, `{"type":"set","key":"x","value":1}`, `{"type":"set","key":"y","value":2}`)
	b, _ := fold(t, KV, `{"type":"set","key":"y","value":2}`, `{"type":"set","key":"x","value": 1 }`)
	da, _ := KV.Digest(a)
	db, _ := KV.Digest(b)
	if da != db || len(da) != 64 {
		t.Errorf("same state, digests %s and %s", da, db)
	}
	c, _ := fold(t, KV, `{"type":"set","key":"x","value":2}`)
	if dc, _ := KV.Digest(c); dc == da {
		t.Error("different states share a digest")
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	b, err := Chat.Encode(ChatAction{Type: ChatSay, Text: "hi", Author: alice})
	if err != nil || string(b) != `{"type":"say","text":"hi"}` {
		t.Fatalf("%s %v", b, err)
	}
	bob := identity.ID{2}
	a, err := Chat.Decode(bob, b)
	if err != nil || a.Author != bob || a.Text != "hi" {
		t.Fatalf("%+v %v: the author must come from the entry, not the JSON", a, err)
	}
	b, _ = KV.Encode(KVAction{Type: KVSet, Key: "k", Value: json.RawMessage(`[1]`)})
	if string(b) != `{"type":"set","key":"k","value":[1]}` {
		t.Fatal(string(b))
	}
	b, _ = Counter.Encode(CounterAction{Type: Increment})
	if string(b) != `{"type":"INCREMENT"}` {
		t.Fatal(string(b))
	}
}

func FuzzDecodeActions(f *testing.F) {
	for _, s := range []string{`{"type":"INCREMENT"}`, `{"type":"set","key":"k","value":{"a":1}}`, `{"type":"say","text":"hi"}`, `{`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// No input may panic a codec or a reducer.
		if a, err := Counter.Decode(alice, b); err == nil {
			Counter.Reduce(0, a)
		}
		if a, err := KV.Decode(alice, b); err == nil {
			s, err := KV.Reduce(KVState{}, a)
			if err == nil {
				out, err := s.MarshalJSON()
				if err != nil || !json.Valid(out) {
					t.Fatalf("kv state JSON %s invalid: %v", out, err)
				}
			}
		}
		if a, err := Chat.Decode(alice, b); err == nil {
			Chat.Reduce(nil, a)
		}
	})
}

// The fast kv decoder accepts only inputs the general decoder accepts, and
// decodes them to exactly the same action. (The general decoder runs on
// input encoding/json has validated, as UnmarshalJSON does.)
func FuzzKVFast(f *testing.F) {
	for _, s := range []string{
		`{"type":"set","key":"k1","value":1}`, `{"type":"set","key":"k","value":"v"}`,
		`{"type":"del","key":"k"}`, `{"type":"set","key":"k","value":-0.5e+3}`,
		`{"type":"set","key":"k","value":01}`, `{"type":"set","key":"k","value":1.}`,
		`{"type":"set","key":"k\u00e9","value":1}`, `{"type":"set","key":"k","value":"a\"b"}`,
		`{"type":"set","key":"k","value":{"a":1}}`, `{"type":"set","key":"k","value":null}`,
		`{"type":"set","key":"k","value":1}x`, `{"type":"set","key":"k","value":}`,
		`{"TYPE":"set","key":"k"}`, `{"type":"set","key":"k","value": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := kvFast(b)
		if !ok {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("fast path accepted invalid JSON %q", b)
		}
		slow, err := kvGeneral(b)
		if err != nil {
			t.Fatalf("fast path accepted %q, the general decoder refuses it: %v", b, err)
		}
		if fast.Type != slow.Type || fast.Key != slow.Key || !bytes.Equal(fast.Value, slow.Value) || (fast.Value == nil) != (slow.Value == nil) {
			t.Fatalf("%q: fast %+v, general %+v", b, fast, slow)
		}
	})
}

func TestKVFastTakesTheCanonicalForm(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"type":"set","key":"k1","value":12}`, true},
		{`{"type":"set","key":"k1","value":"x"}`, true},
		{`{"type":"del","key":"k1"}`, true},
		{`{"type":"set","key":"k1","value":{"a":1}}`, false}, // objects: general decoder
		{`{"type":"set","key":"k1","value":01}`, false},      // not a JSON number
		{`{"type":"set","key":"k\u00e9"}`, false},            // escapes
		{`{"key":"k1","type":"del"}`, false},                 // other field order
	} {
		_, ok := kvFast([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("kvFast(%s) ok = %v, want %v", tc.in, ok, tc.ok)
		}
	}
	b, _ := KV.Encode(KVAction{Type: KVSet, Key: "k", Value: json.RawMessage(`7`)})
	if _, ok := kvFast(b); !ok {
		t.Errorf("kvFast refuses what KV.Encode writes: %s", b)
	}
}
