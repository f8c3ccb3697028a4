package ipam

import (
	"context"
	"fmt"
	"net/netip"
)

// PoolRecord is what every host using a pool agrees on. It is written once,
// by the first host that requests the pool, and read by the others.
type PoolRecord struct {
	Pool      netip.Prefix
	Range     netip.Prefix // --ip-range: where dynamic addresses come from; the pool itself when not given
	BlockBits int          // prefix length of the blocks hosts claim from Range
	Gateway   netip.Addr   // shared by every host; zero until the first gateway request
	Aux       []netip.Addr // --aux-address: shared reservations, never handed out
}

// Claims keeps the state a pool shares between hosts: its record, which host
// holds which block of its range, and single addresses claimed outside the
// range. Cluster mode keeps it in etcd (internal/cluster); without a
// cluster, this host's store keeps it (LocalClaims). Every change is atomic:
// two hosts never both succeed in claiming the same thing.
type Claims interface {
	// Node names this host in claims.
	Node() string
	// UsePool records this host's use of a pool. A new pool's record is
	// created from def; a known one is returned as stored, unless def
	// disagrees with it (another Range): then an error names the holder.
	UsePool(ctx context.Context, def PoolRecord) (PoolRecord, error)
	// Pool returns a pool's record as stored.
	Pool(ctx context.Context, pool netip.Prefix) (PoolRecord, error)
	// ReleasePool withdraws this host's use of a pool. The record, with
	// its gateway, goes when no host uses the pool and no claim remains.
	ReleasePool(ctx context.Context, pool netip.Prefix) error
	// SetGateway records the pool's gateway unless one is recorded
	// already, and returns the recorded one.
	SetGateway(ctx context.Context, pool netip.Prefix, gw netip.Addr) (netip.Addr, error)
	// Claim claims a block of the pool's range, or a single address
	// (a /32 or /128) outside it, for this host. Claiming what this host
	// already holds succeeds; what another host holds fails with a
	// *HeldError.
	Claim(ctx context.Context, pool, p netip.Prefix) error
	// Release gives up a claim of this host; an unknown claim is not an error.
	Release(ctx context.Context, pool, p netip.Prefix) error
	// Held lists this host's claims in a pool.
	Held(ctx context.Context, pool netip.Prefix) ([]netip.Prefix, error)
}

// HeldError is a claim refused because another host holds it.
type HeldError struct {
	Pool, Claim netip.Prefix
	Holder      string
}

func (e *HeldError) Error() string {
	if e.Claim.IsSingleIP() {
		return fmt.Sprintf("address %s of pool %s is held by host %s", e.Claim.Addr(), e.Pool, e.Holder)
	}
	return fmt.Sprintf("block %s of pool %s is held by host %s", e.Claim, e.Pool, e.Holder)
}
