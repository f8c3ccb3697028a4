package driver

import (
	"fmt"
	"net"
)

// A BGP EVPN segment (-o EVPN=true) is one whose remote entries belong to
// FRR: zebra advertises the MACs the network's bridge learns from its
// containers and installs the fabric's type-2 (MAC/IP) and type-3 (flood)
// routes as FDB and neighbour entries of the vxlan link and the bridge.
// The plugin lays the links out as zebra expects and then never writes or
// deletes one of those entries: FRR removes entries it did not install
// when a late withdrawal arrives, so two writers would fight.

// evpnOption is the option's canonical name, for errors.
const evpnOption = "EVPN"

// checkEVPN refuses the options that do not mix with an EVPN segment and
// turns learning off, unless Learning was asked for explicitly (refused).
func (p *parse) checkEVPN(cfg *NetworkConfig) error {
	v := cfg.VXLAN
	if v == nil || !v.EVPN {
		return nil
	}
	for _, name := range []string{"Peers", "Group"} {
		if _, set := p.seen[name]; set {
			return fmt.Errorf("option %s does not mix with %s=true: FRR installs the flood list from the fabric's type-3 routes", name, evpnOption)
		}
	}
	if _, set := p.seen["Learning"]; set && v.Learning {
		return fmt.Errorf("option Learning=true does not mix with %s=true: remote MACs come from BGP, installed by FRR, not learned from traffic", evpnOption)
	}
	v.Learning = false
	if cfg.Mode != ModeBridge {
		return fmt.Errorf("option mode=%s does not mix with %s=true: zebra learns the containers' MACs from the forwarding table of a bridge the vxlan link is a port of; use mode=bridge", cfg.Mode, evpnOption)
	}
	if v.SrcAddr == nil && v.VtepDev == "" {
		return fmt.Errorf("option %s=true needs SrcAddr or VtepDev (or the daemon's --vtepdev): FRR advertises the vxlan link's local address as this host's VTEP", evpnOption)
	}
	if v.SrcAddr != nil && v.SrcAddr.To4() == nil {
		return fmt.Errorf("option SrcAddr=%s does not mix with %s=true: %s", v.SrcAddr, evpnOption, whyIPv4VTEP)
	}
	return nil
}

// whyIPv4VTEP is why an EVPN segment's VTEP address is IPv4: FRR 8.4
// (Debian 12's) took an IPv6 local address as 0.0.0.0 and advertised its
// router ID instead; the segment carried nothing.
const whyIPv4VTEP = "FRR advertises IPv4 VTEP addresses only; give an IPv4 address"

// evpn reports a network whose segment FRR manages.
func evpn(n *network) bool { return n.Config.VXLAN != nil && n.Config.VXLAN.EVPN }

// settleEVPNLocal records, once, the local address of an EVPN network's
// vxlan link: SrcAddr, else the VTEP device's first global IPv4 address.
// Recorded with the network, the link keeps the address it was created
// with across restarts, even if the device's addresses change.
func (d *Driver) settleEVPNLocal(n *network) error {
	v := n.Config.VXLAN
	switch {
	case !evpn(n) || n.VTEP != nil:
		return nil
	case v.SrcAddr != nil:
		n.VTEP = v.SrcAddr
		return nil
	case v.VtepDev == "": // the options refuse this; a record from elsewhere may not
		return fmt.Errorf("option %s=true needs SrcAddr or VtepDev: the vxlan link needs a local address for FRR to advertise", evpnOption)
	}
	ip, err := d.kernel.VTEPAddr(v.VtepDev, nil, nil, false)
	if err != nil {
		return fmt.Errorf("option %s=true: no IPv4 VTEP address for FRR to advertise (give SrcAddr): %w", evpnOption, err)
	}
	n.VTEP = ip
	return nil
}

// evpnLocal is the local address of an EVPN network's vxlan link, once
// settled; nil otherwise.
func evpnLocal(n *network) net.IP {
	if !evpn(n) {
		return nil
	}
	return n.VTEP
}
