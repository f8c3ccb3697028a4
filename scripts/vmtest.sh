#!/usr/bin/env bash
# Run one Go test package inside a throw-away QEMU VM booted with Debian's own
# kernel, for tests that need kernel features this machine lacks (ipvlan,
# 802.1Q vlan, dummy, ...). See TESTING.md §2.
#
#   scripts/vmtest.sh PKG [test binary flags...]
#   scripts/vmtest.sh ./internal/driver -test.run 'VM' -test.v
#
# Flags after PKG go to the test binary, so spell them -test.run, -test.v, ...
# The package is built with the "vmtest" build tag, so tests that only make
# sense in the VM can hide from a plain `go test ./...` behind
# `//go:build vmtest`; inside the VM the environment has VMTEST=1.
# The exit status is the test binary's exit status inside the VM; 125 when no
# verdict came back (build failure, kernel panic, timeout, ...).
#
# Environment:
#   VMTEST_MODULES  extra kernel modules to load (space separated), on top of
#                   dummy 8021q ipvlan macvlan vxlan bridge veth xfrm_user
#                   nfnetlink
#   VMTEST_TIMEOUT  seconds before the VM is killed (default 600)
#   VMTEST_MEM      VM memory in MiB (default 1024)
#   VMTEST_SMP      VM CPUs (default 2)
#   VMTEST_KERNEL   kernel version under /lib/modules to boot (default: the
#                   newest that has a /boot/vmlinuz-<ver>)
#
# Needs root only to install packages (apt-get) when something is missing.
# Nothing is cached between runs: binary, initramfs and log live in a temporary
# directory removed at exit.
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "vmtest: $*" >&2; exit 125; }
now() { echo "${EPOCHREALTIME/[,.]/}"; } # microseconds
secs() { printf '%d.%02d' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); }

(($# >= 1)) || die "usage: $0 PKG [test binary flags...]"
pkg=$1; shift
for a in "$@"; do [[ $a != *$'\n'* ]] || die "test arguments must not contain newlines"; done

# xfrm_user and nfnetlink: vishvananda/netlink's NewHandle/NewHandleAt open
# NETLINK_XFRM and NETLINK_NETFILTER sockets too, and fail without them.
modules="dummy 8021q ipvlan macvlan vxlan bridge veth xfrm_user nfnetlink ${VMTEST_MODULES:-}"
vm_timeout=${VMTEST_TIMEOUT:-600}
t0=$(now)

# --- 1. what it needs, installed only when missing --------------------------

kernel_version() { # newest /lib/modules/<ver> with a matching /boot/vmlinuz-<ver>
	local v best=
	if [[ -n ${VMTEST_KERNEL:-} ]]; then
		[[ -f /boot/vmlinuz-$VMTEST_KERNEL && -f /lib/modules/$VMTEST_KERNEL/modules.dep ]] && echo "$VMTEST_KERNEL"
		return 0
	fi
	for v in $(find /lib/modules/ -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V); do
		[[ -f /boot/vmlinuz-$v && -f /lib/modules/$v/modules.dep ]] && best=$v
	done
	echo "$best"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

need=()
for p in qemu-system-x86 busybox-static cpio iproute2; do installed "$p" || need+=("$p"); done
[[ -n $(kernel_version) ]] || need+=(linux-image-amd64)
if ((${#need[@]})); then
	[[ $(id -u) == 0 ]] || die "missing ${need[*]}; run as root to install them"
	echo "vmtest: installing ${need[*]}" >&2
	# INITRD=No: the kernel is booted with our own initramfs, so skip
	# Debian's (update-initramfs would build a 30 MB one we never use).
	# No recommends: they pull ~150 GUI/multimedia packages for qemu.
	if ! out=$(apt-get update -qq 2>&1 &&
		INITRD=No DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
			apt-get install -y -qq --no-install-recommends "${need[@]}" 2>&1); then
		echo "$out" >&2
		die "apt-get install ${need[*]} failed"
	fi
fi
kver=$(kernel_version)
[[ -n $kver ]] || die "no kernel: want /lib/modules/<ver>/modules.dep and /boot/vmlinuz-<ver>${VMTEST_KERNEL:+ for $VMTEST_KERNEL}"
command -v go >/dev/null || die "Go is not installed (expected /usr/local/go)"

tmp=$(mktemp -d /tmp/vmtest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# --- 2. the test binary ------------------------------------------------------

t_build=$(now)
(cd "$root" && CGO_ENABLED=0 go test -c -tags vmtest -o "$tmp/pkg.test" "$pkg") || die "go test -c $pkg failed"
[[ -x $tmp/pkg.test ]] || die "$pkg has no test files"
pkgdir=$(cd "$root" && go list -f '{{.Dir}}' "$pkg")

# --- 3. the initramfs --------------------------------------------------------

t_initrd=$(now)
ir=$tmp/root
mkdir -p "$ir"/{bin,sbin,dev,proc,sys,run,tmp,root,etc,pkg,lib/modules,usr}
ln -s ../bin "$ir/usr/bin"
ln -s ../sbin "$ir/usr/sbin"

# busybox and its applets, except ip*: the real iproute2 goes into /sbin
cp /bin/busybox "$ir/bin/busybox"
for a in $(/bin/busybox --list); do
	case $a in ip | ipaddr | iplink | ipneigh | iproute | iprule | iptunnel | busybox) continue ;; esac
	ln -s busybox "$ir/bin/$a"
done

# iproute2's ip and bridge, with their shared libraries and the loader
copy_with_libs() { # copy_with_libs BINARY DEST
	local f
	cp "$(readlink -f "$1")" "$ir/$2"
	for f in $(ldd "$1" | grep -oE '/[^ ]+'); do
		[[ -e $ir$f ]] && continue
		mkdir -p "$ir$(dirname "$f")"
		cp -L "$f" "$ir$f"
	done
}
copy_with_libs "$(command -v ip)" sbin/ip
copy_with_libs "$(command -v bridge)" sbin/bridge
if [[ -d /etc/iproute2 ]]; then cp -r /etc/iproute2 "$ir/etc/"; fi

# the modules and everything they depend on, in load order
mdir=/lib/modules/$kver
declare -A seen=()
load_order=()
resolve() { # resolve RELPATH: its dependencies first, then itself
	local m=$1 d
	[[ -n ${seen[$m]:-} ]] && return 0
	seen[$m]=1
	# shellcheck disable=SC2013 # modules.dep: "path: dep dep ...", words
	for d in $(awk -v m="$m:" '$1 == m { $1 = ""; print }' "$mdir/modules.dep"); do resolve "$d"; done
	load_order+=("$m")
}
for name in $modules; do
	want=${name//-/_}
	rel=$(awk -F: -v w="$want" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n); if (n == w) { print $1; exit } }' "$mdir/modules.dep")
	if [[ -z $rel ]]; then
		grep -qE "/${want//_/[-_]}\.ko" "$mdir/modules.builtin" || die "kernel $kver has no module $name"
		continue # built into the kernel
	fi
	resolve "$rel"
done
: >"$ir/modules.list"
for rel in "${load_order[@]}"; do
	ko=${rel##*/}
	case $ko in # busybox insmod reads plain .ko only
	*.ko) cp "$mdir/$rel" "$ir/lib/modules/$ko" ;;
	*.ko.xz) xz -dc "$mdir/$rel" >"$ir/lib/modules/${ko%.xz}"; ko=${ko%.xz} ;;
	*.ko.zst) zstd -qdc "$mdir/$rel" >"$ir/lib/modules/${ko%.zst}"; ko=${ko%.zst} ;;
	*.ko.gz) gzip -dc "$mdir/$rel" >"$ir/lib/modules/${ko%.gz}"; ko=${ko%.gz} ;;
	*) die "unknown module format: $rel" ;;
	esac
	echo "$ko" >>"$ir/modules.list"
done

# the test, its arguments (one a line) and its package's testdata
cp "$tmp/pkg.test" "$ir/pkg.test"
rm -f "$tmp/pkg.test"
printf '%s\n' "$@" >"$ir/args"
# (the binary runs in /pkg, as go test runs it in the package directory)
if [[ -d $pkgdir/testdata ]]; then cp -r "$pkgdir/testdata" "$ir/pkg/"; fi

cat >"$ir/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin HOME=/root TMPDIR=/tmp VMTEST=1
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/netns /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
echo "VMTEST-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"
while read -r m; do
	insmod "/lib/modules/$m" || echo "VMTEST: insmod $m failed"
done </modules.list
ip link set lo up
set --
while IFS= read -r a; do set -- "$@" "$a"; done </args
cd /pkg
/pkg.test "$@"
rc=$?
printf '\nVMTEST-EXIT=%s\n' "$rc" # on a line of its own
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 5
EOF
chmod +x "$ir/init"

(cd "$ir" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$tmp/initrd.gz"
rm -rf "$ir"

# --- 4. boot -----------------------------------------------------------------

t_vm=$(now)
log=$tmp/console.log
echo "vmtest: booting $kver ($(du -k "$tmp/initrd.gz" | cut -f1) KiB initramfs) for $pkg $*" >&2
set +e
timeout --foreground -k 10 "$vm_timeout" \
	qemu-system-x86_64 -cpu max -m "${VMTEST_MEM:-1024}" -smp "${VMTEST_SMP:-2}" \
	-nodefaults -display none -serial stdio -nic none -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 |
	sed -u 's/\r$//' | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
t_end=$(now)

boot=$(grep -ao 'VMTEST-BOOTED uptime=[0-9.]*' "$log" | head -1 | cut -d= -f2) || true
echo "vmtest: kernel $kver; build $(secs $((t_initrd - t_build)))s, initramfs $(secs $((t_vm - t_initrd)))s," \
	"vm $(secs $((t_end - t_vm)))s (guest up at /init after ${boot:-?}s), total $(secs $((t_end - t0)))s" >&2
verdict=$(grep -a '^VMTEST-EXIT=[0-9]*$' "$log" | tail -1 | cut -d= -f2) || true
if [[ -z $verdict ]]; then
	if ((qrc == 124 || qrc == 137)); then why="timed out after ${vm_timeout}s"
	elif grep -aq 'Kernel panic' "$log"; then why="kernel panic"
	else why="qemu exited with $qrc"; fi
	die "no VMTEST-EXIT verdict from the VM: $why"
fi
exit "$verdict"
