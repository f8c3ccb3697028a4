package links

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VxlanParams are a vxlan link's settings, with the semantics of
// `ip link add ... type vxlan`, and its flood list.
type VxlanParams struct {
	VNI      int
	VtepDev  string
	SrcAddr  net.IP
	Group    net.IP
	Peers    []net.IP // head-end replication; the host's own addresses are skipped
	Port     int
	PortLow  int
	PortHigh int
	TTL      int
	TOS      int
	Learning bool
	Proxy    bool
	RSC      bool
	L2miss   bool
	L3miss   bool
	NoAge    bool
	GBP      bool
	Age      int
	Limit    int
	MTU      int
	MAC      net.HardwareAddr
	TxQLen   int
	// EVPN: a BGP EVPN control plane (FRR) owns the remote entries; the
	// link's bridge port learns nothing and suppresses ARP/ND (see
	// setEVPNPort).
	EVPN bool
}

// VxlanSpec describes a network's vxlan link.
type VxlanSpec struct {
	Name      string
	NetworkID string
	Bridge    string // bridge to enslave the vxlan link to; "" for none
	VxlanParams
}

func (k *Kernel) vxlanLink(s VxlanSpec) (*netlink.Vxlan, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = s.Name
	attrs.MTU = s.MTU
	attrs.HardwareAddr = s.MAC
	attrs.TxQLen = txqlen(s.TxQLen)
	v := &netlink.Vxlan{
		LinkAttrs: attrs,
		VxlanId:   s.VNI,
		SrcAddr:   s.SrcAddr,
		Group:     s.Group,
		TTL:       s.TTL,
		TOS:       s.TOS,
		Learning:  s.Learning,
		Proxy:     s.Proxy,
		RSC:       s.RSC,
		L2miss:    s.L2miss,
		L3miss:    s.L3miss,
		NoAge:     s.NoAge,
		GBP:       s.GBP,
		Age:       s.Age,
		Limit:     s.Limit,
		Port:      s.Port,
		PortLow:   s.PortLow,
		PortHigh:  s.PortHigh,
	}
	if s.VtepDev != "" {
		dev, err := k.h.LinkByName(s.VtepDev)
		if err != nil {
			return nil, fmt.Errorf("VTEP device %s: %w", s.VtepDev, err)
		}
		v.VtepDevIndex = dev.Attrs().Index
	}
	return v, nil
}

// addFloodPeers appends an all-zeros FDB entry per remote VTEP, so broadcast,
// unknown-unicast and multicast frames are replicated to every peer.
func (k *Kernel) addFloodPeers(l netlink.Link, peers []net.IP) error {
	local, err := k.LocalAddrs()
	if err != nil {
		return err
	}
	for _, p := range peers {
		if slices.ContainsFunc(local, p.Equal) {
			continue
		}
		if err := k.h.NeighAppend(floodEntry(l, p)); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add flood entry for peer %s on %s: %w", p, l.Attrs().Name, err)
		}
	}
	return nil
}

// AddFloodPeer adds one remote VTEP to the flood list of the vxlan link name.
func (k *Kernel) AddFloodPeer(name string, ip net.IP) error {
	l, err := k.link(name)
	if err != nil {
		return err
	}
	return k.addFloodPeers(l, []net.IP{ip})
}

// RemoveFloodPeer removes one remote VTEP from the flood list; a missing
// entry or link is not an error.
func (k *Kernel) RemoveFloodPeer(name string, ip net.IP) error {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return nil
	}
	if err := k.h.NeighDel(floodEntry(l, ip)); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove flood entry for peer %s on %s: %w", ip, name, err)
	}
	return nil
}

func floodEntry(l netlink.Link, ip net.IP) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex:    l.Attrs().Index,
		Family:       unix.AF_BRIDGE,
		State:        netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags:        netlink.NTF_SELF,
		IP:           ip,
		HardwareAddr: make(net.HardwareAddr, 6),
	}
}

// FloodPeers lists the remote VTEPs in the link's flood list.
func (k *Kernel) FloodPeers(name string) ([]net.IP, error) {
	l, err := k.link(name)
	if err != nil {
		return nil, err
	}
	neighs, err := retryDump(func() ([]netlink.Neigh, error) { return k.h.NeighList(l.Attrs().Index, unix.AF_BRIDGE) })
	if err != nil {
		return nil, fmt.Errorf("list FDB of %s: %w", name, err)
	}
	var peers []net.IP
	for _, n := range neighs {
		if n.IP != nil && isZeroMAC(n.HardwareAddr) {
			peers = append(peers, n.IP)
		}
	}
	return peers, nil
}

func isZeroMAC(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return len(mac) == 6
}
