package driver

import (
	"context"
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
	return d.kernel.AddAddrs(gwLink, gateways(n))
}

func (d *Driver) ensureSegment(n *network) error {
	cfg := &n.Config
	switch {
	case cfg.VXLAN != nil:
		spec := linksVxlan(n, cfg.VXLAN)
		spec.Peers = d.floodPeers(n)
		if cfg.Mode != ModeBridge {
			spec.Bridge = "" // macvlan/ipvlan children hang off the vxlan link itself
		}
		return d.kernel.EnsureVxlan(spec)
	case cfg.Parent != "":
		return d.ensureParent(n)
	}
	return nil
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

// parentInUse reports whether another recorded network uses n's parent.
func (d *Driver) parentInUse(n *network) bool {
	nets, err := d.networks()
	if err != nil {
		return true // when in doubt, keep it
	}
	for _, o := range nets {
		if o.ID != n.ID && o.Config.Parent == n.Config.Parent {
			return true
		}
	}
	return false
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

// syncForward lets traffic through the host firewall's FORWARD chain for
// the bridges of bridge-mode networks. Given networks (one about to be
// recorded), it adds theirs and reads nothing else; given none, it makes
// the exception match every recorded network, writing only what differs.
// A host on legacy iptables, where the plugin cannot write, gets a warning
// when a network's bridge is set up: once per network, not at every check.
func (d *Driver) syncForward(extra ...*network) error {
	var err error
	if len(extra) > 0 {
		err = d.kernel.AllowForward(forwardRules(extra), links.ForwardAdd)
	} else {
		nets, lerr := d.networks()
		if lerr != nil {
			return lerr
		}
		err = d.kernel.AllowForward(forwardRules(pointers(nets)), links.ForwardExact)
	}
	if errors.Is(err, links.ErrLegacyIptables) {
		if !d.legacyWarned {
			d.log.Warn("firewall exception not installed: add the rules by hand (README, Firewall)", "err", err)
			d.legacyWarned = true
		}
		return nil
	}
	return err
}

// forwardRules lists the bridges of the bridge-mode networks among nets.
func forwardRules(nets []*network) []links.ForwardRule {
	var rules []links.ForwardRule
	for _, n := range nets {
		if n.Config.Mode == ModeBridge {
			rules = append(rules, links.ForwardRule{Bridge: bridgeName(n), Internal: n.Config.Internal})
		}
	}
	return rules
}

func pointers[T any](s []T) []*T {
	p := make([]*T, len(s))
	for i := range s {
		p[i] = &s[i]
	}
	return p
}

// SyncFirewall restores the firewall exception if something (a firewall
// reload, `iptables -F`) removed or changed it. The daemon calls it
// periodically; it writes only what differs.
func (d *Driver) SyncFirewall(ctx context.Context) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	return d.syncForward()
}
