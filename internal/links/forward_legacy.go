package links

import (
	"bytes"
	"os"
	"runtime"

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
	found := make(chan bool, 1)
	go func() {
		// Locked and never unlocked unless switched back: a thread left
		// in the wrong namespace ends with this goroutine.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			found <- false
			return
		}
		defer orig.Close()
		if err := netns.Set(netns.NsHandle(nsFD)); err != nil {
			found <- false
			return
		}
		found <- hasLegacyTables("/proc/thread-self/net/ip_tables_names")
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-found
}

func hasLegacyTables(path string) bool {
	names, err := os.ReadFile(path)
	return err == nil && len(bytes.TrimSpace(names)) > 0
}
