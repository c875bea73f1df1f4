package identity_test

import (
	"bytes"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

func ExampleParseID() {
	id, err := identity.ParseID("sbf1...typo")
	fmt.Println(err != nil)

	k, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	id, err = identity.ParseID(k.ID().String())
	fmt.Println(id == k.ID(), err)
	// Output:
	// true
	// true <nil>
}

func ExampleKey_Sign() {
	// Generate reads the seed from the reader it is given:
	// crypto/rand.Reader in production, a fixed one here.
	k, _ := identity.Generate(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	chat := identity.NetworkFromName("chat")
	sig := k.Sign("sbfeed/example/v1", chat, []byte("hello"))

	fmt.Println(identity.Verify(k.ID(), "sbfeed/example/v1", chat, []byte("hello"), sig[:]))
	// The signature is bound to its network and purpose.
	fmt.Println(identity.Verify(k.ID(), "sbfeed/example/v1", identity.DefaultNetwork, []byte("hello"), sig[:]))
	fmt.Println(identity.Verify(k.ID(), "sbfeed/other/v1", chat, []byte("hello"), sig[:]))
	// Output:
	// true
	// false
	// false
}

func ExampleMarshalKeyFile() {
	k, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	file, _ := identity.MarshalKeyFile(k, nil, identity.SealOptions{})
	fmt.Print(string(file))

	back, _ := identity.ParseKeyFile(file, nil)
	fmt.Println(back.ID() == k.ID())
	// Output:
	// sbfeed key v1
	// id sbf1rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5of557vji
	// seed AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE
	// true
}

func ExampleID_String() {
	k, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	fmt.Println(k.ID())
	fmt.Println(k.ID().Short())
	// Output:
	// sbf1rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5of557vji
	// rkeohxlu
}
