package links

import (
	"fmt"

	"github.com/google/nftables"
)

// WithdrawForward takes the given bridges out of the firewall exception:
// one map element per bridge, by name, leaving the others and the chain as
// they are and reading none of the firewall, so its cost does not grow
// with the host's rules. A bridge the maps do not hold is not an error:
// each element is added and deleted in the same batch (adding one that is
// there changes nothing), so the delete always finds it and the batch
// takes away only what was there. A family without the maps has nothing
// to withdraw.
func (k *Kernel) WithdrawForward(rules []ForwardRule) error {
	keys, err := forwardKeys(rules)
	if err != nil {
		return fmt.Errorf("withdraw firewall exception: %w", err)
	}
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if err := k.withdrawElements(family, keys); err != nil {
			return fmt.Errorf("withdraw firewall exception (%s filter table): %w", familyName(family), err)
		}
	}
	return nil
}

// withdrawElements removes keys from one family's maps in one batch.
func (k *Kernel) withdrawElements(family nftables.TableFamily, keys keySet) error {
	c, err := k.nft()
	if err != nil {
		return err
	}
	table, found := filterTable(c, family)
	if !found {
		return nil // no firewall in this family
	}
	l := k.forwardLayout()
	for i, name := range []string{l.bridges, l.internal} {
		if len(keys[i]) == 0 {
			continue
		}
		m, elems := &nftables.Set{Table: table, Name: name, IsMap: true}, accepting(keys[i])
		if _, err := c.GetSetByName(table, name); err != nil {
			continue // no such map: nothing to withdraw
		}
		if err := c.SetAddElements(m, elems); err != nil {
			return fmt.Errorf("map %s: %w", name, err)
		}
		if err := c.SetDeleteElements(m, elems); err != nil {
			return fmt.Errorf("map %s: %w", name, err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("update the maps: %w", err)
	}
	return nil
}
