#!/usr/bin/env bash
# Release artifacts into build/release/, from one command (`make release`):
#
#   docker-vxlan-plugin-linux-amd64     static binaries (CGO disabled, -trimpath,
#   docker-vxlan-plugin-linux-arm64     stripped, version from `git describe`)
#   docker-vxlan-plugin-image.tar       `docker save` of $IMAGE      } only when the Makefile
#   docker-vxlan-plugin-managed.tar.gz  build/plugin: config.json,   } has `image` / `plugin`
#                                       rootfs/                      } targets
#   SHA256SUMS                          over all of the above
#
# The binaries and checksums need only Go. The image and the managed plugin
# need a Docker engine ($DOCKER_HOST or the default socket); set
# RELEASE_BINARIES_ONLY=1 to leave them out.
#
# Environment: GO (default go), IMAGE (default docker-vxlan-plugin:dev),
# VERSION (default `git describe --always --dirty`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

GO=${GO:-go}
IMAGE=${IMAGE:-docker-vxlan-plugin:dev}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
out=build/release
name=docker-vxlan-plugin

note() { echo "release: $*"; }
die() { echo "release: $*" >&2; exit 1; }

# elf_machine FILE: the ELF header's e_machine (bytes 18-19, little endian),
# read with od so the check needs neither file(1) nor binutils.
elf_machine() {
	local b
	b=$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')
	[[ $(od -An -c -N4 "$1" | tr -d ' \n') == 177ELF ]] || { echo "not-elf"; return; }
	case $b in
	3e00) echo x86-64 ;;
	b700) echo aarch64 ;;
	*) echo "machine-0x$b" ;;
	esac
}

# has_target NAME: the Makefile has a rule for NAME (`make -n NAME` alone is
# not enough: a name listed only in .PHONY "builds" with nothing to do).
has_target() {
	grep -qE "^$1:" Makefile && make -n "$1" >/dev/null 2>&1
}

# Decide about the image and the managed plugin first, so a missing engine
# fails the release before anything is built.
images=
if [[ ${RELEASE_BINARIES_ONLY:-} == 1 ]]; then
	note "RELEASE_BINARIES_ONLY=1: skipping $name-image.tar and $name-managed.tar.gz"
elif has_target image || has_target plugin; then
	images=1
	docker info >/dev/null 2>&1 ||
		die "no Docker engine answers at ${DOCKER_HOST:-the default socket}, needed for the image and the managed plugin; point DOCKER_HOST at one, or set RELEASE_BINARIES_ONLY=1"
fi

rm -rf "$out"
mkdir -p "$out"

ldflags="-s -w"
if grep -q 'var version' cmd/$name/*.go; then
	ldflags+=" -X main.version=$VERSION"
else
	note "cmd/$name has no 'var version': binaries are not stamped with $VERSION"
fi

declare -A want=([amd64]=x86-64 [arm64]=aarch64)
for arch in amd64 arm64; do
	bin=$out/$name-linux-$arch
	note "building $bin ($VERSION)"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$bin" ./cmd/$name
	got=$(elf_machine "$bin")
	[[ $got == "${want[$arch]}" ]] || die "$bin is $got, want ${want[$arch]}"
done

if [[ -z $images ]]; then
	[[ ${RELEASE_BINARIES_ONLY:-} == 1 ]] ||
		note "the Makefile has no 'image' or 'plugin' target: skipped $name-image.tar and $name-managed.tar.gz"
else
	if has_target image; then
		note "make image ($IMAGE)"
		make --no-print-directory image IMAGE="$IMAGE"
		docker save -o "$out/$name-image.tar" "$IMAGE"
		chmod 0644 "$out/$name-image.tar" # docker save writes 0600
	else
		note "the Makefile has no 'image' target: skipped $name-image.tar"
	fi
	if has_target plugin; then
		note "make plugin"
		make --no-print-directory plugin IMAGE="$IMAGE"
		[[ -f build/plugin/config.json && -d build/plugin/rootfs ]] ||
			die "make plugin left no build/plugin/config.json and rootfs/"
		# Sorted, numeric owners, gzip without a time stamp: the same tree gives
		# the same archive.
		tar -C build --sort=name --numeric-owner -cf - plugin | gzip -n >"$out/$name-managed.tar.gz"
	else
		note "the Makefile has no 'plugin' target: skipped $name-managed.tar.gz"
	fi
fi

(
	cd "$out"
	files=()
	for f in *; do [[ $f == SHA256SUMS ]] || files+=("$f"); done
	sha256sum -- "${files[@]}" >SHA256SUMS
)
note "done: $out"
(cd "$out" && ls -l && cat SHA256SUMS)
