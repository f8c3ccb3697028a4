package driver

import "github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"

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
	mac := br.MAC
	if mac == nil {
		mac = n.BridgeMAC
	}
	return links.BridgeSpec{Name: bridgeName(n), NetworkID: n.ID, MTU: br.MTU, MAC: mac, TxQLen: br.TxQLen}
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
	return links.ChildSpec{
		Name: linkName("vxgw-", n.ID), Parent: segmentDevice(n), Role: roleGateway, ID: n.ID,
		MTU: n.Config.MTU, Up: true,
	}
}
