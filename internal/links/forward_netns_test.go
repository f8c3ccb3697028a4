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

func bridge(name string) links.ForwardRule   { return links.ForwardRule{Bridge: name} }
func internal(name string) links.ForwardRule { return links.ForwardRule{Bridge: name, Internal: true} }

// exception is what decides in one family: FORWARD's and the plugin's
// chains as nft lists them, and each map's elements, sorted.
func exception(t testing.TB, ns *netnstest.NS, family string) string {
	t.Helper()
	var b strings.Builder
	for _, chain := range []string{"FORWARD", "VXLAN-PLUGIN-vxlan"} {
		out, err := ns.Run("nft", "list", "chain", family, "filter", chain)
		if err != nil {
			out = "no chain " + chain + "\n"
		}
		b.WriteString(out)
	}
	for _, m := range []string{"VXLAN-PLUGIN-vxlan-bridges", "VXLAN-PLUGIN-vxlan-internal"} {
		fmt.Fprintf(&b, "%s: %v\n", m, elements(t, ns, family, m))
	}
	return b.String()
}

var elementRE = regexp.MustCompile(`("[^"]+"(?: \. "[^"]+")?) : (\w+)`)

// elements lists a map's elements as `"key" : verdict`, sorted; nil when
// the map does not exist.
func elements(t testing.TB, ns *netnstest.NS, family, m string) []string {
	t.Helper()
	out, err := ns.Run("nft", "list", "map", family, "filter", m)
	if err != nil {
		return nil
	}
	els := []string{}
	for _, sub := range elementRE.FindAllStringSubmatch(out, -1) {
		els = append(els, sub[1]+" : "+sub[2])
	}
	slices.Sort(els)
	return els
}

func TestForwardExceptionLayoutAndModes(t *testing.T) {
	ns, k := firewallHost(t)
	allow(t, k, links.ForwardExact, bridge("vxbr-a"), internal("vxbr-i"))

	for _, ipt := range iptablesNFT(t) {
		want := "-A FORWARD -j DOCKER-USER\n" +
			"-A FORWARD -j VXLAN-PLUGIN-vxlan\n" +
			`-A VXLAN-PLUGIN-vxlan -m comment --comment "from bridges in nft map VXLAN-PLUGIN-vxlan-bridges"` + "\n" +
			`-A VXLAN-PLUGIN-vxlan -m comment --comment "to bridges in nft map VXLAN-PLUGIN-vxlan-bridges"` + "\n" +
			`-A VXLAN-PLUGIN-vxlan -m comment --comment "within bridges in nft map VXLAN-PLUGIN-vxlan-internal"` + "\n"
		if rules := ns.Must(t, ipt, "-S"); !strings.HasSuffix(rules, want) {
			t.Errorf("%s -S does not end with:\n%s\ngot:\n%s", ipt, want, rules)
		}
	}
	chain := ns.Must(t, "nft", "list", "chain", "ip6", "filter", "VXLAN-PLUGIN-vxlan")
	for _, want := range []string{
		"iifname vmap @VXLAN-PLUGIN-vxlan-bridges",
		"oifname vmap @VXLAN-PLUGIN-vxlan-bridges",
		"iifname . oifname vmap @VXLAN-PLUGIN-vxlan-internal",
	} {
		if !strings.Contains(chain, want) {
			t.Errorf("nft lists no %q:\n%s", want, chain)
		}
	}
	wantMaps(t, ns, []string{`"vxbr-a" : accept`}, []string{`"vxbr-i" . "vxbr-i" : accept`})

	// Adding leaves the others alone; exact withdraws what it is not given.
	allow(t, k, links.ForwardAdd, bridge("vxbr-b"))
	wantMaps(t, ns, []string{`"vxbr-a" : accept`, `"vxbr-b" : accept`}, []string{`"vxbr-i" . "vxbr-i" : accept`})
	allow(t, k, links.ForwardExact, bridge("vxbr-b"))
	wantMaps(t, ns, []string{`"vxbr-b" : accept`}, []string{})

	allow(t, k, links.ForwardExact)
	if rules := ns.Must(t, "nft", "list", "ruleset"); strings.Contains(rules, "VXLAN-PLUGIN") {
		t.Errorf("exception outlived its last bridge:\n%s", rules)
	}
}

// wantMaps checks both maps in both families.
func wantMaps(t *testing.T, ns *netnstest.NS, bridges, internal []string) {
	t.Helper()
	for _, family := range []string{"ip", "ip6"} {
		if got := elements(t, ns, family, "VXLAN-PLUGIN-vxlan-bridges"); !slices.Equal(got, bridges) {
			t.Errorf("%s bridges map holds %v, want %v", family, got, bridges)
		}
		if got := elements(t, ns, family, "VXLAN-PLUGIN-vxlan-internal"); !slices.Equal(got, internal) {
			t.Errorf("%s internal map holds %v, want %v", family, got, internal)
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
	rules := []links.ForwardRule{bridge("vxbr-a"), bridge("vxbr-b"), internal("vxbr-i")}
	allow(t, k, links.ForwardExact, rules...)
	intact := map[string]string{"ip": exception(t, ns, "ip"), "ip6": exception(t, ns, "ip6")}
	handles := ns.Must(t, "nft", "-a", "list", "ruleset")
	allow(t, k, links.ForwardExact, rules...)
	if again := ns.Must(t, "nft", "-a", "list", "ruleset"); again != handles {
		t.Errorf("a check of an intact exception rewrote it:\nbefore:\n%s\nafter:\n%s", handles, again)
	}

	for _, damage := range []string{
		"iptables-nft -F VXLAN-PLUGIN-vxlan",
		"iptables-nft -D FORWARD -j VXLAN-PLUGIN-vxlan",
		"iptables-nft -D FORWARD -j VXLAN-PLUGIN-vxlan; iptables-nft -F VXLAN-PLUGIN-vxlan; iptables-nft -X VXLAN-PLUGIN-vxlan",
		"iptables-nft -D FORWARD -j VXLAN-PLUGIN-vxlan; iptables-nft -F VXLAN-PLUGIN-vxlan; iptables-nft -X VXLAN-PLUGIN-vxlan; " +
			"nft delete map ip filter VXLAN-PLUGIN-vxlan-bridges; nft delete map ip filter VXLAN-PLUGIN-vxlan-internal",
		"nft flush map ip filter VXLAN-PLUGIN-vxlan-bridges",
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-internal '{ "vxbr-i" . "vxbr-i" }'`,
		`nft add element ip filter VXLAN-PLUGIN-vxlan-bridges '{ "vxbr-stray" : accept }'`,
		`nft delete element ip filter VXLAN-PLUGIN-vxlan-bridges '{ "vxbr-a" }'; nft add element ip filter VXLAN-PLUGIN-vxlan-bridges '{ "vxbr-a" : drop }'`,
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

// BenchmarkAllowForward prints what the firewall exception costs with 10,
// 100 and 1000 bridges already let through: adding one more network's
// bridge (CreateNetwork), the exact check that finds everything in place
// (restart, the periodic check), and withdrawing one bridge (DeleteNetwork).
func BenchmarkAllowForward(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		_, k := firewallHost(b)
		base := make([]links.ForwardRule, n)
		for i := range base {
			base[i] = bridge(fmt.Sprintf("vxbr-%09d", i))
			if i%10 == 0 {
				base[i].Internal = true
			}
		}
		allow(b, k, links.ForwardExact, base...)
		b.Run(fmt.Sprintf("add/bridges=%d", n), func(b *testing.B) {
			for b.Loop() {
				allow(b, k, links.ForwardAdd, bridge("vxbr-bench"))
				b.StopTimer()
				allow(b, k, links.ForwardExact, base...)
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("check/bridges=%d", n), func(b *testing.B) {
			for b.Loop() {
				allow(b, k, links.ForwardExact, base...)
			}
		})
		b.Run(fmt.Sprintf("withdraw/bridges=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				allow(b, k, links.ForwardAdd, bridge("vxbr-bench"))
				b.StartTimer()
				allow(b, k, links.ForwardExact, base...)
			}
		})
	}
}
