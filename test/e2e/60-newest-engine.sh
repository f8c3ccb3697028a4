#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# engines: newest
# End to end, what only the newest engine (the Docker 29 line) does with the
# plugin: an IPv6-only network (--ipv4=false); GwAllocCheck, so that no
# gateway address is reserved for ipvlan l3; `docker network connect` and
# `disconnect` of running containers between the plugin's network and a
# builtin bridge network, the default route following --gw-priority; the
# managed plugin across a dockerd restart with --live-restore.
set -euo pipefail
E2E_ENGINE=newest
. "$(dirname "$0")/lib.sh"
LAUNCHER=managed
. "$(dirname "$0")/launch.sh"

cx() { local c=$1; shift; host_docker h1 exec "$c" "$@"; }
ping1() { cx "$1" ping -c 1 -W 2 "$2"; }
has() { # has WANT CMD...: CMD's output contains WANT
	local want=$1 out; shift
	out=$("$@" 2>&1) || { echo "$out"; return 1; }
	[[ $out == *"$want"* ]] || { echo "no '$want' in: $out"; return 1; }
}
lacks() { # lacks TEXT CMD...: CMD succeeds and its output does not contain TEXT
	local text=$1 out; shift
	out=$("$@" 2>&1) || { echo "$out"; return 1; }
	[[ $out != *"$text"* ]] || { echo "'$text' in: $out"; return 1; }
}
gateways() { host_docker "$1" network inspect -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' "$2"; }
owned_links() { host_netexec "$1" ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }
interfaces() { cx "$1" ls /sys/class/net | tr '\n' ' '; }
plugin_called() { grep -q "method=NetworkDriver.$1 " "$E2E_TMP/h1/plugin.log"; }
# run_fails NEEDLE... -- ARGS...: docker run ARGS fails, naming every NEEDLE.
run_fails() {
	local needles=() n out
	while [[ $1 != -- ]]; do needles+=("$1"); shift; done
	shift
	if out=$(host_docker h1 run "$@" 2>&1); then echo "unexpectedly ran: $out"; return 1; fi
	for n in "${needles[@]}"; do [[ $out == *"$n"* ]] || { echo "no '$n' in: $out"; return 1; }; done
}
# kernel_has_ipvlan: an ipvlan link can be made in h1 (not on these
# machines' kernel; the VM tests cover ipvlan links there).
kernel_has_ipvlan() {
	host_netexec h1 ip link add ipvprobe0 type veth peer name ipvprobe1 || return 1
	local rc=0
	host_netexec h1 ip link add ipvprobe2 link ipvprobe0 type ipvlan mode l3 2>/dev/null || rc=$?
	host_netexec h1 ip link del ipvprobe0
	return "$rc"
}

host_start h1
plugin_start h1 --debug
check "the engine is the newest one" has "2.0.0-beta" host_docker h1 version -f '{{.Server.Version}}'

# ---- IPv6-only network: the engine allows --ipv4=false for remote drivers.
check "IPv6-only network create (--ipv4=false)" host_docker h1 network create -d vxlan \
	--ipv4=false --ipv6 --subnet 2001:db8:61::/64 -o VxlanId=61 v6only
check "inspect: IPv4 off, IPv6 on" has "false true" \
	host_docker h1 network inspect -f '{{.EnableIPv4}} {{.EnableIPv6}}' v6only
for c in v1 v2; do
	check "run $c on the IPv6-only network" host_docker h1 run -d --name "$c" --net v6only busybox:local sleep 100000
done
check "v1 has an IPv6 address" has "inet6 2001:db8:61::" cx v1 ip -6 addr show eth0
check "v1 has no IPv4 address" lacks "inet " cx v1 ip -4 addr show eth0
check "docker shows v1 without IPv4" has "[]" \
	host_docker h1 inspect -f '[{{(index .NetworkSettings.Networks "v6only").IPAddress}}]' v1
check "v1's IPv6 default route is the host gateway" has "default via 2001:db8:61::1 dev eth0" cx v1 ip -6 route
check "v1 pings its IPv6 gateway" cx v1 ping -6 -c 1 -W 2 2001:db8:61::1
v2ip=$(host_docker h1 inspect -f '{{(index .NetworkSettings.Networks "v6only").GlobalIPv6Address}}' v2)
check "v1 pings v2 ($v2ip)" cx v1 ping -6 -c 1 -W 2 "$v2ip"
check "v1 and v2 removed" host_docker h1 rm -f v1 v2
check "IPv6-only network removed" host_docker h1 network rm v6only

# ---- GwAllocCheck: no gateway reserved for ipvlan l3, one for a bridge segment.
check "ipvlan l3 network create" host_docker h1 network create -d vxlan \
	-o VxlanId=62 -o mode=ipvlan -o ipvlan_mode=l3 --subnet 10.62.0.0/24 l3net
check "the engine asked GwAllocCheck" plugin_called GwAllocCheck
check "ipvlan l3: no gateway reserved" test -z "$(gateways h1 l3net | tr -d ' ')"
check "bridge-mode segment create" host_docker h1 network create -d vxlan -o VxlanId=63 --subnet 10.63.0.0/24 seg
check "bridge mode: the gateway is reserved" has "10.63.0.1" gateways h1 seg
if kernel_has_ipvlan; then
	check "ipvlan l3: a container runs" host_docker h1 run -d --name l3 --net l3net busybox:local sleep 100000
	check "ipvlan l3: its default route is connected, no gateway" has "default dev eth0" cx l3 ip route
	check "ipvlan l3: the container may take .1" host_docker h1 run --rm --net l3net --ip 10.62.0.1 busybox:local true
else
	log "this kernel has no ipvlan: a container on l3net must fail, saying so"
	check "ipvlan l3: docker run fails naming ipvlan and the kernel's refusal" \
		run_fails ipvlan "not supported" -- --rm --net l3net busybox:local true
fi
check "ipvlan l3 network removed" host_docker h1 network rm l3net

# ---- connect / disconnect between the plugin's network and a builtin one.
check "builtin bridge network create" host_docker h1 network create -d bridge --subnet 10.64.0.0/24 br
check "run c1 on the plugin's network" host_docker h1 run -d --name c1 --net seg busybox:local sleep 100000
check "run c2 on the builtin bridge" host_docker h1 run -d --name c2 --net br busybox:local sleep 100000
c2br=$(container_ip h1 c2 br)
links0=$(owned_links h1)

check "connect c1 to br, preferred as gateway" host_docker h1 network connect --gw-priority 10 br c1
check "c1 has eth0 and eth1" has "eth0 eth1 lo" interfaces c1
check "c1's default route moved to br" has "default via 10.64.0.1 dev eth1" cx c1 ip route
check "c1 pings c2 over br" ping1 c1 "$c2br"
check "c1 still pings the segment's gateway" ping1 c1 10.63.0.1
check "disconnect c1 from br" host_docker h1 network disconnect br c1
check "c1's default route is the plugin's gateway again" has "default via 10.63.0.1 dev eth0" cx c1 ip route
check "c1 pings the segment's gateway" ping1 c1 10.63.0.1

check "disconnect c1 from the plugin's network" host_docker h1 network disconnect seg c1
check "c1 keeps only lo" test "$(interfaces c1)" = "lo "
check "the plugin removed c1's host link" test "$(owned_links h1)" = $((links0 - 1))
check "c1 is still running" has true host_docker h1 inspect -f '{{.State.Running}}' c1
check "connect c1 again with a static address" host_docker h1 network connect --ip 10.63.0.50 seg c1
check "c1 has 10.63.0.50" has "inet 10.63.0.50/24" cx c1 ip -4 addr show eth0
check "c1 pings the segment's gateway again" ping1 c1 10.63.0.1

check "connect c2 (started on br) to the plugin's network" host_docker h1 network connect seg c2
check "c2 pings c1 over the plugin's network" ping1 c2 10.63.0.50
check "c2's default route stays on br" has "default via 10.64.0.1" cx c2 ip route
check "disconnect c2 from the plugin's network" host_docker h1 network disconnect seg c2
check "c2 has no address on the plugin's network any more" lacks "10.63.0." cx c2 ip -4 addr
check "c2 still pings br's gateway" ping1 c2 10.64.0.1
check "the engine programmed external connectivity (gateway endpoints)" plugin_called ProgramExternalConnectivity
check "remove c1, c2 and the networks" eval "host_docker h1 rm -f c1 c2 && host_docker h1 network rm seg br"
check "no link of the plugin is left on h1" test "$(owned_links h1)" = 0

# ---- the managed plugin across a dockerd restart with --live-restore.
host_start h2 --live-restore
driver_install h2
check "live-restore network create" host_docker h2 network create -d "$DRIVER" -o VxlanId=70 --subnet 10.70.0.0/24 lr
check "run k1" host_docker h2 run -d --name k1 --net lr busybox:local sleep 100000
k1ip=$(container_ip h2 k1 lr)
plugin0=$(driver_pids h2)
k1pid=$(host_docker h2 inspect -f '{{.State.Pid}}' k1)
check "dockerd stops (live-restore)" dockerd_stop h2
check "the plugin runs on without dockerd" test "$(driver_pids h2)" = "$plugin0"
check "k1 answers the host gateway while dockerd is down" host_netexec h2 ping -c 1 -W 2 "$k1ip"
check "dockerd starts again" dockerd_start h2
check "the same plugin process serves after the restart" test "$(driver_pids h2)" = "$plugin0"
check "k1 is the same process, running" has "$k1pid true" host_docker h2 inspect -f '{{.State.Pid}} {{.State.Running}}' k1
check "the plugin is enabled" has true host_docker h2 plugin inspect -f '{{.Enabled}}' "$PLUGIN_REF"
check "a new container joins and pings k1" host_docker h2 run -d --name k2 --net lr busybox:local sleep 100000
check "k2 pings k1" host_docker h2 exec k2 ping -c 1 -W 2 "$k1ip"
check "k1 pings k2" host_docker h2 exec k1 ping -c 1 -W 2 "$(container_ip h2 k2 lr)"
check "k1 and k2 removed" host_docker h2 rm -f k1 k2
# Docker 29 keeps a remote driver's Join state in memory only: after a
# live-restore restart, it cannot revoke external connectivity for an
# endpoint joined before the restart (a warning; the plugin is not asked).
if grep -q 'driver failed revoking external connectivity.*not found' "$E2E_TMP/h2/dockerd.log"; then
	log "engine limit seen: after the live-restore restart, dockerd could not revoke k1's external connectivity (endpoint not found in its own Join state)"
fi
check "the live-restore network removed" host_docker h2 network rm lr
check "no link of the plugin is left on h2" test "$(owned_links h2)" = 0

summary
