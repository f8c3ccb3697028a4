package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// ReleaseAddress gives back an address. A single-address claim is released
// in Claims too; if that fails it stays pending and is retried in the
// background. The gateway lives as long as the pool's shared record, and
// an unknown pool or address has nothing to release.
func (a *Allocator) ReleaseAddress(ctx context.Context, poolID string, addr netip.Addr) error {
	addr = addr.Unmap()
	a.mu.Lock()
	p, ok := a.pools[poolID]
	if !ok || addr == p.rec.Gateway {
		a.mu.Unlock()
		return nil
	}
	k, ok := p.addrs[addr]
	if !ok {
		a.mu.Unlock()
		return nil
	}
	if k == kindSingle {
		// Pending first: a crash before the address record goes leaves the
		// claim known, and flushPool skips what is still handed out.
		p.pending = append(p.pending, netip.PrefixFrom(addr, addr.BitLen()))
		if err := a.savePool(p); err != nil {
			p.pending = p.pending[:len(p.pending)-1]
			a.mu.Unlock()
			return err
		}
	}
	err := a.deleteAddress(p, addr)
	if err == nil {
		delete(p.addrs, addr)
	}
	work := p.hasPending()
	a.mu.Unlock()
	if err != nil || !work {
		return err
	}
	a.flushNow(ctx)
	return nil
}

// ReleasePool ends this host's use of a pool. Its blocks and its use in
// Claims are released once no address of it is left here; what cannot be
// released now is retried in the background.
func (a *Allocator) ReleasePool(ctx context.Context, poolID string) error {
	a.mu.Lock()
	p, ok := a.pools[poolID]
	if !ok {
		a.mu.Unlock()
		return nil
	}
	p.released = true
	err := a.savePool(p)
	left := len(p.addrs)
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if left > 0 {
		a.log.Warn("IPAM: pool released with addresses still handed out; its blocks go with the last of them",
			"pool", poolID, "addresses", left)
		return nil
	}
	a.flushNow(ctx)
	return nil
}

// flushNow releases what is pending now, within claimBudget, and leaves
// what fails to the retry loop.
func (a *Allocator) flushNow(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, claimBudget)
	defer cancel()
	if err := a.flush(ctx); err != nil {
		a.log.Warn("IPAM: release failed; retrying in the background", "err", err)
		a.mu.Lock()
		a.kickRetry()
		a.mu.Unlock()
	}
}

// flush releases every pending claim, and the blocks and use of every
// released pool without addresses left.
func (a *Allocator) flush(ctx context.Context) error {
	if err := a.lockSem(ctx); err != nil {
		return err
	}
	defer a.unlockSem()
	a.mu.Lock()
	var ids []string
	for id, p := range a.pools {
		if p.hasPending() {
			ids = append(ids, id)
		}
	}
	a.mu.Unlock()
	var errs []error
	for _, id := range ids {
		errs = append(errs, a.flushPool(ctx, id))
	}
	return errors.Join(errs...)
}

// flushPool releases one pool's pending claims and, if it is released and
// empty, its blocks and its use. Requires sem.
func (a *Allocator) flushPool(ctx context.Context, id string) error {
	a.mu.Lock()
	p := a.pools[id]
	if p == nil {
		a.mu.Unlock()
		return nil
	}
	pool := p.rec.Pool
	// A pending claim whose address is handed out again stays claimed.
	p.pending = slices.DeleteFunc(p.pending, func(c netip.Prefix) bool { _, inUse := p.addrs[c.Addr()]; return inUse })
	todo := slices.Clone(p.pending)
	drain := p.released && len(p.addrs) == 0
	if drain {
		todo = append(todo, p.blocks...)
	}
	a.mu.Unlock()

	for _, c := range todo {
		if err := a.claims.Release(ctx, pool, c); err != nil {
			return err
		}
		if err := a.forgetClaim(p, c); err != nil {
			return err
		}
	}
	if !drain {
		return nil
	}
	if err := a.claims.ReleasePool(ctx, pool); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(p.blocks) > 0 || len(p.pending) > 0 {
		return fmt.Errorf("pool %s: a block was claimed while it was released; releasing it next time", pool)
	}
	delete(a.pools, id)
	return a.deletePool(p)
}

// forgetClaim drops a released claim from the pool's record.
func (a *Allocator) forgetClaim(p *pool, c netip.Prefix) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	is := func(x netip.Prefix) bool { return x == c }
	p.pending = slices.DeleteFunc(p.pending, is)
	p.blocks = slices.DeleteFunc(p.blocks, is)
	return a.savePool(p)
}

// kickRetry starts the retry loop unless it runs. Requires a.mu.
func (a *Allocator) kickRetry() {
	if !a.retrying && a.background(a.retryLoop) {
		a.retrying = true
	}
}

// retryLoop retries pending releases, less and less often, until none is
// left or the allocator closes.
func (a *Allocator) retryLoop(ctx context.Context) {
	wait := a.retryMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		fctx, cancel := context.WithTimeout(ctx, claimBudget)
		err := a.flush(fctx)
		cancel()
		a.mu.Lock()
		more := false
		for _, p := range a.pools {
			more = more || p.hasPending()
		}
		if !more {
			a.retrying = false
		}
		a.mu.Unlock()
		if !more {
			return
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("IPAM: release still failing", "err", err, "next", wait)
		}
		wait = min(2*wait, retryMax)
	}
}
