package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
)

// requestGateway returns the pool's gateway, which every host shares: the
// one recorded, or else want (or the range's first usable address)
// recorded now. Another host's later, different choice is refused.
func (a *Allocator) requestGateway(ctx context.Context, id string, want netip.Addr) (netip.Prefix, error) {
	a.mu.Lock()
	p, err := a.pool(id)
	var rec PoolRecord
	candidate := want
	if err == nil {
		rec = p.rec
		if !rec.Gateway.IsValid() {
			candidate, err = p.gatewayCandidate(want)
		}
	}
	a.mu.Unlock()
	if err != nil {
		return netip.Prefix{}, err
	}

	gw := rec.Gateway
	if !gw.IsValid() {
		if gw, err = a.claims.SetGateway(ctx, rec.Pool, candidate); err != nil {
			return netip.Prefix{}, fmt.Errorf("gateway: %w", err)
		}
		if err := a.noteGateway(id, gw); err != nil {
			return netip.Prefix{}, err
		}
	}
	if want.IsValid() && want != gw {
		return netip.Prefix{}, fmt.Errorf("pool %s already has gateway %s, shared by every host: ask for that gateway or none", rec.Pool, gw)
	}
	return netip.PrefixFrom(gw, rec.Pool.Bits()), nil
}

// gatewayCandidate checks a requested gateway, or picks the range's first
// usable address. Requires a.mu.
func (p *pool) gatewayCandidate(want netip.Addr) (netip.Addr, error) {
	if want.IsValid() {
		if err := p.checkPreferred(want); err != nil {
			return netip.Addr{}, fmt.Errorf("gateway: %w", err)
		}
		if slices.Contains(p.rec.Aux, want) {
			return netip.Addr{}, fmt.Errorf("gateway %s is an aux address of pool %s", want, p.rec.Pool)
		}
		return want, nil
	}
	for a := range addrs(p.rec.Range) {
		if p.free(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pool %s: no address left for a gateway", p.rec.Pool)
}

// noteGateway records the gateway Claims returned in this host's view.
func (a *Allocator) noteGateway(id string, gw netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.pool(id)
	if err != nil {
		return err
	}
	if !p.rec.Pool.Contains(gw) {
		return fmt.Errorf("pool %s: shared state records gateway %s outside it", p.rec.Pool, gw)
	}
	if _, taken := p.addrs[gw]; taken {
		a.log.Warn("IPAM: the pool's gateway is also an address this host handed out", "pool", p.rec.Pool, "gateway", gw)
	}
	p.rec.Gateway = gw
	return a.savePool(p)
}
