package links

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// defaultSandboxDir is where Docker mounts its containers' network
// namespaces.
const defaultSandboxDir = "/var/run/docker/netns"

// A link of the plugin's may carry links it did not create in other
// namespaces: Docker's own macvlan driver with parent=eth0.100, an 802.1Q
// sub-interface the plugin made, puts its children into containers. Seen
// from the parent's namespace nothing points at the parent (the kernel's
// list of upper devices is not exported), yet deleting it destroys them.
// So before deleting such a link the namespaces of Docker's sandboxes are
// searched for links whose parent it is.

// SetSandboxDirs replaces the directories searched for containers'
// namespaces (defaultSandboxDir).
func (k *Kernel) SetSandboxDirs(dirs []string) { k.sandboxDirs = dirs }

// stackedElsewhere lists the links in the sandboxes' namespaces whose
// parent is l, as "NAME in PATH".
func (k *Kernel) stackedElsewhere(l netlink.Link) ([]string, error) {
	self, err := k.selfNs()
	if err != nil {
		return nil, err
	}
	defer self.Close()
	var users []string
	for _, dir := range k.sandboxDirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list container namespaces: %w", err)
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			for _, name := range k.foreignChildrenIn(path, self, l.Attrs().Index) {
				users = append(users, name+" in "+path)
			}
		}
	}
	return users, nil
}

// selfNs opens the namespace this Kernel works in.
func (k *Kernel) selfNs() (netns.NsHandle, error) {
	if k.ns >= 0 {
		fd, err := unix.Dup(int(k.ns))
		if err != nil {
			return -1, fmt.Errorf("own network namespace: %w", err)
		}
		return netns.NsHandle(fd), nil
	}
	ns, err := netns.Get()
	if err != nil {
		return -1, fmt.Errorf("own network namespace: %w", err)
	}
	return ns, nil
}

// foreignChildrenIn lists the links in the namespace mounted at path whose
// parent is link index in namespace self, but for this driver's own (a
// container's macvlan endpoint). A path that is not (or no longer) a
// namespace has none.
func (k *Kernel) foreignChildrenIn(path string, self netns.NsHandle, index int) []string {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil
	}
	defer h.Close()
	id, err := h.GetNetNsIdByFd(int(self))
	if err != nil || id < 0 {
		return nil // no link there refers to our namespace
	}
	all, err := retryDump(h.LinkList)
	if err != nil {
		return nil
	}
	var names []string
	for _, o := range all {
		a := o.Attrs()
		if a.ParentIndex != index || a.NetNsID != id {
			continue
		}
		if m, ok := parseMark(a.Alias); !ok || m.Driver != k.driver {
			names = append(names, a.Name)
		}
	}
	return names
}
