package ipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestRequestPoolRefusals(t *testing.T) {
	a, _ := localAlloc(t)
	for _, tc := range []struct {
		name string
		req  PoolRequest
		want []string
	}{
		{"no default IPv4 pool", PoolRequest{}, []string{"no default pools", "IPv4 --subnet"}},
		{"no default IPv6 pool", PoolRequest{V6: true}, []string{"no default pools", "IPv6 --subnet"}},
		{"IPv4 pool for IPv6", PoolRequest{Pool: pfx("10.42.0.0/24"), V6: true}, []string{"10.42.0.0/24", "IPv6"}},
		{"IPv6 pool for IPv4", PoolRequest{Pool: pfx("2001:db8::/64")}, []string{"2001:db8::/64", "IPv4"}},
		{"range outside pool", PoolRequest{Pool: pfx("10.42.0.0/24"), SubPool: pfx("10.43.0.0/25")}, []string{"--ip-range", "10.43.0.0/25", "10.42.0.0/24"}},
		{"range wider than pool", PoolRequest{Pool: pfx("10.42.0.0/24"), SubPool: pfx("10.42.0.0/23")}, []string{"--ip-range", "10.42.0.0/23"}},
		{"IPv4 range in IPv6 pool", PoolRequest{Pool: pfx("2001:db8::/64"), SubPool: pfx("10.42.0.0/24"), V6: true}, []string{"--ip-range", "10.42.0.0/24"}},
		{"options", PoolRequest{Pool: pfx("10.42.0.0/24"), Options: map[string]string{"foo": "1"}}, []string{"--ipam-opt", "foo"}},
		{"address space", PoolRequest{AddressSpace: "LocalDefault", Pool: pfx("10.42.0.0/24")}, []string{"LocalDefault", AddressSpace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.RequestPool(context.Background(), tc.req)
			wantErr(t, err, tc.want...)
		})
	}
	if r := a.Report(); len(r) != 0 {
		t.Errorf("refused requests left pools behind: %+v", r)
	}
}

func TestRequestPoolIDAndIdempotence(t *testing.T) {
	a, _ := localAlloc(t)
	ctx := context.Background()
	r1, err := a.RequestPool(ctx, PoolRequest{AddressSpace: AddressSpace, Pool: pfx("10.42.0.7/24")})
	if err != nil {
		t.Fatal(err)
	}
	if r1.PoolID != "vxlan/10.42.0.0/24" || r1.Pool != pfx("10.42.0.0/24") {
		t.Errorf("RequestPool = %+v, want ID vxlan/10.42.0.0/24 for pool 10.42.0.0/24", r1)
	}
	r2, err := a.RequestPool(ctx, PoolRequest{Pool: pfx("10.42.0.0/24")})
	if err != nil || r2.PoolID != r1.PoolID {
		t.Errorf("second RequestPool = %+v, %v; want the same ID", r2, err)
	}
	if rep := poolReport(t, a, r1.PoolID); len(rep.Blocks) != 1 {
		t.Errorf("after two requests the pool holds blocks %v, want one claimed in advance", rep.Blocks)
	}
	r3, err := a.RequestPool(ctx, PoolRequest{Pool: pfx("2001:db8::/64"), SubPool: pfx("2001:db8::100/120"), V6: true})
	if err != nil || r3.PoolID != "vxlan/2001:db8::/64/2001:db8::100/120" {
		t.Errorf("IPv6 RequestPool with range = %+v, %v", r3, err)
	}
	local, global := a.DefaultAddressSpaces()
	if local != AddressSpace || global != AddressSpace {
		t.Errorf("address spaces %q %q", local, global)
	}
	if c := a.Capabilities(); c.RequiresMACAddress || c.RequiresRequestReplay {
		t.Errorf("capabilities %+v, want neither", c)
	}
}

func TestSequenceAndReuse(t *testing.T) {
	a, _ := localAlloc(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	gw, err := gateway(a, id, "")
	if err != nil || gw != pfx("10.42.0.1/24") {
		t.Fatalf("gateway = %s, %v; want 10.42.0.1/24", gw, err)
	}
	// The host's first block starts at an offset derived from its name.
	var got []netip.Addr
	for range 3 {
		got = append(got, mustRequest(t, a, id, ""))
	}
	base := got[0]
	if !slices.Equal(got, []netip.Addr{base, base.Next(), base.Next().Next()}) {
		t.Fatalf("first addresses %v, want three in sequence", got)
	}
	mustRelease(t, a, id, got[1])
	if next := mustRequest(t, a, id, ""); next != got[2].Next() {
		t.Errorf("after releasing %s the next address is %s, want %s (in sequence, not the one just released)", got[1], next, got[2].Next())
	}
	if again := mustRequest(t, a, id, got[1].String()); again != got[1] {
		t.Errorf("the released %s, asked for, is %s", got[1], again)
	}
	if rep := poolReport(t, a, id); len(rep.Addresses) != 4 || rep.Gateway != ip("10.42.0.1") {
		t.Errorf("report %+v, want 4 addresses and gateway .1", rep)
	}
}

func TestNeverHandsOutReserved(t *testing.T) {
	a, _ := localAlloc(t)
	id := requestPool(t, a, "10.42.0.0/28", "") // 4 blocks of 4
	if _, err := gateway(a, id, "10.42.0.14"); err != nil {
		t.Fatal(err)
	}
	mustRequest(t, a, id, "10.42.0.6") // as dockerd reserves an aux address
	seen := map[netip.Addr]bool{}
	for {
		got, err := request(a, id, "", nil)
		if err != nil {
			var full *ExhaustedError
			if !errors.As(err, &full) {
				t.Fatalf("error %v, want an *ExhaustedError", err)
			}
			wantErr(t, err, "10.42.0.0/28", "exhausted", "10.42.0.0/30")
			break
		}
		a := got.Addr()
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
		if got.Bits() != 28 {
			t.Errorf("%s: want the pool's prefix length", got)
		}
	}
	for _, r := range []string{"10.42.0.0", "10.42.0.15", "10.42.0.14", "10.42.0.6"} {
		if seen[ip(r)] {
			t.Errorf("reserved %s handed out", r)
		}
	}
	if len(seen) != 12 {
		t.Errorf("handed out %d addresses of a /28 less 4 reserved, want 12", len(seen))
	}
}

func TestPreferredAddresses(t *testing.T) {
	a, _ := localAlloc(t)
	id := requestPool(t, a, "10.42.0.0/24", "10.42.0.128/25")
	if _, err := gateway(a, id, "10.42.0.1"); err != nil {
		t.Fatal(err)
	}
	if got := mustRequest(t, a, id, "10.42.0.200"); got != ip("10.42.0.200") {
		t.Fatalf("asked for .200, got %s", got)
	}
	_, err := request(a, id, "10.42.0.200", nil)
	wantErr(t, err, "10.42.0.200", "already in use")

	for want, parts := range map[string][]string{
		"10.43.0.1":   {"10.43.0.1", "outside pool 10.42.0.0/24"},
		"10.42.0.0":   {"10.42.0.0", "network or broadcast"},
		"10.42.0.255": {"10.42.0.255", "network or broadcast"},
		"10.42.0.1":   {"10.42.0.1", "gateway"},
	} {
		_, err := request(a, id, want, nil)
		wantErr(t, err, parts...)
	}

	// Outside the range but in the pool: claimed alone.
	if got := mustRequest(t, a, id, "10.42.0.10"); got != ip("10.42.0.10") {
		t.Fatalf("asked for .10 outside the range, got %s", got)
	}
	claims := a.claims.(*LocalClaims)
	held, _ := claims.Held(context.Background(), pfx("10.42.0.0/24"))
	if !slices.Contains(held, pfx("10.42.0.10/32")) {
		t.Errorf("claims %v lack 10.42.0.10/32", held)
	}
	mustRelease(t, a, id, ip("10.42.0.10"))
	held, _ = claims.Held(context.Background(), pfx("10.42.0.0/24"))
	if slices.Contains(held, pfx("10.42.0.10/32")) {
		t.Errorf("released 10.42.0.10 is still claimed: %v", held)
	}
	// Dynamic addresses come from the range only.
	for range 20 {
		if got := mustRequest(t, a, id, ""); !pfx("10.42.0.128/25").Contains(got) {
			t.Fatalf("dynamic address %s outside the --ip-range", got)
		}
	}
}

func TestGatewayRequests(t *testing.T) {
	a, _ := localAlloc(t)
	id := requestPool(t, a, "10.42.0.0/24", "10.42.0.64/26")
	gw, err := gateway(a, id, "")
	if err != nil || gw != pfx("10.42.0.64/24") {
		t.Fatalf("default gateway %s, %v; want the range's first address 10.42.0.64/24", gw, err)
	}
	if again, err := gateway(a, id, "10.42.0.64"); err != nil || again != gw {
		t.Errorf("asking for the recorded gateway: %s, %v", again, err)
	}
	_, err = gateway(a, id, "10.42.0.254")
	wantErr(t, err, "10.42.0.0/24", "already has gateway 10.42.0.64")
	mustRelease(t, a, id, ip("10.42.0.64")) // a no-op
	if rep := poolReport(t, a, id); rep.Gateway != ip("10.42.0.64") {
		t.Errorf("after releasing it the gateway is %s", rep.Gateway)
	}
	if got := mustRequest(t, a, id, ""); got == ip("10.42.0.64") {
		t.Error("the gateway was handed out as a container address")
	}
	_, err = gateway(a, "vxlan/10.99.0.0/24", "")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("gateway of an unknown pool: %v, want ErrNotFound", err)
	}
	_, err = request(a, "vxlan/10.99.0.0/24", "", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("address of an unknown pool: %v, want ErrNotFound", err)
	}
}

func TestIPv6Pool(t *testing.T) {
	a, _ := localAlloc(t)
	id := requestPool(t, a, "2001:db8:1::/64", "")
	gw, err := gateway(a, id, "")
	if err != nil || gw != pfx("2001:db8:1::1/64") {
		t.Fatalf("IPv6 gateway %s, %v", gw, err)
	}
	first := mustRequest(t, a, id, "")
	rep := poolReport(t, a, id)
	if len(rep.Blocks) != 1 || rep.Blocks[0].Bits() != 120 || !rep.Blocks[0].Contains(first) {
		t.Errorf("address %s, blocks %v: want it from one /120 block", first, rep.Blocks)
	}
	if got := mustRequest(t, a, id, "2001:db8:1::abcd:1"); got != ip("2001:db8:1::abcd:1") {
		t.Errorf("preferred IPv6 address: %s", got)
	}
}

func TestReleasePoolReleasesEverything(t *testing.T) {
	a, st := localAlloc(t)
	ctx := context.Background()
	id := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	gateway(a, id, "")
	var got []netip.Addr
	for range 20 { // two blocks' worth
		got = append(got, mustRequest(t, a, id, ""))
	}
	got = append(got, mustRequest(t, a, id, "10.42.0.200")) // a single claim
	if err := a.ReleasePool(ctx, id); err != nil {
		t.Fatal(err)
	}
	claims := a.claims.(*LocalClaims)
	if held, _ := claims.Held(ctx, pfx("10.42.0.0/24")); len(held) == 0 {
		t.Fatal("pool released with addresses left: its claims went with it")
	}
	for _, g := range got {
		mustRelease(t, a, id, g)
	}
	if held, _ := claims.Held(ctx, pfx("10.42.0.0/24")); len(held) != 0 {
		t.Errorf("claims left after the last address: %v", held)
	}
	if _, err := claims.Pool(ctx, pfx("10.42.0.0/24")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the pool's record outlives its last use: %v", err)
	}
	if r := a.Report(); len(r) != 0 {
		t.Errorf("released pool still reported: %+v", r)
	}
	for _, b := range []string{bucketPools, bucketAddresses, bucketLocalClaims} {
		st.List(b, func(key string, _ func(any) error) error {
			t.Errorf("store keeps %s/%s", b, key)
			return nil
		})
	}
	// Released: asking for its addresses is an error, releasing again is not.
	if _, err := request(a, id, "", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("address from a released pool: %v", err)
	}
	if err := a.ReleasePool(ctx, id); err != nil {
		t.Errorf("second ReleasePool: %v", err)
	}
	if err := a.ReleaseAddress(ctx, id, ip("10.42.0.2")); err != nil {
		t.Errorf("ReleaseAddress in a released pool: %v", err)
	}
}

func TestRestartKeepsAllocations(t *testing.T) {
	st := openStore(t)
	claims := NewLocalClaims(st, "host-a")
	a := newAlloc(t, claims, st)
	id := requestPool(t, a, "10.42.0.0/24", "")
	gateway(a, id, "")
	var got []netip.Addr
	for range 5 {
		got = append(got, mustRequest(t, a, id, ""))
	}
	mustRelease(t, a, id, got[1])
	before := a.Report()
	a.Close()

	b := newAlloc(t, claims, st)
	after := b.Report()
	if len(after) != 1 || !slices.EqualFunc(before[0].Addresses, after[0].Addresses, func(x, y AddressReport) bool { return x == y }) ||
		!slices.Equal(before[0].Blocks, after[0].Blocks) || after[0].Gateway != before[0].Gateway {
		t.Fatalf("after a restart\n %+v\nwant\n %+v", after, before)
	}
	if next := mustRequest(t, b, id, ""); next != got[4].Next() {
		t.Errorf("after a restart the next address is %s, want %s after the highest", next, got[4].Next())
	}
	if old := mustRequest(t, b, id, got[1].String()); old != got[1] {
		t.Errorf("a restarted container's old address: %s, want %s", old, got[1])
	}
	if _, err := request(b, id, got[2].String(), nil); err == nil {
		t.Error("an address handed out before the restart was handed out again")
	}
}

func TestStoreRecordVersion(t *testing.T) {
	st := openStore(t)
	if err := st.Put(bucketPools, "vxlan/10.42.0.0/24", map[string]any{"v": 2, "id": "vxlan/10.42.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	_, err := New(NewLocalClaims(st, "host-a"), st, nil)
	wantErr(t, err, "vxlan/10.42.0.0/24", "version 2")
}

func TestReadReport(t *testing.T) {
	a, st := localAlloc(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	got := mustRequest(t, a, id, "")
	rep, err := ReadReport(st)
	if err != nil || len(rep) != 1 || len(rep[0].Addresses) != 1 || rep[0].Addresses[0] != (AddressReport{got, "block"}) {
		t.Errorf("ReadReport = %+v, %v", rep, err)
	}
}
