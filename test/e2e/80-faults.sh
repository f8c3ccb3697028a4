#!/usr/bin/env bash
# engines: debian
# Fault injection (issue 9): a seeded, reproducible run of random steps
# against one isolated dockerd host, its firewall on, the plugin as a host
# binary: networks of every kind this kernel has created and removed,
# containers run, stopped, killed and removed, the plugin killed (-9) while
# idle and in the middle of Docker's requests, dockerd restarted, the state
# file truncated while the plugin is down (and restored, or kept). After
# every step Docker's view, the plugin's store and its marked kernel links
# agree (faults-lib.sh says exactly how, and how after a damaged state
# file), inspect tells the truth and every running container reaches its
# gateway. The first violation ends the run, naming the seed and the step.
#
# Part of `make test` (500 steps); `make faults` runs it alone, and
# FAULTS_LONG=1 makes it 5000 steps.
#
#   SEED=N          the generator's seed (default random; printed)
#   STEPS=N         steps (default 500; FAULTS_LONG=1: 5000)
#   FX_WEIGHTS=".." step weights, e.g. "damage=0 dockerd_restart=5"
#   Reproduce a failure: SEED=<seed> STEPS=<step> bash test/e2e/80-faults.sh
set -euo pipefail
# A plugin start waits for the kernel's RTNL lock in its first link dump; a
# machine busy creating and deleting namespaces has held it for over 20 s.
E2E_PLUGIN_TIMEOUT=${E2E_PLUGIN_TIMEOUT:-60}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
if [[ ${FAULTS_LONG:-0} == 1 ]]; then STEPS=${STEPS:-5000}; else STEPS=${STEPS:-500}; fi
log "SEED=$SEED STEPS=$STEPS"
fx_weights
fx_seed "$SEED"
fx_setup

# report STEP: print the violation, the steps before it and how to replay it.
report() {
	echo "seed $SEED, step $1: $FX_DESC"
	echo "$FX_WHY" | sed '/^$/d; s/^/  /'
	echo "the steps before it (step, ms, what):"
	tail -n 12 "$FXD/steps.log" | sed 's/^/  /'
	echo "replay: SEED=$SEED STEPS=$1 bash test/e2e/80-faults.sh"
	fx_diagnose
	grep -i 'plugin\|vxlan' "$(_hdir h1)/dockerd.log" | grep -E 'level=(warn|error)' | tail -n 8 | sed 's/^/  dockerd: /' || true
}

violation=0 done_steps=0 t_run=$SECONDS
check "the checks catch a cut-off container and a leaked link (positive controls)" fx_self_test
for ((step = 1; step <= STEPS; step++)); do
	t0=$(now_ms)
	rc=0
	fx_step || rc=$?
	((rc == 1)) || { fx_check || rc=1; }
	ms=$(($(now_ms) - t0))
	echo "$step $ms $FX_DESC" >>"$FXD/steps.log"
	if ((rc == 1)); then
		report "$step"
		violation=1
		break
	fi
	FX_STEP_MS+=("$ms")
	done_steps=$step
	((step % 25)) || log "step $step/$STEPS, $((SECONDS - t_run)) s"
done
check "$done_steps of $STEPS steps with Docker, the store and the kernel in agreement after each (SEED=$SEED)" test "$violation" = 0
fx_figures
log "figures: the run took $((SECONDS - t_run)) s"

# Removing everything leaves no link of the plugin behind.
empty_host() {
	local c n
	((!FX_RECOVERY)) || fx_step_repair || return 1
	for c in $(fx_cts); do fx_docker rm -f "$c" >/dev/null || return 1; done
	for n in $(fx_nets); do fx_docker network rm "$n" >/dev/null || return 1; done
	fx_check || { echo "$FX_WHY"; return 1; }
	[[ ! -s $FXD/k_host ]] || { echo "marked links left:"; cat "$FXD/k_host"; return 1; }
}
((violation)) || check "removing every container and network leaves no link of the plugin" empty_host

summary
