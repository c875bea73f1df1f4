package merge

// Final is the finality rule as a pure function, in the style of raft's
// quorum.CommittedIndex. order lists the entries of the merge order from
// some start, each as (author, seq) with authors numbered 0..n-1; acks[w]
// is writer w's acknowledgement vector: acks[w][a] is the highest seq of
// author a in the causal past of w's newest entry (0 if none; a missing
// component is 0). Final returns how many leading entries of order are
// final: the longest prefix whose every entry every writer has
// acknowledged. With no writers nothing is final.
//
// Entries of authors whose seq is at most min over writers of acks[w][a]
// are acknowledged by all; Final therefore computes that minimum once per
// author and scans the prefix.
func Final(order []AuthorSeq, acks [][]uint64) int {
	if len(acks) == 0 {
		return 0
	}
	n := 0
	for _, v := range acks {
		n = max(n, len(v))
	}
	low := make([]uint64, n)
	for a := range low {
		low[a] = ^uint64(0)
		for _, v := range acks {
			var s uint64
			if a < len(v) {
				s = v[a]
			}
			low[a] = min(low[a], s)
		}
	}
	return finalPrefix(order, low)
}

// AuthorSeq names an entry by its author's number and its seq.
type AuthorSeq struct {
	Author int
	Seq    uint64
}

func finalPrefix(order []AuthorSeq, low []uint64) int {
	for i, e := range order {
		if e.Author >= len(low) || e.Seq > low[e.Author] {
			return i
		}
	}
	return len(order)
}
