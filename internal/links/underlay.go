package links

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
)

// Underlay is what the kernel says about the path a vxlan link's packets take.
type Underlay struct {
	Device string // "" when no route or device could be found
	MTU    int
}

// defaultMTU is assumed when the underlay cannot be determined.
const defaultMTU = 1500

// FindUnderlay returns the device and MTU the vxlan traffic will leave by: the
// VTEP device when given, else the device owning srcAddr, else the route to
// the first remote destination, else the default route's device.
func (k *Kernel) FindUnderlay(vtepDev string, srcAddr net.IP, remotes []net.IP) (Underlay, error) {
	if vtepDev != "" {
		l, err := k.h.LinkByName(vtepDev)
		if err != nil {
			return Underlay{}, fmt.Errorf("VTEP device %s: %w", vtepDev, err)
		}
		return Underlay{Device: vtepDev, MTU: l.Attrs().MTU}, nil
	}
	if srcAddr != nil {
		if l := k.linkWithAddr(srcAddr); l != nil {
			return Underlay{Device: l.Attrs().Name, MTU: l.Attrs().MTU}, nil
		}
	}
	local, err := k.LocalAddrs()
	if err != nil {
		return Underlay{}, err
	}
	for _, r := range remotes {
		if slices.ContainsFunc(local, r.Equal) {
			continue
		}
		if u, ok := k.routeUnderlay(r); ok {
			return u, nil
		}
	}
	if u, ok := k.defaultRouteUnderlay(); ok {
		return u, nil
	}
	return Underlay{MTU: defaultMTU}, nil
}

func (k *Kernel) routeUnderlay(dst net.IP) (Underlay, bool) {
	routes, err := k.h.RouteGet(dst)
	if err != nil || len(routes) == 0 {
		return Underlay{}, false
	}
	return k.deviceUnderlay(routes[0].LinkIndex)
}

func (k *Kernel) defaultRouteUnderlay() (Underlay, bool) {
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := retryDump(func() ([]netlink.Route, error) { return k.h.RouteList(nil, family) })
		if err != nil {
			continue
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				if u, ok := k.deviceUnderlay(r.LinkIndex); ok {
					return u, true
				}
			}
		}
	}
	return Underlay{}, false
}

// deviceUnderlay describes the link with the given index; loopback is never
// an underlay.
func (k *Kernel) deviceUnderlay(index int) (Underlay, bool) {
	if index == 0 {
		return Underlay{}, false
	}
	l, err := k.h.LinkByIndex(index)
	if err != nil || l.Attrs().Flags&net.FlagLoopback != 0 {
		return Underlay{}, false
	}
	return Underlay{Device: l.Attrs().Name, MTU: l.Attrs().MTU}, true
}

func (k *Kernel) linkWithAddr(ip net.IP) netlink.Link {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return k.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			if l, err := k.h.LinkByIndex(a.LinkIndex); err == nil {
				return l
			}
		}
	}
	return nil
}

// LocalAddrs lists every address configured in the namespace.
func (k *Kernel) LocalAddrs() ([]net.IP, error) {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return k.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	return ips, nil
}

// VTEPAddr returns the address this host's VTEP sends from, as the other
// hosts of a segment must address it: srcAddr when given, else the VTEP
// device's first global address of the family, else the source address of
// the route towards the first reachable remote, else the default route's.
func (k *Kernel) VTEPAddr(vtepDev string, srcAddr net.IP, remotes []net.IP, ipv6 bool) (net.IP, error) {
	if srcAddr != nil {
		return srcAddr, nil
	}
	family := netlink.FAMILY_V4
	if ipv6 {
		family = netlink.FAMILY_V6
	}
	if vtepDev != "" {
		return k.globalAddr(vtepDev, family)
	}
	for _, r := range remotes {
		if (r.To4() == nil) != ipv6 {
			continue
		}
		if routes, err := k.h.RouteGet(r); err == nil && len(routes) > 0 && routes[0].Src != nil {
			return routes[0].Src, nil
		}
	}
	if u, ok := k.defaultRouteUnderlay(); ok {
		return k.globalAddr(u.Device, family)
	}
	return nil, errors.New("cannot tell this host's VTEP address: no route to the other hosts; set SrcAddr or VtepDev")
}

// globalAddr returns the first global unicast address of the family on a link.
func (k *Kernel) globalAddr(name string, family int) (net.IP, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("VTEP device %s: %w", name, err)
	}
	addrs, err := k.h.AddrList(l, family)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if a.IP.IsGlobalUnicast() {
			return a.IP, nil
		}
	}
	return nil, fmt.Errorf("VTEP device %s has no global address to send from", name)
}
