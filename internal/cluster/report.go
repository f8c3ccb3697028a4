package cluster

import (
	"cmp"
	"context"
	"maps"
	"net"
	"net/netip"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Report is the cluster-wide view for `docker-vxlan-plugin inspect`, read
// at one revision.
type Report struct {
	Node      string           `json:"node"` // the host that made the report
	Revision  int64            `json:"revision"`
	Nodes     []NodeReport     `json:"nodes"`
	Segments  []SegmentReport  `json:"segments"`
	Pools     []PoolReport     `json:"pools"`
	Endpoints []EndpointReport `json:"endpoints"`
}

// NodeReport is a host the cluster knows: live (registered under its
// lease) or only holding claims and uses.
type NodeReport struct {
	Name     string   `json:"name"`
	Live     bool     `json:"live"`
	Hostname string   `json:"hostname,omitempty"`
	VTEPs    []net.IP `json:"vteps,omitempty"`
	VNIs     []int    `json:"vnis,omitempty"` // segments it is a member of
}

// SegmentReport is a VNI's definition and the hosts using it.
type SegmentReport struct {
	VNI     int      `json:"vni"`
	Subnets []Subnet `json:"subnets"`
	Creator string   `json:"creator"`
	Users   []string `json:"users"`
}

// PoolReport is a pool's shared record, its users and who holds what.
type PoolReport struct {
	Pool      netip.Prefix  `json:"pool"`
	Range     netip.Prefix  `json:"range"`
	BlockBits int           `json:"blockBits"`
	Gateway   netip.Addr    `json:"gateway,omitzero"`
	Aux       []netip.Addr  `json:"aux,omitempty"`
	Creator   string        `json:"creator"`
	Users     []string      `json:"users"`
	Claims    []ClaimReport `json:"claims"`
}

// ClaimReport is a block or single address and the host holding it.
type ClaimReport struct {
	Prefix netip.Prefix `json:"prefix"`
	Node   string       `json:"node"`
}

// EndpointReport is a published endpoint.
type EndpointReport struct {
	ID   string     `json:"id"`
	VNI  int        `json:"vni"`
	Node string     `json:"node"`
	MAC  string     `json:"mac"`
	IPv4 netip.Addr `json:"ipv4,omitzero"`
	IPv6 netip.Addr `json:"ipv6,omitzero"`
	VTEP net.IP     `json:"vtep"`
}

// Report reads the whole cluster state at one revision.
func (c *Cluster) Report(ctx context.Context) (Report, error) {
	var kvs []*mvccpb.KeyValue
	var rev int64
	err := c.casLoop(ctx, "read cluster state", func(ctx context.Context) (bool, error) {
		s, err := c.read(ctx, clientv3.OpGet(c.keys.root(), clientv3.WithPrefix()))
		if err != nil {
			return false, err
		}
		kvs, rev = s.all(0), s.rev
		return true, nil
	})
	if err != nil {
		return Report{}, err
	}
	b := newReportBuilder()
	for _, kv := range kvs {
		if k, ok := c.keys.parse(string(kv.Key)); ok {
			b.add(k, kv.Value)
		}
	}
	r := b.build()
	r.Node, r.Revision = c.cfg.Node, rev
	return r, nil
}

// reportBuilder collects records by key; unreadable values are left out.
type reportBuilder struct {
	nodes     map[string]*NodeReport
	segments  map[int]*SegmentReport
	pools     map[netip.Prefix]*PoolReport
	endpoints []EndpointReport
}

func newReportBuilder() *reportBuilder {
	return &reportBuilder{
		nodes:    map[string]*NodeReport{},
		segments: map[int]*SegmentReport{},
		pools:    map[netip.Prefix]*PoolReport{},
	}
}

func (b *reportBuilder) node(name string) *NodeReport {
	if b.nodes[name] == nil {
		b.nodes[name] = &NodeReport{Name: name}
	}
	return b.nodes[name]
}

func (b *reportBuilder) segment(vni int) *SegmentReport {
	if b.segments[vni] == nil {
		b.segments[vni] = &SegmentReport{VNI: vni}
	}
	return b.segments[vni]
}

func (b *reportBuilder) pool(p netip.Prefix) *PoolReport {
	if b.pools[p] == nil {
		b.pools[p] = &PoolReport{Pool: p}
	}
	return b.pools[p]
}

func (b *reportBuilder) add(k key, value []byte) {
	switch k.section {
	case secNodes:
		var rec nodeRecord
		if decode(value, &rec) == nil {
			n := b.node(k.node)
			n.Live, n.Hostname, n.VTEPs = true, rec.Hostname, rec.VTEPs
		}
	case secMembers:
		n := b.node(k.node)
		n.VNIs = append(n.VNIs, k.vni)
	case secEndpoints:
		if ep, err := decodeEndpoint(k, value); err == nil {
			b.endpoints = append(b.endpoints, EndpointReport{ID: ep.ID, VNI: ep.VNI, Node: ep.Node, MAC: ep.MAC.String(), IPv4: ep.IPv4, IPv6: ep.IPv6, VTEP: ep.VTEP})
		}
	case secSegments:
		var rec segmentRecord
		if decode(value, &rec) == nil {
			s := b.segment(k.vni)
			s.Subnets, s.Creator = rec.Subnets, rec.Creator
		}
	case secSegmentUsers:
		s := b.segment(k.vni)
		s.Users = append(s.Users, k.node)
		b.node(k.node)
	case secPools:
		var rec poolRecord
		if decode(value, &rec) == nil {
			p := b.pool(k.pool)
			p.Range, p.BlockBits, p.Gateway, p.Aux, p.Creator = rec.Range, rec.BlockBits, rec.Gateway, rec.Aux, rec.Creator
		}
	case secPoolUsers:
		p := b.pool(k.pool)
		p.Users = append(p.Users, k.node)
		b.node(k.node)
	case secClaims:
		var rec claimRecord
		if decode(value, &rec) == nil {
			p := b.pool(k.pool)
			p.Claims = append(p.Claims, ClaimReport{Prefix: k.claim, Node: rec.Node})
			b.node(rec.Node)
		}
	}
}

// build sorts everything so reports compare and read well.
func (b *reportBuilder) build() Report {
	var r Report
	for _, name := range slices.Sorted(maps.Keys(b.nodes)) {
		n := b.nodes[name]
		slices.Sort(n.VNIs)
		r.Nodes = append(r.Nodes, *n)
	}
	for _, vni := range slices.Sorted(maps.Keys(b.segments)) {
		s := b.segments[vni]
		slices.Sort(s.Users)
		r.Segments = append(r.Segments, *s)
	}
	for _, pool := range slices.SortedFunc(maps.Keys(b.pools), comparePrefix) {
		p := b.pools[pool]
		slices.Sort(p.Users)
		slices.SortFunc(p.Claims, func(a, b ClaimReport) int { return comparePrefix(a.Prefix, b.Prefix) })
		r.Pools = append(r.Pools, *p)
	}
	r.Endpoints = b.endpoints
	slices.SortFunc(r.Endpoints, func(a, b EndpointReport) int {
		return cmp.Or(cmp.Compare(a.VNI, b.VNI), cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID))
	})
	return r
}
