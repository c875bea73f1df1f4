package replicate

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"

	"github.com/cbergoon/merkletree"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Domain-separation prefixes of the heads Merkle tree. github.com/cbergoon/merkletree
// duplicates the last node of every odd level, so [A,B,C] and [A,B,C,C] build
// the same tree; prefixing leaves and interior nodes differently and committing
// to the leaf count in the final root removes that ambiguity (the
// CVE-2012-2459 shape).
const (
	leafPrefix     = 0x00
	interiorPrefix = 0x01
	rootPrefix     = 0x02
)

type headLeaf struct{ b []byte }

func (l headLeaf) CalculateHash() ([]byte, error) {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(l.b)
	return h.Sum(nil), nil
}

func (l headLeaf) Equals(o merkletree.Content) (bool, error) {
	ol, ok := o.(headLeaf)
	return ok && bytes.Equal(l.b, ol.b), nil
}

// prefixedHash is SHA-256 with the interior prefix written first, after every
// Reset too: merkletree hashes interior nodes with a fresh hash per node.
type prefixedHash struct{ hash.Hash }

func newInteriorHash() hash.Hash {
	h := prefixedHash{sha256.New()}
	h.Reset()
	return h
}

func (h prefixedHash) Reset() {
	h.Hash.Reset()
	h.Hash.Write([]byte{interiorPrefix})
}

// headLeafBytes is the leaf form of one head: author, seq, head ID.
func headLeafBytes(author identity.ID, h feed.Head) []byte {
	b := make([]byte, 0, identity.IDSize+8+feed.IDSize)
	b = append(b, author[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	return append(b, h.ID[:]...)
}

// HeadsRoot is the Summary root of a heads vector: SHA-256 of 0x02, the
// 8-byte big-endian leaf count and the root of a Merkle tree whose leaves are
// author ‖ seq (8 bytes BE) ‖ head ID in ascending author order, leaf hashes
// SHA-256(0x00 ‖ leaf) and interior hashes SHA-256(0x01 ‖ left ‖ right), odd
// levels padded by duplicating their last node (as cbergoon/merkletree
// v0.2.0 does). Feeds with seq 0 are not leaves.
func HeadsRoot(heads map[identity.ID]feed.Head) [32]byte {
	authors := make([]identity.ID, 0, len(heads))
	for a, h := range heads {
		if h.Seq > 0 {
			authors = append(authors, a)
		}
	}
	slices.SortFunc(authors, compareID)
	leaves := make([][]byte, len(authors))
	for i, a := range authors {
		leaves[i] = headLeafBytes(a, heads[a])
	}
	return merkleRoot(leaves)
}

// merkleRoot commits to the ordered leaves and their count.
func merkleRoot(leaves [][]byte) [32]byte {
	out := sha256.New()
	out.Write([]byte{rootPrefix})
	out.Write(binary.BigEndian.AppendUint64(nil, uint64(len(leaves))))
	if len(leaves) > 0 {
		cs := make([]merkletree.Content, len(leaves))
		for i, l := range leaves {
			cs[i] = headLeaf{l}
		}
		// NewTree fails only on an empty list, excluded above.
		if t, err := merkletree.NewTreeWithHashStrategy(cs, newInteriorHash); err == nil {
			out.Write(t.MerkleRoot())
		}
	}
	var r [32]byte
	copy(r[:], out.Sum(nil))
	return r
}
