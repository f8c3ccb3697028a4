package links

import (
	"strings"
	"testing"
)

func TestForwardChainNamesUniqueAndShort(t *testing.T) {
	k := &Kernel{driver: "vxlan"}
	l := k.forwardLayout()
	if got := []string{l.chain, l.isoFrom, l.isoTo}; strings.Join(got, " ") != "VXLAN-PLUGIN-vxlan VXLAN-ISO-FROM-vxlan VXLAN-ISO-TO-vxlan" {
		t.Errorf("short name: chains %q, want the name as it is", got)
	}
	for _, prefix := range []string{"VXLAN-PLUGIN-", "VXLAN-ISO-FROM-", "VXLAN-ISO-TO-"} {
		a, b := forwardChainName(prefix, "vxlaninstanceaa1"), forwardChainName(prefix, "vxlaninstanceaa2")
		if a == b {
			t.Fatalf("two instances share the chain %q", a)
		}
		for _, n := range []string{a, b, forwardChainName(prefix, strings.Repeat("x", 64))} {
			if len(n) > 28 || !strings.HasPrefix(n, prefix) {
				t.Errorf("chain %q: want at most 28 characters starting %s", n, prefix)
			}
		}
	}
}
