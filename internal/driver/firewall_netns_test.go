package driver_test

import (
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

// Docker's firewall (FORWARD policy DROP, bridged traffic sent through
// iptables by br_netfilter) must not cut the plugin's bridges off, nor may
// the plugin's exception jump ahead of the operator's DOCKER-USER rules.
func TestBridgeTrafficPassesDockersForwardPolicy(t *testing.T) {
	h := newHost(t)
	for _, ipt := range []string{"iptables", "ip6tables"} {
		h.ns.Must(t, ipt, "-P", "FORWARD", "DROP")
		h.ns.Must(t, ipt, "-N", "DOCKER-USER")
		h.ns.Must(t, ipt, "-A", "FORWARD", "-j", "DOCKER-USER")
	}
	h.ns.Must(t, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
	create(t, h, netID, map[string]string{"VxlanId": "7", "hostGateway": "false"}, subnet()...)
	req := driver.CreateNetworkRequest{NetworkID: "isolated", Internal: true, IPv4: []driver.Subnet{sub("203.0.113.0/24", "203.0.113.1/24")}}
	if err := h.driver.CreateNetwork(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	attach(t, h, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")

	for _, ipt := range []string{"iptables", "ip6tables"} {
		want := "-A FORWARD -j DOCKER-USER\n" +
			"-A FORWARD -j VXLAN-PLUGIN-vxlan\n" +
			"-A VXLAN-PLUGIN-vxlan -i vxbr-0a1b2c3d4e -j ACCEPT\n" +
			"-A VXLAN-PLUGIN-vxlan -o vxbr-0a1b2c3d4e -j ACCEPT\n" +
			"-A VXLAN-PLUGIN-vxlan -i vxbr-isolated -o vxbr-isolated -j ACCEPT\n"
		if rules := h.ns.Must(t, ipt, "-S"); !strings.Contains(rules, want) {
			t.Errorf("%s -S lacks, in this order:\n%s\ngot:\n%s", ipt, want, rules)
		}
	}

	// A firewall reload drops the exception: traffic stops, and the
	// periodic check (SyncFirewall) brings it back.
	h.ns.Must(t, "iptables", "-F", "VXLAN-PLUGIN-vxlan")
	assertNoPing(t, c1, "198.51.100.12")
	if err := h.driver.SyncFirewall(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertPing(t, c1, "198.51.100.12")

	// The last network gone, the chain and its jump go too.
	for _, id := range []string{"isolated", netID} {
		if err := h.driver.DeleteNetwork(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if rules := h.ns.Must(t, "iptables", "-S"); strings.Contains(rules, "VXLAN-PLUGIN") {
		t.Errorf("exception outlived the networks:\n%s", rules)
	}
}
