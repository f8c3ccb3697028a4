package driver_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// crashingKernel keeps a copy of the state file as it is on disk when the
// vxlan link is about to be made, bridge already there: what a kill -9 at
// that moment leaves. Then it fails the request.
type crashingKernel struct {
	*links.Kernel
	state, copyTo string
}

func (k crashingKernel) EnsureVxlanLink(links.VxlanSpec) error {
	b, err := os.ReadFile(k.state)
	if err == nil {
		err = os.WriteFile(k.copyTo, b, 0o600)
	}
	if err != nil {
		return err
	}
	return errors.New("injected: the plugin dies here")
}

// The first network's create cut between its links and its record, into a
// store that records no network: the next start removes its links (the
// intent tells them from the links of a wrong --state, which it keeps).
func TestCutFirstCreateLeavesNothing(t *testing.T) {
	h := newHost(t)
	h.stop()
	atCrash := filepath.Join(t.TempDir(), "at-crash.db")
	h.wrap = func(k *links.Kernel, s *store.Store) (driver.Kernel, driver.Store) {
		return crashingKernel{k, h.state, atCrash}, s
	}
	h.start(t)
	err := h.driver.CreateNetwork(t.Context(), driver.CreateNetworkRequest{NetworkID: netID, Options: map[string]string{"VxlanId": "7"}, IPv4: subnet()})
	if err == nil {
		t.Fatal("CreateNetwork succeeded through the crashing kernel")
	}
	h.stop()
	// What the kill -9 left: its bridge, marked, and the state file as it
	// was; beside it a marked link of unknown origin, which stays.
	for _, l := range [][2]string{{"vxbr-0a1b2c3d4e", netID}, {"vxbr-unknown", "unknown"}} {
		h.ns.Must(t, "ip", "link", "add", l[0], "type", "bridge")
		h.ns.Must(t, "ip", "link", "set", l[0], "alias", "docker-vxlan-plugin/vxlan/bridge/"+l[1])
	}
	h.state, h.wrap = atCrash, nil
	rep := h.start(t)
	if rep.Removed != 1 || rep.Kept != 1 || h.kernel.Exists("vxbr-0a1b2c3d4e") || !h.kernel.Exists("vxbr-unknown") {
		t.Fatalf("start after the cut create = %+v; want its bridge removed, the unknown link kept", rep)
	}
	h.stop()
	if rep := h.start(t); rep.Kept != 1 || !h.kernel.Exists("vxbr-unknown") {
		t.Fatalf("second start = %+v; want the unknown link still kept", rep)
	}
}
