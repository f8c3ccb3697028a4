package links

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
)

// errNoFilterTable reports a host with no nftables filter table at all:
// no firewall, or one AllowForward knows better (legacy iptables).
var errNoFilterTable = errors.New("no nftables filter table")

// AddForwardElements adds the given links to the exception's maps and set
// by name, reading none of the firewall: its cost does not grow with the
// host's firewall, where reading the FORWARD chain costs as much as the
// rules Docker's own networks put there, nor with the number of networks.
// A family without a filter table has nothing to get past. It fails when
// a filter table lacks the maps (no exception laid out yet, a firewall that
// came up later, the layout of an earlier version), or when no family has
// a filter table: AllowForward then lays the maps out, or says why it
// cannot. It repairs nothing else; the periodic AllowForward does.
func (k *Kernel) AddForwardElements(rules []ForwardRule) error {
	keys, err := forwardKeys(rules)
	if err != nil {
		return fmt.Errorf("firewall exception for the plugin's networks: %w", err)
	}
	added := false
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		ok, err := k.addElements(family, keys)
		if err != nil {
			return fmt.Errorf("firewall exception for the plugin's networks (%s filter table): %w", familyName(family), err)
		}
		added = added || ok
	}
	if !added {
		return errNoFilterTable
	}
	return nil
}

// addElements adds keys to one family's maps and set in one batch; ok is
// false when the family has no filter table. The table is looked up first:
// a batch the kernel refuses costs it an RCU grace period (some 10 ms).
func (k *Kernel) addElements(family nftables.TableFamily, keys keySet) (ok bool, err error) {
	c, err := k.nft()
	if err != nil {
		return false, err
	}
	table, found := filterTable(c, family)
	if !found {
		return false, nil // no firewall in this family
	}
	for i, obj := range k.forwardLayout().objectSpecs(table) {
		if len(keys[i]) > 0 {
			if err := c.SetAddElements(obj, elementsOf(i, keys[i])); err != nil {
				return false, fmt.Errorf("%s: %w", obj.Name, err)
			}
		}
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("add to the maps: %w", err)
	}
	return true, nil
}

// filterTable looks up a family's filter table by name.
func filterTable(c *nftables.Conn, family nftables.TableFamily) (*nftables.Table, bool) {
	t, err := c.ListTableOfFamily("filter", family)
	return t, err == nil
}
