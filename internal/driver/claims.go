package driver

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// A network's claims are what it holds on this host while it is recorded
// or being created: its ID, its link names, its VNI and port, its share of
// a parent. They are taken before any link is made and given back once its
// links are gone, so that two networks created at once cannot both take a
// name, and a network being created counts wherever all networks do (the
// firewall exception, node notices, orphans).

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

// accounts reports whether a record or claim accounts for a link with mark
// m; the caller holds x.mu.
func (x *index) accounts(m links.Mark) bool {
	switch m.Role {
	case roleEndpoint:
		_, ok := x.epClaims[m.ID]
		return ok
	case roleVlan:
		return len(x.parents[m.ID]) > 0
	}
	n := x.claims[m.ID]
	if n == nil {
		return false
	}
	for _, l := range ownLinks(n) {
		if l.role == m.Role {
			return true
		}
	}
	return false
}
