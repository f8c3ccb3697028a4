#!/usr/bin/env bash
# End to end, macvlan attachment: containers on a mode=macvlan VXLAN network
# reach each other and the router; on a physical parent, Docker's builtin
# macvlan driver and ours give containers the same view (addresses, routes,
# MTU, link type).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUTER_VTEP=192.0.2.254
HOST_VTEP=192.0.2.1

cx() { local c=$1; shift; host_docker h1 exec "$c" "$@"; }
ping1() { cx "$1" ping -c 1 -W 2 "$2"; }
# cip C ARGS...: iproute2's ip inside container C's network namespace (the
# image's busybox ip does not print link details).
cip() {
	local key
	key=$(host_docker h1 inspect -f '{{.NetworkSettings.SandboxKey}}' "$1"); shift
	host_exec h1 nsenter --net="$key" ip "$@"
}
owned_links() { host_netexec h1 ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }
no_owned_links() { [[ $(owned_links) == 0 ]]; }

# view C NET: the container's interface, addresses and routes with the
# network's own numbers replaced by placeholders.
view() {
	local c=$1 ip gw subnet
	ip=$(container_ip h1 "$c" "$2")
	gw=$(host_docker h1 network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$2")
	subnet=$(host_docker h1 network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$2")
	{
		cip "$c" -d -o link show eth0 | grep -o 'mtu [0-9]*\|macvlan mode [a-z]*'
		cip "$c" -o -4 addr show eth0 | awk '{print $4}'
		cip "$c" -4 route
	} | sed "s|$subnet|SUBNET|g; s|$ip|ADDR|g; s|$gw|GW|g"
}
same_view() {
	local a b
	a=$(view "$1" "$2"); b=$(view "$3" "$4")
	[[ $a == "$b" ]] || { diff <(echo "$a") <(echo "$b"); return 1; }
	echo "$a"
}

host_start h1
router_add r1
read -r _ ul_r1 < <(underlay_link h1 r1 "$HOST_VTEP" "$ROUTER_VTEP")
router_vxlan r1 77 "$ROUTER_VTEP" "$ul_r1" 198.51.100.1/24 "$HOST_VTEP"

# A physical parent: lan0 on the host, its other end a router with a
# gateway in each of two subnets.
underlay_link h1 r1 203.0.113.10/30 203.0.113.9/30 lan0 rlan0 >/dev/null
router_exec r1 ip addr add 203.0.113.65/26 dev rlan0
router_exec r1 ip addr add 203.0.113.129/26 dev rlan0

plugin_start h1

check "macvlan network on VXLAN" host_docker h1 network create -d vxlan -o VxlanId=77 -o mode=macvlan \
	-o Peers="$HOST_VTEP,$ROUTER_VTEP" -o hostGateway=false --subnet 198.51.100.0/24 --gateway 198.51.100.1 mv
for c in m1 m2; do
	check "run $c" host_docker h1 run -d --name "$c" --network mv busybox:local sleep 100000
done
check "m1 pings m2 (macvlan bridge mode)" ping1 m1 "$(container_ip h1 m2 mv)"
check "m1 pings the router across the tunnel" ping1 m1 198.51.100.1
check "the router pings m2" router_exec r1 ping -c 1 -W 2 "$(container_ip h1 m2 mv)"
is_macvlan_1450() { local l; l=$(cip m1 -d link show eth0); [[ $l == *'mtu 1450'*'macvlan mode bridge'* ]] || { echo "$l"; return 1; }; }
check "m1's eth0 is a macvlan with MTU 1450" is_macvlan_1450

check "builtin macvlan network on lan0" host_docker h1 network create -d macvlan -o parent=lan0 \
	--subnet 203.0.113.64/26 --gateway 203.0.113.65 builtin
check "our macvlan network on the same parent" host_docker h1 network create -d vxlan -o parent=lan0 -o mode=macvlan \
	--subnet 203.0.113.128/26 --gateway 203.0.113.129 ours
check "run b1 on the builtin driver" host_docker h1 run -d --name b1 --network builtin busybox:local sleep 100000
check "run o1 on ours" host_docker h1 run -d --name o1 --network ours busybox:local sleep 100000
check "b1 reaches its router" ping1 b1 203.0.113.65
check "o1 reaches its router" ping1 o1 203.0.113.129
check "same container view as the builtin macvlan driver" same_view b1 builtin o1 ours
# create_fails NEEDLE ARGS...: docker network create fails, naming NEEDLE.
create_fails() {
	local needle=$1 out; shift
	if out=$(host_docker h1 network create -d vxlan "$@" 2>&1); then
		echo "unexpectedly created: $out"; return 1
	fi
	[[ $out == *"$needle"* ]] || { echo "error does not name $needle: $out"; return 1; }
}
check "an ipvlan network on our macvlan parent is refused" create_fails lan0 -o parent=lan0 -o mode=ipvlan --subnet 192.0.2.128/26 bad1
check "a missing parent is refused, naming it" create_fails nosuch0 -o parent=nosuch0.10 -o mode=macvlan bad2
check "mode=bridge on a parent is refused" create_fails mode=bridge -o parent=lan0 bad3

check "containers removed" host_docker h1 rm -f m1 m2 b1 o1
check "networks removed" host_docker h1 network rm mv ours builtin
check "no link of the plugin is left behind" no_owned_links
check "lan0 is still there" host_netexec h1 ip link show lan0

summary
