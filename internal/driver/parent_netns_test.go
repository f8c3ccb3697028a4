package driver_test

import (
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

func TestParentThatIsAPluginLinkRefused(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "42", "vxlanName": "vx42"}, subnet()...)
	for _, parent := range []string{"vx42", "vxbr-0a1b2c3d4e", "vx42.7"} {
		opts := map[string]string{"mode": "macvlan", "parent": parent}
		err := h.driver.CreateNetwork(t.Context(), driverRequest("macv", opts, sub("203.0.113.0/24", "203.0.113.1/24")))
		if err == nil || !strings.Contains(err.Error(), "docker-vxlan-plugin") {
			t.Errorf("parent=%s: err = %v, want a refusal naming the plugin's link", parent, err)
		}
	}
	// Positive control: a host interface is a fine parent.
	h.ns.Must(t, "ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p")
	create(t, h, "macv", map[string]string{"mode": "macvlan", "parent": "eth9"}, sub("203.0.113.0/24", "203.0.113.1/24"))
}

func driverRequest(nid string, opts map[string]string, subnets ...driver.Subnet) driver.CreateNetworkRequest {
	return driver.CreateNetworkRequest{NetworkID: nid, Options: opts, IPv4: subnets}
}
