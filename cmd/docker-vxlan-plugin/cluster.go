package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/cluster"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/ipam"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/store"
)

// controlPlane is the cluster as the driver sees it.
type controlPlane struct{ *cluster.Cluster }

// HasView reports whether the cluster has been read in full once.
func (c controlPlane) HasView() bool { return c.Status().Revision != 0 }

// addressing is where IPAM keeps what hosts share, and the control plane
// when there is one.
type addressing struct {
	claims  ipam.Claims
	cluster *cluster.Cluster // nil without cluster mode
	hints   []net.IP
}

// newAddressing builds cluster mode from the flags, or this host's own
// claims without them.
func newAddressing(o options, st *store.Store, log *slog.Logger) (addressing, error) {
	node, err := nodeName(o.etcd.nodeName, st)
	if err != nil {
		return addressing{}, err
	}
	if len(o.etcd.endpoints) == 0 {
		return addressing{claims: ipam.NewLocalClaims(st, node)}, nil
	}
	c, err := dialCluster(o.etcd, node, log)
	if err != nil {
		return addressing{}, err
	}
	return addressing{claims: c, cluster: c, hints: endpointIPs(o.etcd.endpoints)}, nil
}

// dialCluster sets up the etcd client; it does not need etcd to answer.
func dialCluster(e etcdOptions, node string, log *slog.Logger) (*cluster.Cluster, error) {
	var err error
	cfg := cluster.Config{Endpoints: e.endpoints, Prefix: e.prefix, Node: node, TTL: e.ttl}
	if e.caFile != "" || e.certFile != "" {
		if cfg.TLS, err = cluster.LoadTLS(e.caFile, e.certFile, e.keyFile); err != nil {
			return nil, err
		}
	}
	return cluster.New(cfg, log)
}

// startCluster runs the control plane beside the driver; the returned
// function stops it and closes its client once it has stopped.
func startCluster(ctx context.Context, c *cluster.Cluster, h cluster.Handler) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, h)
	}()
	return func() {
		cancel()
		<-done
		_ = c.Close()
	}
}

// bucketCluster holds this host's generated node name.
const bucketCluster = "cluster"

// nodeName is --node-name, else the name this host took the first time:
// its hostname and a random suffix, so hosts that share a hostname (or
// whose hostname changes) stay distinct and keep their claims.
func nodeName(flag string, st *store.Store) (string, error) {
	if flag != "" {
		return flag, nil
	}
	var name string
	if found, err := st.Get(bucketCluster, "node", &name); err != nil || found {
		return name, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("random node name suffix: %w", err)
	}
	name = host + "-" + hex.EncodeToString(suffix)
	return name, st.Put(bucketCluster, "node", name)
}

// endpointIPs are the etcd endpoints' addresses: which way they route tells
// a network with no Peers its underlay. Names are resolved, briefly.
func endpointIPs(endpoints []string) []net.IP {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var ips []net.IP
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if addrs, err := net.DefaultResolver.LookupIP(ctx, "ip", u.Hostname()); err == nil {
			ips = append(ips, addrs...)
		}
	}
	return ips
}
