package links_test

import (
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

func TestEnableIPv4ForwardingInItsNamespace(t *testing.T) {
	ns, other := netnstest.New(t), netnstest.New(t)
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	read := func(n *netnstest.NS) string {
		return strings.TrimSpace(n.Must(t, "sysctl", "-n", "net.ipv4.ip_forward"))
	}
	if read(ns) != "0" {
		t.Fatalf("a new namespace forwards already")
	}
	changed, err := k.EnableIPv4Forwarding()
	if err != nil || !changed || read(ns) != "1" {
		t.Fatalf("EnableIPv4Forwarding = %v, %v; forwarding %s", changed, err, read(ns))
	}
	if read(other) != "0" {
		t.Fatal("forwarding was turned on in another namespace")
	}
	if changed, err := k.EnableIPv4Forwarding(); err != nil || changed {
		t.Fatalf("second call = %v, %v; want no change", changed, err)
	}
}

// Forwarding for one of the plugin's links goes over netlink: it works
// where /proc/sys is read-only, and changes nothing else.
func TestEnableForwardingOnOneLink(t *testing.T) {
	ns := netnstest.New(t)
	k, err := links.NewAt(ns.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ns.Must(t, "ip", "link", "add", "vxbr-x", "type", "bridge")
	ns.Must(t, "ip", "link", "add", "other", "type", "bridge")
	read := func(key string) string { return strings.TrimSpace(ns.Must(t, "sysctl", "-n", key)) }
	if err := k.EnableForwardingOn("vxbr-x"); err != nil {
		t.Fatal(err)
	}
	if got := read("net.ipv4.conf.vxbr-x.forwarding"); got != "1" {
		t.Fatalf("vxbr-x forwarding = %s, want 1", got)
	}
	for _, key := range []string{"net.ipv4.conf.other.forwarding", "net.ipv4.ip_forward"} {
		if got := read(key); got != "0" {
			t.Errorf("%s = %s, want it untouched (0)", key, got)
		}
	}
}
