package links_test

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// firewallHost is a namespace with Docker's firewall as iptables-nft
// leaves it (FORWARD policy DROP, a DOCKER-USER chain jumped to first)
// and a Kernel of the driver "vxlan" in it.
func firewallHost(t testing.TB) (*netnstest.NS, *links.Kernel) {
	t.Helper()
	ns := netnstest.New(t)
	for _, ipt := range iptablesNFT(t) {
		ns.Must(t, ipt, "-P", "FORWARD", "DROP")
		ns.Must(t, ipt, "-N", "DOCKER-USER")
		ns.Must(t, ipt, "-A", "FORWARD", "-j", "DOCKER-USER")
	}
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return ns, k
}

// iptablesNFT returns the iptables and ip6tables commands of the nf_tables
// backend, whatever the host's default backend is.
func iptablesNFT(t testing.TB) []string {
	t.Helper()
	cmds := []string{"iptables-nft", "ip6tables-nft"}
	for _, c := range cmds {
		if out, err := exec.Command(c, "-V").CombinedOutput(); err != nil || !strings.Contains(string(out), "nf_tables") {
			t.Fatalf("%s (the nf_tables backend of iptables) is needed: apt-get install iptables: %v %s", c, err, out)
		}
	}
	return cmds
}

func allow(t testing.TB, k *links.Kernel, mode links.ForwardMode, rules ...links.ForwardRule) {
	t.Helper()
	if err := k.AllowForward(rules, mode); err != nil {
		t.Fatalf("AllowForward(%v, %v): %v", rules, mode, err)
	}
}

func bridge(name string) links.ForwardRule   { return links.ForwardRule{Link: name} }
func routed(name string) links.ForwardRule   { return links.ForwardRule{Link: name, HostRouting: true} }
func internal(name string) links.ForwardRule { return links.ForwardRule{Link: name, Internal: true} }

// The plugin's chains and objects in a filter table (driver "vxlan").
var (
	pluginChains  = []string{"VXLAN-PLUGIN-vxlan", "VXLAN-ISO-FROM-vxlan", "VXLAN-ISO-TO-vxlan"}
	pluginObjects = []string{"VXLAN-PLUGIN-vxlan-links", "VXLAN-PLUGIN-vxlan-within", "VXLAN-PLUGIN-vxlan-all", "VXLAN-PLUGIN-vxlan-isolated"}
)

// exception is what decides in one family: FORWARD's and the plugin's
// chains as nft lists them, and each map's and set's elements, sorted.
func exception(t testing.TB, ns *netnstest.NS, family string) string {
	t.Helper()
	var b strings.Builder
	for _, chain := range append([]string{"FORWARD"}, pluginChains...) {
		out, err := ns.Run("nft", "list", "chain", family, "filter", chain)
		if err != nil {
			out = "no chain " + chain + "\n"
		}
		b.WriteString(out)
	}
	for _, m := range pluginObjects {
		fmt.Fprintf(&b, "%s: %v\n", m, elements(t, ns, family, m))
	}
	return b.String()
}

var elementRE = regexp.MustCompile(`("[^"]+"(?: \. "[^"]+")?)(?: : (\w+))?`)

// elements lists a map's elements as `"key" : verdict`, or a set's as
// `"key"`, sorted; nil when there is no such map or set.
func elements(t testing.TB, ns *netnstest.NS, family, m string) []string {
	t.Helper()
	out, err := ns.Run("nft", "list", "map", family, "filter", m)
	if err != nil {
		if out, err = ns.Run("nft", "list", "set", family, "filter", m); err != nil {
			return nil
		}
	}
	_, list, _ := strings.Cut(out, "elements = ")
	els := []string{}
	for _, sub := range elementRE.FindAllStringSubmatch(list, -1) {
		el := sub[1]
		if sub[2] != "" {
			el += " : " + sub[2]
		}
		els = append(els, el)
	}
	slices.Sort(els)
	return els
}

func TestForwardExceptionLayoutAndModes(t *testing.T) {
	ns, k := firewallHost(t)
	allow(t, k, links.ForwardExact, routed("vxbr-a"), bridge("vxgw-b"), internal("vxbr-i"))

	for _, ipt := range iptablesNFT(t) {
		rules := ns.Must(t, ipt, "-S")
		for _, want := range []string{
			"-A FORWARD -j DOCKER-USER\n-A FORWARD -j VXLAN-PLUGIN-vxlan\n",
			`-A VXLAN-ISO-FROM-vxlan -m comment --comment "to another network of the plugin: drop (nft map VXLAN-PLUGIN-vxlan-all)"` + "\n",
			`-A VXLAN-ISO-TO-vxlan -m comment --comment "from another network of the plugin: drop (nft map VXLAN-PLUGIN-vxlan-all)"` + "\n",
			`-A VXLAN-PLUGIN-vxlan -m comment --comment "within one network: accept (nft map VXLAN-PLUGIN-vxlan-within)"` + "\n" +
				`-A VXLAN-PLUGIN-vxlan -m comment --comment "from a network the host does not route for (nft set VXLAN-PLUGIN-vxlan-isolated)" -j VXLAN-ISO-FROM-vxlan` + "\n" +
				`-A VXLAN-PLUGIN-vxlan -m comment --comment "to a network the host does not route for (nft set VXLAN-PLUGIN-vxlan-isolated)" -j VXLAN-ISO-TO-vxlan` + "\n" +
				`-A VXLAN-PLUGIN-vxlan -m comment --comment "from a network with a way out: accept (nft map VXLAN-PLUGIN-vxlan-links)"` + "\n" +
				`-A VXLAN-PLUGIN-vxlan -m comment --comment "to a network with a way out: accept (nft map VXLAN-PLUGIN-vxlan-links)"` + "\n",
		} {
			if !strings.Contains(rules, want) {
				t.Errorf("%s -S lacks:\n%s\ngot:\n%s", ipt, want, rules)
			}
		}
		if strings.Contains(rules, "-j ACCEPT") || strings.Contains(rules, "-j DROP") {
			t.Errorf("%s -S shows a verdict of the plugin's that a save/restore would make blanket:\n%s", ipt, rules)
		}
	}
	ruleset := ns.Must(t, "nft", "list", "table", "ip6", "filter")
	for _, want := range []string{
		"iifname . oifname vmap @VXLAN-PLUGIN-vxlan-within",
		"iifname @VXLAN-PLUGIN-vxlan-isolated jump VXLAN-ISO-FROM-vxlan",
		"oifname @VXLAN-PLUGIN-vxlan-isolated jump VXLAN-ISO-TO-vxlan",
		"iifname vmap @VXLAN-PLUGIN-vxlan-links",
		"oifname vmap @VXLAN-PLUGIN-vxlan-links",
		"oifname vmap @VXLAN-PLUGIN-vxlan-all",
		"iifname vmap @VXLAN-PLUGIN-vxlan-all",
	} {
		if !strings.Contains(ruleset, want) {
			t.Errorf("nft lists no %q:\n%s", want, ruleset)
		}
	}
	wantObjects(t, ns, [4][]string{
		{`"vxbr-a" : accept`, `"vxgw-b" : accept`},
		{`"vxbr-a" . "vxbr-a" : accept`, `"vxbr-i" . "vxbr-i" : accept`, `"vxgw-b" . "vxgw-b" : accept`},
		{`"vxbr-a" : drop`, `"vxbr-i" : drop`, `"vxgw-b" : drop`},
		{`"vxbr-i"`, `"vxgw-b"`},
	})

	// Adding leaves the others alone; exact withdraws what it is not given.
	allow(t, k, links.ForwardAdd, routed("vxbr-c"))
	wantObjects(t, ns, [4][]string{
		{`"vxbr-a" : accept`, `"vxbr-c" : accept`, `"vxgw-b" : accept`},
		{`"vxbr-a" . "vxbr-a" : accept`, `"vxbr-c" . "vxbr-c" : accept`, `"vxbr-i" . "vxbr-i" : accept`, `"vxgw-b" . "vxgw-b" : accept`},
		{`"vxbr-a" : drop`, `"vxbr-c" : drop`, `"vxbr-i" : drop`, `"vxgw-b" : drop`},
		{`"vxbr-i"`, `"vxgw-b"`},
	})
	allow(t, k, links.ForwardExact, bridge("vxbr-c"))
	wantObjects(t, ns, [4][]string{{`"vxbr-c" : accept`}, {`"vxbr-c" . "vxbr-c" : accept`}, {`"vxbr-c" : drop`}, {`"vxbr-c"`}})

	allow(t, k, links.ForwardExact)
	if rules := ns.Must(t, "nft", "list", "ruleset"); strings.Contains(rules, "VXLAN-") {
		t.Errorf("exception outlived its last link:\n%s", rules)
	}
}

// wantObjects checks the maps and the set (in pluginObjects' order) in
// both families.
func wantObjects(t *testing.T, ns *netnstest.NS, want [4][]string) {
	t.Helper()
	for _, family := range []string{"ip", "ip6"} {
		for i, name := range pluginObjects {
			if got := elements(t, ns, family, name); !slices.Equal(got, want[i]) {
				t.Errorf("%s %s holds %v, want %v", family, name, got, want[i])
			}
		}
	}
}

func TestForwardWithoutFirewallWritesNothing(t *testing.T) {
	ns := netnstest.New(t)
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	allow(t, k, links.ForwardExact, bridge("vxbr-a"))
	allow(t, k, links.ForwardAdd, bridge("vxbr-b"))
	if rules := ns.Must(t, "nft", "list", "ruleset"); strings.TrimSpace(rules) != "" {
		t.Errorf("no firewall here, yet the plugin wrote:\n%s", rules)
	}
}

// A firewall of the legacy iptables backend is out of the plugin's reach:
// it says so, and writes nothing to nftables.
func TestForwardOnLegacyIptables(t *testing.T) {
	ns := netnstest.New(t)
	if out, err := exec.Command("iptables-legacy", "-V").CombinedOutput(); err != nil {
		t.Fatalf("iptables-legacy is needed to play a legacy host: apt-get install iptables: %v %s", err, out)
	}
	ns.Must(t, "iptables-legacy", "-P", "FORWARD", "DROP")
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, mode := range []links.ForwardMode{links.ForwardAdd, links.ForwardExact} {
		if err := k.AllowForward([]links.ForwardRule{bridge("vxbr-a")}, mode); !errors.Is(err, links.ErrLegacyIptables) {
			t.Errorf("mode %v on a legacy host: %v, want ErrLegacyIptables", mode, err)
		}
	}
	allow(t, k, links.ForwardExact) // no bridge: nothing to say
	if rules := ns.Must(t, "nft", "list", "ruleset"); strings.TrimSpace(rules) != "" {
		t.Errorf("the plugin wrote to nftables on a legacy host:\n%s", rules)
	}
}

func TestForwardRefusesImpossibleNames(t *testing.T) {
	_, k := firewallHost(t)
	for _, name := range []string{"", "a-name-of-16-chr"} {
		if err := k.AllowForward([]links.ForwardRule{bridge(name)}, links.ForwardAdd); err == nil {
			t.Errorf("bridge name %q accepted", name)
		}
	}
}

// Whatever a firewall reload or a hand did to the exception, one exact
// check puts it back as it was, in both families; a check that finds it
// intact rewrites nothing (the handles stay).
func TestForwardRepairsDamage(t *testing.T) {
	ns, k := firewallHost(t)
	rules := []links.ForwardRule{routed("vxbr-a"), routed("vxbr-b"), bridge("vxgw-c"), internal("vxbr-i")}
	allow(t, k, links.ForwardExact, rules...)
	intact := map[string]string{"ip": exception(t, ns, "ip"), "ip6": exception(t, ns, "ip6")}
	handles := ns.Must(t, "nft", "-a", "list", "ruleset")
	allow(t, k, links.ForwardExact, rules...)
	if again := ns.Must(t, "nft", "-a", "list", "ruleset"); again != handles {
		t.Errorf("a check of an intact exception rewrote it:\nbefore:\n%s\nafter:\n%s", handles, again)
	}

	const removeChains = "iptables-nft -D FORWARD -j VXLAN-PLUGIN-vxlan; iptables-nft -F VXLAN-PLUGIN-vxlan; iptables-nft -X VXLAN-PLUGIN-vxlan; " +
		"iptables-nft -F VXLAN-ISO-FROM-vxlan; iptables-nft -X VXLAN-ISO-FROM-vxlan"
	for _, damage := range []string{
		"iptables-nft -F VXLAN-PLUGIN-vxlan",
		"iptables-nft -F VXLAN-ISO-TO-vxlan",
		"iptables-nft -D FORWARD -j VXLAN-PLUGIN-vxlan",
		removeChains,
		removeChains + "; nft delete map ip filter VXLAN-PLUGIN-vxlan-links; nft delete map ip filter VXLAN-PLUGIN-vxlan-all; " +
			"nft delete set ip filter VXLAN-PLUGIN-vxlan-isolated",
		// What a firewall script does: every rule and chain goes (the maps
		// hold no reference to a chain that would make it fail).
		"iptables-nft -F && iptables-nft -X && iptables-nft -N DOCKER-USER && iptables-nft -A FORWARD -j DOCKER-USER",
		"nft flush map ip filter VXLAN-PLUGIN-vxlan-links",
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-within '{ "vxbr-i" . "vxbr-i" }'`,
		`nft add element ip filter VXLAN-PLUGIN-vxlan-links '{ "vxbr-stray" : accept }'`,
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-links '{ "vxbr-a" }'; nft add element ip filter VXLAN-PLUGIN-vxlan-links '{ "vxbr-a" : drop }'`,
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-all '{ "vxgw-c" }'; nft add element ip filter VXLAN-PLUGIN-vxlan-all '{ "vxgw-c" : accept }'`,
		`nft add element ip filter VXLAN-PLUGIN-vxlan-isolated '{ "vxbr-a" }'`,
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-isolated '{ "vxgw-c" }'`,
		"iptables-nft-save > /tmp/$$.rules && iptables-nft-restore < /tmp/$$.rules; rm -f /tmp/$$.rules",
		// The layout of earlier versions: two rules per bridge.
		"iptables-nft -F VXLAN-PLUGIN-vxlan; iptables-nft -A VXLAN-PLUGIN-vxlan -i vxbr-a -j ACCEPT; iptables-nft -A VXLAN-PLUGIN-vxlan -o vxbr-a -j ACCEPT",
	} {
		ns.Must(t, "sh", "-c", damage)
		if exception(t, ns, "ip") == intact["ip"] {
			t.Errorf("%s: changed nothing to repair", damage)
		}
		allow(t, k, links.ForwardExact, rules...)
		for family, want := range intact {
			if got := exception(t, ns, family); got != want {
				t.Errorf("after %s, the check left %s as:\n%s\nwant:\n%s", damage, family, got, want)
			}
		}
	}
}

// The exception of the previous version (one chain, every bridge let
// through to every other) becomes the present one at the first check:
// the networks recorded before are isolated, and its maps go.
func TestForwardUpgradesEarlierLayout(t *testing.T) {
	ns, k := firewallHost(t)
	for _, family := range []string{"ip", "ip6"} {
		ns.Must(t, "sh", "-c", strings.ReplaceAll(`nft -f - <<'EOF'
table FAMILY filter {
	map VXLAN-PLUGIN-vxlan-bridges {
		type ifname : verdict
		elements = { "vxbr-a" : accept, "vxbr-b" : accept }
	}
	map VXLAN-PLUGIN-vxlan-internal {
		type ifname . ifname : verdict
		elements = { "vxbr-i" . "vxbr-i" : accept }
	}
	chain VXLAN-PLUGIN-vxlan {
		iifname vmap @VXLAN-PLUGIN-vxlan-bridges comment "from bridges in nft map VXLAN-PLUGIN-vxlan-bridges"
		oifname vmap @VXLAN-PLUGIN-vxlan-bridges comment "to bridges in nft map VXLAN-PLUGIN-vxlan-bridges"
		iifname . oifname vmap @VXLAN-PLUGIN-vxlan-internal comment "within bridges in nft map VXLAN-PLUGIN-vxlan-internal"
	}
	chain FORWARD {
		jump VXLAN-PLUGIN-vxlan
	}
}
EOF`, "FAMILY", family))
	}
	// A request adds its network to the present layout (laid out then).
	if err := k.AddForwardElements([]links.ForwardRule{bridge("vxbr-c")}); err == nil {
		t.Error("an add by name into the earlier layout succeeded: nothing would lay the present one out")
	}
	allow(t, k, links.ForwardExact, bridge("vxbr-a"), bridge("vxbr-b"), internal("vxbr-i"))
	wantObjects(t, ns, [4][]string{
		{`"vxbr-a" : accept`, `"vxbr-b" : accept`},
		{`"vxbr-a" . "vxbr-a" : accept`, `"vxbr-b" . "vxbr-b" : accept`, `"vxbr-i" . "vxbr-i" : accept`},
		{`"vxbr-a" : drop`, `"vxbr-b" : drop`, `"vxbr-i" : drop`},
		{`"vxbr-a"`, `"vxbr-b"`, `"vxbr-i"`},
	})
	ruleset := ns.Must(t, "nft", "list", "ruleset")
	if strings.Contains(ruleset, "-bridges") || strings.Contains(ruleset, "-internal") {
		t.Errorf("the earlier maps outlived the upgrade:\n%s", ruleset)
	}
	if n := strings.Count(ruleset, "jump VXLAN-PLUGIN-vxlan"); n != 2 {
		t.Errorf("%d jumps to the chain in both families, want 2:\n%s", n, ruleset)
	}
}

// BenchmarkAllowForward prints what the firewall exception costs with 10,
// 100 and 1000 links already let through: adding one more network's link
// (CreateNetwork), the exact check that finds everything in place
// (restart, the periodic check), and withdrawing one link (DeleteNetwork).
func BenchmarkAllowForward(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		_, k := firewallHost(b)
		base := make([]links.ForwardRule, n)
		for i := range base {
			base[i] = bridge(fmt.Sprintf("vxbr-%09d", i))
			base[i].Internal = i%10 == 0
			base[i].HostRouting = i%3 == 0
		}
		allow(b, k, links.ForwardExact, base...)
		b.Run(fmt.Sprintf("add/links=%d", n), func(b *testing.B) {
			for b.Loop() {
				allow(b, k, links.ForwardAdd, bridge("vxbr-bench"))
				b.StopTimer()
				allow(b, k, links.ForwardExact, base...)
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("check/links=%d", n), func(b *testing.B) {
			for b.Loop() {
				allow(b, k, links.ForwardExact, base...)
			}
		})
		b.Run(fmt.Sprintf("withdraw/links=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				allow(b, k, links.ForwardAdd, bridge("vxbr-bench"))
				b.StartTimer()
				allow(b, k, links.ForwardExact, base...)
			}
		})
	}
}
