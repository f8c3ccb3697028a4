#!/usr/bin/env bash
# Scale figures (issue 10), printed and plotted, never asserted. Against a
# real dockerd with its firewall on, isolated as in the e2e tests
# (test/e2e/lib.sh), as root:
#   1. at 10, 100 and 1000 networks of each driver: `docker network create`
#      and `docker run --rm` on the plugin's vxlan driver and on Docker's
#      builtin bridge, side by side on the same engine, interleaved, SAMPLES
#      of each (p50, p99); the plugin's restart-to-serving time and RSS;
#   2. then, over those networks, at 100, 1000 and 10,000 endpoints:
#      CreateEndpoint and Join as the plugin's own /metrics histogram times
#      them (EP_SAMPLES of each per size); restart-to-serving and RSS. These
#      requests go to the plugin's socket as dockerd sends them: ten
#      thousand containers do not fit a test machine. Their container ends
#      then leave the host, as Docker moves them, all into one namespace.
# The plugin's own share of `docker network create` (its CreateNetwork, from
# its histogram) is in the CSV too.
# Writes bench-results/scale-{networks,endpoints,plugin}.csv and scale.png.
# NET_SIZES, EP_SIZES, SAMPLES (default 30) and EP_SAMPLES (default 500)
# tune it; the defaults take about half an hour on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
NET_SIZES=${NET_SIZES:-"10 100 1000"}
EP_SIZES=${EP_SIZES:-"100 1000 10000"}
SAMPLES=${SAMPLES:-30}
EP_SAMPLES=${EP_SAMPLES:-500}
OUT=${OUT:-bench-results}
METRICS=127.0.0.1:9323
PLUGIN_FLAGS=(--metrics "$METRICS")
# A start waits for the kernel's RTNL lock in its first link dump, which
# thousands of links being made and removed hold for long: the figure is
# measured, the limit only ends a hung run.
export E2E_PLUGIN_TIMEOUT=${E2E_PLUGIN_TIMEOUT:-120}
command -v gnuplot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
[[ -x bin/docker-vxlan-plugin ]] || make build >/dev/null
. test/e2e/lib.sh
mkdir -p "$OUT"
WORK=$(mktemp -d)

# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100); if (i<NR*p/100) i++; if (i<1) i=1; print a[i]}'; }
# subnet KIND I: network I's /24: vxlan ones in 10.64.0.0/10, bridge ones in 10.128.0.0/10.
subnet() { local base=64; [[ $1 == br ]] && base=128; echo "10.$((base + $2 / 256)).$(($2 % 256))"; }
mknet() { # mknet KIND I
	if [[ $1 == vx ]]; then
		host_docker h1 network create -d vxlan --subnet "$(subnet vx "$2").0/24" -o VxlanId=$(($2 + 1)) -o Peers=192.0.2.254 "vx$2"
	else
		host_docker h1 network create -d bridge --subnet "$(subnet br "$2").0/24" "br$2"
	fi >/dev/null
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$(plugin_pid h1)/status"; }
scrape() { host_exec h1 curl -sf "http://$METRICS/metrics"; }
plugin_log() { cat "$E2E_TMP/h1/plugin.log"; }

# settle: wait (up to 2 min) until a netlink request in the host answers
# within 50 ms: the kernel tears the namespaces of `docker run --rm`
# containers down in the background, holding the RTNL lock that a start's
# first link dump waits for.
settle() {
	local i
	for i in $(seq 1200); do
		(($(time_ms host_netexec h1 ip link show dev lo) < 50)) && return 0
		sleep 0.1
	done
}

# restart: SIGTERM the plugin, start it again once the kernel settled;
# prints the milliseconds from its start to the socket served (the plugin's
# own "serving" log line).
restart() {
	local t0 served
	settle
	plugin_stop h1
	t0=$(now_ms)
	plugin_start h1 "${PLUGIN_FLAGS[@]}"
	served=$(plugin_log | awk '/msg=serving socket=/ {t=$1} END {print t}' | sed 's/^time=//')
	echo $(( $(date -d "$served" +%s%3N) - t0 ))
}

# hist METHOD BEFORE AFTER: "mean p50 p99" in ms of the requests of METHOD
# between two scrapes, from the histogram (quantiles interpolated within
# its buckets, as Prometheus does).
hist() {
	awk -v m="\"NetworkDriver.$1\"" '
		FNR == 1 {f++}
		index($0, "request_duration_seconds") && index($0, "method=" m) {
			v = (f == 1 ? -1 : 1) * $NF
			if ($0 ~ /_bucket/) {
				match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
				if (!(le in b)) order[++n] = le
				b[le] += v
			} else if ($0 ~ /_sum/) s += v
			else if ($0 ~ /_count/) c += v
		}
		function q(p,   i, target, prev, prevc, x) {
			target = p * c; prev = 0; prevc = 0
			for (i = 1; i <= n && order[i] != "+Inf"; i++) {
				x = b[order[i]]
				if (x >= target) return 1000 * (prev + (order[i] - prev) * (x > prevc ? (target - prevc) / (x - prevc) : 1))
				prev = order[i]; prevc = x
			}
			return 1000 * prev
		}
		END { if (c > 0) printf "%.2f %.2f %.2f\n", 1000 * s / c, q(0.5), q(0.99); else print "0 0 0" }
	' "$2" "$3"
}

# endpoint_requests FROM TO: a curl config sending CreateEndpoint and Join
# for endpoints FROM..TO-1, spread over the vxlan networks.
endpoint_requests() {
	local k i id nid host sn sock
	sock=$(host_path h1 "$PLUGIN_SOCK")
	for ((k = $1; k < $2; k++)); do
		i=$((k % ${#NETIDS[@]})) host=$((10 + k / ${#NETIDS[@]}))
		printf -v id '%010x%s' "$k" "$EPAD"
		nid=${NETIDS[i]} sn="10.$((64 + i / 256)).$((i % 256))"
		printf 'unix-socket = "%s"\nurl = "http://plugin/NetworkDriver.CreateEndpoint"\noutput = "/dev/null"\nsilent\nwrite-out = "CreateEndpoint %%{http_code} %%{time_total}\\n"\n' "$sock"
		printf 'data = "{\\"NetworkID\\": \\"%s\\", \\"EndpointID\\": \\"%s\\", \\"Interface\\": {\\"Address\\": \\"%s.%d/24\\"}, \\"Options\\": {}}"\nnext\n' "$nid" "$id" "$sn" "$host"
		printf 'unix-socket = "%s"\nurl = "http://plugin/NetworkDriver.Join"\noutput = "/dev/null"\nsilent\nwrite-out = "Join %%{http_code} %%{time_total}\\n"\n' "$sock"
		printf 'data = "{\\"NetworkID\\": \\"%s\\", \\"EndpointID\\": \\"%s\\", \\"SandboxKey\\": \\"\\", \\"Options\\": {}}"\n' "$nid" "$id"
		((k + 1 == $2)) || echo next
	done
}
# add_endpoints FROM TO: send them, keeping "METHOD STATUS SECONDS" of each
# in $WORK/client; every answer must be a 200.
add_endpoints() {
	: >"$WORK/client"
	(($2 > $1)) || return 0
	endpoint_requests "$1" "$2" >"$WORK/eps.cfg"
	curl -K "$WORK/eps.cfg" >"$WORK/client"
	awk '$2 != 200 {bad++} END {exit bad > 0}' "$WORK/client" ||
		die "endpoint requests failed: $(plugin_log | grep 'request failed' | tail -n 3)"
	move_ends "$1" "$2"
}
# move_ends FROM TO: what Docker does after Join: the container ends of
# endpoints FROM..TO-1 (named after their IDs) leave the host, all into
# one namespace standing for the containers.
move_ends() {
	local k
	for ((k = $1; k < $2; k++)); do printf 'link set vxct-%010x netns cts\n' "$k"; done |
		host_exec h1 ip -batch - || die "moving the container ends failed"
}

host_start h1
host_exec h1 ip netns add cts # the containers' side of part 2's endpoints
router_add r1
underlay_link h1 r1 192.0.2.1 192.0.2.254 >/dev/null
plugin_start h1 "${PLUGIN_FLAGS[@]}"
host_docker h1 run --rm busybox:local true # warm up the engine
echo "networks,vxlan_create_p50_ms,vxlan_create_p99_ms,bridge_create_p50_ms,bridge_create_p99_ms,vxlan_run_p50_ms,vxlan_run_p99_ms,bridge_run_p50_ms,bridge_run_p99_ms,plugin_create_mean_ms,plugin_create_p99_ms" >"$WORK/networks.csv"
echo "endpoints,networks,samples,create_mean_ms,create_p50_ms,create_p99_ms,join_mean_ms,join_p50_ms,join_p99_ms,client_create_p50_ms,client_create_p99_ms,client_join_p50_ms,client_join_p99_ms" >"$WORK/endpoints.csv"
echo "networks,endpoints,restart_ms,rss_kib,rss_restarted_kib" >"$WORK/plugin.csv"

# 1. networks
have=0
for size in $NET_SIZES; do
	log "growing to $size networks of each driver"
	for ((i = have; i < size; i++)); do mknet vx "$i" && mknet br "$i" || die "network $i: failed"; done
	have=$size
	declare -A create=([vx]="" [br]="") run=([vx]="" [br]="")
	scrape >"$WORK/before"
	for ((s = 0; s < SAMPLES; s++)); do
		for kind in vx br; do
			t=$(time_ms mknet "$kind" $((have + s))) || die "docker network create ${kind}$((have + s)) failed"
			create[$kind]+="$t "
			t=$(time_ms host_docker h1 run --rm --network "${kind}0" busybox:local true) || die "docker run on ${kind}0 failed"
			run[$kind]+="$t "
		done
	done
	have=$((have + SAMPLES))
	scrape >"$WORK/after"
	row=$size
	for what in create run; do
		for kind in vx br; do
			declare -n samples=$what
			row+=",$(tr ' ' '\n' <<<"${samples[$kind]}" | grep . | pct 50),$(tr ' ' '\n' <<<"${samples[$kind]}" | grep . | pct 99)"
			unset -n samples
		done
	done
	read -r mean _ p99 < <(hist CreateNetwork "$WORK/before" "$WORK/after")
	echo "$row,$mean,$p99" >>"$WORK/networks.csv"
	rss=$(rss_kib) took=$(restart)
	echo "$have,0,$took,$rss,$(rss_kib)" >>"$WORK/plugin.csv"
done

# 2. endpoints, over the vxlan networks
mapfile -t NETIDS < <(host_docker h1 network ls --no-trunc --filter driver=vxlan --format '{{.Name}} {{.ID}}' | sed 's/^vx//' | sort -n | awk '{print $2}')
EPAD=$(printf 'e%.0s' {1..54})
have=0
for size in $EP_SIZES; do
	log "growing to $size endpoints over ${#NETIDS[@]} networks"
	add_endpoints "$have" $((size - EP_SAMPLES > have ? size - EP_SAMPLES : have))
	scrape >"$WORK/before"
	add_endpoints $((size - EP_SAMPLES > have ? size - EP_SAMPLES : have)) "$size"
	scrape >"$WORK/after"
	n=$((size - (size - EP_SAMPLES > have ? size - EP_SAMPLES : have)))
	row="$size,${#NETIDS[@]},$n"
	for m in CreateEndpoint Join; do
		row+=",$(hist "$m" "$WORK/before" "$WORK/after" | tr ' ' ',')"
	done
	for m in CreateEndpoint Join; do
		row+=",$(awk -v m="$m" '$1 == m {print 1000 * $3}' "$WORK/client" | pct 50),$(awk -v m="$m" '$1 == m {print 1000 * $3}' "$WORK/client" | pct 99)"
	done
	echo "$row" >>"$WORK/endpoints.csv"
	have=$size
	rss=$(rss_kib) took=$(restart)
	echo "${#NETIDS[@]},$size,$took,$rss,$(rss_kib)" >>"$WORK/plugin.csv"
done

for f in networks endpoints plugin; do cp "$WORK/$f.csv" "$OUT/scale-$f.csv"; done
gnuplot <<EOF
set terminal pngcairo size 1400,1000 font ",10"
set output "$OUT/scale.png"
set datafile separator ","
set key top left
set logscale x
set grid
set multiplot layout 2,2 title "docker-vxlan-plugin at scale ($(date -u +%F), $(nproc) cores, dockerd $(host_docker h1 version -f '{{.Server.Version}}'), firewall on)"
set xlabel "networks of each driver"; set ylabel "ms"
set title "docker network create (p50 solid, p99 dashed)"
plot "$OUT/scale-networks.csv" every ::1 u 1:2 w lp lw 2 lc 1 t "vxlan plugin", "" every ::1 u 1:3 w lp dt 2 lc 1 notitle, \
     "" every ::1 u 1:4 w lp lw 2 lc 2 t "builtin bridge", "" every ::1 u 1:5 w lp dt 2 lc 2 notitle
set title "docker run --rm (p50 solid, p99 dashed)"
plot "$OUT/scale-networks.csv" every ::1 u 1:6 w lp lw 2 lc 1 t "vxlan plugin", "" every ::1 u 1:7 w lp dt 2 lc 1 notitle, \
     "" every ::1 u 1:8 w lp lw 2 lc 2 t "builtin bridge", "" every ::1 u 1:9 w lp dt 2 lc 2 notitle
set xlabel "endpoints (over the networks above)"
set title "in the plugin, from its /metrics histogram (mean solid, p99 dashed)"
plot "$OUT/scale-endpoints.csv" every ::1 u 1:4 w lp lw 2 lc 3 t "CreateEndpoint", "" every ::1 u 1:6 w lp dt 2 lc 3 notitle, \
     "" every ::1 u 1:7 w lp lw 2 lc 4 t "Join", "" every ::1 u 1:9 w lp dt 2 lc 4 notitle
set xlabel "networks (no endpoint), then endpoints (over all networks)"
set title "plugin restart to serving, and RSS"
set ylabel "restart ms"; set y2label "RSS MiB"; set y2tics; set ytics nomirror
plot "$OUT/scale-plugin.csv" every ::1 u (\$2 == 0 ? \$1 : 1/0):3 w lp lw 2 lc 5 t "restart, networks", \
     "" every ::1 u (\$2 > 0 ? \$2 : 1/0):3 w lp lw 2 lc 6 t "restart, endpoints", \
     "" every ::1 u (\$2 == 0 ? \$1 : 1/0):(\$4/1024) axes x1y2 w lp dt 2 lc 5 t "RSS, networks", \
     "" every ::1 u (\$2 > 0 ? \$2 : 1/0):(\$4/1024) axes x1y2 w lp dt 2 lc 6 t "RSS, endpoints"
unset multiplot
EOF

echo
echo "docker network create and docker run --rm (ms, p50 and p99), $SAMPLES of each per driver and size,"
echo "and the plugin's CreateNetwork within them (its histogram: mean and p99):"
column -t -s, "$OUT/scale-networks.csv"
echo
echo "CreateEndpoint and Join (ms) in the plugin (its histogram: mean, and p50, p99 within its buckets)"
echo "and as the client saw them (curl), the last $EP_SAMPLES of each size:"
column -t -s, "$OUT/scale-endpoints.csv"
echo
echo "plugin restart to serving (ms), RSS (KiB) before it and right after:"
column -t -s, "$OUT/scale-plugin.csv"
echo "plot: $OUT/scale.png"
rm -rf "$WORK"
e2e_cleanup
E2E_DONE=1
