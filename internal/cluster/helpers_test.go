package cluster

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Short enough to keep the package's tests fast, long enough for etcd's
// minimum lease TTL.
const (
	testTTL       = 2 * time.Second
	testOpTimeout = time.Second
	testPrefix    = "/docker-vxlan-plugin/test"
)

// node is a *Cluster under test with a recording Handler.
type node struct {
	*Cluster
	changes *recorder
	stop    func() // ends Run and closes the client, as a crash would: no revoke
}

// testConfig is the configuration of node name on endpoints.
func testConfig(name string, endpoints ...string) Config {
	return Config{Endpoints: endpoints, Prefix: testPrefix, Node: name, TTL: testTTL, OpTimeout: testOpTimeout}
}

// newNode makes a Cluster for endpoint, closed when the test ends; it is
// not running (claims and segments need no session).
func newNode(t *testing.T, endpoint, name string) *node {
	t.Helper()
	n := makeNode(t, testConfig(name, endpoint))
	var once sync.Once
	n.stop = func() { once.Do(func() { n.Close() }) }
	t.Cleanup(n.stop)
	return n
}

// startNode makes a Cluster and runs it until the test ends or stop.
func startNode(t *testing.T, endpoint, name string) *node {
	t.Helper()
	return runNode(t, makeNode(t, testConfig(name, endpoint)))
}

func makeNode(t *testing.T, cfg Config) *node {
	t.Helper()
	c, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New %s: %v", cfg.Node, err)
	}
	return &node{Cluster: c, changes: newRecorder()}
}

// runNode runs n until the test ends or n.stop.
func runNode(t *testing.T, n *node) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx, n.changes)
	}()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			n.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// waitConnected waits until the node's session is up.
func (n *node) waitConnected(t *testing.T) {
	t.Helper()
	eventually(t, 5*time.Second, "node "+n.Node()+" connected", func() bool { return n.Status().Connected })
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// recorder is a Handler that counts calls per VNI.
type recorder struct {
	mu    sync.Mutex
	calls map[int]int
}

func newRecorder() *recorder { return &recorder{calls: map[int]int{}} }

func (r *recorder) SegmentChanged(vni int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[vni]++
}

func (r *recorder) count(vni int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[vni]
}

// eventually polls cond until it holds or fails the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// rawClient is a plain etcd client for changing keys behind the
// clusters' backs.
func rawClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startEtcd(t *testing.T) *etcdtest.Server {
	t.Helper()
	return etcdtest.Start(t)
}

func ip(s string) net.IP { return net.ParseIP(s).To4() }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func endpoint(id string, vni int, vtep, macAddr, ipv4 string) Endpoint {
	return Endpoint{ID: id, VNI: vni, VTEP: ip(vtep), MAC: mac(macAddr), IPv4: addr(ipv4)}
}

// ids lists endpoint IDs, for comparisons.
func ids(eps []Endpoint) []string {
	out := []string{}
	for _, e := range eps {
		out = append(out, e.ID)
	}
	return out
}

// ipStrings lists IPs as strings, for comparisons.
func ipStrings(ips []net.IP) []string {
	out := []string{}
	for _, i := range ips {
		out = append(out, i.String())
	}
	return out
}
