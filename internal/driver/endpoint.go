package driver

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
)

// CreateEndpoint creates the endpoint's veth pair, its host end on the
// network's bridge, and records it. Repeating it is harmless.
func (d *Driver) CreateEndpoint(req CreateEndpointRequest) (CreateEndpointResponse, error) {
	if err := validID("endpoint", req.EndpointID); err != nil {
		return CreateEndpointResponse{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()

	n, err := d.loadNetwork(req.NetworkID)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	e, err := d.loadEndpoint(req.EndpointID)
	switch {
	case err == nil:
		return d.endpointResponse(req, e), d.kernel.EnsureVeth(linksVeth(n, e))
	case !errors.Is(err, ErrNotFound):
		return CreateEndpointResponse{}, err
	}
	e, err = newEndpoint(req)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	if err := d.kernel.EnsureVeth(linksVeth(n, e)); err != nil {
		return CreateEndpointResponse{}, err
	}
	if err := d.store.Put(bucketEndpoints, e.ID, e); err != nil {
		_ = d.kernel.DeleteOwned(e.HostVeth, roleVeth, e.ID)
		return CreateEndpointResponse{}, fmt.Errorf("record endpoint: %w", err)
	}
	d.log.Debug("endpoint created", "network", shortID(n.ID), "endpoint", shortID(e.ID), "veth", e.HostVeth)
	return d.endpointResponse(req, e), nil
}

func newEndpoint(req CreateEndpointRequest) (*endpoint, error) {
	mac := req.MAC
	if mac == nil {
		var err error
		if mac, err = endpointMAC(req); err != nil {
			return nil, err
		}
	}
	host, peer := vethNames(req.EndpointID)
	return &endpoint{
		ID: req.EndpointID, NetworkID: req.NetworkID,
		Address: req.Address, AddressIPv6: req.AddressIPv6,
		MAC: mac.String(), HostVeth: host, PeerVeth: peer,
	}, nil
}

// endpointResponse hands back the MAC only if the driver chose it: Docker
// refuses a MAC from the driver when it already set one.
func (d *Driver) endpointResponse(req CreateEndpointRequest, e *endpoint) CreateEndpointResponse {
	if req.MAC != nil {
		return CreateEndpointResponse{}
	}
	mac, _ := parseMACString(e.MAC)
	return CreateEndpointResponse{MAC: mac}
}

// endpointMAC derives a locally administered MAC from the IPv4 address, as
// Docker's bridge driver does, so a container that comes back with the same
// address keeps its MAC in the neighbours' ARP caches. Without IPv4 it is
// random.
func endpointMAC(req CreateEndpointRequest) (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if req.Address.Addr().Is4() {
		ip := req.Address.Addr().As4()
		mac[0], mac[1] = 0x02, 0x42
		copy(mac[2:], ip[:])
		return mac, nil
	}
	if _, err := rand.Read(mac); err != nil {
		return nil, fmt.Errorf("random MAC: %w", err)
	}
	mac[0] = mac[0]&0xfe | 0x02 // unicast, locally administered
	return mac, nil
}

func parseMACString(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, errors.New("no MAC")
	}
	return net.ParseMAC(s)
}

// DeleteEndpoint removes the endpoint's veth pair and record. Docker has
// moved the container end back to the host by now (Leave), so deleting the
// host end removes both. An unknown endpoint is not an error.
func (d *Driver) DeleteEndpoint(networkID, endpointID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.loadEndpoint(endpointID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return d.deleteEndpoint(e)
}

func (d *Driver) deleteEndpoint(e *endpoint) error {
	if err := d.kernel.DeleteOwned(e.HostVeth, roleVeth, e.ID); err != nil {
		return err
	}
	if err := d.store.Delete(bucketEndpoints, e.ID); err != nil {
		return fmt.Errorf("forget endpoint: %w", err)
	}
	d.log.Debug("endpoint deleted", "endpoint", shortID(e.ID))
	return nil
}

// EndpointInfo reports the endpoint's host-side plumbing to `docker inspect`.
func (d *Driver) EndpointInfo(networkID, endpointID string) (map[string]any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.loadEndpoint(endpointID)
	if err != nil {
		return nil, err
	}
	n, err := d.loadNetwork(e.NetworkID)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"hostInterface": e.HostVeth,
		"bridge":        bridgeName(n),
		"macAddress":    e.MAC,
	}, nil
}
