package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/cluster"
)

const clusterUsage = `usage:
  docker-vxlan-plugin cluster forget-node NODE [--force] --etcd-endpoints URL[,URL] [--name N | --etcd-prefix P] [TLS flags]
      free everything a host that is gone for good holds: its address blocks and
      addresses, its use of pools and segments; refused while NODE is live
      unless --force
  docker-vxlan-plugin cluster show --etcd-endpoints URL[,URL] [...]
      the cluster as etcd holds it (JSON): nodes, segments, pools and who holds
      which block, endpoints`

// runCluster serves `docker-vxlan-plugin cluster ...`; it returns the exit
// code: 0 done, 1 refused or failed, 2 bad usage.
func runCluster(args []string, out, errOut io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(errOut, clusterUsage)
		return 2
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("docker-vxlan-plugin cluster "+verb, flag.ContinueOnError)
	fs.SetOutput(errOut)
	var e etcdOptions
	var endpoints, name string
	e.register(fs, &endpoints)
	fs.StringVar(&name, "name", "vxlan", "driver name, for the default --etcd-prefix")
	force := fs.Bool("force", false, "forget-node: even while the node is live")
	node, rest := splitFirstArg(args)
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if err := e.parse(endpoints, name); err != nil {
		fmt.Fprintln(errOut, "docker-vxlan-plugin cluster:", err)
		return 2
	}
	if len(e.endpoints) == 0 {
		fmt.Fprintln(errOut, "docker-vxlan-plugin cluster: --etcd-endpoints is required")
		return 2
	}
	switch {
	case verb == "forget-node" && node != "":
		return forgetNode(e, node, *force, out, errOut)
	case verb == "show":
		return showCluster(e, out, errOut)
	}
	fmt.Fprintln(errOut, clusterUsage)
	return 2
}

// splitFirstArg takes a leading positional argument off args.
func splitFirstArg(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// commandTimeout bounds a cluster command: etcd not answering is an error,
// not a hang.
const commandTimeout = 10 * time.Second

// withCluster runs fn against etcd, bounded by commandTimeout, as an
// operator: under a node name no host uses, registering nothing.
func withCluster(e etcdOptions, errOut io.Writer, fn func(context.Context, *cluster.Cluster) error) int {
	c, err := dialCluster(e, "operator-cli", slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(errOut, "docker-vxlan-plugin cluster:", err)
		return 1
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	if err := fn(ctx, c); err != nil {
		fmt.Fprintln(errOut, "docker-vxlan-plugin cluster:", err)
		return 1
	}
	return 0
}

func forgetNode(e etcdOptions, node string, force bool, out, errOut io.Writer) int {
	return withCluster(e, errOut, func(ctx context.Context, c *cluster.Cluster) error {
		if err := c.ForgetNode(ctx, node, force); err != nil {
			return fmt.Errorf("forget-node: %w", err)
		}
		fmt.Fprintf(out, "forgot node %s: its blocks, addresses and uses are free\n", node)
		return nil
	})
}

func showCluster(e etcdOptions, out, errOut io.Writer) int {
	return withCluster(e, errOut, func(ctx context.Context, c *cluster.Cluster) error {
		rep, err := c.Report(ctx)
		if err != nil {
			return fmt.Errorf("show: %w", err)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
}
