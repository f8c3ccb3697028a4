package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// LocalClaims is Claims for a host that shares its pools with no other:
// the pool records and claims live in its own store, and every claim
// succeeds for it. The allocator runs exactly as in cluster mode.
type LocalClaims struct {
	store Store
	node  string
	mu    sync.Mutex // each method reads, changes and writes one record
}

var _ Claims = (*LocalClaims)(nil)

// NewLocalClaims keeps the claims of node in st.
func NewLocalClaims(st Store, node string) *LocalClaims {
	return &LocalClaims{store: st, node: node}
}

const bucketLocalClaims = "ipam-local-claims"

// localPool is a pool's shared state, keyed by pool prefix.
type localPool struct {
	V         int            `json:"v"`
	Pool      netip.Prefix   `json:"pool"`
	Range     netip.Prefix   `json:"range"`
	BlockBits int            `json:"blockBits"`
	Gateway   netip.Addr     `json:"gateway,omitzero"`
	Aux       []netip.Addr   `json:"aux,omitempty"`
	InUse     bool           `json:"inUse"`
	Claims    []netip.Prefix `json:"claims"`
}

func (lp *localPool) record() PoolRecord {
	return PoolRecord{Pool: lp.Pool, Range: lp.Range, BlockBits: lp.BlockBits, Gateway: lp.Gateway, Aux: lp.Aux}
}

func (c *LocalClaims) Node() string { return c.node }

func (c *LocalClaims) UsePool(_ context.Context, def PoolRecord) (_ PoolRecord, err error) {
	defer wrapOp(&err, "use pool %s", def.Pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, found, err := c.load(def.Pool)
	if err != nil {
		return PoolRecord{}, err
	}
	if !found {
		lp = &localPool{V: recordVersion, Pool: def.Pool, Range: def.Range, BlockBits: def.BlockBits, Gateway: def.Gateway, Aux: def.Aux}
	} else if lp.Range != def.Range {
		return PoolRecord{}, fmt.Errorf("the pool is in use with range %s (by host %s), not %s", lp.Range, c.node, def.Range)
	}
	lp.InUse = true
	return lp.record(), c.save(lp)
}

func (c *LocalClaims) Pool(_ context.Context, pool netip.Prefix) (_ PoolRecord, err error) {
	defer wrapOp(&err, "read pool %s", pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, err := c.mustLoad(pool)
	if err != nil {
		return PoolRecord{}, err
	}
	return lp.record(), nil
}

func (c *LocalClaims) ReleasePool(_ context.Context, pool netip.Prefix) (err error) {
	defer wrapOp(&err, "release pool %s", pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, found, err := c.load(pool)
	if err != nil || !found {
		return err
	}
	lp.InUse = false
	return c.saveOrDrop(lp)
}

func (c *LocalClaims) SetGateway(_ context.Context, pool netip.Prefix, gw netip.Addr) (_ netip.Addr, err error) {
	defer wrapOp(&err, "set the gateway of pool %s", pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, err := c.mustLoad(pool)
	if err != nil {
		return netip.Addr{}, err
	}
	if lp.Gateway.IsValid() {
		return lp.Gateway, nil
	}
	lp.Gateway = gw
	return gw, c.save(lp)
}

func (c *LocalClaims) Claim(_ context.Context, pool, p netip.Prefix) (err error) {
	defer wrapOp(&err, "claim %s of pool %s", p, pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, err := c.mustLoad(pool)
	if err != nil {
		return err
	}
	if p.Bits() < pool.Bits() || !pool.Contains(p.Addr()) {
		return errors.New("not a block or address of the pool")
	}
	if slices.Contains(lp.Claims, p) {
		return nil
	}
	lp.Claims = append(lp.Claims, p)
	return c.save(lp)
}

func (c *LocalClaims) Release(_ context.Context, pool, p netip.Prefix) (err error) {
	defer wrapOp(&err, "release %s of pool %s", p, pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, found, err := c.load(pool)
	if err != nil || !found {
		return err
	}
	lp.Claims = slices.DeleteFunc(lp.Claims, func(x netip.Prefix) bool { return x == p })
	return c.saveOrDrop(lp)
}

func (c *LocalClaims) Held(_ context.Context, pool netip.Prefix) (_ []netip.Prefix, err error) {
	defer wrapOp(&err, "list the claims of pool %s", pool)
	c.mu.Lock()
	defer c.mu.Unlock()
	lp, found, err := c.load(pool)
	if err != nil || !found {
		return nil, err
	}
	return lp.Claims, nil
}

func (c *LocalClaims) load(pool netip.Prefix) (*localPool, bool, error) {
	var lp localPool
	found, err := c.store.Get(bucketLocalClaims, pool.String(), &lp)
	if err != nil {
		return nil, false, err
	}
	if found && lp.V != recordVersion {
		return nil, false, fmt.Errorf("stored record version %d, this plugin reads version %d", lp.V, recordVersion)
	}
	return &lp, found, nil
}

func (c *LocalClaims) mustLoad(pool netip.Prefix) (*localPool, error) {
	lp, found, err := c.load(pool)
	if err == nil && !found {
		err = fmt.Errorf("the pool is not in use on this host: %w", ErrNotFound)
	}
	return lp, err
}

func (c *LocalClaims) save(lp *localPool) error {
	return c.store.Put(bucketLocalClaims, lp.Pool.String(), lp)
}

// saveOrDrop saves a pool's record, or drops it when nothing uses or
// claims the pool any more: its gateway goes with it.
func (c *LocalClaims) saveOrDrop(lp *localPool) error {
	if lp.InUse || len(lp.Claims) > 0 {
		return c.save(lp)
	}
	return c.store.Delete(bucketLocalClaims, lp.Pool.String())
}

// wrapOp names the operation an error of a LocalClaims method failed in,
// as the cluster's Claims errors do.
func wrapOp(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf(format+": %w", append(args, *err)...)
	}
}
