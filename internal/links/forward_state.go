package links

import (
	"fmt"

	"github.com/google/nftables"
)

// forwardState is what one family's filter table holds of the exception:
// a few small reads, whatever the number of bridges.
type forwardState struct {
	table   *nftables.Table
	forward *nftables.Chain          // FORWARD; nil: no firewall to get past
	chain   *nftables.Chain          // the plugin's chain; nil if missing
	jumps   []*nftables.Rule         // FORWARD's rules that jump to it
	rules   []*nftables.Rule         // its rules
	maps    map[string]*nftables.Set // the plugin's maps found, by name
}

// readForward reads the filter table of family.
func readForward(c *nftables.Conn, family nftables.TableFamily, l forwardLayout) (*forwardState, error) {
	chains, err := c.ListChainsOfTableFamily(family)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	st := &forwardState{maps: map[string]*nftables.Set{}}
	for _, ch := range chains {
		if ch.Table.Name != "filter" {
			continue
		}
		switch ch.Name {
		case "FORWARD":
			st.forward, st.table = ch, ch.Table
		case l.chain:
			st.chain = ch
		}
	}
	if st.forward == nil {
		return st, nil
	}
	if st.jumps, err = jumpsTo(c, st.forward, l.chain); err != nil {
		return nil, err
	}
	if st.chain != nil {
		if st.rules, err = c.GetRules(st.table, st.chain); err != nil {
			return nil, fmt.Errorf("list %s rules: %w", l.chain, err)
		}
	}
	sets, err := c.GetSets(st.table)
	if err != nil {
		return nil, fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		if s.Name == l.bridges || s.Name == l.internal {
			st.maps[s.Name] = s
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

// queueLayout queues whatever of the chain, its maps, its rules and its
// jump is missing or altered, and returns the two maps (found or queued).
func (st *forwardState) queueLayout(c *nftables.Conn, l forwardLayout) ([2]*nftables.Set, error) {
	maps, fresh, err := st.queueMaps(c, l)
	if err != nil {
		return maps, err
	}
	if st.chain == nil {
		st.chain = c.AddChain(&nftables.Chain{Name: l.chain, Table: st.table})
	}
	want := l.chainRules(maps)
	if fresh || !sameRules(st.rules, want) {
		st.queueFlush(c)
		for _, r := range want {
			c.AddRule(r.rule(st.chain))
		}
	}
	if len(st.jumps) == 0 {
		c.AddRule(&nftables.Rule{Table: st.table, Chain: st.forward, Exprs: l.jumpExprs()})
	}
	return maps, nil
}

// queueMaps queues the maps that are missing, or replaced because they
// are not verdict maps; fresh reports any, which the rules must look up
// anew.
func (st *forwardState) queueMaps(c *nftables.Conn, l forwardLayout) (maps [2]*nftables.Set, fresh bool, err error) {
	maps = l.mapSpecs(st.table)
	for i, spec := range maps {
		have := st.maps[spec.Name]
		if have != nil && have.IsMap {
			maps[i] = have
			continue
		}
		fresh = true
		if have != nil {
			st.queueFlush(c) // a set still looked up cannot go
			c.DelSet(have)
		}
		if err := c.AddSet(spec, nil); err != nil {
			return maps, fresh, fmt.Errorf("add map %s: %w", spec.Name, err)
		}
	}
	return maps, fresh, nil
}

// queueFlush queues the removal of the chain's rules, if it has any.
func (st *forwardState) queueFlush(c *nftables.Conn) {
	if st.chain != nil && len(st.rules) > 0 {
		c.FlushChain(st.chain)
		st.rules = nil
	}
}

// queueRemoval queues the removal of everything of the exception there is:
// jumps first, then the chain, then the maps its rules looked up.
func (st *forwardState) queueRemoval(c *nftables.Conn) error {
	for _, j := range st.jumps {
		if err := c.DelRule(j); err != nil {
			return fmt.Errorf("delete FORWARD jump: %w", err)
		}
	}
	if st.chain != nil {
		c.FlushChain(st.chain)
		c.DelChain(st.chain)
	}
	for _, m := range st.maps {
		c.DelSet(m)
	}
	return nil
}
