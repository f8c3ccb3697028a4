package driver

import (
	"context"
	"net/netip"
)

// containerIfPrefix is how Docker names our interface inside the container.
const containerIfPrefix = "eth"

// Join hands Docker the endpoint's interface for the container (made by
// CreateEndpoint), and its gateways or, for ipvlan l3/l3s, connected default
// routes. It reads the index only, and so waits for no request. Given the
// sandbox, it refuses port publishing and, once Docker has configured the
// interface, announces the container's addresses on the segment.
func (d *Driver) Join(_ context.Context, networkID, endpointID string, sb ...Sandbox) (JoinResponse, error) {
	x, err := d.records()
	if err != nil {
		return JoinResponse{}, err
	}
	n, err := x.lookupNetwork(networkID)
	if err != nil {
		return JoinResponse{}, err
	}
	e, err := x.lookupEndpointOf(networkID, endpointID)
	if err != nil {
		return JoinResponse{}, err
	}
	for _, s := range sb {
		if err := refusePublishing(e, s.PortBindings); err != nil {
			return JoinResponse{}, err
		}
	}
	d.unjoined.joined(e.ID)
	resp := JoinResponse{SrcName: e.Interface, DstPrefix: containerIfPrefix}
	switch {
	case n.Config.Internal:
	case n.Config.routedIpvlan():
		resp.ConnectedRoutes = connectedDefaults(e)
	default:
		resp.Gateway = gatewayFor(n.IPv4, e.Address)
		resp.GatewayIPv6 = gatewayFor(n.IPv6, e.AddressIPv6)
	}
	for _, s := range sb {
		d.announceLater(s.Key, e)
	}
	return resp, nil
}

// connectedDefaults are the default routes of an ipvlan l3/l3s container:
// straight out of its interface, for each family it has an address in.
func connectedDefaults(e *endpoint) []netip.Prefix {
	var routes []netip.Prefix
	if e.Address.IsValid() {
		routes = append(routes, netip.MustParsePrefix("0.0.0.0/0"))
	}
	if e.AddressIPv6.IsValid() {
		routes = append(routes, netip.MustParsePrefix("::/0"))
	}
	return routes
}

// gatewayFor returns the gateway of the subnet holding addr.
func gatewayFor(subnets []Subnet, addr netip.Prefix) netip.Addr {
	if !addr.IsValid() {
		return netip.Addr{}
	}
	for _, s := range subnets {
		if s.Pool.Contains(addr.Addr()) && s.Gateway.IsValid() {
			return s.Gateway.Addr()
		}
	}
	return netip.Addr{}
}

// Leave needs no work: Docker moves the interface back to the host, and
// DeleteEndpoint removes it.
func (d *Driver) Leave(networkID, endpointID string) error { return nil }

// ProgramExternalConnectivity needs no work: containers are hosts on the
// segment, with no NAT or port mapping.
func (d *Driver) ProgramExternalConnectivity(networkID, endpointID string) error { return nil }

// RevokeExternalConnectivity is ProgramExternalConnectivity's counterpart.
func (d *Driver) RevokeExternalConnectivity(networkID, endpointID string) error { return nil }
