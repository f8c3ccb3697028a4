package cluster

import (
	"context"
	"slices"
	"sync"
)

// Handler hears of segments whose Peers or Remote may have changed.
type Handler interface {
	SegmentChanged(vni int)
}

// notifier hands changed VNIs to the Handler from one goroutine, never
// holding the cluster's locks (the handler calls back into the cluster).
// VNIs that change again before the handler gets to them are reported once.
type notifier struct {
	mu      sync.Mutex
	pending map[int]struct{}
	wake    chan struct{}
}

func newNotifier() *notifier {
	return &notifier{pending: map[int]struct{}{}, wake: make(chan struct{}, 1)}
}

// add queues VNIs for the handler, skipping zeros (nothing changed); it
// never blocks.
func (n *notifier) add(vnis ...int) {
	n.mu.Lock()
	queued := false
	for _, vni := range vnis {
		if vni > 0 {
			n.pending[vni] = struct{}{}
			queued = true
		}
	}
	n.mu.Unlock()
	if !queued {
		return
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) take() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]int, 0, len(n.pending))
	for vni := range n.pending {
		out = append(out, vni)
	}
	clear(n.pending)
	slices.Sort(out)
	return out
}

// run calls h for queued VNIs until ctx ends.
func (n *notifier) run(ctx context.Context, h Handler) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		for _, vni := range n.take() {
			if ctx.Err() != nil {
				return
			}
			if h != nil {
				h.SegmentChanged(vni)
			}
		}
	}
}
