package links

import (
	"errors"
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Kernel creates and removes the plugin's links in one network namespace.
type Kernel struct {
	h      *netlink.Handle
	nft    func() (*nftables.Conn, error) // a netfilter connection in the same namespace
	driver string
	ns     netns.NsHandle // the namespace of NewAt; -1 for the caller's own
	// sandboxDirs hold containers' namespaces, searched for links
	// stacked on ours (stacked.go).
	sandboxDirs []string
}

// New returns a Kernel working in the caller's current network namespace,
// marking links as owned by the named driver.
func New(driver string) (*Kernel, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE) // links, addresses, routes, FDB: nothing else
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	nft := func() (*nftables.Conn, error) { return nftables.New() }
	return &Kernel{h: h, nft: nft, driver: driver, ns: -1, sandboxDirs: []string{defaultSandboxDir}}, nil
}

// NewAt returns a Kernel working in the network namespace ns.
func NewAt(ns netns.NsHandle, driver string) (*Kernel, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink in namespace: %w", err)
	}
	nft := func() (*nftables.Conn, error) { return nftables.New(nftables.WithNetNSFd(int(ns))) }
	return &Kernel{h: h, nft: nft, driver: driver, ns: ns, sandboxDirs: []string{defaultSandboxDir}}, nil
}

// Close releases the netlink sockets.
func (k *Kernel) Close() { k.h.Close() }

func (k *Kernel) mark(role Role, id string) Mark {
	return Mark{Driver: k.driver, Role: role, ID: id}
}

// Owned is a link that carries this driver's mark.
type Owned struct {
	Name string
	Mark Mark
}

// dumpRetries bounds the retries of a netlink dump the kernel interrupted
// because the table changed meanwhile (containers come and go).
const dumpRetries = 5

// retryDump runs a netlink dump again while the kernel reports it
// interrupted.
func retryDump[T any](dump func() (T, error)) (T, error) {
	v, err := dump()
	for i := 0; i < dumpRetries && errors.Is(err, netlink.ErrDumpInterrupted); i++ {
		v, err = dump()
	}
	return v, err
}

// ListOwned returns every link in the namespace marked by this driver.
func (k *Kernel) ListOwned() ([]Owned, error) {
	all, err := retryDump(k.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var owned []Owned
	for _, l := range all {
		a := l.Attrs()
		if m, ok := parseMark(a.Alias); ok && m.Driver == k.driver {
			owned = append(owned, Owned{Name: a.Name, Mark: m})
		}
	}
	return owned, nil
}

// lookupOwned finds the link called name. It returns (nil, nil) when no such
// link exists and a *NotOwnedError when it exists without the expected mark.
func (k *Kernel) lookupOwned(name string, want Mark) (netlink.Link, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	if alias := l.Attrs().Alias; alias != want.String() {
		return nil, &NotOwnedError{Name: name, Alias: alias}
	}
	return l, nil
}

// link looks up the link called name, saying which in the error.
func (k *Kernel) link(name string) (netlink.Link, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	return l, nil
}

// Exists reports whether a link called name exists, whoever owns it.
func (k *Kernel) Exists(name string) bool {
	_, err := k.h.LinkByName(name)
	return err == nil
}

// create adds link under a provisional name, marks it, then gives it its
// name (provisional.go); it removes the link again if a step fails, so a
// failed create leaves nothing behind. The link must be down: the kernel
// renames no link that is up.
func (k *Kernel) create(link netlink.Link, m Mark) (netlink.Link, error) {
	name := link.Attrs().Name
	tmp, err := k.provisionalName()
	if err != nil {
		return nil, err
	}
	link.Attrs().Name = tmp
	defer func() { link.Attrs().Name = name }()
	if err := k.h.LinkAdd(link); err != nil {
		return nil, fmt.Errorf("create %s %s: %w", link.Type(), name, err)
	}
	created, err := k.h.LinkByName(tmp)
	if err != nil {
		_ = k.h.LinkDel(link)
		return nil, fmt.Errorf("look up %s %s after creating it: %w", link.Type(), name, err)
	}
	if err := k.h.LinkSetAlias(created, m.String()); err != nil {
		_ = k.h.LinkDel(created)
		return nil, fmt.Errorf("mark %s %s as owned: %w", link.Type(), name, err)
	}
	if err := k.h.LinkSetName(created, name); err != nil {
		_ = k.h.LinkDel(created)
		return nil, fmt.Errorf("create %s %s: %w", link.Type(), name, err)
	}
	created.Attrs().Name = name
	return created, nil
}

// ErrInUse reports an owned link kept because links the plugin did not
// create depend on it.
var ErrInUse = errors.New("kept: in use by interfaces the plugin did not create")

// foreignUsers lists the links stacked on or enslaved to l that do not
// carry this driver's mark, in l's namespace and in the containers'.
func (k *Kernel) foreignUsers(l netlink.Link) ([]string, error) {
	users, err := k.foreignUsersHere(l)
	if err != nil {
		return nil, err
	}
	elsewhere, err := k.stackedElsewhere(l)
	return append(users, elsewhere...), err
}

// foreignUsersHere is foreignUsers in l's own namespace. A link's parent
// index counts only when the parent is in this namespace: a veth's peer
// in a container may have any index.
func (k *Kernel) foreignUsersHere(l netlink.Link) ([]string, error) {
	all, err := retryDump(k.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var users []string
	idx := l.Attrs().Index
	for _, o := range all {
		a := o.Attrs()
		if (a.ParentIndex != idx || a.NetNsID >= 0) && a.MasterIndex != idx {
			continue
		}
		if m, ok := parseMark(a.Alias); !ok || m.Driver != k.driver {
			users = append(users, a.Name)
		}
	}
	return users, nil
}

// DeleteOwned removes the link called name if, and only if, it carries the
// mark for (role, id). A missing link is not an error.
func (k *Kernel) DeleteOwned(name string, role Role, id string) error {
	l, err := k.lookupOwned(name, k.mark(role, id))
	if err != nil {
		var no *NotOwnedError
		if errors.As(err, &no) {
			return nil // not ours: never delete
		}
		return err
	}
	if l == nil {
		return nil
	}
	if role == RoleVlan || role == RoleVxlan { // deleting it would take everything stacked on it along
		if users, err := k.foreignUsers(l); err != nil || len(users) > 0 {
			if err == nil {
				err = fmt.Errorf("%w: %s carries %v", ErrInUse, name, users)
			}
			return err
		}
	}
	if err := k.h.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// AddAddrs puts each address on the link, skipping those already there.
// IPv6 addresses skip duplicate address detection: the gateway must answer at
// once, and the address was handed out by Docker's IPAM.
func (k *Kernel) AddAddrs(name string, addrs []*net.IPNet) error {
	l, err := k.link(name)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		addr := &netlink.Addr{IPNet: a}
		if a.IP.To4() == nil {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := k.h.AddrReplace(l, addr); err != nil {
			return fmt.Errorf("add address %s to %s: %w", a, name, err)
		}
	}
	return nil
}

// LinkMTU returns the MTU of the named link.
func (k *Kernel) LinkMTU(name string) (int, error) {
	l, err := k.link(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().MTU, nil
}

// setMaster enslaves l to the bridge called bridge.
func (k *Kernel) setMaster(l netlink.Link, bridge string) error {
	br, err := k.link(bridge)
	if err != nil {
		return err
	}
	if err := k.h.LinkSetMaster(l, br); err != nil {
		return fmt.Errorf("attach %s to %s: %w", l.Attrs().Name, bridge, err)
	}
	return nil
}

// State is what the kernel holds under a name the store expects.
type State string

// Link states.
const (
	StateOK      State = "ok"       // there, with the expected mark
	StateMissing State = "missing"  // no link of that name (or, for endpoints, moved into a container)
	StateForeign State = "not ours" // a link of that name without the expected mark
	StateUnknown State = "unknown"  // the kernel did not answer
)

// LinkState reports whether the link called name exists with the mark for
// (role, id).
func (k *Kernel) LinkState(name string, role Role, id string) State {
	l, err := k.lookupOwned(name, k.mark(role, id))
	var no *NotOwnedError
	switch {
	case errors.As(err, &no):
		return StateForeign
	case err != nil:
		return StateUnknown
	case l == nil:
		return StateMissing
	}
	return StateOK
}
