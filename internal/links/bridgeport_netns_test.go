package links_test

import (
	"net"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// An EVPN segment's vxlan link is a bridge port that learns nothing and
// suppresses ARP/ND; a plain segment's port keeps the kernel's defaults.
// Ensuring it again (a restart) keeps the flags, and adds no flood entry.
func TestEVPNBridgePortFlags(t *testing.T) {
	ns := netnstest.New(t)
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, b := range []string{"br-evpn", "br-plain"} {
		if err := k.EnsureBridge(links.BridgeSpec{Name: b, NetworkID: b}); err != nil {
			t.Fatal(err)
		}
	}
	evpn := links.VxlanSpec{Name: "vx-evpn", NetworkID: "evpn", Bridge: "br-evpn",
		VxlanParams: links.VxlanParams{VNI: 100, Port: 4789, SrcAddr: net.ParseIP("192.0.2.1"), EVPN: true}}
	plain := links.VxlanSpec{Name: "vx-plain", NetworkID: "plain", Bridge: "br-plain",
		VxlanParams: links.VxlanParams{VNI: 101, Port: 4789, Learning: true}}
	for i := 0; i < 2; i++ {
		for _, s := range []links.VxlanSpec{evpn, plain} {
			if err := k.EnsureVxlanLink(s); err != nil {
				t.Fatalf("EnsureVxlanLink %s (pass %d): %v", s.Name, i, err)
			}
		}
		assertPort(t, k, "vx-evpn", links.PortFlags{Learning: false, NeighSuppress: true})
		assertPort(t, k, "vx-plain", links.PortFlags{Learning: true, NeighSuppress: false})
	}
	if peers, err := k.FloodPeers("vx-evpn"); err != nil || len(peers) != 0 {
		t.Fatalf("EVPN link flood list = %v, %v; want none", peers, err)
	}
	// The kernel says the same as the plugin reads.
	out := ns.Must(t, "bridge", "-d", "link", "show", "dev", "vx-evpn")
	for _, want := range []string{"learning off", "neigh_suppress on"} {
		if !strings.Contains(out, want) {
			t.Errorf("bridge -d link show: no %q in %s", want, out)
		}
	}
}

func assertPort(t *testing.T, k *links.Kernel, name string, want links.PortFlags) {
	t.Helper()
	got, err := k.BridgePortFlags(name)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s port flags = %+v, want %+v", name, got, want)
	}
}
