// Package ipam is the plugin's IPAM driver: it serves Docker's IPAM
// protocol (through internal/protocol) for pools that several hosts may
// share.
//
// Addresses come in blocks, as in Calico: a pool's dynamic range (the
// --ip-range, else the pool) is cut into aligned blocks, and a host hands
// out dynamic addresses only from blocks it holds. Claiming a block is one
// atomic change in the shared state (Claims); handing out an address from
// a held block is local and needs no shared state at all, so containers
// still start while the shared state is unreachable. A host claims one
// block when a pool is requested and another in the background when its
// free addresses run low.
//
// Claims decides who holds what: in cluster mode etcd (internal/cluster),
// otherwise this host's store (LocalClaims). The allocator runs the same
// code in both modes. This host's own allocations and blocks are kept in
// its store, in versioned records, so they survive plugin restarts even
// while the shared state is unreachable.
package ipam
