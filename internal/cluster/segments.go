package cluster

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefineSegment records seg as its VNI's cluster-wide definition and this
// host as one of its users. The same VNI with other subnets, or one of the
// subnets on another VNI (or overlapping one there), is a *ConflictError
// naming the host whose definition stands. Defining it again is harmless;
// aux addresses are added to those recorded.
func (c *Cluster) DefineSegment(ctx context.Context, seg Segment) error {
	seg, err := normalizeSegment(seg)
	if err != nil {
		return err
	}
	return c.casLoop(ctx, fmt.Sprintf("define VxlanId %d", seg.VNI), func(ctx context.Context) (bool, error) {
		return c.defineOnce(ctx, seg)
	})
}

func (c *Cluster) defineOnce(ctx context.Context, seg Segment) (bool, error) {
	segKey := c.keys.segment(seg.VNI)
	s, err := c.read(ctx,
		clientv3.OpGet(segKey),
		clientv3.OpGet(c.keys.section(secSubnets), clientv3.WithPrefix()))
	if err != nil {
		return false, err
	}
	index, err := c.decodeIndex(s.all(1))
	if err != nil {
		return false, err
	}
	rec := segmentRecord{header: versioned(), Creator: c.cfg.Node}
	var segRev int64
	if kv := s.one(0); kv != nil {
		if err := decode(kv.Value, &rec); err != nil {
			return false, fmt.Errorf("VxlanId %d: unreadable definition in etcd: %w", seg.VNI, err)
		}
		segRev = kv.ModRevision
		if conflict := segmentConflict(seg, rec); conflict != nil {
			conflict.Holder = c.holder(ctx, seg.VNI, rec.Creator)
			return false, conflict
		}
	}
	if conflict := subnetConflict(seg, index); conflict != nil {
		conflict.Holder = c.holder(ctx, conflict.otherVNI, conflict.Holder)
		return false, conflict.ConflictError
	}
	ops, err := c.defineOps(seg, rec, segRev == 0, index)
	if err != nil {
		return false, err
	}
	resp, err := c.txn(ctx, []clientv3.Cmp{
		modRevIs(segKey, segRev),
		unchangedSince(c.keys.section(secSubnets), s.rev),
	}, ops, nil)
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// defineOps writes this host's use of the segment and, where they change,
// the definition (new, or with more aux addresses) and its subnet index.
func (c *Cluster) defineOps(seg Segment, rec segmentRecord, isNew bool, index map[netip.Prefix]subnetIndex) ([]clientv3.Op, error) {
	user, err := encode(useRecord{header: versioned()})
	if err != nil {
		return nil, err
	}
	ops := []clientv3.Op{clientv3.OpPut(c.keys.segmentUser(seg.VNI, c.cfg.Node), user)}
	merged, changed := mergeSubnets(rec.Subnets, seg.Subnets)
	if isNew || changed {
		rec.Subnets = merged
		value, err := encode(rec)
		if err != nil {
			return nil, err
		}
		ops = append(ops, clientv3.OpPut(c.keys.segment(seg.VNI), value))
	}
	for _, sub := range merged {
		entry, ok := index[sub.Pool]
		if ok && entry.VNI == seg.VNI && slices.Equal(entry.Aux, sub.Aux) {
			continue
		}
		value, err := encode(subnetIndex{header: versioned(), VNI: seg.VNI, Creator: rec.Creator, Aux: sub.Aux})
		if err != nil {
			return nil, err
		}
		ops = append(ops, clientv3.OpPut(c.keys.subnet(sub.Pool), value))
	}
	return ops, nil
}

// ReleaseSegment records that this host no longer uses vni. The
// definition goes with its last user.
func (c *Cluster) ReleaseSegment(ctx context.Context, vni int) error {
	if !validVNI(vni) {
		return fmt.Errorf("VxlanId %d out of range", vni)
	}
	return c.casLoop(ctx, fmt.Sprintf("release VxlanId %d", vni), func(ctx context.Context) (bool, error) {
		if _, err := c.txn(ctx, nil, []clientv3.Op{clientv3.OpDelete(c.keys.segmentUser(vni, c.cfg.Node))}, nil); err != nil {
			return false, err
		}
		return c.gcSegmentOnce(ctx, vni)
	})
}

// gcSegmentOnce removes vni's definition and subnet index if no host uses
// it. The removal compares the users (none) and the definition's revision,
// so it never races with a host defining the segment again.
func (c *Cluster) gcSegmentOnce(ctx context.Context, vni int) (bool, error) {
	segKey, users := c.keys.segment(vni), c.keys.segmentUsers(vni)
	s, err := c.read(ctx,
		clientv3.OpGet(segKey),
		clientv3.OpGet(users, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(c.keys.section(secSubnets), clientv3.WithPrefix()))
	if err != nil {
		return false, err
	}
	kv := s.one(0)
	if kv == nil || s.count(1) > 0 {
		return true, nil
	}
	cmps := []clientv3.Cmp{modRevIs(segKey, kv.ModRevision), emptyPrefix(users)}
	ops := []clientv3.Op{clientv3.OpDelete(segKey)}
	for _, ikv := range s.all(2) {
		var idx subnetIndex
		if k, ok := c.keys.parse(string(ikv.Key)); ok && decode(ikv.Value, &idx) == nil && idx.VNI == vni {
			cmps = append(cmps, modRevIs(c.keys.subnet(k.pool), ikv.ModRevision))
			ops = append(ops, clientv3.OpDelete(c.keys.subnet(k.pool)))
		}
	}
	resp, err := c.txn(ctx, cmps, ops, nil)
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

func (c *Cluster) decodeIndex(kvs []*mvccpb.KeyValue) (map[netip.Prefix]subnetIndex, error) {
	out := map[netip.Prefix]subnetIndex{}
	for _, kv := range kvs {
		k, ok := c.keys.parse(string(kv.Key))
		if !ok {
			continue
		}
		var idx subnetIndex
		if err := decode(kv.Value, &idx); err != nil {
			return nil, fmt.Errorf("subnet %s: unreadable record in etcd: %w", k.pool, err)
		}
		out[k.pool] = idx
	}
	return out, nil
}

// holder names the host to blame for a conflict on vni: its creator while
// it still uses the segment, else a host that does.
func (c *Cluster) holder(ctx context.Context, vni int, creator string) string {
	s, err := c.read(ctx, clientv3.OpGet(c.keys.segmentUsers(vni), clientv3.WithPrefix(), clientv3.WithKeysOnly()))
	if err != nil {
		return creator
	}
	var users []string
	for _, kv := range s.all(0) {
		if k, ok := c.keys.parse(string(kv.Key)); ok {
			users = append(users, k.node)
		}
	}
	if len(users) == 0 || slices.Contains(users, creator) {
		return creator
	}
	return users[0]
}

// normalizeSegment validates seg and sorts its subnets and aux addresses.
func normalizeSegment(seg Segment) (Segment, error) {
	if !validVNI(seg.VNI) {
		return seg, fmt.Errorf("VxlanId %d out of range", seg.VNI)
	}
	if len(seg.Subnets) == 0 {
		return seg, fmt.Errorf("VxlanId %d: no subnet", seg.VNI)
	}
	out := Segment{VNI: seg.VNI}
	for _, sub := range seg.Subnets {
		if !sub.Pool.IsValid() {
			return seg, fmt.Errorf("VxlanId %d: invalid subnet %v", seg.VNI, sub.Pool)
		}
		sub.Pool = sub.Pool.Masked()
		for _, o := range out.Subnets {
			if o.Pool.Overlaps(sub.Pool) {
				return seg, fmt.Errorf("VxlanId %d: subnets %s and %s overlap", seg.VNI, o.Pool, sub.Pool)
			}
		}
		sub.Aux = sortedAddrs(sub.Aux)
		out.Subnets = append(out.Subnets, sub)
	}
	slices.SortFunc(out.Subnets, func(a, b Subnet) int { return comparePrefix(a.Pool, b.Pool) })
	return out, nil
}

// segmentConflict refuses a definition whose subnets differ from the
// recorded ones.
func segmentConflict(want Segment, have segmentRecord) *ConflictError {
	wantPools, havePools := subnetPools(want.Subnets), subnetPools(have.Subnets)
	if slices.Equal(wantPools, havePools) {
		return nil
	}
	odd := slices.Concat(wantPools, havePools)
	for _, p := range odd {
		if !slices.Contains(wantPools, p) || !slices.Contains(havePools, p) {
			return &ConflictError{
				VNI:    want.VNI,
				Subnet: p,
				Holder: have.Creator,
				Reason: "the VxlanId is defined with subnet " + joinPrefixes(havePools),
			}
		}
	}
	return nil
}

// indexConflict is a ConflictError with the VNI that holds the subnet.
type indexConflict struct {
	*ConflictError
	otherVNI int
}

// subnetConflict refuses a subnet that is, or overlaps, a subnet of
// another VNI.
func subnetConflict(want Segment, index map[netip.Prefix]subnetIndex) *indexConflict {
	pools := slices.SortedFunc(maps.Keys(index), comparePrefix)
	for _, sub := range want.Subnets {
		for _, pool := range pools {
			entry := index[pool]
			if entry.VNI == want.VNI || !pool.Overlaps(sub.Pool) {
				continue
			}
			reason := fmt.Sprintf("the subnet is on VxlanId %d", entry.VNI)
			if pool != sub.Pool {
				reason = fmt.Sprintf("the subnet overlaps subnet %s of VxlanId %d", pool, entry.VNI)
			}
			return &indexConflict{
				ConflictError: &ConflictError{VNI: want.VNI, Subnet: sub.Pool, Holder: entry.Creator, Reason: reason},
				otherVNI:      entry.VNI,
			}
		}
	}
	return nil
}

// mergeSubnets adds want's aux addresses (and a gateway where none is
// recorded) to the recorded subnets; both have the same pools.
func mergeSubnets(have, want []Subnet) ([]Subnet, bool) {
	if len(have) == 0 {
		return want, true
	}
	out := slices.Clone(have)
	changed := false
	for i := range out {
		j := slices.IndexFunc(want, func(s Subnet) bool { return s.Pool == out[i].Pool })
		if j < 0 {
			continue
		}
		aux := sortedAddrs(slices.Concat(out[i].Aux, want[j].Aux))
		if !slices.Equal(aux, out[i].Aux) {
			out[i].Aux, changed = aux, true
		}
		if !out[i].Gateway.IsValid() && want[j].Gateway.IsValid() {
			out[i].Gateway, changed = want[j].Gateway, true
		}
	}
	return out, changed
}

func subnetPools(subs []Subnet) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.Pool)
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// sortedAddrs sorts and deduplicates addresses; nil for none.
func sortedAddrs(addrs []netip.Addr) []netip.Addr {
	if len(addrs) == 0 {
		return nil
	}
	out := slices.Clone(addrs)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
