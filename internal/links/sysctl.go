package links

import (
	"bytes"
	"fmt"
	"os"
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
