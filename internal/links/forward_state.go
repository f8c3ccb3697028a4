package links

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
)

// forwardState is what one family's filter table holds of the exception:
// a few small reads, whatever the number of links.
type forwardState struct {
	table   *nftables.Table
	forward *nftables.Chain             // FORWARD; nil: no firewall to get past
	chains  map[string]*nftables.Chain  // the plugin's chains found, by name
	rules   map[string][]*nftables.Rule // their rules, by chain name
	jumps   []*nftables.Rule            // FORWARD's rules that jump to the main chain
	sets    map[string]*nftables.Set    // the plugin's maps and set found (and legacy maps), by name
}

// readForward reads the filter table of family.
func readForward(c *nftables.Conn, family nftables.TableFamily, l forwardLayout) (*forwardState, error) {
	chains, err := c.ListChainsOfTableFamily(family)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	st := &forwardState{chains: map[string]*nftables.Chain{}, rules: map[string][]*nftables.Rule{}, sets: map[string]*nftables.Set{}}
	for _, ch := range chains {
		switch {
		case ch.Table.Name != "filter":
		case ch.Name == "FORWARD":
			st.forward, st.table = ch, ch.Table
		case slices.Contains(l.chains(), ch.Name):
			st.chains[ch.Name] = ch
		}
	}
	if st.forward == nil {
		return st, nil
	}
	if st.jumps, err = jumpsTo(c, st.forward, l.chain); err != nil {
		return nil, err
	}
	for name, ch := range st.chains {
		if st.rules[name], err = c.GetRules(st.table, ch); err != nil {
			return nil, fmt.Errorf("list %s rules: %w", name, err)
		}
	}
	sets, err := c.GetSets(st.table)
	if err != nil {
		return nil, fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		if slices.Contains(l.objects[:], s.Name) || slices.Contains(l.legacy, s.Name) {
			st.sets[s.Name] = s
		}
	}
	return st, nil
}

func jumpsTo(c *nftables.Conn, forward *nftables.Chain, chain string) ([]*nftables.Rule, error) {
	rules, err := c.GetRules(forward.Table, forward)
	if err != nil {
		return nil, fmt.Errorf("list FORWARD rules: %w", err)
	}
	var jumps []*nftables.Rule
	for _, r := range rules {
		if isJumpTo(r, chain) {
			jumps = append(jumps, r)
		}
	}
	return jumps, nil
}

// queueLayout queues whatever of the chains, their maps and set, their
// rules and the jump is missing or altered, and the removal of an earlier
// version's maps; it returns the maps and the set (found or queued).
func (st *forwardState) queueLayout(c *nftables.Conn, l forwardLayout) ([objCount]*nftables.Set, error) {
	objs, fresh, err := st.queueObjects(c, l)
	if err != nil {
		return objs, err
	}
	for _, name := range l.chains() { // the isolation chains first: the main one jumps to them
		if st.chains[name] == nil {
			st.chains[name] = c.AddChain(&nftables.Chain{Name: name, Table: st.table})
		}
	}
	for name, want := range l.chainRules(objs) {
		if fresh || !sameRules(st.rules[name], want) {
			st.queueFlush(c, name)
			for _, r := range want {
				c.AddRule(r.rule(st.chains[name]))
			}
		}
	}
	for _, name := range l.legacy {
		if s := st.sets[name]; s != nil { // its rules, which differ, went above
			c.DelSet(s)
		}
	}
	if len(st.jumps) == 0 {
		c.AddRule(&nftables.Rule{Table: st.table, Chain: st.forward, Exprs: l.jumpExprs()})
	}
	return objs, nil
}

// queueObjects queues the maps and the set that are missing, or replaced
// because they are of another kind; fresh reports any, which the rules
// must look up anew.
func (st *forwardState) queueObjects(c *nftables.Conn, l forwardLayout) (objs [objCount]*nftables.Set, fresh bool, err error) {
	objs = l.objectSpecs(st.table)
	for i, spec := range objs {
		have := st.sets[spec.Name]
		if have != nil && have.IsMap == spec.IsMap {
			objs[i] = have
			continue
		}
		fresh = true
		if have != nil {
			st.queueFlushAll(c) // a set still looked up cannot go
			c.DelSet(have)
		}
		if err := c.AddSet(spec, nil); err != nil {
			return objs, fresh, fmt.Errorf("add %s: %w", spec.Name, err)
		}
	}
	return objs, fresh, nil
}

// queueFlush queues the removal of a chain's rules, if it has any.
func (st *forwardState) queueFlush(c *nftables.Conn, name string) {
	if ch := st.chains[name]; ch != nil && len(st.rules[name]) > 0 {
		c.FlushChain(ch)
		st.rules[name] = nil
	}
}

func (st *forwardState) queueFlushAll(c *nftables.Conn) {
	for name := range st.chains {
		st.queueFlush(c, name)
	}
}

// queueRemoval queues the removal of everything of the exception there is:
// the jumps first, then the chains' rules, the chains, and the maps and
// set their rules looked up.
func (st *forwardState) queueRemoval(c *nftables.Conn) error {
	for _, j := range st.jumps {
		if err := c.DelRule(j); err != nil {
			return fmt.Errorf("delete FORWARD jump: %w", err)
		}
	}
	for _, ch := range st.chains {
		c.FlushChain(ch)
	}
	for _, ch := range st.chains {
		c.DelChain(ch)
	}
	for _, s := range st.sets {
		c.DelSet(s)
	}
	return nil
}
