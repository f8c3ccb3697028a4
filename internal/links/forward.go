package links

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// forwardChain is the plugin's own chain in the iptables "filter" tables.
//
// Docker's firewall sets the FORWARD policy to DROP and, through
// br_netfilter, bridged IP traffic passes FORWARD too: without an exception
// nothing would cross the plugin's bridges. The exception lives in a chain
// the plugin owns, jumped to from FORWARD, and is rebuilt whole from the
// list of bridges, so there is nothing per rule to track or leak. Tables
// that do not exist (no iptables in use) are left alone.
const forwardChain = "DOCKER-VXLAN-PLUGIN"

// AllowForward makes the filter tables accept traffic in and out of the
// given bridges, and only those.
func (k *Kernel) AllowForward(bridges []string) error {
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if err := k.allowForward(family, bridges); err != nil {
			return fmt.Errorf("firewall exception for bridges %v: %w", bridges, err)
		}
	}
	return nil
}

func (k *Kernel) allowForward(family nftables.TableFamily, bridges []string) error {
	c, err := k.nft()
	if err != nil {
		return err
	}
	forward, ours, err := filterChains(c, family)
	if noNFTables(err) {
		return nil // no nf_tables in this kernel: no iptables-nft firewall either
	}
	if err != nil || forward == nil {
		return err // no filter table or FORWARD chain: nothing to get past
	}
	if ours == nil {
		ours = c.AddChain(&nftables.Chain{Name: forwardChain, Table: forward.Table})
	}
	c.FlushChain(ours)
	for _, br := range bridges {
		for _, key := range []expr.MetaKey{expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME} {
			c.AddRule(&nftables.Rule{Table: ours.Table, Chain: ours, Exprs: acceptIfname(key, br)})
		}
	}
	jumps, err := hasJump(c, forward)
	if err != nil {
		return err
	}
	if !jumps {
		c.InsertRule(&nftables.Rule{Table: forward.Table, Chain: forward, Exprs: []expr.Any{
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictJump, Chain: forwardChain},
		}})
	}
	return c.Flush()
}

// filterChains finds the filter table's FORWARD chain and the plugin's own.
func filterChains(c *nftables.Conn, family nftables.TableFamily) (forward, ours *nftables.Chain, err error) {
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
		case forwardChain:
			ours = ch
		}
	}
	return forward, ours, nil
}

func hasJump(c *nftables.Conn, forward *nftables.Chain) (bool, error) {
	rules, err := c.GetRules(forward.Table, forward)
	if err != nil {
		return false, fmt.Errorf("list FORWARD rules: %w", err)
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if v, ok := e.(*expr.Verdict); ok && v.Kind == expr.VerdictJump && v.Chain == forwardChain {
				return true, nil
			}
		}
	}
	return false, nil
}

// acceptIfname is `-i NAME -j ACCEPT` (or -o) as iptables-nft writes it.
func acceptIfname(key expr.MetaKey, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(name + "\x00")},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
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
