package feed_test

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// The RFC 8032 section 7.1 seeds (TEST 1, 2, 3): fixed, public keys shared
// with the vectors in docs/vectors.
var rfcSeeds = []string{
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
}

// rfcKey returns the key of RFC 8032 TEST i+1.
func rfcKey(t testing.TB, i int) *identity.Key {
	t.Helper()
	seed, err := hex.DecodeString(rfcSeeds[i])
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testNet = identity.NetworkFromName("test")

// build creates n consecutive signed entries of key's feed after head, with
// content "entry <seq>".
func build(t testing.TB, key *identity.Key, head feed.Head, n int) []feed.Entry {
	t.Helper()
	out := make([]feed.Entry, 0, n)
	for range n {
		e, err := feed.Create(key, testNet, head, feed.Draft{Content: []byte("entry " + strconv.FormatUint(head.Seq+1, 10))})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		head = e.Head()
	}
	return out
}

// mustCreate creates one signed entry or fails the test.
func mustCreate(t testing.TB, key *identity.Key, head feed.Head, d feed.Draft) feed.Entry {
	t.Helper()
	e, err := feed.Create(key, testNet, head, d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// resign recomputes e's signature after a test changed its fields, so a
// test reaches the check it means to reach instead of the signature check.
func resign(t testing.TB, key *identity.Key, e feed.Entry) feed.Entry {
	t.Helper()
	e.Refs = append([]feed.ID(nil), e.Refs...)
	if err := e.Sign(key, testNet); err != nil {
		t.Fatal(err)
	}
	return e
}

// namesEntry checks that an error message names the author, the seq and
// the field, as every feed error must.
func namesEntry(t testing.TB, err error, author identity.ID, seq uint64, field string) {
	t.Helper()
	msg := err.Error()
	for _, want := range []string{author.Short(), "seq " + strconv.FormatUint(seq, 10), field} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
}
