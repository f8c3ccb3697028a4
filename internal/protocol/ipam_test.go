package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// --- a fake IPAM that records its calls ---

type fakeIPAM struct {
	mu    sync.Mutex
	calls []fakeCall

	pool   ipam.PoolResponse
	addr   netip.Prefix
	data   map[string]string
	err    error
	panics bool
}

var _ IPAM = (*fakeIPAM)(nil)

func (f *fakeIPAM) record(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{method, args})
	if f.panics {
		panic("fake IPAM: " + method + " exploded")
	}
	return f.err
}

func (f *fakeIPAM) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func (f *fakeIPAM) Capabilities() ipam.Capabilities {
	_ = f.record("Capabilities")
	return ipam.Capabilities{}
}

func (f *fakeIPAM) DefaultAddressSpaces() (string, string) {
	_ = f.record("DefaultAddressSpaces")
	return "vxlan", "vxlan-global"
}

func (f *fakeIPAM) RequestPool(_ context.Context, r ipam.PoolRequest) (ipam.PoolResponse, error) {
	err := f.record("RequestPool", r)
	return f.pool, err
}

func (f *fakeIPAM) ReleasePool(_ context.Context, id string) error {
	return f.record("ReleasePool", id)
}

func (f *fakeIPAM) RequestAddress(_ context.Context, r ipam.AddressRequest) (netip.Prefix, map[string]string, error) {
	err := f.record("RequestAddress", r)
	return f.addr, f.data, err
}

func (f *fakeIPAM) ReleaseAddress(_ context.Context, id string, a netip.Addr) error {
	return f.record("ReleaseAddress", id, a)
}

func newIPAMServer(t *testing.T, f IPAM) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewHandler(&fakeDriver{}, f, slog.New(slog.DiscardHandler), DefaultLimits(), nil))
	t.Cleanup(srv.Close)
	return srv
}

func assertIPAMCalls(t *testing.T, f *fakeIPAM, want ...fakeCall) {
	t.Helper()
	got := f.recorded()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IPAM calls\n got %#v\nwant %#v", got, want)
	}
}

const poolID = "vxlan/198.51.100.0/24"

// ipamMethods are the IPAM methods that reach the allocator and can fail,
// each with a valid body.
var ipamMethods = []struct{ method, body string }{
	{"IpamDriver.RequestPool", `{"AddressSpace": "vxlan", "Pool": "198.51.100.0/24", "SubPool": "", "Options": {}, "V6": false}`},
	{"IpamDriver.ReleasePool", `{"PoolID": "` + poolID + `"}`},
	{"IpamDriver.RequestAddress", `{"PoolID": "` + poolID + `", "Address": "", "Options": null}`},
	{"IpamDriver.ReleaseAddress", `{"PoolID": "` + poolID + `", "Address": "198.51.100.2"}`},
}

func TestActivateWithIPAM(t *testing.T) {
	srv := newIPAMServer(t, &fakeIPAM{})
	assertOK(t, post(t, srv, "Plugin.Activate", ""), `{"Implements": ["NetworkDriver", "IpamDriver"]}`)
	// The network driver is still served beside it.
	assertOK(t, post(t, srv, "NetworkDriver.DeleteNetwork", `{"NetworkID": "`+nid+`"}`), `{}`)
}

func TestIPAMMethods(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
		setup  func(f *fakeIPAM)
		calls  []fakeCall
		want   string
	}{
		{
			name: "capabilities", method: "IpamDriver.GetCapabilities", body: "",
			calls: []fakeCall{called("Capabilities")},
			want:  `{"RequiresMACAddress": false, "RequiresRequestReplay": false}`,
		},
		{
			name: "default address spaces", method: "IpamDriver.GetDefaultAddressSpaces", body: "null",
			calls: []fakeCall{called("DefaultAddressSpaces")},
			want:  `{"LocalDefaultAddressSpace": "vxlan", "GlobalDefaultAddressSpace": "vxlan-global"}`,
		},
		{
			name:   "request pool with range",
			method: "IpamDriver.RequestPool",
			body: `{"AddressSpace": "vxlan", "Pool": "198.51.100.0/24", "SubPool": "198.51.100.128/25",
				"Options": {}, "V6": false}`,
			setup: func(f *fakeIPAM) {
				f.pool = ipam.PoolResponse{PoolID: poolID + "/198.51.100.128/25", Pool: netip.MustParsePrefix("198.51.100.0/24")}
			},
			calls: []fakeCall{called("RequestPool", ipam.PoolRequest{
				AddressSpace: "vxlan", Pool: netip.MustParsePrefix("198.51.100.0/24"),
				SubPool: netip.MustParsePrefix("198.51.100.128/25"), Options: map[string]string{},
			})},
			want: `{"PoolID": "vxlan/198.51.100.0/24/198.51.100.128/25", "Pool": "198.51.100.0/24"}`,
		},
		{
			name:   "request IPv6 pool without subnet",
			method: "IpamDriver.RequestPool",
			body:   `{"AddressSpace": "vxlan", "Pool": "", "SubPool": "", "Options": null, "V6": true}`,
			setup: func(f *fakeIPAM) {
				f.pool = ipam.PoolResponse{PoolID: "p6", Pool: netip.MustParsePrefix("2001:db8::/64"), Data: map[string]string{"k": "v"}}
			},
			calls: []fakeCall{called("RequestPool", ipam.PoolRequest{AddressSpace: "vxlan", V6: true})},
			want:  `{"PoolID": "p6", "Pool": "2001:db8::/64", "Data": {"k": "v"}}`,
		},
		{
			name: "release pool", method: "IpamDriver.ReleasePool", body: `{"PoolID": "` + poolID + `"}`,
			calls: []fakeCall{called("ReleasePool", poolID)},
			want:  `{}`,
		},
		{
			name:   "request any address",
			method: "IpamDriver.RequestAddress",
			body:   `{"PoolID": "` + poolID + `", "Address": "", "Options": null}`,
			setup:  func(f *fakeIPAM) { f.addr = netip.MustParsePrefix("198.51.100.2/24") },
			calls:  []fakeCall{called("RequestAddress", ipam.AddressRequest{PoolID: poolID})},
			want:   `{"Address": "198.51.100.2/24"}`,
		},
		{
			name:   "request the gateway",
			method: "IpamDriver.RequestAddress",
			body: `{"PoolID": "` + poolID + `", "Address": "198.51.100.1",
				"Options": {"RequestAddressType": "com.docker.network.gateway"}}`,
			setup: func(f *fakeIPAM) { f.addr = netip.MustParsePrefix("198.51.100.1/24") },
			calls: []fakeCall{called("RequestAddress", ipam.AddressRequest{
				PoolID: poolID, Address: netip.MustParseAddr("198.51.100.1"),
				Options: map[string]string{ipam.OptRequestAddressType: ipam.AddressTypeGateway},
			})},
			want: `{"Address": "198.51.100.1/24"}`,
		},
		{
			name:   "request an IPv6 address",
			method: "IpamDriver.RequestAddress",
			body:   `{"PoolID": "p6", "Address": "2001:db8::5", "Options": {}}`,
			setup: func(f *fakeIPAM) {
				f.addr = netip.MustParsePrefix("2001:db8::5/64")
				f.data = map[string]string{"k": "v"}
			},
			calls: []fakeCall{called("RequestAddress", ipam.AddressRequest{
				PoolID: "p6", Address: netip.MustParseAddr("2001:db8::5"), Options: map[string]string{},
			})},
			want: `{"Address": "2001:db8::5/64", "Data": {"k": "v"}}`,
		},
		{
			name:   "release address",
			method: "IpamDriver.ReleaseAddress",
			body:   `{"PoolID": "` + poolID + `", "Address": "198.51.100.2"}`,
			calls:  []fakeCall{called("ReleaseAddress", poolID, netip.MustParseAddr("198.51.100.2"))},
			want:   `{}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIPAM{}
			if tc.setup != nil {
				tc.setup(f)
			}
			srv := newIPAMServer(t, f)
			assertOK(t, post(t, srv, tc.method, tc.body), tc.want)
			assertIPAMCalls(t, f, tc.calls...)
		})
	}
}

func TestIPAMBadRequests(t *testing.T) {
	tests := []struct{ name, method, body, want string }{
		{"pool not CIDR", "IpamDriver.RequestPool", `{"Pool": "198.51.100.0"}`, "198.51.100.0"},
		{"sub-pool not CIDR", "IpamDriver.RequestPool", `{"Pool": "198.51.100.0/24", "SubPool": "x"}`, "--ip-range"},
		{"option not a string", "IpamDriver.RequestPool", `{"Pool": "198.51.100.0/24", "Options": {"a": 1}}`, "malformed"},
		{"release pool without ID", "IpamDriver.ReleasePool", `{}`, "PoolID"},
		{"address without pool ID", "IpamDriver.RequestAddress", `{"Address": "198.51.100.2"}`, "PoolID"},
		{"address not an IP", "IpamDriver.RequestAddress", `{"PoolID": "p", "Address": "198.51.100.2/24"}`, "198.51.100.2/24"},
		{"release without pool ID", "IpamDriver.ReleaseAddress", `{"Address": "198.51.100.2"}`, "PoolID"},
		{"release without address", "IpamDriver.ReleaseAddress", `{"PoolID": "p"}`, "address"},
		{"release garbage address", "IpamDriver.ReleaseAddress", `{"PoolID": "p", "Address": "zz"}`, "zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIPAM{}
			srv := newIPAMServer(t, f)
			assertErr(t, post(t, srv, tc.method, tc.body), http.StatusBadRequest, tc.want)
			assertIPAMCalls(t, f)
		})
	}
	for _, m := range ipamMethods {
		for _, body := range []string{`{"PoolID": `, `not json`, `["array"]`, `42`} {
			t.Run(m.method+" "+body, func(t *testing.T) {
				f := &fakeIPAM{}
				assertErr(t, post(t, newIPAMServer(t, f), m.method, body), http.StatusBadRequest, "")
				assertIPAMCalls(t, f)
			})
		}
	}
}

func TestIPAMErrors(t *testing.T) {
	const msg = "address 198.51.100.9: its block 198.51.100.0/28 of pool 198.51.100.0/24 is held by host b"
	for _, m := range ipamMethods {
		t.Run(m.method, func(t *testing.T) {
			f := &fakeIPAM{err: errors.New(msg)}
			r := post(t, newIPAMServer(t, f), m.method, m.body)
			assertErr(t, r, http.StatusInternalServerError, msg)
			if e := errBody(t, r.body); e != msg {
				t.Errorf("Err %q, want exactly %q", e, msg)
			}
		})
		t.Run(m.method+" unknown pool", func(t *testing.T) {
			f := &fakeIPAM{err: fmt.Errorf("IPAM pool %q: %w", poolID, ipam.ErrNotFound)}
			assertErr(t, post(t, newIPAMServer(t, f), m.method, m.body), http.StatusNotFound, poolID)
		})
		t.Run(m.method+" panic", func(t *testing.T) {
			f := &fakeIPAM{panics: true}
			srv := newIPAMServer(t, f)
			assertErr(t, post(t, srv, m.method, m.body), http.StatusInternalServerError, "internal error")
			f.mu.Lock()
			f.panics = false
			f.mu.Unlock()
			// The server keeps serving.
			assertOK(t, post(t, srv, "IpamDriver.GetCapabilities", ""), `{"RequiresMACAddress": false, "RequiresRequestReplay": false}`)
		})
	}
}

// TestIPAMWithAllocator plays dockerd's calls for a network with a gateway
// and an aux address, and a container, against the real allocator.
func TestIPAMWithAllocator(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := ipam.New(ipam.NewLocalClaims(st, "host-a"), st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := newIPAMServer(t, a)

	assertOK(t, post(t, srv, "IpamDriver.GetDefaultAddressSpaces", ""),
		`{"LocalDefaultAddressSpace": "vxlan", "GlobalDefaultAddressSpace": "vxlan"}`)
	r := post(t, srv, "IpamDriver.RequestPool", `{"AddressSpace": "vxlan", "Pool": "", "V6": false}`)
	assertErr(t, r, http.StatusInternalServerError, "--subnet")

	assertOK(t, post(t, srv, "IpamDriver.RequestPool", `{"AddressSpace": "vxlan", "Pool": "198.51.100.0/24", "SubPool": "198.51.100.0/25"}`),
		`{"PoolID": "vxlan/198.51.100.0/24/198.51.100.0/25", "Pool": "198.51.100.0/24"}`)
	const id = `"PoolID": "vxlan/198.51.100.0/24/198.51.100.0/25"`
	assertOK(t, post(t, srv, "IpamDriver.RequestAddress", `{`+id+`, "Address": "", "Options": {"RequestAddressType": "com.docker.network.gateway"}}`),
		`{"Address": "198.51.100.1/24"}`)
	assertOK(t, post(t, srv, "IpamDriver.RequestAddress", `{`+id+`, "Address": "198.51.100.200", "Options": null}`),
		`{"Address": "198.51.100.200/24"}`)
	assertOK(t, post(t, srv, "IpamDriver.RequestAddress", `{`+id+`, "Address": "198.51.100.5"}`),
		`{"Address": "198.51.100.5/24"}`)
	assertErr(t, post(t, srv, "IpamDriver.RequestAddress", `{`+id+`, "Address": "198.51.100.5"}`),
		http.StatusInternalServerError, "198.51.100.5 of pool 198.51.100.0/24 is already in use")
	assertErr(t, post(t, srv, "IpamDriver.RequestAddress", `{"PoolID": "vxlan/203.0.113.0/24"}`),
		http.StatusNotFound, "vxlan/203.0.113.0/24")

	for _, addr := range []string{"198.51.100.5", "198.51.100.200", "198.51.100.1"} {
		assertOK(t, post(t, srv, "IpamDriver.ReleaseAddress", `{`+id+`, "Address": "`+addr+`"}`), `{}`)
	}
	assertOK(t, post(t, srv, "IpamDriver.ReleasePool", `{`+id+`}`), `{}`)
	if rep := a.Report(); len(rep) != 0 {
		t.Errorf("after the network's release the allocator keeps %+v", rep)
	}
}
