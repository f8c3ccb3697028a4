package driver_test

import (
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// --internal on a VXLAN segment: it still spans hosts, but its containers
// get no gateway and the host takes none (as Docker's overlay --internal).
// A swarm manager, which never sees --internal, parses the options the same.
func TestInternalVXLANSpansHostsWithoutGateway(t *testing.T) {
	h1, h2 := newHost(t), newHost(t)
	netnstest.Link(t, h1.ns, "u1", "192.0.2.1/24", h2.ns, "u2", "192.0.2.2/24")
	opts := map[string]string{"VxlanId": "4243", "Peers": "192.0.2.1,192.0.2.2"}
	for _, h := range []*host{h1, h2} {
		if err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: netID, Options: opts, Internal: true, IPv4: subnet()}); err != nil {
			t.Fatalf("CreateNetwork --internal with VxlanId: %v", err)
		}
	}
	if _, err := h1.driver.AllocateNetwork(driver.CreateNetworkRequest{NetworkID: netID, Options: opts}); err != nil {
		t.Fatalf("AllocateNetwork (the manager, without --internal): %v", err)
	}
	c1 := attach(t, h1, "ep1", "198.51.100.11/24")
	attach(t, h2, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12") // across hosts
	j, err := h1.driver.Join(t.Context(), netID, "ep1")
	if err != nil || j.Gateway.IsValid() {
		t.Fatalf("Join on an internal network = %+v, %v; want no gateway", j, err)
	}
	assertNoPing(t, c1, "198.51.100.1") // the host took no gateway address
}
