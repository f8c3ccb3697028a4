package links

import (
	"bytes"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Snapshot is the namespace's links and addresses, read in one dump each,
// so that a whole store can be compared with the kernel at start without a
// lookup per link, and nothing written where everything matches. The flood
// entries are read (one more dump) when first asked for. It pictures one
// moment and keeps only what the comparisons need; writes go through the
// Kernel.
type Snapshot struct {
	k      *Kernel
	byName map[string]*snapLink
	local  []net.IP
	flood  map[int][]net.IP // vxlan link index → its flood list; nil until read
}

type snapLink struct {
	index, master int
	alias         string
	mac           net.HardwareAddr
	up            bool
	addrs         []*net.IPNet
}

// Snapshot reads every link and every address of the namespace.
func (k *Kernel) Snapshot() (*Snapshot, error) {
	all, err := retryDump(k.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	s := &Snapshot{k: k, byName: make(map[string]*snapLink, len(all))}
	byIndex := make(map[int]*snapLink, len(all))
	for _, l := range all {
		a := l.Attrs()
		sl := &snapLink{index: a.Index, master: a.MasterIndex, alias: a.Alias, mac: a.HardwareAddr, up: a.Flags&net.FlagUp != 0}
		s.byName[a.Name], byIndex[a.Index] = sl, sl
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return k.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	s.local = make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		s.local = append(s.local, a.IP)
		if sl := byIndex[a.LinkIndex]; sl != nil {
			sl.addrs = append(sl.addrs, a.IPNet)
		}
	}
	return s, nil
}

// Owned lists the links that carry this driver's mark.
func (s *Snapshot) Owned() []Owned {
	var owned []Owned
	for name, sl := range s.byName {
		if m, ok := parseMark(sl.alias); ok && m.Driver == s.k.driver {
			owned = append(owned, Owned{Name: name, Mark: m})
		}
	}
	return owned
}

// State is what LinkState answered at the time of the snapshot.
func (s *Snapshot) State(name string, role Role, id string) State {
	sl := s.byName[name]
	switch {
	case sl == nil:
		return StateMissing
	case sl.alias != s.k.mark(role, id).String():
		return StateForeign
	}
	return StateOK
}

// Up reports a link called name that is up, whoever owns it.
func (s *Snapshot) Up(name string) bool {
	sl := s.byName[name]
	return sl != nil && sl.up
}

// ours returns the link called name if it carries the mark for (role, id).
func (s *Snapshot) ours(name string, role Role, id string) *snapLink {
	if s.State(name, role, id) != StateOK {
		return nil
	}
	return s.byName[name]
}

// BridgeReady reports the bridge as EnsureBridge leaves it: ours, up, and
// with its address if one is given.
func (s *Snapshot) BridgeReady(b BridgeSpec) bool {
	sl := s.ours(b.Name, RoleBridge, b.NetworkID)
	return sl != nil && sl.up && (b.MAC == nil || bytes.Equal(sl.mac, b.MAC))
}

// MAC is the address of the link called name, nil if there is none.
func (s *Snapshot) MAC(name string) net.HardwareAddr {
	if sl := s.byName[name]; sl != nil {
		return sl.mac
	}
	return nil
}

// ChildReady reports a macvlan or ipvlan child as EnsureMacvlan and
// EnsureIpvlan leave it: ours, and up if it is to be.
func (s *Snapshot) ChildReady(c ChildSpec) bool {
	sl := s.ours(c.Name, c.Role, c.ID)
	return sl != nil && (sl.up || !c.Up)
}

// VxlanReady reports the vxlan link as EnsureVxlanLink leaves it: ours, up, on
// its bridge, with a flood entry for every peer that is not the host's own.
func (s *Snapshot) VxlanReady(v VxlanSpec) (bool, error) {
	sl := s.ours(v.Name, RoleVxlan, v.NetworkID)
	if sl == nil || !sl.up {
		return false, nil
	}
	if br := s.byName[v.Bridge]; v.Bridge != "" && (br == nil || sl.master != br.index) {
		return false, nil
	}
	for _, p := range v.Peers {
		if slices.ContainsFunc(s.local, p.Equal) {
			continue
		}
		flood, err := s.floodOf(sl.index)
		if err != nil || !slices.ContainsFunc(flood, p.Equal) {
			return false, err
		}
	}
	return true, nil
}

// HasAddrs reports whether the link called name holds every one of addrs,
// with its prefix length.
func (s *Snapshot) HasAddrs(name string, addrs []*net.IPNet) bool {
	sl := s.byName[name]
	if sl == nil {
		return false
	}
	for _, want := range addrs {
		if !slices.ContainsFunc(sl.addrs, func(a *net.IPNet) bool { return sameNet(a, want) }) {
			return false
		}
	}
	return true
}

func sameNet(a, b *net.IPNet) bool {
	aOnes, aBits := a.Mask.Size()
	bOnes, bBits := b.Mask.Size()
	return a.IP.Equal(b.IP) && aOnes == bOnes && aBits == bBits
}

// floodOf returns the flood list of the vxlan link with the given index.
// The first call reads the flood entries of every link at once: a dump for
// one link costs the kernel as much (it filters nothing for bridge-family
// dumps), and only the entries in the state this package writes them in
// are decoded.
func (s *Snapshot) floodOf(index int) ([]net.IP, error) {
	if s.flood == nil {
		neighs, err := retryDump(func() ([]netlink.Neigh, error) {
			return s.k.h.NeighListExecute(netlink.Ndmsg{Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP})
		})
		if err != nil {
			return nil, fmt.Errorf("list flood entries: %w", err)
		}
		s.flood = map[int][]net.IP{}
		for _, n := range neighs {
			if n.IP != nil && isZeroMAC(n.HardwareAddr) {
				s.flood[n.LinkIndex] = append(s.flood[n.LinkIndex], n.IP)
			}
		}
	}
	return s.flood[index], nil
}
