package driver_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// A container's addresses are announced from inside the container once
// Docker has configured it: a neighbour on the segment that takes
// gratuitous ARP (the host's bridge here, told to accept them) learns the
// container's MAC with no traffic of its own.
func TestJoinAnnouncesTheContainer(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	h.ns.Must(t, "sysctl", "-w", "net.ipv4.conf.vxbr-0a1b2c3d4e.arp_accept=1")
	neigh := func() string { return h.ns.Must(t, "ip", "neigh", "show", "198.51.100.11", "dev", "vxbr-0a1b2c3d4e") }
	addr := netip.MustParsePrefix("198.51.100.11/24")
	if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1", Address: addr}); err != nil {
		t.Fatal(err)
	}
	c := netnstest.New(t)
	j, err := h.driver.Join(t.Context(), netID, "ep1", driver.Sandbox{Key: "/var/run/netns/" + c.Name})
	if err != nil {
		t.Fatal(err)
	}
	netnstest.MoveLink(t, h.ns, j.SrcName, c, "eth0", addr.String()) // what Docker does after Join
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(neigh(), "02:42:c6:33:64:0b") {
		if time.Now().After(deadline) {
			t.Fatalf("the host still has %q for the container's address, want its MAC 02:42:c6:33:64:0b", neigh())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// -p is refused at Join with where to reach the container instead; EXPOSE
// alone (no bindings) passes.
func TestJoinRefusesPublishedPorts(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	addr := netip.MustParsePrefix("198.51.100.11/24")
	if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1", Address: addr}); err != nil {
		t.Fatal(err)
	}
	sb := driver.Sandbox{PortBindings: []driver.PortBinding{{Proto: "tcp", Port: 80, HostPort: 8080}}}
	_, err := h.driver.Join(t.Context(), netID, "ep1", sb)
	if err == nil || !strings.Contains(err.Error(), "198.51.100.11:80/tcp") || !strings.Contains(err.Error(), "-p 8080:80") {
		t.Fatalf("Join with -p 8080:80 = %v, want a refusal saying to reach 198.51.100.11:80/tcp", err)
	}
	if _, err := h.driver.Join(t.Context(), netID, "ep1", driver.Sandbox{}); err != nil { // positive control
		t.Fatalf("Join without bindings: %v", err)
	}
}
