package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// fakeCluster is shared state in memory for several fake hosts: what etcd
// is in cluster mode, with every change all-or-nothing under one mutex.
type fakeCluster struct {
	mu    sync.Mutex
	pools map[netip.Prefix]*fakePool
}

type fakePool struct {
	rec     PoolRecord
	creator string
	users   map[string]bool
	claims  map[netip.Prefix]string // claim → holder
}

func newFakeCluster() *fakeCluster { return &fakeCluster{pools: map[netip.Prefix]*fakePool{}} }

// host is one host's Claims on the shared state.
func (c *fakeCluster) host(node string) *fakeHost { return &fakeHost{c: c, node: node} }

// setAux records aux addresses, as the cluster's DefineSegment does.
func (c *fakeCluster) setAux(pool netip.Prefix, aux ...netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pools[pool].rec.Aux = aux
}

// holders returns every claim of a pool and its holder.
func (c *fakeCluster) holders(pool netip.Prefix) map[netip.Prefix]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[netip.Prefix]string{}
	if fp, ok := c.pools[pool]; ok {
		for k, v := range fp.claims {
			out[k] = v
		}
	}
	return out
}

func (c *fakeCluster) hasPool(pool netip.Prefix) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pools[pool]
	return ok
}

// fakeHost is Claims for one host. While down, every call fails as the
// etcd client does when etcd is unreachable; while hanging, every call
// waits for its context to end.
type fakeHost struct {
	c       *fakeCluster
	node    string
	down    atomic.Bool
	hang    atomic.Bool
	claimed atomic.Int64 // Claim calls

	// slowClaim, if set before use, holds every successful Claim's answer
	// back until it is closed, as a slow network does.
	slowClaim chan struct{}
}

var _ Claims = (*fakeHost)(nil)

// errEtcdDown is what the fake returns while down; the real client's
// errors name etcd and its endpoints alike.
var errEtcdDown = errors.New("etcd http://127.0.0.1:2379 unreachable: context deadline exceeded")

// downDelay is how long a call takes to fail while down (the real client
// waits for its operation timeout).
const downDelay = 50 * time.Millisecond

func (h *fakeHost) enter(ctx context.Context) (unlock func(), err error) {
	switch {
	case h.hang.Load():
		<-ctx.Done()
		return nil, fmt.Errorf("etcd http://127.0.0.1:2379: %w", ctx.Err())
	case h.down.Load():
		select {
		case <-time.After(downDelay):
		case <-ctx.Done():
		}
		return nil, errEtcdDown
	}
	h.c.mu.Lock()
	return h.c.mu.Unlock, nil
}

func (h *fakeHost) Node() string { return h.node }

func (h *fakeHost) UsePool(ctx context.Context, def PoolRecord) (PoolRecord, error) {
	unlock, err := h.enter(ctx)
	if err != nil {
		return PoolRecord{}, err
	}
	defer unlock()
	fp, ok := h.c.pools[def.Pool]
	if !ok {
		fp = &fakePool{rec: def, creator: h.node, users: map[string]bool{}, claims: map[netip.Prefix]string{}}
		h.c.pools[def.Pool] = fp
	} else if fp.rec.Range != def.Range {
		return PoolRecord{}, fmt.Errorf("pool %s has range %s (defined by host %s), not %s", def.Pool, fp.rec.Range, fp.creator, def.Range)
	}
	fp.users[h.node] = true
	return fp.rec, nil
}

func (h *fakeHost) Pool(ctx context.Context, pool netip.Prefix) (PoolRecord, error) {
	unlock, err := h.enter(ctx)
	if err != nil {
		return PoolRecord{}, err
	}
	defer unlock()
	fp, ok := h.c.pools[pool]
	if !ok {
		return PoolRecord{}, fmt.Errorf("pool %s: not found", pool)
	}
	return fp.rec, nil
}

func (h *fakeHost) ReleasePool(ctx context.Context, pool netip.Prefix) error {
	unlock, err := h.enter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if fp, ok := h.c.pools[pool]; ok {
		delete(fp.users, h.node)
		if len(fp.users) == 0 && len(fp.claims) == 0 {
			delete(h.c.pools, pool)
		}
	}
	return nil
}

func (h *fakeHost) SetGateway(ctx context.Context, pool netip.Prefix, gw netip.Addr) (netip.Addr, error) {
	unlock, err := h.enter(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	defer unlock()
	fp, ok := h.c.pools[pool]
	if !ok {
		return netip.Addr{}, fmt.Errorf("pool %s: not found", pool)
	}
	if !fp.rec.Gateway.IsValid() {
		fp.rec.Gateway = gw
	}
	return fp.rec.Gateway, nil
}

func (h *fakeHost) Claim(ctx context.Context, pool, p netip.Prefix) error {
	h.claimed.Add(1)
	if err := h.claim(ctx, pool, p); err != nil {
		return err
	}
	if h.slowClaim != nil {
		select {
		case <-h.slowClaim:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (h *fakeHost) claim(ctx context.Context, pool, p netip.Prefix) error {
	unlock, err := h.enter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	fp, ok := h.c.pools[pool]
	if !ok {
		return fmt.Errorf("pool %s: not found", pool)
	}
	if holder, held := fp.claims[p]; held && holder != h.node {
		return &HeldError{Pool: pool, Claim: p, Holder: holder}
	}
	fp.claims[p] = h.node
	return nil
}

func (h *fakeHost) Release(ctx context.Context, pool, p netip.Prefix) error {
	unlock, err := h.enter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if fp, ok := h.c.pools[pool]; ok && fp.claims[p] == h.node {
		delete(fp.claims, p)
		if len(fp.users) == 0 && len(fp.claims) == 0 {
			delete(h.c.pools, pool)
		}
	}
	return nil
}

func (h *fakeHost) Held(ctx context.Context, pool netip.Prefix) ([]netip.Prefix, error) {
	unlock, err := h.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []netip.Prefix
	if fp, ok := h.c.pools[pool]; ok {
		for c, holder := range fp.claims {
			if holder == h.node {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	return out, nil
}
