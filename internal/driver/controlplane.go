package driver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/cluster"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// ControlPlane is a cluster control plane (cluster mode): one definition
// per segment across the hosts, who else is on a segment, and this host's
// endpoints carried to the others. *cluster.Cluster implements it.
type ControlPlane interface {
	DefineSegment(ctx context.Context, s cluster.Segment) error
	ReleaseSegment(ctx context.Context, vni int) error
	Join(vni int, vtep net.IP)
	Leave(vni int)
	Publish(ctx context.Context, e cluster.Endpoint) error
	Withdraw(ctx context.Context, endpointID string) error
	Peers(vni int) []net.IP
	Remote(vni int) []cluster.Endpoint
	// HasView reports whether Peers and Remote reflect the cluster yet:
	// until the first full read they are empty, and must not empty the
	// kernel's entries.
	HasView() bool
}

// publishWait bounds how long a request waits for the control plane; past
// it the endpoint is published in the background, once etcd answers.
const publishWait = 2 * time.Second

// clustered reports a network whose segment the control plane defines:
// one VNI, one set of subnets, across the hosts.
func (d *Driver) clustered(n *network) bool {
	return d.cfg.Cluster != nil && n.Config.VXLAN != nil
}

// clusterEntries reports a clustered network whose members, flood list
// and remote entries the control plane carries too: not an EVPN segment,
// whose entries are FRR's alone (one writer per table).
func (d *Driver) clusterEntries(n *network) bool {
	return d.clustered(n) && !evpn(n)
}

// defineSegment records the network's VNI and subnets cluster-wide; the
// control plane refuses a definition that conflicts with another host's.
func (d *Driver) defineSegment(ctx context.Context, n *network) error {
	if !d.clustered(n) {
		return nil
	}
	seg := cluster.Segment{VNI: n.Config.VXLAN.VNI}
	for _, s := range append(append([]Subnet{}, n.IPv4...), n.IPv6...) {
		sub := cluster.Subnet{Pool: s.Pool}
		if s.Gateway.IsValid() {
			sub.Gateway = s.Gateway.Addr()
		}
		for _, a := range s.AuxAddresses {
			sub.Aux = append(sub.Aux, a.Addr())
		}
		seg.Subnets = append(seg.Subnets, sub)
	}
	ctx, cancel := context.WithTimeout(ctx, publishWait+time.Second)
	defer cancel()
	if err := d.cfg.Cluster.DefineSegment(ctx, seg); err != nil {
		return fmt.Errorf("cluster definition of the segment: %w", err)
	}
	return nil
}

// releaseSegment withdraws this host from the network's segment.
func (d *Driver) releaseSegment(n *network) {
	if !d.clustered(n) {
		return
	}
	vni := n.Config.VXLAN.VNI
	if d.clusterEntries(n) {
		d.cfg.Cluster.Leave(vni)
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishWait)
	defer cancel()
	if err := d.cfg.Cluster.ReleaseSegment(ctx, vni); err != nil {
		d.log.Warn("segment definition kept in the cluster; it goes when this host releases it or is forgotten", "vni", vni, "err", err)
	}
}

// joinSegment makes this host a member of the network's segment, so the
// other hosts flood to its VTEP and install its endpoints.
func (d *Driver) joinSegment(n *network) error {
	if !d.clusterEntries(n) {
		return nil
	}
	if n.VTEP == nil {
		v := n.Config.VXLAN
		vtep, err := d.kernel.VTEPAddr(v.VtepDev, v.SrcAddr, d.remotes(v), underlayIPv6(v))
		if err != nil {
			return err
		}
		n.VTEP = vtep
	}
	d.cfg.Cluster.Join(n.Config.VXLAN.VNI, n.VTEP)
	return nil
}

// remotes are the addresses that tell which way the underlay goes: the
// network's flood destinations, then the daemon's hints (the cluster's
// store), for a network with no Peers.
func (d *Driver) remotes(v *VXLANConfig) []net.IP {
	r := append([]net.IP{v.Group}, v.Peers...)
	return append(r, d.cfg.UnderlayHints...)
}

// publishEndpoint carries an endpoint's MAC and addresses to the other
// hosts of its segment, waiting a bounded time: when etcd does not answer
// the container still starts, and is published once etcd is back.
func (d *Driver) publishEndpoint(ctx context.Context, n *network, e *endpoint) {
	if !d.clusterEntries(n) || e.MAC == "" {
		return // ipvlan children share the vxlan link's MAC: learned, not published
	}
	ep := clusterEndpoint(n, e)
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	if err := d.cfg.Cluster.Publish(ctx, ep); err != nil {
		d.log.Warn("endpoint not yet published to the cluster; it will be once etcd answers", "endpoint", shortID(e.ID), "err", err)
	}
}

// declareEndpoint hands an endpoint to the control plane without waiting
// for etcd: at start, it publishes them all in the background.
func (d *Driver) declareEndpoint(n *network, e *endpoint) {
	if e.MAC == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = d.cfg.Cluster.Publish(ctx, clusterEndpoint(n, e)) // recorded as desired; an expired ctx only skips the wait
}

func clusterEndpoint(n *network, e *endpoint) cluster.Endpoint {
	mac, _ := parseMACString(e.MAC)
	return cluster.Endpoint{ID: e.ID, VNI: n.Config.VXLAN.VNI, VTEP: n.VTEP, MAC: mac,
		IPv4: e.Address.Addr(), IPv6: e.AddressIPv6.Addr()}
}

// withdrawEndpoint removes an endpoint from the other hosts.
func (d *Driver) withdrawEndpoint(n *network, e *endpoint) {
	if n == nil || !d.clusterEntries(n) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishWait)
	defer cancel()
	if err := d.cfg.Cluster.Withdraw(ctx, e.ID); err != nil {
		d.log.Warn("endpoint not yet withdrawn from the cluster; it will be once etcd answers", "endpoint", shortID(e.ID), "err", err)
	}
}

// SegmentChanged is the control plane's notice that who is on a segment
// changed: the flood lists, static FDB entries and host neighbour entries
// of the networks on that VNI are brought in line.
func (d *Driver) SegmentChanged(vni int) {
	x, err := d.records()
	if err != nil {
		d.log.Error("segment changed", "vni", vni, "err", err)
		return
	}
	nets := x.onVNI(vni)
	// The first notice after the control plane has read the cluster
	// brings every segment in line: entries of hosts that went away while
	// the plugin was down concern segments no notice names.
	if d.cfg.Cluster.HasView() && d.viewApplied.CompareAndSwap(false, true) {
		nets = x.claimed()
	}
	for _, c := range nets {
		if !d.clusterEntries(c) {
			continue
		}
		d.withRecorded(c.ID, func(n *network) { // serialised with the network's requests
			if err := d.syncSegment(n); err != nil {
				d.log.Warn("bring segment entries in line", "network", shortID(n.ID), "vni", vni, "err", err)
			}
		})
	}
}

// syncSegment makes the network's flood list, static FDB entries and host
// neighbour entries exactly what its sources say. Until the control plane
// has read the cluster, entries are only ever added, never removed. An
// EVPN segment's entries are FRR's: none is written or deleted here.
func (d *Driver) syncSegment(n *network) error {
	if n.Config.VXLAN == nil || evpn(n) {
		return nil
	}
	name := vxlanName(n)
	if !d.kernel.Exists(name) {
		return nil // restored by reconcile or the next request
	}
	if d.clusterEntries(n) && !d.cfg.Cluster.HasView() {
		return nil
	}
	if floodsByPeers(n.Config.VXLAN) {
		if err := d.kernel.SetFloodPeers(name, d.floodPeers(n)); err != nil {
			return err
		}
	}
	if !d.clusterEntries(n) {
		return nil
	}
	remote := d.cfg.Cluster.Remote(n.Config.VXLAN.VNI)
	if err := d.kernel.SetRemoteMACs(name, remoteMACs(remote)); err != nil {
		return err
	}
	if n.Config.HostGateway && n.Config.Mode == ModeBridge {
		return d.kernel.SetNeighbors(bridgeName(n), remoteNeighbors(remote))
	}
	return nil
}

func remoteMACs(eps []cluster.Endpoint) []links.RemoteMAC {
	out := make([]links.RemoteMAC, 0, len(eps))
	for _, e := range eps {
		if e.VTEP != nil && len(e.MAC) == 6 {
			out = append(out, links.RemoteMAC{MAC: e.MAC, VTEP: e.VTEP})
		}
	}
	return out
}

func remoteNeighbors(eps []cluster.Endpoint) []links.Neighbor {
	var out []links.Neighbor
	for _, e := range eps {
		for _, a := range []netip.Addr{e.IPv4, e.IPv6} {
			if a.IsValid() && len(e.MAC) == 6 {
				out = append(out, links.Neighbor{IP: a.AsSlice(), MAC: e.MAC})
			}
		}
	}
	return out
}

// announce declares a recorded network's membership and endpoints to the
// control plane again, as at every start: the control plane keeps what it
// publishes in memory only.
func (d *Driver) announce(n *network, eps []endpoint) {
	if !d.clusterEntries(n) {
		return
	}
	if err := d.joinSegment(n); err != nil {
		d.log.Warn("cluster membership", "network", shortID(n.ID), "err", err)
		return
	}
	for i := range eps {
		if eps[i].NetworkID == n.ID {
			d.declareEndpoint(n, &eps[i])
		}
	}
}
