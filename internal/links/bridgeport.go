package links

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// setEVPNPort sets the bridge port of an EVPN segment's vxlan link as a BGP
// EVPN control plane expects it (FRR's own guide does the same by hand):
//   - learning off: the remote MACs are FRR's, installed from type-2
//     routes; a MAC learned from traffic would compete with them;
//   - neigh_suppress on: the bridge answers ARP and neighbour solicitations
//     for the addresses it knows (its own, and the remote MAC/IPs FRR
//     installs) instead of flooding them across the fabric; for the host's
//     gateway address this keeps each host answering for its own.
//
// A kernel older than neigh_suppress (4.15) ignores the attribute: the
// segment works, flooding ARP to the fabric.
func (k *Kernel) setEVPNPort(l netlink.Link) error {
	name := l.Attrs().Name
	if err := k.h.LinkSetLearning(l, false); err != nil {
		return fmt.Errorf("bridge port %s: learning off: %w", name, err)
	}
	if err := k.h.LinkSetBrNeighSuppress(l, true); err != nil {
		return fmt.Errorf("bridge port %s: neigh_suppress on: %w", name, err)
	}
	return nil
}

// PortFlags is what a bridge port does with the frames it receives.
type PortFlags struct {
	Learning      bool
	NeighSuppress bool
}

// BridgePortFlags reads the bridge port flags of the link called name.
func (k *Kernel) BridgePortFlags(name string) (PortFlags, error) {
	l, err := k.link(name)
	if err != nil {
		return PortFlags{}, err
	}
	pi, err := k.h.LinkGetProtinfo(l)
	if err != nil {
		return PortFlags{}, fmt.Errorf("bridge port flags of %s: %w", name, err)
	}
	return PortFlags{Learning: pi.Learning, NeighSuppress: pi.NeighSuppress}, nil
}
