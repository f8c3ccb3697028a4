#!/usr/bin/env bash
# Installation test: `make install` / `make uninstall` into a DESTDIR, and
# `systemd-analyze verify` of the unit as installed. Needs no running systemd.
#
#   test/install/run.sh        (root, or unprivileged user namespaces)
#
# Prints "ok - ..." / "FAIL - ..." per check and a last line
# "N passed, N failed"; exits 1 when anything failed.
#
# How the unit is verified: `systemd-analyze verify FILE` loads FILE with the
# machine's own unit set (sysinit.target, docker.service, ...) and checks,
# among other things, that every Exec*= binary exists and is executable, at
# its absolute path on this machine. The binary is in DESTDIR, not there, so
# verify runs in a private mount namespace with DESTDIR$PREFIX/bin bind-mounted
# on $PREFIX/bin. (--root=DESTDIR would look for sysinit.target and /bin/sh
# inside DESTDIR too, which holds only what `make install` put there.)
# Unknown directives and unparsable values are only warnings to verify (its
# exit status stays 0), so any message about our unit counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PATH:/usr/local/go/bin
umask 022

UNIT=docker-vxlan-plugin.service
PREFIX=/usr/local

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
not() { ! "$@"; }
# check DESC CMD...: one check; CMD's output is shown only when it fails.
check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then ok "$desc"; else fail "$desc"; [[ -z $out ]] || printf '#   %s\n' "${out//$'\n'/$'\n'#   }"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

# A systemctl that only records that it was called: with DESTDIR set,
# install and uninstall must never touch this machine's systemd.
mkdir -p "$tmp/shim"
printf '#!/bin/sh\necho "$*" >>%q\n' "$tmp/systemctl.calls" >"$tmp/shim/systemctl"
chmod +x "$tmp/shim/systemctl"

mk() { PATH=$tmp/shim:$PATH make --no-print-directory "$@"; }

# tree DIR: "TYPE MODE PATH" of everything under DIR, sorted.
tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P\n' | sort -k3); }

# --- what systemd-analyze verify needs ---------------------------------------
ensure_systemd_analyze() {
	command -v systemd-analyze >/dev/null && return 0
	[[ $(id -u) == 0 ]] || { echo "systemd-analyze is missing (Debian package systemd); run as root to install it"; return 1; }
	echo "# installing systemd (for systemd-analyze)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
}

# verify UNIT_FILE BINDIR: systemd-analyze verify UNIT_FILE with BINDIR seen
# at $PREFIX/bin; fails on a non-zero exit or on any message naming the unit.
verify() {
	local unit=$1 bindir=$2 out rc=0 ns=(unshare --mount --propagation private)
	[[ $(id -u) == 0 ]] || ns=(unshare --user --map-root-user --mount --propagation private)
	[[ -d $PREFIX/bin ]] || { echo "$PREFIX/bin does not exist on this machine: nothing to bind-mount on"; return 1; }
	# shellcheck disable=SC2016 # $1..$3 are the inner sh's arguments
	out=$("${ns[@]}" sh -c 'mount --bind "$1" "$2" && exec systemd-analyze verify --man=no --recursive-errors=no "$3"' \
		sh "$bindir" "$PREFIX/bin" "$unit" 2>&1) || rc=$?
	[[ -z $out ]] || printf '%s\n' "$out"
	((rc == 0)) || return 1
	! grep -q "${UNIT%.service}" <<<"$out"
}

# broken NAME SED_EXPR: a copy of the installed unit edited by SED_EXPR.
broken() {
	mkdir -p "$tmp/broken/$1"
	sed "$2" "$dest/etc/systemd/system/$UNIT" >"$tmp/broken/$1/$UNIT" || return 1
	cmp -s "$dest/etc/systemd/system/$UNIT" "$tmp/broken/$1/$UNIT" && { echo "sed '$2' changed nothing"; return 1; }
	echo "$tmp/broken/$1/$UNIT"
}

# --- install -----------------------------------------------------------------
check "make install DESTDIR=\$tmp" mk install DESTDIR="$dest"

want_tree=$(cat <<EOF
d 755 etc
d 755 etc/systemd
d 755 etc/systemd/system
f 644 etc/systemd/system/$UNIT
d 755 usr
d 755 usr/local
d 755 usr/local/bin
f 755 usr/local/bin/docker-vxlan-plugin
d 755 var
d 755 var/lib
d 700 var/lib/docker-vxlan-plugin
EOF
)
check "installs exactly binary 0755, unit 0644, state directory 0700" \
	diff <(echo "$want_tree") <(tree "$dest")
check "installed binary is the one make build produced" cmp bin/docker-vxlan-plugin "$dest/usr/local/bin/docker-vxlan-plugin"
check "installed unit is contrib/systemd/$UNIT" cmp "contrib/systemd/$UNIT" "$dest/etc/systemd/system/$UNIT"

# What verify cannot see: the choices the unit's comments explain.
unit_choices() {
	local u=$dest/etc/systemd/system/$UNIT l rc=0
	for l in 'Before=docker.service' 'WantedBy=multi-user.target docker.service' \
		'After=network-online.target' 'Wants=network-online.target' \
		'ReadWritePaths=-/run/docker/plugins' 'CapabilityBoundingSet=CAP_NET_ADMIN' \
		'EnvironmentFile=-/etc/default/docker-vxlan-plugin'; do
		grep -qxF "$l" "$u" || { echo "missing: $l"; rc=1; }
	done
	! grep -E '^(Requires|BindsTo|PartOf|RequiredBy)=' "$u" || rc=1 # dockerd must not depend hard on it
	return "$rc"
}
check "unit: ordering, wants, sandbox paths as designed" unit_choices

prefix_install() { # PREFIX=/opt/vxlan: the binary goes there and ExecStart= follows
	local d=$tmp/prefix u=$tmp/prefix/etc/systemd/system/$UNIT
	mk install DESTDIR="$d" PREFIX=/opt/vxlan >/dev/null || return 1
	test -x "$d/opt/vxlan/bin/docker-vxlan-plugin" || { echo "no $d/opt/vxlan/bin/docker-vxlan-plugin"; return 1; }
	# shellcheck disable=SC2016 # a literal $DOCKER_VXLAN_PLUGIN_OPTS
	grep -qx 'ExecStart=/opt/vxlan/bin/docker-vxlan-plugin $DOCKER_VXLAN_PLUGIN_OPTS' "$u" || { grep ExecStart "$u"; return 1; }
	! grep -n /usr/local "$u"
}
check "PREFIX=/opt/vxlan: binary there, ExecStart= points at it" prefix_install

# --- systemd-analyze verify ----------------------------------------------------
if out=$(ensure_systemd_analyze 2>&1); then
	installed_bin=$dest$PREFIX/bin
	check "systemd-analyze verify: installed unit and binary" verify "$dest/etc/systemd/system/$UNIT" "$installed_bin"
	mkdir -p "$tmp/empty-bin"
	check "systemd-analyze verify fails: binary missing" \
		not verify "$dest/etc/systemd/system/$UNIT" "$tmp/empty-bin"
	# The negative checks: verify must catch each of these, or it proves nothing.
	for bad in \
		'typo in a directive name|s/^ExecStart=/ExecStrat=/' \
		'typo in a hardening directive (a warning only)|s/^ProtectSystem=/ProtectSytem=/' \
		'bad value|s/^Restart=on-failure/Restart=on-falure/' \
		'unknown section|s/^\[Service\]/[Servce]/'; do
		desc=${bad%%|*} expr=${bad#*|}
		if f=$(broken "${desc%% *}-$RANDOM" "$expr") && ! verify "$f" "$installed_bin" >/dev/null 2>&1; then
			ok "systemd-analyze verify fails: $desc"
		else
			fail "systemd-analyze verify fails: $desc"
		fi
	done
else
	fail "systemd-analyze available: $out"
fi

# --- uninstall ---------------------------------------------------------------
uninstall_out=
removed() { ! ls -d "$dest/usr/local/bin/docker-vxlan-plugin" "$dest/etc/systemd/system/$UNIT" 2>/dev/null; }
state_kept() {
	test -d "$dest/var/lib/docker-vxlan-plugin" || { echo "state directory gone"; return 1; }
	grep -q "kept .*/var/lib/docker-vxlan-plugin" <<<"$uninstall_out" || { echo "$uninstall_out"; return 1; }
}
no_systemctl_calls() { ! test -s "$tmp/systemctl.calls" || { cat "$tmp/systemctl.calls"; return 1; }; }

# A state file, as the plugin would have written; uninstall must keep it.
{ echo "state" >"$dest/var/lib/docker-vxlan-plugin/state.db"; } 2>/dev/null || true
# Not through check: uninstall_out must survive for state_kept.
if uninstall_out=$(mk uninstall DESTDIR="$dest" 2>&1); then
	ok "make uninstall DESTDIR=\$tmp"
else
	fail "make uninstall DESTDIR=\$tmp"; printf '#   %s\n' "${uninstall_out//$'\n'/$'\n'#   }"
fi
check "uninstall removes binary and unit" removed
check "uninstall leaves nothing else but the state" \
	diff <(echo "f 644 var/lib/docker-vxlan-plugin/state.db") <(tree "$dest" | grep -v '^d ')
check "uninstall keeps the state directory and says so" state_kept
check "uninstall of nothing installed succeeds" mk uninstall DESTDIR="$tmp/never-installed"
check "systemctl never called with DESTDIR set" no_systemctl_calls

echo "$passed passed, $failed failed"
((failed == 0))
