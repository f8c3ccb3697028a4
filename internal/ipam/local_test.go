package ipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestLocalClaims(t *testing.T) {
	st := openStore(t)
	c := NewLocalClaims(st, "host-a")
	ctx := context.Background()
	pool := pfx("10.42.0.0/24")
	def := PoolRecord{Pool: pool, Range: pfx("10.42.0.0/25"), BlockBits: 28}

	if err := c.Claim(ctx, pool, pfx("10.42.0.0/28")); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim in an unused pool: %v, want ErrNotFound", err)
	}
	rec, err := c.UsePool(ctx, def)
	if err != nil || rec.Range != def.Range || rec.BlockBits != 28 {
		t.Fatalf("UsePool = %+v, %v", rec, err)
	}
	_, err = c.UsePool(ctx, PoolRecord{Pool: pool, Range: pool, BlockBits: 28})
	wantErr(t, err, "use pool 10.42.0.0/24", "10.42.0.0/25", "host-a")

	gw, err := c.SetGateway(ctx, pool, ip("10.42.0.1"))
	if err != nil || gw != ip("10.42.0.1") {
		t.Fatalf("SetGateway = %s, %v", gw, err)
	}
	if gw, _ := c.SetGateway(ctx, pool, ip("10.42.0.9")); gw != ip("10.42.0.1") {
		t.Errorf("a second SetGateway replaced the gateway with %s", gw)
	}
	for _, claim := range []string{"10.42.0.16/28", "10.42.0.200/32", "10.42.0.16/28"} {
		if err := c.Claim(ctx, pool, pfx(claim)); err != nil {
			t.Fatalf("Claim %s: %v", claim, err)
		}
	}
	wantErr(t, c.Claim(ctx, pool, pfx("10.43.0.0/28")), "claim 10.43.0.0/28 of pool 10.42.0.0/24")
	if held, err := c.Held(ctx, pool); err != nil || !slices.Equal(held, []netip.Prefix{pfx("10.42.0.16/28"), pfx("10.42.0.200/32")}) {
		t.Errorf("Held = %v, %v", held, err)
	}

	// The record outlives the pool's use while claims remain, and goes
	// with the last of them, gateway and all.
	if err := c.ReleasePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if rec, err := c.Pool(ctx, pool); err != nil || rec.Gateway != ip("10.42.0.1") {
		t.Errorf("pool with claims left after its release: %+v, %v", rec, err)
	}
	for _, claim := range []string{"10.42.0.16/28", "10.42.0.200/32", "10.42.0.99/32"} {
		if err := c.Release(ctx, pool, pfx(claim)); err != nil {
			t.Fatalf("Release %s: %v", claim, err)
		}
	}
	if _, err := c.Pool(ctx, pool); !errors.Is(err, ErrNotFound) {
		t.Errorf("pool record after its last claim: %v, want ErrNotFound", err)
	}
	if rec, _ := c.UsePool(ctx, def); rec.Gateway.IsValid() {
		t.Errorf("a new use of the pool inherits the old gateway %s", rec.Gateway)
	}
}
