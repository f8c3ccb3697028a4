#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# End to end, Docker Compose v2 (a CLI plugin, scripts/engines.sh) with the
# README's example file, contrib/compose/compose.yaml: a network on the
# plugin declared with driver_opts and ipam.config (subnet, gateway,
# ip_range), two services that find each other by service name through
# Docker's embedded DNS, a static ipv4_address, and `docker compose down`
# leaving no link behind. Runs on every engine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMPOSE_FILE=$ROOT/contrib/compose/compose.yaml
NET=vxlan-demo_seg
WEB=vxlan-demo-web-1
CLIENT=vxlan-demo-client-1

dc() { IMAGE=busybox:local host_docker h1 compose -f "$COMPOSE_FILE" "$@"; }
has() { # has WANT CMD...: CMD's output contains WANT
	local want=$1 out; shift
	out=$("$@" 2>&1) || { echo "$out"; return 1; }
	[[ $out == *"$want"* ]] || { echo "no '$want' in: $out"; return 1; }
}
owned_links() { host_netexec h1 ip -d link show | grep -c 'alias docker-vxlan-plugin/' || true; }
net_field() { host_docker h1 network inspect -f "$1" "$NET"; }
# in_range ADDR: ADDR is in the ip_range 198.51.100.128/25.
in_range() {
	if [[ $1 =~ ^198\.51\.100\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 128)); then return 0; fi
	echo "$1 is not in 198.51.100.128/25"; return 1
}
no_network() { ! host_docker h1 network inspect "$NET" >/dev/null 2>&1; }
no_containers() { [[ -z $(host_docker h1 ps -aq) ]]; }

host_start h1
plugin_start h1
compose_install
check "docker compose is v2" has "v2." dc version

check "compose up" dc up -d
check "the network is the plugin's" has vxlan net_field '{{.Driver}}'
check "driver_opts reached the network" has "map[VxlanId:4242]" net_field '{{.Options}}'
check "ipam.config: subnet, gateway and ip_range" has "198.51.100.0/24 198.51.100.1 198.51.100.128/25" \
	net_field '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}}'
check "web has its static address" has 198.51.100.10 container_ip h1 "$WEB" "$NET"
client_ip=$(container_ip h1 "$CLIENT" "$NET")
check "client's address ($client_ip) is from ip_range" in_range "$client_ip"
check "client finds web by service name" has "198.51.100.10" dc exec -T client ping -c 1 -W 2 web
check "web finds client by service name" has "$client_ip" dc exec -T web ping -c 1 -W 2 client
web_host=$(host_docker h1 inspect -f '{{.Config.Hostname}}' "$WEB")
check "client fetches http://web/hostname: web's own ($web_host)" has "$web_host" \
	dc exec -T client wget -qO- http://web/hostname
check "the plugin made links for the network and its endpoints" test "$(owned_links)" -gt 0

check "compose down" dc down
check "compose down removed the containers" no_containers
check "compose down removed the network" no_network
check "no link of the plugin is left" test "$(owned_links)" = 0
check "compose up again (the VNI is free again)" dc up -d
check "web has its static address again" has 198.51.100.10 container_ip h1 "$WEB" "$NET"
check "compose down again" dc down
check "still no link of the plugin left" test "$(owned_links)" = 0

summary
