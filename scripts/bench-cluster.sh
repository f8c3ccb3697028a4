#!/usr/bin/env bash
# Cluster-mode figures (issue 7), printed, never asserted. Same harness as
# test/e2e/50-cluster.sh: a real etcd on a fabric switch, two isolated
# dockerd hosts h1 and h2 with the plugin in cluster mode, as root:
#   1. time from `docker run -d` on h1 until h2's kernel has the container's
#      FDB entry (`bridge monitor fdb` timestamps), p50/p99 over FDB_RUNS;
#   2. first-packet loss: PING_TRIALS times, start a container on h1 and
#      send it ONE ping (1 s deadline) from a container on h2;
#   3. CONCURRENT simultaneous `docker run -d` on h1: cluster IPAM vs Docker's
#      default IPAM on a plugin network, same engine, wall time and ratio;
#   4. etcd keys and bytes per endpoint (the growth over those CONCURRENT);
#   5. resynchronisation after an etcd outage: etcd stopped, OUTAGE_CONTAINERS
#      started on h1, etcd started: time until h2 has all their FDB entries
#      (OUTAGES times).
# A table on stdout; the same as CSV in bench-results/cluster.csv, and the
# raw samples in bench-results/cluster-*.csv (BENCH_OUT=DIR elsewhere).
# FDB_RUNS, PING_TRIALS, CONCURRENT, OUTAGES and OUTAGE_CONTAINERS tune it;
# PLUGIN_BIN picks the binary (default bin/, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
FDB_RUNS=${FDB_RUNS:-50}
PING_TRIALS=${PING_TRIALS:-200}
CONCURRENT=${CONCURRENT:-100}
OUTAGES=${OUTAGES:-3}
OUTAGE_CONTAINERS=${OUTAGE_CONTAINERS:-8}
OUT=${BENCH_OUT:-bench-results}
[[ -n ${PLUGIN_BIN:-} || -x bin/docker-vxlan-plugin ]] || make build >/dev/null
. test/e2e/lib.sh
. test/e2e/cluster-lib.sh
mkdir -p "$OUT"

H1_VTEP=192.0.2.1
H2_VTEP=192.0.2.2
net_create() { local h=$1; shift; host_docker "$h" network create -d vxlan "$@" >/dev/null; }
run_on() { host_docker "$1" run -d --name "$2" --network "$3" busybox:local sleep 100000 >/dev/null; }
rm_named() { # rm_named HOST PREFIX: remove HOST's containers named PREFIX*
	local ids
	mapfile -t ids < <(host_docker "$1" ps -aq --filter "name=^$2")
	((${#ids[@]} == 0)) || host_docker "$1" rm -f "${ids[@]}" >/dev/null
}
# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i]}'; }
median() { pct 50; }

# fdb_events FILE VTEP: "epoch_ms MAC" for each FDB entry added towards
# VTEP, from `bridge -timestamp monitor fdb` output.
fdb_events() {
	awk -v vtep="$2" '
	BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m); for (i in m) mon[m[i]] = i }
	$1 == "Timestamp:" { split($5, t, ":"); ts = mktime($6 " " mon[$3] " " $4 " " t[1] " " t[2] " " t[3]) * 1000 + int($7 / 1000); next }
	$1 != "Deleted" && $0 ~ " dst " vtep " " && / permanent/ { printf "%.0f %s\n", ts, $1 }' "$1"
}
# monitor_start HOST FILE: `bridge monitor fdb` inside HOST (dies with it); prints its PID.
monitor_start() {
	local np hp
	hp=$(host_pid "$1")
	nsenter -t "$hp" -m -n -p -- bridge -timestamp monitor fdb >"$2" 2>&1 &
	np=$!
	disown "$np"
	_child_of "$np" "$hp"
}
# etcd_usage: "KEYS BYTES" under the plugin's prefix.
etcd_usage() {
	local keys bytes
	keys=$(etcdctl_ get --prefix /docker-vxlan-plugin/ --keys-only | grep -c . || true)
	bytes=$(etcdctl_ get --prefix /docker-vxlan-plugin/ | grep -v '^$' | tr -d '\n' | wc -c)
	echo "$keys $bytes"
}
# static_all HOST VNI VTEP MAC...: every MAC is a static entry towards VTEP.
static_all() {
	local h=$1 vni=$2 vtep=$3 fdb mac; shift 3
	fdb=$(_fdb "$h" "$vni") || return 1
	for mac in "$@"; do grep -qiE "^$mac dst $vtep .*permanent" <<<"$fdb" || return 1; done
}

fabric_start
etcd_start
cluster_host h1 "$H1_VTEP"
cluster_host h2 "$H2_VTEP"
for h in h1 h2; do net_create "$h" --ipam-driver vxlan --subnet 10.42.0.0/16 -o VxlanId=42 n42; done
run_on h2 pb n42
run_on h1 warm n42 # one container first, so the first sample is no cold start

# ---- 1. docker run on h1 -> FDB entry on h2
log "1/5: $FDB_RUNS runs, FDB entry latency"
mon=$(monitor_start h2 "$E2E_TMP/fdb-mon.txt")
: >"$E2E_TMP/starts"
for i in $(seq "$FDB_RUNS"); do
	t0=$(now_ms)
	run_on h1 "l$i" n42
	t1=$(now_ms)
	echo "$t0 $t1 $(container_mac h1 "l$i" n42)" >>"$E2E_TMP/starts"
done
sleep 2
kill "$mon"
fdb_events "$E2E_TMP/fdb-mon.txt" "$H1_VTEP" >"$E2E_TMP/events"
echo "run,run_start_ms,run_return_ms,fdb_ms,latency_ms" >"$OUT/cluster-fdb-latency.csv"
missing=0 before_return=0 n=0
while read -r t0 t1 mac; do
	n=$((n + 1))
	tf=$(awk -v m="$mac" 'tolower($2) == tolower(m) {print $1; exit}' "$E2E_TMP/events")
	if [[ -z $tf ]]; then missing=$((missing + 1)); echo "$n,$t0,$t1,," >>"$OUT/cluster-fdb-latency.csv"; continue; fi
	((tf > t1)) || before_return=$((before_return + 1))
	echo "$n,$t0,$t1,$tf,$((tf - t0))" >>"$OUT/cluster-fdb-latency.csv"
done <"$E2E_TMP/starts"
lat=$(awk -F, 'NR > 1 && $5 != "" {print $5}' "$OUT/cluster-fdb-latency.csv")
run_ms=$(awk -F, 'NR > 1 {print $3 - $2}' "$OUT/cluster-fdb-latency.csv" | median)
fdb_p50=$(pct 50 <<<"$lat") fdb_p99=$(pct 99 <<<"$lat")
rm_named h1 l

# ---- 2. first-packet loss
log "2/5: $PING_TRIALS start-then-ping trials"
lost=0
echo "trial,address,first_ping,ping_ms" >"$OUT/cluster-first-ping.csv"
for i in $(seq "$PING_TRIALS"); do
	run_on h1 "p$i" n42
	ip=$(container_ip h1 "p$i" n42)
	if ms=$(time_ms host_docker h2 exec pb ping -c 1 -W 1 "$ip"); then r=ok; else r=lost; lost=$((lost + 1)); fi
	echo "$i,$ip,$r,$ms" >>"$OUT/cluster-first-ping.csv"
	((i % 50)) || rm_named h1 p
done
rm_named h1 p

# ---- 3 and 4. concurrent docker run, cluster vs default IPAM; etcd per endpoint
log "3/5: $CONCURRENT concurrent docker run -d, default IPAM then cluster IPAM"
net_create h1 --subnet 10.99.0.0/16 -o VxlanId=99 ndef
# concurrent NET PREFIX: start CONCURRENT containers at once; prints "WALL_MS FAILED".
concurrent() {
	local t0 pids=() p failed=0
	t0=$(now_ms)
	for i in $(seq "$CONCURRENT"); do
		run_on h1 "$2$i" "$1" 2>/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	echo "$(($(now_ms) - t0)) $failed"
}
read -r wall_def fail_def < <(concurrent ndef d)
rm_named h1 d
read -r keys0 bytes0 < <(etcd_usage)
eps0=$(host_docker h1 network inspect -f '{{len .Containers}}' n42)
read -r wall_cl fail_cl < <(concurrent n42 c)
eps1=$(host_docker h1 network inspect -f '{{len .Containers}}' n42)
read -r keys1 bytes1 < <(etcd_usage)
added=$((eps1 - eps0))
keys_per=$(awk -v a="$keys0" -v b="$keys1" -v n="$added" 'BEGIN {printf "%.2f", n ? (b - a) / n : 0}')
bytes_per=$(awk -v a="$bytes0" -v b="$bytes1" -v n="$added" 'BEGIN {printf "%.0f", n ? (b - a) / n : 0}')
ratio=$(awk -v a="$wall_cl" -v b="$wall_def" 'BEGIN {printf "%.2f", a / b}')
rm_named h1 c

# ---- 5. resynchronisation after an etcd outage
log "5/5: $OUTAGES etcd outages, $OUTAGE_CONTAINERS containers started during each"
echo "outage,from_etcd_start_ms,from_etcd_ready_ms" >"$OUT/cluster-resync.csv"
for k in $(seq "$OUTAGES"); do
	vni=$((60 + k))
	for h in h1 h2; do net_create "$h" --ipam-driver vxlan --subnet "10.$vni.0.0/24" -o VxlanId="$vni" "o$k"; done
	etcd_stop
	macs=()
	for i in $(seq "$OUTAGE_CONTAINERS"); do
		run_on h1 "o$k-$i" "o$k"
		macs+=("$(container_mac h1 "o$k-$i" "o$k")")
	done
	t_start=$(now_ms)
	etcd_start
	t_ready=$(now_ms)
	until static_all h2 "$vni" "$H1_VTEP" "${macs[@]}"; do
		(($(now_ms) - t_start < 60000)) || { log "outage $k: h2 still misses entries after 60 s"; break; }
		sleep 0.05
	done
	t_done=$(now_ms)
	echo "$k,$((t_done - t_start)),$((t_done - t_ready))" >>"$OUT/cluster-resync.csv"
	rm_named h1 "o$k-"
	for h in h1 h2; do host_docker "$h" network rm "o$k" >/dev/null; done
done
resync_start=$(awk -F, 'NR > 1 {print $2}' "$OUT/cluster-resync.csv" | median)
resync_ready=$(awk -F, 'NR > 1 {print $3}' "$OUT/cluster-resync.csv" | median)

# ---- report
{
	echo "metric,value,unit"
	echo "fdb_latency_p50,$fdb_p50,ms"
	echo "fdb_latency_p99,$fdb_p99,ms"
	echo "fdb_latency_runs,$FDB_RUNS,runs"
	echo "fdb_latency_missing,$missing,runs"
	echo "fdb_before_docker_run_returned,$before_return,runs"
	echo "docker_run_median,$run_ms,ms"
	echo "first_ping_lost,$lost,trials"
	echo "first_ping_trials,$PING_TRIALS,trials"
	echo "concurrent_runs,$CONCURRENT,containers"
	echo "concurrent_wall_default_ipam,$wall_def,ms"
	echo "concurrent_failed_default_ipam,$fail_def,containers"
	echo "concurrent_wall_cluster_ipam,$wall_cl,ms"
	echo "concurrent_failed_cluster_ipam,$fail_cl,containers"
	echo "concurrent_ratio_cluster_over_default,$ratio,ratio"
	echo "etcd_keys_per_endpoint,$keys_per,keys"
	echo "etcd_bytes_per_endpoint,$bytes_per,bytes"
	echo "etcd_keys_total,$keys1,keys"
	echo "etcd_bytes_total,$bytes1,bytes"
	echo "resync_from_etcd_start_median,$resync_start,ms"
	echo "resync_from_etcd_ready_median,$resync_ready,ms"
} >"$OUT/cluster.csv"
echo
echo "cluster mode, $(date -u +%FT%TZ), $(nproc) cores, TTL $CLUSTER_TTL"
printf '%-58s %s\n' \
	"docker run on h1 -> FDB entry on h2, p50 / p99 (ms)" "$fdb_p50 / $fdb_p99 ($FDB_RUNS runs, $missing never seen)" \
	"  entry there before docker run -d returned (median $run_ms ms)" "$before_return / $FDB_RUNS" \
	"first-packet loss, start on h1 then one ping from h2" "$lost / $PING_TRIALS" \
	"$CONCURRENT concurrent docker run -d, default IPAM (ms)" "$wall_def ($fail_def failed)" \
	"$CONCURRENT concurrent docker run -d, cluster IPAM (ms)" "$wall_cl ($fail_cl failed)" \
	"  ratio cluster / default" "$ratio" \
	"etcd per endpoint (over $added endpoints)" "$keys_per keys, $bytes_per bytes" \
	"etcd total with $eps1 endpoints on h1 + those on h2" "$keys1 keys, $bytes1 bytes" \
	"resync after an outage, $OUTAGE_CONTAINERS containers, median of $OUTAGES (ms)" "$resync_start from etcd start, $resync_ready from etcd ready"
echo "CSV: $OUT/cluster.csv, raw samples: $OUT/cluster-{fdb-latency,first-ping,resync}.csv"
e2e_cleanup
E2E_DONE=1
