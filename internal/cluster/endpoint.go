package cluster

import (
	"bytes"
	"fmt"
	"net"
)

// equal compares two endpoints field by field.
func (e Endpoint) equal(o Endpoint) bool {
	return e.ID == o.ID && e.VNI == o.VNI && e.Node == o.Node && e.VTEP.Equal(o.VTEP) &&
		bytes.Equal(e.MAC, o.MAC) && e.IPv4 == o.IPv4 && e.IPv6 == o.IPv6
}

// validate refuses an endpoint that cannot be published.
func (e Endpoint) validate() error {
	switch {
	case !validName(e.ID):
		return fmt.Errorf("endpoint ID %q: must be non-empty and without '/'", e.ID)
	case !validVNI(e.VNI):
		return fmt.Errorf("endpoint %s: VxlanId %d out of range", e.ID, e.VNI)
	case len(e.MAC) == 0:
		return fmt.Errorf("endpoint %s: no MAC address", e.ID)
	case e.VTEP == nil:
		return fmt.Errorf("endpoint %s: no VTEP address", e.ID)
	}
	return nil
}

func encodeEndpoint(e Endpoint) (string, error) {
	return encode(endpointRecord{header: versioned(), MAC: e.MAC.String(), VTEP: e.VTEP, IPv4: e.IPv4, IPv6: e.IPv6})
}

// decodeEndpoint reads an endpoint value; its key supplies VNI, node and ID.
func decodeEndpoint(k key, value []byte) (Endpoint, error) {
	var rec endpointRecord
	if err := decode(value, &rec); err != nil {
		return Endpoint{}, err
	}
	mac, err := net.ParseMAC(rec.MAC)
	if err != nil {
		return Endpoint{}, err
	}
	if rec.VTEP == nil {
		return Endpoint{}, fmt.Errorf("no VTEP")
	}
	return Endpoint{ID: k.id, VNI: k.vni, Node: k.node, VTEP: rec.VTEP, MAC: mac, IPv4: rec.IPv4, IPv6: rec.IPv6}, nil
}
