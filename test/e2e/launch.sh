# shellcheck shell=bash
# The three ways to run the plugin (README: host binary, container image,
# managed plugin), behind one interface, so one test body runs under each.
# Source after lib.sh. LAUNCHER picks the way: host (default), container,
# managed.
#
#   driver_install H [SETTING=VALUE...]  make the plugin available on host H and start it
#   driver_crash H                       SIGKILL the plugin process
#   driver_recover H                     wait for (or cause) the plugin to serve again
#   driver_stop H                        stop it the way an operator would
#   driver_replace H                     replace the running plugin with a new instance (an upgrade)
#   driver_pids H                        PIDs of plugin processes on H (real PID namespace)
#   driver_socket H                      the plugin's socket inside H
#   DRIVER                               the name for `docker network create -d`
#
# Settings are scope, vtepdev, debug: flags for the binary and the image,
# `docker plugin set` for the managed plugin.

LAUNCHER=${LAUNCHER:-host}
PLUGIN_IMAGE=docker-vxlan-plugin:dev
PLUGIN_REF=docker-vxlan-plugin:dev
case $LAUNCHER in
host | container) DRIVER=vxlan ;;
managed) DRIVER=$PLUGIN_REF ;;
*) die "LAUNCHER=$LAUNCHER: want host, container or managed" ;;
esac

# _settings_as_flags K=V...: --k=v for the binary.
_settings_as_flags() { local kv; for kv in "$@"; do echo "--$kv"; done; }

driver_install() {
	local h=$1; shift
	DRIVER_SETTINGS=("$@") # for driver_replace
	case $LAUNCHER in
	host) plugin_start "$h" $(_settings_as_flags "$@") ;;
	container)
		DOCKER_HOST=unix://$(_hdir "$h")/docker.sock make -s -C "$ROOT" image >/dev/null
		_run_container "$h"
		;;
	managed)
		DOCKER_HOST=unix://$(_hdir "$h")/docker.sock make -s -C "$ROOT" plugin >/dev/null
		host_docker "$h" plugin create "$PLUGIN_REF" "$ROOT/build/plugin" >/dev/null
		(($# == 0)) || host_docker "$h" plugin set "$PLUGIN_REF" "$@"
		host_docker "$h" plugin enable "$PLUGIN_REF" >/dev/null
		;;
	esac
}

# _run_container H: the README's docker run line, with the settings.
_run_container() {
	host_docker "$1" run -d --name vxlan-plugin --restart always --net=host --cap-add NET_ADMIN --cap-add SYS_ADMIN \
		-v /run/docker/plugins:/run/docker/plugins \
		-v /var/lib/docker-vxlan-plugin:/var/lib/docker-vxlan-plugin \
		-v /var/run/docker:/run/docker-host:rslave \
		"$PLUGIN_IMAGE" --docker-exec-root /run/docker-host $(_settings_as_flags "${DRIVER_SETTINGS[@]}") >/dev/null
	_await_socket "$1" "$PLUGIN_SOCK"
}

# _await_socket H SOCK: wait until the plugin answers on SOCK inside H.
_await_socket() {
	wait_for "$E2E_PLUGIN_TIMEOUT" _plugin_answers_in "$1" "$2" ||
		die "plugin on $1 not serving $2 after ${E2E_PLUGIN_TIMEOUT}s"
}
# _plugin_answers_in H SOCK: Plugin.Activate answered on SOCK, asked from
# inside H (a managed plugin's socket path is too long to reach via /proc).
_plugin_answers_in() {
	host_exec "$1" curl -sf -m 2 --unix-socket "$2" -X POST -d '{}' http://plugin/Plugin.Activate >/dev/null
}

# driver_pids: plugin processes in H's network namespace (all three ways use the host network).
driver_pids() { pgrep -f -x "(/docker-vxlan-plugin|$PLUGIN_BIN)( .*)?" --ns "$(host_pid "$1")" --nslist net || true; }

driver_crash() {
	local h=$1 pid
	case $LAUNCHER in
	host) plugin_kill9 "$h" ;;
	*)
		pid=$(driver_pids "$h")
		[[ -n $pid ]] || die "no plugin process on $h"
		kill -KILL $pid
		;;
	esac
}

# driver_recover H: the host binary is restarted by hand (an operator's or
# systemd's job); the container comes back by its restart policy and the
# managed plugin by dockerd. Either way, wait until it serves again.
driver_recover() {
	local h=$1
	case $LAUNCHER in
	host) plugin_start "$h" $(_settings_as_flags "${DRIVER_SETTINGS[@]}") ;;
	container) _await_socket "$h" "$PLUGIN_SOCK" ;;
	managed) wait_for "$E2E_PLUGIN_TIMEOUT" _managed_serving "$h" || die "managed plugin on $h did not come back" ;;
	esac
}
_managed_serving() {
	local id
	id=$(host_docker "$1" plugin inspect -f '{{.ID}}' "$PLUGIN_REF") || return 1
	[[ -n $(driver_pids "$1") ]] && _plugin_answers_in "$1" "/run/docker/plugins/$id/vxlan.sock"
}

driver_stop() {
	case $LAUNCHER in
	host) plugin_stop "$1" ;;
	container) host_docker "$1" stop vxlan-plugin >/dev/null ;;
	managed) host_docker "$1" plugin disable -f "$PLUGIN_REF" >/dev/null ;;
	esac
}

# driver_replace H: what an upgrade does: the host binary stopped and
# started, the container removed and run anew, the managed plugin disabled
# and enabled. The state must carry over.
driver_replace() {
	local h=$1
	case $LAUNCHER in
	host) plugin_stop "$h" && plugin_start "$h" $(_settings_as_flags "${DRIVER_SETTINGS[@]}") ;;
	container)
		host_docker "$h" rm -f vxlan-plugin >/dev/null
		_run_container "$h"
		;;
	managed)
		host_docker "$h" plugin disable -f "$PLUGIN_REF" >/dev/null
		host_docker "$h" plugin enable "$PLUGIN_REF" >/dev/null
		;;
	esac
}

driver_socket() {
	case $LAUNCHER in
	managed) echo "/run/docker/plugins/$(host_docker "$1" plugin inspect -f '{{.ID}}' "$PLUGIN_REF")/vxlan.sock" ;;
	*) echo "$PLUGIN_SOCK" ;;
	esac
}
