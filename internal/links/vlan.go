package links

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// VlanSpec describes an 802.1Q sub-interface: VLAN VID on Parent.
type VlanSpec struct {
	Name   string
	Parent string
	VID    int
}

// ErrVlanMissing is returned by EnsureVlan when the sub-interface does not
// exist and may not be created.
var ErrVlanMissing = errors.New("802.1Q sub-interface does not exist")

// EnsureVlan makes sure the sub-interface exists. A missing one is created
// (marked as ours, and set up) only if mayCreate. An existing one must
// really be VLAN VID on Parent; it is set up only if it is ours: an
// operator's interface is used as it is.
func (k *Kernel) EnsureVlan(s VlanSpec, mayCreate bool) (created bool, err error) {
	if l, err := k.h.LinkByName(s.Name); err == nil {
		return false, k.checkVlan(l, s)
	}
	if !mayCreate {
		return false, fmt.Errorf("%s: %w, and the plugin did not create it", s.Name, ErrVlanMissing)
	}
	p, err := k.h.LinkByName(s.Parent)
	if err != nil {
		return false, fmt.Errorf("parent interface %s of VLAN %d does not exist: %w", s.Parent, s.VID, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = s.Name
	attrs.ParentIndex = p.Attrs().Index
	l, err := k.create(&netlink.Vlan{LinkAttrs: attrs, VlanId: s.VID, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}, k.mark(RoleVlan, s.Name))
	if err != nil {
		return false, err
	}
	if err := k.h.LinkSetUp(l); err != nil {
		_ = k.h.LinkDel(l)
		return false, fmt.Errorf("set %s up: %w", s.Name, err)
	}
	return true, nil
}

// checkVlan verifies an existing sub-interface against the spec.
func (k *Kernel) checkVlan(l netlink.Link, s VlanSpec) error {
	p, err := k.h.LinkByName(s.Parent)
	v, isVlan := l.(*netlink.Vlan)
	if err != nil || !isVlan || v.VlanId != s.VID || v.ParentIndex != p.Attrs().Index || v.VlanProtocol != netlink.VLAN_PROTOCOL_8021Q {
		return fmt.Errorf("interface %s exists but is not 802.1Q VLAN %d on %s", s.Name, s.VID, s.Parent)
	}
	if l.Attrs().Alias == k.mark(RoleVlan, s.Name).String() {
		return k.h.LinkSetUp(l)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("interface %s is down; the plugin does not change interfaces it did not create", s.Name)
	}
	return nil
}
