#!/usr/bin/env bash
# Performance figures, printed, never asserted. Runs against a real dockerd
# isolated as in the e2e tests (test/e2e/lib.sh), as root:
#   1. `docker run --rm` on a vxlan network vs Docker's builtin bridge driver
#      on the same dockerd, interleaved, median of RUNS each, and the ratio;
#   2. container-to-container TCP throughput (iperf3, same host) for the
#      macvlan and the bridge attachment on VXLAN segments, and the ratio;
#   3. the plugin's resident memory after ENDPOINTS containers on one network.
# RUNS (default 15), IPERF_SECONDS (default 5) and ENDPOINTS (default 100)
# tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
ENDPOINTS=${ENDPOINTS:-100}
IPERF_SECONDS=${IPERF_SECONDS:-5}
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
[[ -x bin/docker-vxlan-plugin ]] || make build >/dev/null
. test/e2e/lib.sh

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
# in_netns C CMD...: run a host binary (iperf3) in container C's network namespace.
in_netns() {
	local key
	key=$(host_docker h1 inspect -f '{{.NetworkSettings.SandboxKey}}' "$1"); shift
	host_exec h1 nsenter --net="$key" "$@"
}
# throughput NET: Gbit/s between two fresh containers on NET.
throughput() {
	local net=$1 server
	host_docker h1 run -d --name "$net-s" --network "$net" busybox:local sleep 100000 >/dev/null
	host_docker h1 run -d --name "$net-c" --network "$net" busybox:local sleep 100000 >/dev/null
	server=$(container_ip h1 "$net-s" "$net")
	in_netns "$net-s" iperf3 -s -D -1 >/dev/null
	sleep 0.5
	in_netns "$net-c" iperf3 -c "$server" -t "$IPERF_SECONDS" -J |
		awk -F'[:,]' '/"sum_received"/ {f=1} f && /"bits_per_second"/ {printf "%.2f", $2/1e9; exit}'
	host_docker h1 rm -f "$net-s" "$net-c" >/dev/null
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(plugin_pid h1)/status"; }

host_start h1
router_add r1
underlay_link h1 r1 192.0.2.1 192.0.2.254 >/dev/null
plugin_start h1
host_docker h1 network create -d vxlan --subnet 198.51.100.0/25 -o VxlanId=42 -o Peers=192.0.2.254 seg >/dev/null
host_docker h1 network create -d bridge --subnet 198.51.100.128/25 br >/dev/null
rss_idle=$(rss_kb)

# Warm up both paths once, then interleave so drift hits both alike.
for net in seg br; do host_docker h1 run --rm --network "$net" busybox:local true; done
vx=() br=()
for _ in $(seq "$RUNS"); do
	vx+=("$(time_ms host_docker h1 run --rm --network seg busybox:local true)")
	br+=("$(time_ms host_docker h1 run --rm --network br busybox:local true)")
done
vx_med=$(printf '%s\n' "${vx[@]}" | median)
br_med=$(printf '%s\n' "${br[@]}" | median)

host_docker h1 network create -d vxlan --subnet 203.0.113.0/25 -o VxlanId=43 -o Peers=192.0.2.254 -o mode=macvlan mv >/dev/null
host_docker h1 network create -d vxlan --subnet 203.0.113.128/25 -o VxlanId=44 -o Peers=192.0.2.254 brx >/dev/null
gbps_mv=$(throughput mv)
gbps_br=$(throughput brx)

t0=$(now_ms)
for i in $(seq "$ENDPOINTS"); do
	host_docker h1 run -d --network seg --name "e$i" busybox:local sleep 100000 >/dev/null
done
t_eps=$(( $(now_ms) - t0 ))
rss_full=$(rss_kb)
eps=$(host_docker h1 network inspect -f '{{len .Containers}}' seg)

echo
echo "docker run --rm, median of $RUNS (ms): vxlan $vx_med, builtin bridge $br_med, ratio $(awk -v a="$vx_med" -v b="$br_med" 'BEGIN {printf "%.2f", a/b}')"
echo "  vxlan runs:  ${vx[*]}"
echo "  bridge runs: ${br[*]}"
echo "iperf3 container to container, same host, ${IPERF_SECONDS}s (Gbit/s): macvlan $gbps_mv, bridge $gbps_br, ratio $(awk -v a="$gbps_mv" -v b="$gbps_br" 'BEGIN {printf "%.2f", a/b}')"
echo "$eps endpoints started in $t_eps ms ($(( t_eps / ENDPOINTS )) ms each, sequential docker run -d)"
echo "plugin RSS: idle $((rss_idle / 1024)) MiB, with $eps endpoints $((rss_full / 1024)) MiB ($rss_full KiB)"
e2e_cleanup
E2E_DONE=1
