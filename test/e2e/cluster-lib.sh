# shellcheck shell=bash
# Cluster-mode harness: a fabric "switch" (a bridge in a router namespace)
# that every host plugs into, a real etcd (Debian's etcd-server) listening
# on the switch, and the plugin started in cluster mode. Source after
# lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/cluster-lib.sh"
#   fabric_start; etcd_start
#   cluster_host h1 192.0.2.1
#
# etcd runs inside the fabric router's PID namespace, so lib.sh's cleanup
# (host_stop of every node, even on failure) kills it with the router; its
# data directory lives under $E2E_TMP and goes with it.
#
# Functions:
#   fabric_start                    router $FABRIC with switch "sw" at $FABRIC_ADDR/24
#   fabric_plug HOST ADDR           veth ul0 in HOST (ADDR/24) plugged into the switch
#   etcd_start | etcd_stop | etcd_kill9   etcd in $FABRIC; data survives stop/start
#   etcd_up                         etcd answers a health check
#   etcdctl_ ARGS...                etcdctl (v3 API) against it
#   cluster_plugin_start HOST [FLAGS...]  plugin_start with the cluster flags
#   cluster_host HOST ADDR          host_start + fabric_plug + cluster_plugin_start
#   vxlan_link HOST VNI             name of the plugin's vxlan link for VNI in HOST
#   flood_list HOST VNI             the link's flood list: one VTEP a line, sorted
#   fdb_static HOST VNI MAC VTEP    MAC is a static entry towards VTEP (else prints the FDB)
#   fdb_mentions HOST VNI WHAT      some FDB line of the link contains WHAT
#   neigh_static HOST IP MAC        HOST has a permanent neighbour entry IP -> MAC
#   container_mac HOST CONTAINER NETWORK
#
# Tunables: FABRIC (router name, default fab), FABRIC_ADDR (192.0.2.254),
# CLUSTER_TTL (plugin lease TTL, default 3s), ETCD_TIMEOUT (seconds to wait
# for etcd to answer, default 20).

FABRIC=${FABRIC:-fab}
FABRIC_ADDR=${FABRIC_ADDR:-192.0.2.254}
CLUSTER_TTL=${CLUSTER_TTL:-3s}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-20}
ETCD_URL=http://$FABRIC_ADDR:2379

command -v etcd >/dev/null || die "missing etcd (Debian package etcd-server)"
command -v etcdctl >/dev/null || die "missing etcdctl (Debian package etcd-client)"

# ---------------------------------------------------------------- fabric

fabric_start() {
	router_add "$FABRIC"
	router_exec "$FABRIC" ip link add sw type bridge
	router_exec "$FABRIC" ip addr add "$FABRIC_ADDR/24" dev sw
	router_exec "$FABRIC" ip link set sw up
}

fabric_plug() {
	local h=$1 addr=$2
	host_netexec "$h" ip link add ul0 type veth peer name "p-$h" netns "$(host_pid "$FABRIC")"
	host_netexec "$h" ip addr add "$addr/24" dev ul0
	host_netexec "$h" ip link set ul0 up
	router_exec "$FABRIC" ip link set "p-$h" master sw up
}

# ---------------------------------------------------------------- etcd

_etcd_dir() { echo "$(_hdir "$FABRIC")/etcd"; }

etcdctl_() {
	host_netexec "$FABRIC" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" \
		--dial-timeout 2s --command-timeout 3s "$@"
}

etcd_up() { etcdctl_ endpoint health >/dev/null 2>&1; }

# etcd_start: start etcd (or restart it on the same data) and wait until it
# answers.
etcd_start() {
	local d hp np pid
	d=$(_etcd_dir)
	hp=$(host_pid "$FABRIC")
	! _alive "$(cat "$d.pid" 2>/dev/null || true)" || die "etcd already running"
	mkdir -p "$d"
	echo "==== etcd start $(date +%T.%N)" >>"$d.log"
	nsenter -t "$hp" -m -n -p -- etcd --name "$FABRIC" --data-dir "$d" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster "$FABRIC=http://127.0.0.1:2380" \
		</dev/null >>"$d.log" 2>&1 &
	np=$!
	disown "$np"
	pid=$(_child_of "$np" "$hp") || die "etcd exited at once: $(tail -n 20 "$d.log")"
	echo "$pid" >"$d.pid"
	wait_for "$ETCD_TIMEOUT" etcd_up || die "etcd not answering after ${ETCD_TIMEOUT}s: $(tail -n 20 "$d.log")"
}

# etcd_stop: SIGTERM etcd and wait for it to exit.
etcd_stop() {
	local pid
	pid=$(cat "$(_etcd_dir).pid" 2>/dev/null || true)
	_alive "$pid" || return 0
	_terminate "$pid" 15 etcd
}

# etcd_kill9: SIGKILL etcd (a crash; the data directory stays).
etcd_kill9() {
	local pid
	pid=$(cat "$(_etcd_dir).pid" 2>/dev/null || true)
	_alive "$pid" || return 0
	kill -KILL "$pid"
	_wait_gone "$pid" 10
}

# ---------------------------------------------------------------- hosts

cluster_plugin_start() {
	local h=$1; shift
	plugin_start "$h" --etcd-endpoints "$ETCD_URL" --etcd-ttl "$CLUSTER_TTL" --node-name "$h" "$@"
}

cluster_host() {
	host_start "$1"
	fabric_plug "$1" "$2"
	cluster_plugin_start "$1"
}

# ---------------------------------------------------------------- FDB

# vxlan_link HOST VNI: the vxlan link with that VNI in HOST.
vxlan_link() {
	local name
	name=$(host_netexec "$1" ip -d -o link show type vxlan |
		awk -v vni="$2" '{for (i = 1; i < NF; i++) if ($i == "id" && $(i+1) == vni) {sub(/@.*/, "", $2); sub(/:$/, "", $2); print $2; exit}}')
	[[ -n $name ]] || { echo "no vxlan link with id $2 in $1" >&2; return 1; }
	echo "$name"
}

_fdb() {
	local link
	link=$(vxlan_link "$1" "$2") || return 1
	host_netexec "$1" bridge fdb show dev "$link"
}

flood_list() {
	local fdb
	fdb=$(_fdb "$1" "$2") || return 1
	awk '$1 == "00:00:00:00:00:00" && $2 == "dst" {print $3}' <<<"$fdb" | sort -u
}

fdb_static() {
	local h=$1 vni=$2 mac=$3 vtep=$4 fdb
	fdb=$(_fdb "$h" "$vni") || return 1
	if ! grep -i -- "^$mac dst $vtep " <<<"$fdb" | grep -q permanent; then
		echo "$h: no static entry $mac dst $vtep in:"; echo "$fdb"; return 1
	fi
}

fdb_mentions() {
	local fdb
	fdb=$(_fdb "$1" "$2") || return 1
	grep -qi -- "$3" <<<"$fdb"
}

container_mac() {
	host_docker "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").MacAddress}}" "$2"
}

# neigh_static HOST IP MAC: HOST has a permanent neighbour entry IP -> MAC.
neigh_static() {
	local n
	n=$(host_netexec "$1" ip neigh show to "$2")
	grep -qi "lladdr $3 PERMANENT" <<<"$n" || { echo "$1: neighbour entries for $2: ${n:-none}"; return 1; }
}
