package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// retryWait bounds the wait between attempts to reach etcd while it is down.
const retryWait = time.Second

// grpcKeepAlive is how often an idle connection is probed, so a silently
// dead path to etcd is noticed. gRPC refuses anything below 10 s.
const grpcKeepAlive = 10 * time.Second

// Cluster is this host's part in a cluster whose shared state is in etcd.
// It keeps the host's desired lease-bound keys (node, memberships,
// endpoints) written, a watched view of the other hosts' keys, and serves
// the transactions on shared records (segments, pools, claims).
type Cluster struct {
	cfg      Config
	log      *slog.Logger
	cli      *clientv3.Client
	keys     keyspace
	hostname string
	notes    *notifier
	flush    chan struct{} // desired state changed; reconcile it
	ready    chan struct{} // the connection to etcd became ready

	// writing orders the writes of this host's lease-bound keys, so a
	// reconcile never undoes a newer Publish or Withdraw. A channel, not
	// a mutex: waiting for it ends with the caller's context.
	writing chan struct{}

	mu      sync.Mutex // guards the fields below
	desired desired
	view    *view
	link    link
	kick    context.CancelCauseFunc // ends the current session; nil between sessions
}

// New prepares the cluster client. It does not contact etcd: the plugin
// starts while etcd is down, and Run connects in the background.
func New(cfg Config, log *slog.Logger) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		TLS:                  cfg.TLS,
		DialTimeout:          cfg.OpTimeout,
		DialKeepAliveTime:    grpcKeepAlive,
		DialKeepAliveTimeout: cfg.OpTimeout,
		Logger:               zap.NewNop(), // this package logs the state changes that matter
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			// gRPC's default backoff grows to two minutes; etcd coming
			// back must be noticed within about a second.
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: retryWait},
			MinConnectTimeout: cfg.OpTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	hostname, _ := os.Hostname()
	return &Cluster{
		cfg:      cfg,
		log:      log.With("etcd", strings.Join(cfg.Endpoints, ",")),
		cli:      cli,
		keys:     keyspace(cfg.Prefix),
		hostname: hostname,
		notes:    newNotifier(),
		flush:    make(chan struct{}, 1),
		ready:    make(chan struct{}, 1),
		writing:  make(chan struct{}, 1),
		desired:  newDesired(),
		view:     newView(cfg.Node),
		link:     link{changed: make(chan struct{})},
	}, nil
}

// Close closes the etcd client; call it once Run has returned. It does
// not revoke the lease: after a plugin restart the host republishes under
// a new lease before the old one expires, so other hosts never drop its
// endpoints; if it does not come back, they do within the TTL.
func (c *Cluster) Close() error { return c.cli.Close() }

// Node is this host's name in the cluster.
func (c *Cluster) Node() string { return c.cfg.Node }

// Run keeps this host registered and its view current until ctx ends,
// calling h (from one goroutine) for segments whose Peers or Remote may
// have changed.
func (c *Cluster) Run(ctx context.Context, h Handler) {
	var wg sync.WaitGroup
	wg.Go(func() { c.notes.run(ctx, h) })
	wg.Go(func() { c.watchConnection(ctx) })
	c.runSessions(ctx)
	wg.Wait()
}

// Peers lists the VTEPs of the live other hosts that have vni.
func (c *Cluster) Peers(vni int) []net.IP {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.peers(vni)
}

// Remote lists the endpoints of the other hosts on vni.
func (c *Cluster) Remote(vni int) []Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.remote(vni)
}

// opCtx bounds one synchronous call to etcd.
func (c *Cluster) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.OpTimeout)
}

// etcdErr says what failed against which etcd.
func (c *Cluster) etcdErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", c.cfg.OpTimeout, err)
	}
	return fmt.Errorf("%s: etcd at %s: %w", what, strings.Join(c.cfg.Endpoints, ","), err)
}
