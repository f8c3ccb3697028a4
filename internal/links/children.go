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

// macvlanMode maps the option value to the kernel's mode.
func macvlanMode(s string) (netlink.MacvlanMode, bool) {
	switch s {
	case "bridge":
		return netlink.MACVLAN_MODE_BRIDGE, true
	case "private":
		return netlink.MACVLAN_MODE_PRIVATE, true
	case "vepa":
		return netlink.MACVLAN_MODE_VEPA, true
	case "passthru":
		return netlink.MACVLAN_MODE_PASSTHRU, true
	}
	return 0, false
}

// ipvlanMode maps the option values to the kernel's mode and flag.
func ipvlanMode(mode, flag string) (netlink.IPVlanMode, netlink.IPVlanFlag, bool) {
	m := map[string]netlink.IPVlanMode{"l2": netlink.IPVLAN_MODE_L2, "l3": netlink.IPVLAN_MODE_L3, "l3s": netlink.IPVLAN_MODE_L3S}
	f := map[string]netlink.IPVlanFlag{"bridge": netlink.IPVLAN_FLAG_BRIDGE, "private": netlink.IPVLAN_FLAG_PRIVATE, "vepa": netlink.IPVLAN_FLAG_VEPA}
	mv, okm := m[mode]
	fv, okf := f[flag]
	return mv, fv, okm && okf
}

// EnsureMacvlan creates a macvlan child in mode ("bridge", "private",
// "vepa" or "passthru") unless it exists as ours.
func (k *Kernel) EnsureMacvlan(s ChildSpec, mode string) error {
	m, ok := macvlanMode(mode)
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
	m, f, ok := ipvlanMode(mode, flag)
	if !ok {
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
		parent, err := k.link(s.Parent)
		if err != nil {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = s.Name
		attrs.MTU = s.MTU
		attrs.ParentIndex = parent.Attrs().Index
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
