package driver

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
)

// index holds the records in memory: loaded from the store once, then
// changed after every store write that succeeded (the store first, so the
// two never disagree on an error). Requests read what they need by key
// instead of decoding the store, and find conflicts with the other
// networks by name instead of comparing them all.
//
// Beside the records it keeps claims: what each network recorded or being
// created holds on this host (its ID, link names, VNI and port, its share
// of a parent). Two networks created at once cannot both take the same
// name, and a network keeps its names until its links are gone.
//
// Records in the index are never changed in place: a change is a new
// record, written to the store and then swapped in.
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
}

func newIndex() *index {
	return &index{
		nets: map[string]*network{}, eps: map[string]*endpoint{}, epsOf: map[string]map[string]*endpoint{},
		claims: map[string]*network{}, bridges: map[string]string{}, vxlans: map[string]string{},
		vnis: map[int]map[int]string{}, parents: map[string]map[string]*network{},
		epClaims: map[string]string{}, nodes: map[string]net.IP{},
	}
}

// loadIndex reads every record of the store: the only full decode, at start.
func loadIndex(s Store) (*index, error) {
	nets, err := listAll[network](s, bucketNetworks)
	if err != nil {
		return nil, err
	}
	eps, err := listAll[endpoint](s, bucketEndpoints)
	if err != nil {
		return nil, err
	}
	nodes, err := listAll[NodeDiscovery](s, bucketNodes)
	if err != nil {
		return nil, err
	}
	x := newIndex()
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

// claim reserves what n holds on this host, or says which network holds
// it already.
func (x *index) claim(n *network) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.conflict(n); err != nil {
		return err
	}
	x.take(n)
	return nil
}

// conflict refuses what would clash on this host: the same VNI and port
// twice, a link name another network uses, or a parent it cannot share.
func (x *index) conflict(n *network) error {
	if o, ok := x.claims[n.ID]; ok {
		return fmt.Errorf("network %s is already being created", shortID(o.ID))
	}
	if o, ok := x.bridges[bridgeName(n)]; ok {
		return fmt.Errorf("bridgeName %s is already used by network %s", bridgeName(n), shortID(o))
	}
	if p := n.Config.Parent; p != "" {
		for _, o := range sortedByID(x.parents[p]) {
			if err := parentConflict(n, o); err != nil {
				return err
			}
		}
	}
	v := n.Config.VXLAN
	if v == nil {
		return nil
	}
	if o, ok := x.vxlans[vxlanName(n)]; ok {
		return fmt.Errorf("vxlanName %s is already used by network %s", vxlanName(n), shortID(o))
	}
	if o, ok := x.vnis[v.VNI][v.Port]; ok {
		return fmt.Errorf("VxlanId %d on port %d is already used by network %s on this host", v.VNI, v.Port, shortID(o))
	}
	return nil
}

// take records n's claims, whatever holds them: at load, the store is
// taken as it is.
func (x *index) take(n *network) {
	x.claims[n.ID] = n
	x.bridges[bridgeName(n)] = n.ID
	if p := n.Config.Parent; p != "" {
		if x.parents[p] == nil {
			x.parents[p] = map[string]*network{}
		}
		x.parents[p][n.ID] = n
	}
	if v := n.Config.VXLAN; v != nil {
		x.vxlans[vxlanName(n)] = n.ID
		if x.vnis[v.VNI] == nil {
			x.vnis[v.VNI] = map[int]string{}
		}
		x.vnis[v.VNI][v.Port] = n.ID
	}
}

// unclaim releases n's claims: it is not recorded, and its links are gone.
func (x *index) unclaim(n *network) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.claims[n.ID] != n {
		return
	}
	delete(x.claims, n.ID)
	deleteIf(x.bridges, bridgeName(n), n.ID)
	if p := n.Config.Parent; p != "" {
		delete(x.parents[p], n.ID)
		if len(x.parents[p]) == 0 {
			delete(x.parents, p)
		}
	}
	if v := n.Config.VXLAN; v != nil {
		deleteIf(x.vxlans, vxlanName(n), n.ID)
		deleteIf(x.vnis[v.VNI], v.Port, n.ID)
		if len(x.vnis[v.VNI]) == 0 {
			delete(x.vnis, v.VNI)
		}
	}
}

func deleteIf[K comparable](m map[K]string, k K, id string) {
	if m[k] == id {
		delete(m, k)
	}
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

// claimEndpoint reserves an endpoint ID for a network, or says which
// network uses it.
func (x *index) claimEndpoint(id, networkID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if o, ok := x.epClaims[id]; ok {
		return fmt.Errorf("endpoint ID %s is already used on network %s", shortID(id), shortID(o))
	}
	x.epClaims[id] = networkID
	return nil
}

// unclaimEndpoint releases an endpoint ID that is not recorded.
func (x *index) unclaimEndpoint(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, recorded := x.eps[id]; !recorded {
		delete(x.epClaims, id)
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

// claimed lists the networks recorded or being created, by ID.
func (x *index) claimed() []*network {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedByID(x.claims)
}

// onVNI lists the networks recorded or being created on a VNI (any port).
func (x *index) onVNI(vni int) []*network {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*network
	for _, id := range x.vnis[vni] {
		out = append(out, x.claims[id])
	}
	slices.SortFunc(out, func(a, b *network) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// parentShared reports whether a network other than n, recorded or being
// created, uses n's parent.
func (x *index) parentShared(n *network) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for id := range x.parents[n.Config.Parent] {
		if id != n.ID {
			return true
		}
	}
	return false
}

// otherBridged reports whether a bridge-mode network other than n is
// recorded or being created.
func (x *index) otherBridged(n *network) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for id, o := range x.claims {
		if id != n.ID && o.Config.Mode == ModeBridge {
			return true
		}
	}
	return false
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
