package ipam

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"
)

// PoolReport is this host's view of one pool, for inspect.
type PoolReport struct {
	ID              string
	Pool            netip.Prefix
	Range           netip.Prefix
	BlockBits       int
	Gateway         netip.Addr     `json:",omitzero"`
	Aux             []netip.Addr   `json:",omitempty"`
	Blocks          []netip.Prefix // held by this host
	Addresses       []AddressReport
	PendingReleases []netip.Prefix `json:",omitempty"`
	Released        bool           `json:",omitempty"` // by Docker; its claims are still being released
}

// AddressReport is one address this host handed out.
type AddressReport struct {
	Addr netip.Addr
	Kind string // "block", "single" (claimed alone) or "shared" (an aux address)
}

// Report is this host's pools and addresses, in pool ID order.
func (a *Allocator) Report() []PoolReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	return report(a.pools)
}

// ReadReport reads the report from a store no allocator has open, for
// inspect while the plugin is not running.
func ReadReport(st Store) ([]PoolReport, error) {
	pools, err := loadPools(st, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return report(pools), nil
}

func report(pools map[string]*pool) []PoolReport {
	out := []PoolReport{}
	for _, id := range slices.Sorted(maps.Keys(pools)) {
		p := pools[id]
		r := PoolReport{
			ID: id, Pool: p.rec.Pool, Range: p.rec.Range, BlockBits: p.rec.BlockBits,
			Gateway: p.rec.Gateway, Aux: slices.Clone(p.rec.Aux),
			Blocks: slices.Clone(p.blocks), PendingReleases: slices.Clone(p.pending), Released: p.released,
			Addresses: []AddressReport{},
		}
		for _, addr := range slices.SortedFunc(maps.Keys(p.addrs), netip.Addr.Compare) {
			r.Addresses = append(r.Addresses, AddressReport{Addr: addr, Kind: string(p.addrs[addr])})
		}
		out = append(out, r)
	}
	return out
}
