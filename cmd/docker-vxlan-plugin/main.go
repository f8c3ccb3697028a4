// Command docker-vxlan-plugin is a Docker network driver plugin that puts
// containers on existing VXLAN segments. This file holds flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/metrics"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/protocol"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
	"golang.org/x/net/netutil"
)

const pluginDir = "/run/docker/plugins"

// version is stamped at build time (-ldflags -X main.version=...).
var version = "dev"

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

func newLogger(o options) *slog.Logger {
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, ho))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, ho))
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "inspect" {
		os.Exit(runInspect(os.Args[2:], os.Stdout))
	}
	if len(os.Args) > 1 && os.Args[1] == "cluster" {
		os.Exit(runCluster(os.Args[2:], os.Stdout, os.Stderr))
	}
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-vxlan-plugin:", err)
		os.Exit(2)
	}
	if o.version {
		fmt.Println("docker-vxlan-plugin", version)
		return
	}
	log := newLogger(o)
	if err := run(o, log); err != nil {
		log.Error("exiting", "err", err)
		os.Exit(1)
	}
}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets
// one: near it the collector runs sooner and hands freed pages back, so a
// burst of requests does not leave the daemon holding their garbage
// (without it RSS stood at 48 MiB after 10,000 endpoints, against 38 MiB
// right after a restart over the same state). It never fails an
// allocation: past it the collector only works harder.
const memoryLimit = 30 << 20

func run(o options, log *slog.Logger) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	st, recovered, err := openState(o.state, log)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := links.New(o.name)
	if err != nil {
		return err
	}
	defer k.Close()

	addr, err := newAddressing(o, st, log)
	if err != nil {
		return err
	}
	alloc, err := ipam.New(addr.claims, st, log)
	if err != nil {
		return err
	}
	defer alloc.Close()
	dcfg := driver.Config{GlobalScope: o.scope == "global", VtepDev: o.vtepDev, KeepOrphans: recovered != nil, UnderlayHints: addr.hints}
	if o.dockerExecRoot != defaultDockerExecRoot {
		dcfg.DockerExecRoot = o.dockerExecRoot
	}
	k.SetSandboxDirs([]string{filepath.Join(o.dockerExecRoot, "netns")})
	if addr.cluster != nil {
		dcfg.Cluster = controlPlane{addr.cluster}
	}
	d := driver.New(dcfg, k, st, log)
	m := metrics.New(d.Counts)
	t0 := time.Now()
	rep, err := d.Reconcile()
	if err != nil {
		return fmt.Errorf("reconcile kernel with %s: %w", o.state, err)
	}
	log.Info("reconciled", "networks", rep.Networks, "ensured", rep.Ensured, "removed", rep.Removed, "kept", rep.Kept, "failed", rep.Failed, "endpoints_forgotten", rep.Forgotten, "took", time.Since(t0).Round(time.Millisecond))
	if recovered != nil && rep.Kept == 0 {
		log.Info("no link is left from the damaged state file; back to normal reconciling", "damaged", recovered.MovedTo)
		if err := st.ClearRecovery(); err != nil {
			return err
		}
	}
	m.AddReconcile("ensured", rep.Ensured)
	m.AddReconcile("removed", rep.Removed)
	m.AddReconcile("failed", rep.Failed)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.metrics != "" {
		stopMetrics, err := serveMetrics(o.metrics, m.Handler(), defaultMetricsLimits, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	go keepFirewall(ctx, d, log)
	go dropUnjoined(ctx, d, o.unjoinedGrace, log)
	if addr.cluster != nil {
		log.Info("cluster mode", "node", addr.cluster.Node(), "etcd", o.etcd.endpoints, "prefix", o.etcd.prefix)
		stopCluster := startCluster(ctx, addr.cluster, d)
		defer stopCluster()
	}
	return serve(ctx, o, d, inspector{d: d, alloc: alloc, cluster: addr.cluster, st: st}, m, log)
}

// openState opens the state file. A damaged one (truncated, unreadable)
// is moved aside and replaced by an empty one, and the plugin keeps every
// link marked as its own until none is left: a crash loop under systemd
// would help nobody, and deleting links no record accounts for would cut
// off running containers.
func openState(path string, log *slog.Logger) (*store.Store, *store.Recovery, error) {
	st, r, err := store.OpenOrRecover(path)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		r, err = st.LastRecovery()
	}
	if r != nil {
		log.Error("the state file was damaged and replaced by an empty one; links marked as ours are kept, not deleted: remove the containers and networks Docker still lists on this driver and create them again, or delete the links by hand (see `docker-vxlan-plugin inspect`)",
			"damaged", r.MovedTo, "reason", r.Reason, "at", r.At)
	}
	return st, r, err
}

// firewallCheck is how often the firewall exception is checked: a firewall
// reload that dropped it cuts the bridges off until then.
const firewallCheck = 10 * time.Second

// dropUnjoined forgets, grace after the start, the endpoints Docker gave up
// on while the plugin was down (driver.DropUnjoined).
func dropUnjoined(ctx context.Context, d *driver.Driver, grace time.Duration, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(grace):
	}
	n, err := d.DropUnjoined(ctx)
	if err != nil && ctx.Err() == nil {
		log.Error("forget endpoints never joined", "err", err)
	}
	if n > 0 {
		log.Info("forgot endpoints never joined since the start", "endpoints", n)
	}
}

// keepFirewall restores the firewall exception for the bridges whenever
// something removed it, until ctx ends.
func keepFirewall(ctx context.Context, d *driver.Driver, log *slog.Logger) {
	t := time.NewTicker(firewallCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.SyncFirewall(ctx); err != nil && ctx.Err() == nil {
				log.Warn("firewall exception check", "err", err)
			}
		}
	}
}

// metricsLimits keep the metrics listener from being held open: a scraper
// needs one connection and answers within seconds.
type metricsLimits struct {
	maxConns int
	timeout  time.Duration // to read a request's header, write a response, or idle
}

var defaultMetricsLimits = metricsLimits{maxConns: 16, timeout: 10 * time.Second}

// serveMetrics starts the /metrics and /healthz listener; the returned
// function stops it.
func serveMetrics(addr string, h http.Handler, lim metricsLimits, log *slog.Logger) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.timeout,
		ReadTimeout:       lim.timeout,
		WriteTimeout:      lim.timeout,
		IdleTimeout:       lim.timeout,
	}
	go func() {
		if err := srv.Serve(netutil.LimitListener(l, lim.maxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}

func serve(ctx context.Context, o options, d *driver.Driver, in inspector, m *metrics.Metrics, log *slog.Logger) error {
	lim := protocol.DefaultLimits()
	srv := &http.Server{
		Handler:           daemonHandler(in, protocol.NewHandler(d, in.alloc, log, lim, m.ObserveRequest)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       lim.Timeout,
		WriteTimeout:      lim.Timeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	l, err := protocol.ListenUnix(o.socket)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Info("serving", "socket", o.socket, "scope", o.scope, "state", o.state)

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", o.socket, err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Shutdown(sctx) // closes the listener, which removes the socket
}

// daemonHandler serves the protocol and, beside it, the inspect report.
func daemonHandler(in inspector, proto http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+inspectPath, in.handler())
	mux.Handle("/", proto)
	return mux
}
