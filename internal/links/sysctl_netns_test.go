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
