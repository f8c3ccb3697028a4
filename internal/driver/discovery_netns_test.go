package driver_test

import (
	"slices"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

func floodList(t *testing.T, h *host) []string {
	t.Helper()
	peers, err := h.kernel.FloodPeers("vxlan-0a1b2c3d4")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range peers {
		s = append(s, p.String())
	}
	slices.Sort(s)
	return s
}

func TestSwarmNodesJoinAndLeaveFloodLists(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7", "Peers": "192.0.2.9"}, subnet()...)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.driver.DiscoverNew(t.Context(), driver.NodeDiscovery{Address: "192.0.2.7"}))
	must(h.driver.DiscoverNew(t.Context(), driver.NodeDiscovery{Address: "192.0.2.1", Self: true}))
	if got := floodList(t, h); !slices.Equal(got, []string{"192.0.2.7", "192.0.2.9"}) {
		t.Fatalf("flood list = %v, want the node and the configured peer, not self", got)
	}

	// The nodes outlive a plugin restart, and a link lost meanwhile comes
	// back with them.
	h.stop()
	h.ns.Must(t, "ip", "link", "del", "vxlan-0a1b2c3d4")
	h.start(t)
	if got := floodList(t, h); !slices.Equal(got, []string{"192.0.2.7", "192.0.2.9"}) {
		t.Fatalf("after restart flood list = %v", got)
	}

	must(h.driver.DiscoverDelete(t.Context(), driver.NodeDiscovery{Address: "192.0.2.7"}))
	must(h.driver.DiscoverDelete(t.Context(), driver.NodeDiscovery{Address: "192.0.2.9"}))
	if got := floodList(t, h); !slices.Equal(got, []string{"192.0.2.9"}) {
		t.Fatalf("after the nodes left flood list = %v, want only the configured peer", got)
	}
	if err := h.driver.DiscoverNew(t.Context(), driver.NodeDiscovery{Address: "not-an-ip"}); err == nil {
		t.Fatal("DiscoverNew accepted a node without an IP address")
	}
}

func TestSwarmNodesOnlyJoinMatchingFloodLists(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1")
	create(t, h, netID, map[string]string{"VxlanId": "7", "SrcAddr": "2001:db8::1", "vxlanMTU": "1400"}, subnet()...)
	create(t, h, "mcast", map[string]string{"VxlanId": "8", "Group": "239.1.1.1", "VtepDev": "u0", "vxlanName": "vx-mcast"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	create(t, h, "v4", map[string]string{"VxlanId": "9", "vxlanName": "vx-v4"}, sub("192.0.2.0/26", "192.0.2.1/26"))
	if err := h.driver.DiscoverNew(t.Context(), driver.NodeDiscovery{Address: "192.0.2.7"}); err != nil {
		t.Fatalf("DiscoverNew with an IPv6 network present: %v", err)
	}
	peersOf := func(link string) []string {
		peers, err := h.kernel.FloodPeers(link)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range peers {
			s = append(s, p.String())
		}
		return s
	}
	if got := peersOf("vx-v4"); !slices.Equal(got, []string{"192.0.2.7"}) {
		t.Errorf("IPv4 network flood list = %v, want the node", got)
	}
	if got := peersOf("vxlan-0a1b2c3d4"); len(got) != 0 {
		t.Errorf("IPv6-underlay network took an IPv4 node: %v", got)
	}
	if got := peersOf("vx-mcast"); slices.Contains(got, "192.0.2.7") { // the kernel lists the group itself
		t.Errorf("multicast network took a unicast flood entry: %v", got)
	}
}
