package driver

import (
	"context"
	"sync"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Endpoints Docker no longer knows. A plugin killed (-9) in the middle of
// a request may have recorded an endpoint whose answer dockerd never read:
// dockerd takes the request as failed (its retry after a dropped
// connection even goes out with an empty body) and never deletes it. Or a
// DeleteEndpoint was cut before the record went, and dockerd forgot the
// endpoint anyway. Such records are found at start:
//
//   - a bridge-mode endpoint whose veth is gone: the pair dies with its
//     container's namespace, so the container is gone. Forgotten at once.
//   - an endpoint whose container end is in the host's namespace: in no
//     container. Docker joins an endpoint right after it is created, and
//     moves its interface back to the host on Leave, right before
//     DeleteEndpoint; one still on the host and not joined a while after
//     the start is one Docker gave up on. DropUnjoined forgets it.

// unjoined is the endpoints found at start in no container, by ID, with
// their network's ID; Join takes an endpoint off.
type unjoined struct {
	mu  sync.Mutex
	ids map[string]string
}

func (u *unjoined) add(e *endpoint) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids == nil {
		u.ids = map[string]string{}
	}
	u.ids[e.ID] = e.NetworkID
}

func (u *unjoined) joined(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.ids, id)
}

// take empties the set and returns what it held.
func (u *unjoined) take() map[string]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := u.ids
	u.ids = nil
	return ids
}

// sortStaleEndpoints forgets the recorded endpoints whose container is
// gone, and notes those in no container for DropUnjoined.
func (d *Driver) sortStaleEndpoints(r *ReconcileReport, snap *links.Snapshot, x *index) {
	for _, e := range x.endpoints() {
		switch {
		case e.HostVeth != "" && snap.State(e.HostVeth, roleEndpoint, e.ID) == links.StateMissing:
			d.log.Warn("forgetting an endpoint whose container is gone (its veth went with the container's namespace)", "endpoint", shortID(e.ID), "network", shortID(e.NetworkID))
			if d.forgetStale(x, e) {
				r.Forgotten++
			}
		case snap.State(e.Interface, roleEndpoint, e.ID) != links.StateMissing:
			d.unjoined.add(e)
		}
	}
}

// forgetStale deletes an endpoint Docker no longer knows; it reports
// whether it did.
func (d *Driver) forgetStale(x *index, e *endpoint) bool {
	if err := d.deleteEndpoint(x, x.network(e.NetworkID), e); err != nil {
		d.log.Error("forget endpoint", "endpoint", shortID(e.ID), "err", err)
		return false
	}
	return true
}

// DropUnjoined forgets the endpoints that were in no container at start,
// and that are still in none and were not joined since: Docker gave up on
// them. The daemon calls it once, a while after the start; it returns how
// many it forgot.
func (d *Driver) DropUnjoined(ctx context.Context) (int, error) {
	x, err := d.records()
	if err != nil {
		return 0, err
	}
	forgotten := 0
	for id, nid := range d.unjoined.take() {
		dropped, err := d.dropUnjoined(ctx, x, nid, id)
		if err != nil {
			return forgotten, err
		}
		if dropped {
			forgotten++
		}
	}
	return forgotten, nil
}

// dropUnjoined forgets endpoint id of network nid if it is still in no
// container; it reports whether it did.
func (d *Driver) dropUnjoined(ctx context.Context, x *index, nid, id string) (bool, error) {
	unlock, err := d.lockNetwork(ctx, nid)
	if err != nil {
		return false, err
	}
	defer unlock()
	e, err := x.lookupEndpointOf(nid, id)
	if err != nil || !d.kernel.Exists(e.Interface) {
		return false, nil // deleted, or in a container now
	}
	d.log.Warn("forgetting an endpoint Docker never joined since the plugin's start (its request was cut, or its DeleteEndpoint)", "endpoint", shortID(e.ID), "network", shortID(e.NetworkID))
	return d.forgetStale(x, e), nil
}
