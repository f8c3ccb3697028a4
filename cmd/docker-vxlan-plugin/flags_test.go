package main

import (
	"strings"
	"testing"
)

func TestFlagSpellings(t *testing.T) {
	for _, args := range [][]string{
		{"-d", "-scope", "global", "-vtepdev", "eth1"},                   // the original plugin's
		{"--debug", "--scope=global", "--vtepdev", "eth1"},               // GNU style
		{"--d", "--scope", "global", "-vtepdev=eth1", "--name", "vxlan"}, // mixed
	} {
		o, err := parseFlags(args)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", args, err)
		}
		if !o.debug || o.scope != "global" || o.vtepDev != "eth1" || o.socket != "/run/docker/plugins/vxlan.sock" {
			t.Errorf("parseFlags(%q) = %+v", args, o)
		}
	}
}

func TestFlagDefaults(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.scope != "local" || o.name != "vxlan" || o.state != "/var/lib/docker-vxlan-plugin/state.db" || o.logFormat != "text" || o.debug || o.metrics != "" {
		t.Errorf("defaults = %+v", o)
	}
	o, _ = parseFlags([]string{"--name", "vx2"})
	if o.socket != "/run/docker/plugins/vx2.sock" {
		t.Errorf("socket for --name vx2 = %q", o.socket)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scope", "cluster"}, "--scope"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--name", "a/b"}, "--name"},
		{[]string{"--name", "vx%d"}, "--name"},
		{[]string{"--name", "a b"}, "--name"},
		{[]string{"--name", strings.Repeat("x", 33)}, "--name"},
		{[]string{"--vtepdev", "much-too-long-name0"}, "--vtepdev"},
		{[]string{"--vtepdev", "eth%d"}, "--vtepdev"},
		{[]string{"--docker-exec-root", "run/docker"}, "--docker-exec-root"},
		{[]string{"--unjoined-grace", "0s"}, "--unjoined-grace"},
		{[]string{"--vtepdev", "eth 1"}, "--vtepdev"},
		{[]string{"extra"}, "extra"},
	} {
		if _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

func TestManagedPluginSettings(t *testing.T) {
	env := map[string]string{"scope": "global", "vtepdev": "eth2", "debug": "true"}
	t.Setenv("scope", env["scope"])
	t.Setenv("vtepdev", env["vtepdev"])
	t.Setenv("debug", env["debug"])
	o, err := parseFlags([]string{"--plugin-env"})
	if err != nil || o.scope != "global" || o.vtepDev != "eth2" || !o.debug {
		t.Fatalf("settings from the environment = %+v, %v", o, err)
	}
	if o, _ := parseFlags(nil); o.scope != "local" {
		t.Errorf("without --plugin-env the environment leaked in: %+v", o)
	}
	t.Setenv("debug", "maybe")
	if _, err := parseFlags([]string{"--plugin-env"}); err == nil || !strings.Contains(err.Error(), "debug") {
		t.Errorf("debug=maybe = %v, want an error naming debug", err)
	}
}

func TestClusterFlags(t *testing.T) {
	o, err := parseFlags([]string{"--etcd-endpoints", "http://192.0.2.254:2379, https://etcd2:2379", "--node-name", "h1", "--etcd-ttl", "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.etcd.endpoints) != 2 || o.etcd.endpoints[1] != "https://etcd2:2379" || o.etcd.prefix != "/docker-vxlan-plugin/vxlan" || o.etcd.nodeName != "h1" || o.etcd.ttl.Seconds() != 3 {
		t.Errorf("cluster options = %+v", o.etcd)
	}
	if o, _ := parseFlags(nil); len(o.etcd.endpoints) != 0 || o.etcd.ttl.Seconds() != 10 {
		t.Errorf("without --etcd-endpoints: %+v, want no cluster and a 10 s TTL", o.etcd)
	}
	for _, bad := range [][]string{
		{"--etcd-endpoints", "192.0.2.254:2379"},
		{"--etcd-endpoints", "ftp://x"},
		{"--etcd-endpoints", "http://x", "--etcd-certfile", "c.pem"},
		{"--etcd-endpoints", "http://x", "--etcd-prefix", "relative"},
		{"--etcd-endpoints", "http://x", "--etcd-ttl", "1s"},
		{"--node-name", "a/b"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestClusterPluginSetting(t *testing.T) {
	t.Setenv("etcd_endpoints", "http://192.0.2.254:2379")
	o, err := parseFlags([]string{"--plugin-env"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.etcd.endpoints) != 1 || o.etcd.endpoints[0] != "http://192.0.2.254:2379" {
		t.Errorf("etcd_endpoints setting gave %v", o.etcd.endpoints)
	}
}
