package driver

import (
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// ReconcileReport counts what Reconcile changed in the kernel.
type ReconcileReport struct {
	Networks int // networks in the store
	Ensured  int // networks whose links were checked and completed
	Removed  int // owned links no record accounts for, deleted
	Kept     int // owned links no record accounts for, kept (empty store, in use, or delete failed)
	Failed   int // networks whose links could not be restored
}

// Reconcile makes the kernel match the store: every recorded network gets
// its links back (after a reboot, or a link deleted by hand), and every link
// carrying our mark that no record accounts for is removed. Links without our
// mark are never touched.
//
// When the store holds no network at all, orphans are only reported: an
// empty store beside marked links means a wrong --state or lost state, and
// deleting would cut off running containers. They go once the store
// records a network again, or by hand.
func (d *Driver) Reconcile() (ReconcileReport, error) {
	d.sem <- struct{}{}
	defer d.unlock()
	var r ReconcileReport
	nets, err := d.networks()
	if err != nil {
		return r, err
	}
	orphans, err := d.orphans(nets)
	if err != nil {
		return r, err
	}
	keepOrphans := len(nets) == 0 || d.cfg.KeepOrphans
	for _, o := range orphans {
		if keepOrphans {
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
	r.Networks = len(nets)
	eps, err := d.endpoints()
	if err != nil {
		return r, err
	}
	for i := range nets {
		if err := d.ensureNetworkLinks(&nets[i]); err != nil {
			d.log.Error("restore network links", "network", shortID(nets[i].ID), "err", err)
			r.Failed++
			continue
		}
		r.Ensured++
		if d.clustered(&nets[i]) {
			d.announce(&nets[i], eps)
		}
	}
	if err := d.syncForward(); err != nil {
		d.log.Error("firewall exception for the bridges", "err", err)
	}
	return r, nil
}

// orphans lists the links carrying our mark that no record accounts for.
func (d *Driver) orphans(nets []network) ([]links.Owned, error) {
	eps, err := d.endpoints()
	if err != nil {
		return nil, err
	}
	known := map[links.Mark]bool{}
	mark := func(role links.Role, id string) { known[links.Mark{Role: role, ID: id}] = true }
	for i := range nets {
		for _, l := range ownLinks(&nets[i]) {
			mark(l.role, l.id)
		}
		if p := nets[i].Config.Parent; p != "" {
			mark(roleVlan, p)
		}
	}
	for _, e := range eps {
		mark(roleEndpoint, e.ID)
	}
	owned, err := d.kernel.ListOwned()
	if err != nil {
		return nil, err
	}
	var out []links.Owned
	for _, o := range owned {
		if !known[links.Mark{Role: o.Mark.Role, ID: o.Mark.ID}] {
			out = append(out, o)
		}
	}
	return out, nil
}

// Counts reports how many networks and endpoints the driver holds; errors
// reading the store count as zero.
//
// It reads the store without the driver's lock (bbolt transactions are
// consistent on their own), so a slow request never stalls a scrape.
func (d *Driver) Counts() (networks, endpoints int) {
	nets, _ := d.networks()
	eps, _ := d.endpoints()
	return len(nets), len(eps)
}
