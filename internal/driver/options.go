package driver

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Option keys Docker itself sets or documents for every driver.
const (
	optDockerMTU    = "com.docker.network.driver.mtu"
	dockerKeyPrefix = "com.docker."
)

// OptionError names the option that was rejected and what it accepts.
type OptionError struct {
	Key     string
	Value   string
	Accepts string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("option %s=%q is invalid: %s", e.Key, e.Value, e.Accepts)
}

// option parses one `-o KEY=VALUE` into a parse in progress.
type option struct {
	name    string // canonical spelling, as documented
	accepts string // what a valid value looks like, for errors
	apply   func(p *parse, v string) bool
}

// parse is a configuration being assembled from options.
type parse struct {
	cfg       NetworkConfig
	vxlan     VXLANConfig
	hasVNI    bool
	seen      map[string]string // canonical name -> raw value
	dockerMTU int
}

// options lists every key the driver accepts, matched case-insensitively.
var options = func() map[string]option {
	list := append(vxlanOptions(), attachmentOptions()...)
	m := make(map[string]option, len(list))
	for _, o := range list {
		m[strings.ToLower(o.name)] = o
	}
	return m
}()

// OptionNames returns the canonical option names, sorted.
func OptionNames() []string {
	names := make([]string, 0, len(options))
	for _, o := range options {
		names = append(names, o.name)
	}
	sort.Strings(names)
	return names
}

// ParseRequest is what a network's configuration is parsed from.
type ParseRequest struct {
	Options     map[string]string // the -o options
	Internal    bool              // docker network create --internal
	EnableIPv6  bool
	GlobalScope bool   // hostGateway defaults to false in global scope
	VtepDevFlag string // the daemon's --vtepdev, which overrides VtepDev
}

// ParseNetworkConfig validates the options of a network and fills in the
// defaults. Values derived from the kernel (MTUs) are left zero.
func ParseNetworkConfig(r ParseRequest) (NetworkConfig, error) {
	p := &parse{seen: map[string]string{}}
	p.cfg.Mode = ModeBridge
	p.cfg.HostGateway = !r.GlobalScope
	p.vxlan = VXLANConfig{Port: DefaultVXLANPort, Learning: true, TOS: tosInherit}

	keys := make([]string, 0, len(r.Options))
	for k := range r.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic first error
	for _, k := range keys {
		if err := p.apply(k, r.Options[k]); err != nil {
			return NetworkConfig{}, err
		}
	}
	if r.VtepDevFlag != "" {
		p.vxlan.VtepDev = r.VtepDevFlag
	}
	p.cfg.Internal = r.Internal
	p.cfg.EnableIPv6 = r.EnableIPv6
	return p.finish()
}

func (p *parse) apply(key, value string) error {
	lk := strings.ToLower(key)
	if lk == optDockerMTU {
		if prev, dup := p.seen[optDockerMTU]; dup {
			return fmt.Errorf("option %s given twice (%q and %q)", optDockerMTU, prev, value)
		}
		p.seen[optDockerMTU] = value
		n, ok := parseMTU(value)
		if !ok {
			return &OptionError{Key: optDockerMTU, Value: value, Accepts: acceptsMTU}
		}
		p.dockerMTU = n
		return nil
	}
	o, known := options[lk]
	if !known {
		if strings.HasPrefix(lk, dockerKeyPrefix) {
			return nil // Docker's own labels, set by the daemon for every driver
		}
		return fmt.Errorf("unknown option %q; valid options are: %s", key, strings.Join(OptionNames(), ", "))
	}
	if prev, dup := p.seen[o.name]; dup {
		return fmt.Errorf("option %s given twice (%q and %q)", o.name, prev, value)
	}
	p.seen[o.name] = value
	if !o.apply(p, strings.TrimSpace(value)) {
		return &OptionError{Key: o.name, Value: value, Accepts: o.accepts}
	}
	return nil
}

// finish checks the combinations of options.
func (p *parse) finish() (NetworkConfig, error) {
	cfg := p.cfg
	if p.hasVNI {
		if cfg.Internal {
			return cfg, fmt.Errorf("--internal conflicts with VxlanId: an internal network has no uplink")
		}
		if err := p.checkVXLAN(); err != nil {
			return cfg, err
		}
		v := p.vxlan
		cfg.VXLAN = &v
	} else {
		if names := vxlanOnlyOptions(p.seen); len(names) > 0 {
			return cfg, fmt.Errorf("option %s needs VxlanId: without it the network is an internal segment", names[0])
		}
	}
	if cfg.Internal || cfg.VXLAN == nil {
		cfg.Internal = true
		if _, set := p.seen["hostGateway"]; set && cfg.HostGateway {
			return cfg, fmt.Errorf("option hostGateway=true conflicts with an internal network: the host would route for it")
		}
		cfg.HostGateway = false
	}
	if p.dockerMTU != 0 {
		if cfg.Bridge.MTU != 0 && cfg.Bridge.MTU != p.dockerMTU {
			return cfg, fmt.Errorf("bridgeMTU=%d and %s=%d disagree; give one", cfg.Bridge.MTU, optDockerMTU, p.dockerMTU)
		}
		cfg.Bridge.MTU = p.dockerMTU
	}
	return cfg, nil
}

func (p *parse) checkVXLAN() error {
	v := &p.vxlan
	if (v.PortLow == 0) != (v.PortHigh == 0) {
		return fmt.Errorf("options PortLow and PortHigh go together: give both or neither")
	}
	if v.PortLow > v.PortHigh {
		return fmt.Errorf("PortLow=%d is above PortHigh=%d", v.PortLow, v.PortHigh)
	}
	var family []string
	for _, ip := range append([]net.IP{v.SrcAddr, v.Group}, v.Peers...) {
		if ip != nil {
			family = append(family, ipFamily(ip))
		}
	}
	for _, f := range family {
		if f != family[0] {
			return fmt.Errorf("SrcAddr, Group and Peers must all be IPv4 or all IPv6")
		}
	}
	return nil
}

// vxlanOnlyOptions lists the options given that only make sense with a VNI.
func vxlanOnlyOptions(seen map[string]string) []string {
	var names []string
	for _, o := range vxlanOptions() {
		if _, ok := seen[o.name]; ok {
			names = append(names, o.name)
		}
	}
	sort.Strings(names)
	return names
}

func ipFamily(ip net.IP) string {
	if ip.To4() != nil {
		return "IPv4"
	}
	return "IPv6"
}

// --- value parsers; each reports ok=false on any bad value ---

// parseVNI accepts decimal or 0x-hex. A leading zero is decimal, not octal.
func parseVNI(s string) (int, bool) {
	base, digits := 10, s
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		base, digits = 16, h
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n < 1 || n > 1<<24-1 {
		return 0, false
	}
	return int(n), true
}

func parseRange(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func parseMTU(s string) (int, bool) { return parseRange(strings.TrimSpace(s), 68, 65535) }

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "t", "true", "yes", "y", "on":
		return true, true
	case "0", "f", "false", "no", "n", "off":
		return false, true
	}
	return false, false
}

func parseIfName(s string) (string, bool) {
	if s == "" || len(s) > maxIfNameLen || s == "." || s == ".." {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == '/' || r == ':' || r > '~' {
			return "", false
		}
	}
	return s, true
}

func parseMAC(s string) (net.HardwareAddr, bool) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 || mac[0]&1 == 1 || isZero(mac) {
		return nil, false
	}
	return mac, true
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func parseUnicastIP(s string) (net.IP, bool) {
	ip := net.ParseIP(s)
	if ip == nil || ip.IsUnspecified() || ip.IsMulticast() {
		return nil, false
	}
	return ip, true
}

func parsePeers(s string) ([]net.IP, bool) {
	var peers []net.IP
	for _, f := range strings.Split(s, ",") {
		ip, ok := parseUnicastIP(strings.TrimSpace(f))
		if !ok {
			return nil, false
		}
		peers = append(peers, ip)
	}
	return peers, len(peers) > 0
}
