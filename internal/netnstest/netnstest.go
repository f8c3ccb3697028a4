// Package netnstest gives tests throw-away network namespaces to play
// "hosts" and "containers" in, removed when the test ends, pass or fail.
//
// The one trap with namespaces in Go is that setns(2) applies to an OS
// thread, not a goroutine. This package never switches the test's own
// threads: it drives namespaces through `ip netns exec` and hands out
// namespace handles for netlink handles bound to them (netlink.NewHandleAt).
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// RequireRoot skips tests that need CAP_NET_ADMIN when not run as root.
// The project's test script runs as root and fails on any skip.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

// NS is a named network namespace owned by one test.
type NS struct {
	Name   string
	handle netns.NsHandle
}

// New creates a namespace with loopback up; it is deleted at test cleanup.
func New(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	name := "dvpt-" + randomHex(4)
	Must(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	n := &NS{Name: name, handle: h}
	n.Must(t, "ip", "link", "set", "lo", "up")
	return n
}

// Handle is the namespace's file handle, for netlink.NewHandleAt.
func (n *NS) Handle() netns.NsHandle { return n.handle }

// Run runs a command inside the namespace and returns its combined output.
func (n *NS) Run(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.Name}, args...)...).CombinedOutput()
	return string(out), err
}

// Must runs a command inside the namespace and fails the test if it fails.
func (n *NS) Must(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.Run(args...)
	if err != nil {
		t.Fatalf("in %s: %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// Must runs a command in the test's own namespace and fails the test if it fails.
func Must(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Link joins namespaces a and b with a veth pair named aName/bName and gives
// each end its address (CIDR notation).
func Link(t testing.TB, a *NS, aName, aCIDR string, b *NS, bName, bCIDR string) {
	t.Helper()
	a.Must(t, "ip", "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.Must(t, "ip", "addr", "add", aCIDR, "dev", aName)
	a.Must(t, "ip", "link", "set", aName, "up")
	b.Must(t, "ip", "addr", "add", bCIDR, "dev", bName)
	b.Must(t, "ip", "link", "set", bName, "up")
}

// MoveLink moves the link called name from namespace from into to, renames it
// there and configures its address, as Docker does on Join.
func MoveLink(t testing.TB, from *NS, name string, to *NS, newName, cidr string) {
	t.Helper()
	from.Must(t, "ip", "link", "set", name, "netns", to.Name)
	to.Must(t, "ip", "link", "set", name, "name", newName)
	to.Must(t, "ip", "addr", "add", cidr, "dev", newName)
	to.Must(t, "ip", "link", "set", newName, "up")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
