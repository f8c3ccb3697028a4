package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// peersAre and remoteIs poll a node's view.
func peersAre(t *testing.T, n *node, vni int, want ...string) time.Duration {
	t.Helper()
	return eventually(t, 3*time.Second, n.Node()+" peers on "+strings.Join(want, ","), func() bool {
		return slices.Equal(ipStrings(n.Peers(vni)), append([]string{}, want...))
	})
}

func remoteIs(t *testing.T, n *node, vni int, want ...string) time.Duration {
	t.Helper()
	return eventually(t, 3*time.Second, n.Node()+" remote endpoints "+strings.Join(want, ","), func() bool {
		return slices.Equal(ids(n.Remote(vni)), append([]string{}, want...))
	})
}

// changedSoon waits for a SegmentChanged(vni) after the count before.
func changedSoon(t *testing.T, n *node, vni, before int) {
	t.Helper()
	eventually(t, time.Second, n.Node()+" told of a change on VNI", func() bool { return n.changes.count(vni) > before })
}

func TestMembershipAndEndpoints(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b, c := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b"), startNode(t, s.Endpoint(), "c")
	for _, n := range []*node{a, b, c} {
		n.waitConnected(t)
	}
	ctx := ctxT(t)

	before := b.changes.count(42)
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	b.Join(42, ip("192.0.2.2"))
	c.Join(7, ip("192.0.2.3"))
	peersAre(t, b, 42, "192.0.2.1")
	remoteIs(t, b, 42, "ep-a1")
	changedSoon(t, b, 42, before)
	peersAre(t, a, 42, "192.0.2.2")
	peersAre(t, c, 42, "192.0.2.1", "192.0.2.2")
	peersAre(t, a, 7, "192.0.2.3")
	if got := a.Remote(42); len(got) != 0 {
		t.Errorf("a sees its own endpoints as remote: %v", got)
	}
	ep := b.Remote(42)[0]
	if ep.Node != "a" || !ep.VTEP.Equal(ip("192.0.2.1")) || ep.MAC.String() != "02:42:0a:2a:00:02" || ep.IPv4 != addr("10.42.0.2") || ep.VNI != 42 {
		t.Errorf("b sees %+v", ep)
	}

	// Moving an endpoint to another VNI, withdrawing one, leaving.
	before = b.changes.count(42)
	if err := a.Publish(ctx, endpoint("ep-a1", 7, "192.0.2.1", "02:42:0a:2a:00:02", "10.7.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42)
	remoteIs(t, c, 7, "ep-a1")
	changedSoon(t, b, 42, before)
	before = c.changes.count(7)
	if err := a.Withdraw(ctx, "ep-a1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Withdraw(ctx, "never-published"); err != nil {
		t.Fatalf("withdrawing an unknown endpoint: %v", err)
	}
	remoteIs(t, c, 7)
	changedSoon(t, c, 7, before)
	before = b.changes.count(42)
	a.Leave(42)
	peersAre(t, b, 42)
	changedSoon(t, b, 42, before)

	// Bad input is refused, never a panic.
	for _, bad := range []Endpoint{{}, {ID: "x/y", VNI: 1}, {ID: "x", VNI: 0}, {ID: "x", VNI: 1, VTEP: ip("192.0.2.1")}} {
		if err := a.Publish(ctx, bad); err == nil {
			t.Errorf("publish %+v accepted", bad)
		}
	}
}

// A host that crashes (no revoke: its client just goes away) vanishes from
// the others' view within its TTL plus 2 s.
func TestCrashedNodeVanishes(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctxT(t), endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1")
	peersAre(t, b, 42, "192.0.2.1")

	before := b.changes.count(42)
	a.stop()
	start := time.Now()
	eventually(t, testTTL+2*time.Second, "a gone from b's view", func() bool {
		return len(b.Peers(42)) == 0 && len(b.Remote(42)) == 0
	})
	t.Logf("crashed host gone after %s (TTL %s)", time.Since(start).Round(10*time.Millisecond), testTTL)
	changedSoon(t, b, 42, before)
}

// etcd stopped: calls that need it fail fast naming it, the view stays;
// etcd back on the same data: what changed meanwhile is written and seen.
func TestEtcdDownAndBack(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	ctx := ctxT(t)
	a.Join(42, ip("192.0.2.1"))
	b.Join(42, ip("192.0.2.2"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1")

	s.Stop()
	eventually(t, 2*time.Second, "a notices etcd is down", func() bool { return !a.Status().Connected })
	if st := a.Status(); st.Error == "" || st.Connected {
		t.Errorf("status while down: %+v", st)
	}

	start := time.Now()
	err := a.Publish(ctx, endpoint("ep-a2", 42, "192.0.2.1", "02:42:0a:2a:00:03", "10.42.0.3"))
	if took := time.Since(start); err == nil || took > 200*time.Millisecond {
		t.Fatalf("publish while etcd is down: %v after %s; want a fast failure", err, took)
	}
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), s.Endpoint()) {
		t.Errorf("publish error %q does not say etcd at %s is unreachable", err, s.Endpoint())
	}
	if err := a.Withdraw(ctx, "ep-a1"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("withdraw while etcd is down: %v", err)
	}
	start = time.Now()
	err = a.DefineSegment(ctx, seg(42, "10.42.0.0/24"))
	if took := time.Since(start); err == nil || took > testOpTimeout+500*time.Millisecond || !strings.Contains(err.Error(), s.Endpoint()) {
		t.Errorf("define while etcd is down: %v after %s; want a failure within %s naming %s", err, took, testOpTimeout, s.Endpoint())
	}
	if _, err := a.Held(ctx, pfx("10.42.0.0/24")); err == nil || !strings.Contains(err.Error(), "etcd") {
		t.Errorf("claims while etcd is down: %v", err)
	}
	// The last view stays.
	if got := ids(b.Remote(42)); !slices.Equal(got, []string{"ep-a1"}) {
		t.Errorf("b's view while etcd is down: %v", got)
	}
	if got := ipStrings(b.Peers(42)); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("b's peers while etcd is down: %v", got)
	}

	before := b.changes.count(42)
	s.Restart()
	took := remoteIs(t, b, 42, "ep-a2")
	t.Logf("b sees what a changed during the outage %s after etcd is back", took.Round(10*time.Millisecond))
	changedSoon(t, b, 42, before)
	a.waitConnected(t)
	peersAre(t, b, 42, "192.0.2.1")
	if err := a.Publish(ctx, endpoint("ep-a3", 42, "192.0.2.1", "02:42:0a:2a:00:04", "10.42.0.4")); err != nil {
		t.Fatalf("publish after etcd is back: %v", err)
	}
	remoteIs(t, b, 42, "ep-a2", "ep-a3")
}

// A host cut off from etcd for longer than its TTL loses its lease and
// vanishes; when it is back it registers under a new lease and publishes
// everything it wants, including what changed while it was away.
func TestLeaseLostReRegisters(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	p := etcdtest.NewProxy(t, s.Addr())
	a, b := startNode(t, p.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	ctx := ctxT(t)
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1")
	lease := a.Status().LeaseID

	p.Cut()
	eventually(t, testTTL+2*time.Second, "a's lease expires", func() bool { return len(b.Peers(42)) == 0 && len(b.Remote(42)) == 0 })
	if err := a.Publish(ctx, endpoint("ep-a2", 42, "192.0.2.1", "02:42:0a:2a:00:03", "10.42.0.3")); !errors.Is(err, ErrUnreachable) {
		t.Errorf("publish while cut off: %v", err)
	}

	p.Restore()
	took := remoteIs(t, b, 42, "ep-a1", "ep-a2")
	peersAre(t, b, 42, "192.0.2.1")
	t.Logf("a registered again %s after its path to etcd is back", took.Round(10*time.Millisecond))
	a.waitConnected(t)
	if got := a.Status().LeaseID; got == lease || got == 0 {
		t.Errorf("lease after reconnecting: %x, was %x; want a new one", got, lease)
	}
}

// Keys that go while a host's watch is down (a dead host's lease revoked,
// the history compacted) are gone from its view after the resync, and its
// handler hears of it.
func TestResyncRemovesStale(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	p := etcdtest.NewProxy(t, s.Addr())
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, p.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	ctx := ctxT(t)
	raw := rawClient(t, s.Endpoint())

	ghost, err := raw.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		testPrefix + "/nodes/ghost":                 `{"v":1,"hostname":"ghost","vteps":["192.0.2.99"]}`,
		testPrefix + "/members/42/ghost":            `{"v":1,"vtep":"192.0.2.99"}`,
		testPrefix + "/endpoints/42/ghost/ep-ghost": `{"v":1,"mac":"02:42:0a:2a:00:63","vtep":"192.0.2.99","ipv4":"10.42.0.99"}`,
	} {
		if _, err := raw.Put(ctx, k, v, clientv3.WithLease(ghost.ID)); err != nil {
			t.Fatal(err)
		}
	}
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1", "ep-ghost")
	peersAre(t, b, 42, "192.0.2.1", "192.0.2.99")

	p.Cut()
	eventually(t, 2*time.Second, "b notices etcd is unreachable", func() bool { return !b.Status().Connected })
	if _, err := raw.Revoke(ctx, ghost.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, endpoint("ep-a2", 42, "192.0.2.1", "02:42:0a:2a:00:03", "10.42.0.3")); err != nil {
		t.Fatal(err)
	}
	resp, err := raw.Get(ctx, testPrefix+"/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	rev := b.Status().Revision
	before := b.changes.count(42)

	p.Restore()
	remoteIs(t, b, 42, "ep-a1", "ep-a2")
	peersAre(t, b, 42, "192.0.2.1")
	changedSoon(t, b, 42, before)
	if got := b.Status().Revision; got <= rev {
		t.Errorf("resync revision %d, was %d before the cut", got, rev)
	}
}

// One of a host's keys deleted behind its back is written again.
func TestOwnKeyRewritten(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	ctx := ctxT(t)
	a.Join(42, ip("192.0.2.1"))
	if err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
		t.Fatal(err)
	}
	remoteIs(t, b, 42, "ep-a1")
	raw := rawClient(t, s.Endpoint())
	key := testPrefix + "/endpoints/42/a/ep-a1"
	if _, err := raw.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "a writes its endpoint again", func() bool {
		resp, err := raw.Get(ctx, key)
		return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].Lease == a.Status().LeaseID
	})
	remoteIs(t, b, 42, "ep-a1")
}

// The plugin starts while etcd is unreachable: New works, calls fail fast
// naming etcd, and what it wants is written once etcd is reachable.
func TestStartWithoutEtcd(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	p := etcdtest.NewProxy(t, s.Addr())
	p.Cut()
	a := startNode(t, p.Endpoint(), "a")
	b := startNode(t, s.Endpoint(), "b")
	ctx := ctxT(t)
	a.Join(42, ip("192.0.2.1"))

	start := time.Now()
	err := a.Publish(ctx, endpoint("ep-a1", 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2"))
	if took := time.Since(start); err == nil || took > testOpTimeout+500*time.Millisecond || !strings.Contains(err.Error(), p.Endpoint()) {
		t.Fatalf("publish without etcd: %v after %s; want a failure within %s naming %s", err, took, testOpTimeout, p.Endpoint())
	}
	start = time.Now()
	err = a.DefineSegment(ctx, seg(42, "10.42.0.0/24"))
	if took := time.Since(start); err == nil || took > testOpTimeout+500*time.Millisecond || !strings.Contains(err.Error(), p.Endpoint()) {
		t.Fatalf("define without etcd: %v after %s", err, took)
	}
	if st := a.Status(); st.Connected || st.Error == "" {
		t.Errorf("status without etcd: %+v", st)
	}

	p.Restore()
	remoteIs(t, b, 42, "ep-a1")
	peersAre(t, b, 42, "192.0.2.1")
	if err := a.DefineSegment(ctx, seg(42, "10.42.0.0/24")); err != nil {
		t.Fatalf("define once etcd is reachable: %v", err)
	}
}

// Of several endpoints, one unreachable: the cluster works through the
// others.
func TestSeveralEndpoints(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	dead := etcdtest.NewProxy(t, s.Addr())
	dead.Cut()
	a := runNode(t, makeNode(t, testConfig("a", dead.Endpoint(), s.Endpoint())))
	b := startNode(t, s.Endpoint(), "b")

	a.waitConnected(t)
	a.Join(42, ip("192.0.2.1"))
	for i := range 5 {
		if err := a.Publish(ctxT(t), endpoint(fmt.Sprintf("ep-%d", i), 42, "192.0.2.1", fmt.Sprintf("02:42:0a:2a:00:%02x", i), fmt.Sprintf("10.42.0.%d", 10+i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	remoteIs(t, b, 42, "ep-0", "ep-1", "ep-2", "ep-3", "ep-4")
	if st := a.Status(); !st.Connected {
		t.Errorf("status with one endpoint of two down: %+v", st)
	}
}

// etcd replaced by an empty one (data lost, revisions from 1 again): every
// host registers and publishes again, and sees the others.
func TestEtcdDataLost(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a, b := startNode(t, s.Endpoint(), "a"), startNode(t, s.Endpoint(), "b")
	a.waitConnected(t)
	b.waitConnected(t)
	a.Join(42, ip("192.0.2.1"))
	b.Join(42, ip("192.0.2.2"))
	for i, n := range []*node{a, b} {
		ep := endpoint("ep-"+n.Node(), 42, fmt.Sprintf("192.0.2.%d", i+1), fmt.Sprintf("02:42:0a:2a:00:%02x", i+2), fmt.Sprintf("10.42.0.%d", i+2))
		if err := n.Publish(ctxT(t), ep); err != nil {
			t.Fatal(err)
		}
	}
	remoteIs(t, a, 42, "ep-b")
	remoteIs(t, b, 42, "ep-a")
	lease := a.Status().LeaseID

	s.Wipe()
	eventually(t, 5*time.Second, "a registered in the empty etcd", func() bool {
		out := s.Ctl("get", testPrefix+"/endpoints/42/a/ep-a", "--print-value-only")
		return strings.Contains(out, "02:42:0a:2a:00:02")
	})
	remoteIs(t, b, 42, "ep-a")
	remoteIs(t, a, 42, "ep-b")
	peersAre(t, a, 42, "192.0.2.2")
	if got := a.Status().LeaseID; got == lease {
		t.Errorf("lease %x kept though etcd lost it", got)
	}
}

// Withdraw right after Publish, before the watch has shown the key: the
// key is gone when Withdraw returns.
func TestWithdrawRightAfterPublish(t *testing.T) {
	t.Parallel()
	s := startEtcd(t)
	a := startNode(t, s.Endpoint(), "a")
	a.waitConnected(t)
	raw := rawClient(t, s.Endpoint())
	ctx := ctxT(t)
	for i := range 20 {
		id := fmt.Sprintf("ep-%d", i)
		if err := a.Publish(ctx, endpoint(id, 42, "192.0.2.1", "02:42:0a:2a:00:02", "10.42.0.2")); err != nil {
			t.Fatal(err)
		}
		if err := a.Withdraw(ctx, id); err != nil {
			t.Fatal(err)
		}
		resp, err := raw.Get(ctx, testPrefix+"/endpoints/42/a/"+id)
		if err != nil || len(resp.Kvs) != 0 {
			t.Fatalf("endpoint %s after Withdraw returned: %v, %v", id, resp.Kvs, err)
		}
	}
}
