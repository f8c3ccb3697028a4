package driver

import (
	"net"
	"net/netip"
)

// Capabilities is what the driver reports to Docker.
type Capabilities struct {
	Scope             string // "local" or "global"
	ConnectivityScope string
	GwAllocChecker    bool
}

// Subnet is one IPAM pool of a network, as Docker hands it over.
type Subnet struct {
	Pool         netip.Prefix
	Gateway      netip.Prefix // gateway address with the pool's length; zero if none
	AuxAddresses map[string]netip.Prefix
}

// CreateNetworkRequest asks for a network.
type CreateNetworkRequest struct {
	NetworkID  string
	Options    map[string]string // the -o options
	Internal   bool
	EnableIPv6 bool
	IPv4, IPv6 []Subnet
}

// CreateEndpointRequest asks for an endpoint with the addresses Docker's IPAM chose.
type CreateEndpointRequest struct {
	NetworkID   string
	EndpointID  string
	Address     netip.Prefix // zero if none
	AddressIPv6 netip.Prefix // zero if none
	MAC         net.HardwareAddr
}

// CreateEndpointResponse carries what the driver chose; MAC is nil when
// Docker supplied one.
type CreateEndpointResponse struct {
	MAC net.HardwareAddr
}

// Sandbox is the container side of a Join, as Docker hands it over.
type Sandbox struct {
	Key          string        // path of the container's network namespace
	PortBindings []PortBinding // -p / -P: what the container asks to publish
}

// PortBinding is one port the container asks to publish on the host.
type PortBinding struct {
	Proto    string
	Port     uint16 // in the container
	HostIP   string
	HostPort uint16 // 0: any
}

// JoinResponse tells Docker which interface to move into the container and
// how to route.
type JoinResponse struct {
	SrcName     string // the interface Docker moves into the sandbox
	DstPrefix   string // Docker names it DstPrefix + N inside the container
	Gateway     netip.Addr
	GatewayIPv6 netip.Addr
	// ConnectedRoutes are routes straight out of the interface, with no
	// next hop (ipvlan l3/l3s default routes).
	ConnectedRoutes []netip.Prefix
}

// NodeDiscovery is a swarm node announced by DiscoverNew / DiscoverDelete.
type NodeDiscovery struct {
	Address     string
	BindAddress string
	Self        bool
}
