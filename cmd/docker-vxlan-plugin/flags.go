package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
)

// defaultDockerExecRoot is dockerd's default --exec-root.
const defaultDockerExecRoot = "/var/run/docker"

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
	etcd      etcdOptions
	// unjoinedGrace: how long after the start an endpoint in no container
	// may wait for Docker's Join before it is forgotten.
	unjoinedGrace time.Duration
	// dockerExecRoot: dockerd's exec root as the plugin sees it.
	dockerExecRoot string
}

// etcdOptions configure cluster mode; no endpoints, no cluster mode.
type etcdOptions struct {
	endpoints []string
	prefix    string
	caFile    string
	certFile  string
	keyFile   string
	ttl       time.Duration
	nodeName  string
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
	fs.StringVar(&o.dockerExecRoot, "docker-exec-root", defaultDockerExecRoot, "dockerd's exec root as the plugin sees it (a plugin in a container mounts the host's /var/run/docker elsewhere): its netns/ holds the containers' namespaces")
	fs.DurationVar(&o.unjoinedGrace, "unjoined-grace", time.Minute, "after a start, forget endpoints recorded before it that are in no container and not joined within this time (requests cut by a crash)")
	fs.BoolVar(&o.pluginEnv, "plugin-env", false, "take scope, vtepdev, debug and etcd_endpoints from the environment (managed plugin settings)")
	var endpoints string
	o.etcd.register(fs, &endpoints)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.pluginEnv {
		if err := o.fromEnv(os.Getenv, &endpoints); err != nil {
			return o, err
		}
	}
	if err := o.etcd.parse(endpoints, o.name); err != nil {
		return o, err
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
	if !validDriverName(o.name) {
		return o, fmt.Errorf("--name %q: want 1 to %d letters, digits, '.', '_' or '-' (it names the socket, the ownership marks and the firewall chain)", o.name, maxDriverName)
	}
	if o.vtepDev != "" && !driver.ValidIfName(o.vtepDev) {
		return o, fmt.Errorf("--vtepdev %q: want an interface name of at most 15 characters, without spaces, '/', ':' or '%%'", o.vtepDev)
	}
	if !filepath.IsAbs(o.dockerExecRoot) {
		return o, fmt.Errorf("--docker-exec-root %q: want an absolute path", o.dockerExecRoot)
	}
	if o.unjoinedGrace <= 0 {
		return o, fmt.Errorf("--unjoined-grace %v: want a positive duration", o.unjoinedGrace)
	}
	if o.socket == "" {
		o.socket = filepath.Join(pluginDir, o.name+".sock")
	}
	return o, nil
}

// fromEnv applies the managed plugin's settings (`docker plugin set REF
// scope=global`), which Docker passes as environment variables.
func (o *options) fromEnv(getenv func(string) string, etcdEndpoints *string) error {
	if v := getenv("etcd_endpoints"); v != "" {
		*etcdEndpoints = v
	}
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

// register adds the cluster flags to fs; the endpoints land in endpoints,
// for parse.
func (e *etcdOptions) register(fs *flag.FlagSet, endpoints *string) {
	fs.StringVar(endpoints, "etcd-endpoints", "", "URL[,URL...] of etcd: cluster mode (shared IPAM, membership, endpoint distribution)")
	fs.StringVar(&e.prefix, "etcd-prefix", "", "etcd key prefix (default /docker-vxlan-plugin/<name>)")
	fs.StringVar(&e.caFile, "etcd-cafile", "", "CA bundle to verify etcd's certificate")
	fs.StringVar(&e.certFile, "etcd-certfile", "", "client certificate for etcd")
	fs.StringVar(&e.keyFile, "etcd-keyfile", "", "client key for etcd")
	fs.DurationVar(&e.ttl, "etcd-ttl", 10*time.Second, "lease TTL: how soon the other hosts forget a host that died")
	fs.StringVar(&e.nodeName, "node-name", "", "this host's name in the cluster (default: the hostname and a random suffix, kept in the state file)")
}

// parse checks the cluster flags; endpoints is the comma-separated list.
func (e *etcdOptions) parse(endpoints, name string) error {
	for _, ep := range strings.Split(endpoints, ",") {
		if ep = strings.TrimSpace(ep); ep == "" {
			continue
		}
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--etcd-endpoints: %q is not an http:// or https:// URL", ep)
		}
		e.endpoints = append(e.endpoints, ep)
	}
	if e.prefix == "" {
		e.prefix = "/docker-vxlan-plugin/" + name
	}
	if !strings.HasPrefix(e.prefix, "/") {
		return fmt.Errorf("--etcd-prefix %q: want an absolute key prefix (starting with /)", e.prefix)
	}
	if (e.certFile == "") != (e.keyFile == "") {
		return errors.New("--etcd-certfile and --etcd-keyfile go together")
	}
	if e.ttl < 2*time.Second || e.ttl > 5*time.Minute {
		return fmt.Errorf("--etcd-ttl %s: want 2s to 5m", e.ttl)
	}
	if len(e.nodeName) > 63 || strings.ContainsAny(e.nodeName, "/ \t") {
		return fmt.Errorf("--node-name %q: want at most 63 characters, no '/' or spaces", e.nodeName)
	}
	return nil
}

// maxDriverName keeps an ownership mark (with a 64-character ID) within the
// kernel's 128-byte interface alias.
const maxDriverName = 32

func validDriverName(name string) bool {
	if name == "" || len(name) > maxDriverName || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
