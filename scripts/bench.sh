#!/usr/bin/env bash
# Performance figures, printed, never asserted. Runs against a real dockerd
# isolated as in the e2e tests (test/e2e/lib.sh), as root:
#   1. `docker run --rm` on a vxlan network vs Docker's builtin bridge driver
#      on the same dockerd, interleaved, median of RUNS each, and the ratio;
#   2. the plugin's resident memory after ENDPOINTS containers on one network.
# RUNS (default 15) and ENDPOINTS (default 100) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
ENDPOINTS=${ENDPOINTS:-100}
[[ -x bin/docker-vxlan-plugin ]] || make build >/dev/null
. test/e2e/lib.sh

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(plugin_pid h1)/status"; }

host_start h1
router_add r1
underlay_link h1 r1 192.0.2.1 192.0.2.254 >/dev/null
plugin_start h1
host_docker h1 network create -d vxlan --subnet 198.51.100.0/24 -o VxlanId=42 -o Peers=192.0.2.254 seg >/dev/null
host_docker h1 network create -d bridge --subnet 203.0.113.0/24 br >/dev/null
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
echo "$eps endpoints started in $t_eps ms ($(( t_eps / ENDPOINTS )) ms each, sequential docker run -d)"
echo "plugin RSS: idle $((rss_idle / 1024)) MiB, with $eps endpoints $((rss_full / 1024)) MiB ($rss_full KiB)"
e2e_cleanup
E2E_DONE=1
