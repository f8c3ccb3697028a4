package cluster

import (
	"fmt"
	"net"
	"net/netip"
)

// Segment is one VXLAN segment's cluster-wide definition: its VNI and the
// subnets every host's network on it uses.
type Segment struct {
	VNI     int
	Subnets []Subnet
}

// Subnet is one subnet of a segment, with the addresses reserved in it.
type Subnet struct {
	Pool    netip.Prefix `json:"pool"`
	Gateway netip.Addr   `json:"gateway,omitzero"` // zero if none
	Aux     []netip.Addr `json:"aux,omitempty"`    // --aux-address
}

// Endpoint is a container interface published for the other hosts of its
// segment: they send frames for MAC to VTEP.
type Endpoint struct {
	ID   string // Docker's endpoint ID
	VNI  int
	Node string // the host it lives on; filled in by the cluster
	VTEP net.IP
	MAC  net.HardwareAddr
	IPv4 netip.Addr // zero if none
	IPv6 netip.Addr // zero if none
}

// ConflictError is a segment definition refused because the cluster
// already defines the VNI, or one of its subnets, otherwise.
type ConflictError struct {
	VNI    int
	Subnet netip.Prefix
	Holder string // the host whose definition stands
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("VxlanId %d, subnet %s: %s (defined by host %s)", e.VNI, e.Subnet, e.Reason, e.Holder)
}
