package feed_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// The benchmarks come in pairs: each sbfeed path next to the bare ed25519
// operation that bounds it, measured in the same run (docs/bench/feed.md).

var content100 = make([]byte, 100)

// BenchmarkAppend creates, signs and encodes one entry with 100 bytes of
// content, advancing the feed each time.
func BenchmarkAppend(b *testing.B) {
	k := rfcKey(b, 0)
	var head feed.Head
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		e, err := feed.Create(k, testNet, head, feed.Draft{Content: content100})
		if err != nil {
			b.Fatal(err)
		}
		buf = e.AppendEncode(buf[:0])
		head = e.Head()
	}
}

// signedMessage returns an entry's encoding and the 80 bytes its signature
// covers.
func signedMessage(b *testing.B) ([]byte, []byte) {
	e := build(b, rfcKey(b, 0), feed.Head{}, 2)[1]
	e.Content = content100
	e = resign(b, rfcKey(b, 0), e)
	id := e.ID()
	return e.Encode(), identity.AppendSignedMessage(nil, feed.SignaturePurpose, testNet, id[:])
}

// BenchmarkBareSign is crypto/ed25519.Sign of the same 80-byte signed
// message an entry's signature covers: the floor of BenchmarkAppend.
func BenchmarkBareSign(b *testing.B) {
	priv := rfcKey(b, 0).PrivateKey()
	_, msg := signedMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

// BenchmarkVerifyEntry decodes and fully verifies (fields and signature)
// one encoded entry with 100 bytes of content.
func BenchmarkVerifyEntry(b *testing.B) {
	enc, _ := signedMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := feed.Decode(enc)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Verify(testNet); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkBareVerify is crypto/ed25519.Verify of the same signature: the
// floor of BenchmarkVerifyEntry.
func BenchmarkBareVerify(b *testing.B) {
	enc, msg := signedMessage(b)
	id := rfcKey(b, 0).ID()
	sig := enc[len(enc)-64:]
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(id[:], msg, sig) {
			b.Fatal("bad")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyChain verifies a run of 10,000 consecutive decoded
// entries (100-byte content) by hash links plus the newest signature.
func BenchmarkVerifyChain(b *testing.B) {
	const n = 10_000
	k := rfcKey(b, 0)
	drafts := make([]feed.Draft, n)
	for i := range drafts {
		drafts[i].Content = content100
	}
	run, err := feed.Chain(k.ID(), feed.Head{}, drafts)
	if err != nil {
		b.Fatal(err)
	}
	if err := run[n-1].Sign(k, testNet); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := feed.VerifyChain(testNet, feed.Head{}, run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkNext is what BenchmarkAppend adds to signing: building the
// unsigned entry (hashing its body) and encoding it. On a loaded machine
// the ratio Append/BareSign is noisy; this absolute overhead is not.
func BenchmarkNext(b *testing.B) {
	k := rfcKey(b, 0)
	var head feed.Head
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		e, err := feed.Next(k.ID(), head, feed.Draft{Content: content100})
		if err != nil {
			b.Fatal(err)
		}
		buf = e.AppendEncode(buf[:0])
		head = e.Head()
	}
}

// BenchmarkDecode is most of what BenchmarkVerifyEntry adds to a bare
// verification: decoding (one allocation for the content, one SHA-256);
// Verify hashes the body once more, as it never trusts a cached ID.
func BenchmarkDecode(b *testing.B) {
	enc, _ := signedMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := feed.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
