package driver

import (
	"context"
	"slices"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// Report is what the plugin owns and whether the kernel matches the store.
type Report struct {
	Networks  []NetworkStatus
	Endpoints []EndpointStatus
	Orphans   []string // links marked as ours that no record accounts for
	// Unreadable are the records that did not decode, as "bucket/key".
	Unreadable []string `json:",omitempty"`
}

// NetworkStatus is one recorded network and the state of its links.
type NetworkStatus struct {
	ID      string
	Mode    Mode
	Segment string
	VNI     int `json:",omitempty"`
	Links   []LinkStatus
}

// EndpointStatus is one recorded endpoint and the state of its host link.
type EndpointStatus struct {
	ID        string
	NetworkID string
	Link      LinkStatus
	// OnHost: the link stays on the host while the container runs (a
	// veth's host end). A macvlan or ipvlan child is missing from the
	// host's namespace once it is in the container's.
	OnHost bool
}

// LinkStatus is a link the store expects.
type LinkStatus struct {
	Name  string
	State links.State
}

// Consistent reports whether every expected link is there and ours, and
// nothing marked as ours is left over.
func (r Report) Consistent() bool {
	for _, n := range r.Networks {
		if !n.Intact() {
			return false
		}
	}
	for _, e := range r.Endpoints {
		if e.Link.State == links.StateForeign || (e.OnHost && e.Link.State != links.StateOK) {
			return false
		}
	}
	return len(r.Orphans) == 0 && len(r.Unreadable) == 0
}

// Inspect compares the kernel with the store; it changes nothing. It reads
// the kernel in a few dumps and waits for no request.
func (d *Driver) Inspect(_ context.Context) (Report, error) {
	x, err := d.records()
	if err != nil {
		return Report{}, err
	}
	snap, err := d.kernel.Snapshot()
	if err != nil {
		return Report{}, err
	}
	var r Report
	for _, n := range x.networks() {
		r.Networks = append(r.Networks, networkStatus(n, snap.State))
	}
	for _, e := range x.endpoints() {
		st := snap.State(e.hostLink(), roleEndpoint, e.ID)
		r.Endpoints = append(r.Endpoints, EndpointStatus{
			ID: e.ID, NetworkID: e.NetworkID, Link: LinkStatus{e.hostLink(), st}, OnHost: e.HostVeth != "",
		})
	}
	for _, o := range orphans(x, snap.Owned()) {
		r.Orphans = append(r.Orphans, o.Name)
	}
	slices.Sort(r.Orphans)
	r.Unreadable = x.unreadableKeys()
	return r, nil
}

// linkState tells the state of a link the store expects: LinkState, or a
// snapshot's.
type linkState func(name string, role links.Role, id string) links.State

func networkStatus(n *network, state linkState) NetworkStatus {
	s := NetworkStatus{ID: n.ID, Mode: n.Config.Mode, Segment: segmentDevice(n), VNI: vniOf(n)}
	own := ownLinks(n)
	if _, _, isVlan := n.Config.vlanID(); isVlan && n.OwnsVlan {
		own = append(own, ownLink{n.Config.Parent, roleVlan, n.Config.Parent})
	}
	for _, l := range own {
		s.Links = append(s.Links, LinkStatus{l.name, state(l.name, l.role, l.id)})
	}
	return s
}

// Intact reports whether every link the network owns is there and ours.
func (s NetworkStatus) Intact() bool {
	for _, l := range s.Links {
		if l.State != links.StateOK {
			return false
		}
	}
	return true
}
