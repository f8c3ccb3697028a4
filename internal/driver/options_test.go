package driver

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// kv builds an options map from key, value pairs.
func kv(pairs ...string) map[string]string {
	if len(pairs)%2 != 0 {
		panic("kv: odd number of arguments")
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

// vni42 is kv with VxlanId=42 added: the smallest valid VXLAN network.
func vni42(pairs ...string) map[string]string {
	m := kv(pairs...)
	m["VxlanId"] = "42"
	return m
}

// vxlanWant is the parse of a plain VxlanId=42 network in local scope,
// changed by edit (which may be nil).
func vxlanWant(edit func(c *NetworkConfig, v *VXLANConfig)) NetworkConfig {
	v := &VXLANConfig{VxlanParams: links.VxlanParams{VNI: 42, Port: DefaultVXLANPort, Learning: true, TOS: tosInherit}}
	c := NetworkConfig{Mode: ModeBridge, VXLAN: v, HostGateway: true}
	if edit != nil {
		edit(&c, v)
	}
	return c
}

// internalWant is the parse of a network without a segment option.
func internalWant(edit func(c *NetworkConfig)) NetworkConfig {
	c := NetworkConfig{Mode: ModeBridge, Internal: true, HostGateway: false}
	if edit != nil {
		edit(&c)
	}
	return c
}

// withMode sets the attachment mode and the defaults of its sub-options.
func withMode(c *NetworkConfig, m Mode) {
	c.Mode = m
	switch m {
	case ModeMacvlan:
		c.MacvlanMode = "bridge"
	case ModeIpvlan:
		c.IpvlanMode, c.IpvlanFlag = "l2", "bridge"
	}
}

// vxlanMode is the parse of a VxlanId=42 network in local scope with
// attachment mode m and its defaults, changed by edit (which may be nil).
func vxlanMode(m Mode, edit func(c *NetworkConfig)) NetworkConfig {
	return vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) {
		withMode(c, m)
		if edit != nil {
			edit(c)
		}
	})
}

// parentWant is the parse of a network on parent with attachment mode m
// and its defaults (no host gateway), changed by edit (which may be nil).
func parentWant(parent string, m Mode, edit func(c *NetworkConfig)) NetworkConfig {
	c := NetworkConfig{Parent: parent}
	withMode(&c, m)
	if edit != nil {
		edit(&c)
	}
	return c
}

// internalMode is the parse of an internal network with attachment mode m.
func internalMode(m Mode, edit func(c *NetworkConfig)) NetworkConfig {
	return internalWant(func(c *NetworkConfig) {
		withMode(c, m)
		if edit != nil {
			edit(c)
		}
	})
}

// onParent builds the options of a network in mode on parent eth0.10,
// plus pairs.
func onParent(mode string, pairs ...string) map[string]string {
	return kv(append([]string{"mode", mode, "parent", "eth0.10"}, pairs...)...)
}

func ips(s ...string) []net.IP {
	out := make([]net.IP, len(s))
	for i, a := range s {
		out[i] = net.ParseIP(a)
	}
	return out
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

type goodCase struct {
	name string
	req  ParseRequest
	want NetworkConfig
}

// boolFields maps each VXLAN bool option to its field.
var boolFields = map[string]func(v *VXLANConfig) *bool{
	"Learning": func(v *VXLANConfig) *bool { return &v.Learning },
	"Proxy":    func(v *VXLANConfig) *bool { return &v.Proxy },
	"RSC":      func(v *VXLANConfig) *bool { return &v.RSC },
	"L2miss":   func(v *VXLANConfig) *bool { return &v.L2miss },
	"L3miss":   func(v *VXLANConfig) *bool { return &v.L3miss },
	"NoAge":    func(v *VXLANConfig) *bool { return &v.NoAge },
	"GBP":      func(v *VXLANConfig) *bool { return &v.GBP },
}

// boolSpellings are the accepted bool spellings and what they mean.
var boolSpellings = []struct {
	in   string
	want bool
}{
	{"true", true}, {"false", false}, {"1", true}, {"0", false},
	{"yes", true}, {"no", false}, {"TRUE", true}, {"False", false},
}

func goodCases() []goodCase {
	cases := []goodCase{
		// VxlanId
		{"VxlanId decimal", ParseRequest{Options: kv("VxlanId", "42")}, vxlanWant(nil)},
		{"VxlanId min", ParseRequest{Options: kv("VxlanId", "1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VNI = 1 })},
		{"VxlanId max", ParseRequest{Options: kv("VxlanId", "16777215")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VNI = 16777215 })},
		{"VxlanId hex", ParseRequest{Options: kv("VxlanId", "0x2A")}, vxlanWant(nil)},
		{"VxlanId hex upper prefix", ParseRequest{Options: kv("VxlanId", "0X2a")}, vxlanWant(nil)},
		{"VxlanId hex max", ParseRequest{Options: kv("VxlanId", "0xFFFFFF")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VNI = 16777215 })},
		{"VxlanId leading zero is decimal", ParseRequest{Options: kv("VxlanId", "010")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VNI = 10 })},

		// keys match case-insensitively
		{"key lower case", ParseRequest{Options: kv("vxlanid", "42")}, vxlanWant(nil)},
		{"key upper case", ParseRequest{Options: kv("VXLANID", "42")}, vxlanWant(nil)},
		{"key mixed case", ParseRequest{Options: kv("vXlAnId", "42", "port", "4790", "PEERS", "192.0.2.1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 4790; v.Peers = ips("192.0.2.1") })},

		// underlay
		{"VtepDev", ParseRequest{Options: vni42("VtepDev", "eth0")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VtepDev = "eth0" })},
		{"VtepDev vlan subinterface", ParseRequest{Options: vni42("VtepDev", "bond0.100")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VtepDev = "bond0.100" })},
		{"VtepDevFlag overrides VtepDev", ParseRequest{Options: vni42("VtepDev", "eth0"), VtepDevFlag: "eth1"},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VtepDev = "eth1" })},
		{"VtepDevFlag alone", ParseRequest{Options: vni42(), VtepDevFlag: "eth1"},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.VtepDev = "eth1" })},
		{"SrcAddr IPv4", ParseRequest{Options: vni42("SrcAddr", "192.0.2.10")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.SrcAddr = net.ParseIP("192.0.2.10") })},
		{"SrcAddr IPv6", ParseRequest{Options: vni42("SrcAddr", "2001:db8::10")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.SrcAddr = net.ParseIP("2001:db8::10") })},
		{"Group multicast", ParseRequest{Options: vni42("Group", "239.1.1.1", "VtepDev", "eth1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Group, v.VtepDev = net.ParseIP("239.1.1.1"), "eth1" })},
		{"Group multicast with --vtepdev", ParseRequest{Options: vni42("Group", "239.1.1.1"), VtepDevFlag: "eth2"},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Group, v.VtepDev = net.ParseIP("239.1.1.1"), "eth2" })},
		{"Group unicast remote", ParseRequest{Options: vni42("Group", "192.0.2.20")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Group = net.ParseIP("192.0.2.20") })},
		{"Group IPv6 multicast with IPv6 SrcAddr", ParseRequest{Options: vni42("Group", "ff05::100", "SrcAddr", "2001:db8::10", "VtepDev", "eth1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) {
				v.Group, v.VtepDev = net.ParseIP("ff05::100"), "eth1"
				v.SrcAddr = net.ParseIP("2001:db8::10")
			})},
		{"Peers one", ParseRequest{Options: vni42("Peers", "192.0.2.1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Peers = ips("192.0.2.1") })},
		{"Peers several with spaces", ParseRequest{Options: vni42("Peers", "192.0.2.1, 192.0.2.2 ,192.0.2.3")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Peers = ips("192.0.2.1", "192.0.2.2", "192.0.2.3") })},
		{"Peers IPv4 with IPv4 SrcAddr", ParseRequest{Options: vni42("Peers", "192.0.2.1,192.0.2.2", "SrcAddr", "192.0.2.10")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) {
				v.Peers = ips("192.0.2.1", "192.0.2.2")
				v.SrcAddr = net.ParseIP("192.0.2.10")
			})},
		{"Peers IPv6 with IPv6 SrcAddr", ParseRequest{Options: vni42("Peers", "2001:db8::1,2001:db8::2", "SrcAddr", "2001:db8::10")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) {
				v.Peers = ips("2001:db8::1", "2001:db8::2")
				v.SrcAddr = net.ParseIP("2001:db8::10")
			})},

		// ports
		{"Port default is 4789", ParseRequest{Options: vni42()},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 4789 })},
		{"Port", ParseRequest{Options: vni42("Port", "4790")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 4790 })},
		{"Port legacy 8472 when asked", ParseRequest{Options: vni42("Port", "8472")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 8472 })},
		{"Port min", ParseRequest{Options: vni42("Port", "1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 1 })},
		{"Port max", ParseRequest{Options: vni42("Port", "65535")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Port = 65535 })},
		{"PortLow and PortHigh", ParseRequest{Options: vni42("PortLow", "10000", "PortHigh", "20000")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.PortLow, v.PortHigh = 10000, 20000 })},
		{"PortLow equals PortHigh", ParseRequest{Options: vni42("PortLow", "10000", "PortHigh", "10000")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.PortLow, v.PortHigh = 10000, 10000 })},

		// outer header
		{"TTL min", ParseRequest{Options: vni42("TTL", "1")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TTL = 1 })},
		{"TTL max", ParseRequest{Options: vni42("TTL", "255")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TTL = 255 })},
		{"TOS default is inherit", ParseRequest{Options: vni42()},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TOS = tosInherit })},
		{"TOS inherit", ParseRequest{Options: vni42("TOS", "inherit")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TOS = tosInherit })},
		{"TOS INHERIT", ParseRequest{Options: vni42("TOS", "INHERIT")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TOS = tosInherit })},
		{"TOS 0", ParseRequest{Options: vni42("TOS", "0")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TOS = 0 })},
		{"TOS 255", ParseRequest{Options: vni42("TOS", "255")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TOS = 255 })},

		// FDB
		{"Age", ParseRequest{Options: vni42("Age", "300")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Age = 300 })},
		{"Age max", ParseRequest{Options: vni42("Age", "4294967295")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Age = 4294967295 })},
		{"Limit", ParseRequest{Options: vni42("Limit", "1024")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Limit = 1024 })},
		{"Limit max", ParseRequest{Options: vni42("Limit", "4294967295")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Limit = 4294967295 })},

		// vxlan link
		{"vxlanName", ParseRequest{Options: vni42("vxlanName", "vx42")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Name = "vx42" })},
		{"vxlanName 15 chars", ParseRequest{Options: vni42("vxlanName", "abcdefghijklmno")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.Name = "abcdefghijklmno" })},
		{"vxlanMTU", ParseRequest{Options: vni42("vxlanMTU", "1450")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.MTU = 1450 })},
		{"vxlanMTU min", ParseRequest{Options: vni42("vxlanMTU", "68")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.MTU = 68 })},
		{"vxlanMTU max", ParseRequest{Options: vni42("vxlanMTU", "65535")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.MTU = 65535 })},
		{"vxlanHardwareAddr", ParseRequest{Options: vni42("vxlanHardwareAddr", "02:42:ac:11:00:02")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.MAC = mac("02:42:ac:11:00:02") })},
		{"vxlanHardwareAddr dashes upper case", ParseRequest{Options: vni42("vxlanHardwareAddr", "02-42-AC-11-00-02")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.MAC = mac("02:42:ac:11:00:02") })},
		{"vxlanTxQLen", ParseRequest{Options: vni42("vxlanTxQLen", "1000")},
			vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { v.TxQLen = 1000 })},

		// bridge attachment
		{"bridgeName", ParseRequest{Options: vni42("bridgeName", "br-vx42")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Bridge.Name = "br-vx42" })},
		{"bridgeMTU", ParseRequest{Options: vni42("bridgeMTU", "1450")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Bridge.MTU, c.MTU = 1450, 1450 })},
		{"bridgeMTU on internal network", ParseRequest{Options: kv("bridgeMTU", "9000")},
			internalWant(func(c *NetworkConfig) { c.Bridge.MTU, c.MTU = 9000, 9000 })},
		{"bridgeHardwareAddr", ParseRequest{Options: vni42("bridgeHardwareAddr", "02:00:00:00:00:01")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Bridge.MAC = mac("02:00:00:00:00:01") })},
		{"bridgeTxQLen", ParseRequest{Options: vni42("bridgeTxQLen", "2147483647")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Bridge.TxQLen = 2147483647 })},
		{"mode bridge", ParseRequest{Options: vni42("mode", "bridge")}, vxlanWant(nil)},
		{"mode BRIDGE", ParseRequest{Options: vni42("mode", "BRIDGE")}, vxlanWant(nil)},

		// Docker's own keys
		{"docker mtu sets container MTU, not bridgeMTU", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "1400")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.MTU = 1400 })},
		{"docker mtu agrees with bridgeMTU", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "1400", "bridgeMTU", "1400")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Bridge.MTU, c.MTU = 1400, 1400 })},
		{"docker mtu key upper case", ParseRequest{Options: vni42("COM.DOCKER.NETWORK.DRIVER.MTU", " 1400 ")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.MTU = 1400 })},
		{"docker mtu on internal network", ParseRequest{Options: kv("com.docker.network.driver.mtu", "9000")},
			internalWant(func(c *NetworkConfig) { c.MTU = 9000 })},
		{"docker mtu with macvlan on parent", ParseRequest{Options: onParent("macvlan", "com.docker.network.driver.mtu", "9000")},
			parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.MTU = 9000 })},
		{"docker mtu with ipvlan on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "com.docker.network.driver.mtu", "1450")},
			vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.MTU = 1450 })},
		{"other docker keys ignored", ParseRequest{Options: vni42(
			"com.docker.network.bridge.name", "ignored/name with spaces",
			"com.docker.network.enable_ipv6", "maybe",
			"com.docker.network.whatever", "",
		)}, vxlanWant(nil)},

		// gateway, scope, internal
		{"hostGateway false", ParseRequest{Options: vni42("hostGateway", "false")},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = false })},
		{"hostGateway default true in local scope", ParseRequest{Options: vni42()},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = true })},
		{"hostGateway default false in global scope", ParseRequest{Options: vni42(), GlobalScope: true},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = false })},
		{"hostGateway true in global scope", ParseRequest{Options: vni42("hostGateway", "true"), GlobalScope: true},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = true })},
		{"hostRouting default false", ParseRequest{Options: vni42()},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostRouting = false })},
		{"hostRouting on macvlan with host gateway", ParseRequest{Options: onParent("macvlan", "hostGateway", "true", "hostRouting", "on")},
			parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.HostGateway, c.HostRouting = true, true })},
		{"EnableIPv6 passed through", ParseRequest{Options: vni42(), EnableIPv6: true},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.EnableIPv6 = true })},
		{"no options is internal", ParseRequest{}, internalWant(nil)},
		{"no VxlanId is internal", ParseRequest{Options: kv("bridgeName", "br-int")},
			internalWant(func(c *NetworkConfig) { c.Bridge.Name = "br-int" })},
		{"--internal without VxlanId", ParseRequest{Internal: true}, internalWant(nil)},
		{"internal in global scope", ParseRequest{GlobalScope: true}, internalWant(nil)},
		{"internal with hostGateway false", ParseRequest{Options: kv("hostGateway", "no")}, internalWant(nil)},
		{"internal with VtepDevFlag", ParseRequest{VtepDevFlag: "eth1"}, internalWant(nil)},
		// --internal on a VXLAN segment: it spans hosts, with no gateway (as
		// Docker's overlay --internal); the same parse at a swarm manager,
		// which never sees --internal, and at its workers.
		{"--internal with VxlanId", ParseRequest{Options: vni42(), Internal: true},
			vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.Internal, c.HostGateway = true, false })},
	}

	for _, name := range sortedKeys(boolFields) {
		field := boolFields[name]
		for _, s := range boolSpellings {
			cases = append(cases, goodCase{
				name: name + "=" + s.in,
				req:  ParseRequest{Options: vni42(name, s.in)},
				want: vxlanWant(func(_ *NetworkConfig, v *VXLANConfig) { *field(v) = s.want }),
			})
		}
	}
	for _, s := range boolSpellings {
		cases = append(cases, goodCase{
			name: "hostGateway=" + s.in,
			req:  ParseRequest{Options: vni42("hostGateway", s.in)},
			want: vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostGateway = s.want }),
		}, goodCase{
			name: "hostRouting=" + s.in,
			req:  ParseRequest{Options: vni42("hostRouting", s.in)},
			want: vxlanWant(func(c *NetworkConfig, _ *VXLANConfig) { c.HostRouting = s.want }),
		})
	}
	cases = append(cases, attachmentGoodCases()...)
	return append(cases, evpnGoodCases()...)
}

// attachmentGoodCases cover mode and its sub-options, parent segments, and
// the hostGateway each combination implies.
func attachmentGoodCases() []goodCase {
	cases := []goodCase{
		// mode on a VXLAN segment: the host can be the gateway by default
		{"mode macvlan on VXLAN", ParseRequest{Options: vni42("mode", "macvlan")}, vxlanMode(ModeMacvlan, nil)},
		{"mode MacVLAN", ParseRequest{Options: vni42("MODE", "MacVLAN")}, vxlanMode(ModeMacvlan, nil)},
		{"mode ipvlan on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan")}, vxlanMode(ModeIpvlan, nil)},
		{"mode IPVLAN", ParseRequest{Options: vni42("Mode", "IPVLAN")}, vxlanMode(ModeIpvlan, nil)},
		{"mode value trimmed", ParseRequest{Options: vni42("mode", " ipvlan ")}, vxlanMode(ModeIpvlan, nil)},
		{"mode macvlan on VXLAN in global scope", ParseRequest{Options: vni42("mode", "macvlan"), GlobalScope: true},
			vxlanMode(ModeMacvlan, func(c *NetworkConfig) { c.HostGateway = false })},
		{"mode ipvlan on VXLAN in global scope", ParseRequest{Options: vni42("mode", "ipvlan"), GlobalScope: true},
			vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.HostGateway = false })},
		{"macvlan on VXLAN hostGateway true", ParseRequest{Options: vni42("mode", "macvlan", "hostGateway", "true")},
			vxlanMode(ModeMacvlan, nil)},
		{"macvlan on VXLAN hostGateway true in global scope", ParseRequest{Options: vni42("mode", "macvlan", "hostGateway", "true"), GlobalScope: true},
			vxlanMode(ModeMacvlan, nil)},
		{"macvlan on VXLAN hostGateway false", ParseRequest{Options: vni42("mode", "macvlan", "hostGateway", "false")},
			vxlanMode(ModeMacvlan, func(c *NetworkConfig) { c.HostGateway = false })},
		{"ipvlan l2 on VXLAN hostGateway true", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "l2", "hostGateway", "true")},
			vxlanMode(ModeIpvlan, nil)},
		{"ipvlan l3 on VXLAN hostGateway false", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "l3", "hostGateway", "false")},
			vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode, c.HostGateway = "l3", false })},
		{"macvlan passthru on VXLAN hostGateway false", ParseRequest{Options: vni42("mode", "macvlan", "macvlan_mode", "passthru", "hostGateway", "off")},
			vxlanMode(ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode, c.HostGateway = "passthru", false })},
		{"ipvlan l3s private on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "l3s", "ipvlan_flag", "private")},
			vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode, c.IpvlanFlag, c.HostGateway = "l3s", "private", false })},

		// attachments on an internal segment: never a host gateway
		{"mode macvlan internal", ParseRequest{Options: kv("mode", "macvlan")}, internalMode(ModeMacvlan, nil)},
		{"mode ipvlan with --internal", ParseRequest{Options: kv("mode", "ipvlan"), Internal: true}, internalMode(ModeIpvlan, nil)},
		{"mode bridge explicit internal", ParseRequest{Options: kv("mode", "bridge")}, internalWant(nil)},
		{"macvlan internal hostGateway false", ParseRequest{Options: kv("mode", "macvlan", "hostGateway", "false")},
			internalMode(ModeMacvlan, nil)},
		{"ipvlan l3 internal", ParseRequest{Options: kv("mode", "ipvlan", "ipvlan_mode", "l3")},
			internalMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode = "l3" })},

		// parent segments: the VLAN's router is the gateway by default
		{"parent VLAN macvlan", ParseRequest{Options: onParent("macvlan")}, parentWant("eth0.10", ModeMacvlan, nil)},
		{"parent VLAN ipvlan", ParseRequest{Options: onParent("ipvlan")}, parentWant("eth0.10", ModeIpvlan, nil)},
		{"parent plain interface", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0")}, parentWant("eth0", ModeMacvlan, nil)},
		{"parent VID 1", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.1")}, parentWant("eth0.1", ModeMacvlan, nil)},
		{"parent VID 4094", ParseRequest{Options: kv("mode", "ipvlan", "parent", "bond0.4094")}, parentWant("bond0.4094", ModeIpvlan, nil)},
		{"parent dotted name is a plain interface", ParseRequest{Options: kv("mode", "macvlan", "parent", "br.lan")}, parentWant("br.lan", ModeMacvlan, nil)},
		{"parent 15 chars", ParseRequest{Options: kv("mode", "macvlan", "parent", "abcdefghijklmno")}, parentWant("abcdefghijklmno", ModeMacvlan, nil)},
		{"parent VLAN 15 chars", ParseRequest{Options: kv("mode", "macvlan", "parent", "abcdefghij.4094")}, parentWant("abcdefghij.4094", ModeMacvlan, nil)},
		{"parent case preserved", ParseRequest{Options: kv("mode", "macvlan", "parent", "ETH0.10")}, parentWant("ETH0.10", ModeMacvlan, nil)},
		{"parent value trimmed", ParseRequest{Options: kv("mode", "macvlan", "parent", " eth0.10 ")}, parentWant("eth0.10", ModeMacvlan, nil)},
		{"parent key upper case", ParseRequest{Options: kv("MODE", "macvlan", "PARENT", "eth0.10")}, parentWant("eth0.10", ModeMacvlan, nil)},
		{"parent in global scope", ParseRequest{Options: onParent("macvlan"), GlobalScope: true}, parentWant("eth0.10", ModeMacvlan, nil)},
		{"parent with EnableIPv6", ParseRequest{Options: onParent("ipvlan"), EnableIPv6: true},
			parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.EnableIPv6 = true })},
		{"parent ignores VtepDevFlag", ParseRequest{Options: onParent("macvlan"), VtepDevFlag: "eth1"}, parentWant("eth0.10", ModeMacvlan, nil)},

		// parent segments: hostGateway
		{"parent macvlan hostGateway true", ParseRequest{Options: onParent("macvlan", "hostGateway", "true")},
			parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.HostGateway = true })},
		{"parent macvlan bridge hostGateway true in global scope", ParseRequest{Options: onParent("macvlan", "macvlan_mode", "bridge", "hostGateway", "yes"), GlobalScope: true},
			parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.HostGateway = true })},
		{"parent ipvlan l2 hostGateway true", ParseRequest{Options: onParent("ipvlan", "hostGateway", "true")},
			parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.HostGateway = true })},
		{"parent macvlan hostGateway false", ParseRequest{Options: onParent("macvlan", "hostGateway", "false")},
			parentWant("eth0.10", ModeMacvlan, nil)},
		{"parent macvlan private hostGateway false", ParseRequest{Options: onParent("macvlan", "macvlan_mode", "private", "hostGateway", "false")},
			parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode = "private" })},
		{"parent ipvlan l3s hostGateway false", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "l3s", "hostGateway", "0")},
			parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode = "l3s" })},
	}

	// Every sub-option value, on a parent and on a VXLAN segment (where the
	// default hostGateway says whether the host can be the gateway).
	for _, m := range []struct {
		v      string
		hostGW bool
	}{{"bridge", true}, {"private", false}, {"vepa", false}, {"passthru", false}} {
		cases = append(cases,
			goodCase{"macvlan_mode=" + m.v + " on parent", ParseRequest{Options: onParent("macvlan", "macvlan_mode", m.v)},
				parentWant("eth0.10", ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode = m.v })},
			goodCase{"macvlan_mode=" + strings.ToUpper(m.v) + " on VXLAN", ParseRequest{Options: vni42("mode", "macvlan", "Macvlan_Mode", strings.ToUpper(m.v))},
				vxlanMode(ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode, c.HostGateway = m.v, m.hostGW })},
			goodCase{"macvlan_mode=" + m.v + " on VXLAN in global scope", ParseRequest{Options: vni42("mode", "macvlan", "macvlan_mode", m.v), GlobalScope: true},
				vxlanMode(ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode, c.HostGateway = m.v, false })},
			goodCase{"macvlan_mode=" + m.v + " internal", ParseRequest{Options: kv("mode", "macvlan", "macvlan_mode", m.v)},
				internalMode(ModeMacvlan, func(c *NetworkConfig) { c.MacvlanMode = m.v })},
		)
	}
	for _, m := range []struct {
		v      string
		hostGW bool
	}{{"l2", true}, {"l3", false}, {"l3s", false}} {
		cases = append(cases,
			goodCase{"ipvlan_mode=" + m.v + " on parent", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", m.v)},
				parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode = m.v })},
			goodCase{"ipvlan_mode=" + strings.ToUpper(m.v) + " on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "IPVLAN_MODE", strings.ToUpper(m.v))},
				vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode, c.HostGateway = m.v, m.hostGW })},
			goodCase{"ipvlan_mode=" + m.v + " on VXLAN in global scope", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", m.v), GlobalScope: true},
				vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode, c.HostGateway = m.v, false })},
		)
	}
	for _, f := range []string{"bridge", "private", "vepa"} {
		cases = append(cases,
			goodCase{"ipvlan_flag=" + f + " on parent", ParseRequest{Options: onParent("ipvlan", "ipvlan_flag", f)},
				parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.IpvlanFlag = f })},
			goodCase{"ipvlan_flag=" + strings.ToUpper(f) + " on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_flag", strings.ToUpper(f))},
				vxlanMode(ModeIpvlan, func(c *NetworkConfig) { c.IpvlanFlag, c.HostGateway = f, f == "bridge" })},
			goodCase{"ipvlan_flag=" + f + " with l3 on parent", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "l3", "ipvlan_flag", f)},
				parentWant("eth0.10", ModeIpvlan, func(c *NetworkConfig) { c.IpvlanMode, c.IpvlanFlag = "l3", f })},
		)
	}
	return cases
}

type badCase struct {
	name string
	req  ParseRequest
	key  string // the option the error must name
}

func badCases() []badCase {
	cases := []badCase{
		// VxlanId
		{"VxlanId 0", ParseRequest{Options: kv("VxlanId", "0")}, "VxlanId"},
		{"VxlanId too big", ParseRequest{Options: kv("VxlanId", "16777216")}, "VxlanId"},
		{"VxlanId negative", ParseRequest{Options: kv("VxlanId", "-1")}, "VxlanId"},
		{"VxlanId word", ParseRequest{Options: kv("VxlanId", "abc")}, "VxlanId"},
		{"VxlanId bare 0x", ParseRequest{Options: kv("VxlanId", "0x")}, "VxlanId"},
		{"VxlanId hex too big", ParseRequest{Options: kv("VxlanId", "0x1000000")}, "VxlanId"},
		{"VxlanId empty", ParseRequest{Options: kv("VxlanId", "")}, "VxlanId"},
		{"VxlanId blank", ParseRequest{Options: kv("VxlanId", "  ")}, "VxlanId"},
		{"VxlanId fraction", ParseRequest{Options: kv("VxlanId", "1.5")}, "VxlanId"},
		{"VxlanId plus sign", ParseRequest{Options: kv("VxlanId", "+42")}, "VxlanId"},
		{"VxlanId underscores", ParseRequest{Options: kv("VxlanId", "1_000")}, "VxlanId"},
		{"VxlanId binary", ParseRequest{Options: kv("VxlanId", "0b101")}, "VxlanId"},
		{"VxlanId wraps uint32", ParseRequest{Options: kv("VxlanId", "4294967338")}, "VxlanId"},
		{"VxlanId lower-case key bad value", ParseRequest{Options: kv("vxlanid", "0")}, "VxlanId"},

		// VtepDev
		{"VtepDev 16 chars", ParseRequest{Options: vni42("VtepDev", "abcdefghijklmnop")}, "VtepDev"},
		{"VtepDev slash", ParseRequest{Options: vni42("VtepDev", "eth/0")}, "VtepDev"},
		{"VtepDev space", ParseRequest{Options: vni42("VtepDev", "eth 0")}, "VtepDev"},
		{"VtepDev colon", ParseRequest{Options: vni42("VtepDev", "eth0:1")}, "VtepDev"},
		{"VtepDev empty", ParseRequest{Options: vni42("VtepDev", "")}, "VtepDev"},
		{"VtepDev dot", ParseRequest{Options: vni42("VtepDev", ".")}, "VtepDev"},
		{"VtepDev dotdot", ParseRequest{Options: vni42("VtepDev", "..")}, "VtepDev"},

		// SrcAddr, Group
		{"SrcAddr garbage", ParseRequest{Options: vni42("SrcAddr", "not-an-ip")}, "SrcAddr"},
		{"SrcAddr empty", ParseRequest{Options: vni42("SrcAddr", "")}, "SrcAddr"},
		{"SrcAddr unspecified", ParseRequest{Options: vni42("SrcAddr", "0.0.0.0")}, "SrcAddr"},
		{"SrcAddr unspecified IPv6", ParseRequest{Options: vni42("SrcAddr", "::")}, "SrcAddr"},
		{"SrcAddr multicast", ParseRequest{Options: vni42("SrcAddr", "239.1.1.1")}, "SrcAddr"},
		{"SrcAddr CIDR", ParseRequest{Options: vni42("SrcAddr", "192.0.2.1/24")}, "SrcAddr"},
		{"Group empty", ParseRequest{Options: vni42("Group", "")}, "Group"},
		{"Group garbage", ParseRequest{Options: vni42("Group", "group")}, "Group"},
		{"Group unspecified", ParseRequest{Options: vni42("Group", "0.0.0.0")}, "Group"},

		// Peers
		{"Peers empty", ParseRequest{Options: vni42("Peers", "")}, "Peers"},
		{"Peers empty element", ParseRequest{Options: vni42("Peers", "192.0.2.1,,192.0.2.2")}, "Peers"},
		{"Peers trailing comma", ParseRequest{Options: vni42("Peers", "192.0.2.1,")}, "Peers"},
		{"Peers multicast", ParseRequest{Options: vni42("Peers", "192.0.2.1,239.1.1.1")}, "Peers"},
		{"Peers unspecified", ParseRequest{Options: vni42("Peers", "0.0.0.0")}, "Peers"},
		{"Peers hostname", ParseRequest{Options: vni42("Peers", "vtep1.example")}, "Peers"},
		{"Peers mixed families", ParseRequest{Options: vni42("Peers", "192.0.2.1,2001:db8::1")}, "Peers"},
		{"Peers IPv6 with SrcAddr IPv4", ParseRequest{Options: vni42("Peers", "2001:db8::1", "SrcAddr", "192.0.2.10")}, "SrcAddr"},
		{"Peers IPv4 with SrcAddr IPv6", ParseRequest{Options: vni42("Peers", "192.0.2.1", "SrcAddr", "2001:db8::10")}, "Peers"},
		{"Group IPv4 with SrcAddr IPv6", ParseRequest{Options: vni42("Group", "239.1.1.1", "SrcAddr", "2001:db8::10")}, "Group"},

		// ports
		{"Port 0", ParseRequest{Options: vni42("Port", "0")}, "Port"},
		{"Port 65536", ParseRequest{Options: vni42("Port", "65536")}, "Port"},
		{"Port word", ParseRequest{Options: vni42("Port", "x")}, "Port"},
		{"Port empty", ParseRequest{Options: vni42("Port", "")}, "Port"},
		{"Port negative", ParseRequest{Options: vni42("Port", "-1")}, "Port"},
		{"Port fraction", ParseRequest{Options: vni42("Port", "4789.0")}, "Port"},
		{"Port lower-case key bad value", ParseRequest{Options: vni42("port", "0")}, "Port"},
		{"PortLow without PortHigh", ParseRequest{Options: vni42("PortLow", "10000")}, "PortHigh"},
		{"PortHigh without PortLow", ParseRequest{Options: vni42("PortHigh", "20000")}, "PortLow"},
		{"PortLow above PortHigh", ParseRequest{Options: vni42("PortLow", "20000", "PortHigh", "10000")}, "PortLow"},
		{"PortLow 0", ParseRequest{Options: vni42("PortLow", "0", "PortHigh", "10000")}, "PortLow"},
		{"PortHigh 65536", ParseRequest{Options: vni42("PortLow", "10000", "PortHigh", "65536")}, "PortHigh"},

		// outer header
		{"TTL 0", ParseRequest{Options: vni42("TTL", "0")}, "TTL"},
		{"TTL 256", ParseRequest{Options: vni42("TTL", "256")}, "TTL"},
		{"TTL word", ParseRequest{Options: vni42("TTL", "x")}, "TTL"},
		{"TOS 256", ParseRequest{Options: vni42("TOS", "256")}, "TOS"},
		{"TOS negative", ParseRequest{Options: vni42("TOS", "-1")}, "TOS"},
		{"TOS word", ParseRequest{Options: vni42("TOS", "inherited")}, "TOS"},
		{"TOS empty", ParseRequest{Options: vni42("TOS", "")}, "TOS"},

		// FDB
		{"Age 0", ParseRequest{Options: vni42("Age", "0")}, "Age"},
		{"Age too big", ParseRequest{Options: vni42("Age", "4294967296")}, "Age"},
		{"Age negative", ParseRequest{Options: vni42("Age", "-300")}, "Age"},
		{"Age word", ParseRequest{Options: vni42("Age", "5m")}, "Age"},
		{"Limit 0", ParseRequest{Options: vni42("Limit", "0")}, "Limit"},
		{"Limit too big", ParseRequest{Options: vni42("Limit", "4294967296")}, "Limit"},
		{"Limit word", ParseRequest{Options: vni42("Limit", "many")}, "Limit"},

		// links
		{"vxlanName 16 chars", ParseRequest{Options: vni42("vxlanName", "abcdefghijklmnop")}, "vxlanName"},
		{"vxlanName slash", ParseRequest{Options: vni42("vxlanName", "vx/42")}, "vxlanName"},
		{"vxlanName kernel template", ParseRequest{Options: vni42("vxlanName", "vx%d")}, "vxlanName"},
		{"bridgeName kernel template", ParseRequest{Options: vni42("bridgeName", "br%d")}, "bridgeName"},
		{"VtepDev with percent", ParseRequest{Options: vni42("VtepDev", "eth%d")}, "VtepDev"},
		{"vxlanName space", ParseRequest{Options: vni42("vxlanName", "vx 42")}, "vxlanName"},
		{"vxlanName non-ASCII", ParseRequest{Options: vni42("vxlanName", "vxé")}, "vxlanName"},
		{"vxlanName empty", ParseRequest{Options: vni42("vxlanName", "")}, "vxlanName"},
		{"vxlanMTU 67", ParseRequest{Options: vni42("vxlanMTU", "67")}, "vxlanMTU"},
		{"vxlanMTU 65536", ParseRequest{Options: vni42("vxlanMTU", "65536")}, "vxlanMTU"},
		{"vxlanMTU word", ParseRequest{Options: vni42("vxlanMTU", "jumbo")}, "vxlanMTU"},
		{"vxlanTxQLen 0", ParseRequest{Options: vni42("vxlanTxQLen", "0")}, "vxlanTxQLen"},
		{"vxlanTxQLen too big", ParseRequest{Options: vni42("vxlanTxQLen", "2147483648")}, "vxlanTxQLen"},
		{"bridgeName 16 chars", ParseRequest{Options: vni42("bridgeName", "br-0123456789abc")}, "bridgeName"},
		{"bridgeName slash", ParseRequest{Options: vni42("bridgeName", "br/0")}, "bridgeName"},
		{"bridgeName space", ParseRequest{Options: vni42("bridgeName", "br 0")}, "bridgeName"},
		{"bridgeMTU 67", ParseRequest{Options: vni42("bridgeMTU", "67")}, "bridgeMTU"},
		{"bridgeMTU 65536", ParseRequest{Options: vni42("bridgeMTU", "65536")}, "bridgeMTU"},
		{"bridgeTxQLen negative", ParseRequest{Options: vni42("bridgeTxQLen", "-1")}, "bridgeTxQLen"},

		// Docker's MTU
		{"docker mtu 67", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "67")}, "com.docker.network.driver.mtu"},
		{"docker mtu 65536", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "65536")}, "com.docker.network.driver.mtu"},
		{"docker mtu word", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "x")}, "com.docker.network.driver.mtu"},
		{"docker mtu conflicts with bridgeMTU", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "1400", "bridgeMTU", "1500")}, "bridgeMTU"},
		{"docker mtu conflict names docker key", ParseRequest{Options: vni42("com.docker.network.driver.mtu", "1400", "bridgeMTU", "1500")}, "com.docker.network.driver.mtu"},
		{"docker mtu conflicts with bridgeMTU internal", ParseRequest{Options: kv("com.docker.network.driver.mtu", "9000", "bridgeMTU", "1500")}, "bridgeMTU"},

		// keys
		{"unknown key", ParseRequest{Options: vni42("VxlanIdent", "1")}, "VxlanIdent"},
		{"unknown key without VxlanId", ParseRequest{Options: kv("foo", "bar")}, "foo"},
		{"same key twice", ParseRequest{Options: kv("VxlanId", "42", "vxlanid", "42")}, "VxlanId"},
		{"same key twice different values", ParseRequest{Options: kv("VXLANID", "42", "VxlanId", "43")}, "VxlanId"},
		{"Port twice", ParseRequest{Options: vni42("Port", "4789", "PORT", "4789")}, "Port"},

		// combinations
		{"vxlan option without VxlanId", ParseRequest{Options: kv("Port", "4790")}, "Port"},
		{"Peers without VxlanId", ParseRequest{Options: kv("Peers", "192.0.2.1")}, "Peers"},
		{"hostGateway true on internal network", ParseRequest{Options: kv("hostGateway", "true")}, "hostGateway"},
		{"hostGateway true with --internal", ParseRequest{Options: kv("hostGateway", "yes"), Internal: true}, "hostGateway"},
		{"hostRouting on an internal network", ParseRequest{Options: kv("hostRouting", "true"), Internal: true}, "hostRouting"},
		{"hostRouting without the host gateway", ParseRequest{Options: vni42("hostRouting", "true", "hostGateway", "false")}, "hostRouting"},
		{"hostRouting on a parent without the host gateway", ParseRequest{Options: onParent("macvlan", "hostRouting", "true")}, "hostRouting"},

		// mode and its sub-options: bad values
		{"mode unknown", ParseRequest{Options: vni42("mode", "tap")}, "mode"},
		{"mode empty", ParseRequest{Options: vni42("mode", "")}, "mode"},
		{"mode a macvlan_mode value", ParseRequest{Options: vni42("mode", "vepa")}, "mode"},
		{"mode an ipvlan_mode value", ParseRequest{Options: vni42("mode", "l2")}, "mode"},
		{"mode with suffix", ParseRequest{Options: vni42("mode", "macvlan-bridge")}, "mode"},
		{"mode overlay", ParseRequest{Options: kv("mode", "overlay")}, "mode"},
		{"macvlan_mode source", ParseRequest{Options: onParent("macvlan", "macvlan_mode", "source")}, "macvlan_mode"},
		{"macvlan_mode empty", ParseRequest{Options: onParent("macvlan", "macvlan_mode", "")}, "macvlan_mode"},
		{"macvlan_mode l2", ParseRequest{Options: vni42("mode", "macvlan", "macvlan_mode", "l2")}, "macvlan_mode"},
		{"ipvlan_mode l4", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "l4")}, "ipvlan_mode"},
		{"ipvlan_mode empty", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "")}, "ipvlan_mode"},
		{"ipvlan_mode bridge", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "bridge")}, "ipvlan_mode"},
		{"ipvlan_flag passthru", ParseRequest{Options: onParent("ipvlan", "ipvlan_flag", "passthru")}, "ipvlan_flag"},
		{"hostGateway true with ipvlan_flag private", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_flag", "private", "hostGateway", "true")}, "hostGateway"},
		{"hostGateway true with ipvlan_flag vepa", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_flag", "vepa", "hostGateway", "true")}, "hostGateway"},
		{"ipvlan_flag l2", ParseRequest{Options: onParent("ipvlan", "ipvlan_flag", "l2")}, "ipvlan_flag"},
		{"ipvlan_flag empty", ParseRequest{Options: onParent("ipvlan", "ipvlan_flag", "")}, "ipvlan_flag"},

		// sub-options of another mode
		{"macvlan_mode with default mode", ParseRequest{Options: vni42("macvlan_mode", "bridge")}, "macvlan_mode"},
		{"macvlan_mode with mode=bridge", ParseRequest{Options: vni42("mode", "bridge", "macvlan_mode", "bridge")}, "macvlan_mode"},
		{"macvlan_mode with mode=ipvlan", ParseRequest{Options: onParent("ipvlan", "macvlan_mode", "bridge")}, "macvlan_mode"},
		{"macvlan_mode internal without mode", ParseRequest{Options: kv("macvlan_mode", "private")}, "macvlan_mode"},
		{"ipvlan_mode with default mode", ParseRequest{Options: vni42("ipvlan_mode", "l2")}, "ipvlan_mode"},
		{"ipvlan_mode with mode=macvlan", ParseRequest{Options: onParent("macvlan", "ipvlan_mode", "l2")}, "ipvlan_mode"},
		{"ipvlan_flag with default mode", ParseRequest{Options: vni42("ipvlan_flag", "bridge")}, "ipvlan_flag"},
		{"ipvlan_flag with mode=macvlan", ParseRequest{Options: onParent("macvlan", "ipvlan_flag", "bridge")}, "ipvlan_flag"},
		{"ipvlan_flag with mode=bridge internal", ParseRequest{Options: kv("mode", "bridge", "ipvlan_flag", "vepa")}, "ipvlan_flag"},

		// parent: bad values
		{"parent VID 0", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.0")}, "parent"},
		{"parent VID 4095", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.4095")}, "parent"},
		{"multicast Group without VtepDev", ParseRequest{Options: vni42("Group", "239.1.1.1")}, "VtepDev"},
		{"parent VID with a leading zero", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.010")}, "parent"},
		{"parent VID negative", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.-1")}, "parent"},
		{"parent VID huge", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0.99999999")}, "parent"},
		{"parent VID without interface", ParseRequest{Options: kv("mode", "macvlan", "parent", ".10")}, "parent"},
		{"parent empty", ParseRequest{Options: kv("mode", "macvlan", "parent", "")}, "parent"},
		{"parent blank", ParseRequest{Options: kv("mode", "macvlan", "parent", "  ")}, "parent"},
		{"parent 16 chars", ParseRequest{Options: kv("mode", "macvlan", "parent", "abcdefghijklmnop")}, "parent"},
		{"parent VLAN 16 chars", ParseRequest{Options: kv("mode", "macvlan", "parent", "abcdefghijk.4094")}, "parent"},
		{"parent slash", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth/0")}, "parent"},
		{"parent colon", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0:1")}, "parent"},
		{"parent space", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0 10")}, "parent"},
		{"parent dot", ParseRequest{Options: kv("mode", "macvlan", "parent", ".")}, "parent"},
		{"parent non-ASCII", ParseRequest{Options: kv("mode", "macvlan", "parent", "éth0")}, "parent"},
		{"parent twice", ParseRequest{Options: kv("mode", "macvlan", "parent", "eth0", "PARENT", "eth0")}, "parent"},

		// parent: combinations
		{"parent with default mode", ParseRequest{Options: kv("parent", "eth0.10")}, "parent"},
		{"parent with mode=bridge", ParseRequest{Options: onParent("bridge")}, "parent"},
		{"parent with mode=BRIDGE plain", ParseRequest{Options: kv("mode", "BRIDGE", "parent", "eth0")}, "parent"},
		{"parent with VxlanId", ParseRequest{Options: vni42("parent", "eth0")}, "parent"},
		{"parent with VxlanId macvlan", ParseRequest{Options: vni42("mode", "macvlan", "parent", "eth0.10")}, "parent"},
		{"parent with VxlanId ipvlan", ParseRequest{Options: vni42("mode", "ipvlan", "parent", "eth0")}, "parent"},
		{"parent with Peers", ParseRequest{Options: onParent("macvlan", "Peers", "192.0.2.1")}, "Peers"},
		{"parent with VtepDev", ParseRequest{Options: onParent("ipvlan", "VtepDev", "eth1")}, "VtepDev"},
		{"parent with Port", ParseRequest{Options: onParent("macvlan", "Port", "4789")}, "Port"},
		{"parent with vxlanName", ParseRequest{Options: onParent("macvlan", "vxlanName", "vx10")}, "vxlanName"},
		{"parent with Learning", ParseRequest{Options: onParent("ipvlan", "learning", "false")}, "Learning"},

		// hostGateway=true where the host cannot be the gateway
		{"hostGateway true macvlan internal", ParseRequest{Options: kv("mode", "macvlan", "hostGateway", "true")}, "hostGateway"},
		{"hostGateway true ipvlan --internal", ParseRequest{Options: kv("mode", "ipvlan", "hostGateway", "true"), Internal: true}, "hostGateway"},
		{"hostGateway true ipvlan l3 on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "l3", "hostGateway", "true")}, "hostGateway"},
		{"hostGateway true ipvlan l3s on VXLAN", ParseRequest{Options: vni42("mode", "ipvlan", "ipvlan_mode", "l3s", "hostGateway", "true")}, "hostGateway"},
		{"hostGateway true ipvlan l3 on parent", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "l3", "hostGateway", "true")}, "hostGateway"},
		{"hostGateway true ipvlan l3s on parent global", ParseRequest{Options: onParent("ipvlan", "ipvlan_mode", "l3s", "hostGateway", "1"), GlobalScope: true}, "hostGateway"},
	}
	for _, m := range []string{"private", "vepa", "passthru"} {
		cases = append(cases,
			badCase{"hostGateway true macvlan " + m + " on VXLAN", ParseRequest{Options: vni42("mode", "macvlan", "macvlan_mode", m, "hostGateway", "true")}, "hostGateway"},
			badCase{"hostGateway true macvlan " + m + " on parent", ParseRequest{Options: onParent("macvlan", "macvlan_mode", m, "hostGateway", "true")}, "hostGateway"},
		)
	}

	// The bridge attachment's options with another mode.
	for _, o := range [][2]string{
		{"bridgeName", "br0"}, {"bridgeMTU", "1500"}, {"bridgeHardwareAddr", "02:00:00:00:00:01"}, {"bridgeTxQLen", "1000"},
	} {
		for _, m := range []string{"macvlan", "ipvlan"} {
			cases = append(cases,
				badCase{o[0] + " with mode=" + m + " on VXLAN", ParseRequest{Options: vni42("mode", m, o[0], o[1])}, o[0]},
				badCase{o[0] + " with mode=" + m + " on parent", ParseRequest{Options: onParent(m, o[0], o[1])}, o[0]},
				badCase{o[0] + " with mode=" + m + " internal", ParseRequest{Options: kv("mode", m, o[0], o[1])}, o[0]},
			)
		}
	}

	for _, m := range []string{
		"01:00:5e:00:00:01",       // multicast
		"ff:ff:ff:ff:ff:ff",       // broadcast
		"00:00:00:00:00:00",       // zero
		"garbage",                 // not a MAC
		"02:42:ac:11:00",          // too short
		"02:42:ac:11:00:02:00:01", // EUI-64
		"",
	} {
		for _, key := range []string{"vxlanHardwareAddr", "bridgeHardwareAddr"} {
			cases = append(cases, badCase{key + "=" + m, ParseRequest{Options: vni42(key, m)}, key})
		}
	}
	for _, name := range append(sortedKeys(boolFields), "hostGateway", "hostRouting") {
		for _, v := range []string{"maybe", "", "2", "truee"} {
			cases = append(cases, badCase{name + "=" + v, ParseRequest{Options: vni42(name, v)}, name})
		}
	}
	return append(cases, evpnBadCases()...)
}

func TestParseNetworkConfigGood(t *testing.T) {
	for _, tc := range goodCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNetworkConfig(tc.req)
			if err != nil {
				t.Fatalf("ParseNetworkConfig(%+v): %v", tc.req, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseNetworkConfig(%+v)\n got %s\nwant %s", tc.req, dump(got), dump(tc.want))
			}
		})
	}
}

func TestParseNetworkConfigBad(t *testing.T) {
	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNetworkConfig(tc.req)
			if err == nil {
				t.Fatalf("ParseNetworkConfig(%+v) = %s, want an error naming %s", tc.req, dump(got), tc.key)
			}
			assertNamesOption(t, err, tc.key)
		})
	}
}

// assertNamesOption checks that err names the option key: an *OptionError
// with that Key and a description of what it accepts, or a plain error whose
// message contains the name.
func assertNamesOption(t *testing.T, err error, key string) {
	t.Helper()
	var oe *OptionError
	if errors.As(err, &oe) {
		if oe.Key != key {
			t.Errorf("OptionError.Key = %q, want %q (error: %v)", oe.Key, key, err)
		}
		if oe.Accepts == "" {
			t.Errorf("OptionError for %s does not say what it accepts", key)
		}
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
		return
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not name option %s", err, key)
	}
}

func TestParseNetworkConfigUnknownKeyListsOptions(t *testing.T) {
	_, err := ParseNetworkConfig(ParseRequest{Options: vni42("Flood", "yes")})
	if err == nil {
		t.Fatal("unknown option accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "Flood") {
		t.Errorf("error %q does not name the unknown key", msg)
	}
	for _, name := range []string{
		"VxlanId", "VtepDev", "SrcAddr", "Group", "Peers", "Port", "PortLow", "PortHigh",
		"TTL", "TOS", "Learning", "Proxy", "RSC", "L2miss", "L3miss", "NoAge", "GBP",
		"Age", "Limit", "vxlanName", "vxlanMTU", "vxlanHardwareAddr", "vxlanTxQLen",
		"bridgeName", "bridgeMTU", "bridgeHardwareAddr", "bridgeTxQLen",
		"parent", "mode", "macvlan_mode", "ipvlan_mode", "ipvlan_flag", "hostGateway",
	} {
		if !strings.Contains(msg, name) {
			t.Errorf("error for an unknown key does not list valid option %s: %q", name, msg)
		}
	}
}

// TestParseNetworkConfigDockerMTUTwice: Docker's MTU key, like every key,
// matches case-insensitively, so giving it twice is the same mistake as
// giving any other option twice.
func TestParseNetworkConfigDockerMTUTwice(t *testing.T) {
	req := ParseRequest{Options: vni42("com.docker.network.driver.mtu", "1400", "COM.DOCKER.NETWORK.DRIVER.MTU", "9000")}
	got, err := ParseNetworkConfig(req)
	if err == nil {
		t.Fatalf("%v is accepted, MTU=%d; want an error naming com.docker.network.driver.mtu", req.Options, got.MTU)
	}
	assertNamesOption(t, err, "com.docker.network.driver.mtu")
}

// TestOptionNamesMatchCaseInsensitively: every canonical name is recognised
// in upper case (whatever its value, it is never reported unknown).
func TestOptionNamesMatchCaseInsensitively(t *testing.T) {
	names := OptionNames()
	if !slices.IsSorted(names) {
		t.Errorf("OptionNames not sorted: %v", names)
	}
	for _, n := range names {
		_, err := ParseNetworkConfig(ParseRequest{Options: kv("VxlanId", "42", strings.ToUpper(n), "x")})
		if err != nil && strings.Contains(err.Error(), "unknown option") {
			t.Errorf("option %s in upper case reported unknown: %v", n, err)
		}
	}
}

func dump(c NetworkConfig) string {
	s := fmt.Sprintf("%+v", c)
	if c.VXLAN != nil {
		s += fmt.Sprintf(" VXLAN=%+v", *c.VXLAN)
	}
	return s
}

func FuzzParseNetworkConfig(f *testing.F) {
	for _, tc := range goodCases() {
		addSeed(f, tc.req)
	}
	for _, tc := range badCases() {
		addSeed(f, tc.req)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string, internal, global bool) {
		req := ParseRequest{Options: map[string]string{k1: v1, k2: v2, k3: v3}, Internal: internal, GlobalScope: global}
		cfg, err := ParseNetworkConfig(req)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("empty error message for %v", req.Options)
			}
			return
		}
		// Whatever parses is self-consistent.
		checkConfigInvariants(t, req, cfg)
	})
}

// checkConfigInvariants checks what holds for every configuration that parses.
func checkConfigInvariants(t *testing.T, req ParseRequest, cfg NetworkConfig) {
	t.Helper()
	// One segment: VXLAN, a parent, or (neither) an internal one. --internal
	// may mark a VXLAN or parent segment too: no gateway on it.
	if cfg.VXLAN != nil && cfg.Parent != "" {
		t.Errorf("%v: both VXLAN and parent %q", req.Options, cfg.Parent)
	}
	if cfg.VXLAN == nil && cfg.Parent == "" && !cfg.Internal {
		t.Errorf("%v: no segment, yet not internal", req.Options)
	}
	if req.Internal && !cfg.Internal {
		t.Errorf("%v: --internal network parsed as not internal", req.Options)
	}
	if cfg.Internal && cfg.HostGateway {
		t.Errorf("%v: internal network with a host gateway", req.Options)
	}
	if cfg.routedIpvlan() && cfg.HostGateway {
		t.Errorf("%v: ipvlan %s network with a host gateway", req.Options, cfg.IpvlanMode)
	}
	if cfg.Mode == ModeMacvlan && cfg.MacvlanMode != "bridge" && cfg.HostGateway {
		t.Errorf("%v: macvlan %s network with a host gateway", req.Options, cfg.MacvlanMode)
	}
	if cfg.MTU != 0 && (cfg.MTU < 68 || cfg.MTU > 65535) {
		t.Errorf("%v: MTU %d out of range", req.Options, cfg.MTU)
	}
	if cfg.Bridge.MTU != 0 && cfg.MTU != cfg.Bridge.MTU {
		t.Errorf("%v: MTU %d but Bridge.MTU %d", req.Options, cfg.MTU, cfg.Bridge.MTU)
	}
	switch cfg.Mode {
	case ModeBridge:
		if cfg.Parent != "" {
			t.Errorf("%v: mode bridge on parent %q", req.Options, cfg.Parent)
		}
		if cfg.MacvlanMode != "" || cfg.IpvlanMode != "" || cfg.IpvlanFlag != "" {
			t.Errorf("%v: mode bridge with macvlan/ipvlan sub-options %+v", req.Options, cfg)
		}
	case ModeMacvlan:
		if !slices.Contains([]string{"bridge", "private", "vepa", "passthru"}, cfg.MacvlanMode) {
			t.Errorf("%v: macvlan_mode %q", req.Options, cfg.MacvlanMode)
		}
		if cfg.IpvlanMode != "" || cfg.IpvlanFlag != "" || !reflect.DeepEqual(cfg.Bridge, BridgeConfig{}) {
			t.Errorf("%v: mode macvlan with another mode's options %+v", req.Options, cfg)
		}
	case ModeIpvlan:
		if !slices.Contains([]string{"l2", "l3", "l3s"}, cfg.IpvlanMode) {
			t.Errorf("%v: ipvlan_mode %q", req.Options, cfg.IpvlanMode)
		}
		if !slices.Contains([]string{"bridge", "private", "vepa"}, cfg.IpvlanFlag) {
			t.Errorf("%v: ipvlan_flag %q", req.Options, cfg.IpvlanFlag)
		}
		if cfg.MacvlanMode != "" || !reflect.DeepEqual(cfg.Bridge, BridgeConfig{}) {
			t.Errorf("%v: mode ipvlan with another mode's options %+v", req.Options, cfg)
		}
	default:
		t.Errorf("%v: mode %q", req.Options, cfg.Mode)
	}
	if p := cfg.Parent; p != "" {
		if len(p) > maxIfNameLen || strings.ContainsAny(p, "/: ") {
			t.Errorf("%v: bad parent name %q", req.Options, p)
		}
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			if _, err := strconv.Atoi(p[i+1:]); err == nil {
				if base, vid, ok := cfg.vlanID(); !ok || base == "" || vid < 1 || vid > 4094 {
					t.Errorf("%v: parent %q has a numeric suffix but vlanID() = %q, %d, %v", req.Options, p, base, vid, ok)
				}
			}
		}
	}
	if v := cfg.VXLAN; v != nil {
		if v.VNI < 1 || v.VNI > 1<<24-1 {
			t.Errorf("%v: VNI %d out of range", req.Options, v.VNI)
		}
		if v.Port < 1 || v.Port > 65535 {
			t.Errorf("%v: Port %d out of range", req.Options, v.Port)
		}
		if v.PortLow > v.PortHigh {
			t.Errorf("%v: PortLow %d > PortHigh %d", req.Options, v.PortLow, v.PortHigh)
		}
		if len(v.Name) > maxIfNameLen || len(v.VtepDev) > maxIfNameLen {
			t.Errorf("%v: interface name too long", req.Options)
		}
		if v.EVPN && (v.Learning || v.Peers != nil || v.Group != nil || cfg.Mode != ModeBridge || (v.SrcAddr == nil && v.VtepDev == "") || (v.SrcAddr != nil && v.SrcAddr.To4() == nil)) {
			t.Errorf("%v: EVPN segment FRR cannot own: %+v", req.Options, v)
		}
	}
}

// TestParseGoodCasesInvariants checks the fuzz invariants on every good case.
func TestParseGoodCasesInvariants(t *testing.T) {
	for _, tc := range goodCases() {
		cfg, err := ParseNetworkConfig(tc.req)
		if err != nil {
			continue // reported by TestParseNetworkConfigGood
		}
		checkConfigInvariants(t, tc.req, cfg)
	}
}

func TestRoutedIpvlan(t *testing.T) {
	for _, tc := range []struct {
		cfg  NetworkConfig
		want bool
	}{
		{NetworkConfig{Mode: ModeBridge}, false},
		{NetworkConfig{Mode: ModeMacvlan, MacvlanMode: "bridge"}, false},
		{NetworkConfig{Mode: ModeMacvlan, MacvlanMode: "private"}, false},
		{NetworkConfig{Mode: ModeIpvlan, IpvlanMode: "l2", IpvlanFlag: "bridge"}, false},
		{NetworkConfig{Mode: ModeIpvlan, IpvlanMode: "l3", IpvlanFlag: "bridge"}, true},
		{NetworkConfig{Mode: ModeIpvlan, IpvlanMode: "l3s", IpvlanFlag: "vepa"}, true},
	} {
		if got := tc.cfg.routedIpvlan(); got != tc.want {
			t.Errorf("%+v.routedIpvlan() = %v, want %v", tc.cfg, got, tc.want)
		}
	}
	for _, tc := range []struct {
		opts map[string]string
		want bool
	}{
		{onParent("ipvlan"), false},
		{onParent("ipvlan", "ipvlan_mode", "l3"), true},
		{vni42("mode", "ipvlan", "ipvlan_mode", "L3S"), true},
		{onParent("macvlan"), false},
		{vni42(), false},
	} {
		cfg, err := ParseNetworkConfig(ParseRequest{Options: tc.opts})
		if err != nil {
			t.Fatalf("%v: %v", tc.opts, err)
		}
		if got := cfg.routedIpvlan(); got != tc.want {
			t.Errorf("parse of %v: routedIpvlan() = %v, want %v", tc.opts, got, tc.want)
		}
	}
}

func TestVlanID(t *testing.T) {
	for _, tc := range []struct {
		parent string
		base   string
		vid    int
		ok     bool
	}{
		{"eth0.10", "eth0", 10, true},
		{"eth0.1", "eth0", 1, true},
		{"bond0.4094", "bond0", 4094, true},
		{"abcdefghij.4094", "abcdefghij", 4094, true},
		{"bond0.100.20", "bond0.100", 20, true}, // the VID follows the last '.'
		{"", "", 0, false},
		{"eth0", "", 0, false},
		{"br.lan", "", 0, false},
		{"eth0.0", "", 0, false},
		{"eth0.4095", "", 0, false},
		{"eth0.-1", "", 0, false},
		{"eth0.010", "", 0, false}, // one spelling per VLAN
		{"eth0.+5", "", 0, false},
		{".10", "", 0, false},
		{"eth0.", "", 0, false},
	} {
		cfg := NetworkConfig{Mode: ModeMacvlan, Parent: tc.parent}
		base, vid, ok := cfg.vlanID()
		if base != tc.base || vid != tc.vid || ok != tc.ok {
			t.Errorf("vlanID() of parent %q = %q, %d, %v; want %q, %d, %v", tc.parent, base, vid, ok, tc.base, tc.vid, tc.ok)
		}
	}
}

// addSeed adds req to the corpus as (up to) three key/value pairs.
func addSeed(f *testing.F, req ParseRequest) {
	var kvs []string
	for _, k := range sortedKeys(req.Options) {
		kvs = append(kvs, k, req.Options[k])
	}
	for len(kvs) < 6 {
		kvs = append(kvs, "com.docker.network.seed", "") // ignored filler
	}
	f.Add(kvs[0], kvs[1], kvs[2], kvs[3], kvs[4], kvs[5], req.Internal, req.GlobalScope)
}
