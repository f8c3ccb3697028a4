package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
)

// The firewall exception lets the networks' traffic through the host
// firewall's FORWARD chain where it meets the host: a bridge-mode
// network's bridge, a macvlan/ipvlan network's host gateway. It keeps the
// plugin's networks apart, as Docker keeps its bridge networks, but for
// those that all set hostRouting. A request adds or withdraws its
// network's link alone; the periodic check makes the exception match
// every network. One change at a time: two first changes at once would
// both lay out the chains. A host on legacy iptables, where the plugin
// cannot write, gets a warning once per process.

// allowForward adds a network's link to the exception: by name, reading
// nothing, where the exception is laid out (the cost of a request does not
// grow with the rules of Docker's own networks, nor with the plugin's);
// else laying it out.
func (d *Driver) allowForward(ctx context.Context, n *network) error {
	rules := forwardRules([]*network{n})
	if len(rules) == 0 {
		return nil
	}
	return d.withFirewall(ctx, func() error {
		if d.kernel.AddForwardElements(rules) == nil {
			return nil
		}
		return d.kernel.AllowForward(rules, links.ForwardAdd)
	})
}

// withdrawForward takes the link of a network that is going out of the
// exception, best effort: the periodic check withdraws what is left. With
// the last link goes the whole exception, chains, maps and set.
func (d *Driver) withdrawForward(n *network) {
	rules := forwardRules([]*network{n})
	x, err := d.records()
	if len(rules) == 0 || err != nil {
		return
	}
	err = d.withFirewall(context.Background(), func() error {
		if !otherForwarded(x, n) {
			return d.kernel.AllowForward(nil, links.ForwardExact)
		}
		return d.kernel.WithdrawForward(rules)
	})
	if err != nil {
		d.log.Warn("firewall exception not withdrawn", "network", shortID(n.ID), "err", err)
	}
}

// syncForward makes the exception match every network recorded or being
// created (whose link is added before it is recorded), writing only what
// differs.
func (d *Driver) syncForward(ctx context.Context) error {
	x, err := d.records()
	if err != nil {
		return err
	}
	return d.withFirewall(ctx, func() error {
		return d.kernel.AllowForward(forwardRules(x.claimed()), links.ForwardExact)
	})
}

// withFirewall runs change under the exception's lock, unless ctx ends
// first.
func (d *Driver) withFirewall(ctx context.Context, change func() error) error {
	select {
	case d.fw <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for the firewall exception: %w", ctx.Err())
	}
	defer func() { <-d.fw }()
	err := change()
	if errors.Is(err, links.ErrLegacyIptables) {
		if !d.legacyWarned {
			d.log.Warn("firewall exception not installed: add the rules by hand (README, Firewall)", "err", err)
			d.legacyWarned = true
		}
		return nil
	}
	return err
}

// forwardRules lists the links of nets in the exception. A network
// without hostRouting, recorded before the option existed too, is
// isolated from the others.
func forwardRules(nets []*network) []links.ForwardRule {
	var rules []links.ForwardRule
	for _, n := range nets {
		if link := forwardLink(n); link != "" {
			rules = append(rules, links.ForwardRule{Link: link, Internal: n.Config.Internal, HostRouting: n.Config.HostRouting})
		}
	}
	return rules
}

// forwardLink is where a network's traffic meets FORWARD: a bridge-mode
// network's bridge (br_netfilter sends its bridged traffic there too), a
// macvlan/ipvlan network's host gateway child (the traffic the host routes
// for it); "" when neither.
func forwardLink(n *network) string {
	switch {
	case n.Config.Mode == ModeBridge:
		return bridgeName(n)
	case n.Config.HostGateway:
		return gatewayChild(n).Name
	}
	return ""
}

// otherForwarded reports whether a network other than n, recorded or
// being created, has a link in the exception.
func otherForwarded(x *index, n *network) bool {
	for _, o := range x.claimed() {
		if o.ID != n.ID && forwardLink(o) != "" {
			return true
		}
	}
	return false
}

// SyncFirewall restores the firewall exception if something (a firewall
// reload, `iptables -F`) removed or changed it. The daemon calls it
// periodically; it writes only what differs.
func (d *Driver) SyncFirewall(ctx context.Context) error {
	return d.syncForward(ctx)
}
