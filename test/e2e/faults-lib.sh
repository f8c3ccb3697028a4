# shellcheck shell=bash
# Fault-injection harness (issue 9): a seeded driver of random steps
# against one isolated dockerd host with the plugin as a host binary, and
# the invariants checked after every step. Source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/faults-lib.sh"
#   fx_setup; fx_seed "$SEED"; fx_self_test
#   fx_step && fx_check   # as often as you like; FX_WHY says what failed
#   fx_figures
#
# The host h1 has an underlay to a router r1 (the VXLAN networks' Peers) and
# a veth parent lan0 whose other end is in r1, which holds the gateway of
# each network made on lan0. Network kinds (this kernel has no ipvlan or
# 802.1Q): vxbr (bridge on VXLAN), vxmv (macvlan on VXLAN), int (internal),
# pmv (macvlan on lan0).
#
# The model. Docker is the truth about what exists; the harness remembers
# only what Docker does not say: each network's kind and gateway, each
# container's restart policy, and, once a damaged state file was replaced
# (recovery mode), which network and endpoint IDs existed before: those
# the plugin may no longer know, and whose links it must keep (README: a
# damaged state file). Out of recovery mode, Docker, the store and the
# marked kernel links must agree exactly.
#
# Globals set here: FX_WHY (why the last check or step failed), FX_DESC
# (what the last step did), FX_STAT_* (figures). Tunables: FX_MAX_NETS,
# FX_MAX_CTS (how many networks and containers at most), FX_WEIGHTS.

FX_MAX_NETS=${FX_MAX_NETS:-6}
FX_MAX_CTS=${FX_MAX_CTS:-8}
FX_DOCKER_TIMEOUT=${FX_DOCKER_TIMEOUT:-120} # s: dockerd's own plugin retries end at 30 s
FX_ROUTER_VTEP=192.0.2.254
FX_HOST_VTEP=192.0.2.1
FX_MARK=docker-vxlan-plugin/
# The plugin forgets endpoints in no container this long after its start
# (--unjoined-grace): a kill -9 may cut a CreateEndpoint after it was
# recorded and before dockerd read the answer. A step that killed the
# plugin waits that long (and a second) before the check.
FX_GRACE_S=${FX_GRACE_S:-2}
FX_UP_MS=0 # when the plugin last started

command -v jq >/dev/null || { apt-get install -y -qq jq >/dev/null 2>&1 || true; }
command -v jq >/dev/null || die "missing jq (Debian package jq): it reads docker-vxlan-plugin inspect --json"

FXD=$E2E_TMP/faults
mkdir -p "$FXD"

declare -A FX_NKIND=() FX_NGW=() FX_CPOL=() FX_CNET=() FX_STALE=()
FX_NSEQ=0 FX_CSEQ=0 FX_RECOVERY=0 FX_WHY="" FX_DESC=""
FX_STAT_KILLS=0 FX_STAT_MIDKILLS=0 FX_STAT_MIDOK=0 FX_STAT_PRESTARTS=0
FX_STAT_DRESTARTS=0 FX_STAT_DAMAGES=0 FX_STAT_RECOVERIES=0 FX_STAT_REPAIRS=0
FX_STEP_MS=()

# ---------------------------------------------------------------- random

# fx_seed N: start the generator; the same seed draws the same choices
# (as long as Docker answers the same).
fx_seed() { FX_RNG=$(($1)); }

# fx_rand N: a number in 0..N-1 in FX_R. A 64-bit LCG in the main shell
# ($RANDOM would be reseeded in subshells).
fx_rand() {
	FX_RNG=$((FX_RNG * 6364136223846793005 + 1442695040888963407))
	FX_R=$((((FX_RNG >> 33) & 0x7fffffff) % $1))
}

# fx_pick WORD...: one of the words, in FX_R.
fx_pick() {
	local all=("$@")
	fx_rand $#
	FX_R=${all[$FX_R]}
}

# fx_pick_in LINES: one of the (non-empty) lines, in FX_R.
fx_pick_in() {
	local all
	mapfile -t all <<<"$1"
	fx_pick "${all[@]}"
}

# ---------------------------------------------------------------- setup

fx_docker() { timeout "$FX_DOCKER_TIMEOUT" docker -H "unix://$(_hdir h1)/docker.sock" "$@"; }

fx_setup() {
	host_start h1
	router_add r1
	underlay_link h1 r1 "$FX_HOST_VTEP/24" "$FX_ROUTER_VTEP/24" >/dev/null
	host_netexec h1 ip link add lan0 type veth peer name rlan0 netns "$(host_pid r1)"
	host_netexec h1 ip link set lan0 up
	router_exec r1 ip link set rlan0 up
	plugin_start h1 --debug --unjoined-grace "${FX_GRACE_S}s"
	FX_UP_MS=$(now_ms)
}

# fx_state_file: the plugin's state file, seen from outside the host.
fx_state_file() { host_path h1 /var/lib/docker-vxlan-plugin/state.db; }

# fx_plugin_up: start the plugin; if it does not serve in time, its
# goroutines go to its log (SIGQUIT) and FX_WHY says so.
fx_plugin_up() {
	local pid
	FX_STAT_PRESTARTS=$((FX_STAT_PRESTARTS + 1))
	FX_UP_MS=$(now_ms)
	(plugin_start h1 --debug --unjoined-grace "${FX_GRACE_S}s") && return 0
	if pid=$(plugin_pid h1); then
		kill -QUIT "$pid"
		wait_for 10 test ! -e "/proc/$pid" || true
	fi
	FX_WHY="$FX_DESC: the plugin did not start and serve within ${E2E_PLUGIN_TIMEOUT}s (its log: $(_hdir h1)/plugin.log)"
	return 1
}

# fx_plugin_down kill9|term: stop the plugin and wait until its process is
# gone for good. lib.sh's plugin_kill9 returns once the thread group
# leader is a zombie, while another thread may still hold the state file's
# lock (in an fsync, say): a plugin started then exits with "in use by
# another docker-vxlan-plugin process". systemd and Docker's restart
# policies wait for every process too.
fx_plugin_down() {
	local pid
	pid=$(plugin_pid h1) || return 0
	if [[ $1 == kill9 ]]; then
		kill -KILL "$pid"
		FX_STAT_KILLS=$((FX_STAT_KILLS + 1))
	else
		plugin_stop h1
	fi
	wait_for 30 test ! -e "/proc/$pid" || die "plugin $pid still there 30 s after $1"
}

# ---------------------------------------------------------------- model

fx_nets() { printf '%s\n' "${!FX_NKIND[@]}" | sed '/^$/d' | sort; }
fx_cts() { printf '%s\n' "${!FX_CNET[@]}" | sed '/^$/d' | sort; }

# fx_running: names of running containers, per Docker.
fx_running() { fx_docker ps --format '{{.Names}}' | sort; }

# fx_is_stale NETWORK_NAME: the network existed before the state file was
# replaced.
fx_is_stale() {
	local id
	id=$(fx_docker network inspect -f '{{.Id}}' "$1" 2>/dev/null) || return 1
	[[ -n ${FX_STALE[$id]:-} ]]
}

# fx_sync: forget what Docker no longer has (a failed create or run, a
# removal), as the last observation saw it; a network's gateway leaves the
# router with it.
fx_sync() {
	local have n c
	have=" $(awk '{print $3}' "$FXD/d_nets" | tr '\n' ' ') "
	for n in $(fx_nets); do
		[[ $have == *" $n "* ]] && continue
		if [[ ${FX_NKIND[$n]} == pmv ]]; then
			router_exec r1 ip addr del "${FX_NGW[$n]}/24" dev rlan0 2>/dev/null || true
		fi
		unset "FX_NKIND[$n]" "FX_NGW[$n]"
	done
	have=" $(awk '{print $2}' "$FXD/d_cts" | tr '\n' ' ') "
	for c in $(fx_cts); do
		[[ $have == *" $c "* ]] || unset "FX_CNET[$c]" "FX_CPOL[$c]"
	done
}

# ---------------------------------------------------------------- observing

# fx_observe: Docker's view, the plugin's report and the kernel's marked
# links, as sorted line files in $FXD:
#   d_nets      "NETID KIND NAME"             the driver's networks
#   d_cts       "CID NAME RUNNING POLICY NET NETID EPID GATEWAY IP SANDBOX"
#   d_eps       "NETID EPID"                  endpoints of running containers
#   s_nets      "NETID MODE"                  the store's networks
#   s_links     "NAME STATE OWNER"            links the store expects, OWNER a network or endpoint ID
#   s_eps       "NETID EPID"
#   s_orphans   "NAME"
#   s_rc, s_recovery                          inspect's exit status, the replaced file (or empty)
#   k_host      "NAME ROLE ID MASTER UP"      marked links in the host
#   k_ct        "CID ROLE ID" | "CID addr ok|missing" | "CID ping ok|fail"
fx_observe() {
	local ids
	fx_docker network ls --filter driver=vxlan --no-trunc --format '{{.ID}} {{.Name}}' |
		while read -r id name; do echo "$id ${FX_NKIND[$name]:-unknown} $name"; done | sort >"$FXD/d_nets"
	ids=$(fx_docker ps -aq --no-trunc)
	: >"$FXD/d_cts"
	if [[ -n $ids ]]; then
		# shellcheck disable=SC2016,SC2086 # a Go template; one ID a word
		fx_docker inspect -f '{{.Id}} {{.Name}} {{.State.Running}} {{or .HostConfig.RestartPolicy.Name "no"}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{or $v.NetworkID "-"}} {{or $v.EndpointID "-"}} {{or $v.Gateway "-"}} {{or $v.IPAddress "-"}}{{end}} {{or .NetworkSettings.SandboxKey "-"}}' $ids |
			sed 's|^\([^ ]*\) /|\1 |' | sort >"$FXD/d_cts"
	fi
	awk '$3 == "true" && $7 != "-" {print $6, $7}' "$FXD/d_cts" | sort >"$FXD/d_eps"

	local rc=0
	host_exec h1 "$PLUGIN_BIN" inspect --json >"$FXD/s.json" 2>"$FXD/s.err" || rc=$?
	echo "$rc" >"$FXD/s_rc"
	fx_split_report <"$FXD/s.json"

	host_netexec h1 ip -d -o link show 2>"$FXD/k_host.err" | fx_marked_links | sort >"$FXD/k_host"
	fx_observe_containers >"$FXD/k_ct"
}

# fx_split_report: reads inspect's JSON report, writes s_nets, s_links,
# s_eps, s_orphans and s_recovery (all empty if it is not JSON).
fx_split_report() {
	local f
	for f in s_nets s_links s_eps s_orphans s_recovery; do : >"$FXD/$f"; done
	jq -r '(.Networks[]? | "s_nets \(.ID) \(.Mode)", (.ID as $n | .Links[]? | "s_links \(.Name) \(.State) \($n)")),
		(.Endpoints[]? | "s_links \(.Link.Name) \(.Link.State) \(.ID)", "s_eps \(.NetworkID) \(.ID)"),
		(.Orphans[]? | "s_orphans \(.)"), (.StateRecovery.MovedTo // empty | "s_recovery \(.)")' 2>/dev/null |
		sort -u | awk -v d="$FXD" '{f = $1; sub(/^[^ ]* /, ""); print > (d "/" f)}' || true
}

# fx_marked_links: reads `ip -d -o link show`, prints "NAME ROLE ID MASTER
# UP" for each link with the plugin's mark (MASTER "-" if none).
fx_marked_links() {
	awk -v mark="$FX_MARK" '{
		name = $2; sub(/:$/, "", name); sub(/@.*/, "", name)
		master = "-"; alias = ""; up = index($3, ",UP") || index($3, "<UP") ? "up" : "down"
		for (i = 3; i < NF; i++) {
			if ($i == "master") master = $(i + 1)
			if ($i == "alias") alias = $(i + 1)
		}
		if (index(alias, mark) != 1) next
		n = split(alias, p, "/")
		print name, p[3], p[4], master, up
	}'
}

# _FX_PROBE: run inside the host with "CID,SANDBOX,GATEWAY,IP" arguments;
# prints, for each container, "CID ROLE ID" for each marked link in its
# namespace, "CID addr ok|missing", "CID ping ok|fail" (three tries, when
# it has a gateway) or "CID netns missing".
# shellcheck disable=SC2016 # expanded by the inner shell
_FX_PROBE='
probe() { # SANDBOX GATEWAY IP, inside the namespace
	ip -d -o link show | awk "{for (i = 1; i < NF; i++) if (\$i == \"alias\" && index(\$(i + 1), \"docker-vxlan-plugin/\") == 1) {
		split(\$(i + 1), p, \"/\"); print p[3], p[4]}}"
	if ip -o -4 addr show | grep -q " inet $3/"; then echo addr ok; else echo addr missing; fi
	[[ $2 != - ]] || return 0
	for _ in 1 2 3; do
		if ping -q -c 1 -W 1 "$2" >/dev/null 2>&1; then echo ping ok; return; fi
	done
	echo ping fail
}
for spec in "$@"; do
	IFS=, read -r cid key gw ip <<<"$spec"
	if [[ ! -e $key ]]; then echo "$cid netns missing"; continue; fi
	nsenter --net="$key" bash -c "$(declare -f probe); probe \"\$@\"" probe "$key" "$gw" "$ip" 2>/dev/null | sed "s/^/$cid /"
done
'

# fx_observe_containers: for each running container, the marked links in
# its namespace, whether its address is on an interface and whether it
# reaches its gateway, in one trip into the host (_FX_PROBE).
fx_observe_containers() {
	local specs=() cid running net ip key gw
	while read -r cid _ running _ net _ _ _ ip key; do
		gw=${FX_NGW[$net]:-}
		[[ $running == true ]] && specs+=("$cid,$key,${gw:--},$ip")
	done <"$FXD/d_cts"
	((${#specs[@]})) || return 0
	host_exec h1 bash -c "$_FX_PROBE" fx "${specs[@]}" | sort
}

# ---------------------------------------------------------------- invariants

# fx_expected_marks: the marks Docker's view implies ("WHERE ROLE ID",
# WHERE "host" or a container ID), for the networks and endpoints the
# plugin must know: every one out of recovery mode, the others after.
fx_expected_marks() {
	local id kind name cid running net ep
	while read -r id kind name; do
		case $kind in
		vxbr) echo "host vxlan $id"; echo "host bridge $id" ;;
		vxmv) echo "host vxlan $id"; echo "host gateway $id" ;;
		int) echo "host bridge $id" ;;
		pmv) ;;
		*) echo "host unknown-kind-of-network $name $id" ;;
		esac
	done <"$FXD/d_nets"
	while read -r cid _ running _ net _ ep _; do
		[[ $running == true && $ep != - ]] || continue
		case ${FX_NKIND[$net]:-} in
		vxbr | int) echo "host endpoint $ep" ;;
		vxmv | pmv) echo "$cid endpoint $ep" ;;
		esac
	done <"$FXD/d_cts"
}

fx_observed_marks() {
	awk '{print "host", $2, $3}' "$FXD/k_host"
	awk '$2 != "addr" && $2 != "ping" && $2 != "netns" {print $1, $2, $3}' "$FXD/k_ct"
}

# fx_diff WHAT A B: A and B (files) hold the same lines, else FX_WHY says
# how they differ.
fx_diff() {
	local d
	d=$(diff "$2" "$3" | grep '^[<>]' || true)
	[[ -z $d ]] && return 0
	FX_WHY+="$1 differ (< $(basename "$2"), > $(basename "$3")):"$'\n'"$d"$'\n'
	return 1
}

# fx_check: every invariant; FX_WHY lists what failed.
fx_check() {
	FX_WHY=""
	fx_observe
	fx_sync
	fx_expected_marks | sort >"$FXD/want_marks"
	fx_observed_marks | sort >"$FXD/got_marks"
	awk '{print $1}' "$FXD/d_nets" | sort >"$FXD/d_netids"
	awk '{print $1}' "$FXD/s_nets" | sort >"$FXD/s_netids"
	if ((FX_RECOVERY)); then fx_check_recovery; else fx_check_exact; fi
	fx_check_common
	[[ -z $FX_WHY ]]
}

# fx_check_exact: Docker, the store and the kernel agree exactly; inspect
# exits 0 and reports no replaced state file.
fx_check_exact() {
	local rc
	rc=$(cat "$FXD/s_rc")
	[[ $rc == 0 ]] || FX_WHY+="inspect exited $rc, not 0: $(head -c 600 "$FXD/s.err")"$'\n'
	[[ ! -s $FXD/s_recovery ]] || FX_WHY+="inspect reports a replaced state file ($(cat "$FXD/s_recovery")) though none was damaged"$'\n'
	[[ ! -s $FXD/s_orphans ]] || FX_WHY+="inspect lists orphan links: $(tr '\n' ' ' <"$FXD/s_orphans")"$'\n'
	fx_diff "networks: Docker vs store" "$FXD/d_netids" "$FXD/s_netids" || true
	fx_diff "endpoints: Docker vs store" "$FXD/d_eps" "$FXD/s_eps" || true
	fx_diff "marked links: Docker's view vs kernel" "$FXD/want_marks" "$FXD/got_marks" || true
}

# fx_check_recovery: after a damaged state file was replaced, the store
# holds what was made since, everything older is Docker's alone, and every
# marked link is kept: the expected ones, the older ones (stale IDs), and
# those of requests that failed since (IDs nobody knows); inspect lists
# the others as orphans and exits 1 while any is left. It reports the
# replaced file until a start finds no link from before (README), which
# may be at once: a network on a parent has none.
fx_check_recovery() {
	local rc want_rc=0 extra missing line id
	rc=$(cat "$FXD/s_rc")
	[[ -s $FXD/s_orphans ]] && want_rc=1
	[[ $rc == "$want_rc" ]] || FX_WHY+="recovery mode: inspect exited $rc, want $want_rc (orphans: $(wc -l <"$FXD/s_orphans")): $(head -c 600 "$FXD/s.err")"$'\n'
	if [[ -s $FXD/s_recovery ]] && ! host_exec h1 test -e "$(cat "$FXD/s_recovery")"; then
		FX_WHY+="recovery mode: inspect reports the damaged file as $(cat "$FXD/s_recovery"), which is not there"$'\n'
	fi
	extra=$(comm -13 "$FXD/d_netids" "$FXD/s_netids")
	[[ -z $extra ]] || FX_WHY+="recovery mode: networks in the store that Docker does not have: $extra"$'\n'
	for id in $(comm -23 "$FXD/d_netids" "$FXD/s_netids"); do
		[[ -n ${FX_STALE[$id]:-} ]] || FX_WHY+="recovery mode: network $id, made after the damage, is Docker's only"$'\n'
	done
	extra=$(comm -13 "$FXD/d_eps" "$FXD/s_eps")
	[[ -z $extra ]] || FX_WHY+="recovery mode: endpoints in the store that Docker does not have: $extra"$'\n'
	while read -r _ id; do
		[[ -n ${FX_STALE[$id]:-} ]] || FX_WHY+="recovery mode: endpoint $id, made after the damage, is Docker's only"$'\n'
	done < <(comm -23 "$FXD/d_eps" "$FXD/s_eps")
	missing=$(comm -23 "$FXD/want_marks" "$FXD/got_marks")
	[[ -z $missing ]] || FX_WHY+="recovery mode: marked links missing (WHERE ROLE ID):"$'\n'"$missing"$'\n'
	while read -r line; do
		id=${line##* }
		[[ -n ${FX_STALE[$id]:-} ]] && continue
		grep -q "$id" "$FXD/d_netids" "$FXD/d_eps" || continue # a failed request's link: kept, as documented
		FX_WHY+="recovery mode: unexpected marked link of a live network or endpoint: $line"$'\n'
	done < <(comm -13 "$FXD/want_marks" "$FXD/got_marks")
}

# fx_check_common: what holds in both modes. inspect is truthful: the
# marked host links no record accounts for are exactly its orphans, and
# every link it calls ok is there. Every store link of a network is ok;
# bridge-attached endpoints' veths are up on their network's bridge;
# macvlan endpoints are in their containers. Every running container has
# its address and reaches its gateway.
fx_check_common() {
	awk '{print $1}' "$FXD/k_host" >"$FXD/k_names"
	awk '{print $1}' "$FXD/s_links" | sort -u | comm -23 "$FXD/k_names" - >"$FXD/k_unaccounted"
	fx_diff "links no record accounts for: kernel vs inspect's orphans" "$FXD/k_unaccounted" "$FXD/s_orphans" || true
	local p
	p=$(fx_link_problems; fx_container_problems)
	[[ -z $p ]] || FX_WHY+="$p"$'\n'
}

# fx_link_problems: one line for each link that is not as it must be.
fx_link_problems() {
	awk '
	FILENAME == ARGV[1] { role[$1] = $2; id[$1] = $3; master[$1] = $4; up[$1] = $5; next }
	FILENAME == ARGV[2] { if ($1 != "host") inct[$3] = 1; next }
	FILENAME == ARGV[3] { orphan[$1] = 1; next }
	FILENAME == ARGV[4] || FILENAME == ARGV[5] { if (!($2 in net)) net[$2] = $1; next }
	{
		if ($2 == "ok") { if (!($1 in role)) print "inspect says " $1 " is ok; the kernel has no such marked link" }
		else if ($2 != "missing") print "link " $1 " of " $3 " is " $2
		else if (!($3 in inct)) print "link " $1 " of " $3 " is missing (not in the host, nor in a container)"
	}
	END {
		for (n in role) {
			if (n in orphan) continue # kept as it is
			if (up[n] != "up") print "marked link " n " (" role[n] " " id[n] ") is down"
			if (role[n] != "endpoint" || !(id[n] in net)) continue
			m = master[n]
			if (!(m in role) || role[m] != "bridge" || id[m] != net[id[n]]) print "endpoint veth " n " is on " m ", not on its network bridge"
		}
	}' "$FXD/k_host" "$FXD/got_marks" "$FXD/s_orphans" "$FXD/d_eps" "$FXD/s_eps" "$FXD/s_links"
}

# fx_container_problems: one line for each running container that lost
# its address, its gateway or its namespace.
fx_container_problems() {
	awk '
	$2 == "addr" && $3 != "ok" { print "running container " $1 " has lost its address" }
	$2 == "ping" && $3 != "ok" { print "running container " $1 " does not reach its gateway" }
	$2 == "netns" { print "running container " $1 ": its network namespace is gone" }' "$FXD/k_ct"
}

# ---------------------------------------------------------------- steps
#
# Each step does one thing and sets FX_DESC. It returns 0 when done, 2
# when it does not apply now (nothing done; draw another), 1 when Docker
# or the plugin failed where nothing was injected (FX_WHY says how).

# fx_failed OUT: an ordinary command failed: a violation.
fx_failed() { FX_WHY="$FX_DESC: failed with no fault injected: $1"; return 1; }

# fx_run_docker ARGS...: docker ARGS, its output in FX_OUT, its status returned.
fx_run_docker() {
	local rc=0
	FX_OUT=$(fx_docker "$@" 2>&1) || rc=$?
	((rc != 124)) || FX_OUT="hung for ${FX_DOCKER_TIMEOUT}s: $FX_OUT"
	return "$rc"
}

# fx_new_network: the arguments of a new network in FX_ARGS (name last).
fx_new_network() {
	local kinds=(vxbr vxmv int pmv) kind name sub gw vni
	FX_NSEQ=$((FX_NSEQ + 1))
	fx_pick "${kinds[@]}"; kind=$FX_R
	name=fn$FX_NSEQ
	sub=10.$((64 + FX_NSEQ / 256)).$((FX_NSEQ % 256))
	gw=$sub.1 vni=$((1000 + FX_NSEQ))
	FX_NKIND[$name]=$kind
	FX_NGW[$name]=$gw
	case $kind in
	vxbr) FX_ARGS=(--subnet "$sub.0/24" --gateway "$gw" -o "VxlanId=$vni" -o "Peers=$FX_ROUTER_VTEP") ;;
	vxmv) FX_ARGS=(--subnet "$sub.0/24" --gateway "$gw" -o "VxlanId=$vni" -o "Peers=$FX_ROUTER_VTEP" -o mode=macvlan) ;;
	int) FX_ARGS=(--internal --subnet "$sub.0/24"); FX_NGW[$name]="" ;;
	pmv)
		FX_ARGS=(--subnet "$sub.0/24" --gateway "$gw" -o parent=lan0 -o mode=macvlan)
		router_exec r1 ip addr add "$gw/24" dev rlan0
		;;
	esac
	FX_ARGS=(network create -d vxlan "${FX_ARGS[@]}" "$name")
}

fx_step_net_create() {
	(($(fx_nets | wc -l) < FX_MAX_NETS)) || return 2
	fx_new_network
	FX_DESC="docker ${FX_ARGS[*]} (${FX_NKIND[${FX_ARGS[-1]}]})"
	fx_run_docker "${FX_ARGS[@]}" || fx_failed "$FX_OUT"
}

# fx_busy_nets: networks with a running container.
fx_busy_nets() {
	local c
	for c in $(fx_running); do echo "${FX_CNET[$c]:-}"; done | sort -u
}

fx_step_net_rm() {
	local n busy
	n=$(fx_nets) && [[ -n $n ]] || return 2
	fx_pick_in "$n"; n=$FX_R
	FX_DESC="docker network rm $n"
	busy=$(fx_busy_nets)
	if fx_run_docker network rm "$n"; then
		! grep -qx "$n" <<<"$busy" || { FX_WHY="$FX_DESC: removed a network with running containers"; return 1; }
	else
		grep -qx "$n" <<<"$busy" || fx_failed "$FX_OUT"
	fi
}

# fx_new_container: the arguments of a new container in FX_ARGS.
fx_new_container() {
	local n pol
	fx_pick_in "$(fx_nets)"; n=$FX_R
	fx_pick always no; pol=$FX_R
	FX_CSEQ=$((FX_CSEQ + 1))
	FX_CNET[fc$FX_CSEQ]=$n
	FX_CPOL[fc$FX_CSEQ]=$pol
	FX_ARGS=(run -d --restart "$pol" --name "fc$FX_CSEQ" --network "$n" busybox:local sleep 1000000)
}

# fx_joins_ok CONTAINER: whether starting it must succeed: its network is
# still there (Docker removes a network its stopped containers are on) and
# not one the plugin lost with its state file.
fx_joins_ok() {
	local n=${FX_CNET[$1]}
	[[ -n ${FX_NKIND[$n]:-} ]] && { ! ((FX_RECOVERY)) || ! fx_is_stale "$n"; }
}

fx_step_run() {
	[[ -n $(fx_nets) && $(fx_cts | wc -l) -lt $FX_MAX_CTS ]] || return 2
	fx_new_container
	FX_DESC="docker ${FX_ARGS[*]}"
	fx_start_outcome "fc$FX_CSEQ" "${FX_ARGS[@]}"
}

# fx_start_outcome CONTAINER DOCKER_ARGS...: run a docker command that
# starts CONTAINER; it must succeed unless its network is stale.
fx_start_outcome() {
	local c=$1 ok=1; shift
	fx_joins_ok "$c" || ok=0
	if fx_run_docker "$@"; then
		((ok)) || { FX_WHY="$FX_DESC: a container joined a network the plugin no longer knows"; return 1; }
	else
		((!ok)) || fx_failed "$FX_OUT"
	fi
}

fx_step_start() {
	local c stopped
	stopped=$(comm -23 <(fx_cts) <(fx_running)) && [[ -n $stopped ]] || return 2
	fx_pick_in "$stopped"; c=$FX_R
	FX_DESC="docker start $c (on ${FX_CNET[$c]})"
	fx_start_outcome "$c" start "$c"
}

# fx_step_halt stop|kill: stop or kill a running container.
fx_step_halt() {
	local c running
	running=$(fx_running) && [[ -n $running ]] || return 2
	fx_pick_in "$running"; c=$FX_R
	FX_DESC="docker $1 $c (on ${FX_CNET[$c]})"
	fx_run_docker "$1" "$c" || fx_failed "$FX_OUT"
}

fx_step_rm() {
	local c
	c=$(fx_cts) && [[ -n $c ]] || return 2
	fx_pick_in "$c"; c=$FX_R
	FX_DESC="docker rm -f $c (on ${FX_CNET[$c]})"
	fx_run_docker rm -f "$c" || fx_failed "$FX_OUT"
}

# fx_sleep_ms N: sleep N milliseconds.
fx_sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

fx_step_plugin_kill() {
	local pause
	fx_rand 1000; pause=$FX_R
	FX_DESC="plugin kill -9 while idle, restarted after $pause ms"
	fx_plugin_down kill9
	fx_sleep_ms "$pause"
	fx_plugin_up || return 1
}

fx_step_plugin_restart() {
	FX_DESC="plugin stopped (SIGTERM) and started"
	fx_plugin_down term
	fx_plugin_up || return 1
}

# fx_background_command: a docker command that reaches the plugin, in
# FX_ARGS; returns 2 if none applies.
fx_background_command() {
	local kinds=() stopped running c
	(($(fx_nets | wc -l) < FX_MAX_NETS)) && kinds+=(create)
	[[ -n $(fx_nets) ]] && kinds+=(rmnet)
	[[ -n $(fx_nets) && $(fx_cts | wc -l) -lt $FX_MAX_CTS ]] && kinds+=(run)
	stopped=$(comm -23 <(fx_cts) <(fx_running))
	running=$(fx_running)
	[[ -n $stopped ]] && kinds+=(start)
	[[ -n $running ]] && kinds+=(stop rm)
	((${#kinds[@]})) || return 2
	fx_pick "${kinds[@]}"
	case $FX_R in
	create) fx_new_network ;;
	rmnet) fx_pick_in "$(fx_nets)"; FX_ARGS=(network rm "$FX_R") ;;
	run) fx_new_container ;;
	start) fx_pick_in "$stopped"; FX_ARGS=(start "$FX_R") ;;
	stop) fx_pick_in "$running"; FX_ARGS=(stop "$FX_R") ;;
	rm) fx_pick_in "$running"; FX_ARGS=(rm -f "$FX_R") ;;
	esac
}

# fx_past_grace: wait until the plugin's grace for endpoints in no
# container has passed since its start, and a second more.
fx_past_grace() {
	local left=$((FX_UP_MS + FX_GRACE_S * 1000 + 1000 - $(now_ms)))
	((left <= 0)) || fx_sleep_ms "$left"
}

# fx_step_midrequest_kill: start a docker command, kill -9 the plugin
# 0-300 ms later (before, during or after the requests it makes), restart
# it 0-1000 ms after that. The command may fail or succeed (dockerd
# retries for 30 s, with an empty body); the invariants must hold either way.
fx_step_midrequest_kill() {
	local after pause bg rc=0 t0
	fx_background_command || return 2
	fx_rand 301; after=$FX_R
	fx_rand 1001; pause=$FX_R
	FX_DESC="docker ${FX_ARGS[*]}, plugin kill -9 after $after ms, restarted $pause ms later"
	t0=$(now_ms)
	fx_docker "${FX_ARGS[@]}" >"$FXD/bg.out" 2>&1 &
	bg=$!
	fx_sleep_ms "$after"
	fx_plugin_down kill9
	FX_STAT_MIDKILLS=$((FX_STAT_MIDKILLS + 1))
	fx_sleep_ms "$pause"
	fx_plugin_up || return 1
	wait "$bg" || rc=$?
	((rc != 124)) || { FX_WHY="$FX_DESC: the docker command hung for ${FX_DOCKER_TIMEOUT}s"; return 1; }
	((rc != 0)) || FX_STAT_MIDOK=$((FX_STAT_MIDOK + 1))
	fx_past_grace
	FX_DESC+=": exit $rc after $(($(now_ms) - t0)) ms$( ((rc == 0)) || echo ": $(tail -n 1 "$FXD/bg.out")")"
}

# fx_step_dockerd_restart: restart dockerd; the containers it was running
# with --restart always come back (unless their network is stale).
fx_step_dockerd_restart() {
	local back=() c
	for c in $(fx_running); do
		[[ ${FX_CPOL[$c]} == always ]] && fx_joins_ok "$c" && back+=("$c")
	done
	FX_DESC="dockerd restart (${#back[@]} containers to come back: ${back[*]})"
	fx_dockerd_restart
	FX_STAT_DRESTARTS=$((FX_STAT_DRESTARTS + 1))
	for c in "${back[@]}"; do
		wait_for 30 fx_is_running "$c" ||
			{ FX_WHY="$FX_DESC: $c did not come back within 30 s: $(fx_docker inspect -f '{{.State.Status}} {{.State.Error}}' "$c")"; return 1; }
	done
}

# fx_dockerd_restart: lib.sh's dockerd_restart, waiting between stop and
# start until the old dockerd is gone for good: its last threads still hold
# the lock of its metadata database for a while (the new one then fails
# with "error while opening volume store metadata database: timeout").
fx_dockerd_restart() {
	local pid
	pid=$(cat "$(_hdir h1)/dockerd.pid")
	dockerd_stop h1
	wait_for 60 test ! -e "/proc/$pid" || die "dockerd $pid still there 60 s after SIGTERM"
	dockerd_start h1
}

fx_is_running() { [[ $(fx_docker inspect -f '{{.State.Running}}' "$1") == true ]]; }

# fx_count_aside: how many damaged state files the plugin moved aside.
fx_count_aside() { find "$(dirname "$(fx_state_file)")/" -maxdepth 1 -name 'state.db.damaged-*' | wc -l; }

# fx_step_damage [empty]: with the plugin stopped (SIGTERM or kill -9),
# truncate its state file (to a random shorter size, or to 0 bytes), then
# restore the copy or keep the damage, and start it. A damage the plugin
# notices starts recovery mode: every ID Docker has now may be unknown to
# the plugin from here on. One it does not notice must have lost nothing.
fx_step_damage() {
	local f size to how keep id aside
	f=$(fx_state_file)
	aside=$(fx_count_aside)
	fx_pick term kill9; how=$FX_R
	fx_plugin_down "$how"
	size=$(stat -c %s "$f")
	to=0
	[[ ${1:-} == empty ]] || { fx_rand "$size"; to=$FX_R; }
	fx_pick restore keep; keep=$FX_R
	cp "$f" "$FXD/state.db.copy"
	truncate -s "$to" "$f"
	[[ $keep == restore ]] && cp "$FXD/state.db.copy" "$f"
	FX_DESC="plugin stopped ($how), state file truncated from $size to $to bytes, then $keep"
	FX_STAT_DAMAGES=$((FX_STAT_DAMAGES + 1))
	fx_plugin_up || return 1
	[[ $keep == keep ]] || return 0
	if (($(fx_count_aside) > aside)); then
		FX_DESC+=": the plugin moved it aside (recovery mode)"
		FX_RECOVERY=1
		FX_STAT_RECOVERIES=$((FX_STAT_RECOVERIES + 1))
		for id in $(awk '{print $1}' "$FXD/d_nets") $(awk '{print $2}' "$FXD/d_eps"); do FX_STALE[$id]=1; done
	else
		FX_DESC+=": the plugin took it as sound"
	fi
}

# fx_step_repair: what the plugin's log tells an operator after a damaged
# state file: remove the containers and networks Docker still has from
# before, delete the links inspect lists as orphans by hand, restart the
# plugin. It must then leave recovery mode.
fx_step_repair() {
	local c n name
	((FX_RECOVERY)) || return 2
	FX_DESC="operator repair after the damaged state file:"
	for c in $(fx_cts); do
		fx_is_stale "${FX_CNET[$c]}" || continue
		fx_run_docker rm -f "$c" || { fx_failed "rm -f $c: $FX_OUT"; return 1; }
		FX_DESC+=" rm $c"
	done
	for n in $(fx_nets); do
		fx_is_stale "$n" || continue
		fx_run_docker network rm "$n" || { fx_failed "network rm $n: $FX_OUT"; return 1; }
		FX_DESC+=" network rm $n"
	done
	for name in $(host_exec h1 "$PLUGIN_BIN" inspect --json | jq -r '.Orphans[]?'); do
		host_netexec h1 ip -d link show "$name" | grep -q "alias $FX_MARK" || continue
		host_netexec h1 ip link del "$name" 2>/dev/null || true # a veth's peer goes with it
		FX_DESC+=" ip link del $name"
	done
	fx_plugin_down term
	fx_plugin_up || return 1
	FX_RECOVERY=0
	FX_STALE=()
	FX_STAT_REPAIRS=$((FX_STAT_REPAIRS + 1))
}

# Step kinds and their weights (FX_WEIGHTS overrides, e.g. "run=10 damage=0").
declare -A FX_WEIGHT=(
	[net_create]=10 [net_rm]=6 [run]=14 [start]=6 [stop]=5 [kill]=5 [rm]=6
	[plugin_kill]=4 [plugin_restart]=2 [midrequest_kill]=12 [dockerd_restart]=2
	[damage]=2 [damage_empty]=1 [repair]=8
)

fx_weights() {
	local kv
	for kv in ${FX_WEIGHTS:-}; do
		[[ -n ${FX_WEIGHT[${kv%%=*}]+x} ]] || die "FX_WEIGHTS: unknown step ${kv%%=*}"
		FX_WEIGHT[${kv%%=*}]=${kv#*=}
	done
}

# fx_draw: a step kind, by weight, in FX_R.
fx_draw() {
	local k total=0 r
	for k in "${!FX_WEIGHT[@]}"; do total=$((total + FX_WEIGHT[$k])); done
	fx_rand "$total"; r=$FX_R
	for k in $(printf '%s\n' "${!FX_WEIGHT[@]}" | sort); do
		((r < FX_WEIGHT[$k])) && { FX_R=$k; return 0; }
		r=$((r - FX_WEIGHT[$k]))
	done
}

# fx_step N: draw and do step N (redrawing steps that do not apply);
# returns 1 when it failed (FX_WHY).
fx_step() {
	local kind rc
	FX_WHY="" FX_DESC=""
	for _ in $(seq 1 50); do
		fx_draw; kind=$FX_R
		rc=0
		case $kind in
		stop | kill) fx_step_halt "$kind" || rc=$? ;;
		damage_empty) fx_step_damage empty || rc=$? ;;
		*) "fx_step_$kind" || rc=$? ;;
		esac
		((rc == 2)) || break
	done
	return "$rc"
}

# ---------------------------------------------------------------- figures

# fx_figures: what the run did, and how long its steps took.
fx_figures() {
	local n sorted
	n=${#FX_STEP_MS[@]}
	((n)) || return 0
	sorted=$(printf '%s\n' "${FX_STEP_MS[@]}" | sort -n)
	log "figures: $n steps; plugin kill -9: $FX_STAT_KILLS ($FX_STAT_MIDKILLS mid-request, of which the docker command succeeded $FX_STAT_MIDOK times);" \
		"plugin starts: $FX_STAT_PRESTARTS; dockerd restarts: $FX_STAT_DRESTARTS; state file damaged: $FX_STAT_DAMAGES" \
		"(replaced by the plugin: $FX_STAT_RECOVERIES, repaired: $FX_STAT_REPAIRS)"
	log "figures: step time (step and checks) median $(sed -n "$(((n + 1) / 2))p" <<<"$sorted") ms, max $(tail -n 1 <<<"$sorted") ms, total $(($(printf '%s+' "${FX_STEP_MS[@]}")0)) ms; the slowest:"
	sort -k2,2nr "$FXD/steps.log" | sed -n "1,3s/^/#   step /p" >&2
}

# fx_diagnose: after a violation, the kernel's view of each running
# container that lost its gateway or address, and of the host's links.
fx_diagnose() {
	local cid what res key
	while read -r cid what res; do
		[[ ($what == ping || $what == addr) && $res != ok ]] || continue
		key=$(awk -v c="$cid" '$1 == c {print $NF}' "$FXD/d_cts")
		echo "container $cid ($(awk -v c="$cid" '$1 == c {print $2, "on", $5, $9, "gw", $8}' "$FXD/d_cts")):"
		host_exec h1 nsenter --net="$key" sh -c 'ip -d addr; ip route; ip neigh' 2>&1 | sed 's/^/    /'
	done <"$FXD/k_ct"
	echo "host:"
	host_netexec h1 sh -c 'ip -br link; ip -br addr; bridge link; ip neigh; nft list ruleset 2>/dev/null | grep -c . ; iptables -S INPUT; iptables -S FORWARD' 2>&1 | sed 's/^/    /'
}

# fx_self_test: the checks fail when they must (positive controls): a
# container whose gateway address is gone from its bridge, and a link
# carrying the plugin's mark that nothing accounts for. Leaves nothing.
fx_self_test() {
	local id br
	fx_docker network create -d vxlan --subnet 10.63.0.0/24 --gateway 10.63.0.1 \
		-o VxlanId=999 -o "Peers=$FX_ROUTER_VTEP" fxself >/dev/null || return 1
	FX_NKIND[fxself]=vxbr FX_NGW[fxself]=10.63.0.1
	fx_docker run -d --name fxself --network fxself busybox:local sleep 1000000 >/dev/null || return 1
	FX_CNET[fxself]=fxself FX_CPOL[fxself]=no
	fx_check || { echo "checks fail on a sound host: $FX_WHY"; return 1; }
	id=$(fx_docker network inspect -f '{{.Id}}' fxself)
	br=$(awk -v n="$id" '$2 == "bridge" && $3 == n {print $1}' "$FXD/k_host")
	host_netexec h1 ip addr del 10.63.0.1/24 dev "$br"
	if fx_check || [[ $FX_WHY != *"does not reach its gateway"* ]]; then echo "a cut-off container passed: $FX_WHY"; return 1; fi
	host_netexec h1 ip addr add 10.63.0.1/24 dev "$br"
	host_netexec h1 ip link add fxself0 type veth peer name fxself1
	host_netexec h1 ip link set fxself0 alias "${FX_MARK}vxlan/bridge/fxself"
	if fx_check || [[ $FX_WHY != *"fxself"* ]]; then echo "a leaked marked link passed: $FX_WHY"; return 1; fi
	host_netexec h1 ip link del fxself0
	fx_docker rm -f fxself >/dev/null && fx_docker network rm fxself >/dev/null || return 1
	fx_check || { echo "checks fail after the controls: $FX_WHY"; return 1; }
}
