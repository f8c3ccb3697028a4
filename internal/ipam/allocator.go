package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// AddressSpace is the one address space of this driver, for local and
// global networks alike: Claims tells pools apart by prefix only.
const AddressSpace = "vxlan"

// RequestAddress options dockerd sends.
const (
	OptRequestAddressType = "RequestAddressType"
	AddressTypeGateway    = "com.docker.network.gateway"
)

// claimBudget bounds whatever a request waits for from Claims: a request
// that needs the shared state fails within it, never hangs dockerd.
// flightBudget, shorter, bounds a block claim, so that a request waiting
// for one sees it end, and why, before giving up itself.
const (
	claimBudget  = 5 * time.Second
	flightBudget = 4 * time.Second
)

// Background retries of releases that failed: first after retryMin, then
// less and less often, down to once per retryMax.
const (
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// refillPause is how long after a failed background block claim the next
// one waits; requests that need a block right away still try at once.
const refillPause = 10 * time.Second

// Errors of Claims name what failed (the operation, and etcd in cluster
// mode), so the allocator adds only what the request was about.

// ErrNotFound marks requests for pools this host does not know.
var ErrNotFound = errors.New("not found")

var errClosed = errors.New("IPAM allocator is shutting down")

// PoolRequest is Docker's RequestPool.
type PoolRequest struct {
	AddressSpace string
	Pool         netip.Prefix // --subnet; required
	SubPool      netip.Prefix // --ip-range; zero if none
	Options      map[string]string
	V6           bool
}

// PoolResponse answers it.
type PoolResponse struct {
	PoolID string
	Pool   netip.Prefix
	Data   map[string]string
}

// AddressRequest is Docker's RequestAddress.
type AddressRequest struct {
	PoolID  string
	Address netip.Addr // the preferred address (--ip, --gateway, --aux-address); zero for any
	Options map[string]string
}

// Capabilities are what the driver asks of dockerd.
type Capabilities struct {
	RequiresMACAddress    bool
	RequiresRequestReplay bool
}

// Allocator is the IPAM driver. One mutex guards its state; it is never
// held across a Claims call.
type Allocator struct {
	claims Claims
	store  Store
	log    *slog.Logger

	mu       sync.Mutex
	pools    map[string]*pool // by pool ID
	retrying bool             // a retry loop runs
	closed   bool
	retryMin time.Duration

	// sem serialises what changes this host's use of a pool or its
	// single-address claims (using and releasing a pool, claiming and
	// releasing a single address), so that a release never undoes a claim
	// made meanwhile. Unlike mu it may be held across Claims calls; it is
	// a channel so that waiting for it can be given up.
	sem chan struct{}

	ctx    context.Context // ends with Close: background claims and retries
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns an allocator with this host's pools and addresses as the
// store recorded them; log may be nil. Close it to stop its background
// work.
func New(claims Claims, st Store, log *slog.Logger) (*Allocator, error) {
	return open(claims, st, log, retryMin)
}

// open is New with the first retry delay given, which tests shorten.
func open(claims Claims, st Store, log *slog.Logger, firstRetry time.Duration) (*Allocator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pools, err := loadPools(st, log)
	if err != nil {
		return nil, err
	}
	a := &Allocator{
		claims: claims, store: st, log: log,
		pools: pools, retryMin: firstRetry, sem: make(chan struct{}, 1),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range pools {
		if p.hasPending() {
			a.kickRetry()
		}
	}
	return a, nil
}

// Close stops the background work and waits for it.
func (a *Allocator) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
}

// Capabilities: dockerd need not send MAC addresses nor replay requests
// after a restart; the store keeps everything.
func (a *Allocator) Capabilities() Capabilities { return Capabilities{} }

// DefaultAddressSpaces names the driver's address space for local and
// global networks.
func (a *Allocator) DefaultAddressSpaces() (local, global string) {
	return AddressSpace, AddressSpace
}

// pool returns a pool Docker may allocate from. Requires a.mu.
func (a *Allocator) pool(id string) (*pool, error) {
	p, ok := a.pools[id]
	if !ok || p.released {
		return nil, fmt.Errorf("IPAM pool %q: %w", id, ErrNotFound)
	}
	return p, nil
}

// background runs fn until Close. Requires a.mu.
func (a *Allocator) background(fn func(ctx context.Context)) bool {
	if a.closed {
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		fn(a.ctx)
	}()
	return true
}

func (a *Allocator) lockSem(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for an earlier IPAM request: %w", ctx.Err())
	}
}

func (a *Allocator) unlockSem() { <-a.sem }

// take hands out addr on this host and records it. Requires a.mu.
func (a *Allocator) take(p *pool, addr netip.Addr, k kind) error {
	if err := a.saveAddress(p, addr, k); err != nil {
		return err
	}
	p.addrs[addr] = k
	return nil
}
