#!/usr/bin/env bash
# engines: debian
# End to end, BGP EVPN (issue 8, PRODUCT.md §5), against real FRR: a
# route-reflector "ToR" running FRR with its own VTEP and a server behind
# it, and two isolated dockerd hosts, each with the plugin and FRR
# (iBGP, l2vpn evpn, advertise-all-vni). The same
# `docker network create -d vxlan -o VxlanId=100 -o EVPN=true` on both
# hosts (one with VtepDev, one with SrcAddr) and no Peers: zebra picks the
# links up, containers on both hosts and the server reach each other, the
# ToR holds a type-2 route per container MAC, each host installed the
# other's container MAC from EVPN (extern_learn), `docker rm` withdraws it,
# 20 moves of a container between the hosts leave no stale entry, plugin
# and FRR restarts leave running containers alone and the routes come back,
# the refusals name their option, and no plugin link is left after removal.
# The same gateway address on both hosts is a distributed anycast gateway:
# each container's gateway is its own host.
# Figure (a log line, never asserted): docker run -> ToR type-2 route, p50
# over the 20 runs of the moves.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
E2E_ENGINE=debian
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evpn-lib.sh"

T0=$(now_ms)
VNI=100
SUBNET=198.51.100.0/24
GW=198.51.100.1
SERVER=198.51.100.250
MOVER_IP=198.51.100.50
TOR=$EVPN_RR
declare -A VTEP=([h1]=192.0.2.1 [h2]=192.0.2.2 [tor]=$TOR)
declare -A RANGE=([h1]=198.51.100.64/27 [h2]=198.51.100.96/27)
declare -A SOURCE=([h1]="-o VtepDev=eth0" [h2]="-o SrcAddr=192.0.2.2")
declare -A OTHER=([h1]=h2 [h2]=h1)

# ---------------------------------------------------------------- fabric

# fabric_up: the ToR's fabric bridge with a port per host, the ToR's own
# VTEP (vx100 under br100) with the server behind it, FRR everywhere.
fabric_up() {
	local h
	router_add tor
	router_add srv
	host_netexec tor ip link add fab0 type bridge
	host_netexec tor ip addr add "$TOR/24" dev fab0
	host_netexec tor ip link set fab0 up
	for h in h1 h2; do
		host_start "$h"
		host_netexec tor ip link add "p-$h" type veth peer name eth0 netns "$(host_pid "$h")"
		host_netexec tor ip link set "p-$h" master fab0 up
		host_netexec "$h" ip addr add "${VTEP[$h]}/24" dev eth0
		host_netexec "$h" ip link set eth0 up
	done
	host_netexec tor ip link add br100 type bridge
	host_netexec tor ip link add vx100 type vxlan id "$VNI" dstport 4789 local "$TOR" dev fab0 nolearning
	host_netexec tor ip link set vx100 master br100
	host_netexec tor bridge link set dev vx100 learning off neigh_suppress on
	host_netexec tor ip link add p-srv type veth peer name eth0 netns "$(host_pid srv)"
	host_netexec tor ip link set p-srv master br100 up
	host_netexec tor ip link set vx100 up
	host_netexec tor ip link set br100 up
	host_netexec srv ip addr add "$SERVER/24" dev eth0
	host_netexec srv ip link set eth0 up
	frr_start tor "$TOR" rr
	for h in h1 h2; do
		frr_start "$h" "${VTEP[$h]}"
		plugin_start "$h"
	done
}

# ---------------------------------------------------------------- helpers

net_create() { local h=$1; shift; host_docker "$h" network create -d vxlan "$@"; }
evpn_create() {
	# shellcheck disable=SC2086
	net_create "$1" --subnet "$SUBNET" --gateway "$GW" --ip-range "${RANGE[$1]}" \
		-o VxlanId=$VNI -o EVPN=true ${SOURCE[$1]} evpn
}
run_on() { local h=$1 c=$2; shift 2; host_docker "$h" run -d --name "$c" --network evpn "$@" busybox:local sleep 100000 >/dev/null; }
mac_of() { host_docker "$1" inspect -f '{{.NetworkSettings.Networks.evpn.MacAddress}}' "$2"; }
ip_of() { container_ip "$1" "$2" evpn; }
started() { host_docker "$1" inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$2"; }
ping_from() { host_docker "$1" exec "$2" ping -c 1 -W 2 "$3"; }
owned_links() { host_netexec "$1" ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }
no_owned_links() { [[ $(owned_links "$1") == 0 ]] || { host_netexec "$1" ip -d link show | grep -B3 'alias docker-vxlan-plugin/'; return 1; }; }

# vx_of HOST: the host's vxlan link of VNI 100; br_of HOST: its bridge.
vx_of() { host_netexec "$1" ip -d -o link show type vxlan | awk -v v="vxlan id $VNI " 'index($0, v) {sub(":", "", $2); print $2}'; }
br_of() { host_netexec "$1" ip -o link show dev "$(vx_of "$1")" | grep -o 'master [^ ]*' | cut -d' ' -f2; }
link_mac() { host_netexec "$1" ip -br link show dev "$2" | awk '{print $3}'; }

# eventually TIMEOUT_S CMD...: wait_for, then (on a timeout) CMD once more
# with its output, to say what was seen.
eventually() { wait_for "$@" || { shift; "$@"; return 1; }; }
# re ADDRESS: ADDRESS as an extended regex, its dots literal.
re() { echo "${1//./\\.}"; }
# says TEXT REGEX...: TEXT matches every (extended, case-insensitive) REGEX.
says() {
	local text=$1 re; shift
	for re in "$@"; do grep -qiE -- "$re" <<<"$text" || { echo "no /$re/ in: $text"; return 1; }; done
}
# create_refused "CREATE ARGS" REGEX...: network create on h1 fails, its
# error matching every REGEX.
create_refused() {
	local args out; read -ra args <<<"$1"; shift
	if out=$(net_create h1 "${args[@]}" refused 2>&1); then echo "created: $out"; return 1; fi
	says "$out" "$@"
}

# layout HOST: the vxlan link sends from the host's VTEP and learns
# nothing; its bridge port learns nothing and suppresses ARP/ND.
layout() {
	local vx; vx=$(vx_of "$1")
	[[ -n $vx ]] || { echo "no vxlan link of VNI $VNI on $1"; return 1; }
	says "$(host_netexec "$1" ip -d link show dev "$vx")" "local ${VTEP[$1]} " nolearning &&
		says "$(host_netexec "$1" bridge -d link show dev "$vx")" "learning off" "neigh_suppress on"
}
# zebra_has_vni HOST: zebra took the VNI with the host's VTEP and knows the
# two other VTEPs (the other host and the ToR) from their type-3 routes.
zebra_has_vni() {
	says "$(frr_vtysh "$1" "show evpn vni $VNI")" "Local VTEP IP: $(re "${VTEP[$1]}")\$" \
		"^ *$(re "${VTEP[${OTHER[$1]}]}")( |\$)" "^ *$(re "$TOR")( |\$)"
}
# flood_from_frr HOST: the flood list is exactly the other VTEPs, as FRR
# installed it from the type-3 routes.
flood_from_frr() {
	local got want
	got=$(host_netexec "$1" bridge fdb show dev "$(vx_of "$1")" | grep '^00:00:00:00:00:00 ' | grep -o 'dst [^ ]*' | cut -d' ' -f2 | sort | tr '\n' ' ')
	want=$(printf '%s\n' "${VTEP[${OTHER[$1]}]}" "$TOR" | sort | tr '\n' ' ')
	[[ $got == "$want" ]] || { echo "$1 flood list: $got, want $want"; return 1; }
}
# gateway_is_own_host HOST C: C's ARP entry for the gateway is its own
# host's bridge.
gateway_is_own_host() {
	local want got
	want=$(link_mac "$1" "$(br_of "$1")")
	got=$(host_docker "$1" exec "$2" ip neigh show "$GW" | grep -o 'lladdr [^ ]*' | cut -d' ' -f2)
	[[ -n $want && $got == "$want" ]] || { echo "$2 on $1 reaches $GW at ${got:-nothing}, its host's bridge is $want"; return 1; }
}
# macip_route NODE MAC IP ORIGIN: NODE holds the type-2 MAC+IP route.
macip_route() { _type2 "$1" | grep -qx "$4 $2 $3" || { _type2 "$1"; return 1; }; }
no_route_for_ip() { ! _type2 "$1" | awk '{print $3}' | grep -qx "$2"; }
# fdb_snapshot HOST: the vxlan link's entries with a destination (FRR's).
fdb_snapshot() { host_netexec "$1" bridge fdb show dev "$(vx_of "$1")" | grep ' dst ' | sort; }
# same WANT CMD...: CMD prints WANT.
same() { local want=$1 got; shift; got=$("$@"); [[ $got == "$want" ]] || { echo "got: $got"; echo "want: $want"; return 1; }; }
# peers_up N: the route reflector has N dynamic l2vpn evpn peers up.
peers_up() { [[ $(frr_vtysh tor "show bgp l2vpn evpn summary" | grep -c '^\*h[12](') == "$1" ]]; }
# neigh_from_evpn HOST IP: HOST's bridge holds IP as a neighbour from EVPN.
neigh_from_evpn() { host_netexec "$1" ip neigh show dev "$(br_of "$1")" | grep -E "^$(re "$2") .*extern_learn"; }
# reaches HOST C ADDRESS...: container C on HOST reaches every ADDRESS.
reaches() { local h=$1 c=$2 a; shift 2; for a in "$@"; do ping_from "$h" "$c" "$a" || return 1; done; }
# no_entry_anywhere MAC: no host or the ToR holds an FDB entry for MAC.
no_entry_anywhere() { fdb_none h1 "$(vx_of h1)" "$1" && fdb_none h2 "$(vx_of h2)" "$1" && fdb_none tor vx100 "$1"; }
# no_route_from_hosts NODE: NODE holds no type-2 route from h1 or h2.
no_route_from_hosts() { ! _type2 "$1" | grep -E "^($(re "${VTEP[h1]}")|$(re "${VTEP[h2]}")) "; }

# stats COLUMN: "p50 N ms over N runs (min N, max N)" of a column of numbers.
stats() {
	cut -d' ' -f"$1" | sort -n | awk '{a[NR] = $1} END {printf "p50 %d ms over %d runs (min %d, max %d)", a[int((NR + 1) / 2)], NR, a[1], a[NR]}'
}

# ---------------------------------------------------------------- start

fabric_up
check "the route reflector has both hosts as l2vpn evpn peers" \
	eventually 60 peers_up 2

# Refusals name the option that clashes; nothing is left.
host_netexec h1 ip link add nul0 type veth peer name nul1
host_netexec h1 ip link set nul0 up
check "EVPN with Peers is refused naming Peers" create_refused "-o VxlanId=9 -o EVPN=true -o VtepDev=eth0 -o Peers=192.0.2.2" "option Peers" EVPN
check "EVPN with Group is refused naming Group" create_refused "-o VxlanId=9 -o EVPN=true -o VtepDev=eth0 -o Group=192.0.2.2" "option Group" EVPN
check "EVPN with Learning=true is refused naming Learning" create_refused "-o VxlanId=9 -o EVPN=true -o VtepDev=eth0 -o Learning=true" "option Learning" EVPN
check "EVPN with mode=macvlan is refused naming mode" create_refused "-o VxlanId=9 -o EVPN=true -o VtepDev=eth0 -o mode=macvlan" "option mode=macvlan" EVPN
check "EVPN with an IPv6 SrcAddr is refused naming SrcAddr (FRR: IPv4 VTEPs)" create_refused "-o VxlanId=9 -o EVPN=true -o SrcAddr=2001:db8::1" "option SrcAddr" EVPN IPv4
check "EVPN with no local address is refused naming SrcAddr" create_refused "-o VxlanId=9 -o EVPN=true" SrcAddr EVPN
check "EVPN on a VTEP device without an address is refused naming SrcAddr" create_refused "-o VxlanId=9 -o EVPN=true -o VtepDev=nul0" SrcAddr EVPN
check "the refusals left no plugin link" no_owned_links h1
host_netexec h1 ip link del nul0

for h in h1 h2; do
	check "$h: EVPN network created (${SOURCE[$h]#-o })" evpn_create "$h"
done
for h in h1 h2; do
	check "$h: the vxlan link is laid out for FRR" layout "$h"
	check "$h: zebra took VNI $VNI and learned the other VTEPs" eventually 30 zebra_has_vni "$h"
	check "$h: the flood list is FRR's (type-3 routes)" eventually 30 flood_from_frr "$h"
done

# ---------------------------------------------------------------- reachability

run_on h1 c1
run_on h2 c2
M1=$(mac_of h1 c1) M2=$(mac_of h2 c2) IP1=$(ip_of h1 c1) IP2=$(ip_of h2 c2)
check "the ToR holds a type-2 route for c1's MAC from h1" eventually 30 evpn_route_from tor "$M1" "${VTEP[h1]}"
check "the ToR holds a type-2 route for c2's MAC from h2" eventually 30 evpn_route_from tor "$M2" "${VTEP[h2]}"
check "h1 installed c2's MAC from EVPN (extern_learn, dst h2)" eventually 30 fdb_remote h1 "$(vx_of h1)" "$M2" "${VTEP[h2]}"
check "h2 installed c1's MAC from EVPN (extern_learn, dst h1)" eventually 30 fdb_remote h2 "$(vx_of h2)" "$M1" "${VTEP[h1]}"
check "c1 (h1) reaches c2 (h2)" ping_from h1 c1 "$IP2"
check "c2 (h2) reaches c1 (h1)" ping_from h2 c2 "$IP1"
check "c1 reaches the server behind the ToR" ping_from h1 c1 "$SERVER"
check "c2 reaches the server behind the ToR" ping_from h2 c2 "$SERVER"
check "the server reaches c1" host_netexec srv ping -c 1 -W 2 "$IP1"
check "the server reaches c2" host_netexec srv ping -c 1 -W 2 "$IP2"

# The gateway: the same address on both hosts, each container's its own.
check "c1 reaches its gateway $GW" ping_from h1 c1 "$GW"
check "c2 reaches its gateway $GW" ping_from h2 c2 "$GW"
check "c1's gateway is h1's bridge" gateway_is_own_host h1 c1
check "c2's gateway is h2's bridge" gateway_is_own_host h2 c2
check "c1 reaches its host's underlay address through the gateway" ping_from h1 c1 "${VTEP[h1]}"
check "zebra advertised c1's MAC+IP, learned by h1's gateway" eventually 30 macip_route tor "$M1" "$IP1" "${VTEP[h1]}"
check "the gateway address itself is never advertised" no_route_for_ip tor "$GW"
check "h2 holds c1's address from EVPN, for ARP suppression" neigh_from_evpn h2 "$IP1"

# ---------------------------------------------------------------- restarts

before1=$(started h1 c1) fdb1=$(fdb_snapshot h1)
plugin_stop h1
plugin_start h1
check "plugin restart: c1 still running, not restarted" same "$before1" started h1 c1
check "plugin restart: FRR's entries on h1 untouched" same "$fdb1" fdb_snapshot h1
check "plugin restart: the port flags stay" layout h1
check "plugin restart: the ToR still holds c1's route" evpn_route_from tor "$M1" "${VTEP[h1]}"
check "plugin restart: c1 reaches c2" ping_from h1 c1 "$IP2"

frr_stop h1
check "FRR stopped on h1: the ToR withdraws c1's route" eventually 30 evpn_no_route tor "$M1"
check "FRR stopped on h1: c1 still running" same "$before1" started h1 c1
check "FRR stopped on h1: c1 still reaches its gateway" ping_from h1 c1 "$GW"
frr_start h1 "${VTEP[h1]}"
check "FRR restarted on h1: the ToR holds c1's route again" eventually 60 evpn_route_from tor "$M1" "${VTEP[h1]}"
check "FRR restarted on h1: h1 installs c2's MAC again" eventually 60 fdb_remote h1 "$(vx_of h1)" "$M2" "${VTEP[h2]}"
check "FRR restarted on h1: c1 reaches c2 and the server" reaches h1 c1 "$IP2" "$SERVER"
check "FRR restarted on h1: c1 never restarted" same "$before1" started h1 c1

# ---------------------------------------------------------------- withdrawal

t=$(now_ms)
host_docker h2 rm -f c2 >/dev/null
check "docker rm c2: the ToR withdraws its route within 10 s" eventually 10 evpn_no_route tor "$M2"
log "figure: docker rm -> type-2 withdrawn at the ToR: $(( $(now_ms) - t )) ms"
check "docker rm c2: h1 drops its MAC" eventually 10 fdb_none h1 "$(vx_of h1)" "$M2"

# ---------------------------------------------------------------- moves

# move HOST: move_to HOST, the mover removed whatever happened, and the
# ToR past its withdrawal before the next move starts: a MAC back on the
# other host before its withdrawal went round once left that host never
# installing it again (1 run in 13, FRR's MAC mobility, not the plugin's
# entries); an operator's move is no faster than a docker rm and a run.
move() {
	local rc=0
	move_to "$1" || { rc=$?; evpn_dump "$VNI" "$MOVER_MAC" h1 h2 tor; }
	host_docker "$1" rm -f mover >/dev/null 2>&1 || true
	eventually 10 evpn_no_route tor "$MOVER_MAC" || { echo "the ToR kept the mover's route after docker rm"; rc=1; }
	return "$rc"
}

# move_to HOST: run the mover on HOST (same address, so the same MAC) and
# wait until the fabric agrees: the ToR's route from HOST's VTEP alone, the
# other host's and the ToR's FDB pointing at HOST, HOST holding no remote
# entry for it; then c1 and the server reach it. Appends the docker run ->
# ToR route time to $TIMES.
move_to() {
	local h=$1 o=${OTHER[$1]} t0 t1 mac
	t0=$(now_ms)
	run_on "$h" mover --ip "$MOVER_IP" || return 1
	t1=$(now_ms)
	eventually 30 evpn_route_from tor "$MOVER_MAC" "${VTEP[$h]}" || return 1
	echo "$(( $(now_ms) - t0 )) $(( t1 - t0 ))" >>"$TIMES"
	mac=$(mac_of "$h" mover)
	[[ $mac == "$MOVER_MAC" ]] || { echo "mover's MAC $mac, want $MOVER_MAC"; return 1; }
	eventually 30 fdb_remote "$o" "$(vx_of "$o")" "$MOVER_MAC" "${VTEP[$h]}" || return 1
	eventually 30 fdb_remote tor vx100 "$MOVER_MAC" "${VTEP[$h]}" || return 1
	eventually 30 fdb_none "$h" "$(vx_of "$h")" "$MOVER_MAC" || return 1
	if ! { ping_from h1 c1 "$MOVER_IP" && host_netexec srv ping -c 1 -W 2 "$MOVER_IP"; } >/dev/null; then
		echo "mover on $h unreachable from c1 or the server"; return 1
	fi
}

TIMES=$E2E_TMP/run-to-route.ms
: >"$TIMES"
MOVER_MAC=02:42:$(printf '%02x:' ${MOVER_IP//./ } | cut -c1-11)
for i in $(seq 1 20); do
	h=h$(( (i + 1) % 2 + 1 ))
	check "move $i: the mover on $h, the fabric converged without stale entries" move "$h"
done
check "after the moves: the ToR holds no route for the mover" eventually 10 evpn_no_route tor "$MOVER_MAC"
check "after the moves: no host or ToR holds an entry for it" eventually 10 no_entry_anywhere "$MOVER_MAC"
if [[ -s $TIMES ]]; then
	log "figure: docker run -> ToR type-2 route: $(stats 1 <"$TIMES"); docker run alone: $(stats 2 <"$TIMES")"
fi

# ---------------------------------------------------------------- removal

host_docker h1 rm -f c1 >/dev/null
for h in h1 h2; do
	check "$h: network removed" host_docker "$h" network rm evpn
	check "$h: no plugin link left" no_owned_links "$h"
done
check "the ToR holds no type-2 route from the hosts any more" eventually 10 no_route_from_hosts tor
log "45-evpn.sh ran in $(( ($(now_ms) - T0) / 1000 )) s"
summary
