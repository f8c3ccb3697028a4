package protocol

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strconv"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

// methods maps each protocol method to its call.
func (s *server) methods() map[string]call {
	m := map[string]call{
		"Plugin.Activate":                           s.activate,
		"NetworkDriver.GetCapabilities":             s.capabilities,
		"NetworkDriver.GwAllocCheck":                s.gwAllocCheck,
		"NetworkDriver.CreateNetwork":               s.createNetwork,
		"NetworkDriver.DeleteNetwork":               s.networkCall(s.d.DeleteNetwork),
		"NetworkDriver.AllocateNetwork":             s.allocateNetwork,
		"NetworkDriver.FreeNetwork":                 s.networkCall(func(_ context.Context, id string) error { return s.d.FreeNetwork(id) }),
		"NetworkDriver.CreateEndpoint":              s.createEndpoint,
		"NetworkDriver.DeleteEndpoint":              s.endpointCall(s.d.DeleteEndpoint),
		"NetworkDriver.EndpointOperInfo":            s.endpointInfo,
		"NetworkDriver.Join":                        s.join,
		"NetworkDriver.Leave":                       s.endpointCall(withoutContext(s.d.Leave)),
		"NetworkDriver.DiscoverNew":                 s.discover(s.d.DiscoverNew),
		"NetworkDriver.DiscoverDelete":              s.discover(s.d.DiscoverDelete),
		"NetworkDriver.ProgramExternalConnectivity": s.endpointCall(withoutContext(s.d.ProgramExternalConnectivity)),
		"NetworkDriver.RevokeExternalConnectivity":  s.endpointCall(withoutContext(s.d.RevokeExternalConnectivity)),
	}
	if s.ipam != nil {
		maps.Copy(m, s.ipamMethods())
	}
	return m
}

// empty is the body of a successful response that carries nothing.
type empty struct{}

func (s *server) activate(context.Context, []byte) (any, error) {
	if s.ipam != nil {
		return activateResponse{Implements: []string{"NetworkDriver", "IpamDriver"}}, nil
	}
	return activateResponse{Implements: []string{"NetworkDriver"}}, nil
}

func (s *server) capabilities(context.Context, []byte) (any, error) {
	c := s.d.Capabilities()
	return capabilitiesResponse{Scope: c.Scope, ConnectivityScope: c.ConnectivityScope, GwAllocChecker: c.GwAllocChecker}, nil
}

func (s *server) gwAllocCheck(ctx context.Context, body []byte) (any, error) {
	var req gwAllocCheckRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	generic, err := genericOptions(req.Options)
	if err != nil {
		return nil, err
	}
	skip4, skip6, err := s.d.GwAllocCheck(generic)
	return gwAllocCheckResponse{SkipIPv4: skip4, SkipIPv6: skip6}, err
}

func (s *server) createNetwork(ctx context.Context, body []byte) (any, error) {
	var req createNetworkRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkIDs(req.NetworkID); err != nil {
		return nil, err
	}
	r, err := networkRequestFromWire(req)
	if err != nil {
		return nil, err
	}
	return empty{}, s.d.CreateNetwork(ctx, r)
}

func (s *server) allocateNetwork(ctx context.Context, body []byte) (any, error) {
	var req allocateNetworkRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkIDs(req.NetworkID); err != nil {
		return nil, err
	}
	opts := make(map[string]any, len(req.Options))
	for k, v := range req.Options {
		opts[k] = v
	}
	r, err := networkRequestFromWire(createNetworkRequest{
		NetworkID: req.NetworkID, Options: map[string]any{optGeneric: opts},
		IPv4Data: req.IPv4Data, IPv6Data: req.IPv6Data,
	})
	if err != nil {
		return nil, err
	}
	out, err := s.d.AllocateNetwork(r)
	return allocateNetworkResponse{Options: out}, err
}

// networkCall serves the methods whose request is just the network ID.
func (s *server) networkCall(fn func(ctx context.Context, networkID string) error) call {
	return func(ctx context.Context, body []byte) (any, error) {
		var req networkRequest
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		if err := checkIDs(req.NetworkID); err != nil {
			return nil, err
		}
		return empty{}, fn(ctx, req.NetworkID)
	}
}

func (s *server) createEndpoint(ctx context.Context, body []byte) (any, error) {
	var req createEndpointRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return nil, err
	}
	r, err := endpointRequestFromWire(req)
	if err != nil {
		return nil, err
	}
	out, err := s.d.CreateEndpoint(ctx, r)
	if err != nil || out.MAC == nil {
		return createEndpointResponse{}, err
	}
	return createEndpointResponse{Interface: &endpointInterface{MacAddress: out.MAC.String()}}, nil
}

func (s *server) endpointInfo(ctx context.Context, body []byte) (any, error) {
	var req endpointRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return nil, err
	}
	v, err := s.d.EndpointInfo(ctx, req.NetworkID, req.EndpointID)
	return endpointInfoResponse{Value: v}, err
}

func (s *server) join(ctx context.Context, body []byte) (any, error) {
	var req joinRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return nil, err
	}
	sb, err := sandboxFromWire(req)
	if err != nil {
		return nil, err
	}
	out, err := s.d.Join(ctx, req.NetworkID, req.EndpointID, sb)
	if err != nil {
		return nil, err
	}
	resp := joinResponse{
		InterfaceName:         interfaceName{SrcName: out.SrcName, DstPrefix: out.DstPrefix},
		DisableGatewayService: true, // never docker_gwbridge: containers are hosts on the segment
	}
	if out.Gateway.IsValid() {
		resp.Gateway = out.Gateway.String()
	}
	if out.GatewayIPv6.IsValid() {
		resp.GatewayIPv6 = out.GatewayIPv6.String()
	}
	for _, dst := range out.ConnectedRoutes {
		resp.StaticRoutes = append(resp.StaticRoutes, staticRoute{Destination: dst.String(), RouteType: routeConnected})
	}
	return resp, nil
}

// checkIDs refuses a request whose network ID (and endpoint ID, when given)
// is missing or malformed. dockerd re-sends a request with an empty body
// when it retries after a dropped connection: answering it 200 would make
// Docker forget a network or endpoint the plugin keeps.
func checkIDs(networkID string, endpointID ...string) error {
	if err := driver.ValidID("network", networkID); err != nil {
		return badRequest{err}
	}
	for _, id := range endpointID {
		if err := driver.ValidID("endpoint", id); err != nil {
			return badRequest{err}
		}
	}
	return nil
}

// withoutContext adapts the driver methods that need no context.
func withoutContext(fn func(networkID, endpointID string) error) func(context.Context, string, string) error {
	return func(_ context.Context, nid, eid string) error { return fn(nid, eid) }
}

// endpointCall serves the methods whose request is just the two IDs.
func (s *server) endpointCall(fn func(ctx context.Context, networkID, endpointID string) error) call {
	return func(ctx context.Context, body []byte) (any, error) {
		var req endpointRequest
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
			return nil, err
		}
		return empty{}, fn(ctx, req.NetworkID, req.EndpointID)
	}
}

// discover serves DiscoverNew and DiscoverDelete. Only node discovery
// concerns this driver; other notifications are acknowledged.
func (s *server) discover(fn func(context.Context, driver.NodeDiscovery) error) call {
	return func(ctx context.Context, body []byte) (any, error) {
		var req discoveryNotification
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		if req.DiscoveryType != discoveryNodeType {
			return empty{}, nil
		}
		var node nodeDiscoveryData
		if err := json.Unmarshal(req.DiscoveryData, &node); err != nil {
			return nil, badRequest{fmt.Errorf("malformed node discovery data: %w", err)}
		}
		return empty{}, fn(ctx, driver.NodeDiscovery{Address: node.Address, BindAddress: node.BindAddress, Self: node.Self})
	}
}

// --- wire to driver conversions ---

// sandboxFromWire reads the container side of a Join: its namespace and the
// ports it asks to publish (Docker's sandbox options).
func sandboxFromWire(req joinRequest) (driver.Sandbox, error) {
	sb := driver.Sandbox{Key: req.SandboxKey}
	raw, ok := req.Options[optPortMap]
	if !ok || raw == nil {
		return sb, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return sb, badRequest{fmt.Errorf("%s: %w", optPortMap, err)}
	}
	var bindings []portBinding
	if err := json.Unmarshal(b, &bindings); err != nil {
		return sb, badRequest{fmt.Errorf("%s: want a list of port bindings: %w", optPortMap, err)}
	}
	for _, p := range bindings {
		sb.PortBindings = append(sb.PortBindings, driver.PortBinding{
			Proto: protoName(p.Proto), Port: p.Port, HostIP: p.HostIP, HostPort: p.HostPort,
		})
	}
	return sb, nil
}

// protoName reads libnetwork's protocol numbers.
func protoName(p uint8) string {
	switch p {
	case 17:
		return "udp"
	case 132:
		return "sctp"
	}
	return "tcp"
}

func networkRequestFromWire(req createNetworkRequest) (driver.CreateNetworkRequest, error) {
	generic, err := genericOptions(req.Options)
	if err != nil {
		return driver.CreateNetworkRequest{}, err
	}
	r := driver.CreateNetworkRequest{
		NetworkID:  req.NetworkID,
		Options:    generic,
		Internal:   boolOption(req.Options[optInternal]),
		EnableIPv6: boolOption(req.Options[optEnableIPv6]),
	}
	if r.IPv4, err = subnetsFromWire(req.IPv4Data); err != nil {
		return r, err
	}
	if r.IPv6, err = subnetsFromWire(req.IPv6Data); err != nil {
		return r, err
	}
	return r, nil
}

// genericOptions extracts the -o options, which Docker nests under
// com.docker.network.generic. Values must be strings.
func genericOptions(opts map[string]any) (map[string]string, error) {
	out := map[string]string{}
	raw, ok := opts[optGeneric]
	if !ok || raw == nil {
		return out, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest{fmt.Errorf("%s: want an object of options, got %T", optGeneric, raw)}
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool:
			out[k] = strconv.FormatBool(v)
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, badRequest{fmt.Errorf("option %s: want a string value, got %T", k, v)}
		}
	}
	return out, nil
}

// boolOption reads a flag Docker sends as a JSON bool (or, from some
// versions, a string).
func boolOption(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func subnetsFromWire(data []ipamData) ([]driver.Subnet, error) {
	var out []driver.Subnet
	for _, d := range data {
		pool, err := netip.ParsePrefix(d.Pool)
		if err != nil {
			return nil, badRequest{fmt.Errorf("IPAM pool %q: %w", d.Pool, err)}
		}
		s := driver.Subnet{Pool: pool.Masked()}
		if d.Gateway != "" {
			if s.Gateway, err = parseCIDR(d.Gateway); err != nil {
				return nil, badRequest{fmt.Errorf("IPAM gateway: %w", err)}
			}
		}
		for name, a := range d.AuxAddresses {
			p, err := parseCIDR(a)
			if err != nil {
				return nil, badRequest{fmt.Errorf("IPAM aux address %s: %w", name, err)}
			}
			if s.AuxAddresses == nil {
				s.AuxAddresses = map[string]netip.Prefix{}
			}
			s.AuxAddresses[name] = p
		}
		out = append(out, s)
	}
	return out, nil
}

func endpointRequestFromWire(req createEndpointRequest) (driver.CreateEndpointRequest, error) {
	r := driver.CreateEndpointRequest{NetworkID: req.NetworkID, EndpointID: req.EndpointID}
	iface := req.Interface
	if iface == nil {
		return r, nil
	}
	var err error
	if iface.Address != "" {
		if r.Address, err = parseCIDR(iface.Address); err != nil {
			return r, badRequest{fmt.Errorf("endpoint address: %w", err)}
		}
	}
	if iface.AddressIPv6 != "" {
		if r.AddressIPv6, err = parseCIDR(iface.AddressIPv6); err != nil {
			return r, badRequest{fmt.Errorf("endpoint IPv6 address: %w", err)}
		}
	}
	if iface.MacAddress != "" {
		r.MAC, err = net.ParseMAC(iface.MacAddress)
		if err != nil || len(r.MAC) != 6 || r.MAC[0]&1 == 1 {
			return r, badRequest{fmt.Errorf("endpoint MAC address %q: want a 6-byte unicast Ethernet address", iface.MacAddress)}
		}
	}
	return r, nil
}

// parseCIDR reads an address with its prefix length, keeping the host bits.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address in CIDR notation", s)
	}
	return p, nil
}
