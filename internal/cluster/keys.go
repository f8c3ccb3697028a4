package cluster

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Key sections; doc.go describes what each holds.
const (
	secNodes        = "nodes"
	secMembers      = "members"
	secEndpoints    = "endpoints"
	secSegments     = "segments"
	secSegmentUsers = "segment-users"
	secSubnets      = "subnets"
	secPools        = "pools"
	secPoolUsers    = "pool-users"
	secClaims       = "claims"
)

// keyspace builds and parses the cluster's keys under one prefix (no
// trailing slash).
type keyspace string

func (k keyspace) root() string              { return string(k) + "/" }
func (k keyspace) section(sec string) string { return string(k) + "/" + sec + "/" }

func (k keyspace) node(node string) string { return k.section(secNodes) + node }
func (k keyspace) member(vni int, node string) string {
	return k.section(secMembers) + strconv.Itoa(vni) + "/" + node
}
func (k keyspace) endpoint(vni int, node, id string) string {
	return k.section(secEndpoints) + strconv.Itoa(vni) + "/" + node + "/" + id
}
func (k keyspace) segment(vni int) string { return k.section(secSegments) + strconv.Itoa(vni) }
func (k keyspace) segmentUsers(vni int) string {
	return k.section(secSegmentUsers) + strconv.Itoa(vni) + "/"
}
func (k keyspace) segmentUser(vni int, node string) string { return k.segmentUsers(vni) + node }
func (k keyspace) subnet(pool netip.Prefix) string {
	return k.section(secSubnets) + encodePrefix(pool)
}
func (k keyspace) pool(pool netip.Prefix) string { return k.section(secPools) + encodePrefix(pool) }
func (k keyspace) poolUsers(pool netip.Prefix) string {
	return k.section(secPoolUsers) + encodePrefix(pool) + "/"
}
func (k keyspace) poolUser(pool netip.Prefix, node string) string { return k.poolUsers(pool) + node }
func (k keyspace) claims(pool netip.Prefix) string {
	return k.section(secClaims) + encodePrefix(pool) + "/"
}
func (k keyspace) claim(pool, p netip.Prefix) string { return k.claims(pool) + encodePrefix(p) }

// encodePrefix writes a CIDR without its '/', which separates key levels:
// 10.42.0.0/24 is 10.42.0.0-24.
func encodePrefix(p netip.Prefix) string { return p.Addr().String() + "-" + strconv.Itoa(p.Bits()) }

func decodePrefix(s string) (netip.Prefix, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return netip.Prefix{}, fmt.Errorf("prefix %q: no '-'", s)
	}
	return netip.ParsePrefix(s[:i] + "/" + s[i+1:])
}

// key is a parsed key; which fields are set depends on its section.
type key struct {
	section string
	vni     int
	node    string
	id      string       // endpoints
	pool    netip.Prefix // subnets, pools, pool-users, claims
	claim   netip.Prefix // claims
}

// leased says whether the key lives under its host's lease.
func (k key) leased() bool {
	return k.section == secNodes || k.section == secMembers || k.section == secEndpoints
}

// parse splits a key of this keyspace; ok is false for anything else.
func (k keyspace) parse(s string) (key, bool) {
	rest, found := strings.CutPrefix(s, k.root())
	if !found {
		return key{}, false
	}
	parts := strings.Split(rest, "/")
	out := key{section: parts[0]}
	args := parts[1:]
	var err error
	switch {
	case out.section == secNodes && len(args) == 1:
		out.node = args[0]
	case (out.section == secMembers || out.section == secSegmentUsers) && len(args) == 2:
		out.vni, err = parseVNI(args[0])
		out.node = args[1]
	case out.section == secEndpoints && len(args) == 3:
		out.vni, err = parseVNI(args[0])
		out.node, out.id = args[1], args[2]
	case out.section == secSegments && len(args) == 1:
		out.vni, err = parseVNI(args[0])
	case (out.section == secSubnets || out.section == secPools) && len(args) == 1:
		out.pool, err = decodePrefix(args[0])
	case out.section == secPoolUsers && len(args) == 2:
		out.pool, err = decodePrefix(args[0])
		out.node = args[1]
	case out.section == secClaims && len(args) == 2:
		out.pool, err = decodePrefix(args[0])
		if err == nil {
			out.claim, err = decodePrefix(args[1])
		}
	default:
		return key{}, false
	}
	if err != nil || (out.node == "" && hasNode(out.section)) || (out.section == secEndpoints && out.id == "") {
		return key{}, false
	}
	return out, true
}

func hasNode(section string) bool {
	switch section {
	case secNodes, secMembers, secEndpoints, secSegmentUsers, secPoolUsers:
		return true
	}
	return false
}

func parseVNI(s string) (int, error) {
	vni, err := strconv.Atoi(s)
	if err != nil || !validVNI(vni) {
		return 0, fmt.Errorf("VNI %q out of range", s)
	}
	return vni, nil
}

func validVNI(vni int) bool { return vni > 0 && vni < 1<<24 }

// validName says whether s can be one key level: a node name or an
// endpoint ID.
func validName(s string) bool { return s != "" && !strings.Contains(s, "/") }
