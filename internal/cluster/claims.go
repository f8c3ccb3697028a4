package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Claims are persistent, not under the lease: a host that is down still
// holds its addresses (liveness is not ownership) until it releases them
// or an operator forgets the host.
var _ ipam.Claims = (*Cluster)(nil)

// UsePool records this host's use of a pool, creating the pool's record
// from def if it is new. A def with another range than the recorded one
// is refused, naming the recorded range and the host that created it.
func (c *Cluster) UsePool(ctx context.Context, def ipam.PoolRecord) (ipam.PoolRecord, error) {
	def, err := normalizePool(def)
	if err != nil {
		return ipam.PoolRecord{}, err
	}
	var out ipam.PoolRecord
	err = c.casLoop(ctx, "use pool "+def.Pool.String(), func(ctx context.Context) (bool, error) {
		poolKey := c.keys.pool(def.Pool)
		s, err := c.read(ctx, clientv3.OpGet(poolKey), clientv3.OpGet(c.keys.subnet(def.Pool)))
		if err != nil {
			return false, err
		}
		rec := poolRecord{header: versioned(), Range: def.Range, BlockBits: def.BlockBits, Gateway: def.Gateway, Aux: sortedAddrs(def.Aux), Creator: c.cfg.Node}
		var rev int64
		if kv := s.one(0); kv != nil {
			if rec, err = decodePool(def.Pool, kv); err != nil {
				return false, err
			}
			if rec.Range != def.Range {
				return false, fmt.Errorf("pool %s is in use with %s, as host %s created it; this host asks for %s: give every host the same --ip-range",
					def.Pool, describeRange(def.Pool, rec.Range), rec.Creator, describeRange(def.Pool, def.Range))
			}
			rev = kv.ModRevision
		}
		ops, err := c.usePoolOps(def.Pool, rec, rev == 0)
		if err != nil {
			return false, err
		}
		resp, err := c.txn(ctx, []clientv3.Cmp{modRevIs(poolKey, rev)}, ops, nil)
		if err != nil || !resp.Succeeded {
			return false, err
		}
		out = c.poolOut(def.Pool, rec, s.one(1))
		return true, nil
	})
	return out, err
}

func (c *Cluster) usePoolOps(pool netip.Prefix, rec poolRecord, isNew bool) ([]clientv3.Op, error) {
	user, err := encode(useRecord{header: versioned()})
	if err != nil {
		return nil, err
	}
	ops := []clientv3.Op{clientv3.OpPut(c.keys.poolUser(pool, c.cfg.Node), user)}
	if isNew {
		value, err := encode(rec)
		if err != nil {
			return nil, err
		}
		ops = append(ops, clientv3.OpPut(c.keys.pool(pool), value))
	}
	return ops, nil
}

// Pool returns a pool's record as stored, with the aux addresses its
// segment's definition reserves.
func (c *Cluster) Pool(ctx context.Context, pool netip.Prefix) (ipam.PoolRecord, error) {
	var out ipam.PoolRecord
	err := c.casLoop(ctx, "read pool "+pool.String(), func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx, clientv3.OpGet(c.keys.pool(pool)), clientv3.OpGet(c.keys.subnet(pool)))
		if err != nil {
			return false, err
		}
		kv := s.one(0)
		if kv == nil {
			return false, fmt.Errorf("pool %s is not in use in the cluster", pool)
		}
		rec, err := decodePool(pool, kv)
		if err != nil {
			return false, err
		}
		out = c.poolOut(pool, rec, s.one(1))
		return true, nil
	})
	return out, err
}

// ReleasePool withdraws this host's use of a pool; the record goes when no
// host uses the pool and no claim remains.
func (c *Cluster) ReleasePool(ctx context.Context, pool netip.Prefix) error {
	return c.casLoop(ctx, "release pool "+pool.String(), func(ctx context.Context) (bool, error) {
		if _, err := c.txn(ctx, nil, []clientv3.Op{clientv3.OpDelete(c.keys.poolUser(pool, c.cfg.Node))}, nil); err != nil {
			return false, err
		}
		return c.gcPoolOnce(ctx, pool)
	})
}

// SetGateway records the pool's gateway unless one is recorded, and
// returns the recorded one.
func (c *Cluster) SetGateway(ctx context.Context, pool netip.Prefix, gw netip.Addr) (netip.Addr, error) {
	if !pool.Contains(gw) {
		return netip.Addr{}, fmt.Errorf("gateway %s is not in pool %s", gw, pool)
	}
	var out netip.Addr
	err := c.casLoop(ctx, "set the gateway of pool "+pool.String(), func(ctx context.Context) (bool, error) {
		poolKey := c.keys.pool(pool)
		s, err := c.read(ctx, clientv3.OpGet(poolKey))
		if err != nil {
			return false, err
		}
		kv := s.one(0)
		if kv == nil {
			return false, fmt.Errorf("gateway %s: pool %s is not in use in the cluster", gw, pool)
		}
		rec, err := decodePool(pool, kv)
		if err != nil {
			return false, err
		}
		if rec.Gateway.IsValid() {
			out = rec.Gateway
			return true, nil
		}
		rec.Gateway = gw
		value, err := encode(rec)
		if err != nil {
			return false, err
		}
		resp, err := c.txn(ctx, []clientv3.Cmp{modRevIs(poolKey, kv.ModRevision)}, []clientv3.Op{clientv3.OpPut(poolKey, value)}, nil)
		if err != nil || !resp.Succeeded {
			return false, err
		}
		out = gw
		return true, nil
	})
	return out, err
}

// Claim claims a block or a single address of a pool for this host, in
// one transaction: it succeeds if nobody holds it or this host does, and
// fails with *ipam.HeldError if another host does.
func (c *Cluster) Claim(ctx context.Context, pool, p netip.Prefix) error {
	if err := checkClaim(pool, p); err != nil {
		return err
	}
	value, err := encode(claimRecord{header: versioned(), Node: c.cfg.Node})
	if err != nil {
		return err
	}
	poolKey, claimKey := c.keys.pool(pool), c.keys.claim(pool, p)
	return c.casLoop(ctx, fmt.Sprintf("claim %s of pool %s", p, pool), func(ctx context.Context) (bool, error) {
		resp, err := c.txn(ctx,
			[]clientv3.Cmp{
				clientv3.Compare(clientv3.CreateRevision(poolKey), ">", 0),
				clientv3.Compare(clientv3.CreateRevision(claimKey), "=", 0),
			},
			[]clientv3.Op{clientv3.OpPut(claimKey, value)},
			[]clientv3.Op{clientv3.OpGet(claimKey), clientv3.OpGet(poolKey, clientv3.WithKeysOnly())})
		if err != nil {
			return false, err
		}
		if resp.Succeeded {
			return true, nil
		}
		if kv := first(resp.Responses[0].GetResponseRange()); kv != nil {
			holder, err := decodeClaim(kv)
			switch {
			case err != nil:
				return false, err
			case holder != c.cfg.Node:
				return false, &ipam.HeldError{Pool: pool, Claim: p, Holder: holder}
			}
			return true, nil // held by this host already
		}
		if first(resp.Responses[1].GetResponseRange()) == nil {
			return false, fmt.Errorf("claim %s: pool %s is not in use in the cluster", p, pool)
		}
		return false, nil // released in between: try again
	})
}

// Release gives up a claim of this host. A claim this host does not hold
// is not an error. The pool's record goes if that was its last claim and
// no host uses it.
func (c *Cluster) Release(ctx context.Context, pool, p netip.Prefix) error {
	claimKey := c.keys.claim(pool, p)
	return c.casLoop(ctx, fmt.Sprintf("release %s of pool %s", p, pool), func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx, clientv3.OpGet(claimKey))
		if err != nil {
			return false, err
		}
		if kv := s.one(0); kv != nil {
			holder, err := decodeClaim(kv)
			if err != nil {
				return false, err
			}
			if holder != c.cfg.Node {
				return true, nil // not this host's: nothing to give up
			}
			resp, err := c.txn(ctx, []clientv3.Cmp{modRevIs(claimKey, kv.ModRevision)}, []clientv3.Op{clientv3.OpDelete(claimKey)}, nil)
			if err != nil || !resp.Succeeded {
				return false, err
			}
		}
		return c.gcPoolOnce(ctx, pool)
	})
}

// Held lists this host's claims in a pool.
func (c *Cluster) Held(ctx context.Context, pool netip.Prefix) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := c.casLoop(ctx, "list the claims of pool "+pool.String(), func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx, clientv3.OpGet(c.keys.claims(pool), clientv3.WithPrefix()))
		if err != nil {
			return false, err
		}
		out = out[:0]
		for _, kv := range s.all(0) {
			k, ok := c.keys.parse(string(kv.Key))
			if holder, err := decodeClaim(kv); ok && err == nil && holder == c.cfg.Node {
				out = append(out, k.claim)
			}
		}
		return true, nil
	})
	slices.SortFunc(out, comparePrefix)
	return out, err
}

// gcPoolOnce removes a pool's record if no host uses it and no claim
// remains; the removal compares both, so it never races with a host
// starting to use the pool or claiming in it.
func (c *Cluster) gcPoolOnce(ctx context.Context, pool netip.Prefix) (bool, error) {
	poolKey, users, claims := c.keys.pool(pool), c.keys.poolUsers(pool), c.keys.claims(pool)
	s, err := c.read(ctx,
		clientv3.OpGet(poolKey, clientv3.WithKeysOnly()),
		clientv3.OpGet(users, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(claims, clientv3.WithPrefix(), clientv3.WithCountOnly()))
	if err != nil {
		return false, err
	}
	kv := s.one(0)
	if kv == nil || s.count(1) > 0 || s.count(2) > 0 {
		return true, nil
	}
	resp, err := c.txn(ctx,
		[]clientv3.Cmp{modRevIs(poolKey, kv.ModRevision), emptyPrefix(users), emptyPrefix(claims)},
		[]clientv3.Op{clientv3.OpDelete(poolKey)}, nil)
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// poolOut is the record as the allocator sees it: aux addresses of the
// pool's record and of its segment's definition.
func (c *Cluster) poolOut(pool netip.Prefix, rec poolRecord, index *mvccpb.KeyValue) ipam.PoolRecord {
	aux := rec.Aux
	var idx subnetIndex
	if index != nil && decode(index.Value, &idx) == nil {
		aux = sortedAddrs(slices.Concat(aux, idx.Aux))
	}
	return ipam.PoolRecord{Pool: pool, Range: rec.Range, BlockBits: rec.BlockBits, Gateway: rec.Gateway, Aux: aux}
}

func decodePool(pool netip.Prefix, kv *mvccpb.KeyValue) (poolRecord, error) {
	var rec poolRecord
	if err := decode(kv.Value, &rec); err != nil {
		return rec, fmt.Errorf("pool %s: unreadable record in etcd: %w", pool, err)
	}
	return rec, nil
}

func decodeClaim(kv *mvccpb.KeyValue) (string, error) {
	var rec claimRecord
	if err := decode(kv.Value, &rec); err != nil {
		return "", fmt.Errorf("claim %s: unreadable record in etcd: %w", kv.Key, err)
	}
	return rec.Node, nil
}

// normalizePool validates a pool definition; no range means the pool.
func normalizePool(def ipam.PoolRecord) (ipam.PoolRecord, error) {
	if !def.Pool.IsValid() {
		return def, fmt.Errorf("invalid pool %v", def.Pool)
	}
	def.Pool = def.Pool.Masked()
	if !def.Range.IsValid() {
		def.Range = def.Pool
	}
	def.Range = def.Range.Masked()
	if !def.Pool.Contains(def.Range.Addr()) || def.Range.Bits() < def.Pool.Bits() {
		return def, fmt.Errorf("range %s is not inside pool %s", def.Range, def.Pool)
	}
	if def.BlockBits < def.Range.Bits() || def.BlockBits > def.Range.Addr().BitLen() {
		return def, fmt.Errorf("pool %s: block size /%d does not fit range %s", def.Pool, def.BlockBits, def.Range)
	}
	return def, nil
}

// checkClaim refuses a claim that is not a prefix inside the pool.
func checkClaim(pool, p netip.Prefix) error {
	if !p.IsValid() || p != p.Masked() || !pool.Contains(p.Addr()) || p.Bits() < pool.Bits() {
		return fmt.Errorf("claim %v is not a block or address of pool %s", p, pool)
	}
	return nil
}

func describeRange(pool, r netip.Prefix) string {
	if r == pool {
		return "no --ip-range (the whole pool)"
	}
	return "--ip-range " + r.String()
}
