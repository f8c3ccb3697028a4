package links

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The lookups here answer with one route query each what listing every
// address or route of the namespace would answer too, at a cost that does
// not grow with the host: a host with a thousand networks has a thousand
// gateway addresses and as many connected routes.

// IsLocal reports whether ip is one of the namespace's own addresses: the
// kernel routes it as local.
func (k *Kernel) IsLocal(ip net.IP) bool {
	r, ok := k.routeTo(ip, nil)
	return ok && r.Type == unix.RTN_LOCAL
}

// routeTo looks up the route the kernel takes towards ip; ok is false when
// there is none (unreachable, or not an address the kernel routes).
func (k *Kernel) routeTo(ip net.IP, opts *netlink.RouteGetOptions) (netlink.Route, bool) {
	if ip == nil {
		return netlink.Route{}, false
	}
	routes, err := k.h.RouteGetWithOptions(ip, opts)
	if err != nil || len(routes) == 0 {
		return netlink.Route{}, false
	}
	return routes[0], true
}

// addrOwner returns the link that holds the address ip: the device of its
// local route (the route itself, not the path a packet to it takes, which
// is loopback). ok is false when no link holds it.
func (k *Kernel) addrOwner(ip net.IP) (netlink.Link, bool) {
	r, ok := k.routeTo(ip, &netlink.RouteGetOptions{FIBMatch: true})
	if !ok || r.Type != unix.RTN_LOCAL || r.LinkIndex == 0 {
		return nil, false
	}
	l, err := k.h.LinkByIndex(r.LinkIndex)
	return l, err == nil
}

// LookupUnderlay answers what FindUnderlay answers, with route lookups
// instead of listing every address: the VTEP device when given, else the
// device holding srcAddr, else the device of the route to the first remote
// destination that is not the host's own, else the default route's device.
// Only that last resort, a network with nothing to route towards, reads
// the routing table.
func (k *Kernel) LookupUnderlay(vtepDev string, srcAddr net.IP, remotes []net.IP) (Underlay, error) {
	if vtepDev != "" {
		l, err := k.h.LinkByName(vtepDev)
		if err != nil {
			return Underlay{}, fmt.Errorf("VTEP device %s: %w", vtepDev, err)
		}
		return Underlay{Device: vtepDev, MTU: l.Attrs().MTU}, nil
	}
	if srcAddr != nil {
		if l, ok := k.addrOwner(srcAddr); ok {
			return Underlay{Device: l.Attrs().Name, MTU: l.Attrs().MTU}, nil
		}
	}
	for _, r := range remotes {
		route, ok := k.routeTo(r, nil)
		if !ok || route.Type == unix.RTN_LOCAL {
			continue
		}
		if u, ok := k.deviceUnderlay(route.LinkIndex); ok {
			return u, nil
		}
	}
	if u, ok := k.defaultRouteUnderlay(); ok {
		return u, nil
	}
	return Underlay{MTU: defaultMTU}, nil
}

// remoteOnly drops the host's own addresses from peers.
func (k *Kernel) remoteOnly(peers []net.IP) []net.IP {
	out := make([]net.IP, 0, len(peers))
	for _, p := range peers {
		if !k.IsLocal(p) {
			out = append(out, p)
		}
	}
	return out
}
