package driver

import (
	"context"
	"runtime/debug"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// ReconcileReport counts what Reconcile found and changed in the kernel.
type ReconcileReport struct {
	Networks int // networks in the store
	Intact   int // networks whose links already matched: nothing written
	Ensured  int // networks whose links differed, and were restored
	Removed  int // owned links no record accounts for, deleted
	Kept     int // owned links no record accounts for, kept (empty store, in use, or delete failed)
	Failed   int // networks whose links could not be restored
	// Forgotten: endpoints whose container is gone (stale.go).
	Forgotten int
}

// Reconcile makes the kernel match the store: every recorded network gets
// its links back (after a reboot, or a link deleted by hand), and every link
// carrying our mark that no record accounts for is removed. Links without our
// mark are never touched.
//
// It reads the kernel in a few dumps and compares: a network whose links
// already match is not written to at all, so a restart over an intact
// kernel costs some reads, whatever the number of networks.
//
// When the store holds no network at all, orphans are only reported: an
// empty store beside marked links means a wrong --state or lost state, and
// deleting would cut off running containers. They go once the store
// records a network again, or by hand.
//
// The daemon calls it once, before serving: it does not wait for requests.
func (d *Driver) Reconcile() (ReconcileReport, error) {
	var r ReconcileReport
	x, err := d.records()
	if err != nil {
		return r, err
	}
	snap, err := d.kernel.Snapshot()
	if err != nil {
		return r, err
	}
	nets := x.networks()
	r.Networks = len(nets)
	unreadable := x.unreadableKeys()
	for _, k := range unreadable {
		d.log.Error("a record in the state file cannot be read: every link marked as ours is kept; `docker network rm` (or rm of the container) deletes it", "record", k)
	}
	d.removeOrphans(&r, orphans(x, snap.Owned()), d.keepOrphan(len(nets) == 0, len(unreadable) > 0))
	d.removeProvisional(&r, snap)
	for _, n := range nets {
		d.pinBridgeMAC(snap, n)
		if !d.restore(&r, snap, n) {
			continue
		}
		if d.clustered(n) {
			d.announce(n, values(x.endpointsOf(n.ID)))
		}
	}
	d.sortStaleEndpoints(&r, snap, x)
	if err := d.syncForward(context.Background()); err != nil {
		d.log.Error("firewall exception for the bridges", "err", err)
	}
	// The dumps were the largest allocations the plugin makes: hand their
	// pages back now rather than carry them until the runtime gets to it.
	debug.FreeOSMemory()
	return r, nil
}

// removeProvisional deletes the links a crash left under a provisional
// name (links/provisional.go): creates cut short, in no container, never
// recorded.
func (d *Driver) removeProvisional(r *ReconcileReport, snap *links.Snapshot) {
	for _, name := range snap.Provisional() {
		if err := d.kernel.DeleteProvisional(name); err != nil {
			d.log.Error("remove a link left half-made", "link", name, "err", err)
			continue
		}
		d.log.Info("removed a link left half-made by a crash", "link", name)
		r.Removed++
	}
}

// keepOrphan tells which orphans to keep: all of them after a damaged state
// file or beside an unreadable record; with an empty store, all but the
// remains of a cut create.
func (d *Driver) keepOrphan(emptyStore, unreadable bool) func(links.Owned) bool {
	cut := d.takeIntents()
	return func(o links.Owned) bool {
		return d.cfg.KeepOrphans || unreadable || (emptyStore && !cut[o.Mark.ID])
	}
}

// removeOrphans deletes the orphan links, or only reports those to keep.
func (d *Driver) removeOrphans(r *ReconcileReport, orphans []links.Owned, keep func(links.Owned) bool) {
	for _, o := range orphans {
		if keep(o) {
			d.log.Warn("keeping a link marked as ours: the state file records no network, or was damaged and replaced; check --state, or delete the link by hand if it is stale", "link", o.Name, "mark", o.Mark.String())
			r.Kept++
			continue
		}
		if err := d.kernel.DeleteOwned(o.Name, o.Mark.Role, o.Mark.ID); err != nil {
			d.log.Error("remove orphan link", "link", o.Name, "err", err)
			r.Kept++
			continue
		}
		d.log.Info("removed orphan link", "link", o.Name, "role", o.Mark.Role)
		r.Removed++
	}
}

// restore brings a network's links in line with its record, writing only
// if the snapshot shows them differ; it reports whether they are in line.
func (d *Driver) restore(r *ReconcileReport, snap *links.Snapshot, n *network) bool {
	ready, err := d.linksReady(snap, n)
	if err == nil && ready {
		r.Intact++
		return true
	}
	if err := d.ensureNetworkLinks(n); err != nil {
		d.log.Error("restore network links", "network", shortID(n.ID), "err", err)
		r.Failed++
		return false
	}
	r.Ensured++
	return true
}

// pinBridgeMAC fixes the bridge address of a network recorded before the
// driver chose one: the address the bridge has now, so that running
// containers keep their gateway's MAC. It writes once per such network.
func (d *Driver) pinBridgeMAC(snap *links.Snapshot, n *network) {
	if !fixesBridgeMAC(n) || n.BridgeMAC != nil {
		return
	}
	name := bridgeName(n)
	mac := snap.MAC(name)
	if snap.State(name, roleBridge, n.ID) != links.StateOK || mac == nil {
		var err error
		if mac, err = randomMAC(); err != nil {
			d.log.Error("pin bridge address", "network", shortID(n.ID), "err", err)
			return
		}
	}
	n.BridgeMAC = mac
	if err := d.store.Put(bucketNetworks, n.ID, n); err != nil {
		d.log.Error("record bridge address", "network", shortID(n.ID), "err", err)
		n.BridgeMAC = nil
		return
	}
	if err := d.kernel.EnsureBridge(linksBridge(n)); err != nil {
		d.log.Error("pin bridge address", "network", shortID(n.ID), "err", err)
	}
}

// linksReady reports whether the snapshot shows the network's links as
// ensureNetworkLinks leaves them.
func (d *Driver) linksReady(s *links.Snapshot, n *network) (bool, error) {
	cfg := &n.Config
	if hasBridge(n) && !s.BridgeReady(linksBridge(n)) {
		return false, nil
	}
	switch {
	case cfg.VXLAN != nil:
		if ok, err := s.VxlanReady(d.vxlanSpec(n)); !ok || err != nil {
			return false, err
		}
	case cfg.Parent != "":
		if !s.Up(cfg.Parent) {
			return false, nil
		}
	}
	if !cfg.HostGateway {
		return true, nil
	}
	gw := bridgeName(n)
	if cfg.Mode != ModeBridge {
		child := gatewayChild(n)
		if !s.ChildReady(child) {
			return false, nil
		}
		gw = child.Name
	}
	return s.HasAddrs(gw, gateways(n)), nil
}

// orphans lists the links among owned that no record accounts for. A
// network or endpoint being created counts as recorded: its links come
// before its record.
func orphans(x *index, owned []links.Owned) []links.Owned {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []links.Owned
	for _, o := range owned {
		if !x.accounts(o.Mark) {
			out = append(out, o)
		}
	}
	return out
}

// Counts reports how many networks and endpoints the driver holds; an
// unreadable store counts as zero. It reads the index only, so a slow
// request never stalls a scrape.
func (d *Driver) Counts() (networks, endpoints int) {
	x, err := d.records()
	if err != nil {
		return 0, 0
	}
	return x.counts()
}

func values[T any](ptrs []*T) []T {
	out := make([]T, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out
}
