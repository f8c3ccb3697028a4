package driver

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzNetworkOptions feeds ParseNetworkConfig whole option maps, as
// `docker network create -o K=V ...` lines ("K=V" a line, any number of
// them), with Docker's flags. Beyond what checkConfigInvariants asks of a
// configuration that parses, the parser must be deterministic, ignore
// Docker's own com.docker.* labels, match keys whatever their case, name a
// known option in an OptionError, give only names the kernel takes
// literally, and produce a configuration the store keeps as it is (JSON).
func FuzzNetworkOptions(f *testing.F) {
	for _, tc := range goodCases() {
		f.Add(optionLines(tc.req.Options), tc.req.Internal, tc.req.EnableIPv6, tc.req.GlobalScope, tc.req.VtepDevFlag)
	}
	for _, tc := range badCases() {
		f.Add(optionLines(tc.req.Options), tc.req.Internal, tc.req.EnableIPv6, tc.req.GlobalScope, tc.req.VtepDevFlag)
	}
	f.Fuzz(func(t *testing.T, lines string, internal, ipv6, global bool, vtepDev string) {
		req := ParseRequest{Options: parseOptionLines(lines), Internal: internal, EnableIPv6: ipv6, GlobalScope: global, VtepDevFlag: vtepDev}
		cfg, err := ParseNetworkConfig(req)
		again, errAgain := ParseNetworkConfig(req)
		if !reflect.DeepEqual(cfg, again) || errString(err) != errString(errAgain) {
			t.Fatalf("%q: two parses differ: %s (%v) and %s (%v)", lines, dump(cfg), err, dump(again), errAgain)
		}
		checkIgnoresDockerLabels(t, req, cfg, err)
		checkCaseInsensitive(t, req, cfg, err)
		if err != nil {
			checkParseError(t, req, err)
			return
		}
		if vtepDev != "" && !parseIfNameOK(vtepDev) {
			return // the daemon's --vtepdev, checked (less strictly) at start-up
		}
		checkConfigInvariants(t, req, cfg)
		checkLiteralNames(t, req, cfg)
		checkStoresAsIs(t, cfg)
	})
}

// optionLines writes an options map as the fuzz input's "K=V" lines.
func optionLines(opts map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(opts) {
		b.WriteString(k + "=" + opts[k] + "\n")
	}
	return b.String()
}

// parseOptionLines reads "K=V" lines; a line without '=' is a key with an
// empty value, as `-o K=` gives.
func parseOptionLines(s string) map[string]string {
	opts := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		opts[k] = v
	}
	return opts
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func parseIfNameOK(s string) bool { _, ok := parseIfName(s); return ok }

// checkIgnoresDockerLabels: a com.docker.* label Docker adds changes nothing.
func checkIgnoresDockerLabels(t *testing.T, req ParseRequest, cfg NetworkConfig, err error) {
	t.Helper()
	const label = "com.docker.network.fuzz-label"
	if _, set := req.Options[label]; set {
		return
	}
	with := req
	with.Options = map[string]string{label: "x"}
	for k, v := range req.Options {
		with.Options[k] = v
	}
	cfg2, err2 := ParseNetworkConfig(with)
	if !reflect.DeepEqual(cfg, cfg2) || errString(err) != errString(err2) {
		t.Fatalf("%v: adding %s changed the result: %s (%v) became %s (%v)", req.Options, label, dump(cfg), err, dump(cfg2), err2)
	}
}

// checkCaseInsensitive: the same keys in lower case parse the same (when
// no two keys differ only in case, which is an error of its own).
func checkCaseInsensitive(t *testing.T, req ParseRequest, cfg NetworkConfig, err error) {
	t.Helper()
	lower := req
	lower.Options = map[string]string{}
	for k, v := range req.Options {
		if _, dup := lower.Options[strings.ToLower(k)]; dup {
			return
		}
		lower.Options[strings.ToLower(k)] = v
	}
	cfg2, err2 := ParseNetworkConfig(lower)
	if (err == nil) != (err2 == nil) || (err == nil && !reflect.DeepEqual(cfg, cfg2)) {
		t.Fatalf("%v: keys in lower case parse differently: %s (%v) and %s (%v)", req.Options, dump(cfg), err, dump(cfg2), err2)
	}
}

// checkParseError: an OptionError names a known option, spelled as
// documented, and says what it accepts; every error says something.
func checkParseError(t *testing.T, req ParseRequest, err error) {
	t.Helper()
	if err.Error() == "" {
		t.Fatalf("%v: empty error", req.Options)
	}
	var oe *OptionError
	if !errors.As(err, &oe) {
		return
	}
	if oe.Key != optDockerMTU && !slices.Contains(OptionNames(), oe.Key) {
		t.Fatalf("%v: OptionError names %q, not an option", req.Options, oe.Key)
	}
	if oe.Accepts == "" || !strings.Contains(err.Error(), oe.Key) {
		t.Fatalf("%v: error %q does not name %s and what it accepts", req.Options, err, oe.Key)
	}
}

// checkLiteralNames: every interface name in the configuration is one the
// kernel takes as it is ('%' would make it a template).
func checkLiteralNames(t *testing.T, req ParseRequest, cfg NetworkConfig) {
	t.Helper()
	names := []string{cfg.Bridge.Name, cfg.Parent}
	if cfg.VXLAN != nil {
		names = append(names, cfg.VXLAN.Name, cfg.VXLAN.VtepDev)
	}
	for _, n := range names {
		if n != "" && !parseIfNameOK(n) {
			t.Errorf("%v: interface name %q is not one the kernel takes literally", req.Options, n)
		}
	}
}

// checkStoresAsIs: the configuration survives the store's JSON encoding.
func checkStoresAsIs(t *testing.T, cfg NetworkConfig) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("%s: %v", dump(cfg), err)
	}
	var back NetworkConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: stored as %s, read back: %v", dump(cfg), b, err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) || !sameConfig(cfg, back) {
		t.Fatalf("stored and read back, the configuration changed:\n%s\n%s", dump(cfg), dump(back))
	}
}

// sameConfig compares configurations, taking an IPv4 address in 4 or 16
// bytes as the same (JSON keeps the address, not its length).
func sameConfig(a, b NetworkConfig) bool {
	if (a.VXLAN == nil) != (b.VXLAN == nil) {
		return false
	}
	if a.VXLAN != nil {
		va, vb := *a.VXLAN, *b.VXLAN
		if !va.SrcAddr.Equal(vb.SrcAddr) || !va.Group.Equal(vb.Group) || len(va.Peers) != len(vb.Peers) {
			return false
		}
		for i := range va.Peers {
			if !va.Peers[i].Equal(vb.Peers[i]) {
				return false
			}
		}
		va.SrcAddr, vb.SrcAddr, va.Group, vb.Group, va.Peers, vb.Peers = nil, nil, nil, nil, nil, nil
		if !reflect.DeepEqual(va, vb) {
			return false
		}
	}
	a.VXLAN, b.VXLAN = nil, nil
	return reflect.DeepEqual(a, b)
}
