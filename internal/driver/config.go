package driver

import (
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Mode is how containers are attached to a network's segment.
type Mode string

// Attachment modes.
const (
	ModeBridge  Mode = "bridge"
	ModeMacvlan Mode = "macvlan"
	ModeIpvlan  Mode = "ipvlan"
)

// NetworkConfig is a network's validated configuration, parsed from the
// `docker network create -o` options and Docker's own flags.
//
// The segment is VXLAN (VXLAN set), a parent device (Parent set) or, with
// neither, an internal segment the plugin creates.
type NetworkConfig struct {
	Mode        Mode
	MacvlanMode string       `json:",omitempty"` // bridge, private, vepa, passthru
	IpvlanMode  string       `json:",omitempty"` // l2, l3, l3s
	IpvlanFlag  string       `json:",omitempty"` // bridge, private, vepa
	VXLAN       *VXLANConfig `json:",omitempty"`
	Parent      string       `json:",omitempty"` // IFACE, or IFACE.VID for an 802.1Q sub-interface
	Bridge      BridgeConfig
	MTU         int // container interfaces' MTU: 0 until derived at create time
	HostGateway bool
	HostRouting bool // the host routes between it and the other networks with HostRouting; else they are kept apart
	Internal    bool
	EnableIPv6  bool
}

// routedIpvlan reports an ipvlan l3/l3s network: containers get a connected
// default route and no gateway.
func (c *NetworkConfig) routedIpvlan() bool {
	return c.Mode == ModeIpvlan && (c.IpvlanMode == "l3" || c.IpvlanMode == "l3s")
}

// vlanID returns the VLAN ID and base interface of an IFACE.VID parent;
// ok is false for a plain interface.
func (c *NetworkConfig) vlanID() (base string, vid int, ok bool) {
	return splitVlanParent(c.Parent)
}

// VXLANConfig is the VXLAN segment: the vxlan link's settings and its name.
type VXLANConfig struct {
	links.VxlanParams
	Name string // "" until derived
}

// BridgeConfig is the bridge attachment's per-network bridge.
type BridgeConfig struct {
	Name   string
	MTU    int // bridgeMTU as given; containers inherit the bridge's MTU
	MAC    net.HardwareAddr
	TxQLen int
}

// Defaults the product contract fixes.
const (
	DefaultVXLANPort = 4789 // IANA; never the kernel's legacy 8472
	tosInherit       = 1    // the kernel's encoding of "tos inherit"
	vxlanOverhead4   = 50   // outer Ethernet + IPv4 + UDP + VXLAN
	vxlanOverhead6   = 70   // the same with an IPv6 outer header
	maxIfNameLen     = 15
	internalMTU      = 1500  // an internal segment's default MTU; it has no underlay to limit it
	maxMTU           = 65535 // the largest MTU an option accepts
)
