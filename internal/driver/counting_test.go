package driver_test

import (
	"maps"
	"net"
	"sync"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// tally counts calls by name.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(name string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[name] += n
}

// take returns the counts so far and starts again from zero.
func (t *tally) take() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := maps.Clone(t.n)
	if out == nil {
		out = map[string]int{}
	}
	t.n = nil
	return out
}

// writes are the Kernel methods that change the kernel (AllowForward with
// ForwardExact writes only what differs, and is counted apart).
var writes = map[string]bool{
	"EnsureBridge": true, "EnsureVxlanLink": true, "EnsureVeth": true, "EnsureVlan": true,
	"SetFloodPeers": true, "SetRemoteMACs": true, "SetNeighbors": true, "EnsureMacvlan": true,
	"EnsureIpvlan": true, "DeleteOwned": true, "AddAddrs": true, "AllowForward/add": true, "WithdrawForward": true,
	"AddForwardElements": true,
}

// countingKernel is the real kernel, counting the calls the driver makes.
type countingKernel struct {
	*links.Kernel
	calls tally
}

func (k *countingKernel) EnsureBridge(s links.BridgeSpec) error {
	k.calls.add("EnsureBridge", 1)
	return k.Kernel.EnsureBridge(s)
}

func (k *countingKernel) EnsureVxlanLink(s links.VxlanSpec) error {
	k.calls.add("EnsureVxlanLink", 1)
	return k.Kernel.EnsureVxlanLink(s)
}

func (k *countingKernel) EnsureVeth(s links.VethSpec) error {
	k.calls.add("EnsureVeth", 1)
	return k.Kernel.EnsureVeth(s)
}

func (k *countingKernel) EnsureVlan(s links.VlanSpec, mayCreate bool) (bool, error) {
	k.calls.add("EnsureVlan", 1)
	return k.Kernel.EnsureVlan(s, mayCreate)
}

func (k *countingKernel) SetFloodPeers(name string, peers []net.IP) error {
	k.calls.add("SetFloodPeers", 1)
	return k.Kernel.SetFloodPeers(name, peers)
}

func (k *countingKernel) SetRemoteMACs(name string, want []links.RemoteMAC) error {
	k.calls.add("SetRemoteMACs", 1)
	return k.Kernel.SetRemoteMACs(name, want)
}

func (k *countingKernel) SetNeighbors(name string, want []links.Neighbor) error {
	k.calls.add("SetNeighbors", 1)
	return k.Kernel.SetNeighbors(name, want)
}

func (k *countingKernel) VTEPAddr(dev string, src net.IP, remotes []net.IP, ipv6 bool) (net.IP, error) {
	k.calls.add("VTEPAddr", 1)
	return k.Kernel.VTEPAddr(dev, src, remotes, ipv6)
}

func (k *countingKernel) EnsureMacvlan(s links.ChildSpec, mode string) error {
	k.calls.add("EnsureMacvlan", 1)
	return k.Kernel.EnsureMacvlan(s, mode)
}

func (k *countingKernel) EnsureIpvlan(s links.ChildSpec, mode, flag string) error {
	k.calls.add("EnsureIpvlan", 1)
	return k.Kernel.EnsureIpvlan(s, mode, flag)
}

func (k *countingKernel) LinkMTU(name string) (int, error) {
	k.calls.add("LinkMTU", 1)
	return k.Kernel.LinkMTU(name)
}

func (k *countingKernel) DeleteOwned(name string, role links.Role, id string) error {
	k.calls.add("DeleteOwned", 1)
	return k.Kernel.DeleteOwned(name, role, id)
}

func (k *countingKernel) Snapshot() (*links.Snapshot, error) {
	k.calls.add("Snapshot", 1)
	return k.Kernel.Snapshot()
}

func (k *countingKernel) AddAddrs(name string, addrs []*net.IPNet) error {
	k.calls.add("AddAddrs", 1)
	return k.Kernel.AddAddrs(name, addrs)
}

func (k *countingKernel) AllowForward(rules []links.ForwardRule, mode links.ForwardMode) error {
	k.calls.add("AllowForward/"+mode.String(), 1)
	return k.Kernel.AllowForward(rules, mode)
}

func (k *countingKernel) AddForwardElements(rules []links.ForwardRule) error {
	k.calls.add("AddForwardElements", 1)
	return k.Kernel.AddForwardElements(rules)
}

func (k *countingKernel) WithdrawForward(rules []links.ForwardRule) error {
	k.calls.add("WithdrawForward", 1)
	return k.Kernel.WithdrawForward(rules)
}

func (k *countingKernel) LookupUnderlay(dev string, src net.IP, remotes []net.IP) (links.Underlay, error) {
	k.calls.add("LookupUnderlay", 1)
	return k.Kernel.LookupUnderlay(dev, src, remotes)
}

func (k *countingKernel) Exists(name string) bool {
	k.calls.add("Exists", 1)
	return k.Kernel.Exists(name)
}

func (k *countingKernel) Owner(name string) (links.Mark, bool) {
	k.calls.add("Owner", 1)
	return k.Kernel.Owner(name)
}

func (k *countingKernel) LinkState(name string, role links.Role, id string) links.State {
	k.calls.add("LinkState", 1)
	return k.Kernel.LinkState(name, role, id)
}

// countingStore is the real store, counting reads (Get, List, and each
// record a List decodes) and writes.
type countingStore struct {
	*store.Store
	calls tally
}

func (s *countingStore) Get(bucket, key string, v any) (bool, error) {
	s.calls.add("Get", 1)
	return s.Store.Get(bucket, key, v)
}

func (s *countingStore) List(bucket string, each func(key string, decode func(any) error) error) error {
	s.calls.add("List", 1)
	return s.Store.List(bucket, func(key string, decode func(any) error) error {
		s.calls.add("List/records", 1)
		return each(key, decode)
	})
}

func (s *countingStore) Put(bucket, key string, v any) error {
	s.calls.add("Put", 1)
	return s.Store.Put(bucket, key, v)
}

func (s *countingStore) Delete(bucket, key string) error {
	s.calls.add("Delete", 1)
	return s.Store.Delete(bucket, key)
}

// counting makes a host's driver count its calls from the next start.
func counting(h *host) (*countingKernel, *countingStore) {
	k, s := &countingKernel{}, &countingStore{}
	h.wrap = func(lk *links.Kernel, st *store.Store) (driver.Kernel, driver.Store) {
		k.Kernel, s.Store = lk, st
		return k, s
	}
	return k, s
}
