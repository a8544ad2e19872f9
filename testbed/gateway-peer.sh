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
# usage: gateway-peer.sh up|down|status|initiate|demo
# env:   CF_PREFIX (namespace prefix), ESP (our esp= proposal, default aes_gcm128;
#        Libreswan names: aes_gcm128, aes_gcm256, chacha20_poly1305, aes128-sha2_256),
#        GATEWAY=strongswan (a libipsec charon as the gateway instead: the baseline),
#        IKE_LIFETIME, SA_LIFETIME (rekey tests), PSK

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
}

# GATEWAY=strongswan: a libipsec charon in our gateway's place (the baseline)
start_strongswan_gateway() {
	# libipsec routes with a source address inside its own traffic selector
	start_charon "$gw" "$gwdir" 192.0.2.1 192.0.2.2 @gw @peer 10.0.1.0/24 10.0.2.0/24
}

# Daemons start with ip netns exec directly (not through n): it execs them,
# so $! is their own pid and down can stop them by it.
start_cluster_filter() {
	mkdir -p -m 0700 "$run/pluto"
	ip netns exec "$gw" "$cf/cluster-filterd" --tun cf0 --esp-in-udp shared \
		--control "$run/pluto/cluster-filter.ctl" >"$run/cluster-filterd.log" 2>&1 &
	echo $! >"$run/cluster-filterd.pid"
	wait_for "cluster-filterd" test -S "$run/pluto/cluster-filter.ctl"
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
			cat <<-CONF
			conn $name
			    left=192.0.2.1
			    leftid=@gw
			    leftsubnet=10.0.1.0/24
			    leftupdown=$lsw/libexec/ipsec/_updown.cluster
			    right=192.0.2.2
			    rightid=@peer
			    rightsubnet=10.0.2.0/24
			    authby=secret
			    ike=aes_gcm128-sha2_256-dh31
			    esp=$p
			    ikelifetime=${IKE_LIFETIME:-4h}
			    salifetime=${SA_LIFETIME:-1h}
			    auto=add
			CONF
		done
		# byte lifetimes: the data plane counts, pluto rekeys on its soft expiry
		cat <<-CONF
		conn tunnel-bytes
		    also=tunnel
		    ipsec-max-bytes=2000000
		CONF
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
		n "$ns" sysctl -q net.ipv6.conf.all.disable_ipv6=1
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
	start_strongswan
	if [ "$gateway" = strongswan ]; then
		start_strongswan_gateway
	else
		start_cluster_filter
		start_pluto
	fi
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
	status
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
initiate) initiate ;;
demo) demo ;;
*) echo "usage: $0 up|down|status|initiate|demo" >&2; exit 2 ;;
esac
