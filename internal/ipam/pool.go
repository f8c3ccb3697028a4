package ipam

import (
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"time"
)

// kind says how this host holds one of its allocated addresses.
type kind string

const (
	kindBlock  kind = "block"  // in a block this host holds
	kindSingle kind = "single" // claimed alone: an address outside the range
	kindShared kind = "shared" // an aux address: a reservation all hosts share
)

// lowWater is how few free addresses in its blocks make a host claim
// another block in the background.
const lowWater = 4

// pool is this host's view of one pool: the shared record as last seen,
// the blocks it holds and the addresses it handed out.
type pool struct {
	id       string
	rec      PoolRecord
	blocks   []netip.Prefix      // this host's blocks of rec.Range, in address order
	addrs    map[netip.Addr]kind // handed out on this host
	pending  []netip.Prefix      // single-address claims given up, not yet released
	released bool                // Docker released the pool; its claims go with its last address
	last     netip.Addr          // the address handed out last

	claim        *flight                 // block claim under way, nil if none
	others       map[netip.Prefix]string // blocks last seen held by other hosts, and by whom
	refillFailed time.Time               // when a background claim last failed
}

func newPool(id string, rec PoolRecord) *pool {
	return &pool{id: id, rec: rec, addrs: map[netip.Addr]kind{}, others: map[netip.Prefix]string{}}
}

// reserved reports whether a may never be handed out: the pool's network
// address (and IPv4 broadcast address), its gateway or an aux address.
func (p *pool) reserved(a netip.Addr) bool {
	pfx := p.rec.Pool
	if a == pfx.Masked().Addr() && pfx.Bits() < pfx.Addr().BitLen()-1 {
		return true // IPv4 network address; IPv6 subnet-router anycast
	}
	if a.Is4() && a == lastAddr(pfx) && pfx.Bits() < 31 {
		return true // broadcast
	}
	return a == p.rec.Gateway || slices.Contains(p.rec.Aux, a)
}

func (p *pool) free(a netip.Addr) bool {
	_, taken := p.addrs[a]
	return !taken && !p.reserved(a)
}

func (p *pool) holds(b netip.Prefix) bool { return slices.Contains(p.blocks, b) }

func (p *pool) addBlock(b netip.Prefix) {
	if p.holds(b) {
		return
	}
	p.blocks = append(p.blocks, b)
	slices.SortFunc(p.blocks, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	delete(p.others, b)
}

// hasUsable reports whether block b has an address that may be handed out.
func (p *pool) hasUsable(b netip.Prefix) bool {
	for a := range addrs(b) {
		if !p.reserved(a) {
			return true
		}
	}
	return false
}

// freeAddrs yields the free addresses of this host's blocks in the order
// they are handed out: after the last one handed out, then from the start.
func (p *pool) freeAddrs() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		after := func(a netip.Addr) bool { return !p.last.IsValid() || a.Compare(p.last) > 0 }
		for _, wrapped := range []bool{false, true} {
			for _, b := range p.blocks {
				if !wrapped && !after(lastAddr(b)) {
					continue // wholly before the last one handed out
				}
				for a := range addrs(b) {
					if after(a) != wrapped && p.free(a) && !yield(a) {
						return
					}
				}
			}
		}
	}
}

// nextFree is the next address to hand out, if the blocks have one.
func (p *pool) nextFree() (netip.Addr, bool) {
	for a := range p.freeAddrs() {
		return a, true
	}
	return netip.Addr{}, false
}

// low reports whether the blocks have fewer than lowWater free addresses.
func (p *pool) low() bool {
	n := 0
	for range p.freeAddrs() {
		if n++; n >= lowWater {
			return false
		}
	}
	return true
}

// checkPreferred refuses a requested address that can never be handed
// out, or is handed out already on this host.
func (p *pool) checkPreferred(a netip.Addr) error {
	pfx := p.rec.Pool
	switch k, taken := p.addrs[a]; {
	case !pfx.Contains(a):
		return fmt.Errorf("address %s is outside pool %s", a, pfx)
	case a == p.rec.Gateway:
		return fmt.Errorf("address %s is the gateway of pool %s", a, pfx)
	case taken && k != kindShared:
		return fmt.Errorf("address %s of pool %s is already in use on this host", a, pfx)
	case slices.Contains(p.rec.Aux, a):
		return nil // a shared reservation, which any number of requests may make
	case taken:
		return fmt.Errorf("address %s of pool %s is already in use on this host", a, pfx)
	case p.reserved(a):
		return fmt.Errorf("address %s is the network or broadcast address of pool %s", a, pfx)
	}
	return nil
}

// highestBlockAddr is the highest address handed out from a block; after
// a restart, addresses are handed out after it.
func (p *pool) highestBlockAddr() netip.Addr {
	var top netip.Addr
	for a, k := range p.addrs {
		if k == kindBlock && (!top.IsValid() || a.Compare(top) > 0) {
			top = a
		}
	}
	return top
}

// hasPending reports whether the pool has claims waiting to be released.
func (p *pool) hasPending() bool {
	return len(p.pending) > 0 || p.released && len(p.addrs) == 0
}
