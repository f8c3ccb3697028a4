// Package protocol speaks libnetwork's remote network driver and IPAM
// driver protocols: JSON over HTTP POSTs on a unix socket. It translates
// the wire shapes to the drivers' types and back, and holds no network
// logic of its own.
package protocol

import "encoding/json"

// The types below are the JSON bodies exactly as dockerd sends and expects
// them (libnetwork drivers/remote/api). Field names are the wire names.

// ContentType is the media type of every plugin response.
const ContentType = "application/vnd.docker.plugins.v1.2+json"

type errorResponse struct {
	Err string
}

type activateResponse struct {
	Implements []string
}

type capabilitiesResponse struct {
	Scope             string
	ConnectivityScope string
	GwAllocChecker    bool
}

type gwAllocCheckRequest struct {
	Options map[string]any
}

type gwAllocCheckResponse struct {
	SkipIPv4 bool
	SkipIPv6 bool
}

// ipamData is one address pool; addresses are in CIDR notation.
type ipamData struct {
	AddressSpace string
	Pool         string
	Gateway      string
	AuxAddresses map[string]string
}

type createNetworkRequest struct {
	NetworkID string
	Options   map[string]any
	IPv4Data  []ipamData
	IPv6Data  []ipamData
}

type allocateNetworkRequest struct {
	NetworkID string
	Options   map[string]string
	IPv4Data  []ipamData
	IPv6Data  []ipamData
}

type allocateNetworkResponse struct {
	Options map[string]string
}

type networkRequest struct {
	NetworkID string
}

type endpointInterface struct {
	Address     string `json:",omitempty"`
	AddressIPv6 string `json:",omitempty"`
	MacAddress  string `json:",omitempty"`
}

type createEndpointRequest struct {
	NetworkID  string
	EndpointID string
	Interface  *endpointInterface
	Options    map[string]any
}

type createEndpointResponse struct {
	Interface *endpointInterface `json:",omitempty"`
}

type endpointRequest struct {
	NetworkID  string
	EndpointID string
}

type endpointInfoResponse struct {
	Value map[string]any
}

type joinRequest struct {
	NetworkID  string
	EndpointID string
	SandboxKey string
	Options    map[string]any
}

type interfaceName struct {
	SrcName   string
	DstPrefix string
}

// Route types of libnetwork's types.RouteType.
const (
	routeNextHop   = 0 // via NextHop
	routeConnected = 1 // straight out of the interface
)

type staticRoute struct {
	Destination string
	RouteType   int
	NextHop     string `json:",omitempty"`
}

type joinResponse struct {
	InterfaceName         interfaceName
	Gateway               string        `json:",omitempty"`
	GatewayIPv6           string        `json:",omitempty"`
	StaticRoutes          []staticRoute `json:",omitempty"`
	DisableGatewayService bool
}

// discoveryNodeType is DiscoveryType 1: node discovery.
const discoveryNodeType = 1

type discoveryNotification struct {
	DiscoveryType int
	DiscoveryData json.RawMessage // its shape depends on DiscoveryType
}

type nodeDiscoveryData struct {
	Address     string
	BindAddress string
	Self        bool
}

// portBinding is one entry of a sandbox's port map (libnetwork's
// types.PortBinding); Proto is an IP protocol number.
type portBinding struct {
	Proto    uint8
	IP       string
	Port     uint16
	HostIP   string
	HostPort uint16
}

// Option keys inside CreateNetwork's Options, and Join's.
const (
	optPortMap    = "com.docker.network.portmap"
	optGeneric    = "com.docker.network.generic"
	optEnableIPv6 = "com.docker.network.enable_ipv6"
	optInternal   = "com.docker.network.internal"
)
