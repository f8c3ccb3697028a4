package driver

import (
	"errors"
	"fmt"
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// segmentDevice is the link a network's containers attach to: the vxlan
// link, the parent, or (internal segments) the plugin's own bridge. In
// bridge mode the containers' veths go on the bridge, which holds the
// segment device as a port.
func segmentDevice(n *network) string {
	switch {
	case n.Config.VXLAN != nil:
		return vxlanName(n)
	case n.Config.Parent != "":
		return n.Config.Parent
	}
	return bridgeName(n)
}

// ownLink is a link a network owns, named with the role and ID of its mark.
type ownLink struct {
	name string
	role links.Role
	id   string
}

// ownLinks lists the links a network owns (but an 802.1Q parent, whose
// ownership is shared between networks), children before the links they
// hang off: the order to delete them in.
func ownLinks(n *network) []ownLink {
	var own []ownLink
	if n.Config.HostGateway && n.Config.Mode != ModeBridge {
		own = append(own, ownLink{gatewayChild(n).Name, roleGateway, n.ID})
	}
	if n.Config.VXLAN != nil {
		own = append(own, ownLink{vxlanName(n), roleVxlan, n.ID})
	}
	if hasBridge(n) {
		own = append(own, ownLink{bridgeName(n), roleBridge, n.ID})
	}
	return own
}

// hasBridge reports a network with a bridge of its own: bridge mode, and
// internal segments, whose bridge is the segment.
func hasBridge(n *network) bool {
	return n.Config.Mode == ModeBridge || (n.Config.VXLAN == nil && n.Config.Parent == "")
}

// ensureNetworkLinks creates whatever of the network's links is missing:
// the segment, the bridge and the host's gateway.
func (d *Driver) ensureNetworkLinks(n *network) error {
	cfg := &n.Config
	if hasBridge(n) {
		if err := d.kernel.EnsureBridge(linksBridge(n)); err != nil {
			return err
		}
	}
	if err := d.ensureSegment(n); err != nil {
		return err
	}
	if !cfg.HostGateway {
		return nil
	}
	gwLink, err := d.ensureGatewayLink(n)
	if err != nil {
		return err
	}
	if err := d.kernel.AddAddrs(gwLink, gateways(n)); err != nil {
		return err
	}
	d.ensureForwarding(n, gwLink)
	return nil
}

// ensureForwarding lets the host route for a network whose IPv4 gateway
// it holds, as Docker's bridge driver does (Debian's dockerd 20.10 turned
// forwarding on at start; newer engines leave it to their bridge
// networks): forwarding on the gateway link itself, over netlink, which
// works inside a container too, and the host's net.ipv4.ip_forward, which
// routing on to its other interfaces needs, where /proc/sys is writable.
// Neither fails the network: a host that cannot forward still serves its
// segment, and says so once.
func (d *Driver) ensureForwarding(n *network, gwLink string) {
	if len(n.IPv4) == 0 {
		return
	}
	err := d.kernel.EnableForwardingOn(gwLink)
	changed, gerr := d.kernel.EnableIPv4Forwarding()
	if changed {
		d.log.Info("turned IPv4 forwarding on (net.ipv4.ip_forward=1) for the host gateway", "network", shortID(n.ID))
	}
	if err = errors.Join(err, gerr); err != nil && d.forwardWarned.CompareAndSwap(false, true) {
		d.log.Warn("IPv4 forwarding could not be turned on: set net.ipv4.ip_forward=1 on the host for containers to reach beyond their segment", "err", err)
	}
}

func (d *Driver) ensureSegment(n *network) error {
	switch {
	case n.Config.VXLAN != nil:
		if err := d.settleEVPNLocal(n); err != nil {
			return err
		}
		return d.kernel.EnsureVxlanLink(d.vxlanSpec(n))
	case n.Config.Parent != "":
		return d.ensureParent(n)
	}
	return nil
}

// vxlanSpec is the network's vxlan link with its flood list; an EVPN
// segment's local address is the one settled at create.
func (d *Driver) vxlanSpec(n *network) links.VxlanSpec {
	spec := linksVxlan(n, n.Config.VXLAN)
	spec.Peers = d.floodPeers(n)
	if local := evpnLocal(n); local != nil {
		spec.SrcAddr = local
	}
	if n.Config.Mode != ModeBridge {
		spec.Bridge = "" // macvlan/ipvlan children hang off the vxlan link itself
	}
	return spec
}

// ensureParent checks that the parent exists. An IFACE.VID parent that is
// missing is created, and then carries our mark, if the network owns it:
// when it was missing at network create (and so created on the fly) or
// already ours then. An operator's sub-interface is never recreated.
func (d *Driver) ensureParent(n *network) error {
	base, vid, isVlan := n.Config.vlanID()
	if !isVlan {
		if !d.kernel.Exists(n.Config.Parent) {
			return fmt.Errorf("parent interface %s does not exist", n.Config.Parent)
		}
		return nil
	}
	spec := links.VlanSpec{Name: n.Config.Parent, Parent: base, VID: vid}
	created, err := d.kernel.EnsureVlan(spec, n.OwnsVlan)
	if created {
		d.log.Info("created 802.1Q sub-interface", "link", n.Config.Parent, "network", shortID(n.ID))
	}
	return err
}

// ensureGatewayLink returns the link that holds the host's gateway
// addresses: the bridge, or a host-side macvlan/ipvlan child on the segment
// (plain macvlan and ipvlan children cannot reach their parent's own
// addresses, so the host needs a child of its own).
func (d *Driver) ensureGatewayLink(n *network) (string, error) {
	cfg := &n.Config
	spec := gatewayChild(n)
	switch cfg.Mode {
	case ModeMacvlan:
		return spec.Name, d.kernel.EnsureMacvlan(spec, "bridge")
	case ModeIpvlan:
		return spec.Name, d.kernel.EnsureIpvlan(spec, cfg.IpvlanMode, cfg.IpvlanFlag)
	}
	return bridgeName(n), nil
}

// removeNetworkLinks deletes the network's own links, best effort, and an
// 802.1Q parent the plugin created once no other network uses it.
func (d *Driver) removeNetworkLinks(n *network) {
	del := func(name string, role links.Role, id string) {
		err := d.kernel.DeleteOwned(name, role, id)
		switch {
		case errors.Is(err, links.ErrInUse):
			d.log.Info("kept link", "link", name, "network", shortID(n.ID), "why", err)
		case err != nil:
			d.log.Warn("delete link", "link", name, "network", shortID(n.ID), "err", err)
		}
	}
	for _, l := range ownLinks(n) {
		del(l.name, l.role, l.id)
	}
	if _, _, isVlan := n.Config.vlanID(); isVlan && !d.parentInUse(n) {
		del(n.Config.Parent, roleVlan, n.Config.Parent)
	}
}

// parentInUse reports whether another network, recorded or being
// created, uses n's parent.
func (d *Driver) parentInUse(n *network) bool {
	x, err := d.records()
	return err != nil || x.parentShared(n) // when in doubt, keep it
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
