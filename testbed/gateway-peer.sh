#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One gateway of ours (patched pluto, protostack=cluster, cluster-filterd)
# against an unmodified strongSwan (charon with kernel-libipsec).
#
#   $ns-ha                 $ns-gw                                  $ns-ss                       $ns-hb
#  10.0.1.2 --- 10.0.1.1 [pluto + cluster-filterd] 192.0.2.1 ==== 192.0.2.2 [charon, libipsec] 10.0.2.1 --- 10.0.2.2
#    host A        our gateway (cf0: the data plane's TUN)   "internet"      strongSwan peer             host B
#
# strongSwan's libipsec speaks only ESP-in-UDP (it fakes NAT detection), so
# this exercises RFC 3948 on port 4500 beside pluto's IKE socket.
#
# IPV6=1 adds IPv6 everywhere (without it IPv6 is off in every namespace):
#
#  fd00:1::2 --- fd00:1::1 [gw] fd00::1, fd00::11 ==== fd00::2, fd00::12 [ss] fd00:2::1 --- fd00:2::2
#
# and one connection per combination, since Libreswan keeps one family in a
# connection's subnets: tunnel-6in4 (IPv6 inside, IKE and ESP over IPv4),
# tunnel-4in6, tunnel-6in6, tunnel-6in6-encap (between fd00::11 and fd00::12,
# where strongSwan forces ESP-in-UDP with encap = yes) and tunnel-6in6-bytes
# (byte lifetime); strongSwan has them as children of gw (6in4: tunnel6),
# gw6 (tunnel4, tunnel6) and gw6e (tunnel6).  Every address is nodad.
#
# usage: gateway-peer.sh up|down|status|initiate|demo|restart-daemon
# env:   CF_PREFIX (namespace prefix), ESP (our esp= proposal, default aes_gcm128;
#        Libreswan names: aes_gcm128, aes_gcm256, chacha20_poly1305, aes128-sha2_256),
#        GATEWAY=strongswan (a libipsec charon as the gateway instead: the baseline),
#        IKE_LIFETIME, SA_LIFETIME (rekey tests), PSK, IPV6=1 (the IPv6 addresses
#        and connections above; with GATEWAY=strongswan the addresses only)

set -eu

prefix=${CF_PREFIX:-cgp}
top=$(cd "$(dirname "$0")/.." && pwd)
cf=$top/cluster-filter/build
lsw=$top/build/root/usr
run=${CF_RUN:-/run/$prefix}
# charon gets a private /run (its pid file is fixed), so its files live elsewhere
ssdir=${TMPDIR:-/tmp}/$prefix-strongswan
gwdir=${TMPDIR:-/tmp}/$prefix-gateway
gateway=${GATEWAY:-ours}		# or strongswan: the baseline in our gateway's place
ha=$prefix-ha gw=$prefix-gw ss=$prefix-ss hb=$prefix-hb
esp=${ESP:-aes_gcm128}
psk=${PSK:-cluster-testbed-preshared-key}
ipv6=${IPV6:-}

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
whack() { n "$gw" "$lsw/libexec/ipsec/whack" --rundir "$run/pluto" "$@"; }
swanctl() { STRONGSWAN_CONF=$ssdir/strongswan.conf ip netns exec "$ss" swanctl "$@" 2>/dev/null; }
wait_for() { # wait_for WHAT CMD...: poll a condition, never a blind sleep
	local what=$1; shift
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "timed out waiting for $what" >&2
	return 1
}

. "$(dirname "$0")/strongswan.sh"

start_strongswan() {
	start_charon "$ss" "$ssdir" 192.0.2.2 192.0.2.1 @peer @gw 10.0.2.0/24 10.0.1.0/24
	[ "$ipv6" = 1 ] || return 0
	# an included file's sections extend those start_charon wrote (gw)
	strongswan_ipv6 >"$ssdir/swanctl/ipv6.conf"
	echo "include ipv6.conf" >>"$ssdir/swanctl/swanctl.conf"
	wait_for "strongSwan's IPv6 connections loaded" env STRONGSWAN_CONF="$ssdir/strongswan.conf" \
		ip netns exec "$ss" swanctl --load-all --file "$ssdir/swanctl/swanctl.conf"
}

# strongswan_child NAME LOCAL_TS REMOTE_TS: as start_charon's tunnel
strongswan_child() {
	cat <<-CONF
	$1 {
		mode = tunnel
		local_ts = $2
		remote_ts = $3
		esp_proposals = ${PEER_ESP:-aes128gcm16-x25519, aes256gcm16-x25519, chacha20poly1305-x25519, aes128-sha256-x25519, aes128gcm16, aes256gcm16, chacha20poly1305, aes128-sha256, aes256-sha256}
		rekey_time = ${SA_LIFETIME:-1h}
		start_action = none
	}
	CONF
}

# strongswan_ike NAME ME PEER [OPTION]: an IKE connection as start_charon's
# gw, still open for its children
strongswan_ike() {
	cat <<-CONF
	$1 {
		version = 2
		mobike = no
		local_addrs = $2
		remote_addrs = $3
		proposals = aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048
		rekey_time = ${IKE_LIFETIME:-4h}
		dpd_delay = ${DPD_DELAY:-0s}
		${4:-}
		local { auth = psk
			id = @peer }
		remote { auth = psk
			id = @gw }
	CONF
}

# IPV6=1: the peer's side of the connections at the top; the PSK is gw's
# (the same identities)
strongswan_ipv6() {
	echo "connections {"
	# 6in4: another child of the IPv4 connection
	echo "gw { children {"
	strongswan_child tunnel6 fd00:2::/64 fd00:1::/64
	echo "} }"
	strongswan_ike gw6 fd00::2 fd00::1
	echo "children {"
	strongswan_child tunnel4 10.0.2.0/24 10.0.1.0/24
	strongswan_child tunnel6 fd00:2::/64 fd00:1::/64
	echo "} }"
	# libipsec needs ESP-in-UDP anyway; here the peer asks for it itself
	strongswan_ike gw6e fd00::12 fd00::11 "encap = yes"
	echo "children {"
	strongswan_child tunnel6 fd00:2::/64 fd00:1::/64
	echo "} }"
	echo "}"
}

# GATEWAY=strongswan: a libipsec charon in our gateway's place (the baseline)
start_strongswan_gateway() {
	# libipsec routes with a source address inside its own traffic selector
	start_charon "$gw" "$gwdir" 192.0.2.1 192.0.2.2 @gw @peer 10.0.1.0/24 10.0.2.0/24
}

# pluto_conn NAME LEFT RIGHT LEFTSUBNET RIGHTSUBNET [ESP]
pluto_conn() {
	cat <<-CONF
	conn $1
	    left=$2
	    leftid=@gw
	    leftsubnet=$4
	    leftupdown=$lsw/libexec/ipsec/_updown.cluster
	    right=$3
	    rightid=@peer
	    rightsubnet=$5
	    authby=secret
	    ike=aes_gcm128-sha2_256-dh31
	    esp=${6:-$esp}
	    ikelifetime=${IKE_LIFETIME:-4h}
	    salifetime=${SA_LIFETIME:-1h}
	    auto=add
	CONF
}

# IPV6=1: one connection per inner/outer combination (see the top), with
# our esp= proposal
pluto_ipv6() {
	pluto_conn tunnel-6in4 192.0.2.1 192.0.2.2 fd00:1::/64 fd00:2::/64
	pluto_conn tunnel-4in6 fd00::1 fd00::2 10.0.1.0/24 10.0.2.0/24
	pluto_conn tunnel-6in6 fd00::1 fd00::2 fd00:1::/64 fd00:2::/64
	pluto_conn tunnel-6in6-encap fd00::11 fd00::12 fd00:1::/64 fd00:2::/64
	cat <<-CONF
	conn tunnel-6in6-bytes
	    also=tunnel-6in6
	    ipsec-max-bytes=2000000
	CONF
}

# Daemons start with ip netns exec directly (not through n): it execs them,
# so $! is their own pid and down can stop them by it.
start_cluster_filter() {
	mkdir -p -m 0700 "$run/pluto"
	ip netns exec "$gw" "$cf/cluster-filterd" --tun cf0 --esp-in-udp shared ${CF_DAEMON_ARGS:-} \
		--control "$run/pluto/cluster-filter.ctl" >"$run/cluster-filterd.log" 2>&1 &
	echo $! >"$run/cluster-filterd.pid"
	wait_for "cluster-filterd" test -S "$run/pluto/cluster-filter.ctl"
}

# cluster-filterd crashes and systemd starts it again (Restart=on-failure):
# it comes back with empty tables, on a gateway of its own; pluto stays
restart_daemon() {
	local pid
	pid=$(cat "$run/cluster-filterd.pid")
	kill -KILL "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	mv "$run/cluster-filterd.log" "$run/cluster-filterd.log.1"
	rm -f "$run/pluto/cluster-filter.ctl"
	start_cluster_filter
}

start_pluto() {
	mkdir -p "$run/nss"
	certutil -N -d "sql:$run/nss" --empty-password
	# one connection per ESP proposal under test; one is up at a time
	{
		printf 'config setup\n    protostack=cluster\n'
		for p in $esp aes_gcm256 chacha20_poly1305 aes128-sha2_256; do
			name=tunnel
			[ "$p" = "$esp" ] || name=tunnel-$p
			pluto_conn "$name" 192.0.2.1 192.0.2.2 10.0.1.0/24 10.0.2.0/24 "$p"
		done
		# byte lifetimes: the data plane counts, pluto rekeys on its soft expiry
		cat <<-CONF
		conn tunnel-bytes
		    also=tunnel
		    ipsec-max-bytes=2000000
		CONF
		if [ "$ipv6" = 1 ]; then pluto_ipv6; fi
	} >"$run/ipsec.conf"
	echo "@gw @peer : PSK \"$psk\"" >"$run/ipsec.secrets"
	chmod 600 "$run/ipsec.secrets"
	ip netns exec "$gw" "$lsw/libexec/ipsec/pluto" --nofork --stderrlog --config "$run/ipsec.conf" \
		--secretsfile "$run/ipsec.secrets" --nssdir "$run/nss" --rundir "$run/pluto" \
		>"$run/pluto.log" 2>&1 &
	echo $! >"$run/pluto.pid"
	wait_for "pluto" whack --status
	# pluto loads the connections (addconn --autoall) and then listens
	wait_for "the connections loaded" sh -c "ip netns exec $gw $lsw/libexec/ipsec/whack --rundir $run/pluto --status | grep -q '\"tunnel\":.*192.0.2.2'"
	whack --listen >/dev/null
}

up() {
	mkdir -p -m 0700 "$run"
	for ns in $ha $gw $ss $hb; do
		ip netns add "$ns"
		if [ "$ipv6" = 1 ]; then
			# devices made later (the veths, cf0, libipsec's TUN) take default
			n "$ns" sysctl -q net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		else
			n "$ns" sysctl -q net.ipv6.conf.all.disable_ipv6=1
		fi
		n "$ns" ip link set lo up
	done
	ip link add lan netns "$ha" type veth peer name lan netns "$gw"
	ip link add wan netns "$gw" type veth peer name wan netns "$ss"
	ip link add lan netns "$ss" type veth peer name lan netns "$hb"
	# a segmented UDP send is cut as it leaves, as by a NIC without USO
	n "$gw" ethtool -K wan tx-udp-segmentation off >/dev/null
	n "$ha" ip addr add 10.0.1.2/24 dev lan
	n "$gw" ip addr add 10.0.1.1/24 dev lan
	n "$gw" ip addr add 192.0.2.1/24 dev wan
	n "$ss" ip addr add 192.0.2.2/24 dev wan
	n "$ss" ip addr add 10.0.2.1/24 dev lan
	n "$hb" ip addr add 10.0.2.2/24 dev lan
	for ns in $ha $gw $ss $hb; do
		for dev in lan wan; do n "$ns" ip link set "$dev" up 2>/dev/null || true; done
	done
	n "$ha" ip route add default via 10.0.1.1
	n "$hb" ip route add default via 10.0.2.1
	n "$gw" sysctl -q net.ipv4.ip_forward=1
	n "$ss" sysctl -q net.ipv4.ip_forward=1
	if [ "$ipv6" = 1 ]; then up_ipv6; fi
	start_strongswan
	if [ "$gateway" = strongswan ]; then
		start_strongswan_gateway
	else
		start_cluster_filter
		start_pluto
	fi
}

# IPV6=1: the addresses, routes and forwarding of the top, before any
# daemon starts (pluto listens on the addresses it finds then)
up_ipv6() {
	n "$ha" ip -6 addr add fd00:1::2/64 dev lan nodad
	n "$gw" ip -6 addr add fd00:1::1/64 dev lan nodad
	n "$gw" ip -6 addr add fd00::1/64 dev wan nodad
	n "$gw" ip -6 addr add fd00::11/64 dev wan nodad
	n "$ss" ip -6 addr add fd00::2/64 dev wan nodad
	n "$ss" ip -6 addr add fd00::12/64 dev wan nodad
	n "$ss" ip -6 addr add fd00:2::1/64 dev lan nodad
	n "$hb" ip -6 addr add fd00:2::2/64 dev lan nodad
	n "$ha" ip -6 route add default via fd00:1::1 dev lan
	n "$hb" ip -6 route add default via fd00:2::1 dev lan
	n "$gw" sysctl -q net.ipv6.conf.all.forwarding=1
	n "$ss" sysctl -q net.ipv6.conf.all.forwarding=1
}

down() {
	set +e
	stop_pid pluto
	stop_pid cluster-filterd
	stop_pid "$(basename "$ssdir")"
	stop_pid "$(basename "$gwdir")"
	for ns in $ha $gw $ss $hb; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$run" "$ssdir" "$gwdir"
}

initiate() {
	if [ "$gateway" = strongswan ]; then
		STRONGSWAN_CONF=$gwdir/strongswan.conf ip netns exec "$gw" \
			swanctl --initiate --ike gw --child tunnel >"$gwdir/initiate.log" 2>&1
	else
		whack --name tunnel --initiate
	fi
}

status() {
	whack --trafficstatus
	"$cf/cfctl" -s "$run/pluto/cluster-filter.ctl" stats
	"$cf/cfctl" -s "$run/pluto/cluster-filter.ctl" sa list
	swanctl --list-sas
}

demo() {
	trap down EXIT
	up
	echo "== IKEv2 from our side to strongSwan"
	initiate
	echo "== ping 10.0.1.2 -> 10.0.2.2"
	n "$ha" ping -c 5 -i 0.2 -W 2 10.0.2.2
	demo_tcp 20
	if [ "$ipv6" = 1 ]; then
		echo "== IPv6 inside IPv6: ping fd00:1::2 -> fd00:2::2"
		whack --name tunnel --down >/dev/null
		whack --name tunnel-6in6 --initiate
		n "$ha" ping -c 5 -i 0.2 -W 2 fd00:2::2
	fi
	status
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
initiate) initiate ;;
demo) demo ;;
restart-daemon) restart_daemon ;;
*) echo "usage: $0 up|down|status|initiate|demo|restart-daemon" >&2; exit 2 ;;
esac
