package cluster

import (
	"bytes"
	"cmp"
	"maps"
	"net"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// view is this host's copy of the lease-bound keys (nodes, members,
// endpoints): a full read at a revision, kept current by a watch.
type view struct {
	self      string
	nodes     map[string]nodeRecord
	members   map[int]map[string]net.IP              // vni → node → VTEP
	endpoints map[int]map[string]map[string]Endpoint // vni → node → ID → endpoint
	own       map[string]ownKey                      // this host's keys as etcd holds them
}

// ownKey is one of this host's keys in etcd, for reconcile to compare with
// what is desired.
type ownKey struct {
	value string
	lease clientv3.LeaseID
}

func newView(self string) *view {
	return &view{
		self:      self,
		nodes:     map[string]nodeRecord{},
		members:   map[int]map[string]net.IP{},
		endpoints: map[int]map[string]map[string]Endpoint{},
		own:       map[string]ownKey{},
	}
}

// put records a key's new value. It returns the VNI whose Peers or Remote
// changed, or 0; a value it cannot read is an error and changes nothing.
func (v *view) put(k key, raw string, value []byte, lease clientv3.LeaseID) (int, error) {
	if k.node == v.self {
		v.own[raw] = ownKey{value: string(value), lease: lease}
	}
	switch k.section {
	case secNodes:
		var rec nodeRecord
		if err := decode(value, &rec); err != nil {
			return 0, err
		}
		v.nodes[k.node] = rec
	case secMembers:
		var rec memberRecord
		if err := decode(value, &rec); err != nil {
			return 0, err
		}
		old, ok := v.members[k.vni][k.node]
		setIn(v.members, k.vni, k.node, rec.VTEP)
		if k.node != v.self && (!ok || !old.Equal(rec.VTEP)) {
			return k.vni, nil
		}
	case secEndpoints:
		ep, err := decodeEndpoint(k, value)
		if err != nil {
			return 0, err
		}
		old, ok := v.endpoints[k.vni][k.node][k.id]
		nodes := v.endpoints[k.vni]
		if nodes == nil {
			nodes = map[string]map[string]Endpoint{}
			v.endpoints[k.vni] = nodes
		}
		setIn(nodes, k.node, k.id, ep)
		if k.node != v.self && (!ok || !old.equal(ep)) {
			return k.vni, nil
		}
	}
	return 0, nil
}

// remove forgets a deleted key and returns the VNI whose Peers or Remote
// changed, or 0.
func (v *view) remove(k key, raw string) int {
	delete(v.own, raw)
	switch k.section {
	case secNodes:
		delete(v.nodes, k.node)
	case secMembers:
		if _, ok := v.members[k.vni][k.node]; ok {
			deleteIn(v.members, k.vni, k.node)
			if k.node != v.self {
				return k.vni
			}
		}
	case secEndpoints:
		if _, ok := v.endpoints[k.vni][k.node][k.id]; ok {
			deleteIn(v.endpoints[k.vni], k.node, k.id)
			if len(v.endpoints[k.vni]) == 0 {
				delete(v.endpoints, k.vni)
			}
			if k.node != v.self {
				return k.vni
			}
		}
	}
	return 0
}

// peers lists the VTEPs of the other hosts with vni, sorted.
func (v *view) peers(vni int) []net.IP {
	var out []net.IP
	for node, vtep := range v.members[vni] {
		if node != v.self && !slices.ContainsFunc(out, vtep.Equal) {
			out = append(out, vtep)
		}
	}
	slices.SortFunc(out, func(a, b net.IP) int { return bytes.Compare(a.To16(), b.To16()) })
	return out
}

// remote lists the other hosts' endpoints on vni, sorted by node and ID.
func (v *view) remote(vni int) []Endpoint {
	var out []Endpoint
	for node, eps := range v.endpoints[vni] {
		if node != v.self {
			out = slices.AppendSeq(out, maps.Values(eps))
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// changedVNIs lists the VNIs whose Peers or Remote differ between two views.
func changedVNIs(old, cur *view) []int {
	vnis := map[int]bool{}
	for _, v := range []*view{old, cur} {
		for vni := range v.members {
			vnis[vni] = true
		}
		for vni := range v.endpoints {
			vnis[vni] = true
		}
	}
	var out []int
	for vni := range vnis {
		if !slices.EqualFunc(old.peers(vni), cur.peers(vni), net.IP.Equal) ||
			!slices.EqualFunc(old.remote(vni), cur.remote(vni), Endpoint.equal) {
			out = append(out, vni)
		}
	}
	slices.Sort(out)
	return out
}

func setIn[K1, K2 comparable, V any](m map[K1]map[K2]V, k1 K1, k2 K2, v V) {
	inner := m[k1]
	if inner == nil {
		inner = map[K2]V{}
		m[k1] = inner
	}
	inner[k2] = v
}

func deleteIn[K1, K2 comparable, V any](m map[K1]map[K2]V, k1 K1, k2 K2) {
	delete(m[k1], k2)
	if len(m[k1]) == 0 {
		delete(m, k1)
	}
}
