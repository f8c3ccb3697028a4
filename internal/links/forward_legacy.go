package links

import (
	"bytes"
	"os"

	"github.com/vishvananda/netns"
)

// legacyIptables reports tables of the legacy iptables backend in use in
// the network namespace nsFD (0: the caller's). /proc/net shows the
// namespace of the thread that reads it, so a namespace of another is read
// from a thread switched into it.
func legacyIptables(nsFD int) bool {
	if nsFD == 0 {
		return hasLegacyTables("/proc/net/ip_tables_names")
	}
	found := false
	_ = inNetns(netns.NsHandle(nsFD), func() error {
		found = hasLegacyTables("/proc/thread-self/net/ip_tables_names")
		return nil
	})
	return found
}

func hasLegacyTables(path string) bool {
	names, err := os.ReadFile(path)
	return err == nil && len(bytes.TrimSpace(names)) > 0
}
