package cluster

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
)

// recordVersion is the version of every value this code writes. A reader
// skips records of another version rather than misread them.
const recordVersion = 1

type header struct {
	V int `json:"v"`
}

func (h header) version() int { return h.V }

// versioned is the header of a record written now.
func versioned() header { return header{V: recordVersion} }

// nodeRecord is nodes/<node>: a live host (under its lease).
type nodeRecord struct {
	header
	Hostname string   `json:"hostname"`
	VTEPs    []net.IP `json:"vteps"`
}

// memberRecord is members/<vni>/<node>: the host has the VNI (under its lease).
type memberRecord struct {
	header
	VTEP net.IP `json:"vtep"`
}

// endpointRecord is endpoints/<vni>/<node>/<id> (under its host's lease).
type endpointRecord struct {
	header
	MAC  string     `json:"mac"`
	VTEP net.IP     `json:"vtep"`
	IPv4 netip.Addr `json:"ipv4,omitzero"`
	IPv6 netip.Addr `json:"ipv6,omitzero"`
}

// segmentRecord is segments/<vni>: the VNI's cluster-wide definition.
type segmentRecord struct {
	header
	Subnets []Subnet `json:"subnets"`
	Creator string   `json:"creator"`
}

// subnetIndex is subnets/<pool>: which VNI a subnet is on, so a subnet
// is never on two VNIs, and the aux addresses the pool's IPAM keeps free.
type subnetIndex struct {
	header
	VNI     int          `json:"vni"`
	Creator string       `json:"creator"`
	Aux     []netip.Addr `json:"aux,omitempty"`
}

// poolRecord is pools/<pool>: ipam.PoolRecord as shared by its users.
type poolRecord struct {
	header
	Range     netip.Prefix `json:"range"`
	BlockBits int          `json:"blockBits"`
	Gateway   netip.Addr   `json:"gateway,omitzero"`
	Aux       []netip.Addr `json:"aux,omitempty"`
	Creator   string       `json:"creator"`
}

// useRecord is segment-users/<vni>/<node> and pool-users/<pool>/<node>.
type useRecord struct {
	header
}

// claimRecord is claims/<pool>/<prefix>: the host holding a block or address.
type claimRecord struct {
	header
	Node string `json:"node"`
}

func encode(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(data), nil
}

// decode reads a record and refuses other versions.
func decode(data []byte, v interface{ version() int }) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	if v.version() != recordVersion {
		return fmt.Errorf("record version %d, this plugin reads version %d", v.version(), recordVersion)
	}
	return nil
}
