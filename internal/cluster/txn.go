package cluster

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdFailure is a failure of etcd itself inside a transaction loop, as
// opposed to a refusal (a conflict, a claim held by another host).
type etcdFailure struct{ err error }

func (f etcdFailure) Error() string { return f.err.Error() }
func (f etcdFailure) Unwrap() error { return f.err }

// casLoop runs attempt until it commits (done) or fails, within ctx and
// the operation timeout. An attempt returns done=false when its
// compare-and-swap lost a race, and is then run again on fresh data.
func (c *Cluster) casLoop(ctx context.Context, what string, attempt func(context.Context) (bool, error)) error {
	octx, cancel := c.opCtx(ctx)
	defer cancel()
	for {
		done, err := attempt(octx)
		var f etcdFailure
		switch {
		case errors.As(err, &f):
			c.observe(ctx, f.err)
			return c.etcdErr(what, f.err)
		case err != nil:
			return err
		case done:
			return nil
		case octx.Err() != nil:
			return c.etcdErr(what, octx.Err())
		}
	}
}

// txn commits one transaction; errors are etcdFailures.
func (c *Cluster) txn(ctx context.Context, cmps []clientv3.Cmp, then, els []clientv3.Op) (*clientv3.TxnResponse, error) {
	resp, err := c.cli.Txn(ctx).If(cmps...).Then(then...).Else(els...).Commit()
	if err != nil {
		return nil, etcdFailure{err}
	}
	return resp, nil
}

// snapshot is the result of several reads at one revision.
type snapshot struct {
	rev    int64
	ranges []*pb.RangeResponse
}

// read runs gets at one revision.
func (c *Cluster) read(ctx context.Context, gets ...clientv3.Op) (snapshot, error) {
	resp, err := c.txn(ctx, nil, gets, nil)
	if err != nil {
		return snapshot{}, err
	}
	s := snapshot{rev: resp.Header.Revision}
	for _, r := range resp.Responses {
		s.ranges = append(s.ranges, r.GetResponseRange())
	}
	return s, nil
}

// one is the single key of the i-th get, nil if it does not exist.
func (s snapshot) one(i int) *mvccpb.KeyValue { return first(s.ranges[i]) }

// all is every key of the i-th get.
func (s snapshot) all(i int) []*mvccpb.KeyValue { return s.ranges[i].GetKvs() }

// count is the number of keys the i-th get matched.
func (s snapshot) count(i int) int64 { return s.ranges[i].GetCount() }

func first(r *pb.RangeResponse) *mvccpb.KeyValue {
	if kvs := r.GetKvs(); len(kvs) > 0 {
		return kvs[0]
	}
	return nil
}

// modRevIs compares a key's last modification; 0 means it does not exist.
func modRevIs(key string, rev int64) clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev)
}

// emptyPrefix holds while no key under prefix exists.
func emptyPrefix(prefix string) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(prefix), "=", 0).WithPrefix()
}

// unchangedSince holds while no key under prefix was written after rev.
func unchangedSince(prefix string, rev int64) clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(prefix), "<", rev+1).WithPrefix()
}
