package driver

import (
	"math"
	"net"
	"strings"
)

// Value descriptions used in error messages.
const (
	acceptsBool   = "true or false (also 1/0, yes/no, on/off)"
	acceptsName   = "an interface name of 1 to 15 characters, without spaces, '/', ':' or '%' (the kernel would take it as a template)"
	acceptsMTU    = "an MTU from 68 to 65535"
	acceptsMAC    = "a unicast MAC address such as 02:42:ac:11:00:02"
	acceptsTxQLen = "a queue length from 1 to 2147483647"
)

// vxlanOptions are the VXLAN segment's options, named as in the original plugin.
func vxlanOptions() []option {
	return []option{
		{"VxlanId", "a VNI from 1 to 16777215, decimal or 0x-hex", func(p *parse, s string) bool {
			n, ok := parseVNI(s)
			p.vxlan.VNI, p.hasVNI = n, ok
			return ok
		}},
		{"VtepDev", acceptsName, func(p *parse, s string) (ok bool) {
			p.vxlan.VtepDev, ok = parseIfName(s)
			return ok
		}},
		{"SrcAddr", "a unicast IPv4 or IPv6 address of this host", func(p *parse, s string) (ok bool) {
			p.vxlan.SrcAddr, ok = parseUnicastIP(s)
			return ok
		}},
		{"Group", "a multicast group or one unicast remote VTEP address", func(p *parse, s string) bool {
			ip := net.ParseIP(s)
			p.vxlan.Group = ip
			return ip != nil && !ip.IsUnspecified()
		}},
		{"Peers", "a comma-separated list of unicast VTEP addresses", func(p *parse, s string) (ok bool) {
			p.vxlan.Peers, ok = parsePeers(s)
			return ok
		}},
		intOption("Port", "a UDP port from 1 to 65535", 1, 65535, func(p *parse) *int { return &p.vxlan.Port }),
		intOption("PortLow", "a UDP port from 1 to 65535", 1, 65535, func(p *parse) *int { return &p.vxlan.PortLow }),
		intOption("PortHigh", "a UDP port from 1 to 65535", 1, 65535, func(p *parse) *int { return &p.vxlan.PortHigh }),
		intOption("TTL", "a TTL from 1 to 255", 1, 255, func(p *parse) *int { return &p.vxlan.TTL }),
		{"TOS", "a TOS from 0 to 255, or inherit", func(p *parse, s string) bool {
			if strings.EqualFold(s, "inherit") {
				p.vxlan.TOS = tosInherit
				return true
			}
			n, ok := parseRange(s, 0, 255)
			p.vxlan.TOS = n
			return ok
		}},
		boolOption("Learning", func(p *parse) *bool { return &p.vxlan.Learning }),
		boolOption(evpnOption, func(p *parse) *bool { return &p.vxlan.EVPN }),
		boolOption("Proxy", func(p *parse) *bool { return &p.vxlan.Proxy }),
		boolOption("RSC", func(p *parse) *bool { return &p.vxlan.RSC }),
		boolOption("L2miss", func(p *parse) *bool { return &p.vxlan.L2miss }),
		boolOption("L3miss", func(p *parse) *bool { return &p.vxlan.L3miss }),
		boolOption("NoAge", func(p *parse) *bool { return &p.vxlan.NoAge }),
		boolOption("GBP", func(p *parse) *bool { return &p.vxlan.GBP }),
		intOption("Age", "an FDB entry lifetime in seconds, 1 to 4294967295", 1, math.MaxUint32, func(p *parse) *int { return &p.vxlan.Age }),
		intOption("Limit", "a maximum FDB entry count, 1 to 4294967295", 1, math.MaxUint32, func(p *parse) *int { return &p.vxlan.Limit }),
		nameOption("vxlanName", func(p *parse) *string { return &p.vxlan.Name }),
		intOption("vxlanMTU", acceptsMTU, 68, 65535, func(p *parse) *int { return &p.vxlan.MTU }),
		macOption("vxlanHardwareAddr", func(p *parse) *net.HardwareAddr { return &p.vxlan.MAC }),
		intOption("vxlanTxQLen", acceptsTxQLen, 1, math.MaxInt32, func(p *parse) *int { return &p.vxlan.TxQLen }),
	}
}

// attachmentOptions are the bridge, attachment and gateway options.
func attachmentOptions() []option {
	return []option{
		nameOption("bridgeName", func(p *parse) *string { return &p.cfg.Bridge.Name }),
		intOption("bridgeMTU", acceptsMTU, 68, 65535, func(p *parse) *int { return &p.cfg.Bridge.MTU }),
		macOption("bridgeHardwareAddr", func(p *parse) *net.HardwareAddr { return &p.cfg.Bridge.MAC }),
		intOption("bridgeTxQLen", acceptsTxQLen, 1, math.MaxInt32, func(p *parse) *int { return &p.cfg.Bridge.TxQLen }),
		boolOption("hostGateway", func(p *parse) *bool { return &p.cfg.HostGateway }),
		boolOption("hostRouting", func(p *parse) *bool { return &p.cfg.HostRouting }),
		{"mode", "bridge, macvlan or ipvlan", func(p *parse, s string) bool {
			m, ok := parseEnum(s, string(ModeBridge), string(ModeMacvlan), string(ModeIpvlan))
			p.cfg.Mode = Mode(m)
			return ok
		}},
		enumOption("macvlan_mode", func(p *parse) *string { return &p.cfg.MacvlanMode }, "bridge", "private", "vepa", "passthru"),
		enumOption("ipvlan_mode", func(p *parse) *string { return &p.cfg.IpvlanMode }, "l2", "l3", "l3s"),
		enumOption("ipvlan_flag", func(p *parse) *string { return &p.cfg.IpvlanFlag }, "bridge", "private", "vepa"),
		{"parent", "an interface name, or IFACE.VID (VID 1 to 4094) for an 802.1Q sub-interface, at most 15 characters", func(p *parse, s string) (ok bool) {
			p.cfg.Parent, ok = parseParent(s)
			return ok
		}},
	}
}

func intOption(name, accepts string, lo, hi int, field func(*parse) *int) option {
	return option{name, accepts, func(p *parse, s string) (ok bool) {
		*field(p), ok = parseRange(s, lo, hi)
		return ok
	}}
}

func boolOption(name string, field func(*parse) *bool) option {
	return option{name, acceptsBool, func(p *parse, s string) (ok bool) {
		*field(p), ok = parseBool(s)
		return ok
	}}
}

func nameOption(name string, field func(*parse) *string) option {
	return option{name, acceptsName, func(p *parse, s string) (ok bool) {
		*field(p), ok = parseIfName(s)
		return ok
	}}
}

func macOption(name string, field func(*parse) *net.HardwareAddr) option {
	return option{name, acceptsMAC, func(p *parse, s string) (ok bool) {
		*field(p), ok = parseMAC(s)
		return ok
	}}
}

func enumOption(name string, field func(*parse) *string, values ...string) option {
	return option{name, "one of " + strings.Join(values, ", "), func(p *parse, s string) (ok bool) {
		*field(p), ok = parseEnum(s, values...)
		return ok
	}}
}
