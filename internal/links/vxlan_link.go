package links

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureVxlanLink creates the vxlan link unless it exists as ours, makes
// it a port of its bridge (with an EVPN segment's port flags), sets it up
// and appends the flood entries for its peers (an EVPN segment has none:
// FRR installs them). Its cost does not grow with the host: the peers that
// are the host's own addresses are told by a route lookup each (IsLocal),
// not by listing every address.
func (k *Kernel) EnsureVxlanLink(s VxlanSpec) error {
	m := k.mark(RoleVxlan, s.NetworkID)
	l, err := k.lookupOwned(s.Name, m)
	if err != nil {
		return err
	}
	if l == nil {
		v, err := k.vxlanLink(s)
		if err != nil {
			return err
		}
		if l, err = k.create(v, m); err != nil {
			return err
		}
	}
	if err := k.attachPort(l, s); err != nil {
		return err
	}
	if err := k.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", s.Name, err)
	}
	return k.appendFlood(l, k.remoteOnly(s.Peers))
}

// attachPort makes the vxlan link a port of its bridge, if it has one,
// with an EVPN segment's port flags.
func (k *Kernel) attachPort(l netlink.Link, s VxlanSpec) error {
	if s.Bridge == "" {
		return nil
	}
	if err := k.setMaster(l, s.Bridge); err != nil {
		return err
	}
	if s.EVPN {
		return k.setEVPNPort(l)
	}
	return nil
}

// appendFlood appends an all-zeros FDB entry per remote VTEP; one that is
// there already is not an error.
func (k *Kernel) appendFlood(l netlink.Link, remotes []net.IP) error {
	for _, p := range remotes {
		if err := k.h.NeighAppend(floodEntry(l, p)); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add flood entry for peer %s on %s: %w", p, l.Attrs().Name, err)
		}
	}
	return nil
}
