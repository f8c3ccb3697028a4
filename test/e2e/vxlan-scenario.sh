#!/usr/bin/env bash
# End to end: a real dockerd drives the plugin. Containers on a VXLAN
# network reach each other and a "router" with a hand-made vxlan link on the
# same VNI (the existing segment of the README's quick start), through
# plugin kill -9, plugin restart and dockerd restart, and are removed cleanly.
# One body for the three ways to run the plugin: LAUNCHER=host|container|
# managed (launch.sh); the numbered scripts set it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/launch.sh"
echo "# launcher: $LAUNCHER, driver: $DRIVER"

ROUTER_VTEP=192.0.2.254
HOST_VTEP=192.0.2.1

# owned_links HOST: how many links carry the plugin's ownership mark.
owned_links() { host_netexec "$1" ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }
no_owned_links() { [[ $(owned_links "$1") == 0 ]]; }

# cx CONTAINER CMD...: run CMD in a container on h1.
cx() { local c=$1; shift; host_docker h1 exec "$c" "$@"; }
ping1() { cx "$1" ping -c 1 -W 2 "$2"; }
router_ping() { router_exec r1 ping -c 1 -W 2 "$1"; }

# default_route C FAMILY WANT: C's default route (ip -4 or -6) contains WANT.
default_route() { [[ $(cx "$1" ip "$2" route show default) == *"$3"* ]] || { cx "$1" ip "$2" route; return 1; }; }
only_eth0() { [[ $(cx "$1" ls /sys/class/net | tr '\n' ' ') == 'eth0 lo ' ]]; }
router_learned() { local fdb; fdb=$(router_exec r1 bridge fdb show dev vx42); [[ $fdb == *"$1 dst $HOST_VTEP"* ]] || { echo "$fdb"; return 1; }; }
running() { [[ $(host_docker h1 inspect -f '{{.State.Running}}' "$1") == true ]]; }
no_network_named() { local l; l=$(host_docker h1 network ls --format '{{.Name}}'); ! grep -q "^$1" <<<"$l"; }
second_instance_refused() {
	local out
	if out=$(host_exec h1 timeout 10 "$PLUGIN_BIN" --socket /run/second.sock 2>&1); then
		echo "second instance ran: $out"; return 1
	fi
	[[ $out == *"in use by another docker-vxlan-plugin"* ]] || { echo "$out"; return 1; }
}
no_plugin_process() { [[ -z $(driver_pids h1) ]]; }
# inspect_says WANT_EXIT TEXT: `docker-vxlan-plugin inspect`, asking the
# running plugin, exits WANT_EXIT and prints TEXT.
inspect_says() {
	local out rc=0
	out=$(host_exec h1 "$PLUGIN_BIN" inspect --socket "$(driver_socket h1)" 2>&1) || rc=$?
	[[ $rc == "$1" && $out == *"$2"* ]] || { echo "exit $rc: $out"; return 1; }
}
socket_gone() { [[ ! -S $(host_path h1 "$PLUGIN_SOCK") ]]; }

# create_fails NEEDLE ARGS...: docker network create fails, naming NEEDLE.
create_fails() {
	local needle=$1 out; shift
	if out=$(host_docker h1 network create -d "$DRIVER" "$@" 2>&1); then
		echo "unexpectedly created: $out"; return 1
	fi
	grep -q -- "$needle" <<<"$out" || { echo "error does not name $needle: $out"; return 1; }
}

host_start h1
router_add r1
read -r _ ul_r1 < <(underlay_link h1 r1 "$HOST_VTEP" "$ROUTER_VTEP")

# The existing segment: VNI 42 on the router, which routes for 198.51.100.0/24.
router_vxlan r1 42 "$ROUTER_VTEP" "$ul_r1" 198.51.100.1/24 "$HOST_VTEP"

driver_install h1

check "network create with the quick start's options" \
	host_docker h1 network create -d "$DRIVER" --subnet 198.51.100.0/24 --gateway 198.51.100.1 \
	-o VxlanId=42 -o Peers="$HOST_VTEP,$ROUTER_VTEP" -o hostGateway=false seg42
for c in c1 c2; do
	check "run $c" host_docker h1 run -d --restart always --name "$c" --network seg42 busybox:local sleep 100000
done
c2ip=$(container_ip h1 c2 seg42)
c1ip=$(container_ip h1 c1 seg42)
check "c1 pings c2" ping1 c1 "$c2ip"
check "c1 pings the router across the tunnel" ping1 c1 198.51.100.1
check "the router pings c1: the container is a host on the segment" router_ping "$c1ip"
check "eth0 MTU is underlay 1500 - 50" test "$(cx c1 cat /sys/class/net/eth0/mtu)" = 1450
check "default route is the router" default_route c1 -4 "via 198.51.100.1 dev eth0"
check "container has only lo and eth0 (no docker_gwbridge leg)" only_eth0 c1
check_fails "no docker_gwbridge on the host" host_netexec h1 ip link show docker_gwbridge
c1mac=$(host_docker h1 inspect -f '{{(index .NetworkSettings.Networks "seg42").MacAddress}}' c1)
check "the router learned c1's MAC $c1mac behind this host's VTEP" \
	router_learned "$c1mac"

check "inspect: the kernel matches the store" inspect_says 0 "kernel matches store: yes"

# Announcements: a router that cached another MAC for an address learns the
# new container's MAC from its gratuitous ARP, with no traffic of its own.
router_neigh_is() { local n; n=$(router_exec r1 ip neigh show 198.51.100.50 dev vx42); [[ $n == *"$1"* ]] || { echo "$n"; return 1; }; }
router_exec r1 ip neigh replace 198.51.100.50 lladdr 02:00:00:00:00:99 dev vx42 nud stale
check "positive control: the router caches another MAC for 198.51.100.50" router_neigh_is 02:00:00:00:00:99
check "run c5 at 198.51.100.50" host_docker h1 run -d --name c5 --network seg42 --ip 198.51.100.50 busybox:local sleep 100000
check "the router learned c5's MAC from its gratuitous ARP" wait_for 5 router_neigh_is 02:42:c6:33:64:32
check "c5 removed" host_docker h1 rm -f c5

# Bad input fails at network create and names the option.
check "VxlanId=0 is refused, naming VxlanId" create_fails VxlanId -o VxlanId=0 bad1
check "an unknown option is refused, naming it" create_fails Bogus -o VxlanId=5 -o Bogus=1 bad2
check "Port=99999 is refused, naming Port" create_fails Port -o VxlanId=5 -o Port=99999 bad3
check "the same VNI twice is refused" create_fails "VxlanId 42" -o VxlanId=42 bad4
check "a 16-character vxlanName is refused" create_fails vxlanName -o VxlanId=5 -o vxlanName=abcdefghijklmnop bad5
check "refused creates leave no network behind" no_network_named bad

# Dual stack with the host as gateway.
# Dual stack and two IPv4 subnets, with the host as gateway of each.
check "dual-stack network with two IPv4 subnets and host gateway" \
	host_docker h1 network create -d "$DRIVER" --ipv6 -o VxlanId=43 \
	--subnet 203.0.113.0/25 --gateway 203.0.113.1 --subnet 203.0.113.128/25 --gateway 203.0.113.129 \
	--subnet 2001:db8:43::/64 --gateway 2001:db8:43::1 dual
check "run c3 on the dual-stack network" host_docker h1 run -d --name c3 --network dual --ip 203.0.113.10 busybox:local sleep 100000
check "run c4 in the second IPv4 subnet" host_docker h1 run -d --name c4 --network dual --ip 203.0.113.130 busybox:local sleep 100000
check "c3 pings its IPv4 gateway on the host bridge" ping1 c3 203.0.113.1
check "c4 routes via the second subnet's gateway" default_route c4 -4 "via 203.0.113.129"
check "c4 pings its gateway" ping1 c4 203.0.113.129
check "c4 pings c3 through the host" ping1 c4 "$(container_ip h1 c3 dual)"
check "c3 pings its IPv6 gateway on the host bridge" cx c3 ping -6 -c 1 -W 2 2001:db8:43::1
check "c3 routes IPv6 via the host" default_route c3 -6 "via 2001:db8:43::1"

check "a second instance on the same state file fails fast, saying why" second_instance_refused

# kill -9: the data path lives in the kernel, the state in the store.
driver_crash h1
check "after plugin kill -9, c1 still pings the router" ping1 c1 198.51.100.1
driver_recover h1
check "after plugin restart, c1 pings c2" ping1 c1 "$c2ip"
check "after plugin restart, a new container joins" host_docker h1 run --rm --network seg42 busybox:local ping -c 1 -W 2 198.51.100.1
check "after plugin restart, c3 and c4 are stopped and removed" host_docker h1 rm -f c3 c4
check "after plugin restart, the dual network is removed" host_docker h1 network rm dual

# An upgrade: a new plugin instance takes over the state.
driver_replace h1
check "after replacing the plugin, c1 pings c2" ping1 c1 "$c2ip"
check "after replacing the plugin, a new container joins" host_docker h1 run --rm --network seg42 busybox:local ping -c 1 -W 2 198.51.100.1

# dockerd restart: containers come back (restart=always) and rejoin.
dockerd_restart h1
check "after dockerd restart, c1 is running again" wait_for 30 running c1
check "after dockerd restart, c1 pings the router" wait_for 10 ping1 c1 198.51.100.1
check "after dockerd restart, c1 pings c2" wait_for 10 ping1 c1 "$(container_ip h1 c2 seg42)"

# Clean removal.
check "containers stop and are removed" host_docker h1 rm -f c1 c2
check "network rm" host_docker h1 network rm seg42
check "no link of the plugin is left behind" no_owned_links h1
check "the router's own vxlan link is untouched" router_exec r1 ip link show vx42
check "inspect: nothing owned, nothing left over" inspect_says 0 "kernel matches store: yes"

driver_stop h1
check "the plugin stopped" no_plugin_process
[[ $LAUNCHER != host ]] || check "SIGTERM removes the socket" socket_gone

summary
