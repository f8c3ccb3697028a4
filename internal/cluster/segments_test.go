package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

func seg(vni int, pools ...string) Segment {
	s := Segment{VNI: vni}
	for _, p := range pools {
		s.Subnets = append(s.Subnets, Subnet{Pool: pfx(p)})
	}
	return s
}

// wantConflict checks err is a *ConflictError naming vni, subnet and holder.
func wantConflict(t *testing.T, err error, vni int, subnet, holder string) {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a conflict on VxlanId %d subnet %s, got %v", vni, subnet, err)
	}
	if ce.VNI != vni || ce.Subnet != pfx(subnet) || ce.Holder != holder {
		t.Fatalf("conflict names VxlanId %d, subnet %s, holder %q; want %d, %s, %q (%v)", ce.VNI, ce.Subnet, ce.Holder, vni, subnet, holder, err)
	}
	for _, part := range []string{fmt.Sprint(vni), subnet, holder} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
}

func TestDefineSegmentConflicts(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b")
	ctx := ctxT(t)

	if err := a.DefineSegment(ctx, seg(42, "10.42.0.0/24", "fd42::/64")); err != nil {
		t.Fatalf("first definition: %v", err)
	}
	// The same definition from another host, in another order, and again.
	for _, n := range []*node{b, b, a} {
		if err := n.DefineSegment(ctx, seg(42, "fd42::/64", "10.42.0.0/24")); err != nil {
			t.Fatalf("same definition from %s: %v", n.Node(), err)
		}
	}
	wantConflict(t, b.DefineSegment(ctx, seg(42, "10.43.0.0/24")), 42, "10.43.0.0/24", "a")
	wantConflict(t, b.DefineSegment(ctx, seg(42, "10.42.0.0/24")), 42, "fd42::/64", "a")
	wantConflict(t, b.DefineSegment(ctx, seg(43, "10.42.0.0/24")), 43, "10.42.0.0/24", "a")
	wantConflict(t, b.DefineSegment(ctx, seg(44, "10.42.0.128/25")), 44, "10.42.0.128/25", "a")
	wantConflict(t, b.DefineSegment(ctx, seg(45, "10.0.0.0/8")), 45, "10.0.0.0/8", "a")

	// The creator leaves: the definition stands, held by the host left.
	if err := a.ReleaseSegment(ctx, 42); err != nil {
		t.Fatalf("release by a: %v", err)
	}
	wantConflict(t, a.DefineSegment(ctx, seg(43, "10.42.0.0/24")), 43, "10.42.0.0/24", "b")
	// The last user leaves: VNI and subnets are free again.
	if err := b.ReleaseSegment(ctx, 42); err != nil {
		t.Fatalf("release by b: %v", err)
	}
	if err := b.ReleaseSegment(ctx, 42); err != nil {
		t.Fatalf("release again: %v", err)
	}
	if err := a.DefineSegment(ctx, seg(42, "10.99.0.0/24")); err != nil {
		t.Fatalf("VxlanId 42 after its last user left: %v", err)
	}
	if err := b.DefineSegment(ctx, seg(43, "10.42.0.0/24")); err != nil {
		t.Fatalf("subnet 10.42.0.0/24 after its last user left: %v", err)
	}
}

func TestDefineSegmentRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a := newNode(t, s.Endpoint(), "a")
	for _, bad := range []Segment{
		seg(0, "10.1.0.0/24"),
		seg(1<<24, "10.1.0.0/24"),
		seg(5),
		seg(5, "10.1.0.0/24", "10.1.0.0/16"),
		{VNI: 5, Subnets: []Subnet{{}}},
	} {
		if err := a.DefineSegment(ctxT(t), bad); err == nil {
			t.Errorf("definition %+v accepted", bad)
		}
	}
}

// Hosts defining one VNI with different subnets at once, or different VNIs
// with one subnet: exactly one wins, the others are told who.
func TestDefineSegmentConcurrent(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	nodes := []*node{newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b"), newNode(t, s.Endpoint(), "c")}
	c := ctxT(t)

	race := func(def func(i int) Segment) (winner string, errs []error) {
		errs = make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { errs[i] = n.DefineSegment(c, def(i)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("both %s and %s defined it", winner, nodes[i].Node())
				}
				winner = nodes[i].Node()
			}
		}
		if winner == "" {
			t.Fatalf("nobody won: %v", errs)
		}
		return winner, errs
	}

	winner, errs := race(func(i int) Segment { return seg(80, fmt.Sprintf("10.80.%d.0/24", i)) })
	for i, err := range errs {
		if err != nil {
			wantConflict(t, err, 80, fmt.Sprintf("10.80.%d.0/24", i), winner)
		}
	}
	winner, errs = race(func(i int) Segment { return seg(81+i, "10.81.0.0/24") })
	for i, err := range errs {
		if err != nil {
			wantConflict(t, err, 81+i, "10.81.0.0/24", winner)
		}
	}
}

// Hosts defining and releasing one segment over and over: a definition
// is never removed while a host uses it.
func TestDefineReleaseRace(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b")
	c := ctxT(t)
	var wg sync.WaitGroup
	for _, n := range []*node{a, b} {
		wg.Go(func() {
			for i := 0; i < 15; i++ {
				if err := n.DefineSegment(c, seg(90, "10.90.0.0/24")); err != nil {
					t.Errorf("%s define: %v", n.Node(), err)
					return
				}
				if err := n.ReleaseSegment(c, 90); err != nil {
					t.Errorf("%s release: %v", n.Node(), err)
					return
				}
			}
			if err := n.DefineSegment(c, seg(90, "10.90.0.0/24")); err != nil {
				t.Errorf("%s final define: %v", n.Node(), err)
			}
		})
	}
	wg.Wait()
	r, err := a.Report(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Segments) != 1 || r.Segments[0].VNI != 90 || !slices.Equal(r.Segments[0].Users, []string{"a", "b"}) || len(r.Segments[0].Subnets) != 1 {
		t.Fatalf("segments after the race: %+v", r.Segments)
	}
	// And the index still keeps the subnet off other VNIs.
	wantConflict(t, b.DefineSegment(c, seg(91, "10.90.0.0/24")), 91, "10.90.0.0/24", r.Segments[0].Creator)
}

// Aux addresses of every host's definition are kept, and reach the pool's
// record for the allocator.
func TestDefineSegmentAux(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := newNode(t, s.Endpoint(), "a"), newNode(t, s.Endpoint(), "b")
	c := ctxT(t)
	withAux := func(aux ...string) Segment {
		sg := seg(60, "10.60.0.0/24")
		sg.Subnets[0].Gateway = addr("10.60.0.1")
		for _, x := range aux {
			sg.Subnets[0].Aux = append(sg.Subnets[0].Aux, addr(x))
		}
		return sg
	}
	if _, err := a.UsePool(c, poolDef("10.60.0.0/24", "", 28)); err != nil {
		t.Fatal(err)
	}
	if err := a.DefineSegment(c, withAux("10.60.0.5")); err != nil {
		t.Fatal(err)
	}
	if err := b.DefineSegment(c, withAux("10.60.0.6", "10.60.0.5")); err != nil {
		t.Fatal(err)
	}
	rec, err := b.Pool(c, pfx("10.60.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{addr("10.60.0.5"), addr("10.60.0.6")}; !slices.Equal(rec.Aux, want) {
		t.Fatalf("pool aux %v, want %v", rec.Aux, want)
	}
	r, err := a.Report(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Segments[0].Subnets[0]; got.Gateway != addr("10.60.0.1") || len(got.Aux) != 2 {
		t.Fatalf("recorded subnet %+v", got)
	}
}
