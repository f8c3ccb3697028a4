package links

import (
	"fmt"
	"strings"
)

// markPrefix starts every ownership mark. A mark reads
// "docker-vxlan-plugin/<driver name>/<role>/<id>".
const markPrefix = "docker-vxlan-plugin/"

// Role says what an owned link is for.
type Role string

// The roles of the links the plugin creates.
const (
	RoleBridge   Role = "bridge"   // a network's bridge (bridge attachment, internal segment)
	RoleVxlan    Role = "vxlan"    // a network's vxlan link
	RoleVlan     Role = "vlan"     // an 802.1Q sub-interface the plugin created; ID is its name
	RoleGateway  Role = "gateway"  // a network's host-side macvlan/ipvlan holding the gateway
	RoleEndpoint Role = "endpoint" // an endpoint's veth host end, or its macvlan/ipvlan child
)

// Mark is the ownership mark written into a link's alias.
type Mark struct {
	Driver string // driver name, so that two plugin instances never touch each other's links
	Role   Role
	ID     string // network ID, endpoint ID, or link name for RoleVlan
}

func (m Mark) String() string {
	return markPrefix + m.Driver + "/" + string(m.Role) + "/" + m.ID
}

// parseMark reads a mark from a link alias; ok is false for any alias that is
// not one of ours.
func parseMark(alias string) (m Mark, ok bool) {
	rest, found := strings.CutPrefix(alias, markPrefix)
	if !found {
		return Mark{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return Mark{}, false
	}
	switch r := Role(parts[1]); r {
	case RoleBridge, RoleVxlan, RoleVlan, RoleGateway, RoleEndpoint:
		return Mark{Driver: parts[0], Role: r, ID: parts[2]}, true
	}
	return Mark{}, false
}

// NotOwnedError reports a link that exists under a name the plugin wants but
// does not carry the plugin's mark.
type NotOwnedError struct {
	Name  string
	Alias string
}

func (e *NotOwnedError) Error() string {
	if e.Alias == "" {
		return fmt.Sprintf("interface %q already exists and was not created by this plugin; choose another name", e.Name)
	}
	return fmt.Sprintf("interface %q already exists and belongs to %q, not to this network; choose another name", e.Name, e.Alias)
}

// Owner returns the mark of the link called name when it carries one of
// any plugin instance's marks; ok is false for other links and missing ones.
func (k *Kernel) Owner(name string) (m Mark, ok bool) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		return Mark{}, false
	}
	return parseMark(l.Attrs().Alias)
}
