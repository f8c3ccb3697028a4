package driver_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// iptablesNFT are the iptables commands of the nf_tables backend, the one
// the plugin writes to, whatever the machine's default backend is.
var iptablesNFT = []string{"iptables-nft", "ip6tables-nft"}

// dockerFirewall gives h Docker's firewall as iptables-nft leaves it:
// FORWARD policy DROP behind a DOCKER-USER chain, and bridged traffic sent
// through iptables by br_netfilter. It sets up its own prerequisites.
func dockerFirewall(t testing.TB, h *host) {
	t.Helper()
	for _, ipt := range iptablesNFT {
		if out, err := exec.Command(ipt, "-V").CombinedOutput(); err != nil || !strings.Contains(string(out), "nf_tables") {
			t.Fatalf("%s (the nf_tables backend of iptables) is needed: apt-get install iptables: %v %s", ipt, err, out)
		}
	}
	if _, err := os.Stat("/proc/sys/net/bridge"); err != nil {
		if out, err := exec.Command("modprobe", "br_netfilter").CombinedOutput(); err != nil {
			t.Fatalf("br_netfilter is needed for bridged traffic to meet the firewall: modprobe br_netfilter: %v %s", err, out)
		}
	}
	for _, ipt := range iptablesNFT {
		h.ns.Must(t, ipt, "-P", "FORWARD", "DROP")
		h.ns.Must(t, ipt, "-N", "DOCKER-USER")
		h.ns.Must(t, ipt, "-A", "FORWARD", "-j", "DOCKER-USER")
	}
	h.ns.Must(t, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1")
}

// Docker's firewall (FORWARD policy DROP, bridged traffic sent through
// iptables by br_netfilter) must not cut the plugin's bridges off, nor may
// the plugin's exception jump ahead of the operator's DOCKER-USER rules.
func TestBridgeTrafficPassesDockersForwardPolicy(t *testing.T) {
	h := newHost(t)
	dockerFirewall(t, h)
	create(t, h, netID, map[string]string{"VxlanId": "7", "hostGateway": "false"}, subnet()...)
	req := driver.CreateNetworkRequest{NetworkID: "isolated", Internal: true, IPv4: []driver.Subnet{sub("203.0.113.0/24", "203.0.113.1/24")}}
	if err := h.driver.CreateNetwork(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	c1 := attach(t, h, "ep1", "198.51.100.11/24")
	attach(t, h, "ep2", "198.51.100.12/24")
	assertPing(t, c1, "198.51.100.12")

	for _, ipt := range iptablesNFT {
		want := "-A FORWARD -j DOCKER-USER\n" +
			"-A FORWARD -j VXLAN-PLUGIN-vxlan\n"
		if rules := h.ns.Must(t, ipt, "-S"); !strings.Contains(rules, want) || !strings.Contains(rules, "-j VXLAN-ISO-FROM-vxlan\n") {
			t.Errorf("%s -S lacks, in this order:\n%s\n(and the isolation chains) got:\n%s", ipt, want, rules)
		}
	}
	for _, family := range []string{"ip", "ip6"} {
		open, within := exceptionMaps(t, h, family)
		if !slices.Equal(open, []string{"vxbr-0a1b2c3d4e"}) || !slices.Equal(within, []string{"vxbr-0a1b2c3d4e", "vxbr-isolated"}) {
			t.Errorf("%s maps hold links %v and within %v; want [vxbr-0a1b2c3d4e] and [vxbr-0a1b2c3d4e vxbr-isolated]", family, open, within)
		}
	}

	// A firewall reload drops the exception: traffic stops, and the
	// periodic check (SyncFirewall) brings it back.
	h.ns.Must(t, "iptables-nft", "-F", "VXLAN-PLUGIN-vxlan")
	assertNoPing(t, c1, "198.51.100.12")
	if err := h.driver.SyncFirewall(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertPing(t, c1, "198.51.100.12")

	// The last network gone, the chains, the jump, the maps and the set go too.
	for _, id := range []string{"isolated", netID} {
		if err := h.driver.DeleteNetwork(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if rules := h.ns.Must(t, "nft", "list", "ruleset"); strings.Contains(rules, "VXLAN-") {
		t.Errorf("exception outlived the networks:\n%s", rules)
	}
}

// On a host whose firewall is legacy iptables the plugin cannot write the
// exception: it says so once, not at every network, check, container or
// restart.
func TestLegacyIptablesWarnsOnce(t *testing.T) {
	h := newHost(t)
	for _, ipt := range []string{"iptables-legacy", "ip6tables-legacy"} {
		h.ns.Must(t, ipt, "-P", "FORWARD", "DROP")
	}
	var logs lockedBuffer
	h.driver = driver.New(driver.Config{}, h.kernel, h.store, slog.New(slog.NewTextHandler(&logs, nil)))
	create(t, h, netID, map[string]string{"VxlanId": "7", "hostGateway": "false"}, subnet()...)
	create(t, h, "other", map[string]string{"VxlanId": "8", "vxlanName": "vx8", "bridgeName": "br8"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	attach(t, h, "ep1", "198.51.100.11/24")
	for range 3 {
		if err := h.driver.SyncFirewall(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.driver.Reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "firewall exception not installed"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "by hand") {
		t.Errorf("the warning does not say what to do:\n%s", logs.String())
	}
	if rules := h.ns.Must(t, "nft", "list", "ruleset"); strings.TrimSpace(rules) != "" {
		t.Errorf("the plugin wrote to nftables on a legacy host:\n%s", rules)
	}
}

var (
	openElemRE   = regexp.MustCompile(`"([^"]+)" : accept`)
	withinElemRE = regexp.MustCompile(`"([^"]+)" \. "([^"]+)" : accept`)
)

// exceptionMaps lists, sorted, the links whose traffic the exception
// accepts in family: from or to them (networks with a way out), and
// within them (every network).
func exceptionMaps(t testing.TB, h *host, family string) (open, within []string) {
	t.Helper()
	out := h.ns.Must(t, "nft", "list", "map", family, "filter", "VXLAN-PLUGIN-vxlan-links")
	for _, m := range openElemRE.FindAllStringSubmatch(out, -1) {
		open = append(open, m[1])
	}
	out = h.ns.Must(t, "nft", "list", "map", family, "filter", "VXLAN-PLUGIN-vxlan-within")
	for _, m := range withinElemRE.FindAllStringSubmatch(out, -1) {
		if m[1] != m[2] {
			t.Errorf("within map pairs two links: %s . %s", m[1], m[2])
		}
		within = append(within, m[1])
	}
	slices.Sort(open)
	slices.Sort(within)
	return open, within
}

// scaleNet is the i-th network of a scale test: every tenth an internal
// segment, the others VXLAN segments in bridge mode, each with its own
// /24 in 10.0.0.0/14.
type scaleNet int

func (i scaleNet) id() string { return fmt.Sprintf("%09x", int(i)+1) + strings.Repeat("e", 55) }

func (i scaleNet) internal() bool { return i%10 == 0 }

func (i scaleNet) bridge() string { return "vxbr-" + i.id()[:10] }

func (i scaleNet) addr(host int) string {
	return fmt.Sprintf("10.%d.%d.%d/24", int(i)/256, int(i)%256, host)
}

func (i scaleNet) request() driver.CreateNetworkRequest {
	pool := fmt.Sprintf("10.%d.%d.0/24", int(i)/256, int(i)%256)
	req := driver.CreateNetworkRequest{NetworkID: i.id(), IPv4: []driver.Subnet{sub(pool, i.addr(1))}}
	if i.internal() {
		req.Internal = true
	} else {
		req.Options = map[string]string{"VxlanId": fmt.Sprint(int(i) + 1), "hostGateway": "false"}
	}
	return req
}

// A thousand bridge-mode networks, created one after another under
// Docker's firewall: every one of them gets through FORWARD, a restart
// that finds the exception intact writes nothing, and a flush is repaired.
func TestFirewallThousandBridgeNetworks(t *testing.T) {
	const count = 1000
	h := newHost(t)
	dockerFirewall(t, h)
	start := time.Now()
	var wantOpen, wantWithin []string
	for i := range scaleNet(count) {
		if err := h.driver.CreateNetwork(t.Context(), i.request()); err != nil {
			t.Fatalf("network %d of %d: %v", i+1, count, err)
		}
		wantWithin = append(wantWithin, i.bridge())
		if !i.internal() {
			wantOpen = append(wantOpen, i.bridge())
		}
	}
	t.Logf("%d networks created in %v", count, time.Since(start).Round(time.Millisecond))
	slices.Sort(wantOpen)
	slices.Sort(wantWithin)
	for _, family := range []string{"ip", "ip6"} {
		o, w := exceptionMaps(t, h, family)
		if !slices.Equal(o, wantOpen) || !slices.Equal(w, wantWithin) {
			t.Fatalf("%s maps hold %d open links and %d within; want %d and %d", family, len(o), len(w), len(wantOpen), len(wantWithin))
		}
	}

	// Traffic through a sample of the bridges: both ends, the middle, and
	// random ones, internal segments among them.
	samples := []scaleNet{0, 1, count / 2, count/2 + 1, count - 1}
	for range 7 {
		samples = append(samples, scaleNet(rand.IntN(count)))
	}
	slices.Sort(samples)
	samples = slices.Compact(samples)
	probes := map[scaleNet]*netnstest.NS{}
	for _, i := range samples {
		probes[i] = attachTo(t, h, i.id(), fmt.Sprintf("ep%d-a", i), i.addr(11))
		attachTo(t, h, i.id(), fmt.Sprintf("ep%d-b", i), i.addr(12))
		assertPing(t, probes[i], peerOf(i))
	}
	firewallControls(t, h)

	// A restart finds everything in place: not one nftables write.
	if writes := nftWrites(t, h.ns, func() {
		h.stop()
		h.start(t)
		if err := h.driver.SyncFirewall(t.Context()); err != nil {
			t.Fatal(err)
		}
	}); len(writes) > 0 {
		t.Errorf("restart and check rewrote the intact exception:\n%s", strings.Join(writes, "\n"))
	}

	// Flushes cut bridges off until the next check repairs them: 0 is an
	// internal segment, 1 a VXLAN one.
	for _, flush := range []struct {
		cmd     []string
		blocked []scaleNet
	}{
		{[]string{"iptables-nft", "-F", "VXLAN-PLUGIN-vxlan"}, []scaleNet{0, 1}},
		// Without it, a network's own traffic meets its isolation.
		{[]string{"nft", "flush", "map", "ip", "filter", "VXLAN-PLUGIN-vxlan-within"}, []scaleNet{0, 1}},
	} {
		h.ns.Must(t, flush.cmd...)
		for _, i := range flush.blocked {
			assertNoPing(t, probes[i], peerOf(i))
		}
		if err := h.driver.SyncFirewall(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, i := range []scaleNet{0, 1} {
			assertPing(t, probes[i], peerOf(i))
		}
	}
	if o, w := exceptionMaps(t, h, "ip"); !slices.Equal(o, wantOpen) || !slices.Equal(w, wantWithin) {
		t.Errorf("after the repairs the maps hold %d and %d links; want %d and %d", len(o), len(w), len(wantOpen), len(wantWithin))
	}
}

// peerOf is the address of the second probe on network i.
func peerOf(i scaleNet) string { return strings.TrimSuffix(i.addr(12), "/24") }

// firewallControls shows that the firewall the plugin's bridges get
// through really blocks: a bridge of someone else's drops forwarded
// traffic (negative control) until an ACCEPT rule for it is added
// (positive control: the probe can see traffic pass).
func firewallControls(t *testing.T, h *host) {
	t.Helper()
	h.ns.Must(t, "ip", "link", "add", "ctlbr0", "type", "bridge")
	h.ns.Must(t, "ip", "link", "set", "ctlbr0", "up")
	var ends []*netnstest.NS
	for i, cidr := range []string{"192.0.2.11/24", "192.0.2.12/24"} {
		c := netnstest.New(t)
		port := fmt.Sprintf("ctlp%d", i)
		h.ns.Must(t, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", c.Name)
		h.ns.Must(t, "ip", "link", "set", port, "master", "ctlbr0", "up")
		c.Must(t, "ip", "addr", "add", cidr, "dev", "eth0")
		c.Must(t, "ip", "link", "set", "eth0", "up")
		ends = append(ends, c)
	}
	assertNoPing(t, ends[0], "192.0.2.12")
	h.ns.Must(t, "iptables-nft", "-I", "FORWARD", "-i", "ctlbr0", "-j", "ACCEPT")
	assertPing(t, ends[0], "192.0.2.12")
	h.ns.Must(t, "iptables-nft", "-D", "FORWARD", "-i", "ctlbr0", "-j", "ACCEPT")
	h.ns.Must(t, "ip", "link", "del", "ctlbr0")
}

// nftWrites returns the nftables changes made in ns while fn runs, as nft
// monitor reports them. Two sentinel tables bracket fn, so a change is
// neither missed (the monitor is listening before fn) nor misattributed.
func nftWrites(t *testing.T, ns *netnstest.NS, fn func()) []string {
	t.Helper()
	var out lockedBuffer
	mon := exec.Command("ip", "netns", "exec", ns.Name, "nft", "monitor")
	mon.Stdout, mon.Stderr = &out, &out
	if err := mon.Start(); err != nil {
		t.Fatalf("nft monitor: %v", err)
	}
	defer func() { _ = mon.Process.Kill(); _ = mon.Wait() }()
	sentinel := func(name string) {
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "delete table inet "+name); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("nft monitor never reported the sentinel table %s:\n%s", name, out.String())
			}
			ns.Must(t, "nft", "add", "table", "inet", name)
			ns.Must(t, "nft", "delete", "table", "inet", name)
		}
	}
	sentinel("dvpt_before")
	fn()
	sentinel("dvpt_after")
	text := out.String()
	from := strings.LastIndex(text, "delete table inet dvpt_before")
	to := strings.Index(text, "add table inet dvpt_after")
	var writes []string
	for _, line := range strings.Split(text[from:to], "\n")[1:] {
		if line = strings.TrimSpace(line); line != "" && !strings.HasSuffix(line, "(nft)") {
			writes = append(writes, line)
		}
	}
	return writes
}

// lockedBuffer is a bytes.Buffer a command writes to while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// BenchmarkNetworkUnderFirewall prints the time of one more bridge-mode
// network's CreateNetwork, and of its DeleteNetwork, with 10, 100 and 1000
// networks already there under Docker's firewall: whole requests, links
// and firewall exception.
func BenchmarkNetworkUnderFirewall(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		d := firewalledDriver(b)
		for i := range scaleNet(n) {
			if err := d.CreateNetwork(b.Context(), i.request()); err != nil {
				b.Fatal(err)
			}
		}
		next := scaleNet(n)
		create := func() {
			if err := d.CreateNetwork(b.Context(), next.request()); err != nil {
				b.Fatal(err)
			}
		}
		remove := func() {
			if err := d.DeleteNetwork(b.Context(), next.id()); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("create/networks=%d", n), func(b *testing.B) {
			for b.Loop() {
				create()
				b.StopTimer()
				remove()
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("delete/networks=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				create()
				b.StartTimer()
				remove()
			}
		})
	}
}

// firewalledDriver is a driver in a namespace of its own under Docker's
// firewall, for benchmarks.
func firewalledDriver(b *testing.B) *driver.Driver {
	b.Helper()
	h := &host{ns: netnstest.New(b)}
	dockerFirewall(b, h)
	k, err := links.NewAt(h.ns.Handle(), "vxlan")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(k.Close)
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	d := driver.New(driver.Config{}, k, st, slog.New(slog.DiscardHandler))
	if _, err := d.Reconcile(); err != nil {
		b.Fatal(err)
	}
	return d
}

// isoNet is a network of the isolation tests: the n-th, on VNI 100+n,
// with the /24 10.<n>.0.0 and its gateway, the host, at .1.
type isoNet struct {
	n    int
	opts map[string]string // besides VxlanId
}

func (i isoNet) id() string      { return fmt.Sprintf("%02x", i.n) + strings.Repeat("c", 62) }
func (i isoNet) gateway() string { return fmt.Sprintf("10.%d.0.1", i.n) }
func (i isoNet) addr() string    { return fmt.Sprintf("10.%d.0.11", i.n) }

// options are the network's options: its VNI and the test's.
func (i isoNet) options() map[string]string {
	opts := map[string]string{"VxlanId": fmt.Sprint(100 + i.n)}
	maps.Copy(opts, i.opts)
	return opts
}

// create makes the network on h and puts a container on it whose default
// route is the host gateway.
func (i isoNet) create(t *testing.T, h *host) *netnstest.NS {
	t.Helper()
	opts := i.options()
	create(t, h, i.id(), opts, sub(fmt.Sprintf("10.%d.0.0/24", i.n), i.gateway()+"/24"))
	c := attachTo(t, h, i.id(), fmt.Sprintf("ep-iso-%d", i.n), i.addr()+"/24")
	c.Must(t, "ip", "route", "add", "default", "via", i.gateway())
	return c
}

// outsideAddr is a machine beyond the host (not one of the plugin's
// networks), which routes 10.0.0.0/8 back through it.
const outsideAddr = "192.0.2.2"

func outsideWorld(t *testing.T, h *host) {
	t.Helper()
	out := netnstest.New(t)
	netnstest.Link(t, h.ns, "outside0", "192.0.2.1/24", out, "eth0", outsideAddr+"/24")
	out.Must(t, "ip", "route", "add", "10.0.0.0/8", "via", "192.0.2.1")
}

// reachesOwnAndOutside is the positive control beside every "cannot
// reach": the container reaches its own gateway and, through the host's
// FORWARD chain, the outside.
func reachesOwnAndOutside(t *testing.T, c *netnstest.NS, i isoNet) {
	t.Helper()
	assertPing(t, c, i.gateway())
	assertPing(t, c, outsideAddr)
}

// Containers on two networks of the plugin, both with the host as their
// gateway, do not reach each other through the host under Docker's
// FORWARD DROP, as Docker's own bridge networks do not, unless both
// networks set hostRouting; each still reaches its gateway and the outside.
func TestFirewallIsolatesNetworksUnlessBothRoute(t *testing.T) {
	h := newHost(t)
	dockerFirewall(t, h)
	outsideWorld(t, h)
	on := map[string]string{"hostRouting": "true"}
	off := map[string]string{"hostRouting": "false"}
	var routed []*netnstest.NS // containers of networks with hostRouting, from every case
	for _, tc := range []struct {
		name  string
		a, b  isoNet
		reach bool
	}{
		{"neither sets it", isoNet{n: 1}, isoNet{n: 2}, false},
		{"both set it", isoNet{3, on}, isoNet{4, on}, true},
		{"one sets it", isoNet{5, on}, isoNet{6, off}, false},
	} {
		t.Logf("%s: networks %d and %d", tc.name, tc.a.n, tc.b.n) // not subtests: their containers serve below
		ca, cb := tc.a.create(t, h), tc.b.create(t, h)
		reachesOwnAndOutside(t, ca, tc.a)
		reachesOwnAndOutside(t, cb, tc.b)
		if tc.reach {
			assertPing(t, ca, tc.b.addr())
			assertPing(t, cb, tc.a.addr())
		} else {
			assertNoPing(t, ca, tc.b.addr())
			assertNoPing(t, cb, tc.a.addr())
		}
		if tc.a.opts["hostRouting"] == "true" {
			routed = append(routed, ca)
		}
	}
	// Networks with hostRouting reach each other, and none of the others.
	if len(routed) != 2 {
		t.Fatalf("%d containers on networks with hostRouting, want 2", len(routed))
	}
	assertPing(t, routed[0], isoNet{n: 5}.addr())
	assertNoPing(t, routed[1], isoNet{n: 1}.addr())
	assertNoPing(t, routed[0], isoNet{n: 6}.addr())
}

// A macvlan network's host gateway gets through Docker's FORWARD DROP to
// the outside, as a bridge-mode network's bridge does, and is kept apart
// from the plugin's other networks the same way.
func TestFirewallMacvlanHostGateway(t *testing.T) {
	h := newHost(t)
	dockerFirewall(t, h)
	outsideWorld(t, h)
	for _, tc := range []struct {
		name    string
		routing string
	}{{"isolated by default", ""}, {"hostRouting", "true"}} {
		base := 10
		if tc.routing == "true" {
			base = 20
		}
		t.Logf("%s: networks %d (macvlan) and %d (bridge)", tc.name, base+1, base+2)
		mac := isoNet{base + 1, map[string]string{"mode": "macvlan"}}
		br := isoNet{base + 2, map[string]string{}}
		if tc.routing != "" {
			mac.opts["hostRouting"], br.opts["hostRouting"] = tc.routing, tc.routing
		}
		cm, cb := mac.create(t, h), br.create(t, h)
		reachesOwnAndOutside(t, cm, mac)
		reachesOwnAndOutside(t, cb, br)
		if tc.routing == "true" {
			assertPing(t, cm, br.addr())
			assertPing(t, cb, mac.addr())
		} else {
			assertNoPing(t, cm, br.addr())
			assertNoPing(t, cb, mac.addr())
		}
	}
	// The gateway's link goes out of the exception with its network.
	gw := "vxgw-" + isoNet{n: 11}.id()[:10]
	if _, err := h.ns.Run("nft", "get", "element", "ip", "filter", "VXLAN-PLUGIN-vxlan-links", "{ "+gw+" }"); err != nil {
		t.Fatalf("the macvlan gateway %s is not in the exception: %v", gw, err)
	}
	if err := h.driver.DeleteEndpoint(t.Context(), isoNet{n: 11}.id(), "ep-iso-11"); err != nil {
		t.Fatal(err)
	}
	if err := h.driver.DeleteNetwork(t.Context(), isoNet{n: 11}.id()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"links", "all", "isolated"} {
		if out, err := h.ns.Run("nft", "get", "element", "ip", "filter", "VXLAN-PLUGIN-vxlan-"+m, "{ "+gw+" }"); err == nil {
			t.Errorf("the deleted network's gateway is still in %s:\n%s", m, out)
		}
	}
}

// gateway6 and addr6 are the isoNet's IPv6 subnet's gateway and container.
func (i isoNet) gateway6() string { return fmt.Sprintf("2001:db8:%x::1", i.n) }
func (i isoNet) addr6() string    { return fmt.Sprintf("2001:db8:%x::11", i.n) }

// create6 is create with an IPv6 subnet too, the host its gateway.
func (i isoNet) create6(t *testing.T, h *host) *netnstest.NS {
	t.Helper()
	opts := i.options()
	req := driver.CreateNetworkRequest{
		NetworkID: i.id(), Options: opts, EnableIPv6: true,
		IPv4: []driver.Subnet{sub(fmt.Sprintf("10.%d.0.0/24", i.n), i.gateway()+"/24")},
		IPv6: []driver.Subnet{sub(fmt.Sprintf("2001:db8:%x::/64", i.n), i.gateway6()+"/64")},
	}
	if err := h.driver.CreateNetwork(t.Context(), req); err != nil {
		t.Fatalf("CreateNetwork %v: %v", opts, err)
	}
	c := attachTo(t, h, i.id(), fmt.Sprintf("ep-iso-%d", i.n), i.addr()+"/24")
	c.Must(t, "ip", "-6", "addr", "add", i.addr6()+"/64", "dev", "eth0", "nodad")
	c.Must(t, "ip", "-6", "route", "add", "default", "via", i.gateway6())
	return c
}

// The isolation holds in IPv6 too (the ip6 filter table), on a host whose
// operator turned IPv6 forwarding on: a container reaches its gateway and
// the outside, and another network only when both set hostRouting.
func TestFirewallIsolatesNetworksInIPv6(t *testing.T) {
	h := newHost(t)
	dockerFirewall(t, h)
	h.ns.Must(t, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	out := netnstest.New(t)
	netnstest.Link(t, h.ns, "outside0", "192.0.2.1/24", out, "eth0", outsideAddr+"/24")
	const outside6 = "2001:db8:ffff::2"
	h.ns.Must(t, "ip", "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "outside0", "nodad")
	out.Must(t, "ip", "-6", "addr", "add", outside6+"/64", "dev", "eth0", "nodad")
	out.Must(t, "ip", "-6", "route", "add", "2001:db8::/32", "via", "2001:db8:ffff::1")

	on := map[string]string{"hostRouting": "true"}
	nets := []isoNet{{n: 31}, {n: 32}, {33, on}, {34, on}}
	var cs []*netnstest.NS
	for _, i := range nets {
		cs = append(cs, i.create6(t, h))
	}
	settle(t, h.ns) // the gateways' addresses, tentative until DAD is done
	for k, i := range nets {
		assertPing(t, cs[k], i.gateway6())
		assertPing(t, cs[k], outside6)
	}
	assertNoPing(t, cs[0], nets[1].addr6())
	assertNoPing(t, cs[1], nets[0].addr6())
	assertNoPing(t, cs[2], nets[0].addr6())
	assertNoPing(t, cs[0], nets[2].addr6())
	assertPing(t, cs[2], nets[3].addr6())
	assertPing(t, cs[3], nets[2].addr6())
}
