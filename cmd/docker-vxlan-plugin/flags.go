package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type options struct {
	version   bool
	pluginEnv bool
	debug     bool
	scope     string
	vtepDev   string
	name      string
	socket    string
	state     string
	metrics   string
	logFormat string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("docker-vxlan-plugin", flag.ContinueOnError)
	// Go's flag package accepts -flag and --flag alike, so the original
	// plugin's single-dash spellings keep working.
	fs.BoolVar(&o.debug, "debug", false, "debug logging")
	fs.BoolVar(&o.debug, "d", false, "debug logging (short for --debug)")
	fs.StringVar(&o.scope, "scope", "local", "capability scope reported to Docker: local or global")
	fs.StringVar(&o.vtepDev, "vtepdev", "", "underlay device for every VXLAN network; overrides the VtepDev option")
	fs.StringVar(&o.name, "name", "vxlan", "driver name; the socket is "+pluginDir+"/<name>.sock")
	fs.StringVar(&o.socket, "socket", "", "explicit socket path (default derived from --name)")
	fs.StringVar(&o.state, "state", "/var/lib/docker-vxlan-plugin/state.db", "embedded state store")
	fs.StringVar(&o.metrics, "metrics", "", "ADDR:PORT serving Prometheus /metrics and /healthz (off when empty)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.pluginEnv, "plugin-env", false, "take scope, vtepdev and debug from the environment (managed plugin settings)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.pluginEnv {
		if err := o.fromEnv(os.Getenv); err != nil {
			return o, err
		}
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.scope != "local" && o.scope != "global" {
		return o, fmt.Errorf("--scope %q: want local or global", o.scope)
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.name == "" || filepath.Base(o.name) != o.name {
		return o, fmt.Errorf("--name %q: want a plain name", o.name)
	}
	if len(o.vtepDev) > 15 || strings.ContainsAny(o.vtepDev, "/: \t") {
		return o, fmt.Errorf("--vtepdev %q: want an interface name of at most 15 characters", o.vtepDev)
	}
	if o.socket == "" {
		o.socket = filepath.Join(pluginDir, o.name+".sock")
	}
	return o, nil
}

// fromEnv applies the managed plugin's settings (`docker plugin set REF
// scope=global`), which Docker passes as environment variables.
func (o *options) fromEnv(getenv func(string) string) error {
	if v := getenv("scope"); v != "" {
		o.scope = v
	}
	if v := getenv("vtepdev"); v != "" {
		o.vtepDev = v
	}
	if v := getenv("debug"); v != "" {
		d, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("plugin setting debug=%q: want true or false", v)
		}
		o.debug = d
	}
	return nil
}
