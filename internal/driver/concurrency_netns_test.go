package driver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// atOnce runs do(0..n-1) in n goroutines released together, and returns
// their errors by index.
func atOnce(n int, do func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = do(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// mustAll fails the test with every error of errs.
func mustAll(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s #%d: %v", what, i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// underlayHost is a host under Docker's firewall with an underlay towards
// the peer of peeredNet networks.
func underlayHost(t *testing.T) *host {
	t.Helper()
	h := &host{ns: netnstest.New(t), state: t.TempDir() + "/state.db"}
	dockerFirewall(t, h)
	netnstest.Link(t, h.ns, "u1", "192.0.2.1/24", netnstest.New(t), "u2", "192.0.2.2/24")
	h.start(t)
	return h
}

// createAndJoin does Docker's CreateEndpoint and Join for endpoint j of
// network i, with address host in its subnet.
func createAndJoin(ctx context.Context, d *driver.Driver, i peeredNet, j, host int) error {
	req := driver.CreateEndpointRequest{NetworkID: i.id(), EndpointID: i.endpoint(j), Address: netip.MustParsePrefix(i.addr(host))}
	if _, err := d.CreateEndpoint(ctx, req); err != nil {
		return err
	}
	_, err := d.Join(ctx, i.id(), i.endpoint(j))
	return err
}

// Fifty networks created at once, then fifty endpoints at once on one of
// them and fifty at once one per network, all deleted at once: every
// request succeeds, every link is where it belongs, traffic flows, and
// nothing is left.
func TestFiftyRequestsAtOnce(t *testing.T) {
	const n = 50
	h := underlayHost(t)
	mustAll(t, "CreateNetwork", atOnce(n, func(i int) error {
		return h.driver.CreateNetwork(t.Context(), peeredNet(i).request())
	}))
	one := peeredNet(0)
	mustAll(t, "CreateEndpoint and Join on one network", atOnce(n, func(j int) error {
		return createAndJoin(t.Context(), h.driver, one, j, 10+j)
	}))
	mustAll(t, "CreateEndpoint and Join on fifty networks", atOnce(n, func(i int) error {
		return createAndJoin(t.Context(), h.driver, peeredNet(i), n, 200)
	}))

	if nets, eps := h.driver.Counts(); nets != n || eps != 2*n {
		t.Fatalf("driver holds %d networks and %d endpoints; want %d and %d", nets, eps, n, 2*n)
	}
	if ports := h.ns.Must(t, "ip", "-o", "link", "show", "master", one.bridge()); strings.Count(ports, "\n") != n+2 {
		t.Errorf("bridge %s has %d ports; want %d veths and the vxlan link:\n%s", one.bridge(), strings.Count(ports, "\n"), n+1, ports)
	}
	for i := range peeredNet(n) {
		want := []string{i.vxlan(), "vxve-" + i.endpoint(n)[:10]}
		if i == one {
			continue
		}
		if ports := h.ns.Must(t, "ip", "-o", "link", "show", "master", i.bridge()); !containsAll(ports, want) || strings.Count(ports, "\n") != 2 {
			t.Errorf("bridge %s ports:\n%s\nwant exactly %v", i.bridge(), ports, want)
		}
	}
	if rep, err := h.driver.Inspect(t.Context()); err != nil || !rep.Consistent() {
		t.Fatalf("Inspect after the concurrent requests: %v, consistent %v", err, rep.Consistent())
	}
	// Traffic between two of the fifty on one network, and to the gateway
	// from one of another network.
	c := moveIn(t, h, one, 0, 10)
	moveIn(t, h, one, n-1, 10+n-1)
	assertPing(t, c, strings.TrimSuffix(one.addr(10+n-1), "/24"))
	assertPing(t, moveIn(t, h, peeredNet(n-1), n, 200), strings.TrimSuffix(peeredNet(n-1).addr(1), "/24"))

	mustAll(t, "DeleteEndpoint", atOnce(2*n, func(k int) error {
		if k < n {
			return h.driver.DeleteEndpoint(t.Context(), one.id(), one.endpoint(k))
		}
		i := peeredNet(k - n)
		return h.driver.DeleteEndpoint(t.Context(), i.id(), i.endpoint(n))
	}))
	mustAll(t, "DeleteNetwork", atOnce(n, func(i int) error {
		return h.driver.DeleteNetwork(t.Context(), peeredNet(i).id())
	}))
	if o := h.owned(t); len(o) != 0 {
		t.Errorf("links left after the concurrent deletes: %v", o)
	}
	if rules := h.ns.Must(t, "nft", "list", "ruleset"); strings.Contains(rules, "VXLAN-PLUGIN") {
		t.Errorf("firewall exception outlived the networks:\n%s", rules)
	}
}

// moveIn does what Docker does after Join: moves endpoint j of network i
// into a fresh container namespace with its address.
func moveIn(t *testing.T, h *host, i peeredNet, j, host int) *netnstest.NS {
	t.Helper()
	c := netnstest.New(t)
	netnstest.MoveLink(t, h.ns, "vxct-"+i.endpoint(j)[:10], c, "eth0", i.addr(host))
	c.Must(t, "ip", "route", "add", "default", "via", strings.TrimSuffix(i.addr(1), "/24"))
	return c
}

func containsAll(s string, subs []string) bool {
	return !slices.ContainsFunc(subs, func(sub string) bool { return !strings.Contains(s, sub) })
}

// Networks created at once that would clash: exactly one of each group
// wins, the others are refused naming what clashes, and they leave no link.
func TestClashingNetworksAtOnce(t *testing.T) {
	const n = 10
	h := underlayHost(t)
	for g, clash := range []struct {
		what string
		opts func(i int) map[string]string
	}{
		{"VxlanId 4000", func(int) map[string]string { return map[string]string{"VxlanId": "4000"} }},
		{"bridgeName br-shared", func(i int) map[string]string {
			return map[string]string{"VxlanId": fmt.Sprint(5000 + i), "bridgeName": "br-shared"}
		}},
	} {
		errs := atOnce(n, func(i int) error {
			req := peeredNet(100*(g+1) + i).request()
			req.Options = clash.opts(i)
			return h.driver.CreateNetwork(t.Context(), req)
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !strings.Contains(err.Error(), clash.what):
				t.Errorf("a clashing create failed for another reason: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d networks with the same %s were created; want 1", won, n, clash.what)
		}
	}
	if o := h.owned(t); len(o) != 4 {
		t.Errorf("owned links = %v; want the two winners' bridges and vxlan links", o)
	}
}

// hangingKernel is the real kernel, except that, once armed, making an
// endpoint's veth on one bridge hangs until released: a netlink call that
// does not return.
type hangingKernel struct {
	*links.Kernel
	bridge  string
	armed   atomic.Bool
	entered chan struct{} // a call is hanging
	release chan struct{} // closed: hanging calls go on
}

func (k *hangingKernel) EnsureVeth(s links.VethSpec) error {
	if k.armed.Load() && s.Bridge == k.bridge {
		k.entered <- struct{}{}
		<-k.release
	}
	return k.Kernel.EnsureVeth(s)
}

// A request stuck in the kernel on network A holds up A's other requests
// until their callers give up (and they then leave nothing), and nothing
// else: requests on network B, new networks, Join and inspect, the
// firewall check, and a swarm node notice, which reaches A once A's
// request is done.
func TestStuckKernelCallStallsOnlyItsNetwork(t *testing.T) {
	a, b, c := peeredNet(0), peeredNet(1), peeredNet(2)
	hk := &hangingKernel{bridge: a.bridge(), entered: make(chan struct{}), release: make(chan struct{})}
	h := &host{ns: netnstest.New(t), state: t.TempDir() + "/state.db"}
	h.wrap = func(k *links.Kernel, s *store.Store) (driver.Kernel, driver.Store) {
		hk.Kernel = k
		return hk, s
	}
	dockerFirewall(t, h)
	netnstest.Link(t, h.ns, "u1", "192.0.2.1/24", netnstest.New(t), "u2", "192.0.2.2/24")
	h.start(t)
	released := false
	release := func() {
		if !released {
			released = true
			close(hk.release)
		}
	}
	t.Cleanup(release)
	for _, i := range []peeredNet{a, b} {
		create(t, h, i.id(), i.request().Options, i.request().IPv4...)
	}
	if err := createAndJoin(t.Context(), h.driver, a, 0, 10); err != nil {
		t.Fatal(err)
	}

	hk.armed.Store(true)
	stuck := make(chan error, 1)
	go func() { stuck <- createAndJoin(context.Background(), h.driver, a, 1, 11) }()
	<-hk.entered

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a bound, not a measure: B must not wait for A
	defer cancel()
	if err := createAndJoin(ctx, h.driver, b, 0, 10); err != nil {
		t.Fatalf("CreateEndpoint on network B while A is stuck: %v", err)
	}
	if err := h.driver.CreateNetwork(ctx, c.request()); err != nil {
		t.Fatalf("CreateNetwork while A is stuck: %v", err)
	}
	if _, err := h.driver.Join(ctx, a.id(), a.endpoint(0)); err != nil {
		t.Errorf("Join of A's earlier endpoint while A is stuck: %v", err)
	}
	if rep, err := h.driver.Inspect(ctx); err != nil || len(rep.Networks) != 3 {
		t.Errorf("Inspect while A is stuck: %d networks, %v", len(rep.Networks), err)
	}
	if err := h.driver.SyncFirewall(ctx); err != nil {
		t.Errorf("firewall check while A is stuck: %v", err)
	}

	// A's other requests wait for it until their callers give up.
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if err := createAndJoin(short(), h.driver, a, 2, 12); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateEndpoint on A while A is stuck = %v; want the caller's deadline", err)
	}
	if err := h.driver.DeleteEndpoint(short(), a.id(), a.endpoint(0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeleteEndpoint on A while A is stuck = %v; want the caller's deadline", err)
	}

	// A swarm node joins: B's flood list takes it at once, A's once A is free.
	node := driver.NodeDiscovery{Address: "192.0.2.77"}
	if err := h.driver.DiscoverNew(short(), node); err != nil {
		t.Fatalf("DiscoverNew while A is stuck: %v", err)
	}
	if !floodsTo(t, h, b.vxlan(), node.Address) {
		t.Errorf("B's flood list lacks the new node while A is stuck")
	}
	if floodsTo(t, h, a.vxlan(), node.Address) {
		t.Fatal("A's flood list changed while A's request held it")
	}

	release()
	if err := <-stuck; err != nil {
		t.Fatalf("the stuck CreateEndpoint, released: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); !floodsTo(t, h, a.vxlan(), node.Address); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the node notice never reached A's flood list")
		}
	}
	if _, err := h.driver.Join(t.Context(), a.id(), a.endpoint(2)); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("the abandoned endpoint was recorded: Join = %v", err)
	}
	if h.kernel.Exists("vxve-" + a.endpoint(2)[:10]) {
		t.Error("the abandoned endpoint left its veth")
	}
	if _, err := h.driver.Join(t.Context(), a.id(), a.endpoint(0)); err != nil {
		t.Errorf("the endpoint whose delete was abandoned is gone: %v", err)
	}
	if nets, eps := h.driver.Counts(); nets != 3 || eps != 3 {
		t.Errorf("driver holds %d networks and %d endpoints; want 3 and 3", nets, eps)
	}
}

// floodsTo reports whether the vxlan link's flood list holds ip.
func floodsTo(t *testing.T, h *host, vxlan, ip string) bool {
	t.Helper()
	peers, err := h.kernel.FloodPeers(vxlan)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(peers, net.ParseIP(ip).Equal)
}
