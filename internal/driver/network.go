package driver

import (
	"errors"
	"fmt"
	"net"
)

// GwAllocCheck tells Docker (28+) whether to reserve gateway addresses. The
// driver always wants them: either the host or a router on the segment uses
// the gateway address.
func (d *Driver) GwAllocCheck(map[string]string) (skipIPv4, skipIPv6 bool, err error) {
	return false, false, nil
}

// CreateNetwork validates the options, creates the network's links and
// records it. Repeating it for a known network re-ensures its links.
func (d *Driver) CreateNetwork(req CreateNetworkRequest) error {
	if err := validID("network", req.NetworkID); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()

	if n, err := d.loadNetwork(req.NetworkID); err == nil {
		return d.ensureNetworkLinks(n)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	n, err := d.newNetwork(req)
	if err != nil {
		return err
	}
	if err := d.ensureNetworkLinks(n); err != nil {
		d.removeNetworkLinks(n)
		return err
	}
	if err := d.store.Put(bucketNetworks, n.ID, n); err != nil {
		d.removeNetworkLinks(n)
		return fmt.Errorf("record network: %w", err)
	}
	d.log.Info("network created", "network", shortID(n.ID), "bridge", bridgeName(n), "vni", vniOf(n), "mtu", n.Config.Bridge.MTU)
	return nil
}

// newNetwork parses and checks a request against the kernel and the other
// networks, and derives the MTUs.
func (d *Driver) newNetwork(req CreateNetworkRequest) (*network, error) {
	cfg, err := ParseNetworkConfig(ParseRequest{
		Options: req.Options, Internal: req.Internal, EnableIPv6: req.EnableIPv6,
		GlobalScope: d.cfg.GlobalScope, VtepDevFlag: d.cfg.VtepDev,
	})
	if err != nil {
		return nil, err
	}
	n := &network{ID: req.NetworkID, Config: cfg, Options: req.Options, IPv4: req.IPv4, IPv6: req.IPv6}
	if err := d.checkConflicts(n); err != nil {
		return nil, err
	}
	if err := d.deriveMTU(n); err != nil {
		return nil, err
	}
	return n, nil
}

// checkConflicts refuses what would clash on this host: the same VNI and
// port twice, or a link name another network already uses.
func (d *Driver) checkConflicts(n *network) error {
	others, err := d.networks()
	if err != nil {
		return err
	}
	for i := range others {
		o := &others[i]
		if bridgeName(o) == bridgeName(n) {
			return fmt.Errorf("bridgeName %s is already used by network %s", bridgeName(n), shortID(o.ID))
		}
		if n.Config.VXLAN == nil || o.Config.VXLAN == nil {
			continue
		}
		if vxlanName(o) == vxlanName(n) {
			return fmt.Errorf("vxlanName %s is already used by network %s", vxlanName(n), shortID(o.ID))
		}
		if o.Config.VXLAN.VNI == n.Config.VXLAN.VNI && o.Config.VXLAN.Port == n.Config.VXLAN.Port {
			return fmt.Errorf("VxlanId %d on port %d is already used by network %s on this host",
				n.Config.VXLAN.VNI, n.Config.VXLAN.Port, shortID(o.ID))
		}
	}
	return nil
}

// deriveMTU sets the vxlan MTU from the underlay (less the encapsulation
// overhead) and the bridge MTU, which containers inherit, from the vxlan MTU,
// refusing any setting that would make full-size packets fragment.
func (d *Driver) deriveMTU(n *network) error {
	br := &n.Config.Bridge
	v := n.Config.VXLAN
	if v == nil {
		if br.MTU == 0 {
			br.MTU = 1500
		}
		return nil
	}
	remotes := append([]net.IP{v.Group}, v.Peers...)
	u, err := d.kernel.FindUnderlay(v.VtepDev, v.SrcAddr, remotes)
	if err != nil {
		return err
	}
	n.Underlay = u.Device
	limit := u.MTU - overhead(v)
	switch {
	case v.MTU == 0:
		v.MTU = limit
	case v.MTU > limit:
		return fmt.Errorf("vxlanMTU=%d is too large: the underlay %s has MTU %d, so at most %d fits without fragmenting",
			v.MTU, orUnknown(u.Device), u.MTU, limit)
	}
	switch {
	case br.MTU == 0:
		br.MTU = v.MTU
	case br.MTU > v.MTU:
		return fmt.Errorf("bridge MTU %d is larger than the vxlan MTU %d: full-size packets would be dropped", br.MTU, v.MTU)
	}
	return nil
}

// overhead is the VXLAN encapsulation size for the underlay's address family.
func overhead(v *VXLANConfig) int {
	for _, ip := range append([]net.IP{v.SrcAddr, v.Group}, v.Peers...) {
		if ip != nil && ip.To4() == nil {
			return vxlanOverhead6
		}
	}
	return vxlanOverhead4
}

func orUnknown(dev string) string {
	if dev == "" {
		return "(default)"
	}
	return dev
}

func vniOf(n *network) int {
	if n.Config.VXLAN == nil {
		return 0
	}
	return n.Config.VXLAN.VNI
}

// ensureNetworkLinks creates whatever of the network's links is missing.
func (d *Driver) ensureNetworkLinks(n *network) error {
	if err := d.kernel.EnsureBridge(linksBridge(n)); err != nil {
		return err
	}
	if v := n.Config.VXLAN; v != nil {
		if err := d.kernel.EnsureVxlan(linksVxlan(n, v)); err != nil {
			return err
		}
	}
	if n.Config.HostGateway {
		if err := d.kernel.AddAddrs(bridgeName(n), gateways(n)); err != nil {
			return err
		}
	}
	return nil
}

// removeNetworkLinks deletes the network's own links, best effort.
func (d *Driver) removeNetworkLinks(n *network) {
	if n.Config.VXLAN != nil {
		if err := d.kernel.DeleteOwned(vxlanName(n), roleVxlan, n.ID); err != nil {
			d.log.Warn("delete vxlan link", "network", shortID(n.ID), "err", err)
		}
	}
	if err := d.kernel.DeleteOwned(bridgeName(n), roleBridge, n.ID); err != nil {
		d.log.Warn("delete bridge", "network", shortID(n.ID), "err", err)
	}
}

// gateways lists the gateway addresses the host takes in hostGateway mode.
func gateways(n *network) []*net.IPNet {
	var gws []*net.IPNet
	for _, s := range append(append([]Subnet{}, n.IPv4...), n.IPv6...) {
		if s.Gateway.IsValid() {
			gws = append(gws, ipnet(s.Gateway))
		}
	}
	return gws
}

// DeleteNetwork removes a network, any endpoints Docker left on it, and its
// links. An unknown network is not an error.
func (d *Driver) DeleteNetwork(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.loadNetwork(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	eps, err := d.endpoints()
	if err != nil {
		return err
	}
	for i := range eps {
		if eps[i].NetworkID == id {
			if err := d.deleteEndpoint(&eps[i]); err != nil {
				return err
			}
		}
	}
	d.removeNetworkLinks(n)
	if err := d.store.Delete(bucketNetworks, id); err != nil {
		return fmt.Errorf("forget network: %w", err)
	}
	d.log.Info("network deleted", "network", shortID(id))
	return nil
}

// AllocateNetwork runs on a swarm manager: it validates the options once,
// cluster-wide, so a bad network fails at create time on the manager.
func (d *Driver) AllocateNetwork(req CreateNetworkRequest) (map[string]string, error) {
	_, err := ParseNetworkConfig(ParseRequest{
		Options: req.Options, Internal: req.Internal, EnableIPv6: req.EnableIPv6,
		GlobalScope: d.cfg.GlobalScope, VtepDevFlag: d.cfg.VtepDev,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{}, nil
}

// FreeNetwork is AllocateNetwork's counterpart; nothing is held cluster-wide.
func (d *Driver) FreeNetwork(string) error { return nil }
