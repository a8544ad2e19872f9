#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two cluster-filter gateways joined by hand-made, mirrored SAs: the data
# plane alone, before any IKE daemon is involved.
#
#   $ns-ha               $ns-ga                         $ns-gb               $ns-hb
#  10.0.1.2/24 --- 10.0.1.1  [cf0]  192.0.2.1 ===== 192.0.2.2  [cf0]  10.0.2.1 --- 10.0.2.2/24
#     host A          gateway A (cluster-filterd)   gateway B (cluster-filterd)        host B
#                      route 10.0.2.0/24 -> cf0      route 10.0.1.0/24 -> cf0
#
# The "internet" is one veth pair between the gateways; no namespace has a
# route out of this picture.
#
# With IPV6=1 every link also carries IPv6 (addresses added nodad, as
# nothing here needs duplicate detection): hosts fd00:1::2 and fd00:2::2
# behind gateways fd00:1::1 and fd00:2::1, and the same SA pair carries
# both families inside.  OUTER=6 moves the SAs' outer addresses to
# 2001:db8::1 and 2001:db8::2 on the wan link.
#
# usage: filter-pair.sh up|down|status|demo     (env: CF_PREFIX, CF_BIN, CF_RUN, IPV6, OUTER)

set -eu

prefix=${CF_PREFIX:-cfp}
bin=${CF_BIN:-$(cd "$(dirname "$0")/.." && pwd)/cluster-filter/build}
run=${CF_RUN:-/run/$prefix}
ha=$prefix-ha ga=$prefix-ga gb=$prefix-gb hb=$prefix-hb

pp() { printf '+ %s\n' "$*" >&2; "$@"; }
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
cfctl() { local gw=$1; shift; "$bin/cfctl" -s "$run/$gw.sock" "$@"; }

# Fresh keys for each install, unless given (tests that decrypt with
# tshark or scapy hand theirs in): an AEAD key installed again would
# repeat its nonces, and cfctl takes one only with "fresh-key".
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
KEY_AB=${KEY_AB:-$(random_hex 20)}
KEY_BA=${KEY_BA:-$(random_hex 20)}
AUTH_AB=${AUTH_AB:-}
AUTH_BA=${AUTH_BA:-}
ALG=${ALG:-aes128gcm16}
ENCAP=${ENCAP-encap 4500:4500}
IPV6=${IPV6:-0}
OUTER=${OUTER:-4}
if [ "$OUTER" = 6 ]; then
	gw_a=2001:db8::1 gw_b=2001:db8::2
else
	gw_a=192.0.2.1 gw_b=192.0.2.2
fi

# Daemons start with ip netns exec directly (not through n): it execs them,
# so $! is their own pid and down can stop them by it.
start_daemon() {
	local gw=$1 ns=$2
	# shellcheck disable=SC2086
	ip netns exec "$ns" "$bin/cluster-filterd" --tun cf0 --control "$run/$gw.sock" ${CF_DAEMON_ARGS:-} \
		>"$run/$gw.log" 2>&1 &
	echo $! >"$run/$gw.pid"
	for _ in $(seq 100); do
		[ -S "$run/$gw.sock" ] && n "$ns" ip link show cf0 >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "cluster-filterd on $gw did not come up:" >&2
	cat "$run/$gw.log" >&2
	return 1
}

# install_sas: the mirrored pair of SAs and the policies on both gateways.
install_sas() {
	local auth_ab="" auth_ba=""
	[ -n "$AUTH_AB" ] && auth_ab="authkey $AUTH_AB"
	[ -n "$AUTH_BA" ] && auth_ba="authkey $AUTH_BA"
	# shellcheck disable=SC2086
	{
	cfctl ga sa add spi 0xa0000001 dir out src $gw_a dst $gw_b $ENCAP alg "$ALG" enckey "$KEY_AB" $auth_ab reqid 1 fresh-key
	cfctl gb sa add spi 0xa0000001 dir in src $gw_a dst $gw_b $ENCAP alg "$ALG" enckey "$KEY_AB" $auth_ab reqid 1
	cfctl gb sa add spi 0xb0000001 dir out src $gw_b dst $gw_a $ENCAP alg "$ALG" enckey "$KEY_BA" $auth_ba reqid 1 fresh-key
	cfctl ga sa add spi 0xb0000001 dir in src $gw_b dst $gw_a $ENCAP alg "$ALG" enckey "$KEY_BA" $auth_ba reqid 1
	} >/dev/null
	policies 10.0.1.0/24 10.0.2.0/24
	[ "$IPV6" = 1 ] && policies fd00:1::/64 fd00:2::/64
	return 0
}

# policies NET_A NET_B: both directions on both gateways, onto the SAs of reqid 1
policies() {
	cfctl ga policy add dir out src "$1" dst "$2" reqid 1 >/dev/null
	cfctl ga policy add dir in src "$2" dst "$1" reqid 1 >/dev/null
	cfctl gb policy add dir out src "$2" dst "$1" reqid 1 >/dev/null
	cfctl gb policy add dir in src "$1" dst "$2" reqid 1 >/dev/null
}

up() {
	mkdir -p -m 0700 "$run"
	for ns in $ha $ga $gb $hb; do
		pp ip netns add "$ns"
		if [ "$IPV6" = 1 ]; then
			# no router solicitations or autoconfiguration from hosts or gateways
			n "$ns" sysctl -q net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
		else
			n "$ns" sysctl -q net.ipv6.conf.all.disable_ipv6=1
		fi
		n "$ns" ip link set lo up
	done
	ip link add lan netns "$ha" type veth peer name lan netns "$ga"
	ip link add wan netns "$ga" type veth peer name wan netns "$gb"
	ip link add lan netns "$gb" type veth peer name lan netns "$hb"
	n "$ha" ip addr add 10.0.1.2/24 dev lan
	n "$ga" ip addr add 10.0.1.1/24 dev lan
	n "$ga" ip addr add 192.0.2.1/24 dev wan
	n "$gb" ip addr add 192.0.2.2/24 dev wan
	n "$gb" ip addr add 10.0.2.1/24 dev lan
	n "$hb" ip addr add 10.0.2.2/24 dev lan
	for ns in $ha $ga $gb $hb; do
		n "$ns" ip link set lan up 2>/dev/null || true
		n "$ns" ip link set wan up 2>/dev/null || true
	done
	n "$ha" ip route add default via 10.0.1.1
	n "$hb" ip route add default via 10.0.2.1
	for ns in $ga $gb; do
		n "$ns" sysctl -q net.ipv4.ip_forward=1
	done
	if [ "$IPV6" = 1 ]; then
		n "$ha" ip addr add fd00:1::2/64 dev lan nodad
		n "$ga" ip addr add fd00:1::1/64 dev lan nodad
		n "$ga" ip addr add 2001:db8::1/64 dev wan nodad
		n "$gb" ip addr add 2001:db8::2/64 dev wan nodad
		n "$gb" ip addr add fd00:2::1/64 dev lan nodad
		n "$hb" ip addr add fd00:2::2/64 dev lan nodad
		n "$ha" ip -6 route add default via fd00:1::1
		n "$hb" ip -6 route add default via fd00:2::1
		for ns in $ga $gb; do
			n "$ns" sysctl -q net.ipv6.conf.all.forwarding=1
		done
	fi
	start_daemon ga "$ga"
	start_daemon gb "$gb"
	n "$ga" ip route add 10.0.2.0/24 dev cf0
	n "$gb" ip route add 10.0.1.0/24 dev cf0
	if [ "$IPV6" = 1 ]; then
		n "$ga" ip -6 route add fd00:2::/64 dev cf0
		n "$gb" ip -6 route add fd00:1::/64 dev cf0
	fi
	install_sas
}

down() {
	for gw in ga gb; do
		if [ -f "$run/$gw.pid" ]; then
			pid=$(cat "$run/$gw.pid")
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
			rm -f "$run/$gw.pid"
		fi
	done
	for ns in $ha $ga $gb $hb; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$run"
}

status() {
	for gw in ga gb; do
		echo "== gateway $gw"
		cfctl $gw stats
		cfctl $gw sa list
		cfctl $gw policy list
	done
}

demo() {
	trap down EXIT
	up
	echo "== ping 10.0.1.2 -> 10.0.2.2 through the tunnel"
	n "$ha" ping -c 5 -i 0.2 -W 2 10.0.2.2
	echo "== 20 MB TCP host A -> host B"
	ip netns exec "$hb" /usr/bin/python3 "$(dirname "$0")/tcp_xfer.py" recv 5001 >"$run/recv.out" &
	local rpid=$!
	until n "$hb" ss -ltn | grep -q ':5001 '; do sleep 0.05; done
	n "$ha" /usr/bin/python3 "$(dirname "$0")/tcp_xfer.py" send 10.0.2.2 5001 20000000
	wait $rpid
	echo "received: $(cat "$run/recv.out")"
	status
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
demo) demo ;;
install-sas) install_sas ;;
*) echo "usage: $0 up|down|status|demo" >&2; exit 2 ;;
esac
