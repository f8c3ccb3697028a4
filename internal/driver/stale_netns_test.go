package driver_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

func endpointIDs(t *testing.T, h *host) map[string]bool {
	t.Helper()
	rep, err := h.driver.Inspect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range rep.Endpoints {
		ids[e.ID] = true
	}
	if len(rep.Orphans) != 0 {
		t.Errorf("orphan links: %v", rep.Orphans)
	}
	return ids
}

// A container gone while the plugin was down (its veth pair went with its
// namespace) leaves a record Docker will not delete: the start forgets it.
func TestRestartForgetsEndpointsWhoseContainerIsGone(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	attach(t, h, "ep1", "198.51.100.11/24")
	c2 := attach(t, h, "ep2", "198.51.100.12/24")
	h.stop()
	h.ns.Must(t, "ip", "link", "del", "vxve-ep1") // the container's namespace went
	if rep := h.start(t); rep.Forgotten != 1 {
		t.Errorf("reconcile forgot %d endpoints, want 1", rep.Forgotten)
	}
	if ids := endpointIDs(t, h); ids["ep1"] || !ids["ep2"] {
		t.Fatalf("endpoints after the restart: %v, want ep2 only", ids)
	}
	if _, err := h.driver.Join(t.Context(), netID, "ep1"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Join of the forgotten endpoint = %v, want not found", err)
	}
	assertPing(t, c2, "198.51.100.1") // the running one is untouched
	teardown(t, h, "ep2")
}

// An endpoint recorded but in no container at start (its CreateEndpoint
// answer never reached Docker) is forgotten by DropUnjoined, unless Docker
// joined it since; the ones in containers stay.
func TestUnjoinedEndpointsForgottenAfterTheStart(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	for _, ep := range []string{"ep1", "ep3"} {
		req := driver.CreateEndpointRequest{NetworkID: netID, EndpointID: ep, Address: netip.MustParsePrefix("198.51.100.2" + ep[2:] + "/24")}
		if _, err := h.driver.CreateEndpoint(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	c2 := attach(t, h, "ep2", "198.51.100.12/24")
	h.stop()
	if rep := h.start(t); rep.Forgotten != 0 {
		t.Errorf("reconcile forgot %d endpoints at once, want none before the grace", rep.Forgotten)
	}
	if _, err := h.driver.Join(t.Context(), netID, "ep3"); err != nil { // Docker's retried Join
		t.Fatal(err)
	}
	n, err := h.driver.DropUnjoined(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("DropUnjoined = %d, %v; want 1 (ep1)", n, err)
	}
	if ids := endpointIDs(t, h); ids["ep1"] || !ids["ep2"] || !ids["ep3"] {
		t.Fatalf("endpoints after DropUnjoined: %v, want ep2 and ep3", ids)
	}
	if h.kernel.LinkState("vxve-ep1", links.RoleEndpoint, "ep1") != links.StateMissing {
		t.Error("the forgotten endpoint's veth is left")
	}
	assertPing(t, c2, "198.51.100.1")
	teardown(t, h, "ep2", "ep3")
}
