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
	"strings"
	"syscall"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/metrics"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/protocol"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

const pluginDir = "/run/docker/plugins"

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

type options struct {
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
	if err := fs.Parse(args); err != nil {
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
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-vxlan-plugin:", err)
		os.Exit(2)
	}
	log := newLogger(o)
	if err := run(o, log); err != nil {
		log.Error("exiting", "err", err)
		os.Exit(1)
	}
}

func run(o options, log *slog.Logger) error {
	st, err := store.Open(o.state)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := links.New(o.name)
	if err != nil {
		return err
	}
	defer k.Close()

	d := driver.New(driver.Config{GlobalScope: o.scope == "global", VtepDev: o.vtepDev}, k, st, log)
	m := metrics.New(d.Counts)
	rep, err := d.Reconcile()
	if err != nil {
		return fmt.Errorf("reconcile kernel with %s: %w", o.state, err)
	}
	log.Info("reconciled", "networks", rep.Networks, "ensured", rep.Ensured, "removed", rep.Removed, "failed", rep.Failed)
	m.AddReconcile("ensured", rep.Ensured)
	m.AddReconcile("removed", rep.Removed)
	m.AddReconcile("failed", rep.Failed)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.metrics != "" {
		stopMetrics, err := serveMetrics(o.metrics, m, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	return serve(ctx, o, d, m, log)
}

// serveMetrics starts the /metrics and /healthz listener; the returned
// function stops it.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}

func serve(ctx context.Context, o options, d *driver.Driver, m *metrics.Metrics, log *slog.Logger) error {
	lim := protocol.DefaultLimits()
	srv := &http.Server{
		Handler:           protocol.NewHandler(d, log, lim, m.ObserveRequest),
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
