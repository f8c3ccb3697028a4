package links

import (
	"fmt"

	"github.com/google/nftables"
)

// WithdrawForward takes the given bridges out of the firewall exception:
// one map element per bridge, whatever the number of bridges, leaving the
// others and the chain as they are. A bridge the maps do not hold is not
// an error: each element is added and deleted in the same batch (adding
// one that is there changes nothing), so the delete always finds it and
// the batch takes away only what was there.
func (k *Kernel) WithdrawForward(rules []ForwardRule) error {
	if len(rules) == 0 {
		return nil
	}
	keys, err := forwardKeys(rules)
	if err != nil {
		return fmt.Errorf("withdraw firewall exception: %w", err)
	}
	c, err := k.nft()
	if err != nil {
		return fmt.Errorf("withdraw firewall exception: %w", err)
	}
	queued := false
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		ok, err := k.queueWithdraw(c, family, keys)
		if err != nil {
			return fmt.Errorf("withdraw firewall exception (%s filter table): %w", familyName(family), err)
		}
		queued = queued || ok
	}
	if !queued {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("withdraw firewall exception: %w", err)
	}
	return nil
}

// queueWithdraw queues the removal of keys from one family's maps; ok
// reports anything queued.
func (k *Kernel) queueWithdraw(c *nftables.Conn, family nftables.TableFamily, keys keySet) (ok bool, err error) {
	l := k.forwardLayout()
	st, err := readForward(c, family, l)
	if noNFTables(err) {
		return false, nil
	}
	if err != nil || st.forward == nil {
		return false, err
	}
	for i, name := range []string{l.bridges, l.internal} {
		m := st.maps[name]
		if m == nil || !m.IsMap || len(keys[i]) == 0 {
			continue
		}
		elems := accepting(keys[i])
		if err := c.SetAddElements(m, elems); err != nil {
			return false, fmt.Errorf("map %s: %w", m.Name, err)
		}
		if err := c.SetDeleteElements(m, elems); err != nil {
			return false, fmt.Errorf("map %s: %w", m.Name, err)
		}
		ok = true
	}
	return ok, nil
}
