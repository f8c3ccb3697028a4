package driver

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
)

// bucketNodes holds the swarm nodes Docker announced, so the flood lists
// still include them after a plugin restart.
const bucketNodes = "nodes"

// DiscoverNew is told about a swarm node (global scope). Every other node
// joins the flood list of every VXLAN network: the swarm is one of the
// segment's membership sources, beside the configured Peers.
func (d *Driver) DiscoverNew(ctx context.Context, node NodeDiscovery) error {
	return d.onNode(ctx, node, func(x *index, ip net.IP) error {
		if err := d.store.Put(bucketNodes, ip.String(), node); err != nil {
			return fmt.Errorf("record node %s: %w", ip, err)
		}
		x.addNode(ip)
		d.log.Info("swarm node joined the flood lists", "address", ip)
		return nil
	})
}

// DiscoverDelete removes a departed node from the flood lists, except where
// another source (the network's own Peers, the cluster) still names it.
func (d *Driver) DiscoverDelete(ctx context.Context, node NodeDiscovery) error {
	return d.onNode(ctx, node, func(x *index, ip net.IP) error {
		if err := d.store.Delete(bucketNodes, ip.String()); err != nil {
			return fmt.Errorf("forget node %s: %w", ip, err)
		}
		x.removeNode(ip)
		d.log.Info("swarm node left the flood lists", "address", ip)
		return nil
	})
}

// onNode records a notice about another node, then brings the flood lists
// in line. Docker does not resend a lost notice, so it waits for the
// node's lock as long as it takes, even past the request's timeout.
func (d *Driver) onNode(ctx context.Context, node NodeDiscovery, record func(*index, net.IP) error) error {
	ip, err := nodeIP(node)
	if err != nil || node.Self {
		return err
	}
	x, err := d.records()
	if err != nil {
		return err
	}
	unlock, err := d.nets.lock(context.WithoutCancel(ctx), "node/"+ip.String())
	if err != nil {
		return err
	}
	err = record(x, ip)
	unlock()
	if err != nil {
		return err
	}
	d.syncFloodLists(ctx, x, ip)
	return nil
}

func nodeIP(node NodeDiscovery) (net.IP, error) {
	ip := net.ParseIP(node.Address)
	if ip == nil {
		return nil, fmt.Errorf("node discovery: address %q is not an IP address", node.Address)
	}
	return ip, nil
}

// syncFloodLists brings in line the flood list of every network that could
// take the node at ip, each under its own lock and at once, logging
// failures: one network's trouble (a request stuck on a slow kernel call)
// must not keep the node out of the others. Networks being created count:
// their flood list may predate the notice. When the request's time runs
// out first, the rest is done in the background: the notice is recorded,
// and is never dropped.
func (d *Driver) syncFloodLists(ctx context.Context, x *index, ip net.IP) {
	var wg sync.WaitGroup
	for _, c := range x.claimed() {
		if !floodsTo(c, ip) {
			continue
		}
		wg.Go(func() {
			d.withRecorded(c.ID, func(n *network) {
				if err := d.syncSegment(n); err != nil {
					d.log.Warn("update flood list", "network", shortID(n.ID), "node", ip, "err", err)
				}
			})
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		d.log.Warn("flood lists still being brought in line in the background", "node", ip, "err", ctx.Err())
	}
}

// withRecorded runs fn on network id under its lock, waiting as long as it
// takes, if the network is recorded by then (its create may have failed,
// or it was deleted meanwhile).
func (d *Driver) withRecorded(id string, fn func(*network)) {
	x, err := d.records()
	if err != nil {
		return
	}
	unlock, err := d.lockNetwork(context.Background(), id)
	if err != nil {
		return
	}
	defer unlock()
	if n := x.network(id); n != nil {
		fn(n)
	}
}

// floodsByPeers reports a VXLAN segment flooding by head-end replication
// to a list of VTEPs the plugin keeps: not by a multicast group, and not
// an EVPN segment, whose list FRR keeps from the fabric's type-3 routes.
func floodsByPeers(v *VXLANConfig) bool {
	return v != nil && !v.EVPN && !(v.Group != nil && v.Group.IsMulticast())
}

// floodsTo reports whether a network's flood list takes a node: VXLAN
// networks flooding by head-end replication, whose underlay is of the node
// address's family.
func floodsTo(n *network, ip net.IP) bool {
	v := n.Config.VXLAN
	return floodsByPeers(v) && underlayIPv6(v) == (ip.To4() == nil)
}

// nodePeers lists the swarm nodes Docker announced.
func (d *Driver) nodePeers() []net.IP {
	x, err := d.records()
	if err != nil {
		d.log.Warn("read swarm nodes", "err", err)
		return nil
	}
	return x.nodeList()
}

// floodPeers is a network's flood list: who else is on its segment, from
// every source: its Peers, the swarm's nodes and the cluster's members.
// An EVPN segment's is FRR's: none of the plugin's.
func (d *Driver) floodPeers(n *network) []net.IP {
	if evpn(n) {
		return nil
	}
	peers := append([]net.IP{}, n.Config.VXLAN.Peers...)
	others := d.nodePeers()
	if d.clusterEntries(n) {
		others = append(others, d.cfg.Cluster.Peers(n.Config.VXLAN.VNI)...)
	}
	for _, ip := range others {
		if floodsTo(n, ip) && !slices.ContainsFunc(peers, ip.Equal) {
			peers = append(peers, ip)
		}
	}
	return peers
}
