package ipam

import (
	"net/netip"
	"slices"
	"testing"
)

func TestBlockBits(t *testing.T) {
	for _, tc := range []struct {
		rng  string
		want int
	}{
		{"10.0.0.0/8", 28},
		{"10.42.0.0/24", 28},
		{"10.42.0.0/26", 28}, // exactly 4 blocks of 16
		{"10.42.0.0/27", 29}, // 4 blocks of 8
		{"10.42.0.0/30", 32},
		{"10.42.0.0/31", 32},
		{"10.42.0.1/32", 32},
		{"2001:db8::/64", 120},
		{"2001:db8::/118", 120},
		{"2001:db8::/120", 122},
		{"2001:db8::/127", 128},
	} {
		if got := blockBitsFor(pfx(tc.rng)); got != tc.want {
			t.Errorf("blockBitsFor(%s) = /%d, want /%d", tc.rng, got, tc.want)
		}
	}
}

func TestNthBlockAndCount(t *testing.T) {
	for _, tc := range []struct {
		rng   string
		bits  int
		i     uint64
		want  string
		count uint64
	}{
		{"10.42.0.0/24", 28, 0, "10.42.0.0/28", 16},
		{"10.42.0.0/24", 28, 15, "10.42.0.240/28", 16},
		{"10.42.0.128/25", 28, 3, "10.42.0.176/28", 8},
		{"10.0.0.0/8", 28, 1<<20 - 1, "10.255.255.240/28", 1 << 20},
		{"2001:db8::/64", 120, 1, "2001:db8::100/120", 1 << 56},
		{"2001:db8::/64", 120, 1<<56 - 1, "2001:db8::ffff:ffff:ffff:ff00/120", 1 << 56},
		{"2001:db8::/32", 120, 1 << 61, "2001:db8:0:20::/120", maxBlockIndex}, // capped count
	} {
		if got := nthBlock(pfx(tc.rng), tc.bits, tc.i); got != pfx(tc.want) {
			t.Errorf("nthBlock(%s, /%d, %d) = %s, want %s", tc.rng, tc.bits, tc.i, got, tc.want)
		}
		if got := blockCount(pfx(tc.rng), tc.bits); got != tc.count {
			t.Errorf("blockCount(%s, /%d) = %d, want %d", tc.rng, tc.bits, got, tc.count)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"10.42.0.0/24":    "10.42.0.255",
		"10.42.0.5/32":    "10.42.0.5",
		"0.0.0.0/0":       "255.255.255.255",
		"2001:db8::/64":   "2001:db8::ffff:ffff:ffff:ffff",
		"2001:db8::/120":  "2001:db8::ff",
		"2001:db8::/60":   "2001:db8:0:f:ffff:ffff:ffff:ffff",
		"::/0":            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db8::1/128": "2001:db8::1",
		"10.42.0.77/26":   "10.42.0.127", // host bits ignored
	} {
		if got := lastAddr(pfx(p)); got != ip(want) {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestStartBlockSpreadsHosts(t *testing.T) {
	seen := map[uint64]bool{}
	for _, node := range []string{"host-a", "host-b", "host-c", "host-d", "host-e"} {
		i := startBlock(node, 4096)
		if i >= 4096 {
			t.Fatalf("startBlock(%s) = %d, out of range", node, i)
		}
		if startBlock(node, 4096) != i {
			t.Fatalf("startBlock(%s) is not stable", node)
		}
		seen[i] = true
	}
	if len(seen) < 4 {
		t.Errorf("5 hosts start at only %d distinct blocks of 4096", len(seen))
	}
}

func TestReservedAddresses(t *testing.T) {
	p := newPool("x", PoolRecord{
		Pool: pfx("10.42.0.0/24"), Range: pfx("10.42.0.0/24"), BlockBits: 28,
		Gateway: ip("10.42.0.1"), Aux: []netip.Addr{ip("10.42.0.5")},
	})
	for _, a := range []string{"10.42.0.0", "10.42.0.255", "10.42.0.1", "10.42.0.5"} {
		if !p.reserved(ip(a)) {
			t.Errorf("%s is not reserved", a)
		}
	}
	for _, a := range []string{"10.42.0.2", "10.42.0.254"} {
		if p.reserved(ip(a)) {
			t.Errorf("%s is reserved", a)
		}
	}
	p31 := newPool("y", PoolRecord{Pool: pfx("10.42.0.0/31"), Range: pfx("10.42.0.0/31"), BlockBits: 32})
	if p31.reserved(ip("10.42.0.0")) || p31.reserved(ip("10.42.0.1")) {
		t.Error("a /31 reserves addresses (RFC 3021 uses both)")
	}
	p6 := newPool("z", PoolRecord{Pool: pfx("2001:db8::/64"), Range: pfx("2001:db8::/64"), BlockBits: 120})
	if !p6.reserved(ip("2001:db8::")) || p6.reserved(ip("2001:db8::ffff:ffff:ffff:ffff")) {
		t.Error("IPv6: want the subnet-router anycast address reserved and no broadcast")
	}
}

func TestFreeAddrsOrder(t *testing.T) {
	p := newPool("x", PoolRecord{Pool: pfx("10.42.0.0/24"), Range: pfx("10.42.0.0/24"), BlockBits: 28, Gateway: ip("10.42.0.1")})
	p.addBlock(pfx("10.42.0.32/28"))
	p.addBlock(pfx("10.42.0.0/28"))
	if !slices.Equal(p.blocks, []netip.Prefix{pfx("10.42.0.0/28"), pfx("10.42.0.32/28")}) {
		t.Fatalf("blocks %v not in address order", p.blocks)
	}
	p.last = ip("10.42.0.14")
	p.addrs[ip("10.42.0.32")] = kindBlock
	var got []netip.Addr
	for a := range p.freeAddrs() {
		got = append(got, a)
		if len(got) == 4 {
			break
		}
	}
	want := []netip.Addr{ip("10.42.0.15"), ip("10.42.0.33"), ip("10.42.0.34"), ip("10.42.0.35")}
	if !slices.Equal(got, want) {
		t.Errorf("free addresses after %s: %v, want %v", p.last, got, want)
	}
	p.last = ip("10.42.0.47")
	if a, _ := p.nextFree(); a != ip("10.42.0.2") {
		t.Errorf("after the last address, next free is %s, want a wrap to 10.42.0.2", a)
	}
}
