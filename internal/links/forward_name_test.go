package links

import (
	"strings"
	"testing"
)

func TestForwardChainNamesUniqueAndShort(t *testing.T) {
	if got := forwardChainName("vxlan"); got != "VXLAN-PLUGIN-vxlan" {
		t.Errorf("short name: %q, want the name as it is", got)
	}
	a, b := forwardChainName("vxlaninstanceaa1"), forwardChainName("vxlaninstanceaa2")
	if a == b {
		t.Fatalf("two instances share the chain %q", a)
	}
	for _, n := range []string{a, b, forwardChainName(strings.Repeat("x", 64))} {
		if len(n) > 28 || !strings.HasPrefix(n, "VXLAN-PLUGIN-") {
			t.Errorf("chain %q: want at most 28 characters starting VXLAN-PLUGIN-", n)
		}
	}
}
