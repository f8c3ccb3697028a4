#!/usr/bin/env bash
# engines: debian
# Scale, end to end (issue 10): SCALE_NETWORKS (default 300) bridge-mode
# VXLAN networks made by a real dockerd with its firewall on (FORWARD policy
# DROP, bridged traffic sent through iptables). On every one of them a
# container reaches the router's end of the segment: across its bridge,
# the firewall and the tunnel. Fifty `docker run` at once on one network,
# and fifty at once on fifty networks, all start, each with an address of
# its own. A plugin restart over that state serves at once and rewrites
# nothing (every link keeps its index and settings, the nftables ruleset
# is the same), and traffic still crosses every bridge. Everything removed
# leaves no link and no firewall exception. It runs on one engine (about
# four minutes on two cores; nothing in it differs between engines).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${SCALE_NETWORKS:-300}

subnet() { echo "10.$((64 + $1 / 256)).$(($1 % 256))"; }
owned_links() { host_netexec h1 ip -o link show | grep -c 'alias docker-vxlan-plugin/' || true; }
# links: every link of the host with its index and settings, timers cut
# (they tick on their own), one line each.
links() { host_netexec h1 ip -d -o link show | sed -E 's/[a-z_]+_timer +[0-9.]+//g' | sort; }
ruleset() { host_netexec h1 nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+ //'; }

create_all() {
	local i
	for ((i = 0; i < N; i++)); do
		host_docker h1 network create -d vxlan --subnet "$(subnet "$i").0/24" \
			-o VxlanId=$((1000 + i)) -o Peers=192.0.2.254 "s$i" >/dev/null || return 1
	done
}
# router_segments: the router's end of every segment, its address .254.
router_segments() {
	local i
	for ((i = 0; i < N; i++)); do
		echo "link add vx$i type vxlan id $((1000 + i)) dstport 4789 local 192.0.2.254 dev $ul_r1"
		echo "addr add $(subnet "$i").254/24 dev vx$i"
		echo "link set vx$i up"
	done >"$E2E_TMP/r1-segments"
	for ((i = 0; i < N; i++)); do
		echo "fdb append 00:00:00:00:00:00 dev vx$i dst 192.0.2.1"
	done >"$E2E_TMP/r1-fdb"
	router_exec r1 ip -batch "$E2E_TMP/r1-segments" && router_exec r1 bridge -batch "$E2E_TMP/r1-fdb"
}
# reach_all: on every network a fresh container pings the router's end of
# the segment, 25 at a time; prints the networks where it does not.
reach_all() {
	local i j pids bad=()
	for ((i = 0; i < N; i += 25)); do
		pids=()
		for ((j = i; j < i + 25 && j < N; j++)); do
			host_docker h1 run --rm --network "s$j" busybox:local ping -c 1 -W 3 "$(subnet "$j").254" >/dev/null 2>&1 &
			pids+=($!)
		done
		for ((j = 0; j < ${#pids[@]}; j++)); do wait "${pids[j]}" || bad+=("s$((i + j))"); done
	done
	((${#bad[@]} == 0)) || { echo "not reached on: ${bad[*]}"; return 1; }
}
# run_at_once PREFIX NETWORK...: one `docker run -d` per network given, all
# at once; containers PREFIX0, PREFIX1...
run_at_once() {
	local prefix=$1 i=0 net pids=() rc=0; shift
	for net in "$@"; do
		host_docker h1 run -d --name "$prefix$i" --network "$net" busybox:local sleep 100000 >/dev/null &
		pids+=($!) i=$((i + 1))
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	return "$rc"
}
# all_running_apart PREFIX COUNT: COUNT containers PREFIX* run, with as
# many distinct addresses.
all_running_apart() {
	local ids ips
	mapfile -t ids < <(host_docker h1 ps -q --filter "name=^$1")
	((${#ids[@]} == $2)) || { echo "${#ids[@]} running"; return 1; }
	ips=$(host_docker h1 inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${ids[@]}" | sort -u)
	[[ $(grep -c . <<<"$ips") == "$2" ]] || { echo "distinct addresses: $ips"; return 1; }
}
# remove_at_once PREFIX...: `docker rm -f` of every container PREFIX*, all
# at once.
remove_at_once() {
	local prefix id pids=() rc=0
	for prefix in "$@"; do
		for id in $(host_docker h1 ps -aq --filter "name=^$prefix"); do
			host_docker h1 rm -f "$id" >/dev/null &
			pids+=($!)
		done
	done
	for id in "${pids[@]}"; do wait "$id" || rc=1; done
	return "$rc"
}
firewall_drops() {
	host_netexec h1 iptables -S FORWARD | grep -q -- '-P FORWARD DROP' &&
		[[ $(host_netexec h1 sysctl -n net.bridge.bridge-nf-call-iptables) == 1 ]]
}
same_after_restart() {
	local before_links before_rules
	before_links=$(links) before_rules=$(ruleset)
	plugin_stop h1
	plugin_start h1
	diff <(echo "$before_links") <(links) && diff <(echo "$before_rules") <(ruleset)
}
remove_all() {
	local i
	for ((i = 0; i < N; i++)); do host_docker h1 network rm "s$i" >/dev/null || return 1; done
}
no_exception() { ! ruleset | grep -q VXLAN-PLUGIN; }
# probe_reaches I: the probe container on network I pings the router's end
# (a new container would put its bridge back into the exception).
probe_reaches() { host_docker h1 exec probe ping -c 1 -W 2 "$(subnet "$1").254"; }
# cut_from_exception I: network I's bridge out of the exception's map of
# traffic within one network.
cut_from_exception() {
	local id family
	id=$(host_docker h1 network inspect -f '{{.Id}}' "s$1")
	for family in ip ip6; do
		host_netexec h1 nft list table "$family" filter >/dev/null 2>&1 || continue # no firewall in this family
		# traffic within the bridge (to the router across its vxlan port):
		# without this element an isolated network's own traffic is dropped
		host_netexec h1 nft delete element "$family" filter VXLAN-PLUGIN-vxlan-within "{ \"vxbr-${id:0:10}\" . \"vxbr-${id:0:10}\" }" || return 1
	done
}

host_start h1
router_add r1
read -r _ ul_r1 < <(underlay_link h1 r1 192.0.2.1 192.0.2.254)
# What Docker does for its own bridges: bridged traffic meets iptables.
host_netexec h1 modprobe br_netfilter 2>/dev/null || true
host_netexec h1 sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
plugin_start h1

check "the firewall drops forwarded traffic, bridged traffic included" firewall_drops
t0=$(now_ms)
check "$N networks created" create_all
log "$N networks created in $(( $(now_ms) - t0 )) ms"
one=() many=()
for ((i = 0; i < 50; i++)); do one+=(s0) many+=("s$((i % N))"); done
check "50 docker run at once on one network" run_at_once one "${one[@]}"
check "50 docker run at once on 50 networks" run_at_once many "${many[@]}"
check "the 50 on one network run, each with its own address" all_running_apart one 50
check "the 50 on 50 networks run, each with its own address" all_running_apart many 50
check "the 100 removed at once" remove_at_once one many
check "the router's end of the $N segments" router_segments
t0=$(now_ms)
check "on every one of the $N networks a container reaches the router" reach_all
log "$N containers run, each pinging the router, in $(( $(now_ms) - t0 )) ms"
check "a probe container runs on network 7" host_docker h1 run -d --name probe --network s7 busybox:local sleep 100000
check "control: network 7's bridge taken out of the firewall exception" cut_from_exception 7
check_fails "control: then the probe does not reach the router" probe_reaches 7
check "the periodic check puts the bridge back within 15 s" wait_for 15 probe_reaches 7
check "the probe removed" host_docker h1 rm -f probe
check "the exception names each bridge once" test "$(ruleset | grep -o 'vxbr-[0-9a-f]*' | sort -u | wc -l)" = "$N"
check "restart: the socket serves, no link or firewall rule changed" same_after_restart
log "restart over $N networks: $(grep 'msg=reconciled' "$E2E_TMP/h1/plugin.log" | tail -n 1)"
check "after the restart every network still reaches the router" reach_all
check "networks removed" remove_all
check "no link of the plugin is left" test "$(owned_links)" = 0
check "no firewall exception is left" no_exception
summary
