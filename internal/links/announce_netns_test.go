package links_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// A neighbour that cached another MAC for the container's addresses (the
// address moved) learns the new one from the announcements, with no
// traffic of its own.
func TestAnnounceUpdatesNeighbours(t *testing.T) {
	c, o := netnstest.New(t), netnstest.New(t)
	netnstest.Link(t, c, "eth0", "198.51.100.11/24", o, "o0", "198.51.100.1/24")
	c.Must(t, "ip", "link", "set", "eth0", "address", "02:42:c6:33:64:0b")
	c.Must(t, "ip", "addr", "add", "2001:db8::11/64", "dev", "eth0", "nodad")
	o.Must(t, "ip", "addr", "add", "2001:db8::1/64", "dev", "o0", "nodad")
	for _, ip := range []string{"198.51.100.11", "2001:db8::11"} {
		o.Must(t, "ip", "neigh", "replace", ip, "lladdr", "02:00:00:00:00:99", "dev", "o0", "nud", "stale")
	}
	neigh := func(ip string) string { return o.Must(t, "ip", "neigh", "show", ip, "dev", "o0") }
	if got := neigh("198.51.100.11"); !strings.Contains(got, "02:00:00:00:00:99") { // the stale cache, before
		t.Fatalf("neighbour before the announcement: %q", got)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	mac, _ := net.ParseMAC("02:42:c6:33:64:0b")
	addrs := []netip.Addr{netip.MustParseAddr("198.51.100.11"), netip.MustParseAddr("2001:db8::11")}
	if err := links.Announce(ctx, "/var/run/netns/"+c.Name, mac, addrs); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"198.51.100.11", "2001:db8::11"} {
		if got := neigh(ip); !strings.Contains(got, "02:42:c6:33:64:0b") {
			t.Errorf("neighbour entry for %s after the announcement: %q, want the container's MAC", ip, got)
		}
	}
}

// Announce waits for Docker to configure the interface, and gives up when
// the request's context ends.
func TestAnnounceWaitsForTheAddress(t *testing.T) {
	c, o := netnstest.New(t), netnstest.New(t)
	netnstest.Link(t, c, "eth0", "198.51.100.12/24", o, "o0", "198.51.100.1/24")
	mac, _ := net.ParseMAC(strings.Fields(c.Must(t, "cat", "/sys/class/net/eth0/address"))[0])
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := links.Announce(ctx, "/var/run/netns/"+c.Name, mac, []netip.Addr{netip.MustParseAddr("198.51.100.99")})
	if err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("Announce for an address the interface never gets = %v, want a timeout", err)
	}
}

// Docker 20.10 mounts the container's namespace at its sandbox path only
// after Join has returned: Announce waits for the path, then for the mount.
func TestAnnounceWaitsForTheNamespace(t *testing.T) {
	c, o := netnstest.New(t), netnstest.New(t)
	netnstest.Link(t, c, "eth0", "198.51.100.13/24", o, "o0", "198.51.100.1/24")
	c.Must(t, "ip", "link", "set", "eth0", "address", "02:42:c6:33:64:0d")
	o.Must(t, "ip", "neigh", "replace", "198.51.100.13", "lladdr", "02:00:00:00:00:99", "dev", "o0", "nud", "stale")
	sandbox := filepath.Join(t.TempDir(), "sandbox")
	mounted := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		if err := os.WriteFile(sandbox, nil, 0o600); err != nil { // the mount point first, as Docker does
			mounted <- err
			return
		}
		time.Sleep(200 * time.Millisecond)
		out, err := exec.Command("mount", "--bind", "/var/run/netns/"+c.Name, sandbox).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("mount: %v: %s", err, out)
		}
		mounted <- err
	}()
	t.Cleanup(func() { _ = exec.Command("umount", sandbox).Run() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	mac, _ := net.ParseMAC("02:42:c6:33:64:0d")
	err := links.Announce(ctx, sandbox, mac, []netip.Addr{netip.MustParseAddr("198.51.100.13")})
	if merr := <-mounted; merr != nil {
		t.Fatal(merr)
	}
	if err != nil {
		t.Fatalf("Announce before the namespace is mounted = %v, want it to wait", err)
	}
	if got := o.Must(t, "ip", "neigh", "show", "198.51.100.13", "dev", "o0"); !strings.Contains(got, "02:42:c6:33:64:0d") {
		t.Errorf("neighbour entry after the announcement: %q, want the container's MAC", got)
	}
}
