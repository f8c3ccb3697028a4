package links

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// VethSpec describes an endpoint's veth pair. The host end goes on the
// network's bridge; Docker moves the peer into the container.
type VethSpec struct {
	HostName   string
	PeerName   string
	EndpointID string
	Bridge     string
	MTU        int
	PeerMAC    net.HardwareAddr // the container's MAC; nil lets the kernel choose
}

// EnsureVeth creates the veth pair unless its host end exists as ours, then
// attaches the host end to the bridge and sets it up.
func (k *Kernel) EnsureVeth(s VethSpec) error {
	m := k.mark(RoleEndpoint, s.EndpointID)
	host, err := k.lookupOwned(s.HostName, m)
	if err != nil {
		return err
	}
	created := host == nil
	if created {
		if k.Exists(s.PeerName) {
			return &NotOwnedError{Name: s.PeerName}
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = s.HostName
		attrs.MTU = s.MTU
		v := &netlink.Veth{LinkAttrs: attrs, PeerName: s.PeerName, PeerHardwareAddr: s.PeerMAC, PeerMTU: uint32(s.MTU)}
		if host, err = k.create(v, m); err != nil {
			return err
		}
	}
	err = k.setMaster(host, s.Bridge)
	if err == nil {
		if err = k.h.LinkSetUp(host); err != nil {
			err = fmt.Errorf("set %s up: %w", s.HostName, err)
		}
	}
	if err != nil && created {
		_ = k.h.LinkDel(host) // leave nothing behind; an existing veth is left as it was
	}
	return err
}
