package links

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// keySet is the map elements wanted, keyed by their key bytes: a bridge
// name in the bridges map, the pair bridge . bridge in the internal one.
type keySet [2]map[string]bool

func (s keySet) empty() bool { return len(s[0]) == 0 && len(s[1]) == 0 }

// forwardKeys turns rules into map keys, refusing names no interface can
// have.
func forwardKeys(rules []ForwardRule) (keySet, error) {
	s := keySet{{}, {}}
	for _, r := range rules {
		if r.Bridge == "" || len(r.Bridge) >= unix.IFNAMSIZ {
			return s, fmt.Errorf("bridge name %q: not an interface name", r.Bridge)
		}
		if r.Internal {
			s[1][ifnameKey(r.Bridge)+ifnameKey(r.Bridge)] = true
		} else {
			s[0][ifnameKey(r.Bridge)] = true
		}
	}
	return s, nil
}

// ifnameKey is a name as the kernel compares it: IFNAMSIZ bytes, zero padded.
func ifnameKey(name string) string {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return string(b)
}

// elementOp adds or deletes elements of one map.
type elementOp struct {
	m     *nftables.Set
	del   bool
	elems []nftables.SetElement
}

// addAll adds every wanted element; adding one that is there changes
// nothing.
func addAll(maps [2]*nftables.Set, want keySet) []elementOp {
	var ops []elementOp
	for i, m := range maps {
		ops = append(ops, elementOp{m: m, elems: accepting(want[i])})
	}
	return ops
}

// elementDiff reads both maps and returns what makes them hold exactly
// want: elements to delete, then to add. A map not in st is queued in this
// batch, and empty.
func elementDiff(c *nftables.Conn, st *forwardState, maps [2]*nftables.Set, want keySet) ([]elementOp, error) {
	var dels, adds []elementOp
	for i, m := range maps {
		have := map[string]bool{}
		if st.maps[m.Name] == m {
			var err error
			if have, err = mapKeys(c, m); err != nil {
				return nil, err
			}
		}
		del, add := diffKeys(have, want[i])
		dels = append(dels, elementOp{m: m, del: true, elems: del})
		adds = append(adds, elementOp{m: m, elems: add})
	}
	return append(dels, adds...), nil
}

// diffKeys compares a map's keys (true: the verdict is accept) with the
// keys wanted: unwanted elements and those with another verdict go, and
// what is missing comes (back) with accept.
func diffKeys(have, want map[string]bool) (del, add []nftables.SetElement) {
	for k, accepts := range have {
		if !accepts || !want[k] {
			del = append(del, nftables.SetElement{Key: []byte(k)})
		}
	}
	missing := map[string]bool{}
	for k := range want {
		if !have[k] {
			missing[k] = true
		}
	}
	return del, accepting(missing)
}

// mapKeys reads a map: each key, and whether its verdict is accept.
func mapKeys(c *nftables.Conn, m *nftables.Set) (map[string]bool, error) {
	have := map[string]bool{}
	elems, err := c.GetSetElements(m)
	if err != nil {
		return nil, fmt.Errorf("list map %s: %w", m.Name, err)
	}
	for _, e := range elems {
		have[string(e.Key)] = isAccept(e.Val)
	}
	return have, nil
}

func accepting(keys map[string]bool) []nftables.SetElement {
	elems := make([]nftables.SetElement, 0, len(keys))
	for k := range keys {
		elems = append(elems, nftables.SetElement{Key: []byte(k), VerdictData: &expr.Verdict{Kind: expr.VerdictAccept}})
	}
	return elems
}

// nfAccept is NF_ACCEPT, the verdict code of accept.
const nfAccept = 1

// isAccept reads a verdict map element's data, the attributes nested in
// NFTA_DATA_VERDICT, for NFTA_VERDICT_CODE = NF_ACCEPT.
func isAccept(data []byte) bool {
	for len(data) >= unix.NLA_HDRLEN {
		n := int(binary.NativeEndian.Uint16(data))
		typ := binary.NativeEndian.Uint16(data[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if n < unix.NLA_HDRLEN || n > len(data) {
			return false
		}
		if typ == unix.NFTA_VERDICT_CODE && n == unix.NLA_HDRLEN+4 {
			return int32(binary.BigEndian.Uint32(data[unix.NLA_HDRLEN:])) == nfAccept
		}
		data = data[min(len(data), (n+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1)):]
	}
	return false
}

// elementsPerBatch bounds a netlink batch: a repair of thousands of
// elements goes in several, each far below the socket's buffer, each
// answered by one acknowledgement.
const elementsPerBatch = 512

// flushElements sends the queued layout changes with the first elements,
// then the rest in batches of elementsPerBatch, each one commit.
func flushElements(c *nftables.Conn, ops []elementOp) error {
	for _, op := range ops {
		for elems := op.elems; len(elems) > 0; {
			n := min(len(elems), elementsPerBatch)
			apply := c.SetAddElements
			if op.del {
				apply = c.SetDeleteElements
			}
			if err := apply(op.m, elems[:n]); err != nil {
				return fmt.Errorf("%s map %s: %w", familyName(op.m.Table.Family), op.m.Name, err)
			}
			if err := c.Flush(); err != nil {
				return fmt.Errorf("update %s map %s: %w", familyName(op.m.Table.Family), op.m.Name, err)
			}
			elems = elems[n:]
		}
	}
	if err := c.Flush(); err != nil { // the layout alone, when no element changed
		return fmt.Errorf("update the chain and its maps: %w", err)
	}
	return nil
}
