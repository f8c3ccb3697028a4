package links

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// announcePoll is how often Announce looks whether Docker has configured
// the interface yet.
const announcePoll = 50 * time.Millisecond

// Announce sends, from inside the container's namespace at sandbox, a
// gratuitous ARP for each IPv4 address and an unsolicited neighbour
// advertisement for each IPv6 address of the interface with MAC mac: routers
// and hosts on the segment update their caches at once when an address moved
// to a new MAC or host. Docker configures the interface after Join returns,
// so Announce waits (until ctx ends) for it to be up with its addresses.
func Announce(ctx context.Context, sandbox string, mac net.HardwareAddr, addrs []netip.Addr) error {
	ns, h, err := openSandbox(ctx, sandbox)
	if err != nil {
		return err
	}
	defer ns.Close()
	defer h.Close()
	index, err := waitConfigured(ctx, h, mac, addrs)
	if err != nil {
		return err
	}
	frames := make([][]byte, 0, len(addrs))
	for _, a := range addrs {
		if a.Is4() {
			frames = append(frames, garp(mac, a))
		} else {
			frames = append(frames, unsolicitedNA(mac, a))
		}
	}
	return inNetns(ns, func() error { return sendFrames(index, frames) })
}

// openSandbox opens the container's namespace, waiting (until ctx ends)
// for it: Docker 20.10 mounts the namespace at sandbox only after Join.
func openSandbox(ctx context.Context, sandbox string) (netns.NsHandle, *netlink.Handle, error) {
	t := time.NewTicker(announcePoll)
	defer t.Stop()
	for {
		ns, err := netns.GetFromPath(sandbox)
		if err == nil {
			h, herr := netlink.NewHandleAt(ns)
			if herr == nil {
				return ns, h, nil
			}
			ns.Close() // the mount point, not yet the namespace
			err = herr
		}
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("container namespace %s: %w (%w)", sandbox, err, ctx.Err())
		case <-t.C:
		}
	}
}

// waitConfigured returns the index of the interface with mac once it is up
// and holds every address (IPv6 ones past duplicate address detection).
func waitConfigured(ctx context.Context, h *netlink.Handle, mac net.HardwareAddr, addrs []netip.Addr) (int, error) {
	t := time.NewTicker(announcePoll)
	defer t.Stop()
	for {
		if index, ok := configured(h, mac, addrs); ok {
			return index, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("interface %s not configured with %v: %w", mac, addrs, ctx.Err())
		case <-t.C:
		}
	}
}

func configured(h *netlink.Handle, mac net.HardwareAddr, addrs []netip.Addr) (int, bool) {
	ls, err := h.LinkList()
	if err != nil {
		return 0, false
	}
	i := slices.IndexFunc(ls, func(l netlink.Link) bool { return l.Attrs().HardwareAddr.String() == mac.String() })
	if i < 0 || ls[i].Attrs().Flags&net.FlagUp == 0 {
		return 0, false
	}
	have, err := h.AddrList(ls[i], netlink.FAMILY_ALL)
	if err != nil {
		return 0, false
	}
	for _, a := range addrs {
		if !slices.ContainsFunc(have, func(x netlink.Addr) bool {
			return x.IP.Equal(a.AsSlice()) && x.Flags&unix.IFA_F_TENTATIVE == 0
		}) {
			return 0, false
		}
	}
	return ls[i].Attrs().Index, true
}

// sendFrames writes whole Ethernet frames out of the interface, twice, in
// case the first is lost while the link settles.
func sendFrames(index int, frames [][]byte) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	var errs []error
	for round := range 2 {
		if round > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		for _, f := range frames {
			to := &unix.SockaddrLinklayer{Ifindex: index, Halen: 6, Protocol: htons(binary.BigEndian.Uint16(f[12:14]))}
			copy(to.Addr[:], f[0:6])
			if err := unix.Sendto(fd, f, 0, to); err != nil {
				errs = append(errs, fmt.Errorf("send announcement: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ethernet prefixes payload with an Ethernet header.
func ethernet(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], etherType)
	return append(f, payload...)
}

// garp is a gratuitous ARP request: who has ip? tell ip, from mac.
func garp(mac net.HardwareAddr, ip netip.Addr) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:14], mac)
	ip4 := ip.As4()
	copy(a[14:18], ip4[:])
	copy(a[24:28], ip4[:])
	return ethernet(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, unix.ETH_P_ARP, a)
}

// unsolicitedNA is a neighbour advertisement of ip at mac to all nodes,
// with the override flag, so neighbours replace the MAC they had.
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) []byte {
	allNodes := netip.MustParseAddr("ff02::1")
	icmp := make([]byte, 32)
	icmp[0] = 136                               // neighbour advertisement
	binary.BigEndian.PutUint32(icmp[4:], 1<<29) // override
	target := ip.As16()
	copy(icmp[8:24], target[:])
	icmp[24], icmp[25] = 2, 1 // option: target link-layer address, 8 bytes
	copy(icmp[26:32], mac)
	binary.BigEndian.PutUint16(icmp[2:], icmpv6Checksum(ip, allNodes, icmp))

	h := make([]byte, 40)
	h[0] = 6 << 4
	binary.BigEndian.PutUint16(h[4:], uint16(len(icmp)))
	h[6], h[7] = unix.IPPROTO_ICMPV6, 255
	dst := allNodes.As16()
	copy(h[8:24], target[:])
	copy(h[24:40], dst[:])
	return ethernet(net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, mac, unix.ETH_P_IPV6, append(h, icmp...))
}

// icmpv6Checksum is the ICMPv6 checksum over the IPv6 pseudo-header.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	s, d := src.As16(), dst.As16()
	pseudo := make([]byte, 0, 40+len(msg))
	pseudo = append(pseudo, s[:]...)
	pseudo = append(pseudo, d[:]...)
	pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(msg)))
	pseudo = append(pseudo, 0, 0, 0, unix.IPPROTO_ICMPV6)
	pseudo = append(pseudo, msg...)
	var sum uint32
	for i := 0; i+1 < len(pseudo); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(pseudo[i:]))
	}
	if len(pseudo)%2 == 1 {
		sum += uint32(pseudo[len(pseudo)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Announce is the package's Announce, for the driver's Kernel.
func (k *Kernel) Announce(ctx context.Context, sandbox string, mac net.HardwareAddr, addrs []netip.Addr) error {
	return Announce(ctx, sandbox, mac, addrs)
}
