// Package driver is the network driver: networks, endpoints, their options
// and validation. It keeps its records in a store and its links in the
// kernel, and knows nothing of the wire protocol.
package driver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Kernel is the kernel plumbing the driver needs; *links.Kernel implements it.
type Kernel interface {
	EnsureBridge(links.BridgeSpec) error
	EnsureVxlanLink(links.VxlanSpec) error
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
	DeleteProvisional(name string) error
	Snapshot() (*links.Snapshot, error)
	AddAddrs(name string, addrs []*net.IPNet) error
	AllowForward(rules []links.ForwardRule, mode links.ForwardMode) error
	AddForwardElements(rules []links.ForwardRule) error
	WithdrawForward(rules []links.ForwardRule) error
	LookupUnderlay(vtepDev string, srcAddr net.IP, remotes []net.IP) (links.Underlay, error)
	Exists(name string) bool
	Owner(name string) (links.Mark, bool)
	LinkState(name string, role links.Role, id string) links.State
	Announce(ctx context.Context, sandbox string, mac net.HardwareAddr, addrs []netip.Addr) error
	EnableIPv4Forwarding() (changed bool, err error)
	EnableForwardingOn(name string) error
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
	// DockerExecRoot is where the plugin sees dockerd's exec root, whose
	// netns/ holds the containers' namespaces (the sandbox keys of Join);
	// "" if at its own path, /var/run/docker.
	DockerExecRoot string
	// UnderlayHints are addresses across the underlay (the cluster's
	// store): which way they route tells a network with no Peers its
	// underlay device and VTEP address.
	UnderlayHints []net.IP
}

// Driver implements the network driver. Requests on one network are
// serialised by that network's lock; requests on different networks run
// at once. What all networks share is held briefly: the index (its own
// lock, never held across a kernel call) and the firewall exception.
type Driver struct {
	cfg    Config
	kernel Kernel
	store  Store
	log    *slog.Logger
	nets   *keyedLocks   // per network, and per 802.1Q parent networks share
	fw     chan struct{} // the firewall exception's lock: a channel, so waiting can be cancelled
	// records loads the index from the store at first use.
	records func() (*index, error)
	// viewApplied: every clustered segment has been brought in line with
	// the control plane's first full view.
	viewApplied atomic.Bool
	// legacyWarned: the host's legacy iptables was reported once (guarded
	// by fw); repeating it every check would bury the logs.
	legacyWarned bool
	// forwardWarned: IPv4 forwarding could not be turned on, said once.
	forwardWarned atomic.Bool
	// unjoined: endpoints found at start in no container (stale.go).
	unjoined unjoined
}

// New returns a driver. Call Reconcile before serving requests.
func New(cfg Config, k Kernel, s Store, log *slog.Logger) *Driver {
	d := &Driver{cfg: cfg, kernel: k, store: s, log: log, nets: newKeyedLocks(), fw: make(chan struct{}, 1)}
	d.records = sync.OnceValues(func() (*index, error) { return loadIndex(s) })
	return d
}

// lockNetwork takes the lock of network id unless ctx ends first.
func (d *Driver) lockNetwork(ctx context.Context, id string) (unlock func(), err error) {
	return d.nets.lock(ctx, "network/"+id)
}

// lockParent takes the lock of an 802.1Q parent the plugin may create or
// delete: the networks sharing it must not race to do so.
func (d *Driver) lockParent(ctx context.Context, n *network) (unlock func(), err error) {
	if _, _, isVlan := n.Config.vlanID(); !isVlan {
		return func() {}, nil
	}
	return d.nets.lock(ctx, "parent/"+n.Config.Parent)
}

// Capabilities reports the scope configured on the command line.
func (d *Driver) Capabilities() Capabilities {
	scope := "local"
	if d.cfg.GlobalScope {
		scope = "global"
	}
	return Capabilities{Scope: scope, ConnectivityScope: scope, GwAllocChecker: true}
}
