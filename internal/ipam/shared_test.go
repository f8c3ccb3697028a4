package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// twoHosts returns allocators of hosts a and b sharing one fake cluster,
// each on its own store.
func twoHosts(t *testing.T) (c *fakeCluster, a, b *Allocator, ha, hb *fakeHost) {
	t.Helper()
	c = newFakeCluster()
	ha, hb = c.host("host-a"), c.host("host-b")
	return c, newAlloc(t, ha, openStore(t)), newAlloc(t, hb, openStore(t)), ha, hb
}

func TestConcurrentHostsNeverShareAnAddress(t *testing.T) {
	t.Run("roomy pool", func(t *testing.T) { concurrentHosts(t, "10.42.0.0/24", 50, false) })
	// 4 blocks of 16 for 60 addresses: the hosts race for blocks, and one
	// may hold three by the time the other wants its second.
	t.Run("tight pool", func(t *testing.T) { concurrentHosts(t, "10.42.0.0/26", 30, true) })
}

// concurrentHosts has two hosts ask for perHost addresses each, all at once.
// Unless mayExhaust, every request must succeed.
func concurrentHosts(t *testing.T, pool string, perHost int, mayExhaust bool) {
	c, a, b, _, _ := twoHosts(t)
	ids := []string{requestPool(t, a, pool, ""), requestPool(t, b, pool, "")}
	if ids[0] != ids[1] {
		t.Fatalf("hosts derive pool IDs %q and %q", ids[0], ids[1])
	}
	var mu sync.Mutex
	owner := map[netip.Addr]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHost)
	for _, h := range []struct {
		name string
		al   *Allocator
	}{{"host-a", a}, {"host-b", b}} {
		for range perHost {
			wg.Go(func() {
				got, err := request(h.al, ids[0], "", nil)
				var full *ExhaustedError
				if err != nil && !(mayExhaust && errors.As(err, &full)) {
					errs <- fmt.Errorf("%s: %w", h.name, err)
				}
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, dup := owner[got.Addr()]; dup {
					errs <- fmt.Errorf("%s handed out to %s and %s", got.Addr(), prev, h.name)
				}
				owner[got.Addr()] = h.name
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	handedOut := len(a.Report()[0].Addresses) + len(b.Report()[0].Addresses)
	if len(owner) != handedOut || !mayExhaust && handedOut != 2*perHost || handedOut < perHost {
		t.Fatalf("%d distinct addresses, %d handed out, for %d requests", len(owner), handedOut, 2*perHost)
	}
	// Every address lies in a block its host holds.
	holders := c.holders(pfx(pool))
	for addr, host := range owner {
		if h := holders[blockOf(addr, 28)]; h != host {
			t.Errorf("%s handed out by %s lies in a block held by %q", addr, host, h)
		}
	}
}

func TestNoClaimPerAddress(t *testing.T) {
	_, a, _, ha, _ := twoHosts(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	if n := ha.claimed.Load(); n != 1 {
		t.Fatalf("%d Claim calls for RequestPool, want 1 block claimed in advance", n)
	}
	for range 10 { // 16 in the block: still 6 free, above the low water mark
		mustRequest(t, a, id, "")
	}
	if n := ha.claimed.Load(); n != 1 {
		t.Errorf("%d Claim calls after 10 addresses from one block, want still 1", n)
	}
}

func TestBackgroundRefill(t *testing.T) {
	_, a, _, ha, _ := twoHosts(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	for range 13 { // 3 left of 16 in the block
		mustRequest(t, a, id, "")
	}
	eventually(t, 2*time.Second, "a second block claimed in the background", func() bool {
		return len(poolReport(t, a, id).Blocks) == 2
	})
	ha.down.Store(true) // the next 3+16 addresses need no Claims at all
	for range 19 {
		mustRequest(t, a, id, "")
	}
}

func TestPreferredAddressHeldByAnotherHost(t *testing.T) {
	_, a, b, _, _ := twoHosts(t)
	idA := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	idB := requestPool(t, b, "10.42.0.0/24", "10.42.0.0/25")
	inA := mustRequest(t, a, idA, "")
	blockA := blockOf(inA, 28)

	taken := inA.Next()
	_, err := request(b, idB, taken.String(), nil)
	wantErr(t, err, taken.String(), blockA.String(), "held by host host-a")

	// A free block is claimed for the address asked for.
	free := pfx("10.42.0.0/25")
	var want netip.Addr
	for i := range uint64(8) {
		blk := nthBlock(free, 28, i)
		if !poolHolds(a, idA, blk) && !poolHolds(b, idB, blk) {
			want = blk.Addr().Next().Next()
			break
		}
	}
	if got := mustRequest(t, b, idB, want.String()); got != want {
		t.Fatalf("asked for %s in a free block, got %s", want, got)
	}
	if !poolHolds(b, idB, blockOf(want, 28)) {
		t.Errorf("host-b did not claim the block of %s", want)
	}

	// Outside the range: one host claims the single address, the other is refused.
	mustRequest(t, a, idA, "10.42.0.200")
	_, err = request(b, idB, "10.42.0.200", nil)
	wantErr(t, err, "10.42.0.200", "held by host host-a")
	mustRelease(t, a, idA, ip("10.42.0.200"))
	if got := mustRequest(t, b, idB, "10.42.0.200"); got != ip("10.42.0.200") {
		t.Errorf("after host-a released it, host-b got %s", got)
	}
}

func poolHolds(a *Allocator, id string, b netip.Prefix) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pools[id].holds(b)
}

func TestGatewayIsShared(t *testing.T) {
	_, a, b, _, _ := twoHosts(t)
	idA := requestPool(t, a, "10.42.0.0/24", "")
	idB := requestPool(t, b, "10.42.0.0/24", "")
	gwA, err := gateway(a, idA, "10.42.0.254")
	if err != nil || gwA != pfx("10.42.0.254/24") {
		t.Fatalf("host-a gateway %s, %v", gwA, err)
	}
	if gwB, err := gateway(b, idB, ""); err != nil || gwB != gwA {
		t.Errorf("host-b default gateway %s, %v; want host-a's %s", gwB, err, gwA)
	}
	_, err = gateway(b, idB, "10.42.0.1")
	wantErr(t, err, "already has gateway 10.42.0.254")
	// Neither host hands the gateway out.
	for _, h := range []struct {
		al *Allocator
		id string
	}{{a, idA}, {b, idB}} {
		if _, err := request(h.al, h.id, "10.42.0.254", nil); err == nil {
			t.Error("the gateway was handed out as a preferred address")
		}
	}
}

func TestAuxAddressesAreShared(t *testing.T) {
	c, a, b, _, _ := twoHosts(t)
	idA := requestPool(t, a, "10.42.0.0/24", "")
	// host-a reserves it first (its CreateNetwork then records the aux
	// addresses cluster-wide), then host-b joins.
	aux := mustRequest(t, a, idA, "10.42.0.5")
	c.setAux(pfx("10.42.0.0/24"), aux)
	idB := requestPool(t, b, "10.42.0.0/24", "")
	if got := mustRequest(t, b, idB, aux.String()); got != aux {
		t.Fatalf("host-b reserving aux %s got %s", aux, got)
	}
	if k := poolReport(t, b, idB).Addresses[0].Kind; k != "shared" {
		t.Errorf("host-b holds aux address as %q, want shared", k)
	}
	for range 16 * 3 {
		if got := mustRequest(t, b, idB, ""); got == aux {
			t.Fatalf("host-b handed out aux address %s", aux)
		}
	}
	mustRelease(t, b, idB, aux)
	if _, err := request(a, idA, aux.String(), nil); err == nil {
		t.Error("host-a handed out its aux address twice")
	}
}

func TestDifferentRangeRefused(t *testing.T) {
	_, a, b, _, _ := twoHosts(t)
	requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	_, err := b.RequestPool(context.Background(), PoolRequest{Pool: pfx("10.42.0.0/24"), SubPool: pfx("10.42.0.128/25")})
	wantErr(t, err, "10.42.0.0/24", "10.42.0.0/25", "host-a")
	if r := b.Report(); len(r) != 0 {
		t.Errorf("a refused pool is kept: %+v", r)
	}
}

func TestExhaustionNamesHolders(t *testing.T) {
	_, a, b, _, _ := twoHosts(t)
	// A /26 range: 4 blocks of 16. host-b takes three, host-a one.
	idB := requestPool(t, b, "10.42.0.0/24", "10.42.0.0/26")
	for range 3 * 16 {
		if _, err := request(b, idB, "", nil); err != nil {
			break
		}
	}
	bBlocks := poolReport(t, b, idB).Blocks
	idA := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/26")
	var err error
	n := 0
	for ; err == nil; n++ {
		_, err = request(a, idA, "", nil)
	}
	var full *ExhaustedError
	if !errors.As(err, &full) {
		t.Fatalf("error %v, want an *ExhaustedError", err)
	}
	aBlocks := poolReport(t, a, idA).Blocks
	parts := []string{"pool 10.42.0.0/24", "host host-a", "host host-b holds"}
	for _, blk := range append(aBlocks, bBlocks...) {
		parts = append(parts, blk.String())
	}
	wantErr(t, err, parts...)
	if len(aBlocks)+len(bBlocks) != 4 {
		t.Errorf("blocks held: host-a %v, host-b %v; want all 4", aBlocks, bBlocks)
	}
}

func TestClaimsDown(t *testing.T) {
	_, a, _, ha, _ := twoHosts(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	ha.down.Store(true)
	// The block claimed in advance serves without Claims.
	for range 16 - 2 {
		mustRequest(t, a, id, "")
	}
	// Restart while down: the store still knows the block.
	st := a.store
	a.Close()
	a = newAlloc(t, ha, st)
	for range 2 {
		mustRequest(t, a, id, "")
	}
	start := time.Now()
	_, err := request(a, id, "", nil)
	took := time.Since(start)
	wantErr(t, err, "no free address", "etcd http://127.0.0.1:2379")
	if took > claimBudget+time.Second {
		t.Errorf("failing for want of a block took %s, want at most %s", took, claimBudget)
	}
	// A preferred address in a block nobody holds needs etcd too.
	_, err = request(a, id, "10.42.0.250", nil)
	wantErr(t, err, "10.42.0.250", "etcd")

	ha.down.Store(false)
	if _, err := request(a, id, "", nil); err != nil {
		t.Errorf("etcd back: %v", err)
	}
}

func TestClaimsHangIsBounded(t *testing.T) {
	_, a, _, ha, _ := twoHosts(t)
	id := requestPool(t, a, "10.42.0.0/24", "")
	ha.hang.Store(true) // the background claim hangs too
	var err error
	var took time.Duration
	for n := 0; err == nil; n++ {
		if n > 16 {
			t.Fatal("more addresses than one block holds, with Claims hanging")
		}
		start := time.Now()
		_, err = request(a, id, "", nil)
		took = time.Since(start)
	}
	wantErr(t, err, "etcd", "deadline exceeded")
	if took > claimBudget+time.Second {
		t.Errorf("a hanging Claims call held RequestAddress for %s, want at most %s", took, claimBudget)
	}
}

func TestReleasesRetriedAfterOutage(t *testing.T) {
	c, a, _, ha, _ := twoHosts(t)
	ctx := context.Background()
	pool := pfx("10.42.0.0/24")
	id := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	single := mustRequest(t, a, id, "10.42.0.200")
	dyn := mustRequest(t, a, id, "")

	ha.down.Store(true)
	mustRelease(t, a, id, single)
	if rep := poolReport(t, a, id); len(rep.PendingReleases) != 1 || rep.PendingReleases[0] != pfx("10.42.0.200/32") {
		t.Errorf("pending releases %v, want 10.42.0.200/32", rep.PendingReleases)
	}
	mustRelease(t, a, id, dyn)
	if err := a.ReleasePool(ctx, id); err != nil {
		t.Errorf("ReleasePool while etcd is down: %v, want it accepted and retried", err)
	}
	if !poolReport(t, a, id).Released {
		t.Error("the pool is not reported as being released")
	}
	if len(c.holders(pool)) == 0 {
		t.Fatal("claims released while etcd was down")
	}

	ha.down.Store(false)
	eventually(t, 5*time.Second, "claims released once etcd is back", func() bool {
		return !c.hasPool(pool) && len(a.Report()) == 0
	})
}

func TestHeldBlocksAdopted(t *testing.T) {
	c, a, _, ha, _ := twoHosts(t)
	ctx := context.Background()
	pool := pfx("10.42.0.0/24")
	// A claim made just before a crash, never recorded in the store.
	if _, err := ha.UsePool(ctx, PoolRecord{Pool: pool, Range: pool, BlockBits: 28}); err != nil {
		t.Fatal(err)
	}
	if err := ha.Claim(ctx, pool, pfx("10.42.0.48/28")); err != nil {
		t.Fatal(err)
	}
	id := requestPool(t, a, "10.42.0.0/24", "")
	if !poolHolds(a, id, pfx("10.42.0.48/28")) {
		t.Errorf("blocks %v: the block host-a holds is not taken back", poolReport(t, a, id).Blocks)
	}
	if n := len(c.holders(pool)); n != 1 {
		t.Errorf("%d claims, want the adopted block alone (no block claimed besides)", n)
	}
}

func TestPoolReleasedWhileClaiming(t *testing.T) {
	c, a, _, ha, _ := twoHosts(t)
	pool := pfx("10.42.0.0/24")
	id := requestPool(t, a, "10.42.0.0/24", "")
	ha.slowClaim = make(chan struct{})
	a.mu.Lock()
	f := a.startClaim(a.pools[id])
	a.mu.Unlock()
	eventually(t, 2*time.Second, "a second block claimed", func() bool { return len(c.holders(pool)) == 2 })
	if err := a.ReleasePool(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if r := a.Report(); len(r) != 0 {
		t.Fatalf("pool kept after its release: %+v", r)
	}
	close(ha.slowClaim) // the claim's answer arrives after the release
	<-f.done
	if f.err == nil {
		t.Error("a claim for a released pool reported success")
	}
	eventually(t, 2*time.Second, "the late block released too", func() bool { return !c.hasPool(pool) })
}

func TestPendingReleaseSurvivesRestart(t *testing.T) {
	c, a, _, ha, _ := twoHosts(t)
	pool := pfx("10.42.0.0/24")
	id := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	single := mustRequest(t, a, id, "10.42.0.200")
	ha.down.Store(true)
	mustRelease(t, a, id, single)
	st := a.store
	a.Close()

	a = newAlloc(t, ha, st)
	if rep := poolReport(t, a, id); len(rep.PendingReleases) != 1 {
		t.Fatalf("after a restart pending releases are %v, want 10.42.0.200/32", rep.PendingReleases)
	}
	ha.down.Store(false)
	eventually(t, 5*time.Second, "the pending release done after the restart", func() bool {
		_, held := c.holders(pool)[pfx("10.42.0.200/32")]
		return !held && len(poolReport(t, a, id).PendingReleases) == 0
	})
}

func TestPendingSingleTakenBack(t *testing.T) {
	c, a, b, ha, _ := twoHosts(t)
	pool := pfx("10.42.0.0/24")
	idA := requestPool(t, a, "10.42.0.0/24", "10.42.0.0/25")
	idB := requestPool(t, b, "10.42.0.0/24", "10.42.0.0/25")
	single := mustRequest(t, a, idA, "10.42.0.200")
	ha.down.Store(true)
	mustRelease(t, a, idA, single)
	// Asked for again before the release went through: still host-a's,
	// without etcd.
	if got := mustRequest(t, a, idA, "10.42.0.200"); got != single {
		t.Fatalf("got %s", got)
	}
	ha.down.Store(false)
	time.Sleep(10 * testRetry) // the retry loop must not release it now
	if h := c.holders(pool)[pfx("10.42.0.200/32")]; h != "host-a" {
		t.Errorf("10.42.0.200 is held by %q, want host-a still", h)
	}
	if _, err := request(b, idB, "10.42.0.200", nil); err == nil {
		t.Error("host-b got an address host-a uses")
	}
}
