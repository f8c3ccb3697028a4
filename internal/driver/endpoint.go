package driver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/request"
)

// CreateEndpoint creates the endpoint's link (a veth pair with its host end
// on the bridge, or a macvlan/ipvlan child of the segment) and records it.
// Repeating it is harmless.
func (d *Driver) CreateEndpoint(ctx context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error) {
	if err := ValidID("endpoint", req.EndpointID); err != nil {
		return CreateEndpointResponse{}, err
	}
	x, err := d.records()
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	unlock, err := d.lockNetwork(ctx, req.NetworkID)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	defer unlock()

	n, err := x.lookupNetwork(req.NetworkID)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	if err := d.repairNetwork(n); err != nil {
		return CreateEndpointResponse{}, err
	}
	if err := d.allowForward(ctx, n); err != nil { // e.g. dockerd set up its firewall after our start
		d.log.Warn("firewall exception for the bridges", "err", err)
	}
	if e := x.endpoint(req.EndpointID); e != nil {
		if e.NetworkID != n.ID {
			return CreateEndpointResponse{}, fmt.Errorf("endpoint ID %s is already used on network %s", shortID(e.ID), shortID(e.NetworkID))
		}
		return d.endpointResponse(req, e), d.ensureEndpointLink(n, e)
	}
	if err := x.claimEndpoint(req.EndpointID, n.ID); err != nil { // being created on another network
		return CreateEndpointResponse{}, err
	}
	resp, err := d.createEndpoint(ctx, x, n, req)
	if err != nil {
		x.unclaimEndpoint(req.EndpointID)
	}
	return resp, err
}

// repairNetwork restores the network's links if any is missing (lost
// since a failed reconcile, or deleted by hand): a lookup per link.
func (d *Driver) repairNetwork(n *network) error {
	if networkStatus(n, d.kernel.LinkState).Intact() {
		return nil
	}
	return d.ensureNetworkLinks(n)
}

// createEndpoint makes and records a new endpoint of network n.
func (d *Driver) createEndpoint(ctx context.Context, x *index, n *network, req CreateEndpointRequest) (CreateEndpointResponse, error) {
	if err := checkEndpointLimit(x, n); err != nil {
		return CreateEndpointResponse{}, err
	}
	e, err := newEndpoint(n, req)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	if err := d.installEndpoint(ctx, x, n, e); err != nil {
		_ = d.kernel.DeleteOwned(e.hostLink(), roleEndpoint, e.ID)
		return CreateEndpointResponse{}, err
	}
	d.publishEndpoint(ctx, n, e)
	d.log.Debug("endpoint created", "network", shortID(n.ID), "endpoint", shortID(e.ID), "link", e.hostLink())
	return d.endpointResponse(req, e), nil
}

// installEndpoint creates the endpoint's link, then records it, unless
// Docker gave up on the request meanwhile.
func (d *Driver) installEndpoint(ctx context.Context, x *index, n *network, e *endpoint) error {
	if err := d.ensureEndpointLink(n, e); err != nil {
		return err
	}
	if err := request.Commit(ctx); err != nil { // Docker will never delete an endpoint it thinks failed
		return err
	}
	if err := d.store.Put(bucketEndpoints, e.ID, e); err != nil {
		return fmt.Errorf("record endpoint: %w", err)
	}
	x.recordEndpoint(e)
	return nil
}

// ensureEndpointLink creates the endpoint's link for the network's mode.
func (d *Driver) ensureEndpointLink(n *network, e *endpoint) error {
	switch n.Config.Mode {
	case ModeMacvlan:
		return d.kernel.EnsureMacvlan(endpointChild(n, e), n.Config.MacvlanMode)
	case ModeIpvlan:
		return d.kernel.EnsureIpvlan(endpointChild(n, e), n.Config.IpvlanMode, n.Config.IpvlanFlag)
	}
	return d.kernel.EnsureVeth(linksVeth(n, e))
}

// checkEndpointLimit refuses a second endpoint in macvlan passthru mode,
// where the one child takes over the parent.
func checkEndpointLimit(x *index, n *network) error {
	if n.Config.MacvlanMode != "passthru" {
		return nil
	}
	if id, ok := x.hasEndpoints(n.ID); ok {
		return fmt.Errorf("macvlan_mode=passthru allows one container per network; endpoint %s already has it", shortID(id))
	}
	return nil
}

func newEndpoint(n *network, req CreateEndpointRequest) (*endpoint, error) {
	e := &endpoint{ID: req.EndpointID, NetworkID: req.NetworkID, Address: req.Address, AddressIPv6: req.AddressIPv6}
	e.Interface, e.HostVeth = endpointLinkNames(req.EndpointID)
	if n.Config.Mode != ModeBridge {
		e.HostVeth = "" // the child itself stays marked on the host until Join
	}
	if !hasOwnMAC(n) {
		if req.MAC != nil {
			return nil, fmt.Errorf("a MAC address (%s) cannot be set here: %s", req.MAC, whyNoOwnMAC(n))
		}
		return e, nil
	}
	mac := req.MAC
	if mac == nil {
		var err error
		if mac, err = endpointMAC(req); err != nil {
			return nil, err
		}
	}
	e.MAC = mac.String()
	return e, nil
}

// hasOwnMAC reports whether the network's container interfaces get a MAC of
// their own: not ipvlan children (they share the parent's), not a passthru
// macvlan (it takes the parent's).
func hasOwnMAC(n *network) bool { return whyNoOwnMAC(n) == "" }

func whyNoOwnMAC(n *network) string {
	switch {
	case n.Config.Mode == ModeIpvlan:
		return "ipvlan interfaces share their parent's MAC"
	case n.Config.MacvlanMode == "passthru":
		return "a passthru macvlan takes its parent's MAC"
	}
	return ""
}

// endpointResponse hands back the MAC only if the driver chose it: Docker
// refuses a MAC from the driver when it already set one.
func (d *Driver) endpointResponse(req CreateEndpointRequest, e *endpoint) CreateEndpointResponse {
	if req.MAC != nil || e.MAC == "" {
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
	if req.Address.Addr().Is4() {
		ip := req.Address.Addr().As4()
		return net.HardwareAddr{0x02, 0x42, ip[0], ip[1], ip[2], ip[3]}, nil
	}
	return randomMAC()
}

// randomMAC is a random unicast, locally administered MAC.
func randomMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, fmt.Errorf("random MAC: %w", err)
	}
	mac[0] = mac[0]&0xfe | 0x02
	return mac, nil
}

func parseMACString(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, errors.New("no MAC")
	}
	return net.ParseMAC(s)
}

// DeleteEndpoint removes the endpoint's link and record. Docker has moved
// the container's interface back to the host by now (Leave); deleting a
// veth's host end removes both ends. An unknown endpoint is not an error.
func (d *Driver) DeleteEndpoint(ctx context.Context, networkID, endpointID string) error {
	x, err := d.records()
	if err != nil {
		return err
	}
	unlock, err := d.lockNetwork(ctx, networkID)
	if err != nil {
		return err
	}
	defer unlock()
	e, err := x.lookupEndpointOf(networkID, endpointID)
	if err != nil {
		if x.isUnreadable(bucketEndpoints, endpointID) {
			return d.forgetUnreadable(x, bucketEndpoints, endpointID)
		}
		return nil // unknown here: nothing to delete
	}
	return d.deleteEndpoint(x, x.network(networkID), e)
}

// deleteEndpoint removes an endpoint of network n (nil if unknown): the
// record first, so that a crash in between leaves an orphan link, which
// the next start removes, never a record of an endpoint Docker forgot.
func (d *Driver) deleteEndpoint(x *index, n *network, e *endpoint) error {
	d.withdrawEndpoint(n, e)
	if err := d.store.Delete(bucketEndpoints, e.ID); err != nil {
		return fmt.Errorf("forget endpoint: %w", err)
	}
	x.forgetEndpoint(e)
	if err := d.kernel.DeleteOwned(e.hostLink(), roleEndpoint, e.ID); err != nil {
		return err
	}
	d.log.Debug("endpoint deleted", "endpoint", shortID(e.ID))
	return nil
}

// EndpointInfo reports the endpoint's host-side plumbing to `docker inspect`.
// It reads the index only, and so waits for no request.
func (d *Driver) EndpointInfo(_ context.Context, networkID, endpointID string) (map[string]any, error) {
	x, err := d.records()
	if err != nil {
		return nil, err
	}
	e, err := x.lookupEndpointOf(networkID, endpointID)
	if err != nil {
		return nil, err
	}
	n, err := x.lookupNetwork(e.NetworkID)
	if err != nil {
		return nil, err
	}
	info := map[string]any{"mode": string(n.Config.Mode), "segment": segmentDevice(n), "macAddress": e.MAC}
	if e.HostVeth != "" {
		info["hostInterface"] = e.HostVeth
		info["bridge"] = bridgeName(n)
	}
	return info, nil
}
