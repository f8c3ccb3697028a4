package driver

import (
	"context"
	"fmt"
	"maps"
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/request"
)

// GwAllocCheck tells Docker (28+) whether to reserve gateway addresses:
// always, but for ipvlan l3/l3s, whose containers take no gateway.
func (d *Driver) GwAllocCheck(options map[string]string) (skipIPv4, skipIPv6 bool, err error) {
	cfg, err := d.parse(CreateNetworkRequest{Options: options})
	if err != nil {
		return false, false, err
	}
	skip := cfg.routedIpvlan()
	return skip, skip, nil
}

// parse validates a request's options under the daemon's configuration.
func (d *Driver) parse(req CreateNetworkRequest) (NetworkConfig, error) {
	return ParseNetworkConfig(ParseRequest{
		Options: req.Options, Internal: req.Internal, EnableIPv6: req.EnableIPv6,
		GlobalScope: d.cfg.GlobalScope, VtepDevFlag: d.cfg.VtepDev,
	})
}

// CreateNetwork validates the options, creates the network's links and
// records it. Repeating it for a known network re-ensures its links.
func (d *Driver) CreateNetwork(ctx context.Context, req CreateNetworkRequest) error {
	if err := ValidID("network", req.NetworkID); err != nil {
		return err
	}
	x, err := d.records()
	if err != nil {
		return err
	}
	unlock, err := d.lockNetwork(ctx, req.NetworkID)
	if err != nil {
		return err
	}
	defer unlock()

	if n := x.network(req.NetworkID); n != nil {
		return d.ensureNetworkLinks(n)
	}
	n, err := d.newNetwork(x, req)
	if err != nil {
		return err
	}
	if err := d.createNetwork(ctx, x, n); err != nil {
		x.unclaim(n)
		return err
	}
	d.log.Info("network created", "network", shortID(n.ID), "mode", n.Config.Mode, "segment", segmentDevice(n), "vni", vniOf(n), "underlay", n.Underlay, "mtu", n.Config.MTU)
	return nil
}

// createNetwork sets up and records a network claimed in the index.
func (d *Driver) createNetwork(ctx context.Context, x *index, n *network) error {
	unlock, err := d.lockParent(ctx, n)
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.defineSegment(ctx, n); err != nil {
		return err
	}
	done, err := d.noteCreating(x, n.ID)
	if err != nil {
		return err
	}
	defer done()
	if err := d.installNetwork(ctx, x, n); err != nil {
		d.uninstallNetwork(n)
		return err
	}
	if !d.clustered(n) {
		return nil // its flood list is complete: ensureSegment made it
	}
	if err := d.syncSegment(n); err != nil {
		d.log.Warn("segment entries", "network", shortID(n.ID), "err", err)
	}
	return nil
}

// installNetwork creates the network's links and firewall exception, then
// records it, unless Docker gave up on the request meanwhile.
func (d *Driver) installNetwork(ctx context.Context, x *index, n *network) error {
	if err := d.ensureNetworkLinks(n); err != nil {
		return err
	}
	if err := d.allowForward(ctx, n); err != nil {
		return err
	}
	if err := d.joinSegment(n); err != nil {
		return err
	}
	if err := request.Commit(ctx); err != nil { // Docker will never delete a network it thinks failed
		return err
	}
	if err := d.store.Put(bucketNetworks, n.ID, n); err != nil {
		return fmt.Errorf("record network: %w", err)
	}
	x.record(n)
	return nil
}

// uninstallNetwork removes the links of a network that is not (or no
// longer) recorded, its firewall exception and its cluster membership,
// best effort.
func (d *Driver) uninstallNetwork(n *network) {
	d.releaseSegment(n)
	d.removeNetworkLinks(n)
	d.withdrawForward(n)
}

// newNetwork parses and checks a request against the kernel, derives the
// MTUs and claims what the network holds on this host, refusing what
// would clash with another network.
func (d *Driver) newNetwork(x *index, req CreateNetworkRequest) (*network, error) {
	cfg, err := d.parse(req)
	if err != nil {
		return nil, err
	}
	n := &network{ID: req.NetworkID, Config: cfg, Options: req.Options, IPv4: req.IPv4, IPv6: req.IPv6}
	if _, _, isVlan := cfg.vlanID(); isVlan {
		st := d.kernel.LinkState(cfg.Parent, roleVlan, cfg.Parent)
		n.OwnsVlan = st == links.StateMissing || st == links.StateOK
	}
	if err := d.checkParentNotOurs(n); err != nil {
		return nil, err
	}
	if fixesBridgeMAC(n) {
		if n.BridgeMAC, err = randomMAC(); err != nil {
			return nil, err
		}
	}
	if err := d.deriveMTU(n); err != nil {
		return nil, err
	}
	if err := x.claim(n); err != nil {
		return nil, err
	}
	return n, nil
}

// checkParentNotOurs refuses a parent that is a link of a plugin network
// (this instance's or another's): deleting that network would destroy the
// interfaces of this one's containers. An 802.1Q sub-interface the plugin
// made for networks on that VLAN is shared, as intended.
func (d *Driver) checkParentNotOurs(n *network) error {
	if n.Config.Parent == "" {
		return nil
	}
	devs := []string{n.Config.Parent}
	if base, _, ok := n.Config.vlanID(); ok {
		devs = append(devs, base)
	}
	for _, dev := range devs {
		m, ok := d.kernel.Owner(dev)
		if !ok || (m.Role == roleVlan && dev == n.Config.Parent) {
			continue
		}
		return fmt.Errorf("parent %s is a link of docker-vxlan-plugin (%s), not an interface of the host's: it goes when its network goes; use a host interface", dev, m)
	}
	return nil
}

// parentConflict refuses a second network on a parent that cannot be
// shared: ipvlan takes a parent for itself (and never mixes with macvlan),
// and a macvlan passthru child takes over its parent.
func parentConflict(n, o *network) error {
	if n.Config.Parent == "" || n.Config.Parent != o.Config.Parent {
		return nil
	}
	for _, x := range []*network{n, o} {
		switch {
		case x.Config.Mode == ModeIpvlan:
			return fmt.Errorf("parent %s is already used by network %s; an ipvlan network needs a parent of its own", n.Config.Parent, shortID(o.ID))
		case x.Config.MacvlanMode == "passthru":
			return fmt.Errorf("parent %s is already used by network %s; macvlan_mode=passthru needs a parent of its own", n.Config.Parent, shortID(o.ID))
		}
	}
	return nil
}

// deriveMTU sets the MTU of the segment's links and of the containers'
// interfaces, refusing any setting that would make full-size packets
// fragment or be dropped: for VXLAN the underlay's MTU less the
// encapsulation overhead, for a parent its own MTU.
func (d *Driver) deriveMTU(n *network) error {
	limit, from, err := d.segmentMTU(n)
	if err != nil {
		return err
	}
	cfg := &n.Config
	switch {
	case cfg.MTU == 0 && cfg.VXLAN == nil && cfg.Parent == "":
		cfg.MTU = internalMTU // an internal segment's default, not its limit
	case cfg.MTU == 0:
		cfg.MTU = limit
	case cfg.MTU > limit:
		return fmt.Errorf("MTU %d is larger than %s allows (%d): full-size packets would be dropped", cfg.MTU, from, limit)
	}
	if cfg.Mode == ModeBridge {
		cfg.Bridge.MTU = cfg.MTU
	}
	return nil
}

// segmentMTU returns the largest MTU the segment carries and what limits it.
func (d *Driver) segmentMTU(n *network) (int, string, error) {
	cfg := &n.Config
	switch {
	case cfg.VXLAN != nil:
		return d.vxlanMTU(n)
	case cfg.Parent != "":
		dev := cfg.Parent
		if base, _, ok := cfg.vlanID(); ok && !d.kernel.Exists(dev) {
			dev = base // the sub-interface will inherit its base's MTU
		}
		if !d.kernel.Exists(dev) {
			return 0, "", fmt.Errorf("parent interface %s does not exist", dev)
		}
		mtu, err := d.kernel.LinkMTU(dev)
		return mtu, "parent " + dev, err
	}
	return maxMTU, "an internal segment", nil
}

// vxlanMTU derives the vxlan link's MTU from the underlay.
func (d *Driver) vxlanMTU(n *network) (int, string, error) {
	v := n.Config.VXLAN
	u, err := d.kernel.LookupUnderlay(v.VtepDev, v.SrcAddr, d.remotes(v))
	if err != nil {
		return 0, "", err
	}
	n.Underlay = u.Device
	limit := u.MTU - overhead(v)
	switch {
	case v.MTU == 0:
		v.MTU = limit
	case v.MTU > limit:
		return 0, "", fmt.Errorf("vxlanMTU=%d is too large: the underlay %s has MTU %d, so at most %d fits without fragmenting",
			v.MTU, orUnknown(u.Device), u.MTU, limit)
	}
	return v.MTU, "the vxlan link", nil
}

// overhead is the VXLAN encapsulation size for the underlay's address family.
func overhead(v *VXLANConfig) int {
	if underlayIPv6(v) {
		return vxlanOverhead6
	}
	return vxlanOverhead4
}

// underlayIPv6 reports an IPv6 underlay: the VTEP addresses are IPv6 (the
// options guarantee they share one family). IPv4 when none is given.
func underlayIPv6(v *VXLANConfig) bool {
	for _, ip := range append([]net.IP{v.SrcAddr, v.Group}, v.Peers...) {
		if ip != nil {
			return ip.To4() == nil
		}
	}
	return false
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

// DeleteNetwork removes a network, any endpoints Docker left on it, and its
// links. An unknown network is not an error.
func (d *Driver) DeleteNetwork(ctx context.Context, id string) error {
	x, err := d.records()
	if err != nil {
		return err
	}
	unlock, err := d.lockNetwork(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	n := x.network(id)
	if n == nil {
		if x.isUnreadable(bucketNetworks, id) {
			return d.forgetUnreadable(x, bucketNetworks, id)
		}
		return nil
	}
	for _, e := range x.endpointsOf(id) {
		if err := d.deleteEndpoint(x, n, e); err != nil {
			return err
		}
	}
	unlockParent, err := d.lockParent(ctx, n)
	if err != nil {
		return err
	}
	defer unlockParent()
	if err := d.store.Delete(bucketNetworks, id); err != nil {
		return fmt.Errorf("forget network: %w", err)
	}
	x.forget(id)
	d.uninstallNetwork(n)
	x.unclaim(n) // its names are free once its links are gone
	d.log.Info("network deleted", "network", shortID(id))
	return nil
}

// AllocateNetwork runs on a swarm manager: it validates the options once,
// cluster-wide, so a bad network fails at create time on the manager, and
// hands them back: swarm gives the workers' CreateNetwork exactly the
// options returned here.
func (d *Driver) AllocateNetwork(req CreateNetworkRequest) (map[string]string, error) {
	if _, err := d.parse(req); err != nil {
		return nil, err
	}
	return maps.Clone(req.Options), nil
}

// FreeNetwork is AllocateNetwork's counterpart; nothing is held cluster-wide.
func (d *Driver) FreeNetwork(string) error { return nil }
