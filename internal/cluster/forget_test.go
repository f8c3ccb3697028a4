package cluster

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// setUpHosts gives a and b a segment, a pool with claims each, and a a
// pool and a segment of its own.
func setUpHosts(t *testing.T, a, b *node) {
	t.Helper()
	ctx := ctxT(t)
	shared, own := pfx("10.42.0.0/24"), pfx("10.43.0.0/24")
	for _, n := range []*node{a, b} {
		if _, err := n.UsePool(ctx, poolDef("10.42.0.0/24", "", 28)); err != nil {
			t.Fatal(err)
		}
		if err := n.DefineSegment(ctx, seg(42, "10.42.0.0/24")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.UsePool(ctx, poolDef("10.43.0.0/24", "", 28)); err != nil {
		t.Fatal(err)
	}
	if err := a.DefineSegment(ctx, seg(43, "10.43.0.0/24")); err != nil {
		t.Fatal(err)
	}
	for n, claims := range map[*node][]netip.Prefix{
		a: {pfx("10.42.0.0/28"), pfx("10.42.0.200/32")},
		b: {pfx("10.42.0.16/28")},
	} {
		for _, p := range claims {
			if err := n.Claim(ctx, shared, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Claim(ctx, own, pfx("10.43.0.0/28")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetGateway(ctx, shared, addr("10.42.0.1")); err != nil {
		t.Fatal(err)
	}
	a.Join(42, ip("192.0.2.1"))
	a.Join(43, ip("192.0.2.1"))
	b.Join(42, ip("192.0.2.2"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	peersAre(t, b, 42, "192.0.2.1")
}

func TestReport(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	setUpHosts(t, a, b)

	r, err := b.Report(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Node != "b" || r.Revision == 0 {
		t.Errorf("report by %q at revision %d", r.Node, r.Revision)
	}
	if len(r.Nodes) != 2 || r.Nodes[0].Name != "a" || !r.Nodes[0].Live || !slices.Equal(r.Nodes[0].VNIs, []int{42, 43}) ||
		!slices.EqualFunc(r.Nodes[0].VTEPs, []net.IP{ip("192.0.2.1")}, net.IP.Equal) || r.Nodes[0].Hostname == "" {
		t.Errorf("nodes: %+v", r.Nodes)
	}
	if len(r.Segments) != 2 || r.Segments[0].VNI != 42 || !slices.Equal(r.Segments[0].Users, []string{"a", "b"}) ||
		r.Segments[1].VNI != 43 || !slices.Equal(r.Segments[1].Users, []string{"a"}) {
		t.Errorf("segments: %+v", r.Segments)
	}
	want := []ClaimReport{{pfx("10.42.0.0/28"), "a"}, {pfx("10.42.0.16/28"), "b"}, {pfx("10.42.0.200/32"), "a"}}
	if len(r.Pools) != 2 || r.Pools[0].Pool != pfx("10.42.0.0/24") || !slices.Equal(r.Pools[0].Claims, want) ||
		r.Pools[0].Gateway != addr("10.42.0.1") || !slices.Equal(r.Pools[0].Users, []string{"a", "b"}) || r.Pools[0].Creator != "a" {
		t.Errorf("pools: %+v", r.Pools)
	}
	if len(r.Endpoints) != 1 || r.Endpoints[0].ID != "ep-a1" || r.Endpoints[0].Node != "a" || r.Endpoints[0].MAC != "02:42:0a:2a:00:02" {
		t.Errorf("endpoints: %+v", r.Endpoints)
	}
}

// ForgetNode refuses a live host, and for one gone for good frees its
// claims and uses; pools and segments only it used go too.
func TestForgetNode(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	setUpHosts(t, a, b)
	ctx := ctxT(t)

	a.stop() // crashed: its lease lives on for up to its TTL
	err := b.ForgetNode(ctx, "a", false)
	if err == nil || !strings.Contains(err.Error(), "live") {
		t.Fatalf("forgetting a live host: %v", err)
	}
	if got, err := heldBy(ctx, t, b, "a"); err != nil || len(got) != 3 {
		t.Fatalf("a's claims after a refused forget: %v, %v", got, err)
	}

	start := time.Now()
	if err := b.ForgetNode(ctx, "a", true); err != nil {
		t.Fatalf("forget --force: %v", err)
	}
	t.Logf("forgetting a took %s", time.Since(start).Round(time.Millisecond))
	peersAre(t, b, 42) // its lease was revoked with it
	r, err := b.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Name != "b" {
		t.Errorf("nodes after forgetting a: %+v", r.Nodes)
	}
	if len(r.Segments) != 1 || r.Segments[0].VNI != 42 || !slices.Equal(r.Segments[0].Users, []string{"b"}) {
		t.Errorf("segments after forgetting a: %+v", r.Segments)
	}
	if len(r.Pools) != 1 || r.Pools[0].Pool != pfx("10.42.0.0/24") || !slices.Equal(r.Pools[0].Users, []string{"b"}) ||
		!slices.Equal(r.Pools[0].Claims, []ClaimReport{{pfx("10.42.0.16/28"), "b"}}) || r.Pools[0].Gateway != addr("10.42.0.1") {
		t.Errorf("pools after forgetting a: %+v", r.Pools)
	}
	// What a held is free for others now; its segment's subnet too.
	if err := b.Claim(ctx, pfx("10.42.0.0/24"), pfx("10.42.0.0/28")); err != nil {
		t.Errorf("claiming a's block: %v", err)
	}
	if err := b.DefineSegment(ctx, seg(44, "10.43.0.0/24")); err != nil {
		t.Errorf("a's subnet on another VxlanId: %v", err)
	}
	if err := b.ForgetNode(ctx, "a", false); err != nil {
		t.Errorf("forgetting a again: %v", err)
	}
	resp, err := rawClient(t, s.Endpoint()).Get(ctx, testPrefix+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if k, ok := b.keys.parse(string(kv.Key)); !ok || k.node == "a" {
			t.Errorf("key left: %s", kv.Key)
		}
	}
}

// heldBy lists the claims of host name in every pool, read by n.
func heldBy(ctx context.Context, t *testing.T, n *node, name string) ([]ClaimReport, error) {
	t.Helper()
	r, err := n.Report(ctx)
	if err != nil {
		return nil, err
	}
	var out []ClaimReport
	for _, p := range r.Pools {
		for _, c := range p.Claims {
			if c.Node == name {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
