package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// RequestAddress hands out an address of a pool: the gateway, a preferred
// address, or the next free one of this host's blocks. It waits on Claims
// only when it must claim something new, and then for claimBudget at most.
func (a *Allocator) RequestAddress(ctx context.Context, req AddressRequest) (netip.Prefix, map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, claimBudget)
	defer cancel()
	addr := req.Address.Unmap()
	var got netip.Prefix
	var err error
	switch {
	case req.Options[OptRequestAddressType] == AddressTypeGateway:
		got, err = a.requestGateway(ctx, req.PoolID, addr)
	case addr.IsValid():
		got, err = a.requestPreferred(ctx, req.PoolID, addr)
	default:
		got, err = a.requestDynamic(ctx, req.PoolID)
	}
	return got, nil, err
}

// requestDynamic hands out the next free address of this host's blocks,
// claiming a new block when they are full.
func (a *Allocator) requestDynamic(ctx context.Context, id string) (netip.Prefix, error) {
	for {
		a.mu.Lock()
		p, err := a.pool(id)
		if err != nil {
			a.mu.Unlock()
			return netip.Prefix{}, err
		}
		if addr, ok := p.nextFree(); ok {
			err := a.take(p, addr, kindBlock)
			if err == nil {
				p.last = addr
				a.refill(p)
			}
			bits := p.rec.Pool.Bits()
			a.mu.Unlock()
			return netip.PrefixFrom(addr, bits), err
		}
		f, pool := a.startClaim(p), p.rec.Pool
		a.mu.Unlock()
		if err := f.wait(ctx); err != nil {
			return netip.Prefix{}, fmt.Errorf("no free address of pool %s in this host's blocks: %w", pool, err)
		}
	}
}

// requestPreferred hands out the address asked for, if no host uses it:
// an aux address (shared by all hosts), an address of a block this host
// holds or can claim, or one outside the range, claimed alone.
func (a *Allocator) requestPreferred(ctx context.Context, id string, addr netip.Addr) (netip.Prefix, error) {
	refreshed := false
	for {
		a.mu.Lock()
		p, err := a.pool(id)
		var need netip.Prefix
		if err == nil {
			need, err = a.takePreferred(p, addr)
		}
		var bits int
		pending := false // a single claim given up, not released yet: still ours
		if p != nil {
			bits = p.rec.Pool.Bits()
			pending = slices.Contains(p.pending, need)
		}
		a.mu.Unlock()
		switch {
		case err != nil:
			return netip.Prefix{}, err
		case !need.IsValid():
			return netip.PrefixFrom(addr, bits), nil
		case !refreshed && !pending:
			// Another host may have made it an aux address, or the gateway, since.
			refreshed = true
			if err := a.refresh(ctx, id); err != nil {
				return netip.Prefix{}, fmt.Errorf("address %s needs a new claim: %w", addr, err)
			}
			continue
		}
		if need.IsSingleIP() {
			err = a.claimSingle(ctx, id, addr)
		} else {
			err = a.claimForAddress(ctx, id, need, addr)
		}
		return netip.PrefixFrom(addr, bits), err
	}
}

// takePreferred hands out addr if that needs no new claim; otherwise it
// returns the claim needed: addr's block, or addr alone outside the range.
// Requires a.mu.
func (a *Allocator) takePreferred(p *pool, addr netip.Addr) (need netip.Prefix, err error) {
	if err := p.checkPreferred(addr); err != nil {
		return netip.Prefix{}, err
	}
	switch {
	case slices.Contains(p.rec.Aux, addr):
		return netip.Prefix{}, a.take(p, addr, kindShared)
	case !p.rec.Range.Contains(addr):
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	b := blockOf(addr, p.rec.BlockBits)
	if !p.holds(b) {
		return b, nil
	}
	return netip.Prefix{}, a.take(p, addr, kindBlock)
}

// claimForAddress claims block b to hand out addr from it.
func (a *Allocator) claimForAddress(ctx context.Context, id string, b netip.Prefix, addr netip.Addr) error {
	a.mu.Lock()
	p, err := a.pool(id)
	var pool netip.Prefix
	if p != nil {
		pool = p.rec.Pool
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	err = a.claims.Claim(ctx, pool, b)
	var held *HeldError
	if errors.As(err, &held) {
		return fmt.Errorf("address %s: its block %s of pool %s is held by host %s", addr, b, pool, held.Holder)
	}
	if err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}

	a.mu.Lock()
	p = a.pools[id]
	stray, err := a.adoptBlock(p, b)
	if err == nil {
		if _, err = a.pool(id); err == nil { // not released meanwhile
			_, err = a.takePreferred(p, addr)
		}
	}
	a.mu.Unlock()
	if stray {
		a.releaseStray(pool, b)
	}
	return err
}

// claimSingle claims addr alone, outside the range, and hands it out.
// sem keeps it apart from releasing the same address.
func (a *Allocator) claimSingle(ctx context.Context, id string, addr netip.Addr) error {
	if err := a.lockSem(ctx); err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	defer a.unlockSem()
	single := netip.PrefixFrom(addr, addr.BitLen())

	a.mu.Lock()
	p, err := a.pool(id)
	if err == nil {
		err = p.checkPreferred(addr)
	}
	if err == nil && slices.Contains(p.pending, single) {
		// Given up but not released yet: still this host's.
		p.pending = slices.DeleteFunc(p.pending, func(c netip.Prefix) bool { return c == single })
		if err = a.take(p, addr, kindSingle); err == nil {
			err = a.savePool(p)
		}
		a.mu.Unlock()
		return err
	}
	var pool netip.Prefix
	if p != nil {
		pool = p.rec.Pool
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}

	if err := a.claims.Claim(ctx, pool, single); err != nil {
		var held *HeldError
		if errors.As(err, &held) {
			return held // names the address and its holder
		}
		return fmt.Errorf("address %s: %w", addr, err)
	}
	a.mu.Lock()
	p, err = a.pool(id)
	if err == nil {
		err = a.take(p, addr, kindSingle)
	}
	a.mu.Unlock()
	if err != nil {
		a.releaseStray(pool, single)
	}
	return err
}
