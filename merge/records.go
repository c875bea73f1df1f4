package merge

import (
	"encoding/binary"
	"slices"

	"github.com/sbfeed/sbfeed/feed"
)

// The view's per-entry storage: records in a chunked arena addressed by
// handle, the ID index, lanes and vector clocks.

// rec is 56 bytes plus the action: lane and flags share one word.
type rec[A any] struct {
	id     feed.ID
	clock  uint64
	seq    uint64
	lf     uint32 // lane (low 24 bits) and flags (high 8 bits)
	vc     uint32 // offset in vcData of the vector clock of the entry's past, its own lane excluded
	action A
}

const laneMask = 1<<24 - 1

// MaxLanes bounds the authors plus fork branches one view tracks.
const MaxLanes = laneMask

func (r *rec[A]) lane() uint32 { return r.lf & laneMask }

const (
	fCounting  uint32 = 1 << (24 + iota) // in the order
	fRefused                             // refused by the current fold
	fMember                              // a membership entry (never reaches the reducer)
	fBad                                 // content does not decode or membership malformed: always refused
	fSquashed                            // folded into a squash, gone from the order
	fForkClass                           // at or after its author's fork seq
	fProtected                           // fork-class and protected (merge-v1.md, 3)
)

// lane is one linear chain of an author: the first chain seen, or a fork
// branch. Vector clocks count per lane, so "is e in the causal past of f"
// stays exact when an author forks.
type lane struct {
	author uint32
	tip    uint32   // handle of the newest entry
	hs     []uint32 // handles in seq order (the fork rule searches them)
}

const noHandle = ^uint32(0)

const (
	chunkBits = 12
	chunkMask = 1<<chunkBits - 1
)

func (v *View[S, A]) rec(h uint32) *rec[A] { return &v.chunks[h>>chunkBits][h&chunkMask] }

func (v *View[S, A]) newRec(r rec[A]) {
	if v.nrecs&chunkMask == 0 {
		v.chunks = append(v.chunks, make([]rec[A], 1<<chunkBits))
	}
	*v.rec(uint32(v.nrecs)) = r
	v.nrecs++
}

// slotHash mixes the first 8 bytes of an ID with Config.IndexSeed
// (splitmix64 finaliser), so an attacker who does not know the seed cannot
// grind IDs into one probe chain.
func (v *View[S, A]) slotHash(id feed.ID) uint64 {
	x := binary.LittleEndian.Uint64(id[:8]) ^ v.cfg.IndexSeed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// lookup returns the handle of the entry with this ID. The index is an
// open-addressing table of handles (4 bytes a slot; the IDs stay in the
// records), built lazily: entries placed on the in-order fast path are
// indexed on the first lookup that needs them, so a run of one feed
// arriving in order costs no hash-table work at all.
func (v *View[S, A]) lookup(id feed.ID) (uint32, bool) {
	for {
		if len(v.slots) > 0 {
			mask := uint64(len(v.slots) - 1)
			for i := v.slotHash(id) & mask; ; i = (i + 1) & mask {
				s := v.slots[i]
				if s == 0 {
					break
				}
				if v.rec(s-1).id == id {
					return s - 1, true
				}
			}
		}
		if v.indexed == v.nrecs {
			return 0, false
		}
		for ; v.indexed < v.nrecs; v.indexed++ {
			v.indexAdd(uint32(v.indexed))
		}
	}
}

// indexAdd puts handle h in the table, growing it to keep the load at
// most 3/4.
func (v *View[S, A]) indexAdd(h uint32) {
	if (v.nslots+1)*4 > len(v.slots)*3 {
		old := v.slots
		v.slots = make([]uint32, max(1024, 2*len(old)))
		v.nslots = 0
		for _, s := range old {
			if s != 0 {
				v.slotPut(s - 1)
			}
		}
	}
	v.slotPut(h)
}

func (v *View[S, A]) slotPut(h uint32) {
	mask := uint64(len(v.slots) - 1)
	i := v.slotHash(v.rec(h).id) & mask
	for v.slots[i] != 0 {
		i = (i + 1) & mask
	}
	v.slots[i] = h + 1
	v.nslots++
}

func (v *View[S, A]) key(h uint32) Key { r := v.rec(h); return Key{Clock: r.clock, ID: r.id} }

func (v *View[S, A]) less(h, g uint32) bool {
	a, b := v.rec(h), v.rec(g)
	if a.clock != b.clock {
		return a.clock < b.clock
	}
	return a.id.Compare(b.id) < 0
}

func (v *View[S, A]) authorOfRec(h uint32) uint32 { return v.lanes[v.rec(h).lane()].author }

// vcAt returns the highest seq of lane l in the causal past of h, h itself
// included.
func (v *View[S, A]) vcAt(h uint32, l uint32) uint64 {
	r := v.rec(h)
	if r.lane() == l {
		return r.seq
	}
	n := v.vcData[r.vc]
	if uint64(l) < n {
		return v.vcData[uint64(r.vc)+1+uint64(l)]
	}
	return 0
}

// inPast reports whether e is h or in h's causal past.
func (v *View[S, A]) inPast(e, h uint32) bool {
	return v.vcAt(h, v.rec(e).lane()) >= v.rec(e).seq
}

func (v *View[S, A]) newLane(a uint32) uint32 {
	v.lanes = append(v.lanes, lane{author: a, tip: noHandle})
	return uint32(len(v.lanes) - 1)
}

// mergeVC builds the vector clock of an entry whose previous entry is prev
// (noHandle for none), with refs, in lane ln: the component-wise maximum of
// the full clocks of prev and refs, with ln's own component left out.
func (v *View[S, A]) mergeVC(prev uint32, refs []uint32, ln uint32) uint32 {
	n := len(v.lanes)
	vec := v.vcBuf[:0]
	for range n {
		vec = append(vec, 0)
	}
	v.vcBuf = vec
	add := func(h uint32) {
		r := v.rec(h)
		m := v.vcData[r.vc]
		for i := uint64(0); i < m; i++ {
			vec[i] = max(vec[i], v.vcData[uint64(r.vc)+1+i])
		}
		vec[r.lane()] = max(vec[r.lane()], r.seq)
	}
	if prev != noHandle {
		add(prev)
	}
	for _, h := range refs {
		add(h)
	}
	vec[ln] = 0
	off := uint32(len(v.vcData))
	if need := len(v.vcData) + 1 + n; need > cap(v.vcData) {
		// Double: append's 1.25× growth copies a large arena too often.
		v.vcData = slices.Grow(v.vcData, max(need, 2*cap(v.vcData))-len(v.vcData))
	}
	v.vcData = append(v.vcData, uint64(n))
	v.vcData = append(v.vcData, vec...)
	return off
}
