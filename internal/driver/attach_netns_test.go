package driver_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// Tests of the macvlan attachment and of parent and internal segments, on
// the kernel features every test machine has (macvlan, vxlan, bridge, veth).
// ipvlan and 802.1Q are in vm_test.go.

// macvlanPair builds two hosts with a macvlan network on the same VNI and
// one container on each, plus a second container on host 1.
func macvlanPair(t *testing.T, mode string) (h1, h2 *host, c1, c1b, c2 *netnstest.NS) {
	t.Helper()
	h1, h2 = twoHosts(t, func(string) map[string]string {
		return map[string]string{"VxlanId": "77", "Peers": "192.0.2.1,192.0.2.2", "mode": "macvlan", "macvlan_mode": mode}
	})
	c1 = attach(t, h1, "ep1", "198.51.100.11/24")
	c2 = attach(t, h2, "ep2", "198.51.100.12/24")
	if mode != "passthru" {
		c1b = attach(t, h1, "ep1b", "198.51.100.13/24")
	}
	return h1, h2, c1, c1b, c2
}

func TestMacvlanBridgeModeOnVXLAN(t *testing.T) {
	h1, _, c1, _, _ := macvlanPair(t, "bridge")
	assertPing(t, c1, "198.51.100.12") // across the tunnel
	assertPing(t, c1, "198.51.100.13") // to a sibling on the same host
	link := c1.Must(t, "ip", "-d", "link", "show", "eth0")
	for _, want := range []string{"macvlan mode bridge", "mtu 1450", "02:42:c6:33:64:0b"} {
		if !strings.Contains(link, want) {
			t.Errorf("container link lacks %q:\n%s", want, link)
		}
	}
	if h1.kernel.Exists("vxbr-0a1b2c3d4e") {
		t.Error("macvlan mode created a bridge")
	}
}

func TestMacvlanPrivateModeIsolatesSiblings(t *testing.T) {
	_, _, c1, _, _ := macvlanPair(t, "private")
	assertPing(t, c1, "198.51.100.12")
	assertNoPing(t, c1, "198.51.100.13")
}

func TestMacvlanVEPAModeSendsSiblingTrafficOut(t *testing.T) {
	// VEPA hands sibling traffic to the lower device; a vxlan link does not
	// hairpin it back, so siblings are unreachable and remotes reachable.
	_, _, c1, _, _ := macvlanPair(t, "vepa")
	assertPing(t, c1, "198.51.100.12")
	assertNoPing(t, c1, "198.51.100.13")
}

func TestMacvlanPassthruAllowsOneEndpoint(t *testing.T) {
	h1, _, c1, _, _ := macvlanPair(t, "passthru")
	assertPing(t, c1, "198.51.100.12")
	_, err := h1.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep9"})
	if err == nil || !strings.Contains(err.Error(), "passthru") {
		t.Fatalf("second passthru endpoint = %v, want an error naming passthru", err)
	}
	if strings.Contains(h1.ns.Must(t, "ip", "link"), "vxct-ep9") {
		t.Error("refused endpoint left a link behind")
	}
}

func TestMacvlanHostGateway(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7", "mode": "macvlan"}, subnet()...)
	c := attach(t, h, "ep1", "198.51.100.11/24")
	assertPing(t, c, "198.51.100.1") // the host's gateway macvlan answers
	gw := h.ns.Must(t, "ip", "-d", "addr", "show", "vxgw-0a1b2c3d4e")
	if !strings.Contains(gw, "macvlan mode bridge") || !strings.Contains(gw, "198.51.100.1/24") {
		t.Errorf("gateway macvlan:\n%s", gw)
	}
	teardown(t, h, "ep1")
}

func TestMacvlanModesOnParent(t *testing.T) {
	for _, mode := range []string{"bridge", "private", "vepa", "passthru"} {
		t.Run(mode, func(t *testing.T) {
			h := newHost(t)
			r := netnstest.New(t)
			// The parent is an existing interface of the host, here one end
			// of a veth whose other end is the segment's router.
			netnstest.Link(t, h.ns, "lan0", "192.0.2.10/24", r, "rtr0", "198.51.100.1/24")
			create(t, h, netID, map[string]string{"parent": "lan0", "mode": "macvlan", "macvlan_mode": mode}, subnet()...)
			if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1", Address: netip.MustParsePrefix("198.51.100.11/24")}); err != nil {
				t.Fatal(err)
			}
			if j, err := h.driver.Join(t.Context(), netID, "ep1"); err != nil || j.Gateway.String() != "198.51.100.1" {
				t.Fatalf("Join = %+v, %v; want the router 198.51.100.1 as gateway", j, err)
			}
			c1 := netnstest.New(t)
			netnstest.MoveLink(t, h.ns, "vxct-ep1", c1, "eth0", "198.51.100.11/24")
			assertPing(t, c1, "198.51.100.1")
			if mode != "passthru" {
				attach(t, h, "ep2", "198.51.100.12/24")
				if mode == "bridge" {
					assertPing(t, c1, "198.51.100.12")
				} else {
					// private drops sibling traffic; vepa sends it to the
					// router's port, which does not hairpin it back.
					assertNoPing(t, c1, "198.51.100.12")
				}
			}
			if h.kernel.Exists("vxgw-0a1b2c3d4e") {
				t.Error("a parent segment got a host gateway by default")
			}
			if err := h.driver.DeleteNetwork(t.Context(), netID); err != nil {
				t.Fatal(err)
			}
			if !h.kernel.Exists("lan0") {
				t.Fatal("deleting the network deleted the parent it did not create")
			}
		})
	}
}

func TestParentErrors(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
	create(t, h, "macnet", map[string]string{"parent": "lan0", "mode": "macvlan"}, subnet()...)
	cases := []struct {
		name string
		opts map[string]string
		want string
	}{
		{"missing parent", map[string]string{"parent": "nosuch0", "mode": "macvlan"}, "nosuch0"},
		{"missing VLAN base", map[string]string{"parent": "nosuch0.10", "mode": "macvlan"}, "nosuch0"},
		{"ipvlan on a macvlan parent", map[string]string{"parent": "lan0", "mode": "ipvlan"}, "lan0"},
		{"passthru on a shared parent", map[string]string{"parent": "lan0", "mode": "macvlan", "macvlan_mode": "passthru"}, "passthru"},
		{"bridge mode on a parent", map[string]string{"parent": "lan0"}, "mode=bridge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: "other", Options: tc.opts, IPv4: subnet()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CreateNetwork(%v) = %v, want an error naming %q", tc.opts, err, tc.want)
			}
		})
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("refused networks left links: %v", o)
	}
}

func TestDifferentVNIsAreIsolated(t *testing.T) {
	h1, h2 := twoHosts(t, func(string) map[string]string {
		return map[string]string{"VxlanId": "100", "Peers": "192.0.2.1,192.0.2.2", "hostGateway": "false"}
	})
	for _, h := range []*host{h1, h2} {
		create(t, h, "netb", map[string]string{"VxlanId": "200", "Peers": "192.0.2.1,192.0.2.2", "hostGateway": "false"}, subnet()...)
	}
	a1 := attach(t, h1, "a1", "198.51.100.11/24")
	attach(t, h2, "a2", "198.51.100.12/24")
	attachTo(t, h1, "netb", "b1", "198.51.100.21/24")
	attachTo(t, h2, "netb", "b2", "198.51.100.22/24")
	assertPing(t, a1, "198.51.100.12")
	assertNoPing(t, a1, "198.51.100.21")
	assertNoPing(t, a1, "198.51.100.22")
}

func TestInternalSegments(t *testing.T) {
	for _, mode := range []string{"bridge", "macvlan"} {
		t.Run(mode, func(t *testing.T) {
			h := newHost(t)
			req := driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"mode": mode}, Internal: true, IPv4: subnet()}
			if err := h.driver.CreateNetwork(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			c1 := attach(t, h, "ep1", "198.51.100.11/24")
			attach(t, h, "ep2", "198.51.100.12/24")
			assertPing(t, c1, "198.51.100.12")
			assertNoPing(t, c1, "198.51.100.1") // no gateway on the host
			if route := c1.Must(t, "ip", "route", "show", "default"); route != "" {
				t.Errorf("internal container has a default route: %s", route)
			}
			j, err := h.driver.Join(t.Context(), netID, "ep1")
			if err != nil || j.Gateway.IsValid() {
				t.Errorf("Join on internal network = %+v, %v; want no gateway", j, err)
			}
		})
	}
}
