package driver

import (
	"context"
	"fmt"
	"net"
	"slices"
)

// bucketNodes holds the swarm nodes Docker announced, so the flood lists
// still include them after a plugin restart.
const bucketNodes = "nodes"

// DiscoverNew is told about a swarm node (global scope). Every other node
// joins the flood list of every VXLAN network: the swarm is one of the
// segment's membership sources, beside the configured Peers.
func (d *Driver) DiscoverNew(ctx context.Context, node NodeDiscovery) error {
	return d.onNode(ctx, node, func(ip net.IP) error {
		if err := d.store.Put(bucketNodes, ip.String(), node); err != nil {
			return fmt.Errorf("record node %s: %w", ip, err)
		}
		d.log.Info("swarm node joined the flood lists", "address", ip)
		d.syncFloodLists(ip)
		return nil
	})
}

// DiscoverDelete removes a departed node from the flood lists, except where
// another source (the network's own Peers, the cluster) still names it.
func (d *Driver) DiscoverDelete(ctx context.Context, node NodeDiscovery) error {
	return d.onNode(ctx, node, func(ip net.IP) error {
		if err := d.store.Delete(bucketNodes, ip.String()); err != nil {
			return fmt.Errorf("forget node %s: %w", ip, err)
		}
		d.log.Info("swarm node left the flood lists", "address", ip)
		d.syncFloodLists(ip)
		return nil
	})
}

// onNode applies a node notice about another node under the lock. Docker
// does not resend a lost notice, so it waits for the lock as long as it
// takes, even past the request's timeout.
func (d *Driver) onNode(ctx context.Context, node NodeDiscovery, apply func(net.IP) error) error {
	ip, err := nodeIP(node)
	if err != nil || node.Self {
		return err
	}
	if err := d.lock(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer d.unlock()
	return apply(ip)
}

func nodeIP(node NodeDiscovery) (net.IP, error) {
	ip := net.ParseIP(node.Address)
	if ip == nil {
		return nil, fmt.Errorf("node discovery: address %q is not an IP address", node.Address)
	}
	return ip, nil
}

// syncFloodLists brings in line the flood list of every network that could
// take the node at ip, logging failures: one network's trouble must not
// keep the node out of the others.
func (d *Driver) syncFloodLists(ip net.IP) {
	nets, err := d.networks()
	if err != nil {
		d.log.Error("update flood lists", "node", ip, "err", err)
		return
	}
	for i := range nets {
		if !floodsTo(&nets[i], ip) {
			continue
		}
		if err := d.syncSegment(&nets[i]); err != nil {
			d.log.Warn("update flood list", "network", shortID(nets[i].ID), "node", ip, "err", err)
		}
	}
}

// floodsByPeers reports a VXLAN segment flooding by head-end replication
// to a list of VTEPs, not by a multicast group.
func floodsByPeers(v *VXLANConfig) bool {
	return v != nil && !(v.Group != nil && v.Group.IsMulticast())
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
	nodes, err := listAll[NodeDiscovery](d.store, bucketNodes)
	if err != nil {
		d.log.Warn("read swarm nodes", "err", err)
	}
	var ips []net.IP
	for _, n := range nodes {
		if ip := net.ParseIP(n.Address); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

// floodPeers is a network's flood list: who else is on its segment, from
// every source: its Peers, the swarm's nodes and the cluster's members.
func (d *Driver) floodPeers(n *network) []net.IP {
	peers := append([]net.IP{}, n.Config.VXLAN.Peers...)
	others := d.nodePeers()
	if d.clustered(n) {
		others = append(others, d.cfg.Cluster.Peers(n.Config.VXLAN.VNI)...)
	}
	for _, ip := range others {
		if floodsTo(n, ip) && !slices.ContainsFunc(peers, ip.Equal) {
			peers = append(peers, ip)
		}
	}
	return peers
}
