#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine, as root:
#   1. installs what it needs (idempotent),
#   2. builds the static binary,
#   3. unit and kernel (network namespace) tests,
#   4. the tests needing kernel features this machine lacks, in a VM,
#   5. end-to-end tests against a real, isolated dockerd, once per engine in
#      $E2E_ENGINES (default "debian newest": Debian's dockerd 20.10 and the
#      newest engine, built once per machine by scripts/engines.sh).
# `scripts/test.sh e2e` (make e2e) runs only 1, 2 and 5, e.g.
#   make e2e E2E_ENGINES=newest
# Any skipped test counts as a failure. The last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

[[ $(id -u) == 0 ]] || { echo "test.sh: run as root (namespaces, links, dockerd)" >&2; exit 1; }

install_deps() {
	local need=()
	command -v dockerd >/dev/null || need+=(docker.io)
	command -v busybox >/dev/null || need+=(busybox-static)
	command -v ip >/dev/null && command -v bridge >/dev/null || need+=(iproute2)
	command -v ping >/dev/null || need+=(iputils-ping)
	command -v curl >/dev/null || need+=(curl)
	command -v unshare >/dev/null && command -v nsenter >/dev/null || need+=(util-linux)
	command -v sysctl >/dev/null && command -v pgrep >/dev/null || need+=(procps)
	command -v iptables >/dev/null || need+=(iptables)
	command -v make >/dev/null || need+=(make)
	command -v gcc >/dev/null || need+=(gcc)  # go test -race needs cgo
	command -v etcd >/dev/null || need+=(etcd-server)
	command -v etcdctl >/dev/null || need+=(etcd-client)
	command -v jq >/dev/null || need+=(jq)  # reads inspect --json in test/e2e/80-faults.sh
	[[ -x /usr/lib/frr/zebra ]] || need+=(frr)  # BGP EVPN peer of test/e2e/45-evpn.sh
	if ((${#need[@]})); then
		echo "# installing ${need[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	command -v go >/dev/null || { echo "test.sh: Go is not installed (expected /usr/local/go)" >&2; exit 1; }
	go mod download
}

passed=0 failed=0
step() { # step NAME CMD...: run a suite, count it
	local name=$1; shift
	echo "=== $name"
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "=== $name FAILED"; fi
}

# gotest_report LOG: print the verdicts of a `go test -v` log; fail on any
# failure or skip.
gotest_report() {
	local log=$1 rc=0
	grep -E '^(--- (PASS|FAIL|SKIP)|ok |FAIL|panic:)' "$log" || true
	if grep -q -- '--- SKIP' "$log"; then
		echo "skipped tests are failures here:"; grep -A2 -- '--- SKIP' "$log"; rc=1
	fi
	if grep -qE -- '--- FAIL|^FAIL|^panic:' "$log"; then rc=1; fi
	echo "go test: $(grep -c -- '--- PASS' "$log") passed, $(grep -c -- '--- FAIL' "$log") failed"
	return "$rc"
}

go_tests() {
	local log rc=0
	log=$(mktemp)
	go vet ./... && go vet -tags vmtest ./... || return 1
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... || return 1
	[[ -z $(gofmt -l .) ]] || { echo "not gofmt'ed:"; gofmt -l .; return 1; }
	# -race: the driver serves requests for different networks at once.
	go test -race -count=1 -v -timeout 20m ./... >"$log" 2>&1 || rc=$?
	gotest_report "$log" || rc=1
	((rc == 0)) || tail -n 80 "$log"
	rm -f "$log"
	return "$rc"
}

# vm_tests: the tests that need ipvlan, 802.1Q and dummy, in a VM with
# Debian's kernel (scripts/vmtest.sh).
vm_tests() {
	local log rc=0
	log=$(mktemp)
	./scripts/vmtest.sh ./internal/driver -test.v -test.run '^TestVM' >"$log" 2>&1 || rc=$?
	gotest_report "$log" || rc=1
	# Every test of the vmtest files must have run and passed in the VM: a
	# test the runner's pattern misses would otherwise never run anywhere.
	local name
	for name in $(grep -ho '^func Test[A-Za-z0-9_]*' $(grep -l '^//go:build vmtest' internal/*/*_test.go) | cut -d' ' -f2); do
		grep -q -- "--- PASS: $name " "$log" || { echo "VM test $name did not run and pass in the VM"; rc=1; }
	done
	((rc == 0)) || tail -n 80 "$log"
	rm -f "$log"
	return "$rc"
}

# runs_on SCRIPT ENGINE: SCRIPT's "# engines: NAME..." header line names
# ENGINE, or SCRIPT has none (it runs on every engine).
runs_on() {
	local want
	want=$(sed -n 's/^# engines: //p' "$1" | head -n 1)
	[[ -z $want || " $want " == *" $2 "* ]]
}

# machine_state: what a test could leave behind on the machine itself:
# links and namespaces, mounts of namespaces and Docker's run directories,
# and the daemons the tests start. Compared before and after each suite,
# so that what was there before (the machine's own) never counts.
machine_state() {
	echo "## links"; ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
	echo "## namespaces"; ip netns list | awk '{print $1}' | sort
	echo "## mounts"; findmnt -rn -o TARGET | grep -E '^(/run|/var/run)/(netns|docker)|^/tmp/' | sort || true
	# process names as the kernel keeps them: 15 characters at most
	echo "## processes"; ps -e -o comm= | grep -x -E 'dockerd|containerd|containerd-shim|docker-vxlan-pl|etcd|zebra|bgpd|staticd|iperf3' |
		sort | uniq -c || true
}

# no_leaks NAME BEFORE: the machine is as it was in file BEFORE (within
# 10 s: processes a suite killed may still be exiting).
no_leaks() {
	local after i; after=$(mktemp)
	for i in $(seq 20); do
		machine_state >"$after"
		diff -q "$2" "$after" >/dev/null && break
		sleep 0.5
	done
	if ! diff -u "$2" "$after" >"$after.diff"; then
		echo "=== $1 left this behind on the machine (- before, + after):"
		cat "$after.diff"
		rm -f "$after" "$after.diff"
		return 1
	fi
	rm -f "$after" "$after.diff"
}

# suite NAME CMD...: a step, then a step checking it left nothing behind.
suite() {
	local name=$1 before; shift
	before=$(mktemp)
	machine_state >"$before"
	step "$name" "$@"
	step "$name: nothing left behind" no_leaks "$name" "$before"
	rm -f "$before"
}

# e2e_suite ENGINE: the e2e scripts that run on ENGINE, each step named
# after the engine and timed.
e2e_suite() {
	local engine=$1 t t0
	for t in test/e2e/[0-9]*.sh; do
		runs_on "$t" "$engine" || continue
		t0=$SECONDS
		suite "e2e [$engine] $(basename "$t")" env E2E_ENGINE="$engine" bash "$t"
		echo "# e2e [$engine] $(basename "$t"): $((SECONDS - t0)) s"
	done
}

install_deps
step build make build
if [[ ${1:-} != e2e ]]; then
	suite "go tests" go_tests
	suite "VM tests (ipvlan, 802.1Q, dummy)" vm_tests
	step "install (make install, systemd unit)" bash test/install/run.sh
fi
# The newest engine, its runc and CLI, and Compose (used on every engine):
# built the first time on a machine (about 7 minutes), then reused.
step "engines: newest dockerd, runc, docker CLI, Compose" ./scripts/engines.sh
for engine in ${E2E_ENGINES:-debian newest}; do
	e2e_suite "$engine"
done
echo "$passed passed, $failed failed"
((failed == 0))
