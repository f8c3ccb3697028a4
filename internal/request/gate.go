// Package request decides, once and atomically, whether a request's result
// is kept or the request timed out. The protocol answers dockerd with a
// timeout error when a request runs too long, and Docker never deletes what
// it was told failed: so the driver must not record anything afterwards,
// and once it has recorded, the real answer must reach Docker instead of
// the timeout error.
package request

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrTimedOut is returned by Commit when the timeout answer went first.
var ErrTimedOut = errors.New("request timed out and was answered so: nothing is recorded")

// Gate is one request's decision between its result and its timeout.
type Gate struct {
	mu    sync.Mutex
	state state
}

type state int

const (
	open state = iota
	committed
	expired
)

type gateKey struct{}

// WithGate returns a context carrying a new gate for one request.
func WithGate(ctx context.Context) (context.Context, *Gate) {
	g := &Gate{}
	return context.WithValue(ctx, gateKey{}, g), g
}

// Expire decides for the timeout, unless the result was committed first;
// it reports whether the timeout won.
func (g *Gate) Expire() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == open {
		g.state = expired
	}
	return g.state == expired
}

// Commit decides for the result, right before the driver makes it durable.
// It fails when the timeout was decided first, or when the caller gave up
// (ctx ended) before a decision. Without a gate, only ctx counts.
func Commit(ctx context.Context) error {
	g, _ := ctx.Value(gateKey{}).(*Gate)
	if g == nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("request abandoned: %w", err)
		}
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == expired:
		return ErrTimedOut
	case g.state == open && ctx.Err() != nil:
		g.state = expired
		return fmt.Errorf("request abandoned: %w", ctx.Err())
	}
	g.state = committed
	return nil
}
