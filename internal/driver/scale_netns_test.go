package driver_test

import (
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// peeredNet is the i-th network of the per-request cost tests: a VXLAN
// segment in bridge mode flooding to one peer across a real underlay, the
// host its gateway (an address per network), each with its own /24 in
// 10.64.0.0/10.
type peeredNet int

func (i peeredNet) id() string { return fmt.Sprintf("%09x", int(i)+1) + strings.Repeat("f", 55) }

func (i peeredNet) vxlan() string { return "vxlan-" + i.id()[:9] }

func (i peeredNet) bridge() string { return "vxbr-" + i.id()[:10] }

func (i peeredNet) addr(host int) string {
	return fmt.Sprintf("10.%d.%d.%d/24", 64+int(i)/256, int(i)%256, host)
}

func (i peeredNet) request() driver.CreateNetworkRequest {
	pool := fmt.Sprintf("10.%d.%d.0/24", 64+int(i)/256, int(i)%256)
	return driver.CreateNetworkRequest{
		NetworkID: i.id(), IPv4: []driver.Subnet{sub(pool, i.addr(1))},
		Options: map[string]string{"VxlanId": fmt.Sprint(int(i) + 1), "Peers": "192.0.2.2"},
	}
}

func (i peeredNet) endpoint(j int) string {
	return fmt.Sprintf("e%03d%06x", j, int(i)) + strings.Repeat("c", 54) // link names keep 10 characters
}

// scaleHost is a host under Docker's firewall with an underlay towards the
// networks' peer, whose driver counts its kernel and store calls.
func scaleHost(t *testing.T) (*host, *countingKernel, *countingStore) {
	t.Helper()
	h := &host{ns: netnstest.New(t), state: t.TempDir() + "/state.db"}
	dockerFirewall(t, h)
	netnstest.Link(t, h.ns, "u1", "192.0.2.1/24", netnstest.New(t), "u2", "192.0.2.2/24")
	k, s := counting(h)
	h.start(t)
	return h, k, s
}

// grow creates networks from..to-1 with two endpoints each.
func grow(t *testing.T, h *host, from, to int) {
	t.Helper()
	for i := peeredNet(from); i < peeredNet(to); i++ {
		if err := h.driver.CreateNetwork(t.Context(), i.request()); err != nil {
			t.Fatalf("network %d: %v", i, err)
		}
		for j := range 2 {
			req := driver.CreateEndpointRequest{NetworkID: i.id(), EndpointID: i.endpoint(j), Address: netip.MustParsePrefix(i.addr(10 + j))}
			if _, err := h.driver.CreateEndpoint(t.Context(), req); err != nil {
				t.Fatalf("endpoint %d of network %d: %v", j, i, err)
			}
		}
	}
}

// requestCosts runs one network's life through the driver: create it, an
// endpoint created, joined and deleted, the network deleted. It returns
// each request's calls to the kernel and the store.
func requestCosts(t *testing.T, h *host, k *countingKernel, s *countingStore, i peeredNet) map[string]map[string]int {
	t.Helper()
	costs := map[string]map[string]int{}
	step := func(name string, do func() error) {
		k.calls.take()
		s.calls.take()
		if err := do(); err != nil {
			t.Fatalf("%s on network %d: %v", name, i, err)
		}
		c := map[string]int{}
		for m, n := range k.calls.take() {
			c["kernel "+m] = n
		}
		for m, n := range s.calls.take() {
			c["store "+m] = n
		}
		costs[name] = c
	}
	ep := i.endpoint(0)
	step("CreateNetwork", func() error { return h.driver.CreateNetwork(t.Context(), i.request()) })
	step("CreateEndpoint", func() error {
		_, err := h.driver.CreateEndpoint(t.Context(), driver.CreateEndpointRequest{NetworkID: i.id(), EndpointID: ep, Address: netip.MustParsePrefix(i.addr(10))})
		return err
	})
	step("Join", func() error { _, err := h.driver.Join(t.Context(), i.id(), ep); return err })
	step("EndpointInfo", func() error { _, err := h.driver.EndpointInfo(t.Context(), i.id(), ep); return err })
	step("DeleteEndpoint", func() error { return h.driver.DeleteEndpoint(t.Context(), i.id(), ep) })
	step("DeleteNetwork", func() error { return h.driver.DeleteNetwork(t.Context(), i.id()) })
	return costs
}

// The work a request does is the same with 10 networks and with 1000 (and
// 2000 endpoints): the same kernel calls, each about one link, and no
// store read at all. Then a restart over that intact kernel writes nothing
// (not a link, address, route, FDB entry or firewall element), while a
// restart over a damaged one restores exactly what was damaged.
func TestPerRequestWorkDoesNotGrowAndRestartWritesNothing(t *testing.T) {
	const small, large = 10, 1000
	h, k, s := scaleHost(t)
	grow(t, h, 0, small)
	atSmall := requestCosts(t, h, k, s, peeredNet(large+1))
	start := time.Now()
	grow(t, h, small, large)
	t.Logf("%d more networks, %d more endpoints created in %v", large-small, 2*(large-small), time.Since(start).Round(time.Millisecond))
	atLarge := requestCosts(t, h, k, s, peeredNet(large+1))
	for _, op := range slices.Sorted(maps.Keys(atSmall)) {
		if !maps.Equal(atSmall[op], atLarge[op]) {
			t.Errorf("%s at %d networks: %v\nat %d networks: %v", op, small, atSmall[op], large, atLarge[op])
		}
		// Reads that grow: the store, the kernel's links, the whole
		// firewall (Docker's own rules included).
		for _, read := range []string{"store Get", "store List", "kernel Snapshot", "kernel AllowForward/add", "kernel AllowForward/exact"} {
			if atLarge[op][read] > 0 {
				t.Errorf("%s calls %s %d times; want none", op, read, atLarge[op][read])
			}
		}
	}
	t.Logf("calls per request at %d and at %d networks: %v", small, large, atLarge)

	restartIntact(t, h, k, s, large)
	restartDamaged(t, h, k, large)

	// The data path of a network after the restarts.
	mid := peeredNet(large / 2)
	c := attachTo(t, h, mid.id(), "probe-a", mid.addr(21))
	attachTo(t, h, mid.id(), "probe-b", mid.addr(22))
	assertPing(t, c, strings.TrimSuffix(mid.addr(22), "/24"))
	assertPing(t, c, strings.TrimSuffix(mid.addr(1), "/24"))
}

// restartIntact restarts the driver over an intact kernel: one snapshot,
// the firewall compared, and not one write.
func restartIntact(t *testing.T, h *host, k *countingKernel, s *countingStore, networks int) {
	t.Helper()
	settle(t, h.ns)
	h.stop()
	k.calls.take()
	s.calls.take()
	var rep driver.ReconcileReport
	var took time.Duration
	changes := kernelWrites(t, h.ns, func() {
		start := time.Now()
		rep = h.start(t)
		took = time.Since(start)
	})
	t.Logf("restart over %d networks and %d endpoints: reconciled in %v (%+v)", networks, 2*networks, took.Round(time.Millisecond), rep)
	if rep.Intact != networks || rep.Ensured != 0 || rep.Failed != 0 || rep.Removed != 0 {
		t.Errorf("reconcile over an intact kernel = %+v; want all %d intact", rep, networks)
	}
	if len(changes) > 0 {
		t.Errorf("restart over an intact kernel changed it:\n%s", strings.Join(changes, "\n"))
	}
	calls := k.calls.take()
	for m, n := range calls {
		if writes[m] {
			t.Errorf("restart over an intact kernel called %s %d times", m, n)
		}
	}
	if calls["Snapshot"] != 1 || calls["AllowForward/exact"] != 1 {
		t.Errorf("restart kernel calls = %v; want one snapshot and one firewall comparison", calls)
	}
	if st := s.calls.take(); st["List"] != 4 || st["Get"] != 0 || st["Put"]+st["Delete"] != 0 {
		t.Errorf("restart store calls = %v; want each of the 4 buckets listed once, nothing written", st)
	}
}

// restartDamaged damages four networks while the plugin is down, one way
// each, and checks that a restart restores those four and writes to no
// other.
func restartDamaged(t *testing.T, h *host, k *countingKernel, networks int) {
	t.Helper()
	h.stop()
	vx, fdb, gw, down := peeredNet(5), peeredNet(7), peeredNet(9), peeredNet(11)
	h.ns.Must(t, "ip", "link", "del", vx.vxlan())
	h.ns.Must(t, "bridge", "fdb", "del", "00:00:00:00:00:00", "dev", fdb.vxlan(), "dst", "192.0.2.2")
	h.ns.Must(t, "ip", "addr", "del", gw.addr(1), "dev", gw.bridge())
	h.ns.Must(t, "ip", "link", "set", down.bridge(), "down")
	k.calls.take()
	var rep driver.ReconcileReport
	changes := strings.Join(kernelWrites(t, h.ns, func() { rep = h.start(t) }), "\n")
	for _, want := range []string{"link " + vx.vxlan() + " added", "link " + down.bridge() + " was", "192.0.2.2 dev " + fdb.vxlan(), gw.addr(1)} {
		if !strings.Contains(changes, want) { // the watch sees writes: it is not blind
			t.Errorf("the restart's changes lack %q:\n%s", want, changes)
		}
	}
	if rep.Ensured != 4 || rep.Intact != networks-4 || rep.Failed != 0 {
		t.Errorf("reconcile over four damaged networks = %+v; want 4 ensured, %d intact", rep, networks-4)
	}
	if c := k.calls.take(); c["EnsureBridge"] != 4 || c["EnsureVxlanLink"] != 4 || c["AddAddrs"] != 4 {
		t.Errorf("restart kernel calls = %v; want the four damaged networks ensured, no other", c)
	}
	if !h.kernel.Exists(vx.vxlan()) {
		t.Errorf("vxlan link %s not restored", vx.vxlan())
	}
	if out := h.ns.Must(t, "bridge", "fdb", "show", "dev", fdb.vxlan()); !strings.Contains(out, "00:00:00:00:00:00 dst 192.0.2.2") {
		t.Errorf("flood entry of %s not restored:\n%s", fdb.vxlan(), out)
	}
	if out := h.ns.Must(t, "ip", "-o", "addr", "show", "dev", gw.bridge()); !strings.Contains(out, gw.addr(1)) {
		t.Errorf("gateway address of %s not restored:\n%s", gw.bridge(), out)
	}
	if out := h.ns.Must(t, "ip", "-o", "link", "show", down.bridge()); !strings.Contains(out, ",UP") {
		t.Errorf("bridge %s not set up again:\n%s", down.bridge(), out)
	}
}

// settle waits until no IPv6 address of the namespace is still tentative:
// the kernel's duplicate address detection would change addresses while
// kernelWrites watches.
func settle(t *testing.T, ns *netnstest.NS) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out := ns.Must(t, "ip", "-6", "-o", "addr", "show", "tentative")
		if strings.TrimSpace(out) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("IPv6 addresses still tentative after 30s:\n%s", out)
		}
	}
}

// kernelWrites returns the changes made in ns while fn runs: to links
// (every attribute `ip -d link` shows, ifindex included, compared before
// and after: the kernel also announces links whose IPv6 state it changed
// itself), and to addresses, routes, permanent neighbour and FDB entries
// and nftables, as the kernel announces them to `ip monitor` and `nft
// monitor`. A sentinel veth pair brackets fn, so an announcement is
// neither missed nor misattributed.
func kernelWrites(t *testing.T, ns *netnstest.NS, fn func()) []string {
	t.Helper()
	var out lockedBuffer
	mon := exec.Command("ip", "netns", "exec", ns.Name, "ip", "-o", "monitor", "link", "address", "route", "neigh")
	mon.Stdout, mon.Stderr = &out, &out
	if err := mon.Start(); err != nil {
		t.Fatalf("ip monitor: %v", err)
	}
	defer func() { _ = mon.Process.Kill(); _ = mon.Wait() }()
	sentinel := func(name string) {
		for attempt := 0; !strings.Contains(out.String(), name); attempt++ {
			if attempt == 20 {
				t.Fatalf("ip monitor never reported the sentinel link %s:\n%s", name, out.String())
			}
			ns.Must(t, "ip", "link", "add", name, "type", "veth", "peer", "name", name+"p") // no FDB entry of its own
			ns.Must(t, "ip", "link", "del", name)
			for wait := time.Now().Add(time.Second); time.Now().Before(wait) && !strings.Contains(out.String(), name); {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	sentinel("dvptmark0")
	before := linkDetails(t, ns)
	nft := nftWrites(t, ns, fn)
	after := linkDetails(t, ns)
	sentinel("dvptmark1")
	text := out.String()
	from := strings.LastIndex(text, "dvptmark0")
	to := strings.LastIndex(text[:strings.Index(text, "dvptmark1")], "\n") // the start of its first line
	var changes []string
	for _, line := range strings.Split(text[from:to], "\n")[1:] {
		switch line = strings.TrimSpace(line); {
		case line == "", strings.Contains(line, "link/"): // links: compared below
		case strings.Contains(line, "lladdr") && !strings.Contains(line, "PERMANENT"): // resolved or aged by the kernel
		default:
			changes = append(changes, line)
		}
	}
	for name, b := range before {
		if a := after[name]; a != b {
			changes = append(changes, fmt.Sprintf("link %s was\n\t%s\nis\n\t%s", name, b, a))
		}
	}
	for name, a := range after {
		if _, ok := before[name]; !ok {
			changes = append(changes, fmt.Sprintf("link %s added:\n\t%s", name, a))
		}
	}
	return append(changes, nft...)
}

// timers are the parts of `ip -d link` that change by themselves.
var timers = regexp.MustCompile(`\w+_timer\s+[0-9.]+`)

// linkDetails returns every link of ns as `ip -d -o link` shows it, by name.
func linkDetails(t *testing.T, ns *netnstest.NS) map[string]string {
	t.Helper()
	links := map[string]string{}
	for _, line := range strings.Split(ns.Must(t, "ip", "-d", "-o", "link", "show"), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			links[strings.TrimSuffix(f[1], ":")] = timers.ReplaceAllString(line, "")
		}
	}
	return links
}
