package driver

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
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

// allOptions lists every key the driver accepts.
func allOptions() []option { return append(vxlanOptions(), attachmentOptions()...) }

// lookupOption finds an option by key, case-insensitively.
func lookupOption(key string) (option, bool) {
	for _, o := range allOptions() {
		if strings.EqualFold(o.name, key) {
			return o, true
		}
	}
	return option{}, false
}

// OptionNames returns the canonical option names, sorted.
func OptionNames() []string {
	var names []string
	for _, o := range allOptions() {
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
	p.vxlan = VXLANConfig{VxlanParams: links.VxlanParams{Port: DefaultVXLANPort, Learning: true, TOS: tosInherit}}

	for _, k := range sortedKeys(r.Options) { // deterministic first error
		if err := p.apply(k, r.Options[k]); err != nil {
			return NetworkConfig{}, err
		}
	}
	if r.VtepDevFlag != "" {
		p.vxlan.VtepDev = r.VtepDevFlag
	}
	p.cfg.Internal = r.Internal
	p.cfg.EnableIPv6 = r.EnableIPv6
	cfg, err := p.finish()
	if err != nil {
		return NetworkConfig{}, err
	}
	return cfg, nil
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
	o, known := lookupOption(key)
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

// finish checks the combinations of options and fills in the defaults
// that depend on them.
func (p *parse) finish() (NetworkConfig, error) {
	cfg := p.cfg
	if err := p.checkSegment(&cfg); err != nil {
		return cfg, err
	}
	if err := p.checkAttachment(&cfg); err != nil {
		return cfg, err
	}
	if err := p.checkEVPN(&cfg); err != nil {
		return cfg, err
	}
	if err := p.checkGateway(&cfg); err != nil {
		return cfg, err
	}
	cfg.MTU = p.dockerMTU
	if cfg.Bridge.MTU != 0 {
		if cfg.MTU != 0 && cfg.MTU != cfg.Bridge.MTU {
			return cfg, fmt.Errorf("bridgeMTU=%d and %s=%d disagree; give one", cfg.Bridge.MTU, optDockerMTU, cfg.MTU)
		}
		cfg.MTU = cfg.Bridge.MTU
	}
	return cfg, nil
}

// checkSegment settles which segment the network plugs into.
func (p *parse) checkSegment(cfg *NetworkConfig) error {
	switch {
	case p.hasVNI && cfg.Parent != "":
		return fmt.Errorf("VxlanId and parent name two different segments; give one")
	case p.hasVNI:
		if err := p.checkVXLAN(); err != nil {
			return err
		}
		v := p.vxlan
		cfg.VXLAN = &v
		return nil
	}
	if names := vxlanOnlyOptions(p.seen); len(names) > 0 {
		return fmt.Errorf("option %s needs VxlanId: without it the network is not a VXLAN segment", names[0])
	}
	if cfg.Parent == "" {
		cfg.Internal = true
	}
	return nil
}

// checkAttachment validates the mode and its sub-options.
func (p *parse) checkAttachment(cfg *NetworkConfig) error {
	only := map[string]Mode{
		"macvlan_mode": ModeMacvlan, "ipvlan_mode": ModeIpvlan, "ipvlan_flag": ModeIpvlan,
		"bridgeName": ModeBridge, "bridgeMTU": ModeBridge, "bridgeHardwareAddr": ModeBridge, "bridgeTxQLen": ModeBridge,
	}
	for _, name := range sortedKeys(only) {
		if _, set := p.seen[name]; set && only[name] != cfg.Mode {
			return fmt.Errorf("option %s needs mode=%s (this network has mode=%s)", name, only[name], cfg.Mode)
		}
	}
	switch cfg.Mode {
	case ModeBridge:
		if cfg.Parent != "" {
			return fmt.Errorf("mode=bridge with parent=%s is refused: it would enslave the host's interface to a bridge; use mode=macvlan or mode=ipvlan", cfg.Parent)
		}
	case ModeMacvlan:
		cfg.MacvlanMode = orDefault(cfg.MacvlanMode, "bridge")
	case ModeIpvlan:
		cfg.IpvlanMode = orDefault(cfg.IpvlanMode, "l2")
		cfg.IpvlanFlag = orDefault(cfg.IpvlanFlag, "bridge")
	}
	return nil
}

// checkGateway settles hostGateway. By default the host is the gateway of
// the VXLAN segments it plumbs (local scope); on a parent segment the
// gateway is the VLAN's existing router, as with Docker's macvlan and ipvlan
// drivers; internal segments have none.
func (p *parse) checkGateway(cfg *NetworkConfig) error {
	_, explicit := p.seen["hostGateway"]
	why := hostGatewayImpossible(cfg)
	switch {
	case !explicit:
		cfg.HostGateway = cfg.HostGateway && cfg.VXLAN != nil && why == ""
	case cfg.HostGateway && why != "":
		return fmt.Errorf("option hostGateway=true is impossible here: %s", why)
	}
	if cfg.HostRouting && !cfg.HostGateway {
		return fmt.Errorf("option hostRouting=true needs the host as the network's gateway (hostGateway=true, the default on VXLAN segments, not on internal ones): without it the host routes nothing for the network")
	}
	return nil
}

// hostGatewayImpossible says why the host cannot be the network's gateway,
// or "" if it can.
func hostGatewayImpossible(cfg *NetworkConfig) string {
	switch {
	case cfg.Internal:
		return "an internal network has no gateway: the host would route for it"
	case cfg.Mode == ModeMacvlan && cfg.MacvlanMode != "bridge":
		return "the host's gateway macvlan reaches containers only in macvlan_mode=bridge"
	case cfg.routedIpvlan():
		return "ipvlan_mode=" + cfg.IpvlanMode + " containers route through their own interface and take no gateway"
	case cfg.Mode == ModeIpvlan && cfg.IpvlanFlag != "bridge":
		return "the host's gateway ipvlan reaches containers only with ipvlan_flag=bridge (" + cfg.IpvlanFlag + " keeps siblings apart)"
	}
	return ""
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func (p *parse) checkVXLAN() error {
	v := &p.vxlan
	if (v.PortLow == 0) != (v.PortHigh == 0) {
		return fmt.Errorf("options PortLow and PortHigh go together: give both or neither")
	}
	if v.Group != nil && v.Group.IsMulticast() && v.VtepDev == "" {
		return fmt.Errorf("multicast Group %s needs VtepDev (or the daemon's --vtepdev): the kernel joins the group on that device", v.Group)
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

// parseIfName accepts a name the kernel takes literally: '%' would make it
// a template (vx%d becomes vx0), a link the plugin could not find by name.
func parseIfName(s string) (string, bool) {
	if s == "" || len(s) > maxIfNameLen || s == "." || s == ".." {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == '/' || r == ':' || r == '%' || r > '~' {
			return "", false
		}
	}
	return s, true
}

// ValidIfName reports whether s is an interface name the kernel takes
// literally (see parseIfName).
func ValidIfName(s string) bool {
	_, ok := parseIfName(s)
	return ok
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

func parseEnum(s string, values ...string) (string, bool) {
	s = strings.ToLower(s)
	for _, v := range values {
		if s == v {
			return s, true
		}
	}
	return "", false
}

// parseParent accepts IFACE, or IFACE.VID for an 802.1Q sub-interface.
func parseParent(s string) (string, bool) {
	if _, ok := parseIfName(s); !ok {
		return "", false
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		if _, err := strconv.Atoi(s[i+1:]); err == nil {
			_, _, ok := splitVlanParent(s)
			return s, ok
		}
	}
	return s, true
}

// splitVlanParent splits IFACE.VID; ok is false unless VID is 1..4094 and
// IFACE is a valid name.
func splitVlanParent(s string) (base string, vid int, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", 0, false
	}
	vid, err := strconv.Atoi(s[i+1:])
	if err != nil || vid < 1 || vid > 4094 || strconv.Itoa(vid) != s[i+1:] {
		return "", 0, false // one spelling per VLAN: no "eth0.010" beside "eth0.10"
	}
	if _, ok := parseIfName(s[:i]); !ok {
		return "", 0, false
	}
	return s[:i], vid, true
}
