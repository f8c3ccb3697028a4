package links

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Docker's firewall sets the FORWARD policy to DROP and, through
// br_netfilter, bridged IP traffic passes FORWARD too: without an exception
// nothing would cross the plugin's bridges, nor be routed by the host for
// a macvlan/ipvlan network's host gateway. The exception lives in each
// iptables "filter" table (IPv4, IPv6), in chains the plugin owns, the
// main one appended to FORWARD (after Docker's DOCKER-USER and isolation
// rules, which keep their say). The chains hold fixed rules that look the
// packet's interfaces up in maps and a set of link names; a network adds
// or removes a few elements, so the cost of a change does not grow with
// the number of networks. The same rules keep the plugin's networks apart
// unless both ends let the host route between them, as Docker does for its
// bridge networks. Tables that do not exist (no iptables in use) are left
// alone. forward_layout.go describes the objects.

// ForwardRule lets one network's link through FORWARD: the bridge of a
// bridge-mode network, or the host-side gateway child of a macvlan/ipvlan
// network.
type ForwardRule struct {
	Link        string
	Internal    bool // only within the network: an internal network has no way out
	HostRouting bool // the host routes between it and the other networks with HostRouting
}

// ForwardMode says what AllowForward does with the links it is not given.
type ForwardMode int

const (
	// ForwardAdd lets the given links through and leaves the others as
	// they are: a few small netlink exchanges, whatever the number of
	// links.
	ForwardAdd ForwardMode = iota
	// ForwardExact lets exactly the given links through: the others are
	// withdrawn, and with none the chains, the jump, the maps and the set go. It
	// reads the maps whole and writes only what differs.
	ForwardExact
)

func (m ForwardMode) String() string {
	if m == ForwardExact {
		return "exact"
	}
	return "add"
}

// ErrLegacyIptables reports a host whose firewall uses the legacy iptables
// backend, which the plugin cannot write to.
var ErrLegacyIptables = errors.New("the host's firewall uses legacy iptables; add FORWARD rules for the plugin's networks by hand (README, Firewall)")

// AllowForward makes the filter tables accept the given links' traffic,
// as mode says (isolating the networks without HostRouting from the
// others), and repairs whatever of the chains, their rules, the jump, the
// maps and the set is missing or altered. Both families change in the same
// batches (each commit that deletes costs the kernel an RCU grace period,
// some 10 ms). When everything already matches it writes nothing.
func (k *Kernel) AllowForward(rules []ForwardRule, mode ForwardMode) error {
	if mode == ForwardAdd && len(rules) == 0 {
		return nil
	}
	want, err := forwardKeys(rules)
	if err != nil {
		return fmt.Errorf("firewall exception for the plugin's networks: %w", err)
	}
	c, err := k.nft()
	if err != nil {
		return fmt.Errorf("firewall exception for the plugin's networks: %w", err)
	}
	var ops []elementOp
	found := false
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		famOps, ok, err := k.queueForward(c, family, want, mode)
		if err != nil {
			return fmt.Errorf("firewall exception for the plugin's networks (%s filter table): %w", familyName(family), err)
		}
		ops = append(ops, famOps...)
		found = found || ok
	}
	if err := flushElements(c, ops); err != nil {
		return fmt.Errorf("firewall exception for the plugin's networks: %w", err)
	}
	if !found && len(rules) > 0 && legacyIptables(c.NetNS) {
		return ErrLegacyIptables
	}
	return nil
}

// queueForward reads one family's filter table, queues the changes of its
// layout and returns those of its maps; found reports a FORWARD chain to
// work with.
func (k *Kernel) queueForward(c *nftables.Conn, family nftables.TableFamily, want keySet, mode ForwardMode) (ops []elementOp, found bool, err error) {
	l := k.forwardLayout()
	st, err := readForward(c, family, l)
	if noNFTables(err) {
		return nil, false, nil // no nf_tables in this kernel: no iptables-nft firewall either
	}
	if err != nil || st.forward == nil {
		return nil, false, err // no filter table or FORWARD chain: nothing to get past
	}
	if mode == ForwardExact && want.empty() {
		return nil, true, st.queueRemoval(c)
	}
	objs, err := st.queueLayout(c, l)
	if err != nil {
		return nil, true, err
	}
	if mode == ForwardAdd {
		return addAll(objs, want), true, nil
	}
	ops, err = elementDiff(c, st, objs, want)
	return ops, true, err
}

func familyName(f nftables.TableFamily) string {
	if f == nftables.TableFamilyIPv6 {
		return "ip6"
	}
	return "ip"
}

// noNFTables recognises the errors of a kernel without nf_tables (or
// without nfnetlink at all).
func noNFTables(err error) bool {
	for _, e := range []error{unix.EINVAL, unix.ENOENT, unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
