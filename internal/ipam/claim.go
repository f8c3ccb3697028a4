package ipam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// flight is a block claim under way for a pool. Requests that need its
// outcome wait for done; it goes on when they give up, so a block claimed
// late is still used.
type flight struct {
	done chan struct{}
	err  error // set before done is closed
}

func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return fmt.Errorf("claiming a new address block did not finish in time: %w", ctx.Err())
	}
}

// search is what a block claim needs to know of its pool, copied so that
// it can run without a.mu.
type search struct {
	pool   *pool // a copy with the record and blocks only, for pool.hasUsable
	others map[netip.Prefix]string
	node   string
}

// searchFor copies what a block claim for p needs. Requires a.mu.
func (a *Allocator) searchFor(p *pool) search {
	return search{
		pool:   &pool{rec: p.rec, blocks: slices.Clone(p.blocks)},
		others: maps.Clone(p.others),
		node:   a.claims.Node(),
	}
}

// startClaim returns the pool's block claim under way, starting one if
// none is. Requires a.mu.
func (a *Allocator) startClaim(p *pool) *flight {
	if p.claim != nil {
		return p.claim
	}
	f := &flight{done: make(chan struct{})}
	if !a.background(func(ctx context.Context) { a.runClaim(ctx, p.id, f) }) {
		f.err = errClosed
		close(f.done)
		return f
	}
	p.claim = f
	return f
}

// refill claims another block in the background when the pool runs low,
// unless a claim is under way or failed a moment ago. Requires a.mu.
func (a *Allocator) refill(p *pool) {
	if p.claim == nil && time.Since(p.refillFailed) >= refillPause && p.low() {
		a.startClaim(p)
	}
}

// runClaim claims a block for pool id and ends flight f with the outcome.
func (a *Allocator) runClaim(ctx context.Context, id string, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, flightBudget)
	defer cancel()
	var s search
	err := a.refresh(ctx, id)
	if err == nil {
		a.mu.Lock()
		if p := a.pools[id]; p != nil {
			s = a.searchFor(p)
		} else {
			err = fmt.Errorf("IPAM pool %q: released meanwhile: %w", id, ErrNotFound)
		}
		a.mu.Unlock()
	}
	var b netip.Prefix
	seen := map[netip.Prefix]string{}
	if err == nil {
		b, err = a.searchBlock(ctx, s, seen)
	}

	a.mu.Lock()
	p := a.pools[id]
	stray := false
	if err == nil {
		stray, err = a.adoptBlock(p, b)
	}
	if p != nil {
		if p.claim == f {
			p.claim = nil
		}
		maps.Copy(p.others, seen)
		if err != nil {
			p.refillFailed = time.Now()
			a.log.Debug("IPAM: no block claimed", "pool", id, "err", err)
		}
	}
	f.err = err
	close(f.done)
	a.mu.Unlock()

	if stray {
		a.releaseStray(s.pool.rec.Pool, b)
	}
}

// searchBlock claims a block of the range, trying first the blocks not
// known to be held, starting at this host's own offset, then those last
// seen held, which may have been released since.
// The blocks found held are added to seen.
func (a *Allocator) searchBlock(ctx context.Context, s search, seen map[netip.Prefix]string) (netip.Prefix, error) {
	rec := s.pool.rec
	n := blockCount(rec.Range, rec.BlockBits)
	start := startBlock(s.node, n)
	for _, stale := range []bool{false, true} {
		for k := uint64(0); k < n; k++ {
			if err := ctx.Err(); err != nil {
				return netip.Prefix{}, fmt.Errorf("no free block of pool %s found in time (%d held by other hosts so far): %w", rec.Pool, len(seen), err)
			}
			b := nthBlock(rec.Range, rec.BlockBits, (start+k)%n)
			_, known := s.others[b]
			if known != stale || s.pool.holds(b) || !s.pool.hasUsable(b) {
				continue
			}
			err := a.claims.Claim(ctx, rec.Pool, b)
			var held *HeldError
			switch {
			case err == nil:
				return b, nil
			case errors.As(err, &held):
				seen[b] = held.Holder
			default:
				return netip.Prefix{}, err // Claims errors name the claim and the cause
			}
		}
	}
	return netip.Prefix{}, &ExhaustedError{Pool: rec.Pool, Node: s.node, Own: s.pool.blocks, Others: seen}
}

// adoptBlock adds a block this host claimed to its pool. stray reports a
// claim to give back: the pool is gone, or the block could not be recorded.
// Requires a.mu.
func (a *Allocator) adoptBlock(p *pool, b netip.Prefix) (stray bool, err error) {
	if p == nil {
		return true, fmt.Errorf("claimed block %s for a pool released meanwhile", b)
	}
	if p.holds(b) {
		return false, nil
	}
	p.addBlock(b)
	if err := a.savePool(p); err != nil {
		p.blocks = slices.DeleteFunc(p.blocks, func(x netip.Prefix) bool { return x == b })
		return true, err
	}
	if p.released {
		a.kickRetry()
	}
	return false, nil
}

// releaseStray gives back a claim nothing records; failing that, it
// stays claimed until an operator frees this host's claims.
func (a *Allocator) releaseStray(pool, c netip.Prefix) {
	ctx, cancel := context.WithTimeout(a.ctx, claimBudget)
	defer cancel()
	if err := a.claims.Release(ctx, pool, c); err != nil {
		a.log.Warn("IPAM: cannot release a claim this host does not use", "pool", pool, "claim", c, "err", err)
	}
}

// refresh reads the pool's shared record again, for the gateway and aux
// addresses other hosts recorded since.
func (a *Allocator) refresh(ctx context.Context, id string) error {
	a.mu.Lock()
	p, ok := a.pools[id]
	var pool netip.Prefix
	if ok {
		pool = p.rec.Pool
	}
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("IPAM pool %q: %w", id, ErrNotFound)
	}
	rec, err := a.claims.Pool(ctx, pool)
	if err != nil {
		return err
	}
	if err := validRecord(rec); err != nil {
		return fmt.Errorf("read pool %s: shared state: %w", pool, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pools[id] != p {
		return fmt.Errorf("IPAM pool %q: released meanwhile: %w", id, ErrNotFound)
	}
	if rec.Range != p.rec.Range || rec.BlockBits != p.rec.BlockBits {
		return fmt.Errorf("pool %s: its shared record changed to range %s in blocks of /%d", rec.Pool, rec.Range, rec.BlockBits)
	}
	if rec.Gateway != p.rec.Gateway || !slices.Equal(rec.Aux, p.rec.Aux) {
		p.rec = rec
		return a.savePool(p)
	}
	return nil
}
