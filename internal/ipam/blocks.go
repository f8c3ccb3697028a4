package ipam

import (
	"hash/fnv"
	"iter"
	"net/netip"
)

// Block sizes: 16 IPv4 or 256 IPv6 addresses, as prefix lengths. A range
// too small for minBlocks such blocks is cut into minBlocks smaller ones,
// so that several hosts can still share it.
const (
	blockBits4 = 28
	blockBits6 = 120
	minBlocks  = 4
)

// maxBlockIndex caps how many blocks of a huge range (an IPv6 /64 has
// 2^56) are ever considered; no search gets anywhere near it.
const maxBlockIndex = 1 << 62

// blockBitsFor picks the prefix length of the blocks of range r.
func blockBitsFor(r netip.Prefix) int {
	bits := blockBits4
	if r.Addr().Is6() {
		bits = blockBits6
	}
	if r.Bits()+2 > bits { // fewer than minBlocks (= 1<<2) blocks
		bits = min(r.Bits()+2, r.Addr().BitLen())
	}
	return bits
}

// blockCount is how many blocks of bits the range r has, capped at
// maxBlockIndex.
func blockCount(r netip.Prefix, bits int) uint64 {
	if bits-r.Bits() >= 62 {
		return maxBlockIndex
	}
	return 1 << (bits - r.Bits())
}

// nthBlock is block i of range r.
func nthBlock(r netip.Prefix, bits int, i uint64) netip.Prefix {
	a := r.Masked().Addr()
	base := toU128(a).add(shl(i, a.BitLen()-bits))
	return netip.PrefixFrom(base.addr(a.Is4()), bits)
}

// blockOf is the block of size bits that holds a.
func blockOf(a netip.Addr, bits int) netip.Prefix {
	return netip.PrefixFrom(a, bits).Masked()
}

// startBlock is where node starts looking for a free block among n: a
// hash of its name, so that hosts rarely race for the same block.
func startBlock(node string, n uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	return h.Sum64() % n
}

// addrs yields the addresses of p in order.
func addrs(p netip.Prefix) iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for a := p.Addr(); a.IsValid() && p.Contains(a); a = a.Next() {
			if !yield(a) {
				return
			}
		}
	}
}
