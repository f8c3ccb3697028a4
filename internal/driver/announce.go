package driver

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
)

// announceWait bounds how long an announcement waits for Docker to
// configure the container's interface after Join.
const announceWait = 30 * time.Second

// announceLater sends, in the background, a gratuitous ARP and an
// unsolicited NA for the endpoint's addresses from inside the container,
// so routers and hosts on the segment that cached another MAC for them (the
// address moved to a new container or host) update at once. ipvlan
// children share their parent's MAC and are not announced.
func (d *Driver) announceLater(sandbox string, e *endpoint) {
	mac, err := parseMACString(e.MAC)
	if sandbox == "" || err != nil {
		return
	}
	var addrs []netip.Addr
	for _, p := range []netip.Prefix{e.Address, e.AddressIPv6} {
		if p.IsValid() {
			addrs = append(addrs, p.Addr())
		}
	}
	if len(addrs) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), announceWait)
		defer cancel()
		if err := d.kernel.Announce(ctx, d.sandboxPath(sandbox), mac, addrs); err != nil {
			d.log.Warn("addresses not announced", "endpoint", shortID(e.ID), "err", err)
		}
	}()
}

// sandboxPath is where the plugin finds the namespace at sandbox,
// EXECROOT/netns/ID on the host: a plugin in a container sees dockerd's
// exec root elsewhere.
func (d *Driver) sandboxPath(sandbox string) string {
	if d.cfg.DockerExecRoot == "" || filepath.Base(filepath.Dir(sandbox)) != "netns" {
		return sandbox
	}
	return filepath.Join(d.cfg.DockerExecRoot, "netns", filepath.Base(sandbox))
}

// refusePublishing refuses -p and -P: the container is a host on the
// segment, reached at its own address, and the plugin does no NAT. Exposed
// ports alone (EXPOSE) need nothing and pass.
func refusePublishing(e *endpoint, bindings []PortBinding) error {
	if len(bindings) == 0 {
		return nil
	}
	b := bindings[0]
	at := "its own address"
	if e.Address.IsValid() {
		at = e.Address.Addr().String()
	}
	return fmt.Errorf("publishing ports (-p %s) is not supported on this network: there is no NAT; the container is a host on the segment, reach it at %s:%d/%s",
		bindingString(b), at, b.Port, strings.ToLower(orDefault(b.Proto, "tcp")))
}

func bindingString(b PortBinding) string {
	host := fmt.Sprint(b.HostPort)
	if b.HostIP != "" && b.HostIP != "0.0.0.0" && b.HostIP != "::" {
		host = b.HostIP + ":" + host
	}
	return fmt.Sprintf("%s:%d", host, b.Port)
}
