package driver

import (
	"fmt"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// ReconcileReport counts what Reconcile changed in the kernel.
type ReconcileReport struct {
	Networks int // networks in the store
	Ensured  int // networks whose links were checked and completed
	Removed  int // owned links no record accounts for, deleted
	Failed   int // networks whose links could not be restored
}

// Reconcile makes the kernel match the store: every recorded network gets
// its links back (after a reboot, or a link deleted by hand), and every link
// carrying our mark that no record accounts for is removed. Links without our
// mark are never touched.
func (d *Driver) Reconcile() (ReconcileReport, error) {
	d.sem <- struct{}{}
	defer d.unlock()
	var r ReconcileReport
	nets, err := d.networks()
	if err != nil {
		return r, err
	}
	eps, err := d.endpoints()
	if err != nil {
		return r, err
	}
	r.Networks = len(nets)
	known := map[string]bool{}
	for i := range nets {
		for _, role := range []links.Role{roleBridge, roleVxlan, roleGateway} {
			known[string(role)+"/"+nets[i].ID] = true
		}
		if p := nets[i].Config.Parent; p != "" {
			known[string(roleVlan)+"/"+p] = true
		}
	}
	for _, e := range eps {
		known[string(roleEndpoint)+"/"+e.ID] = true
	}
	owned, err := d.kernel.ListOwned()
	if err != nil {
		return r, err
	}
	for _, o := range owned {
		if known[string(o.Mark.Role)+"/"+o.Mark.ID] {
			continue
		}
		if err := d.kernel.DeleteOwned(o.Name, o.Mark.Role, o.Mark.ID); err != nil {
			return r, fmt.Errorf("remove orphan %s: %w", o.Name, err)
		}
		d.log.Info("removed orphan link", "link", o.Name, "role", o.Mark.Role)
		r.Removed++
	}
	for i := range nets {
		if err := d.ensureNetworkLinks(&nets[i]); err != nil {
			d.log.Error("restore network links", "network", shortID(nets[i].ID), "err", err)
			r.Failed++
			continue
		}
		r.Ensured++
	}
	return r, nil
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
