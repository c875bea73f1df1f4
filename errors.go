package sbfeed

import (
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/feed"
	"github.com/sbfeed/sbfeed/identity"
)

// Errors callers branch on with errors.Is.
var (
	// ErrClosed: the node was closed.
	ErrClosed = errors.New("sbfeed: node closed")
	// ErrForked: this node's own feed is proven forked (its key was used
	// elsewhere, or its data directory was copied and both copies wrote);
	// it refuses to dispatch more.
	ErrForked = errors.New("sbfeed: own feed is forked")
	// ErrTooLarge: an encoded action is over the entry content limit.
	ErrTooLarge = errors.New("sbfeed: action too large")
)

// Refusal says that an action was refused: the reducer returned an error or
// panicked, or its content could not be decoded (or opened). A refused
// action has no effect on the state, and every peer refuses the same ones.
type Refusal struct {
	Author identity.ID
	Seq    uint64
	ID     feed.ID
	Reason string
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s:%d#%s refused: %s", r.Author.Short(), r.Seq, r.ID.Short(), r.Reason)
}
