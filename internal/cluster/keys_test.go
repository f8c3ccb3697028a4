package cluster

import (
	"testing"
)

func TestKeysRoundTrip(t *testing.T) {
	k := keyspace("/docker-vxlan-plugin/vxlan")
	for _, tc := range []struct {
		raw  string
		want key
	}{
		{k.node("h1"), key{section: secNodes, node: "h1"}},
		{k.member(42, "h1"), key{section: secMembers, vni: 42, node: "h1"}},
		{k.endpoint(42, "h1", "abc"), key{section: secEndpoints, vni: 42, node: "h1", id: "abc"}},
		{k.segment(16777215), key{section: secSegments, vni: 16777215}},
		{k.segmentUser(7, "h2"), key{section: secSegmentUsers, vni: 7, node: "h2"}},
		{k.subnet(pfx("fd00:42::/64")), key{section: secSubnets, pool: pfx("fd00:42::/64")}},
		{k.pool(pfx("10.42.0.0/24")), key{section: secPools, pool: pfx("10.42.0.0/24")}},
		{k.poolUser(pfx("10.42.0.0/24"), "h3"), key{section: secPoolUsers, pool: pfx("10.42.0.0/24"), node: "h3"}},
		{k.claim(pfx("10.42.0.0/24"), pfx("10.42.0.16/28")), key{section: secClaims, pool: pfx("10.42.0.0/24"), claim: pfx("10.42.0.16/28")}},
	} {
		got, ok := k.parse(tc.raw)
		if !ok || got != tc.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tc.raw, got, ok, tc.want)
		}
	}
	if got := k.claim(pfx("10.42.0.0/24"), pfx("10.42.0.16/28")); got != "/docker-vxlan-plugin/vxlan/claims/10.42.0.0-24/10.42.0.16-28" {
		t.Errorf("claim key %q", got)
	}
	for _, bad := range []string{
		"/docker-vxlan-plugin/vxlanx/nodes/h1", // another prefix that starts alike
		"/docker-vxlan-plugin/other/nodes/h1",
		k.root() + "nodes/",
		k.root() + "nodes/h1/extra",
		k.root() + "members/0/h1",
		k.root() + "members/16777216/h1",
		k.root() + "members/x/h1",
		k.root() + "endpoints/42/h1/",
		k.root() + "claims/10.42.0.0-24/10.42.0.16",
		k.root() + "unknown/x",
	} {
		if got, ok := k.parse(bad); ok {
			t.Errorf("parse(%q) = %+v, want refused", bad, got)
		}
	}
}

func TestRecordsRefuseOtherVersions(t *testing.T) {
	var rec memberRecord
	if err := decode([]byte(`{"v":2,"vtep":"192.0.2.1"}`), &rec); err == nil {
		t.Error("version 2 record read")
	}
	if err := decode([]byte(`{"vtep":"192.0.2.1"}`), &rec); err == nil {
		t.Error("record without a version read")
	}
	if err := decode([]byte(`{"v":1,"vtep":"192.0.2.1"}`), &rec); err != nil || !rec.VTEP.Equal(ip("192.0.2.1")) {
		t.Errorf("version 1 record: %+v, %v", rec, err)
	}
}
