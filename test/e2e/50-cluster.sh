#!/usr/bin/env bash
# End to end, cluster mode (PRODUCT.md §5, issue 7): three plain dockerd
# hosts plugged into one fabric switch, a real etcd on the switch, the plugin
# in cluster mode on each host, and the same `docker network create -d vxlan
# --ipam-driver vxlan --subnet S -o VxlanId=N` run on every host with no
# Peers. Addresses are unique cluster-wide, every host installs the others'
# containers before any traffic, a dead host is forgotten within its lease,
# and etcd going away stops only what truly needs it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster-lib.sh"

TTL_S=${CLUSTER_TTL%s}
declare -A VTEP=([h1]=192.0.2.1 [h2]=192.0.2.2 [h3]=192.0.2.3)
LIVE=(h1 h2 h3)
GONE_IPS=$E2E_TMP/gone-ips # "host container address" of the containers of killed hosts
: >"$GONE_IPS"

net_create() { local h=$1; shift; host_docker "$h" network create -d vxlan --ipam-driver vxlan "$@"; }
run_on() { host_docker "$1" run -d --name "$2" --network "$3" busybox:local sleep 100000; }
ping_from() { host_docker "$1" exec "$2" ping -c 1 -W 2 "$3"; }

# ips_on HOST NET: "HOST CONTAINER ADDRESS" for each of HOST's containers on NET.
ips_on() {
	host_docker "$1" network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{"\n"}}{{end}}' "$2" |
		sed -e '/^$/d' -e 's|/.*||' -e "s|^|$1 |"
}
# addresses_unique NET N: the N containers on NET (live hosts and killed
# ones) have N distinct addresses, none of them NET's gateway.
addresses_unique() {
	local net=$1 want=$2 all dup gw h
	all=$(for h in "${LIVE[@]}"; do ips_on "$h" "$net"; done; grep " $net " "$GONE_IPS" | cut -d' ' -f1,3-4 || true)
	gw=$(host_docker "${LIVE[0]}" network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' "$net")
	dup=$(awk '{print $3}' <<<"$all" | sort | uniq -d)
	if [[ -n $dup || $(grep -c . <<<"$all") != "$want" ]] || grep -q " $gw$" <<<"$all"; then
		echo "want $want distinct addresses, not the gateway $gw; duplicates: ${dup:-none}"; echo "$all"; return 1
	fi
}
# forget_host_ips HOST: remember the addresses of HOST's containers before killing it.
forget_host_ips() {
	local net
	for net in $(host_docker "$1" network ls --filter driver=vxlan --format '{{.Name}}'); do
		ips_on "$1" "$net" | awk -v n="$net" '{print $1, n, $2, $3}' >>"$GONE_IPS"
	done
}
flood_is() { local got; got=$(flood_list "$1" "$2" | tr '\n' ' '); [[ $got == "$3 " ]] || { echo "$1 flood list: $got, want $3"; return 1; }; }
# no_static_towards HOST VNI VTEP: no permanent FDB entry of HOST's link
# points at VTEP (learned entries age out by themselves; they are not ours).
no_static_towards() {
	local fdb
	fdb=$(_fdb "$1" "$2") || return 1
	! grep -E " dst $3 .*permanent" <<<"$fdb"
}
# says TEXT REGEX...: TEXT matches every (extended, case-insensitive) REGEX.
says() {
	local text=$1 re; shift
	for re in "$@"; do grep -qiE -- "$re" <<<"$text" || { echo "no /$re/ in: $text"; return 1; }; done
}
# create_refused HOST "CREATE ARGS" REGEX...: network create fails, its
# error matching every REGEX.
create_refused() {
	local h=$1 args out; shift
	read -ra args <<<"$1"; shift
	if out=$(net_create "$h" "${args[@]}" 2>&1); then echo "created: $out"; return 1; fi
	says "$out" "$@"
}
# within DEADLINE_MS CMD...: CMD succeeds at a poll that began before
# DEADLINE_MS (a state first seen later proves nothing about the deadline).
within() {
	local deadline=$1 t; shift
	while :; do
		t=$(now_ms)
		if "$@" >/dev/null 2>&1; then
			((t <= deadline)) && return 0
			echo "first seen at a poll begun $((t - deadline)) ms after the deadline"; return 1
		fi
		((t < deadline)) || { "$@"; return 1; }
		sleep 0.1
	done
}
# waitall PID...: wait for each PID (children of this shell); WAIT_FAILED
# counts those that failed.
waitall() {
	local p
	WAIT_FAILED=0
	for p in "$@"; do wait "$p" || WAIT_FAILED=$((WAIT_FAILED + 1)); done
}
# no_failures LOG...: the last waitall saw no failure (else print the LOGs).
no_failures() { ((WAIT_FAILED == 0)) || { tail -n 5 "$@"; return 1; }; }
# etcd_holds_for NODE: etcd has a key of NODE's (registration, membership,
# use, endpoint) or a claim held by NODE. A definition NODE created is not
# NODE's: it stays while other hosts use it.
etcd_holds_for() {
	local all
	all=$(etcdctl_ get --prefix /docker-vxlan-plugin/)
	grep -qE -- "/$1(/|\$)|\"node\":\"$1\"" <<<"$all"
}
# inspect_lists HOST WORD...: `docker-vxlan-plugin inspect` in HOST names every WORD.
inspect_lists() {
	local out w
	out=$(host_exec "$1" "$PLUGIN_BIN" inspect 2>&1) || true
	shift
	for w in "$@"; do grep -qwF -- "$w" <<<"$out" || { echo "inspect does not name $w:"; echo "$out"; return 1; }; done
}
owned_links() { host_netexec "$1" ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }

# ---------------------------------------------------------------- setup
fabric_start
etcd_start
for h in "${LIVE[@]}"; do cluster_host "$h" "${VTEP[$h]}"; done

# ---------------------------------------------------------------- allocation
# One segment defined on the three hosts at once, then four containers per
# host started at once: the definition and the blocks are compare-and-swaps.
pids=()
for h in "${LIVE[@]}"; do
	net_create "$h" --subnet 10.42.0.0/24 -o VxlanId=42 n42 >"$E2E_TMP/create-$h.log" 2>&1 &
	pids+=($!)
done
waitall "${pids[@]}"
check "n42 created on the three hosts at once: cluster IPAM, no Peers" no_failures "$E2E_TMP"/create-*.log
pids=()
for h in "${LIVE[@]}"; do
	for i in 1 2 3 4; do
		run_on "$h" "$h-$i" n42 >"$E2E_TMP/run-$h-$i.log" 2>&1 &
		pids+=($!)
	done
done
waitall "${pids[@]}"
check "twelve containers started at once on three hosts" no_failures "$E2E_TMP"/run-*.log
N42=12
check "the twelve got twelve distinct addresses" addresses_unique n42 $N42

# ---------------------------------------------------------------- distribution
check "h1's flood list is h2 and h3 (not itself), with no Peers" flood_is h1 42 "${VTEP[h2]} ${VTEP[h3]}"
check "h3's flood list is h1 and h2" flood_is h3 42 "${VTEP[h1]} ${VTEP[h2]}"
check "run f2 on h2" run_on h2 f2 n42
N42=$((N42 + 1))
t_ran=$(now_ms)
mac_f2=$(container_mac h2 f2 n42)
ip_f2=$(container_ip h2 f2 n42)
# Right after docker run returned, before any traffic to f2: a permanent
# entry is the control plane's, never learned.
check "h1's FDB has f2's MAC $mac_f2 as a static entry towards h2, before any traffic" \
	wait_for 2 fdb_static h1 42 "$mac_f2" "${VTEP[h2]}"
log "f2's FDB entry on h1 seen $(($(now_ms) - t_ran)) ms after docker run returned"
check "h3's FDB too" wait_for 2 fdb_static h3 42 "$mac_f2" "${VTEP[h2]}"
check "h1 has f2's neighbour entry, before any traffic" neigh_static h1 "$ip_f2" "$mac_f2"
check "h1-1 pings f2 on h2 at the first try" ping_from h1 h1-1 "$ip_f2"
check "h3-1 pings f2 on h2" ping_from h3 h3-1 "$ip_f2"
check "h2-1 pings h1-1 on h1" ping_from h2 h2-1 "$(container_ip h1 h1-1 n42)"
check "h1-1 pings h3-1 on h3" ping_from h1 h1-1 "$(container_ip h3 h3-1 n42)"
check "$N42 containers, $N42 addresses" addresses_unique n42 $N42

# ---------------------------------------------------------------- conflicts
# VNI 44 is defined by h1 alone, so h2 and h3 have no local network to
# refuse it: only the cluster-wide definition can.
check "n44 on h1" net_create h1 --subnet 10.44.0.0/24 -o VxlanId=44 n44
check "on h2, VxlanId 44 with another subnet is refused, naming the VNI, the subnet and h1" \
	create_refused h2 "--subnet 10.45.0.0/24 -o VxlanId=44 bad1" 'VxlanId 44' '10\.44\.0\.0/24' '\bh1\b'
check "on h3, 10.44.0.0/24 on VxlanId 45 is refused, naming the VNI, the subnet and h1" \
	create_refused h3 "--subnet 10.44.0.0/24 -o VxlanId=45 bad2" 'VxlanId 44' '10\.44\.0\.0/24' '\bh1\b'
check "on h2, another --ip-range of 10.44.0.0/24 is refused, naming h1" \
	create_refused h2 "--subnet 10.44.0.0/24 --ip-range 10.44.0.0/25 -o VxlanId=44 bad3" '\bh1\b'
only_good_networks() { local l; l=$(host_docker "$1" network ls --format '{{.Name}}'); grep -qx n42 <<<"$l" && ! grep '^bad' <<<"$l"; }
check "refused creates leave no network on h2 (n42 is there)" only_good_networks h2
check "refused creates leave no network on h3 (n42 is there)" only_good_networks h3
check "control: the same definition of VxlanId 44 is accepted on h2" \
	net_create h2 --subnet 10.44.0.0/24 -o VxlanId=44 n44
check "control: VxlanId 45 on 10.45.0.0/24, left free by the refusals, is created on h3" \
	net_create h3 --subnet 10.45.0.0/24 -o VxlanId=45 n45
segment_defined() { [[ -n $(etcdctl_ get "/docker-vxlan-plugin/vxlan/segments/$1") ]]; }
check "etcd holds VxlanId 44's definition" segment_defined 44
check "n44 removed from h1 and h2, n45 from h3" \
	eval 'host_docker h1 network rm n44 && host_docker h2 network rm n44 && host_docker h3 network rm n45'
gone_with_last_user() { segment_defined 42 && ! segment_defined 44 && ! segment_defined 45; }
check "the definitions went with their last user (VxlanId 42's stays)" wait_for 5 gone_with_last_user

# ---------------------------------------------------------------- a host dies
mac_h31=$(container_mac h3 h3-1 n42)
mac_h21=$(container_mac h2 h2-1 n42)
mac_h11=$(container_mac h1 h1-1 n42)
check "before: h1 floods to h3" fdb_mentions h1 42 "^00:00:00:00:00:00 dst ${VTEP[h3]} "
check "before: h1 has h3-1's MAC towards h3" fdb_static h1 42 "$mac_h31" "${VTEP[h3]}"
check "before: h2 has h3-1's MAC towards h3" fdb_static h2 42 "$mac_h31" "${VTEP[h3]}"
forget_host_ips h3
# h3_forgotten HOST OTHER MAC_OTHER: HOST neither floods to h3 nor keeps a
# static entry towards it, while it still floods to OTHER and has its MAC.
h3_forgotten() {
	flood_is "$1" 42 "${VTEP[$2]}" && no_static_towards "$1" 42 "${VTEP[h3]}" &&
		fdb_static "$1" 42 "$3" "${VTEP[$2]}"
}
# SIGKILL to h3's PID 1 takes its whole namespace down at once (host_stop's
# first step); host_stop then waits for it, which may take a while.
t_kill=$(now_ms)
kill -KILL "$(host_pid h3)"
LIVE=(h1 h2)
deadline=$((t_kill + (TTL_S + 2) * 1000))
check "h3 killed: within TTL+2 s h1 no longer floods to it nor has its MACs; h2 stays" \
	within "$deadline" h3_forgotten h1 h2 "$mac_h21"
check "and h2 forgot it too; h1 stays" within "$deadline" h3_forgotten h2 h1 "$mac_h11"
log "h3 forgotten by h1 and h2, both seen $(($(now_ms) - t_kill)) ms after the kill (TTL ${TTL_S}s)"
host_stop h3
check "h1-1 still pings f2" ping_from h1 h1-1 "$ip_f2"
check "run h1-5 on h1" run_on h1 h1-5 n42
N42=$((N42 + 1))
check "$N42 containers (four on dead h3), $N42 addresses: h3's stay allocated" addresses_unique n42 $N42

# A small pool for the exhaustion case: a 16-address range, blocks of 4.
check "n50 on h2: a /28 range" net_create h2 --subnet 10.50.0.0/24 --ip-range 10.50.0.0/28 -o VxlanId=50 n50

# ---------------------------------------------------------------- etcd down
etcd_stop
check_fails "etcd is down" etcd_up
check "etcd down: h1-1 still pings f2 on h2" ping_from h1 h1-1 "$ip_f2"
check "etcd down: h2-1 still pings h1-1" ping_from h2 h2-1 "$(container_ip h1 h1-1 n42)"
t0=$(now_ms)
check "etcd down: h1-6 starts on h1 from its held block" run_on h1 h1-6 n42
log "docker run with etcd down took $(($(now_ms) - t0)) ms"
N42=$((N42 + 1))
check "$N42 containers, $N42 addresses" addresses_unique n42 $N42
ip_h16=$(container_ip h1 h1-6 n42)
mac_h16=$(container_mac h1 h1-6 n42)
check "etcd down: h2-1 reaches h1-6 (flood and learn over the cached flood list)" ping_from h2 h2-1 "$ip_h16"

# Fill h2's held blocks of n50 until a docker run needs etcd.
n50_ok=0 fail_out="" fail_ms=0
for i in $(seq 1 14); do
	t0=$(now_ms)
	if out=$(run_on h2 "x$i" n50 2>&1); then n50_ok=$((n50_ok + 1)); continue; fi
	fail_ms=$(($(now_ms) - t0)) fail_out=$out
	host_docker h2 rm -f "x$i" >/dev/null 2>&1 || true
	break
done
check "etcd down: h2 started $n50_ok containers on n50 from its held blocks" test "$n50_ok" -ge 1
check "then its blocks ran out and docker run failed" test -n "$fail_out"
check "in under 5 s ($fail_ms ms)" test "$fail_ms" -lt 5000
check "naming etcd" says "$fail_out" etcd
check "n50's $n50_ok containers have distinct addresses" addresses_unique n50 "$n50_ok"

# ---------------------------------------------------------------- etcd back
etcd_start
check "etcd back: h1-6 (started while etcd was down) is published to h2 as a static entry" \
	wait_for 15 fdb_static h2 42 "$mac_h16" "${VTEP[h1]}"
check "etcd back: a container starts on h2's n50 from a new block" run_on h2 "x$((n50_ok + 1))" n50
check "n50: $((n50_ok + 1)) containers, as many addresses" addresses_unique n50 $((n50_ok + 1))
check "etcd back: h1-7 starts on h1" run_on h1 h1-7 n42
check "etcd back: h2-5 starts on h2" run_on h2 h2-5 n42
N42=$((N42 + 2))
check "h2-1 pings h1-7 at the first try" ping_from h2 h2-1 "$(container_ip h1 h1-7 n42)"
check "h1-1 pings h2-5 at the first try" ping_from h1 h1-1 "$(container_ip h2 h2-5 n42)"
check "h2 has h1-7's MAC towards h1" fdb_static h2 42 "$(container_mac h1 h1-7 n42)" "${VTEP[h1]}"
check "$N42 containers, $N42 addresses" addresses_unique n42 $N42

# ---------------------------------------------------------------- plugin kill -9
mapfile -t h1_ips < <(ips_on h1 n42 | awk '{print $3}')
plugin_kill9 h1
check "plugin on h1 killed: h1-1 still pings f2" ping_from h1 h1-1 "$ip_f2"
cluster_plugin_start h1
check "plugin restarted: its inspect still holds the ${#h1_ips[@]} addresses of h1's containers" \
	inspect_lists h1 "${h1_ips[@]}"
check "plugin restarted: h1-8 starts on h1" run_on h1 h1-8 n42
check "plugin restarted: h1-9 starts on h1" run_on h1 h1-9 n42
check "plugin restarted: h2-6 starts on h2" run_on h2 h2-6 n42
N42=$((N42 + 3))
check "$N42 containers, $N42 addresses: nothing handed out twice" addresses_unique n42 $N42
check "h2-1 pings h1-9" ping_from h2 h2-1 "$(container_ip h1 h1-9 n42)"
check "h2 has h1-1's MAC towards h1" wait_for 10 fdb_static h2 42 "$mac_h11" "${VTEP[h1]}"

# ---------------------------------------------------------------- forget a dead host
cli() { host_exec h1 "$PLUGIN_BIN" "$@"; }
check "etcd still holds dead h3's claims" etcd_holds_for h3
# refused_live NODE: forget-node fails, saying NODE is live.
refused_live() {
	local out
	if out=$(cli cluster forget-node "$1" --etcd-endpoints "$ETCD_URL" 2>&1); then echo "forgot $1: $out"; return 1; fi
	says "$out" "\\b$1\\b" live
}
check "forget-node refuses live h2 without --force, saying it is live" refused_live h2
check "forget-node h3 frees the dead host's claims" cli cluster forget-node h3 --etcd-endpoints "$ETCD_URL"
h3_freed() {
	if etcd_holds_for h1 && etcd_holds_for h2 && ! etcd_holds_for h3; then return 0; fi
	etcdctl_ get --prefix /docker-vxlan-plugin/
	return 1
}
check "etcd holds nothing of h3's any more, still h1's and h2's" h3_freed

# ---------------------------------------------------------------- removal
rm_all() { local ids; mapfile -t ids < <(host_docker "$1" ps -aq); ((${#ids[@]} == 0)) || host_docker "$1" rm -f "${ids[@]}"; }
rm_networks() { local ids; mapfile -t ids < <(host_docker "$1" network ls -q --filter driver=vxlan); host_docker "$1" network rm "${ids[@]}"; }
no_links() { [[ $(owned_links "$1") == 0 ]]; }
for h in h1 h2; do
	check "$h: the plugin's links are there" test "$(owned_links "$h")" -gt 0
	check "$h: containers removed" rm_all "$h"
	check "$h: networks removed" rm_networks "$h"
	check "$h: no link of the plugin left" wait_for 10 no_links "$h"
done
# only_nodes_left: etcd holds the live hosts' registrations and nothing else.
only_nodes_left() {
	local keys
	keys=$(etcdctl_ get --prefix /docker-vxlan-plugin/ --keys-only | sed '/^$/d')
	[[ $keys == "/docker-vxlan-plugin/vxlan/nodes/h1"$'\n'"/docker-vxlan-plugin/vxlan/nodes/h2" ]] || { echo "$keys"; return 1; }
}
check "etcd holds nothing but the two live hosts' registrations" wait_for 5 only_nodes_left

summary
