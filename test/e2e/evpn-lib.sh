# shellcheck shell=bash
# BGP EVPN helpers for the end-to-end tests (TESTING.md §3): Debian's FRR
# (zebra + bgpd) on the harness's hosts and routers. Source after lib.sh.
#
#   frr_start NODE ROUTER_ID [rr]        FRR on NODE (a host or a router):
#                                        iBGP l2vpn evpn with advertise-all-vni,
#                                        to the route reflector ($EVPN_RR), or,
#                                        with rr, the route reflector itself
#                                        (any peer in $EVPN_FABRIC)
#   frr_stop NODE                        SIGTERM both daemons and wait
#   frr_vtysh NODE CMD                   vtysh -c CMD against NODE's daemons
#   evpn_macs NODE                       the MACs of NODE's type-2 routes
#   evpn_route_from NODE MAC RD_IP       NODE holds a type-2 route for MAC
#                                        originated by RD_IP, and none from
#                                        another VTEP
#   evpn_no_route NODE MAC               NODE holds no type-2 route for MAC
#   fdb_remote NODE LINK MAC VTEP        LINK's FDB sends MAC to VTEP, from EVPN
#                                        (extern_learn), and only there
#   fdb_none NODE LINK MAC               LINK's FDB holds nothing for MAC
#   evpn_dump VNI MAC NODE...            what zebra and the kernel say about MAC
#                                        on each NODE (for a failure's output)
#
# Each node's daemons run in the node's own mount, net and pid namespaces
# (host_exec), in pathspace NODE, with their config, pid files and sockets
# in a frr-owned directory on a private tmpfs over /var/run/frr: nothing is
# shared with the machine or another node, and everything dies with the
# node (host_stop, or lib.sh's EXIT trap).
#
# Tunables: EVPN_RR (the route reflector's address), EVPN_FABRIC (the
# prefix its peers come from).

FRR_DIR=/usr/lib/frr
EVPN_RR=${EVPN_RR:-192.0.2.254}
EVPN_FABRIC=${EVPN_FABRIC:-192.0.2.0/24}

_frr_check() {
	if [[ ! -x $FRR_DIR/zebra || ! -x $FRR_DIR/bgpd ]] || ! command -v vtysh >/dev/null; then
		die "FRR is not installed: apt-get install frr (scripts/test.sh does)"
	fi
}

# _frr_conf NAME ROUTER_ID [rr]: the daemons' configuration.
_frr_conf() {
	local name=$1 id=$2 role=${3:-}
	cat <<-EOF
	frr defaults datacenter
	hostname $name
	log file /var/run/frr/$name/frr.log informational
	!
	router bgp 65000
	 bgp router-id $id
	 no bgp default ipv4-unicast
	EOF
	if [[ $role == rr ]]; then
		cat <<-EOF
		 bgp cluster-id $id
		 neighbor fabric peer-group
		 neighbor fabric remote-as 65000
		 bgp listen range $EVPN_FABRIC peer-group fabric
		 address-family l2vpn evpn
		  neighbor fabric activate
		  neighbor fabric route-reflector-client
		  advertise-all-vni
		 exit-address-family
		EOF
	else
		cat <<-EOF
		 neighbor $EVPN_RR remote-as 65000
		 address-family l2vpn evpn
		  neighbor $EVPN_RR activate
		  advertise-all-vni
		 exit-address-family
		EOF
	fi
}

# frr_start NODE ROUTER_ID [rr]: write the configuration (once) and start
# zebra and bgpd; wait until vtysh answers.
frr_start() {
	local node=$1 id=$2 role=${3:-} dir=/var/run/frr/$1 d
	_frr_check
	d=$(_hdir "$node")
	if ! host_exec "$node" mountpoint -q /var/run/frr; then
		host_exec "$node" mkdir -p /var/run/frr
		host_exec "$node" mount -n -t tmpfs -o mode=755 e2e-frr /var/run/frr
		host_exec "$node" install -d -o frr -g frr -m 775 "$dir"
		_frr_conf "$node" "$id" "$role" >"$d/frr.conf"
		host_exec "$node" install -o frr -g frr -m 640 "$d/frr.conf" "$dir/frr.conf"
	fi
	host_exec "$node" "$FRR_DIR/zebra" -d -N "$node" -i "$dir/zebra.pid" -f "$dir/frr.conf" \
		-z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr >>"$d/frr.out" 2>&1 ||
		die "zebra on $node did not start: $(tail -n 5 "$d/frr.out")"
	host_exec "$node" "$FRR_DIR/bgpd" -d -N "$node" -i "$dir/bgpd.pid" -f "$dir/frr.conf" \
		-z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr >>"$d/frr.out" 2>&1 ||
		die "bgpd on $node did not start: $(tail -n 5 "$d/frr.out")"
	wait_for 30 frr_vtysh "$node" "show bgp summary" || die "FRR on $node does not answer"
}

# frr_stop NODE: SIGTERM bgpd and zebra (bgpd first, as FRR's init does),
# each gone before the next.
frr_stop() {
	local node=$1 daemon pid
	for daemon in bgpd zebra; do
		pid=$(host_exec "$node" cat "/var/run/frr/$node/$daemon.pid" 2>/dev/null) || continue
		host_exec "$node" kill -TERM "$pid" 2>/dev/null || continue
		wait_for 20 eval "! host_exec $node kill -0 $pid" || die "$daemon on $node ignored SIGTERM"
	done
}

# frr_vtysh NODE CMD: run one vtysh command against NODE's daemons.
frr_vtysh() { host_exec "$1" vtysh --vty_socket "/var/run/frr/$1" -c "$2"; }

# _type2 NODE: NODE's type-2 routes, one per line as "RD_IP MAC [IP]",
# from `show bgp l2vpn evpn route type macip` (the RD is router-id:N, so
# RD_IP is the originating VTEP).
_type2() {
	frr_vtysh "$1" "show bgp l2vpn evpn route type macip" | awk '
		/^Route Distinguisher:/ { split($3, rd, ":"); origin = rd[1]; next }
		origin != "" && index($0, "[2]:") {
			# [2]:[EthTag]:[MAClen]:[MAC]:[IPlen]:[IP], split on the brackets
			n = split(substr($0, index($0, "[2]:")), f, /[][]/)
			if (f[8] !~ /:/) next
			if (n >= 12) print origin, f[8], f[12]; else print origin, f[8]
		}' | sort -u
}

# evpn_macs NODE: the MACs of NODE's type-2 routes.
evpn_macs() { _type2 "$1" | awk '{print $2}' | sort -u; }

# evpn_route_from NODE MAC RD_IP: NODE holds a type-2 route for MAC
# originated by the VTEP RD_IP (the RD is router-id:N) and none from
# another VTEP.
evpn_route_from() {
	local routes
	routes=$(_type2 "$1" | awk -v m="$2" '$2 == m {print $1}' | sort -u)
	[[ $routes == "$3" ]] || { echo "type-2 routes for $2 on $1 come from: ${routes:-nowhere}, want $3"; return 1; }
}

# evpn_no_route NODE MAC: NODE holds no type-2 route for MAC.
evpn_no_route() {
	local routes
	routes=$(_type2 "$1" | awk -v m="$2" '$2 == m')
	[[ -z $routes ]] || { echo "$1 still holds: $routes"; return 1; }
}

# fdb_remote NODE LINK MAC VTEP: LINK's FDB sends MAC to VTEP, installed
# from EVPN: zebra's entries (the vxlan link's own, dst VTEP, and the
# bridge's, through the link) are all extern_learn, and none sends MAC
# elsewhere.
fdb_remote() {
	local entries
	entries=$(host_netexec "$1" bridge fdb show dev "$2" | grep -i "^$3 " || true)
	if ! grep -q " dst $4 .*extern_learn" <<<"$entries" || grep -v extern_learn <<<"$entries" | grep -q . ||
		grep -o " dst [^ ]*" <<<"$entries" | grep -qv " dst $4$"; then
		echo "$1 $2 FDB entries for $3: ${entries:-none}; want only extern_learn ones, to $4"; return 1
	fi
}

# fdb_none NODE LINK MAC: LINK's FDB holds no entry for MAC.
fdb_none() {
	local entries
	entries=$(host_netexec "$1" bridge fdb show dev "$2" | grep -i "^$3 " || true)
	[[ -z $entries ]] || { echo "$1 $2 still holds: $entries"; return 1; }
}

# evpn_dump VNI MAC NODE...: zebra's view of MAC on VNI (where it is, its
# sequence numbers, whether it is flagged duplicate) and the kernel's FDB
# entries for it, on each NODE, to explain a failure.
evpn_dump() {
	local vni=$1 mac=$2 node; shift 2
	for node in "$@"; do
		echo "-- $node: zebra"
		frr_vtysh "$node" "show evpn mac vni $vni mac $mac" 2>&1 | sed 's/^/   /'
		frr_vtysh "$node" "show evpn mac vni $vni duplicate" 2>&1 | sed 's/^/   /'
		echo "-- $node: FDB"
		host_netexec "$node" bridge fdb show | grep -i "^$mac " | sed 's/^/   /'
	done
}
