package links

import "testing"

func TestMarkRoundTrip(t *testing.T) {
	for _, m := range []Mark{
		{Driver: "vxlan", Role: RoleBridge, ID: "0a1b"},
		{Driver: "vx2", Role: RoleVlan, ID: "eth0.10"},
		{Driver: "vxlan", Role: RoleEndpoint, ID: "e1"},
	} {
		got, ok := parseMark(m.String())
		if !ok || got != m {
			t.Errorf("parseMark(%q) = %+v, %v; want %+v", m.String(), got, ok, m)
		}
	}
}

func TestForeignAliasesAreNotMarks(t *testing.T) {
	for _, alias := range []string{
		"", "uplink to rack 4", "docker-vxlan-plugin/", "docker-vxlan-plugin/vxlan/bridge",
		"docker-vxlan-plugin/vxlan/router/x", "docker-vxlan-plugin//bridge/x", "docker-vxlan-plugin/vxlan/bridge/",
		"other-plugin/vxlan/bridge/x",
	} {
		if m, ok := parseMark(alias); ok {
			t.Errorf("parseMark(%q) = %+v, want not a mark", alias, m)
		}
	}
}
