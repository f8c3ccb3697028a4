package links

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Docker's firewall sets the FORWARD policy to DROP and, through
// br_netfilter, bridged IP traffic passes FORWARD too: without an exception
// nothing would cross the plugin's bridges. The exception lives in a chain
// the plugin owns in each iptables "filter" table (IPv4, IPv6), appended to
// FORWARD (after Docker's DOCKER-USER and isolation rules, which keep their
// say), and is rewritten whole from the list of bridges when it differs:
// nothing per rule to track or leak. Tables that do not exist (no iptables
// in use) are left alone.

// ForwardRule lets one bridge's traffic through FORWARD.
type ForwardRule struct {
	Bridge   string
	Internal bool // only bridge-to-bridge: an internal segment has no way out
}

// ErrLegacyIptables reports a host whose firewall uses the legacy iptables
// backend, which the plugin cannot write to.
var ErrLegacyIptables = errors.New("the host's firewall uses legacy iptables; add FORWARD ACCEPT rules for the plugin's bridges by hand")

// forwardChain names the chain of this driver (iptables allows 28 chars).
func (k *Kernel) forwardChain() string {
	name := "VXLAN-PLUGIN-" + k.driver
	if len(name) > 28 {
		name = name[:28]
	}
	return name
}

// AllowForward makes the filter tables accept the given bridges' traffic,
// and only theirs. With no rules the chain and its jump are removed.
func (k *Kernel) AllowForward(rules []ForwardRule) error {
	found := false
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		ok, err := k.allowForward(family, rules)
		if err != nil {
			return fmt.Errorf("firewall exception for the plugin's bridges: %w", err)
		}
		found = found || ok
	}
	if !found && len(rules) > 0 && legacyIptables() {
		return ErrLegacyIptables
	}
	return nil
}

// allowForward updates one family; found reports a FORWARD chain to work with.
func (k *Kernel) allowForward(family nftables.TableFamily, rules []ForwardRule) (found bool, err error) {
	c, err := k.nft()
	if err != nil {
		return false, err
	}
	forward, ours, err := k.filterChains(c, family)
	if noNFTables(err) {
		return false, nil // no nf_tables in this kernel: no iptables-nft firewall either
	}
	if err != nil || forward == nil {
		return false, err // no filter table or FORWARD chain: nothing to get past
	}
	jump, err := k.findJump(c, forward)
	if err != nil {
		return true, err
	}
	if len(rules) == 0 {
		return true, k.removeForward(c, jump, ours)
	}
	want := k.forwardExprs(rules)
	if ours != nil && jump != nil {
		same, err := sameRules(c, ours, want)
		if err != nil || same {
			return true, err
		}
	}
	if ours == nil {
		ours = c.AddChain(&nftables.Chain{Name: k.forwardChain(), Table: forward.Table})
	}
	c.FlushChain(ours)
	for _, exprs := range want {
		c.AddRule(&nftables.Rule{Table: ours.Table, Chain: ours, Exprs: exprs})
	}
	if jump == nil {
		c.AddRule(&nftables.Rule{Table: forward.Table, Chain: forward, Exprs: k.jumpExprs()})
	}
	return true, c.Flush() // one batch: the chain is never seen half-written
}

func (k *Kernel) removeForward(c *nftables.Conn, jump *nftables.Rule, ours *nftables.Chain) error {
	if jump != nil {
		if err := c.DelRule(jump); err != nil {
			return err
		}
	}
	if ours != nil {
		c.FlushChain(ours)
		c.DelChain(ours)
	}
	return c.Flush()
}

// filterChains finds the filter table's FORWARD chain and the plugin's own.
func (k *Kernel) filterChains(c *nftables.Conn, family nftables.TableFamily) (forward, ours *nftables.Chain, err error) {
	chains, err := c.ListChainsOfTableFamily(family)
	if err != nil {
		return nil, nil, fmt.Errorf("list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != "filter" {
			continue
		}
		switch ch.Name {
		case "FORWARD":
			forward = ch
		case k.forwardChain():
			ours = ch
		}
	}
	return forward, ours, nil
}

func (k *Kernel) findJump(c *nftables.Conn, forward *nftables.Chain) (*nftables.Rule, error) {
	rules, err := c.GetRules(forward.Table, forward)
	if err != nil {
		return nil, fmt.Errorf("list FORWARD rules: %w", err)
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if v, ok := e.(*expr.Verdict); ok && v.Kind == expr.VerdictJump && v.Chain == k.forwardChain() {
				return r, nil
			}
		}
	}
	return nil, nil
}

func (k *Kernel) jumpExprs() []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictJump, Chain: k.forwardChain()}}
}

// forwardExprs are the chain's rules, as iptables-nft writes
// `-i BR -j ACCEPT`, `-o BR -j ACCEPT` and, internal, `-i BR -o BR -j ACCEPT`.
func (k *Kernel) forwardExprs(rules []ForwardRule) [][]expr.Any {
	var out [][]expr.Any
	for _, r := range rules {
		if r.Internal {
			out = append(out, append(append(ifnameIs(expr.MetaKeyIIFNAME, r.Bridge), ifnameIs(expr.MetaKeyOIFNAME, r.Bridge)...), accept()...))
			continue
		}
		out = append(out,
			append(ifnameIs(expr.MetaKeyIIFNAME, r.Bridge), accept()...),
			append(ifnameIs(expr.MetaKeyOIFNAME, r.Bridge), accept()...))
	}
	return out
}

func ifnameIs(key expr.MetaKey, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(name + "\x00")},
	}
}

func accept() []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}
}

// sameRules compares the chain's rules with want by their interface names
// and verdicts, ignoring counters.
func sameRules(c *nftables.Conn, ours *nftables.Chain, want [][]expr.Any) (bool, error) {
	have, err := c.GetRules(ours.Table, ours)
	if err != nil {
		return false, fmt.Errorf("list %s rules: %w", ours.Name, err)
	}
	if len(have) != len(want) {
		return false, nil
	}
	for i := range want {
		if signature(have[i].Exprs) != signature(want[i]) {
			return false, nil
		}
	}
	return true, nil
}

func signature(exprs []expr.Any) string {
	var b bytes.Buffer
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			fmt.Fprintf(&b, "meta%d;", e.Key)
		case *expr.Cmp:
			fmt.Fprintf(&b, "cmp%q;", e.Data)
		case *expr.Verdict:
			fmt.Fprintf(&b, "verdict%d%s;", e.Kind, e.Chain)
		}
	}
	return b.String()
}

// noNFTables recognises the errors of a kernel without nf_tables (or
// without nfnetlink at all).
func noNFTables(err error) bool {
	for _, e := range []error{unix.EINVAL, unix.ENOENT, unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// legacyIptables reports tables of the legacy iptables backend in use.
func legacyIptables() bool {
	names, err := os.ReadFile("/proc/net/ip_tables_names")
	return err == nil && len(bytes.TrimSpace(names)) > 0
}
