#!/usr/bin/env bash
# The newest Docker engine, the runc it needs, its docker CLI and Docker
# Compose v2, built from their Go modules once per machine (TESTING.md §4).
#
#   scripts/engines.sh          build what is missing, print where it is
#   scripts/engines.sh env      the same, printed as shell assignments:
#                               DOCKERD= RUNC= DOCKER_CLI= COMPOSE= (to eval)
#
# Builds land in $ENGINES_CACHE/<name>-<version>/ (default
# /var/cache/docker-vxlan-plugin/engines), outside any clone so that every
# clone and every later run reuses them; a new version is a new directory. A
# build goes to a temporary directory first and is renamed into place only
# once complete, so an interrupted build is simply redone. Concurrent runs
# wait for each other (flock). Run as root: it installs its apt
# prerequisites itself. The first run on a fresh 2-core machine takes about 7
# minutes and fills about 4 GB of Go module and build caches; later runs
# return at once.
#
# Why each piece:
#   dockerd  github.com/moby/moby/v2 (the Docker 29 line), static.
#   runc     Debian's runc 1.1.5 cannot start this engine's containers (no
#            time namespace) and Debian's crun refuses its OCI spec version.
#   docker   Debian's CLI (20.10, API 1.41) still talks to this engine
#            (API 1.40 to 1.56) but has no flag for what is new since:
#            --ipv4=false, --gw-priority. The CLI (github.com/docker/cli, no
#            go.mod of its own) is built inside Compose's module, which pins
#            it and the engine API client (see build_cli).
#   compose  refuses `go install` (exclude directives); built as its own
#            main module. A CLI plugin, used against both engines.
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin

DOCKERD_VERSION=v2.0.0-beta.24
RUNC_VERSION=v1.5.3
COMPOSE_VERSION=v2.40.3
CLI_VERSION=v28.5.1 # the one Compose requires (checked by build_cli)
ENGINES_CACHE=${ENGINES_CACHE:-/var/cache/docker-vxlan-plugin/engines}

log() { echo "# engines: $*" >&2; }
die() { echo "engines: ERROR: $*" >&2; exit 1; }

# apt_need PKG...: install the Debian packages that are missing.
apt_need() {
	local p need=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	((${#need[@]})) || return 0
	log "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# module_src MODULE@VERSION DEST: a writable copy of a module's source.
module_src() {
	local dir
	dir=$(go mod download -json "$1" | jq -r .Dir) || return
	[[ -d $dir ]] || { echo "go mod download $1 gave no source directory" >&2; return 1; }
	cp -r "$dir" "$2" && chmod -R u+w "$2"
}

# Each build_NAME OUT leaves its binary in OUT (a fresh directory that
# ensure removes again on failure); its scratch space is OUT/.src.

build_dockerd() {
	GOBIN=$1 CGO_ENABLED=0 go install -trimpath \
		-ldflags "-X github.com/moby/moby/v2/dockerversion.Version=${DOCKERD_VERSION#v}" \
		"github.com/moby/moby/v2/cmd/dockerd@$DOCKERD_VERSION"
}

build_runc() {
	GOBIN=$1 CGO_ENABLED=1 go install -trimpath -tags seccomp \
		"github.com/opencontainers/runc@$RUNC_VERSION"
}

# build_cli: docker/cli's own dependency list (vendor.mod) names versions the
# module proxy does not serve, so its cmd/docker is built in Compose's
# module, which requires docker/cli $CLI_VERSION and a matching
# docker/docker. Added to that graph: swarmkit at the version docker/cli
# pins, gojsonschema, and a stand-in for github.com/tonistiigi/go-rosetta (not
# served either; it only detects Apple's Rosetta, false on Linux).
build_cli() {
	local src=$1/.src rosetta=$1/.src/.rosetta
	module_src "github.com/docker/compose/v2@$COMPOSE_VERSION" "$src" || return
	mkdir -p "$rosetta"
	printf 'module github.com/tonistiigi/go-rosetta\n\ngo 1.21\n' >"$rosetta/go.mod"
	printf 'package rosetta\n\n// Enabled: never under Rosetta on Linux.\nfunc Enabled() bool { return false }\n' \
		>"$rosetta/rosetta.go"
	grep -q "github.com/docker/cli $CLI_VERSION+incompatible" "$src/go.mod" || {
		echo "Compose $COMPOSE_VERSION does not require docker/cli $CLI_VERSION: update CLI_VERSION" >&2
		return 1
	}
	(
		cd "$src" &&
			go mod edit -replace "github.com/tonistiigi/go-rosetta=./.rosetta" \
				-require github.com/tonistiigi/go-rosetta@v0.0.0 &&
			go get github.com/moby/swarmkit/v2@v2.0.0 &&
			CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
				-ldflags "-X github.com/docker/cli/cli/version.Version=${CLI_VERSION#v}" \
				-o "$1/docker" github.com/docker/cli/cmd/docker
	)
}

build_compose() {
	local src=$1/.src
	module_src "github.com/docker/compose/v2@$COMPOSE_VERSION" "$src" || return
	(
		cd "$src" &&
			CGO_ENABLED=0 go build -trimpath \
				-ldflags "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
				-o "$1/docker-compose" ./cmd
	)
}

# ensure NAME VERSION BINARY: $ENGINES_CACHE/NAME-VERSION/BINARY, built by
# build_NAME unless it is there already.
ensure() {
	local name=$1 version=$2 bin=$3 dir tmp t0
	dir=$ENGINES_CACHE/$name-$version
	[[ -x $dir/$bin ]] && return 0
	log "building $name $version (once per machine)"
	t0=$(date +%s)
	tmp=$(mktemp -d "$ENGINES_CACHE/.$name-$version.XXXXXX")
	if ! "build_$name" "$tmp" >&2 || [[ ! -x $tmp/$bin ]]; then
		rm -rf "$tmp"
		die "building $name $version failed"
	fi
	rm -rf "$tmp/.src" "$dir"
	chmod 755 "$tmp"
	mv "$tmp" "$dir"
	log "built $name $version in $(($(date +%s) - t0)) s"
}

main() {
	case ${1:-} in
	"" | env) ;;
	*) die "usage: $0 [env]" ;;
	esac
	[[ $(id -u) == 0 ]] || die "run as root (apt prerequisites, $ENGINES_CACHE)"
	command -v go >/dev/null || die "Go is not installed (expected /usr/local/go)"
	mkdir -p "$ENGINES_CACHE"
	exec 9>"$ENGINES_CACHE/.lock"
	flock 9
	apt_need jq libseccomp-dev pkg-config gcc libc6-dev
	ensure dockerd "$DOCKERD_VERSION" dockerd
	ensure runc "$RUNC_VERSION" runc
	ensure cli "$CLI_VERSION" docker
	ensure compose "$COMPOSE_VERSION" docker-compose
	local c=$ENGINES_CACHE
	local dockerd=$c/dockerd-$DOCKERD_VERSION/dockerd runc=$c/runc-$RUNC_VERSION/runc
	local cli=$c/cli-$CLI_VERSION/docker compose=$c/compose-$COMPOSE_VERSION/docker-compose
	if [[ ${1:-} == env ]]; then
		printf 'DOCKERD=%q\nRUNC=%q\nDOCKER_CLI=%q\nCOMPOSE=%q\n' "$dockerd" "$runc" "$cli" "$compose"
	else
		printf '%s\n' "$dockerd" "$runc" "$cli" "$compose"
	fi
}

main "$@"
