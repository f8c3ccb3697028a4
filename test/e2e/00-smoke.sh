#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2016 # eval bodies expand later
# Smoke test of the e2e harness itself; does not use the plugin.
# Two isolated dockerd hosts, Docker's builtin macvlan and bridge drivers,
# a dockerd restart, a veth underlay and a router netns between the hosts.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}

# median_ms N CMD...: median wall time of N runs of CMD (fails if any run fails).
median_ms() {
	local n=$1 i t all=(); shift
	for (( i = 0; i < n; i++ )); do
		t=$(time_ms "$@") || return 1
		all+=("$t")
	done
	printf '%s\n' "${all[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p"
}

# ping_from NAME CONTAINER IP
ping_from() { host_docker "$1" exec "$2" ping -c 1 -W 2 "$3"; }

# ---- host h1
t0=$(now_ms)
host_start h1
log "h1: namespaces + dockerd + image load in $(( $(now_ms) - t0 )) ms"
check "h1 docker info" host_docker h1 info
check "h1 busybox:local image" host_docker h1 image inspect busybox:local
check "h1 dockerd runs its own containerd under exec-root" \
	host_exec h1 test -S /run/docker/containerd/containerd.sock
check "h1 has no docker0 (--bridge=none)" eval "! host_netexec h1 ip link show docker0"
check "h1 plugin dir is private" \
	eval "host_exec h1 touch /run/docker/plugins/probe && test ! -e /run/docker/plugins/probe"
check "h1 state dir is a private tmpfs" \
	eval "host_exec h1 findmnt -n -o FSTYPE /var/lib/docker-vxlan-plugin | grep -x tmpfs >/dev/null"
check "h1 /sys shows only h1's interfaces" \
	eval "host_exec h1 ls /sys/class/net | grep -x lo >/dev/null && ! host_exec h1 test -e /sys/class/net/eth0"

ms=$(median_ms "$RUNS" host_docker h1 run --rm --network none busybox:local true) && ok=1 || ok=0
check "run --rm --network none" test "$ok" = 1
log "docker run --rm --network none: median ${ms:-?} ms over $RUNS"

# ---- macvlan on a veth pair that exists only inside h1
host_netexec h1 ip link add mvpar type veth peer name mvpeer
host_netexec h1 ip link set mvpar up
host_netexec h1 ip link set mvpeer up
check "macvlan network create" host_docker h1 network create -d macvlan \
	-o parent=mvpar --subnet 198.51.100.0/24 m1
host_docker h1 run -d --name mc1 --net m1 busybox:local sleep 300 >/dev/null
host_docker h1 run -d --name mc2 --net m1 busybox:local sleep 300 >/dev/null
mc2_ip=$(container_ip h1 mc2 m1)
check "macvlan: mc1 pings mc2 ($mc2_ip)" ping_from h1 mc1 "$mc2_ip"
ms=$(median_ms "$RUNS" host_docker h1 run --rm --net m1 busybox:local true) && ok=1 || ok=0
check "run --rm --net m1 (macvlan)" test "$ok" = 1
log "docker run --rm on macvlan: median ${ms:-?} ms over $RUNS"

# ---- builtin bridge driver (Docker's own firewall on, as by default)
check "bridge network create" host_docker h1 network create -d bridge --subnet 10.99.0.0/24 b1
check "run --rm --net b1 (bridge)" host_docker h1 run --rm --net b1 busybox:local true
host_docker h1 run -d --name bc1 --net b1 busybox:local sleep 300 >/dev/null
host_docker h1 run -d --name bc2 --net b1 busybox:local sleep 300 >/dev/null
bc2_ip=$(container_ip h1 bc2 b1)
check "bridge: bc1 pings bc2 ($bc2_ip)" ping_from h1 bc1 "$bc2_ip"
check "bridge: bc1 pings its gateway (in h1's netns)" ping_from h1 bc1 10.99.0.1
ms=$(median_ms "$RUNS" host_docker h1 run --rm --net b1 busybox:local true) && ok=1 || ok=0
check "repeated run --rm --net b1" test "$ok" = 1
log "docker run --rm on bridge: median ${ms:-?} ms over $RUNS"

# ---- dockerd restart
t0=$(now_ms)
check "dockerd restart" dockerd_restart h1
log "dockerd restart in $(( $(now_ms) - t0 )) ms"
check "networks survive restart" host_docker h1 network inspect m1 b1
check "only one containerd in h1" \
	eval 'test "$(host_exec h1 pgrep -cx containerd)" = 1'
host_docker h1 start mc1 mc2 bc1 bc2 >/dev/null
check "macvlan ping after restart" ping_from h1 mc1 "$(container_ip h1 mc2 m1)"
check "bridge ping after restart" ping_from h1 bc1 "$(container_ip h1 bc2 b1)"

# ---- second host at the same time, veth underlay, router in between
t0=$(now_ms)
host_start h2
log "h2 up in $(( $(now_ms) - t0 )) ms"
check "h2 docker info" host_docker h2 info
check "h1 and h2 have separate containerds" eval '
	a=$(host_exec h1 pgrep -x containerd); b=$(host_exec h2 pgrep -x containerd)
	test -n "$a" -a -n "$b" &&
	test "$(readlink /proc/$(host_pid h1)/ns/mnt)" != "$(readlink /proc/$(host_pid h2)/ns/mnt)"'
check "h2 container runs" host_docker h2 run --rm --network none busybox:local true
check "h1 containers unaffected by h2" ping_from h1 mc1 "$(container_ip h1 mc2 m1)"
check "h2 does not see h1's networks" eval "! host_docker h2 network inspect m1"

underlay_link h1 h2 192.0.2.1/24 192.0.2.2/24 >/dev/null
check "underlay: h1 pings h2" host_netexec h1 busybox ping -c 1 -W 2 192.0.2.2
check "underlay: h2 pings h1" host_netexec h2 busybox ping -c 1 -W 2 192.0.2.1

router_add r1
router_link r1 h1 203.0.113.1/26 203.0.113.2/26 >/dev/null
router_link r1 h2 203.0.113.65/26 203.0.113.66/26 >/dev/null
host_netexec h1 ip route add 203.0.113.64/26 via 203.0.113.1
host_netexec h2 ip route add 203.0.113.0/26 via 203.0.113.65
check "routed: h1 pings h2 via r1" host_netexec h1 busybox ping -c 1 -W 2 203.0.113.66
check "routed: TTL decremented by r1" eval \
	'host_netexec h1 busybox traceroute -n -w 1 -m 3 203.0.113.66 2>&1 | grep "203.0.113.1 " >/dev/null'

check "kernel can create vxlan devices in a host" eval '
	host_netexec h1 ip link add vxprobe type vxlan id 42 dstport 4789 local 192.0.2.1 dev ul-h2 &&
	host_netexec h1 ip link del vxprobe'

# ---- stopping a host
host_stop h2
check "h2 stopped: its socket is dead" eval "! host_docker h2 version"
check "host_stop is idempotent" host_stop h2
check "h1 still fine after h2 stopped" ping_from h1 bc1 "$(container_ip h1 bc2 b1)"
check "nothing leaked into the real /run" eval "! test -e /run/containerd/s -o -e /run/docker/plugins/probe"

summary
