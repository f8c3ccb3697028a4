package driver

import (
	"net"
	"testing"
)

// evpnWant is the parse of VxlanId=42 EVPN=true SrcAddr=192.0.2.10 in
// local scope, changed by edit (which may be nil): learning off, the host
// the gateway.
func evpnWant(edit func(c *NetworkConfig, v *VXLANConfig)) NetworkConfig {
	return vxlanWant(func(c *NetworkConfig, v *VXLANConfig) {
		v.EVPN, v.Learning, v.SrcAddr = true, false, net.ParseIP("192.0.2.10")
		if edit != nil {
			edit(c, v)
		}
	})
}

// evpn42 is vni42 with EVPN=true and SrcAddr=192.0.2.10 added, unless
// pairs give them.
func evpn42(pairs ...string) map[string]string {
	m := vni42(pairs...)
	for k, v := range map[string]string{"EVPN": "true", "SrcAddr": "192.0.2.10"} {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

func evpnGoodCases() []goodCase {
	noSrc := func(_ *NetworkConfig, v *VXLANConfig) { v.SrcAddr = nil }
	cases := []goodCase{
		{"EVPN with SrcAddr", ParseRequest{Options: evpn42()}, evpnWant(nil)},
		{"EVPN key lower case", ParseRequest{Options: vni42("evpn", "yes", "SrcAddr", "192.0.2.10")}, evpnWant(nil)},
		{"EVPN with Learning=false", ParseRequest{Options: evpn42("Learning", "false")}, evpnWant(nil)},
		{"EVPN with VtepDev", ParseRequest{Options: vni42("EVPN", "true", "VtepDev", "eth1")},
			evpnWant(func(c *NetworkConfig, v *VXLANConfig) { noSrc(c, v); v.VtepDev = "eth1" })},
		{"EVPN with --vtepdev", ParseRequest{Options: vni42("EVPN", "true"), VtepDevFlag: "eth2"},
			evpnWant(func(c *NetworkConfig, v *VXLANConfig) { noSrc(c, v); v.VtepDev = "eth2" })},
		{"EVPN hostGateway=false", ParseRequest{Options: evpn42("hostGateway", "false")},
			evpnWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = false })},
		{"EVPN --internal", ParseRequest{Options: evpn42(), Internal: true},
			evpnWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Internal, c.HostGateway = true, false })},
		{"EVPN global scope", ParseRequest{Options: evpn42(), GlobalScope: true},
			evpnWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = false })},
		{"EVPN with Port", ParseRequest{Options: evpn42("Port", "4790")},
			evpnWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 4790 })},
		{"EVPN=false keeps Peers and learning", ParseRequest{Options: vni42("EVPN", "false", "Peers", "192.0.2.1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Peers = ips("192.0.2.1") })},
	}
	return cases
}

func evpnBadCases() []badCase {
	cases := []badCase{
		{"EVPN without SrcAddr or VtepDev", ParseRequest{Options: vni42("EVPN", "true")}, "SrcAddr"},
		{"EVPN with Peers", ParseRequest{Options: evpn42("Peers", "192.0.2.1")}, "Peers"},
		{"EVPN with unicast Group", ParseRequest{Options: evpn42("Group", "192.0.2.20")}, "Group"},
		{"EVPN with multicast Group", ParseRequest{Options: evpn42("Group", "239.1.1.1", "VtepDev", "eth1")}, "Group"},
		{"EVPN with Learning=true", ParseRequest{Options: evpn42("Learning", "true")}, "Learning"},
		{"EVPN with mode=macvlan", ParseRequest{Options: evpn42("mode", "macvlan")}, "mode"},
		{"EVPN with mode=ipvlan", ParseRequest{Options: evpn42("mode", "ipvlan")}, "mode"},
		{"EVPN without VxlanId", ParseRequest{Options: kv("EVPN", "true", "SrcAddr", "192.0.2.10")}, "EVPN"},
		{"EVPN with IPv6 SrcAddr", ParseRequest{Options: evpn42("SrcAddr", "2001:db8::10")}, "SrcAddr"},
		{"EVPN on a parent", ParseRequest{Options: onParent("macvlan", "EVPN", "true")}, "EVPN"},
	}
	for _, v := range []string{"maybe", "", "2", "truee"} {
		cases = append(cases, badCase{"EVPN=" + v, ParseRequest{Options: evpn42("EVPN", v)}, "EVPN"})
	}
	return cases
}

// TestEVPNRefusalsNameEVPN: every refusal of a combination says that EVPN
// is what it does not mix with, so the user knows which two options clash.
func TestEVPNRefusalsNameEVPN(t *testing.T) {
	for _, tc := range evpnBadCases() {
		_, err := ParseNetworkConfig(tc.req)
		if err == nil {
			t.Fatalf("%s: parsed", tc.name)
		}
		assertNamesOption(t, err, "EVPN")
	}
}
