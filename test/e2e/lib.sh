# shellcheck shell=bash
# End-to-end harness for docker-vxlan-plugin.  Source it from a test script:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   host_start h1
#   check "engine answers" host_docker h1 info
#   summary
#
# A "host" is a long-lived `unshare --mount --net --pid` namespace set whose
# PID 1 is a small bash loop; dockerd, its own containerd and the plugin are
# started inside it with nsenter.  Per host, /run and
# /var/lib/docker-vxlan-plugin are private tmpfs mounts and /sys is a fresh
# sysfs of the host's netns, so plugin sockets, containerd sockets, iptables
# and interfaces never leak between hosts or into the real machine.  Killing
# the PID 1 kills everything inside.  Host state lives in $E2E_TMP/NAME.
#
# Functions (NAME = a host or router name, [A-Za-z0-9_-]+):
#   host_start NAME [DOCKERD_ARGS...]   namespaces + dockerd + busybox:local
#   host_stop NAME                      SIGKILL everything inside; idempotent
#   host_pid NAME                       outer PID of the host's PID 1
#   host_path NAME PATH                 real path of PATH inside the host
#   host_exec NAME CMD...               run in the host's mount+net+pid ns
#   host_netexec NAME CMD...            run in the host's net ns only
#   host_docker NAME ARGS...            docker CLI against the host's dockerd
#   dockerd_start|dockerd_stop|dockerd_restart NAME
#   plugin_start NAME [FLAGS...]        start $PLUGIN_BIN, wait for its socket
#   plugin_stop NAME (SIGTERM) | plugin_kill9 NAME | plugin_pid NAME
#   router_add NAME | router_exec NAME CMD...   netns-only node, forwarding on
#   underlay_link A B IP_A IP_B [IF_A [IF_B]]   veth between two nodes
#   router_link R H IP_R IP_H [IF_R [IF_H]]     same, for a router
#   container_ip NAME CONTAINER NETWORK
#   check DESC CMD... | check_fails DESC CMD... | summary
#   compose_install                     Docker Compose v2 as a CLI plugin (any engine)
#   wait_for TIMEOUT_S CMD... | time_ms CMD... | now_ms | log MSG | die MSG
# Files: $E2E_TMP/NAME/{dockerd.log,plugin.log,docker.sock,data}; dockerd's exec
# root is /run/docker inside the host, as on a real one.
#
# Tunables (environment):
#   ROOT              repo root (default: two levels above this file)
#   PLUGIN_BIN        plugin binary (default: $ROOT/bin/docker-vxlan-plugin)
#   PLUGIN_SOCK       plugin socket inside a host
#                     (default: /run/docker/plugins/vxlan.sock)
#   E2E_TMPDIR        where $E2E_TMP is created (default: /tmp)
#   E2E_DOCKERD_ARGS  extra dockerd flags for every host (word-split)
#   E2E_READY_TIMEOUT seconds to wait for dockerd (default 60)
#   E2E_PLUGIN_TIMEOUT seconds to wait for the plugin socket (default 20)
#   E2E_KEEP=1        keep $E2E_TMP (logs, data) after the run
#   E2E_ENGINE        the Docker engine: debian (default: dockerd and docker
#                     from PATH, Debian's docker.io 20.10) or newest (the
#                     Docker 29 line, its runc and docker CLI, built once per
#                     machine by scripts/engines.sh). A script that runs on
#                     one engine only sets it before sourcing this file and
#                     says so in a "# engines: NAME" header line (test.sh).
#   E2E_DUMP_LOGS=0   do not print log tails when something failed
#
# Do not replace the EXIT trap set here; everything is cleaned up by it (or
# by `summary`, which cleans up before printing the final line).

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ROOT:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
PLUGIN_BIN=${PLUGIN_BIN:-$ROOT/bin/docker-vxlan-plugin}
PLUGIN_SOCK=${PLUGIN_SOCK:-/run/docker/plugins/vxlan.sock}
E2E_READY_TIMEOUT=${E2E_READY_TIMEOUT:-60}
E2E_PLUGIN_TIMEOUT=${E2E_PLUGIN_TIMEOUT:-20}
E2E_PASS=0
E2E_FAIL=0
E2E_DONE=0

# ---------------------------------------------------------------- basics

log() { echo "# $*" >&2; }
die() { echo "e2e: ERROR: $*" >&2; exit 1; }

# now_ms: wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# time_ms CMD...: run CMD (output discarded), print elapsed ms; exit status of CMD.
time_ms() {
	local t0 rc=0
	t0=$(now_ms)
	"$@" >/dev/null 2>&1 || rc=$?
	echo $(( $(now_ms) - t0 ))
	return "$rc"
}

# wait_for TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(( $(now_ms) + $1 * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		(( $(now_ms) < deadline )) || return 1
		sleep 0.1
	done
}

# _alive PID: PID exists and is not a zombie.
_alive() {
	local st
	[[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# _gone PID: PID has exited with all its threads. A killed process's
# leader turns zombie before its other threads end, and those may still
# hold a file lock (the plugin's state file, dockerd's metadata database).
_gone() {
	[[ -d /proc/$1 ]] || return 0
	! _alive "$1" && (($(ls "/proc/$1/task" 2>/dev/null | wc -l) <= 1))
}

# _wait_gone PID TIMEOUT_S
_wait_gone() { wait_for "$2" _gone "$1"; }

# _child_of PID [NSPID]: the child of PID (nsenter/unshare fork exactly one).
# With NSPID, only a child inside the pid namespace of process NSPID counts
# (skips e.g. a transient $(...) subshell forked before nsenter's exec).
_child_of() {
	local c want=""
	[[ -n ${2:-} ]] && want=$(readlink "/proc/$2/ns/pid")
	for _ in $(seq 1 200); do
		for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null || true); do
			if [[ -z $want || $(readlink "/proc/$c/ns/pid" 2>/dev/null) == "$want" ]]; then
				echo "$c"; return 0
			fi
		done
		_alive "$1" || return 1
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- assertions

# check "description" CMD...: run CMD (in a subshell, output captured); count
# and print "ok"/"FAIL" (with the output on failure). Always returns 0.
check() { _expect success "$@"; }

# check_fails "description" CMD...: like check, but CMD must fail.
check_fails() { _expect failure "$@"; }

# _expect success|failure "description" CMD...: the body of check and check_fails.
_expect() {
	local want=$1 desc=$2 out rc=0 got=success; shift 2
	out=$("$@" 2>&1) || rc=$?
	((rc == 0)) || got=failure
	if [[ $got == "$want" ]]; then
		E2E_PASS=$((E2E_PASS + 1)); echo "ok   - $desc"
		return 0
	fi
	E2E_FAIL=$((E2E_FAIL + 1))
	if [[ $want == success ]]; then echo "FAIL - $desc (exit $rc)"; else echo "FAIL - $desc (unexpectedly succeeded)"; fi
	[[ -n $out ]] && tail -n 40 <<<"$out" | sed 's/^/     | /'
	return 0
}

# summary: stop everything, then print exactly one last line
# "N passed, N failed"; returns 1 if anything failed.
summary() {
	e2e_cleanup
	E2E_DONE=1
	echo "$E2E_PASS passed, $E2E_FAIL failed"
	(( E2E_FAIL == 0 ))
}

# ---------------------------------------------------------------- setup

_e2e_install_deps() {
	local c
	if ! { command -v dockerd && command -v busybox && command -v ip; } >/dev/null; then
		{ apt-get update && apt-get install -y docker.io busybox-static iproute2; } >&2
	fi
	for c in dockerd containerd runc docker busybox ip unshare nsenter; do
		command -v "$c" >/dev/null || die "missing $c"
	done
}

# ---------------------------------------------------------------- engines

# _e2e_engine: make $E2E_ENGINE's dockerd and docker CLI the ones this run
# finds on PATH (a private bin dir in front), so the harness, `make image`
# and Compose all talk to the engine with a CLI it accepts; set
# E2E_ENGINE_ARGS, the engine's own dockerd flags. The default engine
# changes nothing.
_e2e_engine() {
	E2E_ENGINE=${E2E_ENGINE:-debian}
	E2E_ENGINE_ARGS=()
	case $E2E_ENGINE in
	debian) return 0 ;;
	newest) ;;
	*) die "E2E_ENGINE=$E2E_ENGINE: want debian or newest" ;;
	esac
	_e2e_engine_builds
	mkdir -p "$E2E_TMP/.lib/bin"
	ln -s "$DOCKERD" "$E2E_TMP/.lib/bin/dockerd"
	ln -s "$DOCKER_CLI" "$E2E_TMP/.lib/bin/docker"
	PATH=$E2E_TMP/.lib/bin:$PATH
	# Debian's runc cannot start this engine's containers (TESTING.md §4).
	E2E_ENGINE_ARGS=(--add-runtime "newrunc=$RUNC" --default-runtime newrunc --userland-proxy=false)
}

# _e2e_engine_builds: set DOCKERD, RUNC, DOCKER_CLI and COMPOSE to the
# builds of scripts/engines.sh (which builds them the first time on a
# machine, about 7 minutes).
_e2e_engine_builds() {
	local env
	env=$("$ROOT/scripts/engines.sh" env) || die "scripts/engines.sh failed"
	eval "$env"
}

# compose_install: Docker Compose v2 as a CLI plugin of this run's docker
# CLI, whatever the engine (`host_docker NAME compose ...`).
compose_install() {
	[[ -n ${COMPOSE:-} ]] || _e2e_engine_builds
	mkdir -p "$DOCKER_CONFIG/cli-plugins"
	ln -sf "$COMPOSE" "$DOCKER_CONFIG/cli-plugins/docker-compose"
}

# busybox:local as a `docker load` archive: one layer with static busybox and
# all its applets, CMD sh, STOPSIGNAL SIGKILL (`sleep` as PID 1 ignores
# SIGTERM, so every docker stop / dockerd shutdown would wait 10 s per
# container; `docker import` cannot set STOPSIGNAL on 20.10).
_e2e_busybox_image() {
	local w=$E2E_TMP/.lib/image r bb a arch diff cfg
	r=$w/rootfs
	bb=$(command -v busybox)
	if ldd "$bb" >/dev/null 2>&1; then die "$bb is not static; install busybox-static"; fi
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$w/img"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	tar -C "$r" -cf "$w/img/layer.tar" .
	diff=$(sha256sum "$w/img/layer.tar" | cut -d' ' -f1)
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z",%s,%s}' "$arch" \
		'"config":{"Cmd":["sh"],"Env":["PATH=/bin"],"StopSignal":"SIGKILL"}' \
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}" >"$w/config.json"
	cfg=$(sha256sum "$w/config.json" | cut -d' ' -f1)
	mv "$w/config.json" "$w/img/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["busybox:local"],"Layers":["layer.tar"]}]' \
		"$cfg" >"$w/img/manifest.json"
	tar -C "$w/img" -cf "$E2E_TMP/.lib/busybox-image.tar" .
	rm -rf "$w"
}

e2e_init() {
	[[ $(id -u) == 0 ]] || die "must run as root"
	_e2e_install_deps
	mkdir -p "${E2E_TMPDIR:-/tmp}"
	E2E_TMP=$(mktemp -d "${E2E_TMPDIR:-/tmp}/vxe2e.XXXXXX")
	# Short id in the names of our cgroups (shared with the real machine).
	E2E_ID=$(tr -dc 'a-z0-9' </dev/urandom | head -c 4) || true
	export E2E_TMP E2E_ID DOCKER_CONFIG=$E2E_TMP/.lib/docker-config
	E2E_MAIN_PID=$BASHPID
	mkdir -p "$DOCKER_CONFIG"  # also creates $E2E_TMP/.lib
	# Mount point for the per-host state tmpfs. Left in place afterwards:
	# removing a dir that is a mount point in another run's namespaces
	# would detach that mount.
	mkdir -p /var/lib/docker-vxlan-plugin
	_e2e_busybox_image
	trap _e2e_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	_e2e_engine
	log "engine: $E2E_ENGINE, $(dockerd --version)"
}

# ---------------------------------------------------------------- cleanup

_e2e_dump_logs() {
	[[ ${E2E_DUMP_LOGS:-1} != 0 ]] || return 0
	local d n
	for d in "$E2E_TMP"/*/; do
		n=$(basename "$d")
		[[ -f $d/dockerd.log ]] && {
			echo "---- $n: dockerd warnings/errors (last 20) ----"
			grep -E 'level=(warn|error|fatal)' "$d/dockerd.log" | tail -n 20 || true
		}
		[[ -f $d/plugin.log ]] && {
			echo "---- $n: plugin.log (last 40) ----"
			tail -n 40 "$d/plugin.log"
		}
	done
	return 0
}

# e2e_cleanup: stop all hosts and routers, remove cgroups and $E2E_TMP.
# Idempotent; called by summary and by the EXIT trap.
e2e_cleanup() {
	[[ -n ${E2E_TMP:-} && -d $E2E_TMP ]] || return 0
	local d
	for d in "$E2E_TMP"/*/; do
		[[ -f $d/init.pid ]] && host_stop "$(basename "$d")"
	done
	_cgroups_rm "e2e-$E2E_ID-*"
	if (( E2E_FAIL > 0 )); then _e2e_dump_logs; fi
	if [[ ${E2E_KEEP:-0} == 1 ]]; then
		log "kept $E2E_TMP"
	else
		rm -rf "$E2E_TMP"
	fi
	E2E_TMP=
}

_e2e_exit() {
	local rc=$?
	[[ $BASHPID == "${E2E_MAIN_PID:-}" ]] || return "$rc"
	set +e
	if (( ! E2E_DONE )); then
		# Script ended without `summary` (error or early exit): report it.
		if (( rc != 0 )); then
			E2E_FAIL=$((E2E_FAIL + 1))
			echo "FAIL - test script aborted (exit $rc)"
		fi
		e2e_cleanup
		echo "$E2E_PASS passed, $E2E_FAIL failed"
		(( rc == 0 && E2E_FAIL > 0 )) && rc=1
	fi
	exit "$rc"
}

# _cgroups_rm GLOB: remove (empty) cgroup dirs named GLOB, deepest first.
_cgroups_rm() {
	local top left
	for _ in $(seq 1 50); do
		left=0
		while read -r top; do
			find "$top" -depth -type d -exec rmdir {} + 2>/dev/null || left=1
		done < <(find /sys/fs/cgroup -maxdepth 6 -type d -name "$1" 2>/dev/null)
		(( left )) || return 0
		sleep 0.1
	done
	log "could not remove cgroups $1"
}

# ---------------------------------------------------------------- hosts

_hdir() { echo "$E2E_TMP/$1"; }

# host_pid NAME: outer PID of the host's PID 1 (use for `ip link set X netns PID`).
host_pid() {
	local f
	f="$(_hdir "$1")/init.pid"
	[[ -f $f ]] || die "host $1 not started"
	cat "$f"
}

# host_path NAME PATH: path on the real fs under which PATH inside the host
# is visible (e.g. host_path h1 /var/lib/docker-vxlan-plugin/state.db).
host_path() { echo "/proc/$(host_pid "$1")/root$2"; }

# host_exec NAME CMD...: run CMD in the host's mount, net and pid namespaces.
host_exec() {
	local pid; pid=$(host_pid "$1"); shift
	nsenter -t "$pid" -m -n -p --wd="$PWD" -- "$@"
}

# host_netexec NAME CMD...: run CMD in the host's net namespace only (pids
# and paths stay those of the real machine).
host_netexec() {
	local pid; pid=$(host_pid "$1"); shift
	nsenter -t "$pid" -n -- "$@"
}

# host_docker NAME ARGS...: docker CLI against the host's dockerd.
host_docker() {
	local d; d=$(_hdir "$1"); shift
	docker -H "unix://$d/docker.sock" "$@"
}

# PID 1 of every host: private /run, plugin state dir and sysfs, then idle.
# Reaps orphans (bash reaps unknown children on SIGCHLD).
# shellcheck disable=SC2016
_E2E_INIT='
set -e
D=$1
mount -n -t tmpfs -o mode=755 e2e-run /run
mkdir -p /run/docker/plugins /run/containerd /run/lock /run/.cg
mount -n -t tmpfs -o mode=700 e2e-state /var/lib/docker-vxlan-plugin
mount -n --rbind /sys/fs/cgroup /run/.cg
mount -n -t sysfs e2e-sys /sys
mount -n --move /run/.cg /sys/fs/cgroup
rmdir /run/.cg
mount -n --make-rshared /run # as systemd makes it: a plugin in a container sees new namespace mounts
ip link set lo up
: >"$D/ready"
trap "exit 0" TERM
while :; do sleep 3600 & wait $! || true; done
'

# _ns_start NAME: create the namespaces and their PID 1.
_ns_start() {
	local name=$1 d upid ipid
	[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || die "bad host name '$name'"
	d=$(_hdir "$name")
	[[ ! -e $d/init.pid ]] || die "host $name already running"
	mkdir -p "$d"
	rm -f "$d/ready"
	unshare --mount --net --pid --fork --mount-proc --propagation private \
		bash -c "$_E2E_INIT" e2e-init "$d" </dev/null >"$d/init.log" 2>&1 &
	upid=$!
	disown "$upid"  # no "Killed" job reports from bash
	echo "$upid" >"$d/unshare.pid"
	# Generous: a loaded machine (other suites, builds) can take long to
	# mount and start; on failure the half-made namespace goes too.
	if ! wait_for 60 test -e "$d/ready"; then
		pkill -KILL -P "$upid" 2>/dev/null || true  # the namespace's init, then unshare
		kill -KILL "$upid" 2>/dev/null || true
		die "host $name: namespace setup failed: $(cat "$d/init.log")"
	fi
	ipid=$(_child_of "$upid") || die "host $name: no init process"
	echo "$ipid" >"$d/init.pid"
}

# host_start NAME [DOCKERD_ARGS...]: create the host, start dockerd, load
# busybox:local. Extra dockerd args are kept for dockerd_restart.
host_start() {
	local name=$1 d; shift
	_ns_start "$name"
	d=$(_hdir "$name")
	: >"$d/dockerd.args"
	(( $# == 0 )) || printf '%s\n' "$@" >"$d/dockerd.args"
	dockerd_start "$name"
	host_docker "$name" load -q -i "$E2E_TMP/.lib/busybox-image.tar" >/dev/null ||
		die "host $name: loading busybox:local failed"
}

# dockerd_start NAME: start dockerd inside the host and wait until it answers.
dockerd_start() {
	local name=$1 d np dpid hp args=() extra=() deadline
	d=$(_hdir "$name")
	hp=$(host_pid "$name")
	! _alive "$(cat "$d/dockerd.pid" 2>/dev/null || true)" || die "dockerd on $name already running"
	rm -f "$d/docker.pidfile"
	[[ -s $d/dockerd.args ]] && mapfile -t args <"$d/dockerd.args"
	# shellcheck disable=SC2206
	extra=(${E2E_DOCKERD_ARGS:-})
	echo "==== dockerd start $(date +%T.%N)" >>"$d/dockerd.log"
	nsenter -t "$hp" -m -n -p -- dockerd \
		--data-root "$d/data" --exec-root /run/docker \
		-H "unix://$d/docker.sock" --pidfile "$d/docker.pidfile" \
		--bridge=none \
		--cgroup-parent "e2e-$E2E_ID-$name" \
		"${E2E_ENGINE_ARGS[@]}" "${extra[@]}" "${args[@]}" </dev/null >>"$d/dockerd.log" 2>&1 &
	np=$!
	disown "$np"
	dpid=$(_child_of "$np" "$hp") || die "dockerd on $name exited at once: $(tail -n 20 "$d/dockerd.log")"
	echo "$dpid" >"$d/dockerd.pid"
	deadline=$(( $(now_ms) + E2E_READY_TIMEOUT * 1000 ))
	while (( $(now_ms) < deadline )); do
		host_docker "$name" version >/dev/null 2>&1 && return 0
		_alive "$dpid" || die "dockerd on $name died: $(tail -n 20 "$d/dockerd.log")"
		sleep 0.1
	done
	die "dockerd on $name not ready after ${E2E_READY_TIMEOUT}s: $(tail -n 20 "$d/dockerd.log")"
}

# dockerd_stop NAME: SIGTERM dockerd and wait (30 s, then SIGKILL + fail).
dockerd_stop() {
	local d pid; d=$(_hdir "$1")
	pid=$(cat "$d/dockerd.pid" 2>/dev/null || true)
	_alive "$pid" || return 0
	_terminate "$pid" 30 "dockerd on $1"
}

# _terminate PID SECS WHAT: SIGTERM, wait SECS, then SIGKILL and fail.
_terminate() {
	kill -TERM "$1" 2>/dev/null || true
	_wait_gone "$1" "$2" && return 0
	kill -KILL "$1" 2>/dev/null || true
	_wait_gone "$1" 5 || true
	echo "$3 ignored SIGTERM for $2s, killed" >&2
	return 1
}

# dockerd_restart NAME: dockerd_stop + dockerd_start.
dockerd_restart() { dockerd_stop "$1"; dockerd_start "$1"; }

# host_stop NAME: kill everything in the host (SIGKILL to its PID 1) and
# remove its cgroups. Idempotent. Host data stays in $E2E_TMP/NAME.
host_stop() {
	local d pid f; d=$(_hdir "$1")
	[[ -f $d/init.pid ]] || return 0
	pid=$(cat "$d/init.pid")
	kill -KILL "$pid" 2>/dev/null || true
	_wait_gone "$pid" 20 || log "host $1: init $pid did not exit"
	# unshare and nsenter parents exit once their child is gone.
	for f in unshare.pid dockerd.pid plugin.pid; do
		[[ -f $d/$f ]] && { _wait_gone "$(cat "$d/$f")" 10 || true; }
	done
	rm -f "$d/init.pid" "$d/ready"
	_cgroups_rm "e2e-$E2E_ID-$1"
}

# ---------------------------------------------------------------- plugin

# plugin_start NAME [FLAGS...]: start $PLUGIN_BIN inside the host (log:
# $E2E_TMP/NAME/plugin.log) and wait until it serves $PLUGIN_SOCK.
plugin_start() {
	local name=$1 d np ppid hp sock old new deadline; shift
	d=$(_hdir "$name")
	hp=$(host_pid "$name")
	[[ -x $PLUGIN_BIN ]] || die "plugin binary $PLUGIN_BIN not built"
	! _alive "$(cat "$d/plugin.pid" 2>/dev/null || true)" || die "plugin on $name already running"
	sock=$(host_path "$name" "$PLUGIN_SOCK")
	old=$(stat -c %i "$sock" 2>/dev/null || true)
	echo "==== plugin start $(date +%T.%N) $*" >>"$d/plugin.log"
	nsenter -t "$hp" -m -n -p -- "$PLUGIN_BIN" "$@" \
		</dev/null >>"$d/plugin.log" 2>&1 &
	np=$!
	disown "$np"
	ppid=$(_child_of "$np" "$hp") || die "plugin on $name exited at once: $(tail -n 20 "$d/plugin.log")"
	echo "$ppid" >"$d/plugin.pid"
	deadline=$(( $(now_ms) + E2E_PLUGIN_TIMEOUT * 1000 ))
	while (( $(now_ms) < deadline )); do
		_alive "$ppid" || die "plugin on $name died: $(tail -n 20 "$d/plugin.log")"
		new=$(stat -c %i "$sock" 2>/dev/null || true)
		if [[ -n $new && $new != "$old" ]] && _plugin_answers "$sock"; then
			return 0
		fi
		sleep 0.1
	done
	die "plugin on $name: $PLUGIN_SOCK not served after ${E2E_PLUGIN_TIMEOUT}s: $(tail -n 20 "$d/plugin.log")"
}

# A real handshake if curl is there; the fresh socket must do otherwise.
_plugin_answers() {
	command -v curl >/dev/null || return 0
	curl -sf -m 2 --unix-socket "$1" -X POST -H 'Content-Type: application/json' \
		-d '{}' http://plugin/Plugin.Activate >/dev/null
}

# plugin_pid NAME: outer PID of the running plugin (fails if not running).
plugin_pid() {
	local pid; pid=$(cat "$(_hdir "$1")/plugin.pid" 2>/dev/null || true)
	_alive "$pid" && echo "$pid"
}

# plugin_stop NAME: SIGTERM, wait up to 15 s (then SIGKILL and fail).
plugin_stop() {
	local pid; pid=$(plugin_pid "$1") || return 0
	_terminate "$pid" 15 "plugin on $1"
}

# plugin_kill9 NAME: SIGKILL the plugin (socket file stays behind).
plugin_kill9() {
	local pid; pid=$(plugin_pid "$1") || return 0
	kill -KILL "$pid" 2>/dev/null || true
	_wait_gone "$pid" 10
}

# ---------------------------------------------------------------- networks

# router_add NAME: namespaces like a host but no dockerd, IPv4 forwarding on.
# Use it as a node in underlay_link/router_link, run commands with
# router_exec (= host_exec), stop with host_stop (or leave it to cleanup).
router_add() {
	_ns_start "$1"
	host_netexec "$1" sysctl -qw net.ipv4.ip_forward=1
}

# router_exec NAME CMD...: run CMD inside the router.
router_exec() { host_exec "$@"; }

# underlay_link A B IP_A IP_B [IF_A [IF_B]]: veth pair between hosts/routers
# A and B, created directly inside A's netns with its peer placed in B's, so
# nothing ever appears in the real netns. IPs are CIDR (default /24).
# Interface names default to "ul-B" in A and "ul-A" in B (cut to 15 chars).
# Prints "IF_A IF_B".
underlay_link() {
	local a=$1 b=$2 ipa=$3 ipb=$4
	local ifa=${5:-ul-$2} ifb=${6:-ul-$1}
	ifa=${ifa:0:15}; ifb=${ifb:0:15}
	[[ $ipa == */* ]] || ipa+=/24
	[[ $ipb == */* ]] || ipb+=/24
	host_netexec "$a" ip link add "$ifa" type veth peer name "$ifb" netns "$(host_pid "$b")"
	host_netexec "$a" ip addr add "$ipa" dev "$ifa"
	host_netexec "$b" ip addr add "$ipb" dev "$ifb"
	host_netexec "$a" ip link set "$ifa" up
	host_netexec "$b" ip link set "$ifb" up
	echo "$ifa $ifb"
}

# router_vxlan R VNI LOCAL DEV CIDR PEER...: the "existing segment" on router
# R: a hand-made vxlan link on VNI (UDP 4789), VTEP address LOCAL on DEV,
# flooding to each PEER, with the router's address CIDR on it.
router_vxlan() {
	local r=$1 vni=$2 local=$3 dev=$4 cidr=$5 peer; shift 5
	router_exec "$r" ip link add "vx$vni" type vxlan id "$vni" dstport 4789 local "$local" dev "$dev"
	for peer in "$@"; do router_exec "$r" bridge fdb append 00:00:00:00:00:00 dev "vx$vni" dst "$peer"; done
	router_exec "$r" ip addr add "$cidr" dev "vx$vni"
	router_exec "$r" ip link set "vx$vni" up
}

# router_link ROUTER HOST IP_R IP_H [IF_R [IF_H]]: underlay_link with a router.
router_link() { underlay_link "$@"; }

# ---------------------------------------------------------------- containers

# container_ip NAME CONTAINER NETWORK: container's IPv4 on NETWORK.
container_ip() {
	host_docker "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"
}

e2e_init
