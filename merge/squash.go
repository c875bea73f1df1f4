package merge

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/cbergoon/merkletree"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// SquashDomain starts the bytes hashed into a squash root.
const SquashDomain = "sbfeed/merge/squash/v1"

// Hash-input prefixes that keep leaves, interior nodes and roots apart.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// Snapshot is a squashed, final prefix of the order: the state after it,
// the frontier, the IDs it covers and a Merkle root committing to them.
// Squashes chain: each root commits to the previous one, so the newest root
// commits to every squashed entry since the first.
type Snapshot[S any] struct {
	// State is the state after the squashed entries.
	State S
	// Writers is the writer set at the time of the squash, sorted.
	Writers []identity.ID
	// Start is the number of entries squashed before this snapshot; the
	// snapshot covers order positions Start .. Frontier.Count-1.
	Start    uint64
	Frontier Frontier
	// Prev is the previous squash's Root (zero for the first).
	Prev [32]byte
	// Tree is the Merkle root over IDs; Root is the commitment published
	// for auditors: SHA-256(SquashDomain, 0x00, Prev, Start, count, Tree).
	Tree [32]byte
	Root [32]byte
	// IDs are the squashed entries' IDs in order. The view does not keep
	// them; the caller stores the snapshot if it wants to prove inclusion.
	IDs []feed.ID
}

// Proof shows that an ID is at position Start+Index of a squash.
type Proof struct {
	Index uint64 // position inside the squash, 0-based
	Count uint64 // number of IDs in the squash
	Start uint64
	Prev  [32]byte
	Path  [][32]byte // sibling hashes from the leaf up
}

// leaf adapts an ID to the merkletree library. Its hash is
// SHA-256(0x00 || id); interior nodes are SHA-256(0x01 || left || right)
// (see prefixedHash), so a leaf can never pass for a node.
type leaf feed.ID

func (l leaf) CalculateHash() ([]byte, error) {
	h := leafHash(feed.ID(l))
	return h[:], nil // exactly 32 bytes: the library appends to it
}

func (l leaf) Equals(o merkletree.Content) (bool, error) {
	ol, ok := o.(leaf)
	return ok && ol == l, nil
}

func leafHash(id feed.ID) [32]byte {
	var b [1 + feed.IDSize]byte
	b[0] = leafPrefix
	copy(b[1:], id[:])
	return sha256.Sum256(b[:])
}

func nodeHash(l, r [32]byte) [32]byte {
	var b [1 + 64]byte
	b[0] = nodePrefix
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// prefixedHash is SHA-256 with the interior-node prefix written first,
// also after Reset.
type prefixedHash struct{ hash.Hash }

func newNodeHasher() hash.Hash {
	h := prefixedHash{sha256.New()}
	h.Reset()
	return h
}

func (h prefixedHash) Reset() {
	h.Hash.Reset()
	h.Hash.Write([]byte{nodePrefix})
}

// buildTree builds the library's tree over ids with the prefixed hashes.
// The library duplicates the last node of every odd level; the commitment
// to the count (squashRoot) is what keeps [A,B,C] and [A,B,C,C] apart.
func buildTree(ids []feed.ID) (*merkletree.MerkleTree, error) {
	cs := make([]merkletree.Content, len(ids))
	for i, id := range ids {
		cs[i] = leaf(id)
	}
	return merkletree.NewTreeWithHashStrategy(cs, newNodeHasher)
}

// TreeRoot returns the Merkle root over ids as the library computes it
// with sbfeed's prefixes, without the count commitment. ids must not be
// empty.
func TreeRoot(ids []feed.ID) ([32]byte, error) {
	var r [32]byte
	if len(ids) == 0 {
		return r, fmt.Errorf("merge: Merkle tree over no IDs")
	}
	t, err := buildTree(ids)
	if err != nil {
		return r, fmt.Errorf("merge: Merkle tree: %w", err)
	}
	copy(r[:], t.MerkleRoot())
	return r, nil
}

// SquashRoot is the published commitment of a squash: it binds the tree
// root to the number of leaves, the position and the previous squash.
func SquashRoot(prev [32]byte, start, count uint64, tree [32]byte) [32]byte {
	b := make([]byte, 0, len(SquashDomain)+1+32+16+32)
	b = append(b, SquashDomain...)
	b = append(b, 0)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, start)
	b = binary.BigEndian.AppendUint64(b, count)
	b = append(b, tree[:]...)
	return sha256.Sum256(b)
}

// treeDepth is the number of levels above the leaves in the library's tree
// for n leaves: at least 1 (a single leaf is paired with its copy).
func treeDepth(n uint64) int {
	d := 1
	for w := uint64(2); w < n; w <<= 1 {
		d++
	}
	return d
}

// Prove returns the inclusion proof of id. It rebuilds the tree from
// s.IDs, so it costs O(len(IDs)).
func (s *Snapshot[S]) Prove(id feed.ID) (Proof, error) {
	idx := -1
	for i := range s.IDs {
		if s.IDs[i] == id {
			idx = i
			break
		}
	}
	if idx < 0 {
		return Proof{}, fmt.Errorf("merge: %s is not in the squash", id.Short())
	}
	t, err := buildTree(s.IDs)
	if err != nil {
		return Proof{}, fmt.Errorf("merge: Merkle tree: %w", err)
	}
	p := Proof{Index: uint64(idx), Count: uint64(len(s.IDs)), Start: s.Start, Prev: s.Prev}
	cur := t.Leafs[idx]
	for cur.Parent != nil {
		par := cur.Parent
		sib := par.Left
		if par.Left == cur {
			sib = par.Right
		}
		var h [32]byte
		copy(h[:], sib.Hash)
		p.Path = append(p.Path, h)
		cur = par
	}
	return p, nil
}

// VerifyInclusion checks that p proves id inside the squash whose published
// root is root. It trusts nothing in p: the path length must match the
// count, the index must be below it, and the recomputed commitment must
// equal root.
func VerifyInclusion(root [32]byte, id feed.ID, p Proof) error {
	if p.Count == 0 || p.Index >= p.Count {
		return fmt.Errorf("%w: index %d of %d", ErrBadProof, p.Index, p.Count)
	}
	if len(p.Path) != treeDepth(p.Count) {
		return fmt.Errorf("%w: path of %d hashes, a tree of %d leaves needs %d", ErrBadProof, len(p.Path), p.Count, treeDepth(p.Count))
	}
	h := leafHash(id)
	idx := p.Index
	for _, sib := range p.Path {
		if idx&1 == 0 {
			h = nodeHash(h, sib)
		} else {
			h = nodeHash(sib, h)
		}
		idx >>= 1
	}
	got := SquashRoot(p.Prev, p.Start, p.Count, h)
	if !bytes.Equal(got[:], root[:]) {
		return fmt.Errorf("%w: root mismatch", ErrBadProof)
	}
	return nil
}
