package links

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// The exception's objects in one family's filter table, as
// `nft list table ip filter` shows them (driver "vxlan"; vxbr-a is a
// network with hostRouting, vxgw-b one without, vxbr-i an --internal one):
//
//	map VXLAN-PLUGIN-vxlan-links {
//		type ifname : verdict
//		elements = { "vxbr-a" : accept, "vxgw-b" : accept }
//	}
//	map VXLAN-PLUGIN-vxlan-within {
//		type ifname . ifname : verdict
//		elements = { "vxbr-a" . "vxbr-a" : accept, "vxgw-b" . "vxgw-b" : accept, "vxbr-i" . "vxbr-i" : accept }
//	}
//	map VXLAN-PLUGIN-vxlan-all {
//		type ifname : verdict
//		elements = { "vxbr-a" : drop, "vxgw-b" : drop, "vxbr-i" : drop }
//	}
//	set VXLAN-PLUGIN-vxlan-isolated {
//		type ifname
//		elements = { "vxgw-b", "vxbr-i" }
//	}
//	chain FORWARD {
//		...
//		counter jump VXLAN-PLUGIN-vxlan
//	}
//	chain VXLAN-PLUGIN-vxlan {
//		iifname . oifname vmap @VXLAN-PLUGIN-vxlan-within comment "..."
//		iifname @VXLAN-PLUGIN-vxlan-isolated jump VXLAN-ISO-FROM-vxlan comment "..."
//		oifname @VXLAN-PLUGIN-vxlan-isolated jump VXLAN-ISO-TO-vxlan comment "..."
//		iifname vmap @VXLAN-PLUGIN-vxlan-links comment "..."
//		oifname vmap @VXLAN-PLUGIN-vxlan-links comment "..."
//	}
//	chain VXLAN-ISO-FROM-vxlan {
//		oifname vmap @VXLAN-PLUGIN-vxlan-all comment "..."
//	}
//	chain VXLAN-ISO-TO-vxlan {
//		iifname vmap @VXLAN-PLUGIN-vxlan-all comment "..."
//	}
//
// A "link" is where a network's traffic meets the host: a bridge-mode
// network's bridge, or the host-side gateway child of a macvlan/ipvlan
// network. Traffic within one network passes; traffic between two of the
// plugin's networks passes only when both let the host route between them
// (hostRouting), else the isolation chains drop it; traffic between a
// network and anything else passes unless the network is --internal.
//
// Every accept and drop is the verdict of a map element, never of a rule:
// iptables-nft cannot translate a map lookup, and shows such rules by
// their comments only (`-A VXLAN-PLUGIN-vxlan -m comment --comment "..."`).
// An iptables-save/iptables-restore round trip thus brings them back as
// rules that match nothing, never as a blanket `-j ACCEPT` or `-j DROP`,
// and the periodic check restores the real ones. The two jumps are rules'
// verdicts, not map elements': iptables shows them as `-j VXLAN-ISO-...`
// (after a round trip, a jump to a chain whose rules match nothing), and a
// chain referenced from a map element could not be deleted by `iptables
// -F; iptables -X`, which would then fail for the host's whole table.

// Indexes of the exception's maps and set in a forwardLayout.
const (
	objLinks    = iota // map: link → accept, traffic from or to a network with a way out
	objWithin          // map: link . link → accept, traffic within one network
	objAll             // map: link → drop, every link, looked up by the isolation chains
	objIsolated        // set: links of networks the host does not route between
	objCount
)

// forwardLayout names the plugin's objects in a filter table.
type forwardLayout struct {
	chain   string // VXLAN-PLUGIN-<driver>, jumped to from FORWARD
	isoFrom string // VXLAN-ISO-FROM-<driver>: traffic from an isolated network
	isoTo   string // VXLAN-ISO-TO-<driver>: traffic to an isolated network
	objects [objCount]string
	legacy  []string // maps of earlier versions, removed where found
}

func (k *Kernel) forwardLayout() forwardLayout {
	chain := forwardChainName("VXLAN-PLUGIN-", k.driver)
	return forwardLayout{
		chain:   chain,
		isoFrom: forwardChainName("VXLAN-ISO-FROM-", k.driver),
		isoTo:   forwardChainName("VXLAN-ISO-TO-", k.driver),
		objects: [objCount]string{chain + "-links", chain + "-within", chain + "-all", chain + "-isolated"},
		legacy:  []string{chain + "-bridges", chain + "-internal"},
	}
}

// chains are the plugin's chains, those jumped to last.
func (l forwardLayout) chains() []string { return []string{l.isoFrom, l.isoTo, l.chain} }

// forwardChainName names a chain of this driver. iptables allows 28
// characters; a longer driver name is cut and a hash of the whole name
// appended, so two instances never share a chain (cutting alone made
// vxlaninstanceaa1 and vxlaninstanceaa2 rewrite each other's rules).
func forwardChainName(prefix, driver string) string {
	const max = 28
	if name := prefix + driver; len(name) <= max {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(driver))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	return prefix + driver[:max-len(prefix)-len(suffix)] + suffix
}

// elementVerdict is the verdict of every element of object i; nil: a set.
func elementVerdict(i int) *expr.Verdict {
	switch i {
	case objLinks, objWithin:
		return &expr.Verdict{Kind: expr.VerdictAccept}
	case objAll:
		return &expr.Verdict{Kind: expr.VerdictDrop}
	}
	return nil
}

// objectSpecs are the maps and the set. Names are strings in host order:
// nft shows the keys as written only when told so.
func (l forwardLayout) objectSpecs(t *nftables.Table) [objCount]*nftables.Set {
	var specs [objCount]*nftables.Set
	for i, name := range l.objects {
		s := &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
		if i == objWithin {
			s.KeyType = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIFName)
		}
		if elementVerdict(i) != nil {
			s.IsMap, s.DataType = true, nftables.TypeVerdict
		}
		specs[i] = s
	}
	return specs
}

// ruleSpec is one of a chain's rules.
type ruleSpec struct {
	exprs   []expr.Any
	comment string // what iptables -S shows of it
}

// chainRules are each chain's rules, by chain name, looking up the maps
// (which may be created in the same batch: the lookups carry their IDs
// too).
func (l forwardLayout) chainRules(objs [objCount]*nftables.Set) map[string][]ruleSpec {
	links, within, all, isolated := objs[objLinks], objs[objWithin], objs[objAll], objs[objIsolated]
	iif, oif := expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME
	return map[string][]ruleSpec{
		l.chain: {
			{vmap(within, iif, oif), "within one network: accept (nft map " + within.Name + ")"},
			{jumpIf(isolated, iif, l.isoFrom), "from a network the host does not route for (nft set " + isolated.Name + ")"},
			{jumpIf(isolated, oif, l.isoTo), "to a network the host does not route for (nft set " + isolated.Name + ")"},
			{vmap(links, iif), "from a network with a way out: accept (nft map " + links.Name + ")"},
			{vmap(links, oif), "to a network with a way out: accept (nft map " + links.Name + ")"},
		},
		l.isoFrom: {{vmap(all, oif), "to another network of the plugin: drop (nft map " + all.Name + ")"}},
		l.isoTo:   {{vmap(all, iif), "from another network of the plugin: drop (nft map " + all.Name + ")"}},
	}
}

// vmap loads the packet's interface names (each into a 16-byte register
// of its own) and takes the verdict the map holds for them, if any.
func vmap(m *nftables.Set, keys ...expr.MetaKey) []expr.Any {
	var exprs []expr.Any
	for i, key := range keys {
		exprs = append(exprs, &expr.Meta{Key: key, Register: uint32(1 + i)})
	}
	return append(exprs, &expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: m.Name, SetID: m.ID})
}

// jumpIf jumps to chain when the packet's interface is in the set.
func jumpIf(s *nftables.Set, key expr.MetaKey, chain string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chain},
	}
}

// jumpExprs are FORWARD's rule into the chain, as iptables-nft writes
// `-A FORWARD -j VXLAN-PLUGIN-<driver>`.
func (l forwardLayout) jumpExprs() []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictJump, Chain: l.chain}}
}

func (r ruleSpec) rule(ch *nftables.Chain) *nftables.Rule {
	return &nftables.Rule{
		Table: ch.Table, Chain: ch, Exprs: r.exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, r.comment),
	}
}

// sameRules compares the chain's rules with want by what decides: their
// interface loads, lookups and verdicts, ignoring counters and comments.
func sameRules(have []*nftables.Rule, want []ruleSpec) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		if signature(have[i].Exprs) != signature(want[i].exprs) {
			return false
		}
	}
	return true
}

func signature(exprs []expr.Any) string {
	var b strings.Builder
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Counter: // iptables-nft adds one to every rule; it decides nothing
		case *expr.Meta:
			fmt.Fprintf(&b, "meta %d>%d;", e.Key, e.Register)
		case *expr.Lookup:
			fmt.Fprintf(&b, "lookup %d@%s>%d,%t,%t;", e.SourceRegister, e.SetName, e.DestRegister, e.IsDestRegSet, e.Invert)
		case *expr.Verdict:
			fmt.Fprintf(&b, "verdict %d %s;", e.Kind, e.Chain)
		default:
			fmt.Fprintf(&b, "%T;", e) // anything else makes the rule differ
		}
	}
	return b.String()
}

// isJumpTo reports a rule that jumps to chain.
func isJumpTo(r *nftables.Rule, chain string) bool {
	for _, e := range r.Exprs {
		if v, ok := e.(*expr.Verdict); ok && v.Kind == expr.VerdictJump && v.Chain == chain {
			return true
		}
	}
	return false
}
