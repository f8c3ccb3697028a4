package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// runSessions keeps a session with etcd until ctx ends: lease, full read,
// desired state written, then watch and keep-alive. Whatever ends a
// session, the next one starts from a full read.
func (c *Cluster) runSessions(ctx context.Context) {
	for {
		start := time.Now()
		established, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if established {
			c.resyncing(err)
		} else {
			c.markDown(err)
			if why := c.probe(ctx); why != nil {
				c.explainDown(why)
			}
		}
		// A session that failed to start, or ended at once, waits before
		// the next attempt; the connection coming back ends the wait.
		if !established || time.Since(start) < retryWait {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryWait):
			case <-c.ready:
			}
		}
	}
}

// session runs one session. established says whether it got as far as
// following the watch; err is why it ended.
func (c *Cluster) session(parent context.Context) (established bool, err error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	c.setKick(cancel)
	defer c.setKick(nil)

	lease, err := c.acquireLease(ctx)
	if err != nil {
		return false, err
	}
	alive, err := c.cli.KeepAlive(ctx, lease)
	if err != nil {
		return false, c.etcdErr("keep lease alive", err)
	}
	rev, err := c.resync(ctx)
	if err != nil {
		return false, err
	}
	if err := c.reconcile(ctx); err != nil {
		return false, err
	}
	c.setUp(rev)
	return true, c.follow(ctx, rev, alive)
}

func (c *Cluster) setKick(cancel context.CancelCauseFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kick = cancel
}

// acquireLease keeps the current lease if etcd still has it, else grants a
// new one; the old one is revoked once everything is rewritten under the
// new one, so other hosts never see this host's keys vanish in between.
func (c *Cluster) acquireLease(ctx context.Context) (clientv3.LeaseID, error) {
	c.mu.Lock()
	id := c.link.lease
	c.mu.Unlock()
	if id != 0 {
		octx, cancel := c.opCtx(ctx)
		_, err := c.cli.KeepAliveOnce(octx, id)
		cancel()
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return 0, c.etcdErr("renew lease", err)
		}
		c.log.Warn("lease expired while etcd was unreachable; registering again under a new lease", "lease", fmt.Sprintf("%x", int64(id)))
	}
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	resp, err := c.cli.Grant(octx, c.cfg.ttlSeconds())
	if err != nil {
		return 0, c.etcdErr("grant lease", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.lease != 0 {
		c.link.retired = c.link.lease
	}
	c.link.lease = resp.ID
	return resp.ID, nil
}

// resync replaces the view by a full read of the lease-bound keys at one
// revision, and notifies every VNI whose Peers or Remote changed, so
// entries nothing owns any more go away.
func (c *Cluster) resync(ctx context.Context) (int64, error) {
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	resp, err := c.cli.Txn(octx).Then(
		clientv3.OpGet(c.keys.section(secNodes), clientv3.WithPrefix()),
		clientv3.OpGet(c.keys.section(secMembers), clientv3.WithPrefix()),
		clientv3.OpGet(c.keys.section(secEndpoints), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return 0, c.etcdErr("read cluster state", err)
	}
	fresh := newView(c.cfg.Node)
	for _, r := range resp.Responses {
		for _, kv := range r.GetResponseRange().GetKvs() {
			raw := string(kv.Key)
			if k, ok := c.keys.parse(raw); ok {
				if _, err := fresh.put(k, raw, kv.Value, clientv3.LeaseID(kv.Lease)); err != nil {
					c.log.Warn("skipping unreadable key", "key", raw, "error", err)
				}
			}
		}
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	old := c.view
	c.view = fresh
	c.link.rev, c.link.at = rev, time.Now()
	c.mu.Unlock()
	c.notes.add(changedVNIs(old, fresh)...)
	return rev, nil
}

// follow applies watch events from rev+1 and keeps the lease alive until
// either fails or the session is ended.
func (c *Cluster) follow(ctx context.Context, rev int64, alive <-chan *clientv3.LeaseKeepAliveResponse) error {
	events := c.cli.Watch(clientv3.WithRequireLeader(ctx), c.keys.root(), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case _, ok := <-alive:
			if !ok {
				return errors.New("lease keep-alive ended: the lease expired, or etcd did not answer within its TTL")
			}
		case resp, ok := <-events:
			if !ok {
				return errors.New("watch closed")
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			if resp.Canceled {
				return errors.New("watch cancelled by etcd")
			}
			c.apply(resp.Events)
		case <-c.flush:
			if err := c.reconcile(ctx); err != nil {
				return err
			}
		}
	}
}

// apply updates the view from watch events and notifies changed VNIs. A
// change to this host's own keys that is not what it desires (deleted or
// overwritten by someone else) makes it write them again.
func (c *Cluster) apply(events []*clientv3.Event) {
	var changed []int
	rewrite := false
	c.mu.Lock()
	var want map[string]string
	for _, ev := range events {
		raw := string(ev.Kv.Key)
		k, ok := c.keys.parse(raw)
		if !ok || !k.leased() {
			continue
		}
		if ev.Type == clientv3.EventTypeDelete {
			changed = append(changed, c.view.remove(k, raw))
		} else if vni, err := c.view.put(k, raw, ev.Kv.Value, clientv3.LeaseID(ev.Kv.Lease)); err != nil {
			c.log.Warn("skipping unreadable key", "key", raw, "error", err)
		} else {
			changed = append(changed, vni)
		}
		if k.node == c.cfg.Node {
			if want == nil {
				want = c.desiredKeysLocked()
			}
			rewrite = rewrite || c.ownEventUnwantedLocked(ev, want)
		}
	}
	c.mu.Unlock()
	c.notes.add(changed...)
	if rewrite {
		c.requestFlush()
	}
}

// ownEventUnwantedLocked says whether an event on one of this host's keys
// left it other than desired.
func (c *Cluster) ownEventUnwantedLocked(ev *clientv3.Event, want map[string]string) bool {
	value, wanted := want[string(ev.Kv.Key)]
	if ev.Type == clientv3.EventTypeDelete {
		return wanted
	}
	lease := clientv3.LeaseID(ev.Kv.Lease)
	if lease != c.link.lease && lease != c.link.retired {
		c.log.Warn("another process writes as this node; node names must be unique", "node", c.cfg.Node, "key", string(ev.Kv.Key))
		return false
	}
	return lease == c.link.lease && (!wanted || value != string(ev.Kv.Value))
}

func (c *Cluster) requestFlush() {
	select {
	case c.flush <- struct{}{}:
	default:
	}
}
