package ipam

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 is an address as a 128-bit number (IPv4 addresses in their
// IPv4-mapped form), for block arithmetic that netip does not offer.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// addr converts back; is4 gives an IPv4 address.
func (v u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (v u128) add(w u128) u128 {
	lo, carry := bits.Add64(v.lo, w.lo, 0)
	hi, _ := bits.Add64(v.hi, w.hi, carry)
	return u128{hi: hi, lo: lo}
}

// shl returns n << s, for s < 128.
func shl(n uint64, s int) u128 {
	switch {
	case s == 0:
		return u128{lo: n}
	case s < 64:
		return u128{hi: n >> (64 - s), lo: n << s}
	default:
		return u128{hi: n << (s - 64)}
	}
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	hostBits := p.Addr().BitLen() - p.Bits()
	v := toU128(p.Masked().Addr())
	if hostBits >= 64 {
		v.lo = ^uint64(0)
		v.hi |= 1<<(hostBits-64) - 1
	} else {
		v.lo |= 1<<hostBits - 1
	}
	return v.addr(p.Addr().Is4())
}
