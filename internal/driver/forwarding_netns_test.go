package driver_test

import (
	"strings"
	"testing"
)

// A host gateway routes between the subnets of its network even on a host
// whose forwarding was off (the newest engines no longer turn it on).
func TestHostGatewayRoutesBetweenSubnets(t *testing.T) {
	h := newHost(t)
	if got := strings.TrimSpace(h.ns.Must(t, "sysctl", "-n", "net.ipv4.ip_forward")); got != "0" {
		t.Fatalf("a new namespace forwards already (%s)", got)
	}
	create(t, h, netID, map[string]string{"VxlanId": "42"}, sub("198.51.100.0/24", "198.51.100.1/24"), sub("203.0.113.0/24", "203.0.113.1/24"))
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	c2 := attach(t, h, "ep2", "203.0.113.12/24")
	c1.Must(t, "ip", "route", "add", "default", "via", "198.51.100.1")
	c2.Must(t, "ip", "route", "add", "default", "via", "203.0.113.1")
	assertPing(t, c1, "203.0.113.12")
	if got := strings.TrimSpace(h.ns.Must(t, "sysctl", "-n", "net.ipv4.conf.vxbr-0a1b2c3d4e.forwarding")); got != "1" {
		t.Errorf("the bridge's forwarding = %s, want 1", got)
	}
}
