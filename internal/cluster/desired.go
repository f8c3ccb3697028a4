package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxTxnOps keeps each transaction under etcd's default limit of 128
// operations.
const maxTxnOps = 100

// desired is what this host wants under its lease, whatever etcd holds
// right now; it is written when etcd is reachable and rewritten after a
// lost lease.
type desired struct {
	members   map[int]net.IP      // VNI → this host's VTEP on it
	endpoints map[string]Endpoint // endpoint ID → endpoint
}

func newDesired() desired {
	return desired{members: map[int]net.IP{}, endpoints: map[string]Endpoint{}}
}

// Join makes this host a member of vni with VTEP vtep; it is written in
// the background, at once if etcd is reachable.
func (c *Cluster) Join(vni int, vtep net.IP) {
	if !validVNI(vni) || vtep == nil {
		c.log.Error("cluster membership refused", "vni", vni, "vtep", vtep)
		return
	}
	c.mu.Lock()
	c.desired.members[vni] = slices.Clone(vtep)
	c.mu.Unlock()
	c.requestFlush()
}

// Leave ends this host's membership of vni, in the background.
func (c *Cluster) Leave(vni int) {
	c.mu.Lock()
	delete(c.desired.members, vni)
	c.mu.Unlock()
	c.requestFlush()
}

// Publish makes ep known to the other hosts of its VNI and waits until it
// is written, or ctx ends. If etcd is known to be unreachable it fails at
// once (ErrUnreachable); ep stays desired either way and is written when
// etcd is back.
func (c *Cluster) Publish(ctx context.Context, ep Endpoint) error {
	if err := ep.validate(); err != nil {
		return err
	}
	ep.Node = c.cfg.Node
	ep.VTEP, ep.MAC = slices.Clone(ep.VTEP), slices.Clone(ep.MAC)
	c.mu.Lock()
	prev, had := c.desired.endpoints[ep.ID]
	c.desired.endpoints[ep.ID] = ep
	c.mu.Unlock()
	return c.writeNow(ctx, "publish endpoint "+ep.ID, func(lease clientv3.LeaseID) ([]clientv3.Op, error) {
		value, err := encodeEndpoint(ep)
		if err != nil {
			return nil, err
		}
		ops := []clientv3.Op{clientv3.OpPut(c.keys.endpoint(ep.VNI, ep.Node, ep.ID), value, clientv3.WithLease(lease))}
		if had && prev.VNI != ep.VNI {
			ops = append(ops, clientv3.OpDelete(c.keys.endpoint(prev.VNI, ep.Node, ep.ID)))
		}
		return ops, nil
	})
}

// Withdraw removes an endpoint of this host, waiting like Publish; an
// unknown endpoint is not an error.
func (c *Cluster) Withdraw(ctx context.Context, id string) error {
	if !validName(id) {
		return fmt.Errorf("endpoint ID %q: must be non-empty and without '/'", id)
	}
	c.mu.Lock()
	prev, had := c.desired.endpoints[id]
	delete(c.desired.endpoints, id)
	c.mu.Unlock()
	return c.writeNow(ctx, "withdraw endpoint "+id, func(clientv3.LeaseID) ([]clientv3.Op, error) {
		// Its key as published, which the watch may not have shown yet,
		// and any other the view holds (an earlier process's).
		keys := map[string]bool{}
		if had {
			keys[c.keys.endpoint(prev.VNI, c.cfg.Node, id)] = true
		}
		c.mu.Lock()
		for vni, nodes := range c.view.endpoints {
			if _, ok := nodes[c.cfg.Node][id]; ok {
				keys[c.keys.endpoint(vni, c.cfg.Node, id)] = true
			}
		}
		c.mu.Unlock()
		var ops []clientv3.Op
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			ops = append(ops, clientv3.OpDelete(k))
		}
		return ops, nil
	})
}

// writeNow writes one change of this host's lease-bound keys, bounded by
// ctx and the operation timeout. On failure the change stays desired and
// the next reconcile writes it.
func (c *Cluster) writeNow(ctx context.Context, what string, build func(clientv3.LeaseID) ([]clientv3.Op, error)) error {
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	if _, err := c.usableLease(octx); err != nil {
		c.requestFlush()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := c.lockWrites(octx); err != nil {
		c.requestFlush()
		return c.etcdErr(what, err)
	}
	defer c.unlockWrites()
	c.mu.Lock()
	lease := c.link.lease
	c.mu.Unlock()
	ops, err := build(lease)
	if err != nil || len(ops) == 0 {
		return err
	}
	if _, err := c.cli.Txn(octx).Then(ops...).Commit(); err != nil {
		c.observe(ctx, err)
		c.requestFlush()
		return c.etcdErr(what, err)
	}
	return nil
}

// desiredKeysLocked is every lease-bound key this host wants, with its value.
func (c *Cluster) desiredKeysLocked() map[string]string {
	want := map[string]string{}
	var vteps []net.IP
	for vni, vtep := range c.desired.members {
		if v, err := encode(memberRecord{header: versioned(), VTEP: vtep}); err == nil {
			want[c.keys.member(vni, c.cfg.Node)] = v
		}
		if !slices.ContainsFunc(vteps, vtep.Equal) {
			vteps = append(vteps, vtep)
		}
	}
	slices.SortFunc(vteps, func(a, b net.IP) int { return bytes.Compare(a.To16(), b.To16()) })
	if v, err := encode(nodeRecord{header: versioned(), Hostname: c.hostname, VTEPs: vteps}); err == nil {
		want[c.keys.node(c.cfg.Node)] = v
	}
	for _, ep := range c.desired.endpoints {
		if v, err := encodeEndpoint(ep); err == nil {
			want[c.keys.endpoint(ep.VNI, ep.Node, ep.ID)] = v
		}
	}
	return want
}

// reconcile makes etcd hold exactly the desired lease-bound keys under
// the current lease, then revokes the lease it replaced. Keys under a
// lease of an earlier process are left to expire with it.
func (c *Cluster) reconcile(ctx context.Context) error {
	if err := c.lockWrites(ctx); err != nil {
		return err
	}
	defer c.unlockWrites()
	c.mu.Lock()
	lease, retired := c.link.lease, c.link.retired
	ops := reconcileOps(c.desiredKeysLocked(), c.view.own, lease)
	c.mu.Unlock()
	for chunk := range slices.Chunk(ops, maxTxnOps) {
		octx, cancel := c.opCtx(ctx)
		_, err := c.cli.Txn(octx).Then(chunk...).Commit()
		cancel()
		if err != nil {
			return c.etcdErr("write this host's registration", err)
		}
	}
	if retired == 0 {
		return nil
	}
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	if _, err := c.cli.Revoke(octx, retired); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return c.etcdErr("revoke the replaced lease", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.retired == retired {
		c.link.retired = 0
	}
	return nil
}

// lockWrites takes the right to write this host's lease-bound keys, or
// gives up when ctx ends.
func (c *Cluster) lockWrites(ctx context.Context) error {
	select {
	case c.writing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cluster) unlockWrites() { <-c.writing }

// reconcileOps are the writes that turn own (as etcd holds it) into want
// under lease.
func reconcileOps(want map[string]string, own map[string]ownKey, lease clientv3.LeaseID) []clientv3.Op {
	var ops []clientv3.Op
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if have, ok := own[k]; !ok || have.value != want[k] || have.lease != lease {
			ops = append(ops, clientv3.OpPut(k, want[k], clientv3.WithLease(lease)))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(own)) {
		if _, ok := want[k]; !ok && own[k].lease == lease {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	return ops
}
