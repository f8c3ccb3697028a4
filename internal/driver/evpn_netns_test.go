package driver_test

import (
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

const evpnLink = "vxlan-0a1b2c3d4"

// fdbOf lists the vxlan link's FDB as `bridge fdb show` prints it, less
// the entries the kernel keeps for the link's own address.
func fdbOf(t *testing.T, h *host) string {
	t.Helper()
	var keep []string
	for _, l := range strings.Split(h.ns.Must(t, "bridge", "fdb", "show", "dev", evpnLink), "\n") {
		if l != "" && !strings.Contains(l, "permanent") || strings.Contains(l, " dst ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// The EVPN layout FRR expects: the vxlan link sends from the VTEP
// device's address (no SrcAddr given), learns nothing, and its bridge
// port learns nothing and suppresses ARP/ND. The plugin never writes or
// deletes an FDB entry of it: not for a swarm node, not at a restart, not
// when the network is ensured again; the entries zebra installs (here by
// hand, as zebra does) stay exactly as they are.
func TestEVPNLeavesTheFDBToFRR(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1")
	h.ns.Must(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "u0")
	h.ns.Must(t, "ip", "link", "set", "u0", "up")
	opts := map[string]string{"VxlanId": "7", "EVPN": "true", "VtepDev": "u0"}
	create(t, h, netID, opts, subnet()...)

	link := h.ns.Must(t, "ip", "-d", "link", "show", "dev", evpnLink)
	for _, want := range []string{"vxlan id 7", "local 192.0.2.1", "nolearning"} {
		if !strings.Contains(link, want) {
			t.Errorf("no %q in %s", want, link)
		}
	}
	port := h.ns.Must(t, "bridge", "-d", "link", "show", "dev", evpnLink)
	for _, want := range []string{"learning off", "neigh_suppress on"} {
		if !strings.Contains(port, want) {
			t.Errorf("no %q in %s", want, port)
		}
	}
	if fdb := fdbOf(t, h); fdb != "" {
		t.Fatalf("the plugin installed FDB entries on an EVPN link:\n%s", fdb)
	}

	// What zebra installs from a type-3 and a type-2 route.
	h.ns.Must(t, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", evpnLink, "dst", "192.0.2.9", "self", "permanent")
	h.ns.Must(t, "bridge", "fdb", "add", "02:42:c6:33:64:09", "dev", evpnLink, "dst", "192.0.2.9", "self", "extern_learn")
	frr := fdbOf(t, h)
	if strings.Count(frr, "\n") != 1 {
		t.Fatalf("want FRR's two entries, got:\n%s", frr)
	}
	if err := h.driver.DiscoverNew(t.Context(), driver.NodeDiscovery{Address: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	if err := h.driver.DiscoverDelete(t.Context(), driver.NodeDiscovery{Address: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	create(t, h, netID, opts, subnet()...) // Docker repeats a create: the links are ensured again
	h.stop()
	h.start(t)
	if got := fdbOf(t, h); got != frr {
		t.Fatalf("the plugin changed FRR's FDB entries:\n got %s\nwant %s", got, frr)
	}
	if port := h.ns.Must(t, "bridge", "-d", "link", "show", "dev", evpnLink); !strings.Contains(port, "neigh_suppress on") {
		t.Errorf("after a restart: %s", port)
	}

	// A container still comes and goes; the MAC the bridge learns from it
	// is zebra's to advertise.
	c := attach(t, h, "ep1", "198.51.100.2/24")
	if _, err := c.Run("ping", "-c", "1", "-W", "2", "198.51.100.1"); err != nil {
		t.Errorf("the container does not reach its host gateway")
	}
	if err := h.driver.Leave(netID, "ep1"); err != nil {
		t.Fatal(err)
	}
	if err := h.driver.DeleteEndpoint(t.Context(), netID, "ep1"); err != nil {
		t.Fatal(err)
	}
	if got := fdbOf(t, h); got != frr {
		t.Fatalf("the endpoint's removal changed FRR's FDB entries:\n got %s\nwant %s", got, frr)
	}
}

// Without SrcAddr the vxlan link takes the VTEP device's address; a device
// without one is refused at create, and nothing is left behind.
func TestEVPNRefusesAVTEPDeviceWithoutAddress(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1")
	err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: netID,
		Options: map[string]string{"VxlanId": "7", "EVPN": "true", "VtepDev": "u0"}, IPv4: subnet()})
	if err == nil || !strings.Contains(err.Error(), "EVPN") || !strings.Contains(err.Error(), "SrcAddr") {
		t.Fatalf("CreateNetwork = %v, want a refusal naming EVPN and SrcAddr", err)
	}
	if owned := h.owned(t); len(owned) != 0 {
		t.Fatalf("links left after a refused create: %v", owned)
	}
}

// In cluster mode an EVPN network's VNI is still defined cluster-wide, but
// the host takes no part in the cluster's data plane there: it neither
// joins the VNI's members nor publishes its endpoints, and installs no
// member's flood entry or endpoint, even beside a plain network of the
// same VNI on another host that does all of that.
func TestEVPNTakesNoClusterEntries(t *testing.T) {
	hb := newHub()
	h1, h2 := clusterHost(t, hb, "h1"), clusterHost(t, hb, "h2")
	netnstest.Link(t, h1.ns, "u1", "192.0.2.1/24", h2.ns, "u2", "192.0.2.2/24")
	create(t, h2, netID, map[string]string{"VxlanId": "42", "hostGateway": "false"}, subnet()...)
	attach(t, h2, "ep2", "198.51.100.12/24")
	create(t, h1, netID, map[string]string{"VxlanId": "42", "EVPN": "true", "SrcAddr": "192.0.2.1"}, subnet()...)
	attach(t, h1, "ep1", "198.51.100.11/24")
	h1.driver.SegmentChanged(42) // as the control plane's watch would

	if fdb := fdbOf(t, h1); fdb != "" {
		t.Errorf("the EVPN network took cluster entries:\n%s", fdb)
	}
	if got := fdb(t, h2); strings.Contains(got, "192.0.2.1") {
		t.Errorf("the EVPN host was published to the cluster; h2's FDB:\n%s", got)
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if _, member := hb.members[42]["h1"]; member {
		t.Error("the EVPN host joined the VNI's members")
	}
	if _, defined := hb.segments[42]; !defined {
		t.Error("the VNI's definition was not recorded")
	}
}
