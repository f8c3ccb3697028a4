package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/cluster"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/driver"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// inspectPath is where the daemon answers `docker-vxlan-plugin inspect`,
// beside the protocol on the plugin socket (Docker only POSTs there).
const inspectPath = "/inspect"

// report is the daemon's answer to inspect: the driver's links against its
// store, and beside them the state file's history, the addresses this host
// handed out and, in cluster mode, the cluster as this host and etcd see it.
type report struct {
	driver.Report
	StateRecovery *store.Recovery   `json:",omitempty"` // the damaged state file this one replaced
	IPAM          []ipam.PoolReport `json:",omitempty"`
	Cluster       *cluster.Status   `json:",omitempty"`
	ClusterView   *cluster.Report   `json:",omitempty"` // nil when etcd did not answer
	ClusterError  string            `json:",omitempty"`
}

// inspector gathers the report.
type inspector struct {
	d       *driver.Driver
	alloc   *ipam.Allocator
	cluster *cluster.Cluster // nil without cluster mode
	st      *store.Store
}

// clusterReadWait bounds how long inspect waits for etcd.
const clusterReadWait = 3 * time.Second

func (in inspector) report(ctx context.Context) (report, error) {
	var rep report
	var err error
	if rep.Report, err = in.d.Inspect(ctx); err != nil {
		return rep, err
	}
	if rep.StateRecovery, err = in.st.LastRecovery(); err != nil {
		return rep, err
	}
	rep.IPAM = in.alloc.Report()
	if in.cluster == nil {
		return rep, nil
	}
	st := in.cluster.Status()
	rep.Cluster = &st
	cctx, cancel := context.WithTimeout(ctx, clusterReadWait)
	defer cancel()
	if view, err := in.cluster.Report(cctx); err != nil {
		rep.ClusterError = err.Error()
	} else {
		rep.ClusterView = &view
	}
	return rep, nil
}

// handler serves the daemon's report.
func (in inspector) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, err := in.report(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"Err": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
}

// runInspect is `docker-vxlan-plugin inspect`: it prints what the plugin
// owns and whether the kernel matches the store, and exits 0 when it does,
// 1 when it does not, 2 on error. It asks the running daemon, or reads the
// state itself when none runs.
func runInspect(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("docker-vxlan-plugin inspect", flag.ContinueOnError)
	name := fs.String("name", "vxlan", "driver name of the instance to inspect")
	socket := fs.String("socket", "", "its socket (default derived from --name)")
	state := fs.String("state", "/var/lib/docker-vxlan-plugin/state.db", "its state file, read when no daemon answers")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" {
		*socket = filepath.Join(pluginDir, *name+".sock")
	}
	rep, err := askDaemon(*socket, askTimeout)
	if errors.Is(err, errNoDaemon) {
		rep, err = inspectState(*state, *name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker-vxlan-plugin inspect:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(out, rep)
	}
	if !rep.Consistent() {
		return 1
	}
	return 0
}

var errNoDaemon = errors.New("no daemon answers")

// askTimeout bounds the daemon's answer: its report waits for the kernel's
// link dumps, which a host tearing many namespaces down can hold up.
const askTimeout = 30 * time.Second

// askDaemon asks the daemon on socket for its report. Only a socket nobody
// listens on means no daemon (then the state file is read instead); a
// daemon that took the connection and did not answer is an error.
func askDaemon(socket string, timeout time.Duration) (report, error) {
	c := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}},
	}
	resp, err := c.Get("http://plugin" + inspectPath)
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return report{}, fmt.Errorf("%w on %s: %v", errNoDaemon, socket, err)
	}
	if err != nil { // it took the connection: a daemon is there, but slow or failing
		return report{}, fmt.Errorf("daemon on %s: %w", socket, err)
	}
	defer resp.Body.Close()
	var rep report
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return rep, fmt.Errorf("daemon on %s: %s: %s", socket, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return rep, fmt.Errorf("daemon on %s: %w", socket, err)
	}
	return rep, nil
}

// inspectState reads the state file directly (no daemon holds it).
func inspectState(path, name string) (report, error) {
	if _, err := os.Stat(path); err != nil {
		return report{}, fmt.Errorf("no daemon answers and no state file: %w", err)
	}
	st, err := store.Open(path)
	if err != nil {
		return report{}, err
	}
	defer st.Close()
	k, err := links.New(name)
	if err != nil {
		return report{}, err
	}
	defer k.Close()
	d := driver.New(driver.Config{}, k, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var rep report
	if rep.Report, err = d.Inspect(context.Background()); err != nil {
		return rep, err
	}
	if rep.StateRecovery, err = st.LastRecovery(); err != nil {
		return rep, err
	}
	rep.IPAM, err = ipam.ReadReport(st)
	return rep, err
}

func printReport(out io.Writer, rep report) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NETWORK\tMODE\tSEGMENT\tVNI\tLINKS")
	for _, n := range rep.Networks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", short(n.ID), n.Mode, n.Segment, vni(n.VNI), linkStates(n.Links))
	}
	fmt.Fprintln(w, "\nENDPOINT\tNETWORK\tLINK")
	for _, e := range rep.Endpoints {
		fmt.Fprintf(w, "%s\t%s\t%s\n", short(e.ID), short(e.NetworkID), linkStates([]driver.LinkStatus{e.Link}))
	}
	_ = w.Flush()
	if len(rep.Unreadable) > 0 {
		fmt.Fprintf(out, "\nrecords the state file holds but cannot be read (every link marked as ours is kept): %s\n", strings.Join(rep.Unreadable, ", "))
	}
	if len(rep.Orphans) > 0 {
		fmt.Fprintf(out, "\nlinks marked as ours that no record accounts for: %s\n", strings.Join(rep.Orphans, ", "))
	}
	printAddresses(out, rep)
	printCluster(out, rep)
	if r := rep.StateRecovery; r != nil {
		fmt.Fprintf(out, "\nthe state file was damaged on %s and replaced (kept as %s: %s);\nlinks marked as ours are kept until none is left\n", r.At.Format(time.RFC3339), r.MovedTo, r.Reason)
	}
	verdict := "yes"
	if !rep.Consistent() {
		verdict = "NO"
	}
	fmt.Fprintf(out, "\nkernel matches store: %s\n", verdict)
}

func linkStates(ls []driver.LinkStatus) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, l.Name+" "+string(l.State))
	}
	return strings.Join(parts, ", ")
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func vni(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
