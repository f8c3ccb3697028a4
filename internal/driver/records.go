package driver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Store buckets.
const (
	bucketNetworks  = "networks"
	bucketEndpoints = "endpoints"
)

// network is a network's persistent record.
type network struct {
	ID       string
	Config   NetworkConfig
	Options  map[string]string // as given, for inspection
	IPv4     []Subnet
	IPv6     []Subnet
	Underlay string // device the VXLAN traffic leaves by, as found at create time
	OwnsVlan bool   // the IFACE.VID parent is the plugin's: created on the fly, or already marked
	VTEP     net.IP `json:",omitempty"` // this host's VTEP address on the segment: cluster mode, and EVPN's settled local address
	// BridgeMAC is the bridge's address, chosen at create unless the
	// bridgeHardwareAddr option gives one. A bridge left to the kernel
	// takes its lowest port's address, which changes as containers come
	// and go: their cached gateway MAC goes stale and they are cut off
	// until their ARP entry expires.
	BridgeMAC net.HardwareAddr `json:",omitempty"`
}

// endpoint is an endpoint's persistent record.
type endpoint struct {
	ID          string
	NetworkID   string
	Address     netip.Prefix
	AddressIPv6 netip.Prefix
	MAC         string // "" for ipvlan, whose children share the parent's MAC
	Interface   string // the link Docker moves into the container
	HostVeth    string // bridge mode: the veth's host end, on the bridge
}

// hostLink is the endpoint's link that stays on the host and carries our
// mark: the veth's host end, or the macvlan/ipvlan child itself.
func (e *endpoint) hostLink() string {
	if e.HostVeth != "" {
		return e.HostVeth
	}
	return e.Interface
}

// ErrNotFound marks requests for network or endpoint IDs the driver does not know.
var ErrNotFound = errors.New("not found")

// listAll decodes every record of a bucket; the keys of those that do not
// decode come apart (unreadable.go).
func listAll[T any](s Store, bucket string) (all []T, unreadable []string, err error) {
	err = s.List(bucket, func(key string, decode func(any) error) error {
		var v T
		if err := decode(&v); err != nil {
			unreadable = append(unreadable, key)
			return nil
		}
		all = append(all, v)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return all, unreadable, nil
}

// fixesBridgeMAC tells whether the driver chooses the network's bridge
// address (network.BridgeMAC): for a bridge with ports, whose address would
// follow them, and unless the bridgeHardwareAddr option gives one. Not for
// the bridge an internal macvlan or ipvlan segment hangs on: it never has
// a port, and a port-less bridge whose address was set has no carrier.
func fixesBridgeMAC(n *network) bool {
	return n.Config.Mode == ModeBridge && hasBridge(n) && n.Config.Bridge.MAC == nil
}

// Link names derived from IDs fit the kernel's 15-character limit.
func bridgeName(n *network) string {
	if n.Config.Bridge.Name != "" {
		return n.Config.Bridge.Name
	}
	return linkName("vxbr-", n.ID)
}

func vxlanName(n *network) string {
	if n.Config.VXLAN.Name != "" {
		return n.Config.VXLAN.Name
	}
	return linkName("vxlan-", n.ID)
}

// endpointLinkNames names an endpoint's links: the container's interface
// and, in bridge mode, the veth's host end.
func endpointLinkNames(endpointID string) (container, hostVeth string) {
	return linkName("vxct-", endpointID), linkName("vxve-", endpointID)
}

// linkName appends as much of id as fits the kernel's name limit.
func linkName(prefix, id string) string {
	if room := maxIfNameLen - len(prefix); len(id) > room {
		id = id[:room]
	}
	return prefix + id
}

// ValidID accepts what Docker sends as IDs (64 hex digits) and anything else
// that is safe to use in link names and marks.
func ValidID(kind, id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%s ID %q: want 1 to 128 characters", kind, id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%s ID %q: only letters, digits, '-' and '_' are allowed", kind, id)
		}
	}
	return nil
}

// shortID is the first ten characters of a Docker ID.
func shortID(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
