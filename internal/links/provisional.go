package links

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// A link is created under a provisional name, marked, and only then given
// its own name: the kernel takes no mark (alias) in the message that
// creates a link, so a crash (kill -9) between the two would otherwise
// leave an unmarked link under a name every later create of it needs, one
// the plugin could not tell from a link it did not create. A provisional
// name is "vxp", 4 hex digits of the driver's name (instances with other
// names leave each other's alone), then 8 random ones: 15 characters.
const provisionalPrefix = "vxp"

// ProvisionalStem is the prefix of the provisional names of the driver called driver.
func ProvisionalStem(driver string) string {
	h := fnv.New32a()
	h.Write([]byte(driver))
	return fmt.Sprintf("%s%04x", provisionalPrefix, h.Sum32()&0xffff)
}

func (k *Kernel) provisionalName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("provisional link name: %w", err)
	}
	return ProvisionalStem(k.driver) + hex.EncodeToString(b[:]), nil
}

// isProvisional reports a name this driver gives links being created.
func (k *Kernel) isProvisional(name string) bool {
	return hasStem(name, ProvisionalStem(k.driver))
}

// hasStem reports a provisional name with the given stem.
func hasStem(name, stem string) bool {
	if len(name) != len(stem)+8 || !strings.HasPrefix(name, stem) {
		return false
	}
	_, err := hex.DecodeString(name[len(stem):])
	return err == nil
}

// Provisional lists the links left under a provisional name of this
// driver: creates a crash cut short.
func (s *Snapshot) Provisional() []string {
	var names []string
	stem := ProvisionalStem(s.k.driver) // once, not per link
	for name := range s.byName {
		if hasStem(name, stem) {
			names = append(names, name)
		}
	}
	return names
}

// DeleteProvisional deletes a link left under a provisional name of this
// driver; any other name is refused. Only call it before serving: while
// requests run, a provisional name is a create in progress.
func (k *Kernel) DeleteProvisional(name string) error {
	if !k.isProvisional(name) {
		return fmt.Errorf("delete %s: not a provisional name of this driver", name)
	}
	l, err := k.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := k.h.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
