package driver_test

import (
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// A kill -9 between creating a link and marking it leaves the link under
// its provisional name, unmarked: the next start removes it (a veth's peer
// goes with it), and leaves provisional names of other instances alone.
func TestStartRemovesLinksLeftHalfMade(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "7"}, subnet()...)
	h.stop()
	mine, theirs := links.ProvisionalStem("vxlan"), links.ProvisionalStem("other")
	h.ns.Must(t, "ip", "link", "add", mine+"0000beef", "type", "bridge")
	h.ns.Must(t, "ip", "link", "add", mine+"0000cafe", "type", "veth", "peer", "name", "vxc-ep9")
	h.ns.Must(t, "ip", "link", "add", theirs+"0000beef", "type", "bridge")
	rep := h.start(t)
	for _, gone := range []string{mine + "0000beef", mine + "0000cafe", "vxc-ep9"} {
		if h.kernel.Exists(gone) {
			t.Errorf("%s is left after the start", gone)
		}
	}
	if !h.kernel.Exists(theirs + "0000beef") {
		t.Error("another instance's half-made link was deleted")
	}
	if rep.Removed != 2 || rep.Intact != 1 {
		t.Errorf("reconcile report = %+v, want 2 removed and the network intact", rep)
	}
	c := attach(t, h, "ep1", "198.51.100.11/24") // and creates still work
	assertPing(t, c, "198.51.100.1")
	teardown(t, h, "ep1")
}
