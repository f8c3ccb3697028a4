package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// probeWait bounds each step of a probe.
const probeWait = time.Second

// probe says why etcd cannot be reached, connecting to its endpoints the
// way the client does: gRPC's own errors end in "deadline exceeded", which
// tells an operator nothing. It returns nil if some endpoint accepts a
// connection (then etcd is slow or unhealthy, not unreachable).
func (c *Cluster) probe(ctx context.Context) error {
	var errs []error
	for _, ep := range c.cfg.Endpoints {
		err := probeEndpoint(ctx, ep, c.cfg.TLS)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func probeEndpoint(ctx context.Context, endpoint string, cfg *tls.Config) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil // a form the client resolves itself; nothing to say
	}
	ctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	if u.Scheme != "https" {
		return nil
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	// A server refusing the client's certificate says so after the
	// handshake (TLS 1.3): wait briefly for its alert.
	_ = tc.SetReadDeadline(time.Now().Add(probeWait / 5))
	var b [1]byte
	if _, err := tc.Read(b[:]); err != nil && !isTimeout(err) {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
