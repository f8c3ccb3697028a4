package links

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// keySet is the elements wanted in each object (objLinks...), keyed by
// their key bytes: a link name, or the pair link . link in objWithin.
type keySet [objCount]map[string]bool

func (s keySet) empty() bool {
	for _, keys := range s {
		if len(keys) > 0 {
			return false
		}
	}
	return true
}

// forwardKeys turns rules into the objects' keys, refusing names no
// interface can have.
func forwardKeys(rules []ForwardRule) (keySet, error) {
	var s keySet
	for i := range s {
		s[i] = map[string]bool{}
	}
	for _, r := range rules {
		if r.Link == "" || len(r.Link) >= unix.IFNAMSIZ {
			return s, fmt.Errorf("link name %q: not an interface name", r.Link)
		}
		key := ifnameKey(r.Link)
		s[objWithin][key+key] = true
		s[objAll][key] = true
		if !r.Internal {
			s[objLinks][key] = true
		}
		if r.Internal || !r.HostRouting {
			s[objIsolated][key] = true
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

// elementOp adds or deletes elements of one map or set.
type elementOp struct {
	m     *nftables.Set
	del   bool
	elems []nftables.SetElement
}

// addAll adds every wanted element; adding one that is there changes
// nothing.
func addAll(objs [objCount]*nftables.Set, want keySet) []elementOp {
	var ops []elementOp
	for i, m := range objs {
		ops = append(ops, elementOp{m: m, elems: elementsOf(i, want[i])})
	}
	return ops
}

// elementDiff reads the maps and the set and returns what makes them hold
// exactly want: elements to delete, then to add. An object not in st is
// queued in this batch, and empty.
func elementDiff(c *nftables.Conn, st *forwardState, objs [objCount]*nftables.Set, want keySet) ([]elementOp, error) {
	var dels, adds []elementOp
	for i, m := range objs {
		have := map[string]bool{}
		if st.sets[m.Name] == m {
			var err error
			if have, err = objectKeys(c, m, i); err != nil {
				return nil, err
			}
		}
		del, add := diffKeys(have, want[i])
		dels = append(dels, elementOp{m: m, del: true, elems: del})
		adds = append(adds, elementOp{m: m, elems: elementsOf(i, add)})
	}
	return append(dels, adds...), nil
}

// diffKeys compares an object's keys (true: the element is as the object
// wants it) with the keys wanted: unwanted elements and those with another
// verdict go, and the keys missing (back) come in add.
func diffKeys(have, want map[string]bool) (del []nftables.SetElement, add map[string]bool) {
	for k, right := range have {
		if !right || !want[k] {
			del = append(del, nftables.SetElement{Key: []byte(k)})
		}
	}
	add = map[string]bool{}
	for k := range want {
		if !have[k] {
			add[k] = true
		}
	}
	return del, add
}

// objectKeys reads object i: each key, and whether its element carries the
// object's verdict.
func objectKeys(c *nftables.Conn, m *nftables.Set, i int) (map[string]bool, error) {
	have := map[string]bool{}
	elems, err := c.GetSetElements(m)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", m.Name, err)
	}
	want := elementVerdict(i)
	for _, e := range elems {
		code, ok := verdictCode(e.Val)
		have[string(e.Key)] = want == nil || (ok && code == int32(want.Kind))
	}
	return have, nil
}

// elementsOf makes object i's elements of keys, with its verdict.
func elementsOf(i int, keys map[string]bool) []nftables.SetElement {
	elems := make([]nftables.SetElement, 0, len(keys))
	for k := range keys {
		elems = append(elems, nftables.SetElement{Key: []byte(k), VerdictData: elementVerdict(i)})
	}
	return elems
}

// verdictCode reads a verdict map element's data, the attributes nested in
// NFTA_DATA_VERDICT, for NFTA_VERDICT_CODE (NF_ACCEPT, NF_DROP...).
func verdictCode(data []byte) (int32, bool) {
	for len(data) >= unix.NLA_HDRLEN {
		n := int(binary.NativeEndian.Uint16(data))
		typ := binary.NativeEndian.Uint16(data[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if n < unix.NLA_HDRLEN || n > len(data) {
			return 0, false
		}
		if typ == unix.NFTA_VERDICT_CODE && n == unix.NLA_HDRLEN+4 {
			return int32(binary.BigEndian.Uint32(data[unix.NLA_HDRLEN:])), true
		}
		data = data[min(len(data), (n+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1)):]
	}
	return 0, false
}

// elementsPerBatch bounds a netlink batch: a repair of thousands of
// elements goes in several, each far below the socket's buffer, each
// answered by one acknowledgement.
const elementsPerBatch = 512

// flushElements sends the queued layout changes and the elements of ops,
// in order, elementsPerBatch at most per batch: a small change is one
// commit, whatever the number of maps it touches (a commit that deletes
// costs the kernel an RCU grace period, some 10 ms).
func flushElements(c *nftables.Conn, ops []elementOp) error {
	queued := 0
	for _, op := range ops {
		for elems := op.elems; len(elems) > 0; {
			n := min(len(elems), elementsPerBatch-queued)
			apply := c.SetAddElements
			if op.del {
				apply = c.SetDeleteElements
			}
			if err := apply(op.m, elems[:n]); err != nil {
				return fmt.Errorf("%s %s: %w", familyName(op.m.Table.Family), op.m.Name, err)
			}
			elems, queued = elems[n:], queued+n
			if queued == elementsPerBatch {
				if err := c.Flush(); err != nil {
					return fmt.Errorf("update %s %s: %w", familyName(op.m.Table.Family), op.m.Name, err)
				}
				queued = 0
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("update the chains, maps and set: %w", err)
	}
	return nil
}
