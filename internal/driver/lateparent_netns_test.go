package driver_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

// At boot the underlay device may come up after the plugin: the network's
// links cannot be restored yet, a container fails naming the device, and
// once the device is there the next container brings the network back
// without a plugin restart.
func TestVtepDevAppearingAfterStart(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "u9", "type", "veth", "peer", "name", "u9p")
	h.ns.Must(t, "ip", "addr", "add", "192.0.2.9/24", "dev", "u9")
	create(t, h, netID, map[string]string{"VxlanId": "42", "VtepDev": "u9"}, subnet()...)

	h.stop() // a reboot: the plugin's links and the device are gone
	h.ns.Must(t, "ip", "link", "del", "vxlan-0a1b2c3d4")
	h.ns.Must(t, "ip", "link", "del", "vxbr-0a1b2c3d4e")
	h.ns.Must(t, "ip", "link", "del", "u9")
	if rep := h.start(t); rep.Failed != 1 {
		t.Fatalf("reconcile without the device: %+v, want the network failed", rep)
	}
	req := driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1", Address: netip.MustParsePrefix("198.51.100.11/24")}
	if _, err := h.driver.CreateEndpoint(t.Context(), req); err == nil || !strings.Contains(err.Error(), "u9") {
		t.Fatalf("CreateEndpoint with the device missing = %v, want an error naming u9", err)
	}
	h.ns.Must(t, "ip", "link", "add", "u9", "type", "veth", "peer", "name", "u9p")
	if _, err := h.driver.CreateEndpoint(t.Context(), req); err != nil {
		t.Fatalf("CreateEndpoint once the device is there: %v", err)
	}
	if !h.kernel.Exists("vxlan-0a1b2c3d4") || !h.kernel.Exists("vxve-ep1") {
		t.Fatal("the network's links were not brought back")
	}
}
