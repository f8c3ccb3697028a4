package driver_test

import (
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// A record that does not decode neither stops the start nor costs a
// running container its links: the start keeps every marked link, inspect
// names the record, and Docker's delete removes it with its links.
func TestUnreadableRecordDoesNotStopTheStart(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	create(t, h, "other", map[string]string{"VxlanId": "8"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	c := attach(t, h, "ep1", "198.51.100.11/24")
	h.stop()
	st, err := store.Open(h.state)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put("networks", "other", "not a network record"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if rep := h.start(t); rep.Removed != 0 || rep.Kept == 0 {
		t.Errorf("start beside an unreadable record = %+v; want the other network's links kept", rep)
	}
	if !h.kernel.Exists("vxbr-other") {
		t.Fatal("the unreadable network's bridge was deleted")
	}
	assertPing(t, c, "198.51.100.1") // the readable network works on
	rep, err := h.driver.Inspect(t.Context())
	if err != nil || rep.Consistent() || len(rep.Unreadable) != 1 || rep.Unreadable[0] != "networks/other" {
		t.Fatalf("Inspect = %+v, %v; want inconsistent, naming networks/other", rep, err)
	}
	if err := h.driver.DeleteNetwork(t.Context(), "other"); err != nil {
		t.Fatal(err)
	}
	if h.kernel.Exists("vxbr-other") || h.kernel.Exists("vxlan-other") {
		t.Fatal("deleting the unreadable network left its links")
	}
	if rep, err := h.driver.Inspect(t.Context()); err != nil || !rep.Consistent() {
		t.Fatalf("Inspect after deleting it = %+v, %v; want consistent", rep, err)
	}
	teardown(t, h, "ep1")
}
