#!/usr/bin/env bash
# End to end, swarm: two engines (two "hosts") in one swarm, the managed
# plugin enabled with scope=global on both, a swarm-scoped VXLAN network and
# a 2-replica service spread over both nodes. Tasks reach each other across
# hosts (flood list from swarm node discovery, no Peers for the nodes) and
# the router (named in Peers), with swarm-allocated addresses and no
# gateway on the hosts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
LAUNCHER=managed
. "$(dirname "$0")/launch.sh"

ROUTER_VTEP=192.0.2.254

# The underlay: a switch (bridge) in the router's namespace, one port per host.
router_add r1
router_exec r1 ip link add sw type bridge
router_exec r1 ip addr add "$ROUTER_VTEP/24" dev sw
router_exec r1 ip link set sw up
plug_into_switch() { # HOST ADDR
	host_netexec "$1" ip link add ul0 type veth peer name "p-$1" netns "$(host_pid r1)"
	host_netexec "$1" ip addr add "$2/24" dev ul0
	host_netexec "$1" ip link set ul0 up
	router_exec r1 ip link set "p-$1" master sw up
}

host_start h1
host_start h2
plug_into_switch h1 192.0.2.1
plug_into_switch h2 192.0.2.2

# The existing segment on the router: VNI 50, flooding to both hosts.
router_vxlan r1 50 "$ROUTER_VTEP" sw 198.51.100.1/24 192.0.2.1 192.0.2.2

# Plugins first: a node tells the swarm which network plugins it has when it
# joins, and the scheduler places tasks only on nodes that have the driver.
for h in h1 h2; do driver_install "$h" scope=global; done
check "swarm init on h1" host_docker h1 swarm init --advertise-addr 192.0.2.1
token=$(host_docker h1 swarm join-token -q worker)
check "h2 joins the swarm" host_docker h2 swarm join --token "$token" 192.0.2.1:2377

check "swarm-scoped network" host_docker h1 network create -d "$DRIVER" --scope swarm \
	-o VxlanId=50 -o Peers="$ROUTER_VTEP" --subnet 198.51.100.0/24 --gateway 198.51.100.1 swnet
check "2-replica service on the network" host_docker h1 service create -d --name svc --replicas 2 \
	--network swnet --no-resolve-image busybox:local sleep 100000

# task_on H: the ID of the service's task container on host H.
task_on() { host_docker "$1" ps -q --filter label=com.docker.swarm.service.name=svc; }
one_task_each() { [[ -n $(task_on h1) && -n $(task_on h2) ]]; }
check "one task runs on each node" wait_for 60 one_task_each
t1=$(task_on h1) t2=$(task_on h2)
ip_of() { host_docker "$1" inspect -f '{{(index .NetworkSettings.Networks "swnet").IPAddress}}' "$2"; }
ip2=$(ip_of h2 "$t2")
in_subnet() { [[ $1 == 198.51.100.* && $1 != 198.51.100.1 ]]; }
check "tasks got swarm-allocated addresses ($(ip_of h1 "$t1"), $ip2)" in_subnet "$ip2"
check "the task on h1 pings the task on h2 across the tunnel" host_docker h1 exec "$t1" ping -c 1 -W 2 "$ip2"
check "the task on h2 pings the router" host_docker h2 exec "$t2" ping -c 1 -W 2 198.51.100.1
flood_has() { local f; f=$(host_netexec h1 bridge fdb show | grep '^00:00:00:00:00:00'); [[ $f == *"dst $1 "* ]] || { echo "$f"; return 1; }; }
check "h1's flood list has h2 from swarm discovery" flood_has 192.0.2.2
check "h1's flood list has the router from Peers" flood_has "$ROUTER_VTEP"
no_gateway_on_host() { ! host_netexec h1 ip -4 addr | grep -q 198.51.100.1; }
check "no gateway address on the host in global scope" no_gateway_on_host

check "service removed" host_docker h1 service rm svc
gone() { [[ -z $(task_on h1) && -z $(task_on h2) ]]; }
check "tasks gone" wait_for 60 gone
check "network removed" host_docker h1 network rm swnet
no_links() { [[ $(host_netexec "$1" ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true) == 0 ]]; }
check "no link of the plugin left on h1" wait_for 30 no_links h1
check "no link of the plugin left on h2" wait_for 30 no_links h2

summary
