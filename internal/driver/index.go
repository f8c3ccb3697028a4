package driver

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
)

// index holds the records in memory: loaded from the store once, then
// changed after every store write that succeeded (the store first, so the
// two never disagree on an error). Requests read what they need by key
// instead of decoding the store, and find conflicts with the other
// networks by name instead of comparing them all.
//
// Beside the records it keeps the networks' claims (claims.go).
//
// Once requests are served, records in the index are never changed in
// place: requests read them without the index's lock.
type index struct {
	mu       sync.RWMutex
	nets     map[string]*network             // recorded networks by ID
	eps      map[string]*endpoint            // recorded endpoints by ID
	epsOf    map[string]map[string]*endpoint // network ID → its recorded endpoints
	claims   map[string]*network             // networks recorded or being created, by ID
	bridges  map[string]string               // bridge name → network ID
	vxlans   map[string]string               // vxlan link name → network ID
	vnis     map[int]map[int]string          // VNI → port → network ID
	parents  map[string]map[string]*network  // parent → networks on it, by ID
	epClaims map[string]string               // endpoint ID → network ID, recorded or being created
	nodes    map[string]net.IP               // swarm nodes Docker announced, by address
	// unreadable: "bucket/key" of the records that did not decode.
	unreadable map[string]bool
}

func newIndex() *index {
	return &index{
		nets: map[string]*network{}, eps: map[string]*endpoint{}, epsOf: map[string]map[string]*endpoint{},
		claims: map[string]*network{}, bridges: map[string]string{}, vxlans: map[string]string{},
		vnis: map[int]map[int]string{}, parents: map[string]map[string]*network{},
		epClaims: map[string]string{}, nodes: map[string]net.IP{}, unreadable: map[string]bool{},
	}
}

// loadIndex reads every record of the store: the only full decode, at start.
func loadIndex(s Store) (*index, error) {
	x := newIndex()
	nets, bad, err := listAll[network](s, bucketNetworks)
	if err != nil {
		return nil, err
	}
	x.noteUnreadable(bucketNetworks, bad)
	eps, bad, err := listAll[endpoint](s, bucketEndpoints)
	if err != nil {
		return nil, err
	}
	x.noteUnreadable(bucketEndpoints, bad)
	nodes, bad, err := listAll[NodeDiscovery](s, bucketNodes)
	if err != nil {
		return nil, err
	}
	x.noteUnreadable(bucketNodes, bad)
	for i := range nets {
		x.take(&nets[i])
		x.addNetwork(&nets[i])
	}
	for i := range eps {
		x.epClaims[eps[i].ID] = eps[i].NetworkID
		x.addEndpoint(&eps[i])
	}
	for _, n := range nodes {
		if ip := net.ParseIP(n.Address); ip != nil {
			x.nodes[ip.String()] = ip
		}
	}
	return x, nil
}

// record adds a network the store now holds; it was claimed.
func (x *index) record(n *network) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addNetwork(n)
}

func (x *index) addNetwork(n *network) {
	x.nets[n.ID] = n
	if x.epsOf[n.ID] == nil {
		x.epsOf[n.ID] = map[string]*endpoint{}
	}
}

// forget removes a network the store no longer holds; its claims stay
// until unclaim, once its links are gone.
func (x *index) forget(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.nets, id)
	if len(x.epsOf[id]) == 0 {
		delete(x.epsOf, id)
	}
}

// recordEndpoint adds an endpoint the store now holds.
func (x *index) recordEndpoint(e *endpoint) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addEndpoint(e)
}

func (x *index) addEndpoint(e *endpoint) {
	if n := x.nets[e.NetworkID]; n != nil {
		e.NetworkID = n.ID // one copy of the ID for all its endpoints
	}
	x.eps[e.ID] = e
	if x.epsOf[e.NetworkID] == nil {
		x.epsOf[e.NetworkID] = map[string]*endpoint{}
	}
	x.epsOf[e.NetworkID][e.ID] = e
}

// forgetEndpoint removes an endpoint the store no longer holds.
func (x *index) forgetEndpoint(e *endpoint) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.eps, e.ID)
	delete(x.epClaims, e.ID)
	delete(x.epsOf[e.NetworkID], e.ID)
	if len(x.epsOf[e.NetworkID]) == 0 && x.nets[e.NetworkID] == nil {
		delete(x.epsOf, e.NetworkID)
	}
}

func (x *index) network(id string) *network {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.nets[id]
}

func (x *index) endpoint(id string) *endpoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.eps[id]
}

// lookupNetwork returns the recorded network id; an unknown one is
// ErrNotFound.
func (x *index) lookupNetwork(id string) (*network, error) {
	if n := x.network(id); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("network %s: %w", shortID(id), ErrNotFound)
}

// lookupEndpointOf returns an endpoint of the given network; an endpoint
// of another network is as unknown as a missing one.
func (x *index) lookupEndpointOf(networkID, endpointID string) (*endpoint, error) {
	e := x.endpoint(endpointID)
	switch {
	case e == nil:
		return nil, fmt.Errorf("endpoint %s: %w", shortID(endpointID), ErrNotFound)
	case e.NetworkID != networkID:
		return nil, fmt.Errorf("endpoint %s on network %s: %w", shortID(endpointID), shortID(networkID), ErrNotFound)
	}
	return e, nil
}

// endpointsOf lists a network's recorded endpoints, by ID.
func (x *index) endpointsOf(networkID string) []*endpoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedByID(x.epsOf[networkID])
}

// hasEndpoints reports whether a network has any recorded endpoint.
func (x *index) hasEndpoints(networkID string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for id := range x.epsOf[networkID] {
		return id, true
	}
	return "", false
}

// networks lists the recorded networks, by ID.
func (x *index) networks() []*network {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedByID(x.nets)
}

// endpoints lists the recorded endpoints, by ID.
func (x *index) endpoints() []*endpoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedByID(x.eps)
}

func (x *index) counts() (networks, endpoints int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.nets), len(x.eps)
}

func (x *index) addNode(ip net.IP) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.nodes[ip.String()] = ip
}

func (x *index) removeNode(ip net.IP) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.nodes, ip.String())
}

// nodeList lists the swarm nodes Docker announced.
func (x *index) nodeList() []net.IP {
	x.mu.RLock()
	defer x.mu.RUnlock()
	keys := slices.Sorted(maps.Keys(x.nodes))
	ips := make([]net.IP, len(keys))
	for i, k := range keys {
		ips[i] = x.nodes[k]
	}
	return ips
}

// sortedByID lists a map's values in the order of their keys, so that
// every walk over the records goes the same way.
func sortedByID[T any](m map[string]*T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
