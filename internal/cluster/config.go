package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultTTL       = 10 * time.Second
	DefaultOpTimeout = 3 * time.Second
)

// Config says where the cluster's etcd is and who this host is in it.
type Config struct {
	Endpoints []string    // etcd client URLs
	Prefix    string      // every key lives under it, e.g. /docker-vxlan-plugin/vxlan
	TLS       *tls.Config // nil: plain connections
	Node      string      // this host's name in the cluster; unique per host
	TTL       time.Duration
	OpTimeout time.Duration // bound of every synchronous call to etcd
}

// withDefaults validates c and fills in its zero values.
func (c Config) withDefaults() (Config, error) {
	if len(c.Endpoints) == 0 {
		return c, errors.New("cluster mode needs at least one etcd endpoint")
	}
	if !validName(c.Node) {
		return c, fmt.Errorf("invalid node name %q: must be non-empty and without '/'", c.Node)
	}
	c.Prefix = strings.TrimRight(c.Prefix, "/")
	if c.Prefix == "" {
		return c, errors.New("cluster mode needs a key prefix")
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL < time.Second {
		return c, fmt.Errorf("lease TTL %s is below etcd's granularity of one second", c.TTL)
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.OpTimeout < 0 {
		return c, fmt.Errorf("invalid etcd operation timeout %s", c.OpTimeout)
	}
	return c, nil
}

// ttlSeconds is the lease TTL as etcd takes it, rounded up.
func (c Config) ttlSeconds() int64 {
	return int64((c.TTL + time.Second - 1) / time.Second)
}
