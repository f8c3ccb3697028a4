package links

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RemoteMAC is a static forwarding entry of a vxlan link: frames for MAC
// are sent to the VTEP, with no flooding and no learning needed.
type RemoteMAC struct {
	MAC  net.HardwareAddr
	VTEP net.IP
}

// SetFloodPeers makes the vxlan link's flood list exactly peers (the host's
// own addresses skipped): missing entries are added, others removed.
func (k *Kernel) SetFloodPeers(name string, peers []net.IP) error {
	l, have, err := k.fdbOf(name)
	if err != nil {
		return err
	}
	for _, n := range have {
		if isZeroMAC(n.HardwareAddr) && n.IP != nil && !slices.ContainsFunc(peers, n.IP.Equal) {
			if err := k.h.NeighDel(floodEntry(l, n.IP)); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove flood entry for %s on %s: %w", n.IP, name, err)
			}
		}
	}
	return k.addFloodPeers(l, peers)
}

// SetRemoteMACs makes the vxlan link's static unicast entries exactly want.
// Entries are replaced, never added twice, so repeating is harmless; entries
// the kernel learned from traffic are left to age (or are overridden by a
// static entry for the same MAC).
func (k *Kernel) SetRemoteMACs(name string, want []RemoteMAC) error {
	l, have, err := k.fdbOf(name)
	if err != nil {
		return err
	}
	for _, n := range have {
		if !isStaticRemote(n) || slices.ContainsFunc(want, func(r RemoteMAC) bool { return sameRemote(n, r) }) {
			continue
		}
		if err := k.h.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove FDB entry %s on %s: %w", n.HardwareAddr, name, err)
		}
	}
	for _, r := range want {
		if slices.ContainsFunc(have, func(n netlink.Neigh) bool { return isStaticRemote(n) && sameRemote(n, r) }) {
			continue
		}
		if err := k.h.NeighSet(remoteEntry(l, r)); err != nil {
			return fmt.Errorf("set FDB entry %s dst %s on %s: %w", r.MAC, r.VTEP, name, err)
		}
	}
	return nil
}

// RemoteMACs lists the vxlan link's static unicast entries.
func (k *Kernel) RemoteMACs(name string) ([]RemoteMAC, error) {
	_, have, err := k.fdbOf(name)
	if err != nil {
		return nil, err
	}
	var out []RemoteMAC
	for _, n := range have {
		if isStaticRemote(n) {
			out = append(out, RemoteMAC{MAC: n.HardwareAddr, VTEP: n.IP})
		}
	}
	return out, nil
}

// fdbOf returns the link called name and its forwarding entries.
func (k *Kernel) fdbOf(name string) (netlink.Link, []netlink.Neigh, error) {
	l, err := k.link(name)
	if err != nil {
		return nil, nil, err
	}
	have, err := k.bridgeFDB(l)
	return l, have, err
}

func (k *Kernel) bridgeFDB(l netlink.Link) ([]netlink.Neigh, error) {
	neighs, err := retryDump(func() ([]netlink.Neigh, error) { return k.h.NeighList(l.Attrs().Index, unix.AF_BRIDGE) })
	if err != nil {
		return nil, fmt.Errorf("list FDB of %s: %w", l.Attrs().Name, err)
	}
	return neighs, nil
}

// isStaticRemote reports an entry this package installs: permanent, for a
// unicast MAC, with a remote VTEP.
func isStaticRemote(n netlink.Neigh) bool {
	return n.IP != nil && n.State&netlink.NUD_PERMANENT != 0 && len(n.HardwareAddr) == 6 && !isZeroMAC(n.HardwareAddr)
}

func sameRemote(n netlink.Neigh, r RemoteMAC) bool {
	return n.HardwareAddr.String() == r.MAC.String() && n.IP.Equal(r.VTEP)
}

func remoteEntry(l netlink.Link, r RemoteMAC) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex:    l.Attrs().Index,
		Family:       unix.AF_BRIDGE,
		State:        netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags:        netlink.NTF_SELF,
		IP:           r.VTEP,
		HardwareAddr: r.MAC,
	}
}
