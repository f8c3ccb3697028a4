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
// `nft list table ip filter` shows them (driver "vxlan"):
//
//	map VXLAN-PLUGIN-vxlan-bridges {
//		type ifname : verdict
//		elements = { "vxbr-0a1b2c3d4e" : accept, ... }
//	}
//	map VXLAN-PLUGIN-vxlan-internal {
//		type ifname . ifname : verdict
//		elements = { "vxbr-isolated" . "vxbr-isolated" : accept, ... }
//	}
//	chain FORWARD {
//		...
//		counter jump VXLAN-PLUGIN-vxlan
//	}
//	chain VXLAN-PLUGIN-vxlan {
//		iifname vmap @VXLAN-PLUGIN-vxlan-bridges comment "..."
//		oifname vmap @VXLAN-PLUGIN-vxlan-bridges comment "..."
//		iifname . oifname vmap @VXLAN-PLUGIN-vxlan-internal comment "..."
//	}
//
// Verdict maps rather than sets with an accept rule: iptables-nft cannot
// translate a map lookup, and shows the rules by their comments only
// (`-A VXLAN-PLUGIN-vxlan -m comment --comment "..."`). An
// iptables-save/iptables-restore round trip thus brings them back as
// rules that match nothing, never as a blanket `-j ACCEPT`, and the
// periodic check restores the real ones.

// forwardLayout names the plugin's objects in a filter table.
type forwardLayout struct {
	chain    string // VXLAN-PLUGIN-<driver>, jumped to from FORWARD
	bridges  string // map: bridge → accept, traffic from or to the bridge
	internal string // map: bridge . bridge → accept, traffic within the bridge
}

func (k *Kernel) forwardLayout() forwardLayout {
	chain := k.forwardChain()
	return forwardLayout{chain: chain, bridges: chain + "-bridges", internal: chain + "-internal"}
}

// forwardChain names the chain of this driver. iptables allows 28
// characters; a longer driver name is cut and a hash of the whole name
// appended, so two instances never share a chain (cutting alone made
// vxlaninstanceaa1 and vxlaninstanceaa2 rewrite each other's rules).
func (k *Kernel) forwardChain() string {
	return forwardChainName(k.driver)
}

func forwardChainName(driver string) string {
	const prefix, max = "VXLAN-PLUGIN-", 28
	if name := prefix + driver; len(name) <= max {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(driver))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	return prefix + driver[:max-len(prefix)-len(suffix)] + suffix
}

// mapSpecs are the two maps, bridges first. Names are strings in host
// order: nft shows the keys as written only when told so.
func (l forwardLayout) mapSpecs(t *nftables.Table) [2]*nftables.Set {
	pair := nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIFName)
	return [2]*nftables.Set{
		{Table: t, Name: l.bridges, IsMap: true, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian},
		{Table: t, Name: l.internal, IsMap: true, KeyType: pair, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian},
	}
}

// ruleSpec is one of the chain's rules.
type ruleSpec struct {
	exprs   []expr.Any
	comment string // what iptables -S shows of it
}

// chainRules are the chain's rules, looking up the maps (which may be
// created in the same batch: the lookups carry their IDs too).
func (l forwardLayout) chainRules(maps [2]*nftables.Set) []ruleSpec {
	bridges, internal := maps[0], maps[1]
	return []ruleSpec{
		{vmap(bridges, expr.MetaKeyIIFNAME), "from bridges in nft map " + l.bridges},
		{vmap(bridges, expr.MetaKeyOIFNAME), "to bridges in nft map " + l.bridges},
		{vmap(internal, expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME), "within bridges in nft map " + l.internal},
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
