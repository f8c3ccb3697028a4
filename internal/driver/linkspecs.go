package driver

import (
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Roles of owned links, as the links package names them.
const (
	roleBridge   = links.RoleBridge
	roleVxlan    = links.RoleVxlan
	roleVlan     = links.RoleVlan
	roleGateway  = links.RoleGateway
	roleEndpoint = links.RoleEndpoint
)

func linksBridge(n *network) links.BridgeSpec {
	br := n.Config.Bridge
	spec := links.BridgeSpec{Name: bridgeName(n), NetworkID: n.ID, MTU: br.MTU, MAC: br.MAC, TxQLen: br.TxQLen}
	if spec.MAC == nil && n.Config.Mode == ModeBridge {
		spec.MAC, spec.RandomLinkLocal = anycastGateway(n)
	}
	return spec
}

// anycastGateway returns the gateway MAC shared by every host of a VXLAN
// segment in hostGateway mode. Each host holds the same gateway address;
// with the same MAC too, a container's ARP/ND cache stays right whichever
// host answers, and frames for the gateway never leave the host: its own
// bridge owns the MAC. The link-local address must then not derive from it.
func anycastGateway(n *network) (net.HardwareAddr, bool) {
	v := n.Config.VXLAN
	if v == nil || !n.Config.HostGateway {
		return nil, false
	}
	return net.HardwareAddr{0x02, 'v', 'x', byte(v.VNI >> 16), byte(v.VNI >> 8), byte(v.VNI)}, true
}

func linksVxlan(n *network, v *VXLANConfig) links.VxlanSpec {
	return links.VxlanSpec{Name: vxlanName(n), NetworkID: n.ID, Bridge: bridgeName(n), VxlanParams: v.VxlanParams}
}

func linksVeth(n *network, e *endpoint) links.VethSpec {
	spec := links.VethSpec{
		HostName: e.HostVeth, PeerName: e.Interface, EndpointID: e.ID,
		Bridge: bridgeName(n), MTU: n.Config.MTU,
	}
	if mac, err := parseMACString(e.MAC); err == nil {
		spec.PeerMAC = mac
	}
	return spec
}

// endpointChild is an endpoint's macvlan or ipvlan interface.
func endpointChild(n *network, e *endpoint) links.ChildSpec {
	spec := links.ChildSpec{
		Name: e.Interface, Parent: segmentDevice(n), Role: roleEndpoint, ID: e.ID, MTU: n.Config.MTU,
	}
	if mac, err := parseMACString(e.MAC); err == nil && n.Config.Mode == ModeMacvlan {
		spec.MAC = mac
	}
	return spec
}

// gatewayChild is the host's own macvlan or ipvlan interface on the segment,
// which holds the gateway addresses in hostGateway mode.
func gatewayChild(n *network) links.ChildSpec {
	spec := links.ChildSpec{
		Name: linkName("vxgw-", n.ID), Parent: segmentDevice(n), Role: roleGateway, ID: n.ID,
		MTU: n.Config.MTU, Up: true,
	}
	if n.Config.Mode == ModeMacvlan {
		spec.MAC, spec.RandomLinkLocal = anycastGateway(n)
	}
	return spec
}
