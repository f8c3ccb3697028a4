package links

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// EnsureVlan creates the 802.1Q sub-interface name (VLAN vid on parent)
// unless it exists, and sets it up. created reports whether this call made
// it. An existing sub-interface is used as it is, whoever made it, but only
// if it really is VLAN vid on parent.
func (k *Kernel) EnsureVlan(name, parent string, vid int) (created bool, err error) {
	if l, err := k.h.LinkByName(name); err == nil {
		v, ok := l.(*netlink.Vlan)
		if !ok || v.VlanId != vid {
			return false, fmt.Errorf("interface %s exists but is not VLAN %d on %s", name, vid, parent)
		}
		return false, k.h.LinkSetUp(l)
	}
	p, err := k.h.LinkByName(parent)
	if err != nil {
		return false, fmt.Errorf("parent %s of VLAN %d does not exist: %w", parent, vid, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.ParentIndex = p.Attrs().Index
	l, err := k.create(&netlink.Vlan{LinkAttrs: attrs, VlanId: vid, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}, k.mark(RoleVlan, name))
	if err != nil {
		return false, err
	}
	if err := k.h.LinkSetUp(l); err != nil {
		_ = k.h.LinkDel(l)
		return false, fmt.Errorf("set %s up: %w", name, err)
	}
	return true, nil
}
