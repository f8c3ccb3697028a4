package links

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// ChildSpec describes a macvlan or ipvlan link on a segment device: an
// endpoint's interface (moved into the container by Docker) or a network's
// host-side gateway interface.
type ChildSpec struct {
	Name   string
	Parent string // the segment device
	Role   Role   // RoleEndpoint or RoleGateway
	ID     string // endpoint or network ID
	MTU    int
	MAC    net.HardwareAddr // macvlan only; nil lets the kernel choose
	Up     bool             // set the link up (gateways); Docker sets endpoints up
}

// Macvlan modes, as the option values spell them.
var macvlanModes = map[string]netlink.MacvlanMode{
	"bridge": netlink.MACVLAN_MODE_BRIDGE, "private": netlink.MACVLAN_MODE_PRIVATE,
	"vepa": netlink.MACVLAN_MODE_VEPA, "passthru": netlink.MACVLAN_MODE_PASSTHRU,
}

// Ipvlan modes and flags, as the option values spell them.
var (
	ipvlanModes = map[string]netlink.IPVlanMode{
		"l2": netlink.IPVLAN_MODE_L2, "l3": netlink.IPVLAN_MODE_L3, "l3s": netlink.IPVLAN_MODE_L3S,
	}
	ipvlanFlags = map[string]netlink.IPVlanFlag{
		"bridge": netlink.IPVLAN_FLAG_BRIDGE, "private": netlink.IPVLAN_FLAG_PRIVATE, "vepa": netlink.IPVLAN_FLAG_VEPA,
	}
)

// EnsureMacvlan creates a macvlan child in mode ("bridge", "private",
// "vepa" or "passthru") unless it exists as ours.
func (k *Kernel) EnsureMacvlan(s ChildSpec, mode string) error {
	m, ok := macvlanModes[mode]
	if !ok {
		return fmt.Errorf("unknown macvlan mode %q", mode)
	}
	return k.ensureChild(s, func(attrs netlink.LinkAttrs) netlink.Link {
		attrs.HardwareAddr = s.MAC
		return &netlink.Macvlan{LinkAttrs: attrs, Mode: m}
	})
}

// EnsureIpvlan creates an ipvlan child in mode ("l2", "l3", "l3s") with
// flag ("bridge", "private", "vepa") unless it exists as ours. Ipvlan
// children share their parent's MAC.
func (k *Kernel) EnsureIpvlan(s ChildSpec, mode, flag string) error {
	m, okm := ipvlanModes[mode]
	f, okf := ipvlanFlags[flag]
	if !okm || !okf {
		return fmt.Errorf("unknown ipvlan mode %q or flag %q", mode, flag)
	}
	return k.ensureChild(s, func(attrs netlink.LinkAttrs) netlink.Link {
		return &netlink.IPVlan{LinkAttrs: attrs, Mode: m, Flag: f}
	})
}

func (k *Kernel) ensureChild(s ChildSpec, build func(netlink.LinkAttrs) netlink.Link) error {
	m := k.mark(s.Role, s.ID)
	l, err := k.lookupOwned(s.Name, m)
	if err != nil {
		return err
	}
	if l == nil {
		parent, err := k.lowerIndex(s.Parent)
		if err != nil {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = s.Name
		attrs.MTU = s.MTU
		attrs.ParentIndex = parent
		if l, err = k.create(build(attrs), m); err != nil {
			return err
		}
	}
	if !s.Up {
		return nil
	}
	if err := k.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", s.Name, err)
	}
	return nil
}
