package links

import (
	"bytes"
	"fmt"
	"os"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

const ipv4Forwarding = "/proc/sys/net/ipv4/ip_forward"

// EnableIPv4Forwarding turns IPv4 forwarding on in the kernel's namespace,
// as Docker's bridge driver does for its gateways: without it a host
// gateway answers its containers but routes nothing for them. It reports
// whether it changed the setting. (IPv6 forwarding is left to the operator:
// turning it on stops the host from accepting router advertisements.)
func (k *Kernel) EnableIPv4Forwarding() (changed bool, err error) {
	err = k.inOwnNetns(func() error {
		v, err := os.ReadFile(ipv4Forwarding)
		if err != nil {
			return err
		}
		if string(bytes.TrimSpace(v)) == "1" {
			return nil
		}
		changed = true
		return os.WriteFile(ipv4Forwarding, []byte("1\n"), 0o644)
	})
	if err != nil {
		return false, fmt.Errorf("turn on IPv4 forwarding: %w", err)
	}
	return changed, nil
}

// inOwnNetns runs fn in the kernel's namespace: /proc/sys/net shows the
// namespace of the thread that opens it.
func (k *Kernel) inOwnNetns(fn func() error) error {
	if k.ns == -1 {
		return fn()
	}
	return inNetns(k.ns, fn)
}

// Attributes of the kernel's per-interface IPv4 settings over netlink
// (linux/if_link.h, linux/ip.h).
const (
	iflaInetConf          = 1 // IFLA_INET_CONF, inside IFLA_AF_SPEC/AF_INET
	ipv4DevconfForwarding = 1 // IPV4_DEVCONF_FORWARDING
)

// EnableForwardingOn turns IPv4 forwarding on for packets arriving on the
// link called name, one of the plugin's: the host then routes what its
// containers send to their gateway. It goes over netlink, not /proc/sys,
// which is read-only inside a container (the plugin's image, the managed
// plugin); routing on to interfaces that are not the plugin's still needs
// the host's net.ipv4.ip_forward.
func (k *Kernel) EnableForwardingOn(name string) error {
	l, err := k.link(name)
	if err != nil {
		return err
	}
	return k.inOwnNetns(func() error {
		req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
		msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
		msg.Index = int32(l.Attrs().Index)
		req.AddData(msg)
		spec := nl.NewRtAttr(unix.IFLA_AF_SPEC, nil)
		conf := spec.AddRtAttr(unix.AF_INET, nil).AddRtAttr(iflaInetConf, nil)
		conf.AddRtAttr(ipv4DevconfForwarding, nl.Uint32Attr(1))
		req.AddData(spec)
		if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
			return fmt.Errorf("turn on IPv4 forwarding on %s: %w", name, err)
		}
		return nil
	})
}
