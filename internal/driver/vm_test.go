//go:build vmtest

package driver_test

// Tests that need kernel features the CI machines lack (ipvlan, 802.1Q,
// dummy). They run inside a VM with Debian's kernel: scripts/vmtest.sh
// builds them with -tags vmtest.

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

func TestVMIpvlanL2OnVXLAN(t *testing.T) {
	h1, h2 := twoHosts(t, func(string) map[string]string {
		return map[string]string{"VxlanId": "88", "Peers": "192.0.2.1,192.0.2.2", "mode": "ipvlan"}
	})
	c1 := attach(t, h1, "ep1", "198.51.100.11/24")
	attach(t, h1, "ep1b", "198.51.100.13/24")
	attach(t, h2, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12") // across the tunnel
	assertPing(t, c1, "198.51.100.13") // sibling, flag bridge
	assertPing(t, c1, "198.51.100.1")  // the host's gateway ipvlan
	link := c1.Must(t, "ip", "-d", "link", "show", "eth0")
	if !strings.Contains(link, "ipvlan  mode l2 bridge") && !strings.Contains(link, "ipvlan mode l2 bridge") {
		t.Errorf("container link is not ipvlan l2 bridge:\n%s", link)
	}
}

func TestVMIpvlanPrivateFlagIsolatesSiblings(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "9", "mode": "ipvlan", "ipvlan_flag": "private", "hostGateway": "false"}, subnet()...)
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	attach(t, h, "ep2", "198.51.100.12/24")
	assertNoPing(t, c1, "198.51.100.12")
}

// ipvlanL3Host is a host whose parent lan0 faces a router that routes the
// containers' subnets back to the host.
func ipvlanL3Host(t *testing.T, mode string) (*host, *netnstest.NS) {
	t.Helper()
	h := newHost(t)
	r := netnstest.New(t)
	netnstest.Link(t, h.ns, "lan0", "192.0.2.10/24", r, "rtr0", "192.0.2.1/24")
	r.Must(t, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.10")
	create(t, h, netID, map[string]string{"parent": "lan0", "mode": "ipvlan", "ipvlan_mode": mode},
		sub("203.0.113.0/25", "203.0.113.1/25"), sub("203.0.113.128/25", "203.0.113.129/25"))
	return h, r
}

func TestVMIpvlanL3TwoSubnetsOnOneParent(t *testing.T) {
	for _, mode := range []string{"l3", "l3s"} {
		t.Run(mode, func(t *testing.T) {
			h, _ := ipvlanL3Host(t, mode)
			c1 := attach(t, h, "ep1", "203.0.113.10/25")
			attach(t, h, "ep2", "203.0.113.140/25")
			assertPing(t, c1, "203.0.113.140") // across subnets, no gateway: l3 switching
			assertPing(t, c1, "192.0.2.1")     // the router, through the host's routing
			if r := c1.Must(t, "ip", "route", "show", "default"); !strings.Contains(r, "default dev eth0") {
				t.Errorf("default route = %q, want a connected default route", r)
			}
			if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep3", Address: netip.MustParsePrefix("203.0.113.20/25")}); err != nil {
				t.Fatal(err)
			}
			j, err := h.driver.Join(t.Context(), netID, "ep3")
			if err != nil || j.Gateway.IsValid() || len(j.ConnectedRoutes) != 1 {
				t.Errorf("Join = %+v, %v; want no gateway and one connected default route", j, err)
			}
			skip4, skip6, err := h.driver.GwAllocCheck(map[string]string{"parent": "lan0", "mode": "ipvlan", "ipvlan_mode": mode})
			if err != nil || !skip4 || !skip6 {
				t.Errorf("GwAllocCheck = %v, %v, %v; want both skipped", skip4, skip6, err)
			}
		})
	}
}

func TestVMVlanParentCreatedSharedAndRemoved(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "d0", "type", "dummy")
	h.ns.Must(t, "ip", "link", "set", "d0", "up")
	h.ns.Must(t, "ip", "link", "add", "link", "d0", "name", "d0.20", "type", "vlan", "id", "20")
	h.ns.Must(t, "ip", "link", "set", "d0.20", "up")
	h.ns.Must(t, "ip", "link", "add", "link", "d0", "name", "d0.30", "type", "vlan", "id", "30")
	h.ns.Must(t, "ip", "link", "add", "link", "d0", "name", "d0.40", "type", "vlan", "id", "41")

	for parent, why := range map[string]string{"d0.30": "down", "d0.40": "not 802.1Q VLAN 40"} {
		err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: "bad", Options: map[string]string{"parent": parent, "mode": "macvlan"}, IPv4: subnet()})
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("network on the operator's %s = %v, want an error saying %q", parent, err, why)
		}
	}
	if l := h.ns.Must(t, "ip", "link", "show", "d0.30"); strings.Contains(l, ",UP") {
		t.Error("the plugin set the operator's d0.30 up")
	}

	create(t, h, "n10a", map[string]string{"parent": "d0.10", "mode": "macvlan"}, subnet()...)
	create(t, h, "n10b", map[string]string{"parent": "d0.10", "mode": "macvlan"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	create(t, h, "n20", map[string]string{"parent": "d0.20", "mode": "macvlan"}, subnet()...)
	if l := h.ns.Must(t, "ip", "-d", "link", "show", "d0.10"); !strings.Contains(l, "vlan protocol 802.1Q id 10") {
		t.Fatalf("d0.10 is not VLAN 10:\n%s", l)
	}

	// After a reboot-like loss reconcile puts the plugin's sub-interface
	// back, but not the operator's.
	h.stop()
	h.ns.Must(t, "ip", "link", "del", "d0.10")
	h.ns.Must(t, "ip", "link", "del", "d0.20")
	if rep := h.start(t); rep.Failed != 1 {
		t.Errorf("reconcile report %+v, want the network on the operator's missing d0.20 failed", rep)
	}
	if !h.kernel.Exists("d0.10") {
		t.Fatal("reconcile did not recreate d0.10")
	}
	if h.kernel.Exists("d0.20") {
		t.Fatal("reconcile recreated the operator's d0.20")
	}
	h.ns.Must(t, "ip", "link", "add", "link", "d0", "name", "d0.20", "type", "vlan", "id", "20")
	h.ns.Must(t, "ip", "link", "set", "d0.20", "up")

	mustDelete(t, h, "n10a")
	if !h.kernel.Exists("d0.10") {
		t.Fatal("d0.10 deleted while network n10b still uses it")
	}
	mustDelete(t, h, "n10b")
	if h.kernel.Exists("d0.10") {
		t.Fatal("d0.10, created by the plugin, outlived its last network")
	}
	mustDelete(t, h, "n20")
	if !h.kernel.Exists("d0.20") {
		t.Fatal("d0.20, created by the user, was deleted")
	}
}

func TestVMVlanTrunkTwoVLANs(t *testing.T) {
	h := newHost(t)
	sw := netnstest.New(t)
	// A trunk to a router with one sub-interface per VLAN.
	netnstest.Link(t, h.ns, "trunk0", "192.0.2.10/24", sw, "sw0", "192.0.2.1/24")
	for _, v := range []struct{ id, addr string }{{"10", "198.51.100.1/24"}, {"20", "203.0.113.1/24"}} {
		sw.Must(t, "ip", "link", "add", "link", "sw0", "name", "sw0."+v.id, "type", "vlan", "id", v.id)
		sw.Must(t, "ip", "addr", "add", v.addr, "dev", "sw0."+v.id)
		sw.Must(t, "ip", "link", "set", "sw0."+v.id, "up")
	}
	create(t, h, "v10", map[string]string{"parent": "trunk0.10", "mode": "macvlan"}, subnet()...)
	create(t, h, "v20", map[string]string{"parent": "trunk0.20", "mode": "macvlan"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	c10 := attachTo(t, h, "v10", "e10", "198.51.100.11/24")
	c20 := attachTo(t, h, "v20", "e20", "203.0.113.11/24")
	assertPing(t, c10, "198.51.100.1")
	assertPing(t, c20, "203.0.113.1")
	// VLAN 10 does not carry VLAN 20's addresses.
	c10.Must(t, "ip", "addr", "add", "203.0.113.99/24", "dev", "eth0")
	assertNoPing(t, c10, "203.0.113.1")
}

func TestVMIpvlanAndMacvlanRefuseToShareAParent(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "d0", "type", "dummy")
	create(t, h, "ipv", map[string]string{"parent": "d0", "mode": "ipvlan"}, subnet()...)
	for _, mode := range []string{"macvlan", "ipvlan"} {
		err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: "second", Options: map[string]string{"parent": "d0", "mode": mode}, IPv4: subnet()})
		if err == nil || !strings.Contains(err.Error(), "d0") {
			t.Errorf("second %s network on an ipvlan parent = %v, want an error naming d0", mode, err)
		}
	}
}

func mustDelete(t *testing.T, h *host, nid string) {
	t.Helper()
	if err := h.driver.DeleteNetwork(t.Context(), nid); err != nil {
		t.Fatalf("DeleteNetwork %s: %v", nid, err)
	}
}

// Docker's own macvlan driver with parent=d0.10, a sub-interface the
// plugin made, puts its children into containers. The plugin's last
// network on d0.10 going does not take d0.10, and the container's macvlan,
// along; once nothing else is on it, the next start removes it.
func TestVMVlanCarryingAContainersMacvlanIsKept(t *testing.T) {
	h := newHost(t)
	h.kernel.SetSandboxDirs([]string{"/run/netns"}) // where `ip netns` mounts them
	h.ns.Must(t, "ip", "link", "add", "d0", "type", "dummy")
	h.ns.Must(t, "ip", "link", "set", "d0", "up")
	create(t, h, "n10", map[string]string{"parent": "d0.10", "mode": "macvlan"}, subnet()...)
	c := netnstest.New(t)
	h.ns.Must(t, "ip", "link", "add", "dockers0", "link", "d0.10", "type", "macvlan", "mode", "bridge")
	h.ns.Must(t, "ip", "link", "set", "dockers0", "netns", c.Name)

	mustDelete(t, h, "n10")
	if !h.kernel.Exists("d0.10") || !strings.Contains(c.Must(t, "ip", "link", "show"), "dockers0@") {
		t.Fatal("deleting the network took d0.10, or the container's macvlan on it, along")
	}
	c.Must(t, "ip", "link", "del", "dockers0")
	create(t, h, "n7", map[string]string{"VxlanId": "7"}, subnet()...) // a store with no network keeps orphans
	h.stop()
	h.start(t)
	if h.kernel.Exists("d0.10") {
		t.Fatal("d0.10 outlived the last link on it, across a start")
	}
}
