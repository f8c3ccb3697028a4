package driver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/request"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// host is one "machine": a network namespace with its own driver and store.
type host struct {
	ns     *netnstest.NS
	kernel *links.Kernel
	store  *store.Store
	driver *driver.Driver
	state  string
	cfg    driver.Config // the daemon's configuration at start
	// wrap, if set, puts something between the driver and its kernel
	// and store at start: counting, or hanging on purpose.
	wrap func(*links.Kernel, *store.Store) (driver.Kernel, driver.Store)
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{ns: netnstest.New(t), state: filepath.Join(t.TempDir(), "state.db")}
	h.start(t)
	return h
}

// start opens the store and the kernel and reconciles, as the daemon does.
func (h *host) start(t *testing.T) driver.ReconcileReport {
	t.Helper()
	var err error
	if h.kernel, err = links.NewAt(h.ns.Handle(), "vxlan"); err != nil {
		t.Fatal(err)
	}
	if h.store, err = store.Open(h.state); err != nil {
		t.Fatal(err)
	}
	var k driver.Kernel = h.kernel
	var st driver.Store = h.store
	if h.wrap != nil {
		k, st = h.wrap(h.kernel, h.store)
	}
	h.driver = driver.New(h.cfg, k, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rep, err := h.driver.Reconcile()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.stop)
	return rep
}

// stop drops the driver without touching the kernel, like kill -9.
func (h *host) stop() {
	if h.store != nil {
		h.store.Close()
		h.kernel.Close()
		h.store = nil
	}
}

func (h *host) owned(t *testing.T) []links.Owned {
	t.Helper()
	o, err := h.kernel.ListOwned()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const (
	netID   = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	overlay = "198.51.100.0/24"
)

func subnet() []driver.Subnet { return []driver.Subnet{sub(overlay, "198.51.100.1/24")} }

// sub is an IPAM pool with its gateway, as Docker hands them over.
func sub(pool, gateway string) driver.Subnet {
	return driver.Subnet{Pool: netip.MustParsePrefix(pool), Gateway: netip.MustParsePrefix(gateway)}
}

// attach creates and joins an endpoint through the driver, then does what
// Docker does: moves the container end into a fresh "container" namespace.
func attach(t *testing.T, h *host, epID, cidr string) *netnstest.NS {
	t.Helper()
	return attachTo(t, h, netID, epID, cidr)
}

// attachTo is attach on the network nid.
func attachTo(t *testing.T, h *host, nid, epID, cidr string) *netnstest.NS {
	t.Helper()
	addr := netip.MustParsePrefix(cidr)
	if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: nid, EndpointID: epID, Address: addr}); err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	j, err := h.driver.Join(t.Context(), nid, epID)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	c := netnstest.New(t)
	netnstest.MoveLink(t, h.ns, j.SrcName, c, j.DstPrefix+"0", cidr)
	for _, dst := range j.ConnectedRoutes {
		c.Must(t, "ip", "route", "add", dst.String(), "dev", j.DstPrefix+"0")
	}
	return c
}

// twoHosts joins two hosts by a veth underlay and creates the same VXLAN
// network on both with opts.
func twoHosts(t *testing.T, opts func(self string) map[string]string) (*host, *host) {
	t.Helper()
	h1, h2 := newHost(t), newHost(t)
	netnstest.Link(t, h1.ns, "u1", "192.0.2.1/24", h2.ns, "u2", "192.0.2.2/24")
	for _, h := range []struct {
		h    *host
		self string
	}{{h1, "u1"}, {h2, "u2"}} {
		err := h.h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: netID, Options: opts(h.self), IPv4: subnet()})
		if err != nil {
			t.Fatalf("CreateNetwork: %v", err)
		}
	}
	return h1, h2
}

func assertPing(t *testing.T, from *netnstest.NS, to string) {
	t.Helper()
	if out, err := from.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", to); err != nil {
		t.Fatalf("ping %s from %s failed: %v\n%s", to, from.Name, err, out)
	}
}

// teardown deletes the endpoints and then the network through the driver,
// as Docker does, and checks that no link of the plugin is left.
func teardown(t *testing.T, h *host, endpoints ...string) {
	t.Helper()
	for _, ep := range endpoints {
		if err := h.driver.DeleteEndpoint(t.Context(), netID, ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.driver.DeleteNetwork(t.Context(), netID); err != nil {
		t.Fatal(err)
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("links left after delete: %v", o)
	}
}

// assertNoPing checks that to is unreachable from from.
func assertNoPing(t *testing.T, from *netnstest.NS, to string) {
	t.Helper()
	if out, err := from.Run("ping", "-c", "2", "-i", "0.2", "-W", "1", to); err == nil {
		t.Fatalf("ping %s from %s succeeded; want it isolated\n%s", to, from.Name, out)
	}
}

// create makes a network on h with the given options and subnet.
func create(t *testing.T, h *host, nid string, opts map[string]string, subnets ...driver.Subnet) {
	t.Helper()
	err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: nid, Options: opts, IPv4: subnets})
	if err != nil {
		t.Fatalf("CreateNetwork %v: %v", opts, err)
	}
}

func TestTrafficCrossesTunnelWithPeers(t *testing.T) {
	h1, h2 := twoHosts(t, func(string) map[string]string {
		// The same flood list on both hosts: each skips its own address.
		return map[string]string{"VxlanId": "4242", "Peers": "192.0.2.1,192.0.2.2", "hostGateway": "false"}
	})
	c1 := attach(t, h1, "ep1", "198.51.100.11/24")
	attach(t, h2, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")

	fdb := h1.ns.Must(t, "bridge", "fdb", "show", "dev", "vxlan-0a1b2c3d4")
	if !strings.Contains(fdb, "00:00:00:00:00:00 dst 192.0.2.2") || strings.Contains(fdb, "dst 192.0.2.1 ") {
		t.Errorf("flood list on host 1 should hold only the remote VTEP:\n%s", fdb)
	}
	// The remote container was learned behind the remote VTEP: the frames
	// really crossed the tunnel.
	if !strings.Contains(fdb, "02:42:c6:33:64:0c dst 192.0.2.2") {
		t.Errorf("remote container MAC not learned behind 192.0.2.2:\n%s", fdb)
	}
	if mtu := c1.Must(t, "cat", "/sys/class/net/eth0/mtu"); strings.TrimSpace(mtu) != "1450" {
		t.Errorf("container MTU = %s, want 1450 (underlay 1500 - 50)", mtu)
	}
	vx := h1.ns.Must(t, "ip", "-d", "link", "show", "vxlan-0a1b2c3d4")
	for _, want := range []string{"vxlan id 4242", "dstport 4789", "mtu 1450"} {
		if !strings.Contains(vx, want) {
			t.Errorf("vxlan link lacks %q:\n%s", want, vx)
		}
	}
}

func TestTrafficCrossesTunnelWithMulticastGroup(t *testing.T) {
	h1, h2 := twoHosts(t, func(self string) map[string]string {
		return map[string]string{"VxlanId": "0x1f", "Group": "239.1.1.42", "VtepDev": self, "hostGateway": "false"}
	})
	c1 := attach(t, h1, "ep1", "198.51.100.11/24")
	attach(t, h2, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")
	vx := h2.ns.Must(t, "ip", "-d", "link", "show", "vxlan-0a1b2c3d4")
	if !strings.Contains(vx, "vxlan id 31 group 239.1.1.42 dev u2") {
		t.Errorf("vxlan link not on the group:\n%s", vx)
	}
}

func TestHostGatewayAndDeleteLeavesNothing(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	c := attach(t, h, "ep1", "198.51.100.11/24")
	assertPing(t, c, "198.51.100.1") // the host is the gateway
	if len(h.owned(t)) != 3 {
		t.Fatalf("owned links = %v, want bridge, vxlan and veth", h.owned(t))
	}
	// Docker moves the interface back on Leave; the container namespace
	// going away has the same effect on the veth pair.
	teardown(t, h, "ep1")
	// Deleting again, and unknown IDs, succeed.
	if err := h.driver.DeleteNetwork(t.Context(), netID); err != nil {
		t.Errorf("second DeleteNetwork: %v", err)
	}
	if err := h.driver.DeleteEndpoint(t.Context(), netID, "nope"); err != nil {
		t.Errorf("DeleteEndpoint of unknown ID: %v", err)
	}
}

func TestNameClashIsAnErrorAndForeignLinkSurvives(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "theirs", "type", "bridge")
	err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{
		NetworkID: netID, Options: map[string]string{"VxlanId": "7", "bridgeName": "theirs"}, IPv4: subnet(),
	})
	var no *links.NotOwnedError
	if !errors.As(err, &no) {
		t.Fatalf("CreateNetwork over a foreign bridge = %v, want NotOwnedError", err)
	}
	if !h.kernel.Exists("theirs") {
		t.Fatal("foreign bridge was deleted")
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("failed create left links behind: %v", o)
	}
	if err := h.kernel.DeleteOwned("theirs", links.RoleBridge, netID); err != nil || !h.kernel.Exists("theirs") {
		t.Fatalf("DeleteOwned touched a foreign link: %v", err)
	}
}

func TestRestartKeepsStateAndReconciles(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	c := attach(t, h, "ep1", "198.51.100.11/24")
	h.stop() // kill -9: the kernel keeps its links

	// While the plugin is down: someone deletes our vxlan link, and an
	// orphan of ours (from a network the store never recorded) is left over.
	h.ns.Must(t, "ip", "link", "del", "vxlan-0a1b2c3d4")
	h.ns.Must(t, "ip", "link", "add", "vxbr-orphan", "type", "bridge")
	h.ns.Must(t, "ip", "link", "set", "vxbr-orphan", "alias", "docker-vxlan-plugin/vxlan/bridge/gone")
	h.ns.Must(t, "ip", "link", "add", "notours", "type", "bridge")

	rep := h.start(t)
	if rep.Removed != 1 || rep.Ensured != 1 || rep.Failed != 0 {
		t.Errorf("reconcile report = %+v, want 1 removed, 1 ensured", rep)
	}
	if h.kernel.Exists("vxbr-orphan") || !h.kernel.Exists("vxlan-0a1b2c3d4") || !h.kernel.Exists("notours") {
		t.Fatalf("after reconcile: orphan gone=%v, vxlan back=%v, foreign kept=%v",
			!h.kernel.Exists("vxbr-orphan"), h.kernel.Exists("vxlan-0a1b2c3d4"), h.kernel.Exists("notours"))
	}
	assertPing(t, c, "198.51.100.1")
	teardown(t, h, "ep1")
}

func TestRepeatedCreateIsIdempotent(t *testing.T) {
	h := newHost(t)
	req := driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "7"}, IPv4: subnet()}
	for i := 0; i < 2; i++ {
		if err := h.driver.CreateNetwork(t.Context(), req); err != nil {
			t.Fatalf("CreateNetwork #%d: %v", i+1, err)
		}
	}
	other := req
	other.NetworkID = "ffff"
	if err := h.driver.CreateNetwork(t.Context(), other); err == nil || !strings.Contains(err.Error(), "VxlanId 7") {
		t.Fatalf("same VNI twice = %v, want a VxlanId conflict", err)
	}
	if len(h.owned(t)) != 2 {
		t.Fatalf("owned links = %v, want one bridge and one vxlan", h.owned(t))
	}
}

func TestVxlanMTUTooLargeIsRefused(t *testing.T) {
	h := newHost(t)
	err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{
		NetworkID: netID, Options: map[string]string{"VxlanId": "7", "vxlanMTU": "1500"}, IPv4: subnet(),
	})
	if err == nil || !strings.Contains(err.Error(), "vxlanMTU") {
		t.Fatalf("vxlanMTU above underlay-50 = %v, want an error naming vxlanMTU", err)
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("refused create left links: %v", o)
	}
}

func TestAbandonedRequestLeavesNothing(t *testing.T) {
	h := newHost(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Docker timed out while the request waited for the lock
	err := h.driver.CreateNetwork(ctx, driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "7"}, IPv4: subnet()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateNetwork with an expired context = %v, want context.Canceled", err)
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("abandoned create left links: %v", o)
	}
	// The network was not recorded: a real create with the same VNI works.
	create(t, h, "other", map[string]string{"VxlanId": "7"}, subnet()...)
}

func TestEmptyStoreKeepsMarkedLinks(t *testing.T) {
	h := newHost(t)
	h.ns.Must(t, "ip", "link", "add", "vxbr-lost", "type", "bridge")
	h.ns.Must(t, "ip", "link", "set", "vxbr-lost", "alias", "docker-vxlan-plugin/vxlan/bridge/lost")
	for i := 0; i < 2; i++ { // not only on the first start
		rep, err := h.driver.Reconcile()
		if err != nil || rep.Kept != 1 || rep.Removed != 0 || !h.kernel.Exists("vxbr-lost") {
			t.Fatalf("Reconcile #%d with an empty store = %+v, %v; want the marked link kept", i+1, rep, err)
		}
	}
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	rep, err := h.driver.Reconcile()
	if err != nil || rep.Removed != 1 || h.kernel.Exists("vxbr-lost") {
		t.Fatalf("Reconcile with a recorded network = %+v, %v; want the orphan removed", rep, err)
	}
}

func TestEndpointOfAnotherNetworkIsUnknown(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	create(t, h, "other", map[string]string{"VxlanId": "8"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	attach(t, h, "ep1", "198.51.100.11/24")
	if _, err := h.driver.Join(t.Context(), "other", "ep1"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Join on the wrong network = %v, want ErrNotFound", err)
	}
	if _, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: "other", EndpointID: "ep1"}); err == nil {
		t.Error("CreateEndpoint reused an endpoint ID of another network")
	}
	if err := h.driver.DeleteEndpoint(t.Context(), "other", "ep1"); err != nil {
		t.Errorf("DeleteEndpoint on the wrong network = %v, want success", err)
	}
	if !h.kernel.Exists("vxve-ep1") {
		t.Error("DeleteEndpoint on the wrong network deleted the endpoint")
	}
}

// cancellingKernel is the real kernel, but Docker gives up on the request
// (its context ends) while the links are being made.
type cancellingKernel struct {
	*links.Kernel
	cancel context.CancelFunc
}

func (k cancellingKernel) EnsureVxlanLink(s links.VxlanSpec) error {
	defer k.cancel()
	return k.Kernel.EnsureVxlanLink(s)
}

func (k cancellingKernel) EnsureVeth(s links.VethSpec) error {
	defer k.cancel()
	return k.Kernel.EnsureVeth(s)
}

func TestRequestAbandonedMidwayIsRolledBack(t *testing.T) {
	h := newHost(t)
	ctx, cancel := context.WithCancel(t.Context())
	d := driver.New(driver.Config{}, cancellingKernel{h.kernel, cancel}, h.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := d.CreateNetwork(ctx, driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "7"}, IPv4: subnet()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateNetwork abandoned midway = %v, want context.Canceled", err)
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("abandoned create left links: %v", o)
	}

	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	ctx, cancel = context.WithCancel(t.Context())
	d = driver.New(driver.Config{}, cancellingKernel{h.kernel, cancel}, h.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err = d.CreateEndpoint(ctx, driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateEndpoint abandoned midway = %v, want context.Canceled", err)
	}
	if h.kernel.Exists("vxve-ep1") {
		t.Fatal("abandoned CreateEndpoint left its veth")
	}
	teardown(t, h)
}

func TestInspectReportsMismatches(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	attach(t, h, "ep1", "198.51.100.11/24")
	rep, err := h.driver.Inspect(t.Context())
	if err != nil || !rep.Consistent() || len(rep.Networks) != 1 || len(rep.Endpoints) != 1 {
		t.Fatalf("Inspect of a healthy host = %+v, %v", rep, err)
	}
	h.ns.Must(t, "ip", "link", "del", "vxlan-0a1b2c3d4")
	h.ns.Must(t, "ip", "link", "add", "vxbr-stray", "type", "bridge")
	h.ns.Must(t, "ip", "link", "set", "vxbr-stray", "alias", "docker-vxlan-plugin/vxlan/bridge/stray")
	rep, err = h.driver.Inspect(t.Context())
	if err != nil || rep.Consistent() {
		t.Fatalf("Inspect after damage = %+v, %v; want inconsistent", rep, err)
	}
	states := map[string]links.State{}
	for _, l := range rep.Networks[0].Links {
		states[l.Name] = l.State
	}
	if states["vxlan-0a1b2c3d4"] != links.StateMissing || states["vxbr-0a1b2c3d4e"] != links.StateOK {
		t.Errorf("link states = %v", states)
	}
	if len(rep.Orphans) != 1 || rep.Orphans[0] != "vxbr-stray" {
		t.Errorf("orphans = %v, want vxbr-stray", rep.Orphans)
	}
	if !h.kernel.Exists("vxbr-stray") {
		t.Error("Inspect changed the kernel")
	}
}

// expiringKernel answers with a timeout (as the protocol does at 25 s) while
// the veth or bridge is being made, before the driver records anything.
type expiringKernel struct {
	*links.Kernel
	gate *request.Gate
}

func (k expiringKernel) EnsureBridge(s links.BridgeSpec) error {
	k.gate.Expire()
	return k.Kernel.EnsureBridge(s)
}

func (k expiringKernel) EnsureVeth(s links.VethSpec) error {
	k.gate.Expire()
	return k.Kernel.EnsureVeth(s)
}

// The timeout answer and the record are decided once: a request that was
// answered "timed out" records nothing and leaves no link, even though its
// context was never cancelled.
func TestTimedOutRequestRecordsNothing(t *testing.T) {
	h := newHost(t)
	ctx, gate := request.WithGate(t.Context())
	d := driver.New(driver.Config{}, expiringKernel{h.kernel, gate}, h.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := d.CreateNetwork(ctx, driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "7"}, IPv4: subnet()})
	if !errors.Is(err, request.ErrTimedOut) {
		t.Fatalf("CreateNetwork answered as timed out = %v, want ErrTimedOut", err)
	}
	if o := h.owned(t); len(o) != 0 {
		t.Fatalf("timed-out create left links: %v", o)
	}
	if rep, _ := h.driver.Inspect(t.Context()); len(rep.Networks) != 0 {
		t.Fatalf("timed-out create was recorded: %+v", rep.Networks)
	}

	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...) // positive control
	ctx, gate = request.WithGate(t.Context())
	d = driver.New(driver.Config{}, expiringKernel{h.kernel, gate}, h.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := d.CreateEndpoint(ctx, driver.CreateEndpointRequest{NetworkID: netID, EndpointID: "ep1"}); !errors.Is(err, request.ErrTimedOut) {
		t.Fatalf("CreateEndpoint answered as timed out = %v, want ErrTimedOut", err)
	}
	if h.kernel.Exists("vxve-ep1") {
		t.Fatal("timed-out CreateEndpoint left its veth")
	}
	teardown(t, h)
}

// macOf is the address of the link called name in ns.
func macOf(t *testing.T, ns *netnstest.NS, name string) string {
	t.Helper()
	f := strings.Fields(ns.Must(t, "ip", "-o", "link", "show", "dev", name))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no address on %s: %v", name, f)
	return ""
}

// A bridge left to the kernel takes its lowest port's address; a container
// whose host end has a lower one would change the gateway's MAC under the
// running containers. The bridge keeps the address it was created with.
func TestBridgeKeepsItsAddressAsPortsComeAndGo(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	br := "vxbr-0a1b2c3d4e"
	before := macOf(t, h.ns, br)
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	assertPing(t, c1, "198.51.100.1")
	c2 := attach(t, h, "ep2", "198.51.100.12/24")
	var low string
	for _, o := range h.owned(t) {
		if o.Mark.Role == links.RoleEndpoint && o.Mark.ID == "ep2" {
			low = o.Name
		}
	}
	h.ns.Must(t, "ip", "link", "set", "dev", low, "address", "02:00:00:00:00:01")
	if after := macOf(t, h.ns, br); after != before {
		t.Fatalf("bridge address changed from %s to %s when a port with a lower one came", before, after)
	}
	assertPing(t, c1, "198.51.100.1")
	assertPing(t, c2, "198.51.100.1")
	teardown(t, h, "ep1", "ep2")
}

// A network recorded before the driver chose bridge addresses gets the one
// its bridge has now, fixed: running containers keep their gateway's MAC.
func TestRestartPinsTheAddressOfAnOlderBridge(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	var veth string
	for _, o := range h.owned(t) {
		if o.Mark.Role == links.RoleEndpoint {
			veth = o.Name
		}
	}
	h.stop()
	// What an older plugin left: a record without the address, and a bridge
	// whose address the kernel chose (and would change).
	var rec map[string]any
	st, err := store.Open(h.state)
	if err != nil {
		t.Fatal(err)
	}
	if found, err := st.Get("networks", netID, &rec); err != nil || !found {
		t.Fatalf("network record: found=%v err=%v", found, err)
	}
	delete(rec, "BridgeMAC")
	if err := st.Put("networks", netID, rec); err != nil {
		t.Fatal(err)
	}
	st.Close()
	br, vx := "vxbr-0a1b2c3d4e", "vxlan-0a1b2c3d4"
	h.ns.Must(t, "ip", "link", "del", br)
	h.ns.Must(t, "ip", "link", "add", br, "type", "bridge")
	h.ns.Must(t, "ip", "link", "set", br, "alias", "docker-vxlan-plugin/vxlan/bridge/"+netID)
	h.ns.Must(t, "ip", "link", "set", vx, "master", br)
	h.ns.Must(t, "ip", "link", "set", veth, "master", br)
	h.ns.Must(t, "ip", "addr", "add", "198.51.100.1/24", "dev", br)
	h.ns.Must(t, "ip", "link", "set", br, "up")
	before := macOf(t, h.ns, br)

	h.start(t)
	if got := macOf(t, h.ns, br); got != before {
		t.Fatalf("restart changed the bridge address from %s to %s", before, got)
	}
	h.ns.Must(t, "ip", "link", "set", "dev", veth, "address", "02:00:00:00:00:01")
	if got := macOf(t, h.ns, br); got != before {
		t.Fatalf("bridge address changed from %s to %s after the restart pinned it", before, got)
	}
	assertPing(t, c1, "198.51.100.1")
	teardown(t, h, "ep1")
}

// A veth whose host end is gone has cut its container off: inspect says so.
func TestInspectReportsAMissingHostEnd(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	attach(t, h, "ep1", "198.51.100.11/24")
	var veth string
	for _, o := range h.owned(t) {
		if o.Mark.Role == links.RoleEndpoint {
			veth = o.Name
		}
	}
	h.ns.Must(t, "ip", "link", "del", veth)
	rep, err := h.driver.Inspect(t.Context())
	if err != nil || rep.Consistent() || len(rep.Endpoints) != 1 || rep.Endpoints[0].Link.State != links.StateMissing {
		t.Fatalf("Inspect with the endpoint's veth gone = %+v, %v; want inconsistent, the link missing", rep, err)
	}
}

// failingDeleteKernel fails to delete links.
type failingDeleteKernel struct{ *links.Kernel }

func (failingDeleteKernel) DeleteOwned(string, links.Role, string) error {
	return errors.New("injected: delete failed")
}

// DeleteEndpoint forgets the record before it deletes the link: what a
// failure (or a crash) in between leaves is an orphan link, which the next
// start removes, not a record of an endpoint Docker has forgotten.
func TestDeleteEndpointForgetsTheRecordFirst(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	attach(t, h, "ep1", "198.51.100.11/24")
	h.stop()
	h.wrap = func(k *links.Kernel, s *store.Store) (driver.Kernel, driver.Store) { return failingDeleteKernel{k}, s }
	h.start(t)
	if err := h.driver.DeleteEndpoint(t.Context(), netID, "ep1"); err == nil {
		t.Fatal("DeleteEndpoint succeeded with the kernel failing")
	}
	rep, err := h.driver.Inspect(t.Context())
	if err != nil || len(rep.Endpoints) != 0 || len(rep.Orphans) != 1 {
		t.Fatalf("after a failed link delete: endpoints %+v, orphans %v, %v; want no record and one orphan", rep.Endpoints, rep.Orphans, err)
	}
	h.stop()
	h.wrap = nil
	h.start(t)
	if rep, err := h.driver.Inspect(t.Context()); err != nil || !rep.Consistent() || len(rep.Orphans) != 0 {
		t.Fatalf("after a restart: %+v, %v; want the orphan removed", rep, err)
	}
	teardown(t, h)
}
