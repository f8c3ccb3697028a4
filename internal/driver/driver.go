// Package driver is the network driver: networks, endpoints, their options
// and validation. It keeps its records in a store and its links in the
// kernel, and knows nothing of the wire protocol.
package driver

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Kernel is the kernel plumbing the driver needs; *links.Kernel implements it.
type Kernel interface {
	EnsureBridge(links.BridgeSpec) error
	EnsureVxlan(links.VxlanSpec) error
	EnsureVeth(links.VethSpec) error
	EnsureVlan(spec links.VlanSpec, mayCreate bool) (created bool, err error)
	SetFloodPeers(name string, peers []net.IP) error
	SetRemoteMACs(name string, want []links.RemoteMAC) error
	SetNeighbors(name string, want []links.Neighbor) error
	VTEPAddr(vtepDev string, srcAddr net.IP, remotes []net.IP, ipv6 bool) (net.IP, error)
	EnsureMacvlan(spec links.ChildSpec, mode string) error
	EnsureIpvlan(spec links.ChildSpec, mode, flag string) error
	LinkMTU(name string) (int, error)
	DeleteOwned(name string, role links.Role, id string) error
	ListOwned() ([]links.Owned, error)
	AddAddrs(name string, addrs []*net.IPNet) error
	AllowForward(rules []links.ForwardRule, mode links.ForwardMode) error
	FindUnderlay(vtepDev string, srcAddr net.IP, remotes []net.IP) (links.Underlay, error)
	Exists(name string) bool
	Owner(name string) (links.Mark, bool)
	LinkState(name string, role links.Role, id string) links.State
}

// Store is the persistence the driver needs; *store.Store implements it.
type Store interface {
	Put(bucket, key string, v any) error
	Get(bucket, key string, v any) (bool, error)
	Delete(bucket, key string) error
	List(bucket string, each func(key string, decode func(any) error) error) error
}

// Config is the daemon-wide configuration.
type Config struct {
	GlobalScope bool   // --scope global
	VtepDev     string // --vtepdev: overrides every network's VtepDev
	// KeepOrphans keeps every link marked as ours even when no record
	// accounts for it: the state file was damaged and replaced, so a
	// missing record proves nothing.
	KeepOrphans bool
	// Cluster is the control plane of cluster mode; nil without it.
	Cluster ControlPlane
	// UnderlayHints are addresses across the underlay (the cluster's
	// store): which way they route tells a network with no Peers its
	// underlay device and VTEP address.
	UnderlayHints []net.IP
}

// Driver implements the network driver. One lock serialises all operations:
// they are short netlink exchanges, and Docker sends few at a time.
type Driver struct {
	sem    chan struct{} // the lock: a channel, so waiting for it can be cancelled
	cfg    Config
	kernel Kernel
	store  Store
	log    *slog.Logger
	// viewApplied: every clustered segment has been brought in line with
	// the control plane's first full view (guarded by the lock).
	viewApplied bool
	// legacyWarned: the host's legacy iptables was reported once (guarded
	// by the lock); repeating it every check would bury the logs.
	legacyWarned bool
}

// New returns a driver. Call Reconcile before serving requests.
func New(cfg Config, k Kernel, s Store, log *slog.Logger) *Driver {
	return &Driver{sem: make(chan struct{}, 1), cfg: cfg, kernel: k, store: s, log: log}
}

// lock takes the driver's lock unless ctx ends first: a request Docker has
// given up on must not go on to create links nobody would delete.
func (d *Driver) lock(ctx context.Context) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for earlier requests: %w", ctx.Err())
	}
	if err := ctx.Err(); err != nil {
		d.unlock()
		return fmt.Errorf("request abandoned: %w", err)
	}
	return nil
}

func (d *Driver) unlock() { <-d.sem }

// Capabilities reports the scope configured on the command line.
func (d *Driver) Capabilities() Capabilities {
	scope := "local"
	if d.cfg.GlobalScope {
		scope = "global"
	}
	return Capabilities{Scope: scope, ConnectivityScope: scope, GwAllocChecker: true}
}
