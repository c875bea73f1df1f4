package merge

import (
	"bytes"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

// MemberPrefix starts the content of every membership entry. Content with
// this prefix is reserved: it never reaches the application's Decode.
const MemberPrefix = "sbfeed/member/v1\x00"

// Membership operations, the byte after [MemberPrefix].
const (
	OpAdd    byte = 1
	OpRemove byte = 2
)

// memberSize is the exact size of a membership entry's content:
// prefix, op, 32-byte identity.
const memberSize = len(MemberPrefix) + 1 + identity.IDSize

// AddWriterContent returns the content of an entry that adds id to the
// writer set. It takes effect if its author is a writer (see merge-v1.md).
func AddWriterContent(id identity.ID) []byte { return memberContent(OpAdd, id) }

// RemoveWriterContent returns the content of an entry that removes id from
// the writer set. The removed writer's entries concurrent with it (neither
// in its causal past nor having it in theirs) stop counting.
func RemoveWriterContent(id identity.ID) []byte { return memberContent(OpRemove, id) }

func memberContent(op byte, id identity.ID) []byte {
	b := make([]byte, 0, memberSize)
	b = append(b, MemberPrefix...)
	b = append(b, op)
	return append(b, id[:]...)
}

// IsMember reports whether content is reserved for membership.
func IsMember(content []byte) bool { return bytes.HasPrefix(content, []byte(MemberPrefix)) }

// ParseMember decodes membership content.
func ParseMember(content []byte) (op byte, id identity.ID, err error) {
	if !IsMember(content) {
		return 0, id, fmt.Errorf("%w: no membership prefix", ErrMembership)
	}
	if len(content) != memberSize {
		return 0, id, fmt.Errorf("%w: %d bytes, want %d", ErrMembership, len(content), memberSize)
	}
	op = content[len(MemberPrefix)]
	if op != OpAdd && op != OpRemove {
		return 0, id, fmt.Errorf("%w: unknown operation %d", ErrMembership, op)
	}
	copy(id[:], content[len(MemberPrefix)+1:])
	return op, id, nil
}
