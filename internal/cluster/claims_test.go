package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func poolDef(pool, rng string, blockBits int) ipam.PoolRecord {
	def := ipam.PoolRecord{Pool: pfx(pool), BlockBits: blockBits}
	if rng != "" {
		def.Range = pfx(rng)
	}
	return def
}

func wantHeld(t *testing.T, err error, claim, holder string) {
	t.Helper()
	var he *ipam.HeldError
	if !errors.As(err, &he) || he.Claim != pfx(claim) || he.Holder != holder {
		t.Fatalf("want %s held by %s, got %v", claim, holder, err)
	}
}

// Three hosts, eight goroutines each, all claiming the same sixteen blocks
// at once: every block ends up with exactly one holder, and each host's
// Held lists exactly what it won.
func TestClaimConcurrent(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	c := ctxT(t)
	pool := pfx("10.50.0.0/24")
	var blocks []netip.Prefix
	for i := range 16 {
		blocks = append(blocks, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 50, 0, byte(16 * i)}), 28))
	}
	nodes := map[string]*node{}
	for _, name := range []string{"a", "b", "c"} {
		nodes[name] = newNode(t, s.Endpoint(), name)
		if _, err := nodes[name].UsePool(c, poolDef("10.50.0.0/24", "", 28)); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	won := map[netip.Prefix]map[string]bool{} // block → hosts whose Claim succeeded
	var wg sync.WaitGroup
	for name, n := range nodes {
		for range 8 {
			wg.Go(func() {
				for _, i := range rand.Perm(len(blocks)) {
					err := n.Claim(c, pool, blocks[i])
					var he *ipam.HeldError
					switch {
					case err == nil:
						mu.Lock()
						if won[blocks[i]] == nil {
							won[blocks[i]] = map[string]bool{}
						}
						won[blocks[i]][name] = true
						mu.Unlock()
					case errors.As(err, &he) && he.Holder != name && he.Claim == blocks[i]:
					default:
						t.Errorf("%s claim %s: %v", name, blocks[i], err)
					}
				}
			})
		}
	}
	wg.Wait()

	held := map[string][]netip.Prefix{}
	for _, b := range blocks {
		if len(won[b]) != 1 {
			t.Fatalf("block %s won by %v, want exactly one host", b, won[b])
		}
		for name := range won[b] {
			held[name] = append(held[name], b)
		}
	}
	for name, n := range nodes {
		got, err := n.Held(c, pool)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, held[name]) {
			t.Errorf("%s holds %v, won %v", name, got, held[name])
		}
	}
	resp, err := rawClient(t, s.Endpoint()).Get(c, testPrefix+"/claims/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 16 {
		t.Fatalf("claim keys in etcd: %v (%v), want 16", resp, err)
	}
	t.Logf("blocks won: a %d, b %d, c %d", len(held["a"]), len(held["b"]), len(held["c"]))
}

// A pool's record: its range is the first host's, its gateway is shared,
// and it goes only when no host uses it and no claim remains.
func TestPoolRecord(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b")
	c := ctxT(t)
	pool := pfx("10.60.0.0/24")

	got, err := a.UsePool(c, poolDef("10.60.0.0/24", "10.60.0.128/25", 28))
	if err != nil || got.Range != pfx("10.60.0.128/25") || got.BlockBits != 28 || got.Pool != pool {
		t.Fatalf("first UsePool: %+v, %v", got, err)
	}
	_, err = b.UsePool(c, poolDef("10.60.0.0/24", "", 28))
	if err == nil || !strings.Contains(err.Error(), "10.60.0.128/25") || !strings.Contains(err.Error(), "host a") {
		t.Fatalf("UsePool with another range: %v; want an error naming the range and host a", err)
	}
	if got, err = b.UsePool(c, poolDef("10.60.0.0/24", "10.60.0.128/25", 26)); err != nil || got.BlockBits != 28 {
		t.Fatalf("UsePool with the same range: %+v, %v; want the stored record", got, err)
	}

	if gw, err := a.SetGateway(c, pool, addr("10.60.0.1")); err != nil || gw != addr("10.60.0.1") {
		t.Fatalf("first gateway: %v, %v", gw, err)
	}
	if gw, err := b.SetGateway(c, pool, addr("10.60.0.254")); err != nil || gw != addr("10.60.0.1") {
		t.Fatalf("second gateway: %v, %v; want the first one", gw, err)
	}
	if rec, err := b.Pool(c, pool); err != nil || rec.Gateway != addr("10.60.0.1") {
		t.Fatalf("Pool: %+v, %v", rec, err)
	}

	single := pfx("10.60.0.10/32")
	for _, p := range []netip.Prefix{pfx("10.60.0.128/28"), single, single} {
		if err := a.Claim(c, pool, p); err != nil {
			t.Fatalf("claim %s: %v", p, err)
		}
	}
	wantHeld(t, b.Claim(c, pool, single), "10.60.0.10/32", "a")
	if err := b.Release(c, pool, single); err != nil {
		t.Fatalf("releasing another host's claim: %v", err)
	}
	wantHeld(t, b.Claim(c, pool, single), "10.60.0.10/32", "a") // still a's
	for _, bad := range []netip.Prefix{pfx("10.61.0.0/28"), pfx("10.60.0.0/16"), pfx("10.60.0.129/28")} {
		if err := a.Claim(c, pool, bad); err == nil {
			t.Errorf("claim %s accepted", bad)
		}
	}
	if err := a.Claim(c, pfx("10.62.0.0/24"), pfx("10.62.0.0/28")); err == nil || !strings.Contains(err.Error(), "not in use") {
		t.Errorf("claim in an unknown pool: %v", err)
	}

	for _, n := range []*node{a, b} {
		if err := n.ReleasePool(c, pool); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Pool(c, pool); err != nil {
		t.Fatalf("pool gone while a still holds claims: %v", err)
	}
	for _, p := range []netip.Prefix{pfx("10.60.0.128/28"), single, single} {
		if err := a.Release(c, pool, p); err != nil {
			t.Fatalf("release %s: %v", p, err)
		}
	}
	if _, err := b.Pool(c, pool); err == nil || !strings.Contains(err.Error(), "not in use") {
		t.Fatalf("pool after its last user and claim left: %v", err)
	}
	if rec, err := b.UsePool(c, poolDef("10.60.0.0/24", "", 28)); err != nil || rec.Range != pool || rec.Gateway.IsValid() {
		t.Fatalf("pool created afresh: %+v, %v", rec, err)
	}
}

// A claim and the last release of the pool at once: the pool never goes
// while a claim is in it.
func TestClaimReleasePoolRace(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b")
	c := ctxT(t)
	pool := pfx("10.70.0.0/24")
	for i := range 10 {
		block := pfx(fmt.Sprintf("10.70.0.%d/28", 16*i))
		if _, err := a.UsePool(c, poolDef("10.70.0.0/24", "", 28)); err != nil {
			t.Fatal(err)
		}
		var claimErr error
		var wg sync.WaitGroup
		wg.Go(func() { claimErr = b.Claim(c, pool, block) })
		wg.Go(func() {
			if err := a.ReleasePool(c, pool); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		_, poolErr := a.Pool(c, pool)
		switch {
		case claimErr == nil && poolErr != nil:
			t.Fatalf("round %d: b holds %s but the pool is gone: %v", i, block, poolErr)
		case claimErr != nil && !strings.Contains(claimErr.Error(), "not in use"):
			t.Fatalf("round %d: claim: %v", i, claimErr)
		}
		if claimErr == nil {
			if err := b.Release(c, pool, block); err != nil {
				t.Fatal(err)
			}
		}
	}
}
