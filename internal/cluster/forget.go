package cluster

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ForgetNode frees everything a host that is gone for good holds: its
// claims, its uses of pools and segments and any key of its left over;
// then pools and segments nobody uses or claims are removed. A host that
// is live (its lease is kept alive) is refused unless force, which also
// revokes its lease.
func (c *Cluster) ForgetNode(ctx context.Context, node string, force bool) error {
	if !validName(node) {
		return fmt.Errorf("invalid node name %q", node)
	}
	if err := c.retireNode(ctx, node, force); err != nil {
		return err
	}
	if err := c.casLoop(ctx, "forget host "+node, func(ctx context.Context) (bool, error) {
		return c.forgetOnce(ctx, node)
	}); err != nil {
		return err
	}
	return c.collectGarbage(ctx)
}

// retireNode refuses a live node, or with force revokes its lease.
func (c *Cluster) retireNode(ctx context.Context, node string, force bool) error {
	var live *mvccpb.KeyValue
	if err := c.casLoop(ctx, "look up host "+node, func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx, clientv3.OpGet(c.keys.node(node)))
		if err != nil {
			return false, err
		}
		live = s.one(0)
		return true, nil
	}); err != nil || live == nil {
		return err
	}
	if !force {
		return fmt.Errorf("host %s is live (its plugin keeps lease %x alive): stop it first, or force", node, live.Lease)
	}
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	if _, err := c.cli.Revoke(octx, clientv3.LeaseID(live.Lease)); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return c.etcdErr("revoke the lease of host "+node, err)
	}
	return nil
}

// forgetOnce deletes every key of node, each compared with its revision
// as read, so a claim taken over in between is never deleted.
func (c *Cluster) forgetOnce(ctx context.Context, node string) (bool, error) {
	s, err := c.read(ctx, clientv3.OpGet(c.keys.root(), clientv3.WithPrefix()))
	if err != nil {
		return false, err
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for _, kv := range s.all(0) {
		if c.belongsTo(kv, node) {
			cmps = append(cmps, modRevIs(string(kv.Key), kv.ModRevision))
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		}
	}
	for i := 0; i < len(ops); i += maxTxnOps {
		end := min(i+maxTxnOps, len(ops))
		resp, err := c.txn(ctx, cmps[i:end], ops[i:end], nil)
		if err != nil || !resp.Succeeded {
			return false, err
		}
	}
	return true, nil
}

// belongsTo says whether a key is node's: one of its lease-bound keys, a
// use of a pool or segment, or a claim it holds.
func (c *Cluster) belongsTo(kv *mvccpb.KeyValue, node string) bool {
	k, ok := c.keys.parse(string(kv.Key))
	switch {
	case !ok:
		return false
	case k.section == secClaims:
		holder, err := decodeClaim(kv)
		return err == nil && holder == node
	default:
		return k.node == node
	}
}

// collectGarbage removes every pool and segment nobody uses or claims.
func (c *Cluster) collectGarbage(ctx context.Context) error {
	var pools, segments []key
	if err := c.casLoop(ctx, "list pools and segments", func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx,
			clientv3.OpGet(c.keys.section(secPools), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
			clientv3.OpGet(c.keys.section(secSegments), clientv3.WithPrefix(), clientv3.WithKeysOnly()))
		if err != nil {
			return false, err
		}
		pools, segments = c.parseKeys(s.all(0)), c.parseKeys(s.all(1))
		return true, nil
	}); err != nil {
		return err
	}
	for _, k := range pools {
		if err := c.casLoop(ctx, "remove unused pool "+k.pool.String(), func(ctx context.Context) (bool, error) {
			return c.gcPoolOnce(ctx, k.pool)
		}); err != nil {
			return err
		}
	}
	for _, k := range segments {
		if err := c.casLoop(ctx, fmt.Sprintf("remove unused VxlanId %d", k.vni), func(ctx context.Context) (bool, error) {
			return c.gcSegmentOnce(ctx, k.vni)
		}); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) parseKeys(kvs []*mvccpb.KeyValue) []key {
	var out []key
	for _, kv := range kvs {
		if k, ok := c.keys.parse(string(kv.Key)); ok {
			out = append(out, k)
		}
	}
	return out
}
