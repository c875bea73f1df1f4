package sbfeed

import "github.com/sbfeed/sbfeed/feed"

// replicator is a placeholder until replication is wired in.
type replicator[S, A any] struct {
	n       *Node[S, A]
	inbound chan struct{}
}

func newReplicator[S, A any](n *Node[S, A]) *replicator[S, A] {
	return &replicator[S, A]{n: n}
}

func (r *replicator[S, A]) step(struct{})                     {}
func (r *replicator[S, A]) tick()                             {}
func (r *replicator[S, A]) shutdown()                         {}
func (r *replicator[S, A]) wait()                             {}
func (r *replicator[S, A]) notify(_ []feed.Entry, local bool) {}
