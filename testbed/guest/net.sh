#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The strongSwan peer of the qemu guest (testbed/guest/guest.py).
#
#   qemu guest (Debian 12)                 $ns-ss                          $ns-hb
#  10.0.1.1 inside0 [libreswan] eth0 192.0.2.1 == tap0 192.0.2.2 [charon, libipsec] 10.0.2.1 --- 10.0.2.2
#     its "inside"       kernel ESP              strongSwan peer (unmodified)         host B
#
# $ns-ss and its tap0 (192.0.2.2/24) are the guest's: guest.py makes them
# before qemu starts.  This script adds host B on a veth and starts an
# unmodified charon (start_charon in testbed/strongswan.sh: kernel-libipsec,
# userspace ESP-in-UDP on 4500, own /run and STRONGSWAN_CONF).  No route
# leaves the namespaces.
#
# usage: net.sh up|down|initiate|status
# env:   CF_PREFIX (namespace prefix, default gst), PSK, PEER_ESP (strongSwan's
#        esp_proposals; default: start_charon's list)

set -eu

prefix=${CF_PREFIX:-gst}
run=${CF_RUN:-/run/$prefix}
# charon gets a private /run (its pid file is fixed), so its files live elsewhere
ssdir=${TMPDIR:-/tmp}/$prefix-strongswan
ss=$prefix-ss hb=$prefix-hb
psk=${PSK:-guest-testbed-preshared-key}

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
swanctl() { STRONGSWAN_CONF=$ssdir/strongswan.conf ip netns exec "$ss" swanctl "$@"; }
wait_for() { # wait_for WHAT CMD...: poll a condition, never a blind sleep
	local what=$1; shift
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "timed out waiting for $what" >&2
	return 1
}

# shellcheck source=SCRIPTDIR/../strongswan.sh
. "$(dirname "$0")/../strongswan.sh"

up() {
	if [ ! -e "/run/netns/$ss" ]; then
		echo "net.sh: namespace $ss missing (the guest makes it: testbed/guest/guest.py)" >&2
		exit 1
	fi
	mkdir -p "$run" && chmod 0700 "$run"
	ip netns add "$hb"
	n "$hb" sysctl -q net.ipv6.conf.all.disable_ipv6=1
	n "$hb" ip link set lo up
	ip link add lan netns "$ss" type veth peer name lan netns "$hb"
	n "$ss" ip addr add 10.0.2.1/24 dev lan
	n "$hb" ip addr add 10.0.2.2/24 dev lan
	n "$ss" ip link set lan up
	n "$hb" ip link set lan up
	n "$hb" ip route add default via 10.0.2.1
	n "$ss" sysctl -q net.ipv4.ip_forward=1
	start_charon "$ss" "$ssdir" 192.0.2.2 192.0.2.1 @peer @gw 10.0.2.0/24 10.0.1.0/24
}

down() {
	set +e
	stop_pid "$(basename "$ssdir")"
	ip netns del "$hb" 2>/dev/null
	# the veth's other end and $ns-ss itself go with the guest (guest.py)
	rm -rf "$run" "$ssdir"
}

case ${1:-} in
up) up ;;
down) down ;;
initiate) swanctl --initiate --ike gw --child tunnel ;;
status) swanctl --list-sas ;;
*) echo "usage: $0 up|down|initiate|status" >&2; exit 2 ;;
esac
