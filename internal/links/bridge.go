package links

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// BridgeSpec describes a network's bridge.
type BridgeSpec struct {
	Name      string
	NetworkID string
	MTU       int              // 0: kernel default
	MAC       net.HardwareAddr // nil: the kernel's, which follows the lowest port
	TxQLen    int              // 0: kernel default
}

// EnsureBridge creates the bridge unless it already exists as ours, and sets
// it up. A foreign link with the same name is an error. A MAC given is set
// on an existing bridge too: the kernel keeps an address set by hand
// instead of following the lowest port's.
func (k *Kernel) EnsureBridge(s BridgeSpec) error {
	m := k.mark(RoleBridge, s.NetworkID)
	l, err := k.lookupOwned(s.Name, m)
	if err != nil {
		return err
	}
	if l == nil {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = s.Name
		attrs.MTU = s.MTU
		attrs.HardwareAddr = s.MAC
		attrs.TxQLen = txqlen(s.TxQLen)
		if l, err = k.create(&netlink.Bridge{LinkAttrs: attrs}, m); err != nil {
			return err
		}
	} else if s.MAC != nil {
		if err := k.h.LinkSetHardwareAddr(l, s.MAC); err != nil {
			return fmt.Errorf("set %s address %s: %w", s.Name, s.MAC, err)
		}
	}
	if err := k.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", s.Name, err)
	}
	return nil
}

// txqlen maps "unset" (0) to netlink's "kernel default" (-1).
func txqlen(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
