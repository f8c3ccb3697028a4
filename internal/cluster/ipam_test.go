package cluster

import (
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// allocatorOn runs the real IPAM allocator on n's claims and a store of
// its own.
func allocatorOn(t *testing.T, n *node) *ipam.Allocator {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := ipam.New(n.Cluster, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Three hosts' allocators on one real etcd, all asking at once: no address
// is ever handed out twice, the gateway is shared, and a full subnet is a
// clear error.
func TestAllocatorsShareOnePool(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	ctx := ctxT(t)
	var allocs []*ipam.Allocator
	var poolIDs []string
	for _, name := range []string{"a", "b", "c"} {
		al := allocatorOn(t, newNode(t, s.Endpoint(), name))
		resp, err := al.RequestPool(ctx, ipam.PoolRequest{AddressSpace: ipam.AddressSpace, Pool: pfx("10.42.0.0/24")})
		if err != nil {
			t.Fatalf("%s RequestPool: %v", name, err)
		}
		gw, _, err := al.RequestAddress(ctx, ipam.AddressRequest{PoolID: resp.PoolID, Options: map[string]string{ipam.OptRequestAddressType: ipam.AddressTypeGateway}})
		if err != nil || gw.Addr() != addr("10.42.0.1") {
			t.Fatalf("%s gateway: %v, %v", name, gw, err)
		}
		allocs, poolIDs = append(allocs, al), append(poolIDs, resp.PoolID)
	}

	var mu sync.Mutex
	owner := map[netip.Addr]int{}
	var full []error
	var wg sync.WaitGroup
	start := time.Now()
	for i, al := range allocs {
		for range 30 {
			wg.Go(func() {
				for {
					p, _, err := al.RequestAddress(ctx, ipam.AddressRequest{PoolID: poolIDs[i]})
					mu.Lock()
					if err != nil {
						full = append(full, err)
						mu.Unlock()
						return
					}
					if prev, taken := owner[p.Addr()]; taken {
						t.Errorf("%s handed out by hosts %d and %d", p.Addr(), prev, i)
					}
					owner[p.Addr()] = i
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d addresses handed out by 3 hosts x 30 goroutines in %s", len(owner), time.Since(start).Round(time.Millisecond))
	if _, ok := owner[addr("10.42.0.1")]; ok {
		t.Error("the gateway was handed out")
	}
	if len(owner) != 253 { // 10.42.0.0/24 without network, broadcast and gateway
		t.Errorf("%d addresses handed out, want all 253", len(owner))
	}
	for _, err := range full {
		if !strings.Contains(err.Error(), "10.42.0.0/24") || errors.Is(err, ErrUnreachable) {
			t.Fatalf("exhaustion error %q does not name the pool", err)
		}
	}
	t.Logf("exhaustion: %v", full[0])
}

// etcd down: a host still hands out addresses from the blocks it holds,
// and only needing a new block fails, within 5 s, naming etcd.
func TestAllocatorWhileEtcdDown(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	ctx := ctxT(t)
	al := allocatorOn(t, startNode(t, s.Endpoint(), "a"))
	resp, err := al.RequestPool(ctx, ipam.PoolRequest{AddressSpace: ipam.AddressSpace, Pool: pfx("10.42.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := al.RequestAddress(ctx, ipam.AddressRequest{PoolID: resp.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let a background block claim, if any, finish

	s.Stop()
	seen := map[netip.Addr]bool{first.Addr(): true}
	for {
		start := time.Now()
		p, _, err := al.RequestAddress(ctx, ipam.AddressRequest{PoolID: resp.PoolID})
		took := time.Since(start)
		if err != nil {
			if took > 5*time.Second || !strings.Contains(err.Error(), "etcd") || !strings.Contains(err.Error(), s.Endpoint()) {
				t.Fatalf("out of blocks with etcd down: %v after %s; want a failure within 5 s naming etcd at %s", err, took, s.Endpoint())
			}
			t.Logf("%d addresses from held blocks with etcd down; then, after %s: %v", len(seen)-1, took.Round(time.Millisecond), err)
			break
		}
		if seen[p.Addr()] {
			t.Fatalf("%s handed out twice", p.Addr())
		}
		// Not a speed test: an address from a held block must not wait on
		// etcd at all, which would cost the whole operation timeout.
		if took >= time.Second {
			t.Errorf("address from a held block took %s with etcd down: it waited on etcd", took)
		}
		seen[p.Addr()] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d addresses from held blocks while etcd was down", len(seen)-1)
	}
}
