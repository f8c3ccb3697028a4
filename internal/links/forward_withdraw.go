package links

import (
	"fmt"

	"github.com/google/nftables"
)

// WithdrawForward takes the given links out of the firewall exception: a
// few elements per link, by name, leaving the others and the chains as
// they are and reading none of the rules, so its cost does not grow with
// the host's rules nor with the number of networks. A link the maps do not
// hold is not an error: each element is added and deleted in the same
// batch (adding one that is there changes nothing), so the delete always
// finds it and the batch takes away only what was there. A family without
// the maps has nothing to withdraw.
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

// withdrawElements removes keys from one family's maps and set in one
// batch. Which of them exist is read once: the table's sets are the
// plugin's few (iptables-nft makes none).
func (k *Kernel) withdrawElements(family nftables.TableFamily, keys keySet) error {
	c, err := k.nft()
	if err != nil {
		return err
	}
	table, found := filterTable(c, family)
	if !found {
		return nil // no firewall in this family
	}
	sets, err := c.GetSets(table)
	if err != nil {
		return fmt.Errorf("list sets: %w", err)
	}
	exists := map[string]bool{}
	for _, s := range sets {
		exists[s.Name] = true
	}
	for i, obj := range k.forwardLayout().objectSpecs(table) {
		if len(keys[i]) == 0 || !exists[obj.Name] {
			continue // nothing to withdraw there
		}
		elems := elementsOf(i, keys[i])
		if err := c.SetAddElements(obj, elems); err != nil {
			return fmt.Errorf("%s: %w", obj.Name, err)
		}
		if err := c.SetDeleteElements(obj, elems); err != nil {
			return fmt.Errorf("%s: %w", obj.Name, err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("update the maps: %w", err)
	}
	return nil
}
