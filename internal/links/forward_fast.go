package links

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
)

// errNoFilterTable reports a host with no nftables filter table at all:
// no firewall, or one AllowForward knows better (legacy iptables).
var errNoFilterTable = errors.New("no nftables filter table")

// AddForwardElements adds the given bridges to the exception's maps by
// name, reading none of the firewall: its cost does not grow with the
// host's firewall, where reading the FORWARD chain costs as much as the
// rules Docker's own networks put there. A family without a filter table
// has nothing to get past. It fails when a filter table lacks the maps (no
// exception laid out yet, a firewall that came up later), or when no
// family has a filter table: AllowForward then lays the maps out, or says
// why it cannot. It repairs nothing else; the periodic AllowForward does.
func (k *Kernel) AddForwardElements(rules []ForwardRule) error {
	keys, err := forwardKeys(rules)
	if err != nil {
		return fmt.Errorf("firewall exception for the plugin's bridges: %w", err)
	}
	added := false
	for _, family := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		ok, err := k.addElements(family, keys)
		if err != nil {
			return fmt.Errorf("firewall exception for the plugin's bridges (%s filter table): %w", familyName(family), err)
		}
		added = added || ok
	}
	if !added {
		return errNoFilterTable
	}
	return nil
}

// addElements adds keys to one family's maps in one batch; ok is false
// when the family has no filter table.
func (k *Kernel) addElements(family nftables.TableFamily, keys keySet) (ok bool, err error) {
	c, err := k.nft()
	if err != nil {
		return false, err
	}
	l := k.forwardLayout()
	table := &nftables.Table{Name: "filter", Family: family}
	for i, name := range []string{l.bridges, l.internal} {
		if len(keys[i]) > 0 {
			if err := c.SetAddElements(&nftables.Set{Table: table, Name: name, IsMap: true}, accepting(keys[i])); err != nil {
				return false, fmt.Errorf("map %s: %w", name, err)
			}
		}
	}
	err = c.Flush()
	if err == nil {
		return true, nil
	}
	if _, terr := c.ListTableOfFamily(table.Name, family); terr != nil {
		return false, nil // no filter table: no firewall in this family
	}
	return false, fmt.Errorf("add to the maps: %w", err)
}
