package store

import (
	"encoding/binary"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Key layout, version 1 (docs/spec/store-v1.md). Every key starts with a
// one-byte table tag; integers are big endian so that byte order is numeric
// order.
//
//	0x00 "version"                         -> uint64 format version
//	0x00 "network"                         -> SHA-256 of the network key
//	'e' author(32) seq(8)                  -> the entry's canonical encoding
//	'h' author(32)                         -> head record (see headRecord)
//	'i' id(32)                             -> author(32) seq(8)
//	'm' clock(8) id(32)                    -> author(32) seq(8)
//	'f' author(32) seq(8) id(32)           -> encoded feed.ForkProof
//	's' name                               -> snapshot bytes
const (
	tagMeta     = 0x00
	tagEntry    = 'e'
	tagHead     = 'h'
	tagByID     = 'i'
	tagMerge    = 'm'
	tagFork     = 'f'
	tagSnapshot = 's'
)

// FormatVersion is the store format this build writes and reads.
const FormatVersion = 1

var (
	keyVersion = []byte("\x00version")
	keyNetwork = []byte("\x00network")
)

func entryKey(dst []byte, author identity.ID, seq uint64) []byte {
	dst = append(dst, tagEntry)
	dst = append(dst, author[:]...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// feedBounds returns the key range of author's entries with from <= seq <= to.
func feedBounds(author identity.ID, from, to uint64) (lo, hi []byte) {
	lo = entryKey(nil, author, from)
	if to == ^uint64(0) {
		hi = append([]byte{tagEntry}, author[:]...)
		return lo, prefixEnd(hi)
	}
	return lo, entryKey(nil, author, to+1)
}

func headKey(author identity.ID) []byte {
	return append([]byte{tagHead}, author[:]...)
}

func idKey(dst []byte, id feed.ID) []byte {
	dst = append(dst, tagByID)
	return append(dst, id[:]...)
}

func mergeKey(dst []byte, clock uint64, id feed.ID) []byte {
	dst = append(dst, tagMerge)
	dst = binary.BigEndian.AppendUint64(dst, clock)
	return append(dst, id[:]...)
}

func forkKey(author identity.ID, seq uint64, id feed.ID) []byte {
	k := append([]byte{tagFork}, author[:]...)
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, id[:]...)
}

func snapshotKey(name string) []byte { return append([]byte{tagSnapshot}, name...) }

// locator is the value of the 'i' and 'm' indexes.
func locator(dst []byte, author identity.ID, seq uint64) []byte {
	dst = append(dst, author[:]...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

func parseLocator(v []byte) (identity.ID, uint64, error) {
	var a identity.ID
	if len(v) != identity.IDSize+8 {
		return a, 0, corruptf("index value of %d bytes", len(v))
	}
	copy(a[:], v)
	return a, binary.BigEndian.Uint64(v[identity.IDSize:]), nil
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// headRecord is the value of an 'h' key: seq(8) id(32) clock(8) kind(1)
// forkedAt(8), 57 bytes. forkedAt is 0 for a feed with no known fork.
const headRecordSize = 8 + 32 + 8 + 1 + 8

func encodeHead(h FeedHead) []byte {
	b := make([]byte, 0, headRecordSize)
	b = binary.BigEndian.AppendUint64(b, h.Head.Seq)
	b = append(b, h.Head.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Head.Clock)
	b = append(b, byte(h.Head.Kind))
	return binary.BigEndian.AppendUint64(b, h.ForkedAt)
}

func decodeHead(author identity.ID, b []byte) (FeedHead, error) {
	if len(b) != headRecordSize {
		return FeedHead{}, corruptf("head record of %s: %d bytes", author.Short(), len(b))
	}
	h := FeedHead{Author: author}
	h.Head.Seq = binary.BigEndian.Uint64(b)
	copy(h.Head.ID[:], b[8:])
	h.Head.Clock = binary.BigEndian.Uint64(b[40:])
	h.Head.Kind = feed.ClockKind(b[48])
	h.ForkedAt = binary.BigEndian.Uint64(b[49:])
	return h, nil
}
