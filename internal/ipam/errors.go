package ipam

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// ExhaustedError is a pool with no free address left for this host: its
// own blocks are full and every other block is held by another host.
type ExhaustedError struct {
	Pool   netip.Prefix
	Node   string                  // this host
	Own    []netip.Prefix          // this host's blocks, all full
	Others map[netip.Prefix]string // the other blocks, and the host holding each
}

// maxListed bounds how many blocks the message lists per host.
const maxListed = 8

func (e *ExhaustedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pool %s is exhausted for host %s: ", e.Pool, e.Node)
	if len(e.Own) > 0 {
		fmt.Fprintf(&b, "its blocks %s are full", listPrefixes(e.Own))
	} else {
		b.WriteString("it holds no block")
	}
	if len(e.Others) == 0 {
		b.WriteString(" and no other block has an address to hand out")
		return b.String()
	}
	byHolder := map[string][]netip.Prefix{}
	for blk, h := range e.Others {
		byHolder[h] = append(byHolder[h], blk)
	}
	b.WriteString(" and every other block is held:")
	for i, h := range slices.Sorted(maps.Keys(byHolder)) {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " host %s holds %s", h, listPrefixes(byHolder[h]))
	}
	return b.String()
}

// listPrefixes lists prefixes in address order, at most maxListed of them.
func listPrefixes(ps []netip.Prefix) string {
	ps = slices.SortedFunc(slices.Values(ps), func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	var s []string
	for _, p := range ps[:min(len(ps), maxListed)] {
		s = append(s, p.String())
	}
	if len(ps) > maxListed {
		s = append(s, fmt.Sprintf("and %d more", len(ps)-maxListed))
	}
	return strings.Join(s, ", ")
}
