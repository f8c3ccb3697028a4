package ipam

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
)

// Store is the persistence the allocator needs; *store.Store implements it.
type Store interface {
	Put(bucket, key string, v any) error
	Get(bucket, key string, v any) (bool, error)
	Delete(bucket, key string) error
	List(bucket string, each func(key string, decode func(any) error) error) error
}

// Store buckets, and the version of the records in them. A record of
// another version is refused, never guessed at.
const (
	bucketPools     = "ipam-pools"
	bucketAddresses = "ipam-addresses"
	recordVersion   = 1
)

// poolRecord is this host's persistent view of a pool, keyed by pool ID.
type poolRecord struct {
	V         int            `json:"v"`
	ID        string         `json:"id"`
	Pool      netip.Prefix   `json:"pool"`
	Range     netip.Prefix   `json:"range"`
	BlockBits int            `json:"blockBits"`
	Gateway   netip.Addr     `json:"gateway,omitzero"`
	Aux       []netip.Addr   `json:"aux,omitempty"`
	Blocks    []netip.Prefix `json:"blocks"`
	Pending   []netip.Prefix `json:"pendingReleases,omitempty"`
	Released  bool           `json:"released,omitempty"`
}

// addressRecord is one address this host handed out, keyed by addressKey.
type addressRecord struct {
	V    int        `json:"v"`
	Pool string     `json:"pool"`
	Addr netip.Addr `json:"addr"`
	Kind kind       `json:"kind"`
}

func addressKey(poolID string, a netip.Addr) string { return poolID + "|" + a.String() }

func (a *Allocator) savePool(p *pool) error {
	r := poolRecord{
		V: recordVersion, ID: p.id,
		Pool: p.rec.Pool, Range: p.rec.Range, BlockBits: p.rec.BlockBits, Gateway: p.rec.Gateway, Aux: p.rec.Aux,
		Blocks: p.blocks, Pending: p.pending, Released: p.released,
	}
	if err := a.store.Put(bucketPools, p.id, r); err != nil {
		return fmt.Errorf("save pool %s: %w", p.id, err)
	}
	return nil
}

func (a *Allocator) saveAddress(p *pool, addr netip.Addr, k kind) error {
	r := addressRecord{V: recordVersion, Pool: p.id, Addr: addr, Kind: k}
	if err := a.store.Put(bucketAddresses, addressKey(p.id, addr), r); err != nil {
		return fmt.Errorf("save address %s of pool %s: %w", addr, p.id, err)
	}
	return nil
}

func (a *Allocator) deleteAddress(p *pool, addr netip.Addr) error {
	if err := a.store.Delete(bucketAddresses, addressKey(p.id, addr)); err != nil {
		return fmt.Errorf("forget address %s of pool %s: %w", addr, p.id, err)
	}
	return nil
}

func (a *Allocator) deletePool(p *pool) error {
	if err := a.store.Delete(bucketPools, p.id); err != nil {
		return fmt.Errorf("forget pool %s: %w", p.id, err)
	}
	return nil
}

// loadPools reads this host's pools and addresses from the store.
func loadPools(st Store, log *slog.Logger) (map[string]*pool, error) {
	pools := map[string]*pool{}
	err := st.List(bucketPools, func(key string, decode func(any) error) error {
		var r poolRecord
		if err := decodeVersioned(decode, &r, &r.V); err != nil {
			return fmt.Errorf("pool %s: %w", key, err)
		}
		rec := PoolRecord{Pool: r.Pool, Range: r.Range, BlockBits: r.BlockBits, Gateway: r.Gateway, Aux: r.Aux}
		if err := validRecord(rec); err != nil {
			return fmt.Errorf("pool %s: %w", key, err)
		}
		p := newPool(key, rec)
		p.blocks, p.pending, p.released = r.Blocks, r.Pending, r.Released
		pools[key] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load IPAM pools: %w", err)
	}
	err = st.List(bucketAddresses, func(key string, decode func(any) error) error {
		var r addressRecord
		if err := decodeVersioned(decode, &r, &r.V); err != nil {
			return fmt.Errorf("address %s: %w", key, err)
		}
		p, ok := pools[r.Pool]
		if !ok || !r.Addr.IsValid() {
			// Only a damaged store has these; they hold nothing.
			log.Warn("IPAM: ignoring an address record without its pool", "key", key)
			return nil
		}
		p.addrs[r.Addr] = r.Kind
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load IPAM addresses: %w", err)
	}
	for _, p := range pools {
		p.last = p.highestBlockAddr()
	}
	return pools, nil
}

// decodeVersioned decodes a record and checks its version field.
func decodeVersioned(decode func(any) error, v any, version *int) error {
	if err := decode(v); err != nil {
		return err
	}
	if *version != recordVersion {
		return fmt.Errorf("record version %d, this plugin reads version %d", *version, recordVersion)
	}
	return nil
}

// validRecord checks a pool record, from the store or from Claims, before
// any arithmetic relies on it.
func validRecord(r PoolRecord) error {
	var errs []string
	switch {
	case !r.Pool.IsValid():
		errs = append(errs, "no pool")
	case !r.Range.IsValid() || r.Range.Addr().Is4() != r.Pool.Addr().Is4() ||
		r.Range.Bits() < r.Pool.Bits() || !r.Pool.Contains(r.Range.Addr()):
		errs = append(errs, fmt.Sprintf("range %s is not inside pool %s", r.Range, r.Pool))
	case r.BlockBits < r.Range.Bits() || r.BlockBits > r.Range.Addr().BitLen():
		errs = append(errs, fmt.Sprintf("block size /%d does not fit range %s", r.BlockBits, r.Range))
	}
	if r.Gateway.IsValid() && !r.Pool.Contains(r.Gateway) {
		errs = append(errs, fmt.Sprintf("gateway %s is outside pool %s", r.Gateway, r.Pool))
	}
	if errs != nil {
		return errors.New("invalid pool record: " + strings.Join(errs, "; "))
	}
	return nil
}
