package driver

import "net"

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
type NetworkConfig struct {
	Mode        Mode
	VXLAN       *VXLANConfig `json:",omitempty"` // nil: internal segment
	Bridge      BridgeConfig
	HostGateway bool
	Internal    bool
	EnableIPv6  bool
}

// VXLANConfig is the VXLAN segment: the semantics of `ip link add type vxlan`.
type VXLANConfig struct {
	VNI      int
	VtepDev  string
	SrcAddr  net.IP
	Group    net.IP
	Peers    []net.IP
	Port     int
	PortLow  int
	PortHigh int
	TTL      int
	TOS      int
	Learning bool
	Proxy    bool
	RSC      bool
	L2miss   bool
	L3miss   bool
	NoAge    bool
	GBP      bool
	Age      int
	Limit    int
	Name     string
	MTU      int // 0 until derived from the underlay at create time
	MAC      net.HardwareAddr
	TxQLen   int
}

// BridgeConfig is the bridge attachment's per-network bridge.
type BridgeConfig struct {
	Name   string
	MTU    int // 0 until derived at create time; containers inherit it
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
)
