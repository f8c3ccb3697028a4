package driver_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/cluster"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// hub is an in-memory control plane shared by the hosts of a test: what
// etcd and internal/cluster do, minus the network, so the driver's side
// (which entries land in the kernel, and when) is tested on its own. The
// real control plane is tested against a real etcd in internal/cluster and
// end to end.
type hub struct {
	mu       sync.Mutex
	members  map[int]map[string]net.IP   // vni → node → VTEP
	eps      map[string]cluster.Endpoint // endpoint ID → endpoint
	handlers map[string]func(vni int)    // node → its driver's SegmentChanged
	segments map[int][]cluster.Subnet    // vni → definition
	view     map[string]bool             // node → has read the cluster
}

func newHub() *hub {
	return &hub{members: map[int]map[string]net.IP{}, eps: map[string]cluster.Endpoint{},
		handlers: map[string]func(int){}, segments: map[int][]cluster.Subnet{}, view: map[string]bool{}}
}

// node is one host's handle on the hub; it implements driver.ControlPlane.
type node struct {
	h    *hub
	name string
}

func (h *hub) node(name string) *node { h.view[name] = true; return &node{h, name} }

// notify tells every other node that vni changed, outside the hub's lock.
func (n *node) notify(vni int) {
	n.h.mu.Lock()
	var hs []func(int)
	for name, f := range n.h.handlers {
		if name != n.name {
			hs = append(hs, f)
		}
	}
	n.h.mu.Unlock()
	for _, f := range hs {
		f(vni)
	}
}

func (n *node) DefineSegment(_ context.Context, s cluster.Segment) error {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	if have, ok := n.h.segments[s.VNI]; ok && have[0].Pool != s.Subnets[0].Pool {
		return &cluster.ConflictError{VNI: s.VNI, Subnet: have[0].Pool, Holder: "other", Reason: "defined with another subnet"}
	}
	n.h.segments[s.VNI] = s.Subnets
	return nil
}

func (n *node) ReleaseSegment(context.Context, int) error { return nil }

func (n *node) Join(vni int, vtep net.IP) {
	n.h.mu.Lock()
	if n.h.members[vni] == nil {
		n.h.members[vni] = map[string]net.IP{}
	}
	n.h.members[vni][n.name] = vtep
	n.h.mu.Unlock()
	n.notify(vni)
}

func (n *node) Leave(vni int) {
	n.h.mu.Lock()
	delete(n.h.members[vni], n.name)
	n.h.mu.Unlock()
	n.notify(vni)
}

func (n *node) Publish(_ context.Context, e cluster.Endpoint) error {
	e.Node = n.name
	n.h.mu.Lock()
	n.h.eps[e.ID] = e
	n.h.mu.Unlock()
	n.notify(e.VNI)
	return nil
}

func (n *node) Withdraw(_ context.Context, id string) error {
	n.h.mu.Lock()
	e, ok := n.h.eps[id]
	delete(n.h.eps, id)
	n.h.mu.Unlock()
	if ok {
		n.notify(e.VNI)
	}
	return nil
}

func (n *node) Peers(vni int) []net.IP {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	var out []net.IP
	for name, ip := range n.h.members[vni] {
		if name != n.name {
			out = append(out, ip)
		}
	}
	return out
}

func (n *node) Remote(vni int) []cluster.Endpoint {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	var out []cluster.Endpoint
	for _, e := range n.h.eps {
		if e.VNI == vni && e.Node != n.name {
			out = append(out, e)
		}
	}
	return out
}

func (n *node) HasView() bool {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	return n.h.view[n.name]
}

// kill makes a node vanish from the hub, as its lease expiring does.
func (h *hub) kill(name string, vni int) {
	h.mu.Lock()
	delete(h.members[vni], name)
	for id, e := range h.eps {
		if e.Node == name {
			delete(h.eps, id)
		}
	}
	delete(h.handlers, name)
	h.mu.Unlock()
	(&node{h, ""}).notify(vni)
}

// clusterHost starts a host in cluster mode on the hub.
func clusterHost(t *testing.T, hb *hub, name string) *host {
	t.Helper()
	h := &host{ns: netnstest.New(t), state: t.TempDir() + "/state.db"}
	// The cluster's store sits on the underlay: the way to it tells the
	// host its VTEP address.
	h.cfg = driver.Config{Cluster: hb.node(name), UnderlayHints: []net.IP{net.ParseIP("192.0.2.254")}}
	h.start(t)
	hb.mu.Lock()
	hb.handlers[name] = h.driver.SegmentChanged
	hb.mu.Unlock()
	return h
}

func clusterPair(t *testing.T) (*hub, *host, *host) {
	t.Helper()
	hb := newHub()
	h1, h2 := clusterHost(t, hb, "h1"), clusterHost(t, hb, "h2")
	netnstest.Link(t, h1.ns, "u1", "192.0.2.1/24", h2.ns, "u2", "192.0.2.2/24")
	opts := map[string]string{"VxlanId": "42", "hostGateway": "false"}
	create(t, h1, netID, opts, subnet()...)
	create(t, h2, netID, opts, subnet()...)
	return hb, h1, h2
}

func fdb(t *testing.T, h *host) string {
	t.Helper()
	return h.ns.Must(t, "bridge", "fdb", "show", "dev", "vxlan-0a1b2c3d4")
}

func TestClusterMembersFormTheFloodList(t *testing.T) {
	hb, h1, h2 := clusterPair(t)
	if got := floodList(t, h1); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Fatalf("h1 flood list = %v, want h2's VTEP found from the route (no Peers given)", got)
	}
	if got := floodList(t, h2); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Fatalf("h2 flood list = %v, want h1's VTEP", got)
	}
	hb.kill("h2", 42)
	if got := floodList(t, h1); len(got) != 0 {
		t.Fatalf("h1 flood list after h2 vanished = %v, want empty", got)
	}
}

func TestClusterEndpointsInstalledBeforeTraffic(t *testing.T) {
	hb, h1, h2 := clusterPair(t)
	c1 := attach(t, h1, "ep1", "198.51.100.11/24")
	// No packet has crossed yet: the entry comes from the control plane.
	if got := fdb(t, h2); !strings.Contains(got, "02:42:c6:33:64:0b dst 192.0.2.1 self permanent") {
		t.Fatalf("h2 lacks a static entry for h1's container before any traffic:\n%s", got)
	}
	attach(t, h2, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")

	// Repeating the notice changes nothing and raises no "exists" error.
	h2.driver.SegmentChanged(42)
	if n := strings.Count(fdb(t, h2), "02:42:c6:33:64:0b dst"); n != 1 {
		t.Fatalf("entry for h1's container appears %d times after a repeated notice", n)
	}

	if err := h1.driver.DeleteEndpoint(t.Context(), netID, "ep1"); err != nil {
		t.Fatal(err)
	}
	got := fdb(t, h2)
	if strings.Contains(got, "02:42:c6:33:64:0b dst 192.0.2.1 self permanent") {
		t.Fatalf("h2 kept the entry of a deleted container:\n%s", got)
	}
	if !strings.Contains(fdb(t, h1), "02:42:c6:33:64:0c dst 192.0.2.2 self permanent") { // positive control
		t.Fatalf("h1 lost the entry of h2's container:\n%s", fdb(t, h1))
	}
	hb.kill("h2", 42)
	if got := fdb(t, h1); strings.Contains(got, "02:42:c6:33:64:0c dst 192.0.2.2 self permanent") || strings.Contains(got, "00:00:00:00:00:00 dst 192.0.2.2") {
		t.Fatalf("h1 kept entries of a host that vanished:\n%s", got)
	}
}

func TestClusterEntriesKeptUntilTheClusterIsRead(t *testing.T) {
	hb, h1, h2 := clusterPair(t)
	attach(t, h2, "ep2", "198.51.100.12/24")
	// h1 restarts and has not read the cluster yet: the view is empty, yet
	// the data path must stay.
	h1.stop()
	hb.mu.Lock()
	hb.view["h1"] = false
	hb.mu.Unlock()
	h1.start(t)
	h1.driver.SegmentChanged(42)
	if got := fdb(t, h1); !strings.Contains(got, "02:42:c6:33:64:0c dst 192.0.2.2 self permanent") {
		t.Fatalf("h1 dropped entries before reading the cluster:\n%s", got)
	}
	// Meanwhile h2's container went away; once h1 has a view, the stale
	// entry goes even though no notice names the segment specifically.
	hb.kill("h2", 42)
	hb.mu.Lock()
	hb.view["h1"] = true
	hb.mu.Unlock()
	h1.driver.SegmentChanged(7) // some other segment
	// (An entry the kernel learned from the container's own frames may
	// remain until it ages out; the static one must go.)
	if got := fdb(t, h1); strings.Contains(got, "02:42:c6:33:64:0c dst 192.0.2.2 self permanent") {
		t.Fatalf("h1 kept a stale entry after reading the cluster:\n%s", got)
	}
}

func TestClusterConflictingDefinitionRefused(t *testing.T) {
	hb, _, _ := clusterPair(t)
	h3 := clusterHost(t, hb, "h3")
	h3.ns.Must(t, "ip", "link", "add", "u3", "type", "veth", "peer", "name", "u3p")
	h3.ns.Must(t, "ip", "addr", "add", "192.0.2.3/24", "dev", "u3")
	h3.ns.Must(t, "ip", "link", "set", "u3", "up")
	h3.ns.Must(t, "ip", "link", "set", "u3p", "up")
	err := h3.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "42"},
		IPv4: []driver.Subnet{sub("203.0.113.0/24", "203.0.113.1/24")}})
	if err == nil || !strings.Contains(err.Error(), "VxlanId 42") || !strings.Contains(err.Error(), "host other") {
		t.Fatalf("conflicting definition: err = %v, want a refusal naming the VNI and the holder", err)
	}
	if o := h3.owned(t); len(o) != 0 {
		t.Fatalf("a refused create left links: %v", o)
	}
	create(t, h3, netID, map[string]string{"VxlanId": "42"}, subnet()...) // positive control: the same definition is fine
}
