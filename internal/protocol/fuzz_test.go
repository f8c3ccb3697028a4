package protocol

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// fuzzMethods are the paths the handler serves, network driver and IPAM,
// in a fixed order so that a corpus entry names the same method tomorrow.
func fuzzMethods() []string {
	s := &server{d: &fakeDriver{}, ipam: &fakeIPAM{}}
	var names []string
	for m := range s.methods() {
		names = append(names, m)
	}
	slices.Sort(names)
	return append(names, "NetworkDriver.NoSuchMethod")
}

// idMethods take a network ID and, when true, an endpoint ID: their
// requests are refused unless the IDs are well formed.
var idMethods = map[string]bool{
	"NetworkDriver.CreateNetwork": false, "NetworkDriver.DeleteNetwork": false,
	"NetworkDriver.AllocateNetwork": false, "NetworkDriver.FreeNetwork": false,
	"NetworkDriver.CreateEndpoint": true, "NetworkDriver.DeleteEndpoint": true,
	"NetworkDriver.EndpointOperInfo": true, "NetworkDriver.Join": true, "NetworkDriver.Leave": true,
	"NetworkDriver.ProgramExternalConnectivity": true, "NetworkDriver.RevokeExternalConnectivity": true,
}

// FuzzHandlerDecode posts arbitrary bodies to every method of NewHandler,
// with a driver and an IPAM that succeed at whatever reaches them. The
// decode path must never panic or answer 5xx: malformed input is a 4xx
// with exactly {"Err": "..."}, anything else a 200 with a JSON object,
// always as the plugin media type; and a method that needs IDs reaches
// the driver only with well-formed ones.
func FuzzHandlerDecode(f *testing.F) {
	methods := fuzzMethods()
	for i, m := range methods {
		for _, body := range fuzzSeedBodies(m) {
			f.Add(uint8(i), body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		method := methods[int(which)%len(methods)]
		fd, fi := &fakeDriver{}, &fakeIPAM{}
		h := NewHandler(fd, fi, slog.New(slog.DiscardHandler), Limits{MaxBody: 4 << 10, Timeout: DefaultLimits().Timeout}, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+method, strings.NewReader(body)))
		checkAnswer(t, method, body, rec)
		if rec.Code == http.StatusOK {
			checkIDsReachedDriver(t, method, body, fd.recorded())
		}
	})
}

// fuzzSeedBodies: for each method, what dockerd sends, and the empty body
// of its retries.
func fuzzSeedBodies(method string) []string {
	bodies := []string{"", "{}", "null", `{"NetworkID": "` + nid + `"}`, endpointBody}
	for _, m := range driverMethods {
		if m.method == method {
			bodies = append(bodies, m.body)
		}
	}
	switch method {
	case "NetworkDriver.CreateNetwork":
		bodies = append(bodies, createNetworkBody)
	case "IpamDriver.RequestPool":
		bodies = append(bodies, `{"AddressSpace": "vxlan", "Pool": "198.51.100.0/24", "SubPool": "198.51.100.0/25", "V6": false}`)
	case "IpamDriver.RequestAddress":
		bodies = append(bodies, `{"PoolID": "vxlan/198.51.100.0/24", "Address": "198.51.100.7", "Options": {"RequestAddressType": "com.docker.network.gateway"}}`)
	case "IpamDriver.ReleaseAddress":
		bodies = append(bodies, `{"PoolID": "vxlan/198.51.100.0/24", "Address": "198.51.100.7"}`)
	case "IpamDriver.ReleasePool":
		bodies = append(bodies, `{"PoolID": "vxlan/198.51.100.0/24"}`)
	case "NetworkDriver.Join":
		bodies = append(bodies, `{"NetworkID": "`+nid+`", "EndpointID": "`+eid+`", "SandboxKey": "/var/run/docker/netns/1",
			"Options": {"com.docker.network.portmap": [{"Proto": 6, "Port": 80, "HostIP": "", "HostPort": 8080}]}}`)
	}
	return bodies
}

// checkAnswer: no 5xx; the media type; 200 with a JSON object, or a 4xx
// with exactly a non-empty {"Err": string}.
func checkAnswer(t *testing.T, method, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %q: status %d: %s", method, body, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("%s %q: Content-Type %q", method, body, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %q: status %d, body is not a JSON object: %v: %q", method, body, rec.Code, err, rec.Body)
	}
	if rec.Code == http.StatusOK {
		return
	}
	if rec.Code < 400 {
		t.Fatalf("%s %q: status %d", method, body, rec.Code)
	}
	if e, ok := m["Err"].(string); !ok || e == "" || len(m) != 1 {
		t.Fatalf("%s %q: status %d with %s, want exactly {\"Err\": \"...\"}", method, body, rec.Code, rec.Body)
	}
}

// checkIDsReachedDriver: a method that needs IDs passed only well-formed
// ones on (a 200 to a body without them made Docker forget what the
// plugin kept).
func checkIDsReachedDriver(t *testing.T, method, body string, calls []fakeCall) {
	t.Helper()
	withEndpoint, needsIDs := idMethods[method]
	if !needsIDs {
		return
	}
	if len(calls) != 1 {
		t.Fatalf("%s %q: answered 200 after %d driver calls", method, body, len(calls))
	}
	var nid, eid string
	switch a := calls[0].Args; r := a[0].(type) {
	case driver.CreateNetworkRequest:
		nid = r.NetworkID
	case driver.CreateEndpointRequest:
		nid, eid = r.NetworkID, r.EndpointID
	case string:
		nid = r
		if len(a) > 1 {
			eid, _ = a[1].(string)
		}
	}
	if err := driver.ValidID("network", nid); err != nil {
		t.Fatalf("%s %q: answered 200 with %v", method, body, err)
	}
	if withEndpoint {
		if err := driver.ValidID("endpoint", eid); err != nil {
			t.Fatalf("%s %q: answered 200 with %v", method, body, err)
		}
	}
}

// FuzzIPAMSequence plays a script of IPAM calls ("N BODY" lines, N picking
// the method) against the real allocator on a fresh store: no call panics
// or answers without JSON, and no address is handed out twice while held:
// an address handed out as "any" is held by no one else, and no address
// asked for by name (or as the gateway) is one handed out as "any".
func FuzzIPAMSequence(f *testing.F) {
	const pool = `"PoolID": "vxlan/198.51.100.0/24"`
	for _, script := range []string{
		"2 {\"AddressSpace\": \"vxlan\", \"Pool\": \"198.51.100.0/24\"}\n4 {" + pool + ", \"Options\": {\"RequestAddressType\": \"com.docker.network.gateway\"}}\n4 {" + pool + "}\n4 {" + pool + "}\n5 {" + pool + ", \"Address\": \"198.51.100.2\"}\n4 {" + pool + "}\n3 {" + pool + "}",
		"2 {\"AddressSpace\": \"vxlan\", \"Pool\": \"198.51.100.0/30\"}\n4 {" + pool + "}\n4 {" + pool + "}\n4 {" + pool + "}\n4 {" + pool + ", \"Address\": \"198.51.100.1\"}",
		"2 {\"AddressSpace\": \"vxlan\", \"Pool\": \"198.51.100.0/24\", \"SubPool\": \"198.51.100.128/25\"}\n4 {\"PoolID\": \"vxlan/198.51.100.0/24/198.51.100.128/25\"}",
		"2 {\"AddressSpace\": \"vxlan\", \"Pool\": \"2001:db8::/64\", \"V6\": true}\n4 {\"PoolID\": \"vxlan/2001:db8::/64\"}\n4 {\"PoolID\": \"vxlan/2001:db8::/64\", \"Address\": \"2001:db8::5\"}",
		"0 \n1 {}\n3 {}\n4 {\"PoolID\": \"x\"}\n5 {\"PoolID\": \"x\", \"Address\": \"1.2.3.4\"}",
	} {
		f.Add(script)
	}
	dir := f.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir = "/dev/shm" // the store's fsyncs, on a busy disk, would time the disk
	}
	f.Fuzz(func(t *testing.T, script string) {
		st, err := store.Open(filepath.Join(tempDirIn(t, dir), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := ipam.New(ipam.NewLocalClaims(st, "host-a"), st, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		h := NewHandler(&fakeDriver{}, a, slog.New(slog.DiscardHandler), DefaultLimits(), nil)
		held := heldAddresses{}
		for i, line := range strings.SplitN(script, "\n", 16) {
			n, body, _ := strings.Cut(line, " ")
			method := ipamScriptMethods[int(firstByte(n))%len(ipamScriptMethods)]
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+method, strings.NewReader(body)))
			checkIPAMAnswer(t, i, method, body, rec)
			if rec.Code == http.StatusOK {
				held.note(t, i, method, body, rec.Body.Bytes())
			}
		}
	})
}

var ipamScriptMethods = []string{
	"IpamDriver.GetCapabilities", "IpamDriver.GetDefaultAddressSpaces", "IpamDriver.RequestPool",
	"IpamDriver.ReleasePool", "IpamDriver.RequestAddress", "IpamDriver.ReleaseAddress",
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0] - '0'
}

// tempDirIn makes a directory under dir that goes with the test.
func tempDirIn(t *testing.T, dir string) string {
	d, err := os.MkdirTemp(dir, "fuzz-ipam-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// checkIPAMAnswer: JSON always, {"Err": ...} exactly when not 200, and a
// 5xx only for what the allocator refused, never a panic.
func checkIPAMAnswer(t *testing.T, i int, method, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("call %d, %s %q: Content-Type %q", i, method, body, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("call %d, %s %q: status %d, body is not a JSON object: %q", i, method, body, rec.Code, rec.Body)
	}
	if rec.Code == http.StatusOK {
		return
	}
	e, ok := m["Err"].(string)
	if !ok || e == "" || len(m) != 1 {
		t.Fatalf("call %d, %s %q: status %d with %s, want exactly {\"Err\": \"...\"}", i, method, body, rec.Code, rec.Body)
	}
	if strings.Contains(e, "internal error") {
		t.Fatalf("call %d, %s %q: %s", i, method, body, e)
	}
}

// heldAddresses tracks, per pool ID, the addresses handed out and how.
type heldAddresses map[string]map[netip.Addr]bool // true: handed out as "any"

func (h heldAddresses) note(t *testing.T, i int, method, body string, resp []byte) {
	t.Helper()
	var req requestAddressRequest
	_ = json.Unmarshal([]byte(body), &req)
	switch method {
	case "IpamDriver.ReleasePool":
		delete(h, req.PoolID)
	case "IpamDriver.ReleaseAddress":
		if addr, err := netip.ParseAddr(req.Address); err == nil {
			delete(h[req.PoolID], addr)
		}
	case "IpamDriver.RequestAddress":
		var out requestAddressResponse
		if err := json.Unmarshal(resp, &out); err != nil {
			t.Fatalf("call %d: %s answered %s: %v", i, method, resp, err)
		}
		p, err := netip.ParsePrefix(out.Address)
		if err != nil {
			t.Fatalf("call %d: %s %q answered address %q: %v", i, method, body, out.Address, err)
		}
		asAny := req.Address == "" && req.Options["RequestAddressType"] != "com.docker.network.gateway"
		if h[req.PoolID] == nil {
			h[req.PoolID] = map[netip.Addr]bool{}
		}
		wasAny, held := h[req.PoolID][p.Addr()]
		if held && (asAny || wasAny) {
			t.Fatalf("call %d: %s %q handed out %s, which is held (as any: %v)", i, method, body, p.Addr(), wasAny)
		}
		h[req.PoolID][p.Addr()] = asAny
	}
}
