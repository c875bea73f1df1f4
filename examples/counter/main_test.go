package main

import (
	"bytes"
	"testing"
)

func TestCounterExample(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "alice: counter = 25\nbob: counter = 25\ncarol: counter = 25\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestReducerUnchanged: the reducer is the plain Redux one.
func TestReducerUnchanged(t *testing.T) {
	s := 0
	for _, a := range []string{"INCREMENT", "INCREMENT", "DECREMENT", "UNKNOWN", "INCREMENT"} {
		s, _ = counter(s, Action{Type: a})
	}
	if s != 2 {
		t.Fatalf("counter = %d, want 2", s)
	}
}
