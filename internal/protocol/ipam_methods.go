package protocol

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
)

// IPAM is the IPAM driver the protocol serves beside the network driver;
// *ipam.Allocator implements it.
type IPAM interface {
	Capabilities() ipam.Capabilities
	DefaultAddressSpaces() (local, global string)
	RequestPool(context.Context, ipam.PoolRequest) (ipam.PoolResponse, error)
	ReleasePool(ctx context.Context, poolID string) error
	RequestAddress(context.Context, ipam.AddressRequest) (netip.Prefix, map[string]string, error)
	ReleaseAddress(ctx context.Context, poolID string, addr netip.Addr) error
}

// ipamMethods maps each IPAM method to its call.
func (s *server) ipamMethods() map[string]call {
	return map[string]call{
		"IpamDriver.GetCapabilities":         s.ipamCapabilities,
		"IpamDriver.GetDefaultAddressSpaces": s.addressSpaces,
		"IpamDriver.RequestPool":             s.requestPool,
		"IpamDriver.ReleasePool":             s.releasePool,
		"IpamDriver.RequestAddress":          s.requestAddress,
		"IpamDriver.ReleaseAddress":          s.releaseAddress,
	}
}

func (s *server) ipamCapabilities(context.Context, []byte) (any, error) {
	c := s.ipam.Capabilities()
	return ipamCapabilitiesResponse{RequiresMACAddress: c.RequiresMACAddress, RequiresRequestReplay: c.RequiresRequestReplay}, nil
}

func (s *server) addressSpaces(context.Context, []byte) (any, error) {
	local, global := s.ipam.DefaultAddressSpaces()
	return addressSpacesResponse{LocalDefaultAddressSpace: local, GlobalDefaultAddressSpace: global}, nil
}

func (s *server) requestPool(ctx context.Context, body []byte) (any, error) {
	var req requestPoolRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	r := ipam.PoolRequest{AddressSpace: req.AddressSpace, Options: req.Options, V6: req.V6}
	var err error
	if r.Pool, err = optionalPrefix("pool", req.Pool); err != nil {
		return nil, err
	}
	if r.SubPool, err = optionalPrefix("sub-pool (--ip-range)", req.SubPool); err != nil {
		return nil, err
	}
	out, err := s.ipam.RequestPool(ctx, r)
	if err != nil {
		return nil, err
	}
	return requestPoolResponse{PoolID: out.PoolID, Pool: out.Pool.String(), Data: out.Data}, nil
}

func (s *server) releasePool(ctx context.Context, body []byte) (any, error) {
	var req releasePoolRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.PoolID == "" {
		return nil, errNoPoolID
	}
	return empty{}, s.ipam.ReleasePool(ctx, req.PoolID)
}

func (s *server) requestAddress(ctx context.Context, body []byte) (any, error) {
	var req requestAddressRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.PoolID == "" {
		return nil, errNoPoolID
	}
	r := ipam.AddressRequest{PoolID: req.PoolID, Options: req.Options}
	if req.Address != "" {
		var err error
		if r.Address, err = netip.ParseAddr(req.Address); err != nil {
			return nil, badRequest{fmt.Errorf("requested address %q is not an IP address", req.Address)}
		}
	}
	addr, data, err := s.ipam.RequestAddress(ctx, r)
	if err != nil {
		return nil, err
	}
	return requestAddressResponse{Address: addr.String(), Data: data}, nil
}

func (s *server) releaseAddress(ctx context.Context, body []byte) (any, error) {
	var req releaseAddressRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.PoolID == "" {
		return nil, errNoPoolID
	}
	addr, err := netip.ParseAddr(req.Address)
	if err != nil {
		return nil, badRequest{fmt.Errorf("address to release %q is not an IP address", req.Address)}
	}
	return empty{}, s.ipam.ReleaseAddress(ctx, req.PoolID, addr)
}

var errNoPoolID = badRequest{errors.New("request without a PoolID")}

// optionalPrefix reads a pool in CIDR notation; "" is none.
func optionalPrefix(what, s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, badRequest{fmt.Errorf("%s %q is not a subnet in CIDR notation", what, s)}
	}
	return p, nil
}
