package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// ErrUnreachable marks a call refused at once because etcd is known to be
// unreachable; what it would have written stays desired and is written
// when etcd is back.
var ErrUnreachable = errors.New("etcd is unreachable")

type linkState int

const (
	linkStarting linkState = iota // no attempt finished yet
	linkUp                        // lease held, view resynchronised, desired state written
	linkDown                      // etcd unreachable, or the session being re-established
)

// link is the state of this host's session with etcd.
type link struct {
	state   linkState
	lease   clientv3.LeaseID
	retired clientv3.LeaseID // an earlier lease of ours, revoked once its keys are rewritten
	err     error            // why down
	rev     int64            // revision of the last full read
	at      time.Time        // time of the last full read
	changed chan struct{}    // closed and replaced on every state change
}

// Status is this host's connection to the cluster, for inspect and health.
type Status struct {
	Node       string    `json:"node"`
	Endpoints  []string  `json:"endpoints"`
	Connected  bool      `json:"connected"`
	LeaseID    int64     `json:"leaseID,omitempty"`
	Revision   int64     `json:"resyncRevision,omitempty"` // of the last full read
	ResyncTime time.Time `json:"resyncTime,omitzero"`
	Error      string    `json:"error,omitempty"` // why not connected
}

// Status reports the connection as it stands.
func (c *Cluster) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{
		Node:       c.cfg.Node,
		Endpoints:  slices.Clone(c.cfg.Endpoints),
		Connected:  c.link.state == linkUp,
		LeaseID:    int64(c.link.lease),
		Revision:   c.link.rev,
		ResyncTime: c.link.at,
	}
	if c.link.err != nil && c.link.state != linkUp {
		s.Error = c.link.err.Error()
	}
	return s
}

func (c *Cluster) setStateLocked(s linkState) {
	c.link.state = s
	close(c.link.changed)
	c.link.changed = make(chan struct{})
}

// setUp records an established session.
func (c *Cluster) setUp(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.state != linkUp {
		c.log.Info("connected to etcd", "node", c.cfg.Node, "lease", fmt.Sprintf("%x", int64(c.link.lease)), "revision", rev)
		c.setStateLocked(linkUp)
	}
	c.link.err = nil
}

// markDown records that etcd is unreachable and ends the current session,
// which reconnects, resynchronises and rewrites what is desired. It logs
// only the change, not every failed attempt.
func (c *Cluster) markDown(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.state != linkDown {
		c.log.Warn("etcd unreachable; running containers keep working, new state is written when it is back", "error", err)
		c.link.err = err
		c.setStateLocked(linkDown)
	}
	if c.kick != nil {
		c.kick(err)
	}
}

// explainDown replaces the reason etcd is down by what a probe found.
func (c *Cluster) explainDown(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.state == linkDown {
		c.link.err = why
	}
}

// observe reacts to a failed call: a timeout or an unavailable server
// means etcd is down; a lost lease means the session must start over.
func (c *Cluster) observe(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil {
		return // the caller gave up; that says nothing about etcd
	}
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		c.endSession(err)
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.Unavailable,
		status.Code(err) == codes.DeadlineExceeded:
		c.markDown(err)
	}
}

// endSession ends the current session, which starts over.
func (c *Cluster) endSession(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kick != nil {
		c.kick(why)
	}
}

// resyncing records that an established session ended and a new one is
// being set up: callers wait for it rather than fail.
func (c *Cluster) resyncing(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link.state == linkUp {
		c.log.Info("resynchronising with etcd", "reason", why)
		c.setStateLocked(linkStarting)
	}
}

// usableLease returns the lease to write under, waiting (bounded by ctx)
// while the first session is being set up. If etcd is known to be
// unreachable it fails at once with ErrUnreachable.
func (c *Cluster) usableLease(ctx context.Context) (clientv3.LeaseID, error) {
	for {
		c.mu.Lock()
		l := c.link
		c.mu.Unlock()
		switch l.state {
		case linkUp:
			return l.lease, nil
		case linkDown:
			return 0, fmt.Errorf("%w at %s (%v)", ErrUnreachable, strings.Join(c.cfg.Endpoints, ","), l.err)
		}
		select {
		case <-l.changed:
		case <-ctx.Done():
			return 0, c.etcdErr("connect", ctx.Err())
		}
	}
}

// watchConnection marks etcd down as soon as the connection to it fails,
// without waiting for a call to time out, and wakes the session loop as
// soon as it is ready again.
func (c *Cluster) watchConnection(ctx context.Context) {
	conn := c.cli.ActiveConnection()
	conn.Connect()
	prev := conn.GetState()
	for conn.WaitForStateChange(ctx, prev) {
		cur := conn.GetState()
		switch {
		case cur == connectivity.Ready:
			select {
			case c.ready <- struct{}{}:
			default:
			}
		case prev == connectivity.Ready, cur == connectivity.TransientFailure:
			why := c.probe(ctx)
			if why == nil {
				why = fmt.Errorf("connection %s", strings.ToLower(cur.String()))
			}
			c.markDown(why)
		}
		prev = cur
	}
}
