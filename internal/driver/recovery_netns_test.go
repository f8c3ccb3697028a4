package driver_test

import (
	"path/filepath"
	"testing"
)

// After a damaged state file was replaced, links no record accounts for
// may be running containers' links: they are kept even once the new store
// records networks again, and removed only in normal mode.
func TestOrphansKeptAfterStateRecovery(t *testing.T) {
	h := newHost(t)
	create(t, h, netID, map[string]string{"VxlanId": "42"}, subnet()...)
	h.stop()

	h.state = filepath.Join(t.TempDir(), "replacement.db") // the damaged file moved aside
	h.cfg.KeepOrphans = true
	h.start(t)
	create(t, h, "other", map[string]string{"VxlanId": "43", "vxlanName": "vx43", "bridgeName": "br43"}, sub("203.0.113.0/24", "203.0.113.1/24"))
	h.stop()
	rep := h.start(t)
	if rep.Kept != 2 || rep.Removed != 0 {
		t.Fatalf("reconcile after recovery: kept %d, removed %d; want the old network's bridge and vxlan kept", rep.Kept, rep.Removed)
	}
	if !h.kernel.Exists("vxlan-0a1b2c3d4") {
		t.Fatal("the old network's vxlan link was deleted")
	}

	h.stop()
	h.cfg.KeepOrphans = false // positive control: normal mode removes them
	if rep := h.start(t); rep.Removed != 2 || h.kernel.Exists("vxlan-0a1b2c3d4") {
		t.Fatalf("normal reconcile: removed %d; want the old network's links gone", rep.Removed)
	}
}
