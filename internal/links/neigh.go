package links

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Neighbor is a permanent neighbour (ARP/NDP) entry: IP is at MAC.
type Neighbor struct {
	IP  net.IP
	MAC net.HardwareAddr
}

// SetNeighbors makes the permanent neighbour entries of the link name
// exactly want, so the host reaches those addresses with no ARP or NDP.
// Entries the kernel resolved itself are left alone.
func (k *Kernel) SetNeighbors(name string, want []Neighbor) error {
	l, err := k.link(name)
	if err != nil {
		return err
	}
	have, err := retryDump(func() ([]netlink.Neigh, error) { return k.h.NeighList(l.Attrs().Index, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("list neighbours of %s: %w", name, err)
	}
	for _, n := range have {
		if n.State&netlink.NUD_PERMANENT == 0 || slices.ContainsFunc(want, func(w Neighbor) bool { return sameNeighbor(n, w) }) {
			continue
		}
		if err := k.h.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove neighbour %s on %s: %w", n.IP, name, err)
		}
	}
	for _, w := range want {
		if slices.ContainsFunc(have, func(n netlink.Neigh) bool { return n.State&netlink.NUD_PERMANENT != 0 && sameNeighbor(n, w) }) {
			continue
		}
		if err := k.h.NeighSet(neighborEntry(l, w)); err != nil {
			return fmt.Errorf("set neighbour %s at %s on %s: %w", w.IP, w.MAC, name, err)
		}
	}
	return nil
}

func sameNeighbor(n netlink.Neigh, w Neighbor) bool {
	return n.IP.Equal(w.IP) && n.HardwareAddr.String() == w.MAC.String()
}

func neighborEntry(l netlink.Link, w Neighbor) *netlink.Neigh {
	family := netlink.FAMILY_V6
	if w.IP.To4() != nil {
		family = netlink.FAMILY_V4
	}
	return &netlink.Neigh{
		LinkIndex:    l.Attrs().Index,
		Family:       family,
		State:        netlink.NUD_PERMANENT,
		IP:           w.IP,
		HardwareAddr: w.MAC,
	}
}
