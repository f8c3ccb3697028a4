package ipam

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// testRetry is the first retry delay in tests.
const testRetry = 20 * time.Millisecond

func openStore(t *testing.T) *store.Store {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "state.db"))
}

func openStoreAt(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newAlloc returns an allocator closed when the test ends.
func newAlloc(t *testing.T, c Claims, st Store) *Allocator {
	t.Helper()
	a, err := open(c, st, slog.New(slog.DiscardHandler), testRetry)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// localAlloc is an allocator on LocalClaims and a fresh store.
func localAlloc(t *testing.T) (*Allocator, *store.Store) {
	t.Helper()
	st := openStore(t)
	return newAlloc(t, NewLocalClaims(st, "host-a"), st), st
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func requestPool(t *testing.T, a *Allocator, pool, sub string) string {
	t.Helper()
	req := PoolRequest{Pool: pfx(pool), V6: pfx(pool).Addr().Is6()}
	if sub != "" {
		req.SubPool = pfx(sub)
	}
	r, err := a.RequestPool(context.Background(), req)
	if err != nil {
		t.Fatalf("RequestPool %s %s: %v", pool, sub, err)
	}
	return r.PoolID
}

// request asks for an address: any when want is "", else want.
func request(a *Allocator, id, want string, opts map[string]string) (netip.Prefix, error) {
	var pref netip.Addr
	if want != "" {
		pref = ip(want)
	}
	got, _, err := a.RequestAddress(context.Background(), AddressRequest{PoolID: id, Address: pref, Options: opts})
	return got, err
}

func mustRequest(t *testing.T, a *Allocator, id, want string) netip.Addr {
	t.Helper()
	got, err := request(a, id, want, nil)
	if err != nil {
		t.Fatalf("RequestAddress %q from %s: %v", want, id, err)
	}
	return got.Addr()
}

func gateway(a *Allocator, id, want string) (netip.Prefix, error) {
	return request(a, id, want, map[string]string{OptRequestAddressType: AddressTypeGateway})
}

func mustRelease(t *testing.T, a *Allocator, id string, addr netip.Addr) {
	t.Helper()
	if err := a.ReleaseAddress(context.Background(), id, addr); err != nil {
		t.Fatalf("ReleaseAddress %s: %v", addr, err)
	}
}

// wantErr checks that err is an error whose message contains every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// poolReport returns the report of one pool, failing if there is none.
func poolReport(t *testing.T, a *Allocator, id string) PoolReport {
	t.Helper()
	for _, r := range a.Report() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no pool %s in the report %+v", id, a.Report())
	return PoolReport{}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
