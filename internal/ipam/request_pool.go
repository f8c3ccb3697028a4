package ipam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RequestPool starts this host's use of a pool: it records the use in
// Claims and claims a first block in advance, so that containers can start
// later even while the shared state is unreachable. Asking again for a
// pool this host uses returns the same answer and changes nothing.
func (a *Allocator) RequestPool(ctx context.Context, req PoolRequest) (PoolResponse, error) {
	def, id, err := poolDef(req)
	if err != nil {
		return PoolResponse{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, claimBudget)
	defer cancel()
	if err := a.lockSem(ctx); err != nil {
		return PoolResponse{}, fmt.Errorf("request pool %s: %w", def.Pool, err)
	}
	defer a.unlockSem()

	a.mu.Lock()
	p, known := a.pools[id]
	a.mu.Unlock()
	if known && !p.released {
		return PoolResponse{PoolID: id, Pool: def.Pool}, nil
	}
	p, err = a.usePool(ctx, id, def)
	if err != nil {
		return PoolResponse{}, err
	}
	if err := a.firstBlock(ctx, p); err != nil {
		a.abandon(p)
		return PoolResponse{}, err
	}
	return PoolResponse{PoolID: id, Pool: def.Pool}, nil
}

// poolDef checks a request and derives the pool record it asks for and
// the pool's ID, which every host derives alike.
func poolDef(req PoolRequest) (PoolRecord, string, error) {
	if req.AddressSpace != "" && req.AddressSpace != AddressSpace {
		return PoolRecord{}, "", fmt.Errorf("address space %q: this IPAM driver has only %q", req.AddressSpace, AddressSpace)
	}
	if len(req.Options) > 0 {
		return PoolRecord{}, "", fmt.Errorf("this IPAM driver takes no --ipam-opt options, got %s", strings.Join(sortedKeys(req.Options), ", "))
	}
	family := "IPv4"
	if req.V6 {
		family = "IPv6"
	}
	if !req.Pool.IsValid() {
		return PoolRecord{}, "", fmt.Errorf("this IPAM driver has no default pools: give the network an %s --subnet", family)
	}
	if req.Pool.Addr().Is6() != req.V6 {
		return PoolRecord{}, "", fmt.Errorf("pool %s is not an %s subnet", req.Pool, family)
	}
	pool := req.Pool.Masked()
	rng, id := pool, AddressSpace+"/"+pool.String()
	if sub := req.SubPool; sub.IsValid() {
		if sub.Addr().Is6() != req.V6 || sub.Bits() < pool.Bits() || !pool.Contains(sub.Addr()) {
			return PoolRecord{}, "", fmt.Errorf("--ip-range %s is not a subnet of pool %s", sub, pool)
		}
		rng = sub.Masked()
		id += "/" + rng.String()
	}
	return PoolRecord{Pool: pool, Range: rng, BlockBits: blockBitsFor(rng)}, id, nil
}

// usePool records this host's use of a pool in Claims and here. Blocks
// Claims says this host holds but the store does not know (a crash between
// claiming and recording) are taken back.
func (a *Allocator) usePool(ctx context.Context, id string, def PoolRecord) (*pool, error) {
	rec, err := a.claims.UsePool(ctx, def)
	if err != nil {
		return nil, err
	}
	if err := validRecord(rec); err != nil {
		return nil, fmt.Errorf("request pool %s: shared state: %w", def.Pool, err)
	}
	if rec.Pool != def.Pool || rec.Range != def.Range {
		return nil, fmt.Errorf("request pool %s: the pool is shared with range %s, not %s", def.Pool, rec.Range, def.Range)
	}
	held, err := a.claims.Held(ctx, rec.Pool)
	if err != nil {
		a.log.Warn("IPAM: cannot list this host's claims; blocks left from before stay unused", "pool", rec.Pool, "err", err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.pools[id]
	if !ok {
		p = newPool(id, rec)
	}
	p.rec, p.released = rec, false
	for _, h := range held {
		if h.Bits() == rec.BlockBits && rec.Range.Contains(h.Addr()) {
			p.addBlock(h)
		}
	}
	if err := a.savePool(p); err != nil {
		return nil, err
	}
	a.pools[id] = p
	return p, nil
}

// firstBlock claims a block in advance if the pool has none. A pool whose
// blocks are all held by other hosts still serves its gateway and aux
// addresses: that is only a warning here.
func (a *Allocator) firstBlock(ctx context.Context, p *pool) error {
	a.mu.Lock()
	if len(p.blocks) > 0 {
		a.mu.Unlock()
		return nil
	}
	f := a.startClaim(p)
	a.mu.Unlock()
	err := f.wait(ctx)
	var full *ExhaustedError
	if errors.As(err, &full) {
		a.log.Warn("IPAM: no free block for this host", "pool", p.rec.Pool, "err", err)
		return nil
	}
	return err
}

// abandon undoes a pool request that failed midway (the pool was new or
// released before): it is released again, by the retry loop, since the
// caller holds sem.
func (a *Allocator) abandon(p *pool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p.released = true
	if err := a.savePool(p); err != nil {
		a.log.Warn("IPAM: cannot record an abandoned pool", "pool", p.id, "err", err)
	}
	a.kickRetry()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
