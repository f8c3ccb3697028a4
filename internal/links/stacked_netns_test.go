package links_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// A link of the plugin's carrying a link it did not create inside a
// container's namespace (Docker's own macvlan on it) is kept, naming the
// container's link; the plugin's own endpoints there do not count; with
// the foreign link gone it is deleted.
func TestLinkStackedOnInAContainerIsKept(t *testing.T) {
	h, c := netnstest.New(t), netnstest.New(t)
	k, err := links.NewAt(h.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	k.SetSandboxDirs([]string{"/run/netns"}) // where `ip netns` mounts them
	h.Must(t, "ip", "link", "add", "vxtest", "type", "vxlan", "id", "42", "dstport", "4789")
	h.Must(t, "ip", "link", "set", "vxtest", "alias", "docker-vxlan-plugin/vxlan/vxlan/net1")
	h.Must(t, "ip", "link", "set", "vxtest", "up")
	for _, child := range []struct{ name, alias string }{
		{"theirs0", ""},
		{"ours0", "docker-vxlan-plugin/vxlan/endpoint/ep1"},
	} {
		h.Must(t, "ip", "link", "add", child.name, "link", "vxtest", "type", "macvlan", "mode", "bridge")
		if child.alias != "" {
			h.Must(t, "ip", "link", "set", child.name, "alias", child.alias)
		}
		h.Must(t, "ip", "link", "set", child.name, "netns", c.Name)
	}

	err = k.DeleteOwned("vxtest", links.RoleVxlan, "net1")
	if !errors.Is(err, links.ErrInUse) || !strings.Contains(err.Error(), "theirs0 in /run/netns/"+c.Name) || strings.Contains(err.Error(), "ours0") {
		t.Fatalf("DeleteOwned with Docker's macvlan on it in a container = %v; want ErrInUse naming theirs0 only", err)
	}
	if !k.Exists("vxtest") || !strings.Contains(c.Must(t, "ip", "link", "show"), "theirs0@") {
		t.Fatal("the link or the container's macvlan on it is gone")
	}
	c.Must(t, "ip", "link", "del", "theirs0")
	if err := k.DeleteOwned("vxtest", links.RoleVxlan, "net1"); err != nil || k.Exists("vxtest") {
		t.Fatalf("DeleteOwned with only the plugin's own endpoint on it = %v, exists %v; want it deleted", err, k.Exists("vxtest"))
	}
}
