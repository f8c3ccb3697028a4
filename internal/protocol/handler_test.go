package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

// --- a fake Driver that records its calls ---

type fakeCall struct {
	Method string
	Args   []any
}

type fakeDriver struct {
	mu    sync.Mutex
	calls []fakeCall

	// canned results
	caps         driver.Capabilities
	skip4, skip6 bool
	allocated    map[string]string
	endpoint     driver.CreateEndpointResponse
	join         driver.JoinResponse
	info         map[string]any

	err     error         // returned by every method that can fail
	panics  bool          // every method panics
	block   chan struct{} // if non-nil, every method waits until it is closed
	entered chan struct{} // if non-nil, receives once per call, before blocking
}

var _ Driver = (*fakeDriver)(nil)

// record notes a call and then fails, panics or blocks as configured.
func (f *fakeDriver) record(method string, args ...any) error {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{method, args})
	panics, block, entered, err := f.panics, f.block, f.entered, f.err
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if panics {
		panic("fake driver: " + method + " exploded")
	}
	if block != nil {
		<-block
	}
	return err
}

func (f *fakeDriver) set(fn func(f *fakeDriver)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDriver) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// normalize makes empty and nil maps compare equal in recorded requests.
func normalize(r driver.CreateNetworkRequest) driver.CreateNetworkRequest {
	if len(r.Options) == 0 {
		r.Options = nil
	}
	return r
}

func (f *fakeDriver) Capabilities() driver.Capabilities {
	_ = f.record("Capabilities")
	return f.caps
}

func (f *fakeDriver) GwAllocCheck(options map[string]string) (bool, bool, error) {
	err := f.record("GwAllocCheck", options)
	return f.skip4, f.skip6, err
}

func (f *fakeDriver) CreateNetwork(_ context.Context, r driver.CreateNetworkRequest) error {
	return f.record("CreateNetwork", normalize(r))
}

func (f *fakeDriver) DeleteNetwork(_ context.Context, nid string) error {
	return f.record("DeleteNetwork", nid)
}

func (f *fakeDriver) AllocateNetwork(r driver.CreateNetworkRequest) (map[string]string, error) {
	err := f.record("AllocateNetwork", normalize(r))
	return f.allocated, err
}

func (f *fakeDriver) FreeNetwork(nid string) error { return f.record("FreeNetwork", nid) }

func (f *fakeDriver) CreateEndpoint(_ context.Context, r driver.CreateEndpointRequest) (driver.CreateEndpointResponse, error) {
	err := f.record("CreateEndpoint", r)
	return f.endpoint, err
}

func (f *fakeDriver) DeleteEndpoint(_ context.Context, nid, eid string) error {
	return f.record("DeleteEndpoint", nid, eid)
}

func (f *fakeDriver) EndpointInfo(_ context.Context, nid, eid string) (map[string]any, error) {
	err := f.record("EndpointInfo", nid, eid)
	return f.info, err
}

func (f *fakeDriver) Join(_ context.Context, nid, eid string, sb ...driver.Sandbox) (driver.JoinResponse, error) {
	err := f.record("Join", nid, eid, sb)
	return f.join, err
}

func (f *fakeDriver) Leave(nid, eid string) error { return f.record("Leave", nid, eid) }

func (f *fakeDriver) DiscoverNew(_ context.Context, n driver.NodeDiscovery) error {
	return f.record("DiscoverNew", n)
}

func (f *fakeDriver) DiscoverDelete(_ context.Context, n driver.NodeDiscovery) error {
	return f.record("DiscoverDelete", n)
}

func (f *fakeDriver) ProgramExternalConnectivity(nid, eid string) error {
	return f.record("ProgramExternalConnectivity", nid, eid)
}

func (f *fakeDriver) RevokeExternalConnectivity(nid, eid string) error {
	return f.record("RevokeExternalConnectivity", nid, eid)
}

// --- HTTP helpers ---

func newServer(t *testing.T, f *fakeDriver, lim Limits) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewHandler(f, nil, slog.New(slog.DiscardHandler), lim, nil))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status      int
	contentType string
	body        []byte
}

// do sends a request the way dockerd's plugin client does.
func do(t *testing.T, srv *httptest.Server, httpMethod, method, body string) response {
	t.Helper()
	req, err := http.NewRequest(httpMethod, srv.URL+"/"+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ContentType)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", httpMethod, method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", httpMethod, method, err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b}
}

func post(t *testing.T, srv *httptest.Server, method, body string) response {
	t.Helper()
	return do(t, srv, http.MethodPost, method, body)
}

// assertJSON checks that got is the JSON document want: the same keys and
// values, nothing more.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response is not JSON: %v: %q", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("response body\n got %s\nwant %s", strings.TrimSpace(string(got)), want)
	}
}

// assertOK checks a successful response and its exact body.
func assertOK(t *testing.T, r response, want string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	assertContentType(t, r)
	assertJSON(t, r.body, want)
}

func assertContentType(t *testing.T, r response) {
	t.Helper()
	if r.contentType != ContentType {
		t.Errorf("Content-Type %q, want %q", r.contentType, ContentType)
	}
}

// errBody decodes a body that must be exactly {"Err": "..."}.
func errBody(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error response is not JSON: %v: %q", err, body)
	}
	e, ok := m["Err"].(string)
	if !ok || e == "" || len(m) != 1 {
		t.Fatalf("error response %s, want exactly a non-empty {\"Err\": string}", body)
	}
	return e
}

// assertErr checks an error response: its status, content type and that Err
// contains want.
func assertErr(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %s", r.status, status, r.body)
	}
	assertContentType(t, r)
	if e := errBody(t, r.body); !strings.Contains(e, want) {
		t.Errorf("Err %q does not contain %q", e, want)
	}
}

func assertCalls(t *testing.T, f *fakeDriver, want ...fakeCall) {
	t.Helper()
	got := f.recorded()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("driver calls\n got %#v\nwant %#v", got, want)
	}
}

func called(method string, args ...any) fakeCall { return fakeCall{method, args} }

// --- realistic dockerd bodies ---

const (
	nid = "5e9b3f4c1a2d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
	eid = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

var (
	createNetworkBody = `{
		"NetworkID": "` + nid + `",
		"Options": {
			"com.docker.network.enable_ipv6": true,
			"com.docker.network.generic": {"VxlanId": "42", "Peers": "192.0.2.1,192.0.2.2"},
			"com.docker.network.internal": false
		},
		"IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "198.51.100.0/24",
			"Gateway": "198.51.100.1/24", "AuxAddresses": {"r": "198.51.100.5/24"}}],
		"IPv6Data": [{"AddressSpace": "LocalDefault", "Pool": "2001:db8:1::/64",
			"Gateway": "2001:db8:1::1/64"}]
	}`
	createNetworkWant = driver.CreateNetworkRequest{
		NetworkID:  nid,
		Options:    map[string]string{"VxlanId": "42", "Peers": "192.0.2.1,192.0.2.2"},
		EnableIPv6: true,
		IPv4: []driver.Subnet{{
			Pool:         netip.MustParsePrefix("198.51.100.0/24"),
			Gateway:      netip.MustParsePrefix("198.51.100.1/24"),
			AuxAddresses: map[string]netip.Prefix{"r": netip.MustParsePrefix("198.51.100.5/24")},
		}},
		IPv6: []driver.Subnet{{
			Pool:    netip.MustParsePrefix("2001:db8:1::/64"),
			Gateway: netip.MustParsePrefix("2001:db8:1::1/64"),
		}},
	}
	endpointBody  = `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `"}`
	discoveryBody = `{"DiscoveryType": 1, "DiscoveryData": {"Address": "192.0.2.1", "BindAddress": "192.0.2.1", "Self": false}}`
	discoveryNode = driver.NodeDiscovery{Address: "192.0.2.1", BindAddress: "192.0.2.1", Self: false}
)

// driverMethods are the methods that reach the driver and can fail, each
// with a valid body.
var driverMethods = []struct{ method, body string }{
	{"NetworkDriver.GwAllocCheck", `{"Options": {"com.docker.network.generic": {"VxlanId": "42"}}}`},
	{"NetworkDriver.CreateNetwork", createNetworkBody},
	{"NetworkDriver.DeleteNetwork", `{"NetworkID": "` + nid + `"}`},
	{"NetworkDriver.AllocateNetwork", `{"NetworkID": "` + nid + `", "Options": {"VxlanId": "42"}}`},
	{"NetworkDriver.FreeNetwork", `{"NetworkID": "` + nid + `"}`},
	{"NetworkDriver.CreateEndpoint", `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `",
		"Interface": {"Address": "198.51.100.2/24", "AddressIPv6": "", "MacAddress": ""}, "Options": {}}`},
	{"NetworkDriver.DeleteEndpoint", endpointBody},
	{"NetworkDriver.EndpointOperInfo", endpointBody},
	{"NetworkDriver.Join", `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `",
		"SandboxKey": "/var/run/docker/netns/1a2b3c4d5e6f", "Options": {}}`},
	{"NetworkDriver.Leave", endpointBody},
	{"NetworkDriver.DiscoverNew", discoveryBody},
	{"NetworkDriver.DiscoverDelete", discoveryBody},
	{"NetworkDriver.ProgramExternalConnectivity", `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "Options": {}}`},
	{"NetworkDriver.RevokeExternalConnectivity", endpointBody},
}

// --- the methods ---

func TestMethods(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xc6, 0x33, 0x64, 0x02}
	tests := []struct {
		name   string
		method string
		body   string
		setup  func(f *fakeDriver)
		calls  []fakeCall
		want   string
	}{
		{
			name: "activate", method: "Plugin.Activate", body: "",
			want: `{"Implements": ["NetworkDriver"]}`,
		},
		{
			name: "activate null body", method: "Plugin.Activate", body: "null",
			want: `{"Implements": ["NetworkDriver"]}`,
		},
		{
			name: "capabilities", method: "NetworkDriver.GetCapabilities", body: "",
			setup: func(f *fakeDriver) {
				f.caps = driver.Capabilities{Scope: "global", ConnectivityScope: "global", GwAllocChecker: true}
			},
			calls: []fakeCall{called("Capabilities")},
			want:  `{"Scope": "global", "ConnectivityScope": "global", "GwAllocChecker": true}`,
		},
		{
			name: "capabilities local", method: "NetworkDriver.GetCapabilities", body: "",
			setup: func(f *fakeDriver) { f.caps = driver.Capabilities{Scope: "local", ConnectivityScope: "local"} },
			calls: []fakeCall{called("Capabilities")},
			want:  `{"Scope": "local", "ConnectivityScope": "local", "GwAllocChecker": false}`,
		},
		{
			name:   "gw alloc check",
			method: "NetworkDriver.GwAllocCheck",
			body: `{"Options": {"com.docker.network.enable_ipv6": true,
				"com.docker.network.generic": {"VxlanId": "42", "hostGateway": "false"}}}`,
			setup: func(f *fakeDriver) { f.skip4, f.skip6 = true, false },
			calls: []fakeCall{called("GwAllocCheck", map[string]string{"VxlanId": "42", "hostGateway": "false"})},
			want:  `{"SkipIPv4": true, "SkipIPv6": false}`,
		},
		{
			name: "create network", method: "NetworkDriver.CreateNetwork", body: createNetworkBody,
			calls: []fakeCall{called("CreateNetwork", createNetworkWant)},
			want:  `{}`,
		},
		{
			name:   "create internal network",
			method: "NetworkDriver.CreateNetwork",
			body: `{"NetworkID": "` + nid + `", "Options": {"com.docker.network.enable_ipv6": false,
				"com.docker.network.generic": {}, "com.docker.network.internal": true},
				"IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.99.0.0/16", "Gateway": "10.99.0.1/16"}],
				"IPv6Data": []}`,
			calls: []fakeCall{called("CreateNetwork", driver.CreateNetworkRequest{
				NetworkID: nid, Internal: true,
				IPv4: []driver.Subnet{{Pool: netip.MustParsePrefix("10.99.0.0/16"), Gateway: netip.MustParsePrefix("10.99.0.1/16")}},
			})},
			want: `{}`,
		},
		{
			name:   "create network flags as strings",
			method: "NetworkDriver.CreateNetwork",
			body: `{"NetworkID": "` + nid + `", "Options": {"com.docker.network.enable_ipv6": "true",
				"com.docker.network.internal": "true"}}`,
			calls: []fakeCall{called("CreateNetwork", driver.CreateNetworkRequest{NetworkID: nid, Internal: true, EnableIPv6: true})},
			want:  `{}`,
		},
		{
			name:   "allocate network",
			method: "NetworkDriver.AllocateNetwork",
			body: `{"NetworkID": "` + nid + `", "Options": {"VxlanId": "42"},
				"IPv4Data": [{"AddressSpace": "GlobalDefault", "Pool": "10.0.1.0/24", "Gateway": "10.0.1.1/24"}],
				"IPv6Data": []}`,
			setup: func(f *fakeDriver) { f.allocated = map[string]string{"VxlanId": "42", "Port": "4789"} },
			calls: []fakeCall{called("AllocateNetwork", driver.CreateNetworkRequest{
				NetworkID: nid, Options: map[string]string{"VxlanId": "42"},
				IPv4: []driver.Subnet{{Pool: netip.MustParsePrefix("10.0.1.0/24"), Gateway: netip.MustParsePrefix("10.0.1.1/24")}},
			})},
			want: `{"Options": {"VxlanId": "42", "Port": "4789"}}`,
		},
		{
			name: "delete network", method: "NetworkDriver.DeleteNetwork", body: `{"NetworkID": "` + nid + `"}`,
			calls: []fakeCall{called("DeleteNetwork", nid)},
			want:  `{}`,
		},
		{
			name: "free network", method: "NetworkDriver.FreeNetwork", body: `{"NetworkID": "` + nid + `"}`,
			calls: []fakeCall{called("FreeNetwork", nid)},
			want:  `{}`,
		},
		{
			name:   "create endpoint, driver chooses the MAC",
			method: "NetworkDriver.CreateEndpoint",
			body: `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `",
				"Interface": {"Address": "198.51.100.2/24", "AddressIPv6": "", "MacAddress": ""}, "Options": {}}`,
			setup: func(f *fakeDriver) { f.endpoint = driver.CreateEndpointResponse{MAC: mac} },
			calls: []fakeCall{called("CreateEndpoint", driver.CreateEndpointRequest{
				NetworkID: nid, EndpointID: eid, Address: netip.MustParsePrefix("198.51.100.2/24"),
			})},
			want: `{"Interface": {"MacAddress": "02:42:c6:33:64:02"}}`,
		},
		{
			name:   "create endpoint, Docker supplies the MAC",
			method: "NetworkDriver.CreateEndpoint",
			body: `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `",
				"Interface": {"Address": "198.51.100.2/24", "AddressIPv6": "2001:db8:1::2/64",
				"MacAddress": "02:42:c6:33:64:02"}, "Options": {"com.docker.network.endpoint.exposedports": []}}`,
			calls: []fakeCall{called("CreateEndpoint", driver.CreateEndpointRequest{
				NetworkID: nid, EndpointID: eid,
				Address:     netip.MustParsePrefix("198.51.100.2/24"),
				AddressIPv6: netip.MustParsePrefix("2001:db8:1::2/64"),
				MAC:         mac,
			})},
			want: `{}`,
		},
		{
			name:   "create endpoint without addresses",
			method: "NetworkDriver.CreateEndpoint",
			body:   `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "Interface": {}, "Options": {}}`,
			calls:  []fakeCall{called("CreateEndpoint", driver.CreateEndpointRequest{NetworkID: nid, EndpointID: eid})},
			want:   `{}`,
		},
		{
			name: "delete endpoint", method: "NetworkDriver.DeleteEndpoint", body: endpointBody,
			calls: []fakeCall{called("DeleteEndpoint", nid, eid)},
			want:  `{}`,
		},
		{
			name: "endpoint oper info", method: "NetworkDriver.EndpointOperInfo", body: endpointBody,
			setup: func(f *fakeDriver) { f.info = map[string]any{"SrcName": "vx-0f1e2d3c", "VNI": 42} },
			calls: []fakeCall{called("EndpointInfo", nid, eid)},
			want:  `{"Value": {"SrcName": "vx-0f1e2d3c", "VNI": 42}}`,
		},
		{
			name:   "join with IPv4 gateway",
			method: "NetworkDriver.Join",
			body: `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `",
				"SandboxKey": "/var/run/docker/netns/1a2b3c4d5e6f", "Options": {"com.docker.network.endpoint.exposedports": []}}`,
			setup: func(f *fakeDriver) {
				f.join = driver.JoinResponse{SrcName: "vx-0f1e2d3c-c", DstPrefix: "eth", Gateway: netip.MustParseAddr("198.51.100.1")}
			},
			calls: []fakeCall{called("Join", nid, eid, []driver.Sandbox{{Key: "/var/run/docker/netns/1a2b3c4d5e6f"}})},
			want: `{"InterfaceName": {"SrcName": "vx-0f1e2d3c-c", "DstPrefix": "eth"},
				"Gateway": "198.51.100.1", "DisableGatewayService": true}`,
		},
		{
			name:   "join dual stack",
			method: "NetworkDriver.Join",
			body:   `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "SandboxKey": "/var/run/docker/netns/1a2b"}`,
			setup: func(f *fakeDriver) {
				f.join = driver.JoinResponse{SrcName: "vx-0f1e2d3c-c", DstPrefix: "eth",
					Gateway: netip.MustParseAddr("198.51.100.1"), GatewayIPv6: netip.MustParseAddr("2001:db8:1::1")}
			},
			calls: []fakeCall{called("Join", nid, eid, []driver.Sandbox{{Key: "/var/run/docker/netns/1a2b"}})},
			want: `{"InterfaceName": {"SrcName": "vx-0f1e2d3c-c", "DstPrefix": "eth"},
				"Gateway": "198.51.100.1", "GatewayIPv6": "2001:db8:1::1", "DisableGatewayService": true}`,
		},
		{
			name:   "join asking to publish ports",
			method: "NetworkDriver.Join",
			body: `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "SandboxKey": "/var/run/docker/netns/1a2b",
				"Options": {"com.docker.network.portmap": [{"Proto": 6, "IP": "", "Port": 80, "HostIP": "", "HostPort": 8080},
					{"Proto": 17, "IP": "", "Port": 53, "HostIP": "127.0.0.1", "HostPort": 0}]}}`,
			setup: func(f *fakeDriver) { f.join = driver.JoinResponse{SrcName: "vx-0f1e2d3c-c", DstPrefix: "eth"} },
			calls: []fakeCall{called("Join", nid, eid, []driver.Sandbox{{Key: "/var/run/docker/netns/1a2b", PortBindings: []driver.PortBinding{
				{Proto: "tcp", Port: 80, HostPort: 8080}, {Proto: "udp", Port: 53, HostIP: "127.0.0.1"}}}})},
			want: `{"InterfaceName": {"SrcName": "vx-0f1e2d3c-c", "DstPrefix": "eth"}, "DisableGatewayService": true}`,
		},
		{
			name:   "join without gateway",
			method: "NetworkDriver.Join",
			body:   `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "SandboxKey": "/var/run/docker/netns/1a2b"}`,
			setup:  func(f *fakeDriver) { f.join = driver.JoinResponse{SrcName: "vx-0f1e2d3c-c", DstPrefix: "eth"} },
			calls:  []fakeCall{called("Join", nid, eid, []driver.Sandbox{{Key: "/var/run/docker/netns/1a2b"}})},
			want:   `{"InterfaceName": {"SrcName": "vx-0f1e2d3c-c", "DstPrefix": "eth"}, "DisableGatewayService": true}`,
		},
		{
			name: "leave", method: "NetworkDriver.Leave", body: endpointBody,
			calls: []fakeCall{called("Leave", nid, eid)},
			want:  `{}`,
		},
		{
			name: "program external connectivity", method: "NetworkDriver.ProgramExternalConnectivity",
			body:  `{"NetworkID": "` + nid + `", "EndpointID": "` + eid + `", "Options": {"com.docker.network.endpoint.exposedports": []}}`,
			calls: []fakeCall{called("ProgramExternalConnectivity", nid, eid)},
			want:  `{}`,
		},
		{
			name: "revoke external connectivity", method: "NetworkDriver.RevokeExternalConnectivity", body: endpointBody,
			calls: []fakeCall{called("RevokeExternalConnectivity", nid, eid)},
			want:  `{}`,
		},
		{
			name: "discover new node", method: "NetworkDriver.DiscoverNew", body: discoveryBody,
			calls: []fakeCall{called("DiscoverNew", discoveryNode)},
			want:  `{}`,
		},
		{
			name:   "discover delete node",
			method: "NetworkDriver.DiscoverDelete",
			body:   `{"DiscoveryType": 1, "DiscoveryData": {"Address": "192.0.2.7", "BindAddress": "0.0.0.0", "Self": true}}`,
			calls:  []fakeCall{called("DiscoverDelete", driver.NodeDiscovery{Address: "192.0.2.7", BindAddress: "0.0.0.0", Self: true})},
			want:   `{}`,
		},
		{
			name:   "discover new encryption keys is acknowledged only",
			method: "NetworkDriver.DiscoverNew",
			body:   `{"DiscoveryType": 2, "DiscoveryData": {"Keys": ["a2V5"], "Tags": [1]}}`,
			want:   `{}`,
		},
		{
			name:   "discover delete key update is acknowledged only",
			method: "NetworkDriver.DiscoverDelete",
			body:   `{"DiscoveryType": 3, "DiscoveryData": {"Primary": "a2V5"}}`,
			want:   `{}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDriver{}
			if tc.setup != nil {
				tc.setup(f)
			}
			srv := newServer(t, f, DefaultLimits())
			assertOK(t, post(t, srv, tc.method, tc.body), tc.want)
			assertCalls(t, f, tc.calls...)
		})
	}
}

// --- bad requests ---

func TestUnknownMethod(t *testing.T) {
	f := &fakeDriver{}
	srv := newServer(t, f, DefaultLimits())
	for _, m := range []string{"NetworkDriver.Frobnicate", "IpamDriver.RequestAddress", "", "Plugin.Activate/extra"} {
		t.Run(m, func(t *testing.T) {
			assertErr(t, post(t, srv, m, `{}`), http.StatusNotFound, "/"+m)
		})
	}
	assertCalls(t, f)
}

func TestWrongHTTPMethod(t *testing.T) {
	f := &fakeDriver{}
	srv := newServer(t, f, DefaultLimits())
	for _, hm := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		for _, m := range []string{"Plugin.Activate", "NetworkDriver.CreateNetwork"} {
			t.Run(hm+" "+m, func(t *testing.T) {
				r := do(t, srv, hm, m, createNetworkBody)
				if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
					t.Errorf("status %d, want 404 or 405", r.status)
				}
				assertContentType(t, r)
				errBody(t, r.body)
			})
		}
	}
	assertCalls(t, f)
}

func TestMalformedJSON(t *testing.T) {
	for _, m := range driverMethods {
		for _, body := range []string{`{"NetworkID": `, `not json`, `["array"]`, `"a string"`, `42`} {
			t.Run(m.method+" "+body, func(t *testing.T) {
				f := &fakeDriver{}
				srv := newServer(t, f, DefaultLimits())
				assertErr(t, post(t, srv, m.method, body), http.StatusBadRequest, "")
				assertCalls(t, f)
			})
		}
	}
}

func TestBadValues(t *testing.T) {
	tests := []struct{ name, method, body, want string }{
		{"pool not CIDR", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "IPv4Data": [{"Pool": "198.51.100.0"}]}`, "198.51.100.0"},
		{"gateway not CIDR", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "IPv4Data": [{"Pool": "198.51.100.0/24", "Gateway": "198.51.100.1"}]}`, "gateway"},
		{"aux address not CIDR", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "IPv4Data": [{"Pool": "198.51.100.0/24", "AuxAddresses": {"r": "x"}}]}`, "aux"},
		{"IPv6 pool garbage", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "IPv6Data": [{"Pool": "2001:db8::/129"}]}`, "2001:db8::/129"},
		{"generic options not an object", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "Options": {"com.docker.network.generic": "VxlanId=42"}}`, "com.docker.network.generic"},
		{"generic option value not a string", "NetworkDriver.CreateNetwork",
			`{"NetworkID": "n", "Options": {"com.docker.network.generic": {"VxlanId": ["42"]}}}`, "VxlanId"},
		{"allocate pool not CIDR", "NetworkDriver.AllocateNetwork",
			`{"NetworkID": "n", "IPv4Data": [{"Pool": "10.0.0.0/33"}]}`, "10.0.0.0/33"},
		{"gw alloc check generic not an object", "NetworkDriver.GwAllocCheck",
			`{"Options": {"com.docker.network.generic": 7}}`, "com.docker.network.generic"},
		{"endpoint address not CIDR", "NetworkDriver.CreateEndpoint",
			`{"NetworkID": "n", "EndpointID": "e", "Interface": {"Address": "198.51.100.2"}}`, "address"},
		{"endpoint IPv6 address not CIDR", "NetworkDriver.CreateEndpoint",
			`{"NetworkID": "n", "EndpointID": "e", "Interface": {"AddressIPv6": "2001:db8::2"}}`, "IPv6"},
		{"endpoint MAC garbage", "NetworkDriver.CreateEndpoint",
			`{"NetworkID": "n", "EndpointID": "e", "Interface": {"MacAddress": "zz:zz"}}`, "MAC"},
		{"endpoint MAC multicast", "NetworkDriver.CreateEndpoint",
			`{"NetworkID": "n", "EndpointID": "e", "Interface": {"MacAddress": "01:00:5e:00:00:01"}}`, "unicast"},
		{"endpoint MAC 8 bytes", "NetworkDriver.CreateEndpoint",
			`{"NetworkID": "n", "EndpointID": "e", "Interface": {"MacAddress": "02:00:00:00:00:00:00:01"}}`, "6-byte"},
		{"node discovery data not an object", "NetworkDriver.DiscoverNew",
			`{"DiscoveryType": 1, "DiscoveryData": "192.0.2.1"}`, "discovery"},
		{"node discovery data missing", "NetworkDriver.DiscoverDelete",
			`{"DiscoveryType": 1}`, "discovery"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDriver{}
			srv := newServer(t, f, DefaultLimits())
			assertErr(t, post(t, srv, tc.method, tc.body), http.StatusBadRequest, tc.want)
			assertCalls(t, f)
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := &fakeDriver{}
	srv := newServer(t, f, Limits{MaxBody: 256, Timeout: 5 * time.Second})

	big := `{"NetworkID": "` + nid + `", "Options": {"com.docker.network.generic": {"Peers": "` +
		strings.Repeat("192.0.2.1,", 100) + `192.0.2.2"}}}`
	assertErr(t, post(t, srv, "NetworkDriver.CreateNetwork", big), http.StatusRequestEntityTooLarge, "")
	assertCalls(t, f)

	// A request within the limit is still served.
	assertOK(t, post(t, srv, "NetworkDriver.DeleteNetwork", `{"NetworkID": "`+nid+`"}`), `{}`)
	assertCalls(t, f, called("DeleteNetwork", nid))
}

// --- driver failures ---

func TestDriverError(t *testing.T) {
	const msg = "VNI 42 is already used by network 3f2e1d0c9b8a"
	for _, m := range driverMethods {
		t.Run(m.method, func(t *testing.T) {
			f := &fakeDriver{err: errors.New(msg)}
			srv := newServer(t, f, DefaultLimits())
			r := post(t, srv, m.method, m.body)
			if r.status < 400 {
				t.Errorf("status %d for a driver error, want an error status", r.status)
			}
			assertContentType(t, r)
			if e := errBody(t, r.body); e != msg {
				t.Errorf("Err %q, want %q", e, msg)
			}
			if len(f.recorded()) != 1 {
				t.Errorf("driver calls %v, want one", f.recorded())
			}
		})
	}
}

func TestDriverNotFound(t *testing.T) {
	for _, m := range driverMethods {
		t.Run(m.method, func(t *testing.T) {
			f := &fakeDriver{err: fmt.Errorf("endpoint 0f1e2d3c4b5a: %w", driver.ErrNotFound)}
			srv := newServer(t, f, DefaultLimits())
			assertErr(t, post(t, srv, m.method, m.body), http.StatusNotFound, "endpoint 0f1e2d3c4b5a: not found")
		})
	}
}

func TestDriverPanic(t *testing.T) {
	f := &fakeDriver{panics: true}
	srv := newServer(t, f, DefaultLimits())

	for _, m := range append(driverMethods, struct{ method, body string }{"NetworkDriver.GetCapabilities", ""}) {
		t.Run(m.method, func(t *testing.T) {
			assertErr(t, post(t, srv, m.method, m.body), http.StatusInternalServerError, "internal error")
		})
	}

	// The server keeps serving.
	f.set(func(f *fakeDriver) { f.panics = false })
	assertOK(t, post(t, srv, "Plugin.Activate", ""), `{"Implements": ["NetworkDriver"]}`)
	assertOK(t, post(t, srv, "NetworkDriver.DeleteNetwork", `{"NetworkID": "`+nid+`"}`), `{}`)
}

func TestDriverTimeout(t *testing.T) {
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	f := &fakeDriver{block: block, entered: entered}
	srv := newServer(t, f, Limits{MaxBody: 1 << 20, Timeout: 50 * time.Millisecond})
	t.Cleanup(func() { close(block) }) // runs before srv.Close

	r := post(t, srv, "NetworkDriver.CreateNetwork", createNetworkBody)
	<-entered
	if r.status < 400 {
		t.Errorf("status %d for a timed out request, want an error status", r.status)
	}
	if e := errBody(t, r.body); !strings.Contains(e, "timed out") || !strings.Contains(e, "CreateNetwork") {
		t.Errorf("Err %q, want it to say CreateNetwork timed out", e)
	}
	if r.contentType != ContentType {
		t.Errorf("timeout response status %d has Content-Type %q, want %q", r.status, r.contentType, ContentType)
	}

	// Other requests are still served while the driver call is stuck.
	assertOK(t, post(t, srv, "Plugin.Activate", ""), `{"Implements": ["NetworkDriver"]}`)
}

func TestObserver(t *testing.T) {
	type seen struct {
		method string
		ok     bool
	}
	var mu sync.Mutex
	var got []seen
	observe := func(method string, ok bool, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{method, ok})
	}
	f := &fakeDriver{}
	srv := httptest.NewServer(NewHandler(f, nil, slog.New(slog.DiscardHandler), DefaultLimits(), observe))
	defer srv.Close()

	post(t, srv, "Plugin.Activate", "")
	post(t, srv, "NetworkDriver.DeleteNetwork", `{`)
	mu.Lock()
	defer mu.Unlock()
	want := []seen{{"Plugin.Activate", true}, {"NetworkDriver.DeleteNetwork", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

// --- the socket ---

// staleSocket leaves a unix socket file at path that nobody listens on, as a
// crashed plugin does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("stale socket not left behind: %v %v", fi, err)
	}
}

func dialOK(t *testing.T, path string) {
	t.Helper()
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.Close()
}

func TestListenUnixFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "plugins", "vxlan.sock")
	l, err := ListenUnix(path)
	if err != nil {
		t.Fatalf("ListenUnix in a missing directory: %v", err)
	}
	defer l.Close()
	dialOK(t, path)
}

func TestListenUnixReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vxlan.sock")
	staleSocket(t, path)
	if _, err := net.DialTimeout("unix", path, time.Second); err == nil {
		t.Fatal("stale socket still answers")
	}

	l, err := ListenUnix(path)
	if err != nil {
		t.Fatalf("ListenUnix over a stale socket: %v", err)
	}
	defer l.Close()
	dialOK(t, path)
}

func TestListenUnixRefusesLiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vxlan.sock")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	if l, err := ListenUnix(path); err == nil {
		l.Close()
		t.Fatal("ListenUnix took over a socket another process serves")
	}
	dialOK(t, path) // the live socket is untouched
}

func TestListenUnixRefusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vxlan.sock")
	const content = "not a socket; keep me"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	if l, err := ListenUnix(path); err == nil {
		l.Close()
		t.Fatal("ListenUnix replaced a regular file")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != content {
		t.Errorf("regular file changed: %q, %v", got, err)
	}
}

// A request without its IDs is refused, never answered 200: dockerd's retry
// after a dropped connection re-sends an empty body, and a 200 would make
// Docker forget what the plugin keeps.
func TestMissingOrMalformedIDs(t *testing.T) {
	methods := map[string]bool{ // method → takes an endpoint ID too
		"NetworkDriver.CreateNetwork": false, "NetworkDriver.DeleteNetwork": false,
		"NetworkDriver.AllocateNetwork": false, "NetworkDriver.FreeNetwork": false,
		"NetworkDriver.CreateEndpoint": true, "NetworkDriver.DeleteEndpoint": true,
		"NetworkDriver.EndpointOperInfo": true, "NetworkDriver.Join": true, "NetworkDriver.Leave": true,
		"NetworkDriver.ProgramExternalConnectivity": true, "NetworkDriver.RevokeExternalConnectivity": true,
	}
	for method, withEndpoint := range methods {
		bodies := []string{``, `{}`, `null`, `{"NetworkID": ""}`, `{"NetworkID": "../../etc/x", "EndpointID": "e1"}`}
		if withEndpoint {
			bodies = append(bodies, `{"NetworkID": "n1"}`, `{"NetworkID": "n1", "EndpointID": "a/b"}`)
		}
		for _, body := range bodies {
			t.Run(method+" "+body, func(t *testing.T) {
				f := &fakeDriver{}
				srv := newServer(t, f, DefaultLimits())
				assertErr(t, post(t, srv, method, body), http.StatusBadRequest, "ID")
				assertCalls(t, f)
			})
		}
		t.Run(method+" positive control", func(t *testing.T) {
			f := &fakeDriver{}
			srv := newServer(t, f, DefaultLimits())
			if r := post(t, srv, method, `{"NetworkID": "n1", "EndpointID": "e1"}`); r.status != http.StatusOK {
				t.Fatalf("well-formed IDs: status %d, body %s", r.status, r.body)
			}
		})
	}
}
