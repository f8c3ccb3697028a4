package driver_test

import (
	"strings"
	"testing"
)

// Docker's firewall (FORWARD policy DROP, bridged traffic sent through
// iptables by br_netfilter) must not cut the plugin's bridges off.
func TestBridgeTrafficPassesDockersForwardPolicy(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "iptables", "-P", "FORWARD", "DROP")
	h.ns.Must(t, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
	create(t, h, netID, map[string]string{"VxlanId": "7", "hostGateway": "false"}, subnet()...)
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	attach(t, h, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")

	rules := h.ns.Must(t, "iptables", "-S")
	for _, want := range []string{
		"-A FORWARD -j DOCKER-VXLAN-PLUGIN",
		"-A DOCKER-VXLAN-PLUGIN -i vxbr-0a1b2c3d4e -j ACCEPT",
		"-A DOCKER-VXLAN-PLUGIN -o vxbr-0a1b2c3d4e -j ACCEPT",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("iptables lacks %q:\n%s", want, rules)
		}
	}

	// Without the exception the policy drops the traffic; the next
	// endpoint restores it.
	h.ns.Must(t, "iptables", "-F", "DOCKER-VXLAN-PLUGIN")
	assertNoPing(t, c1, "198.51.100.12")
	attach(t, h, "ep3", "198.51.100.13/24")
	assertPing(t, c1, "198.51.100.12")

	if err := h.driver.DeleteNetwork(t.Context(), netID); err != nil {
		t.Fatal(err)
	}
	if rules := h.ns.Must(t, "iptables", "-S", "DOCKER-VXLAN-PLUGIN"); strings.Contains(rules, "vxbr-") {
		t.Errorf("exception outlived its network:\n%s", rules)
	}
}
