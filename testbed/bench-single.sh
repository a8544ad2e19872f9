#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One gateway against the strongSwan peer, twice: ours (pluto with
# protostack=cluster + cluster-filterd), then a strongSwan libipsec gateway
# in the same place (gateway-peer.sh GATEWAY=strongswan).  The same TCP and
# UDP transfers go host A -> host B through each; printed side
# by side: throughput and the gateway's CPU-seconds per GB delivered, then
# "ratio: X" = ours / libipsec in CPU-seconds per GB (goal: <= 0.2).
#
# CPU is the gateway's processes (cluster-filterd and pluto, or charon)
# and the NAPI threads of its two interfaces, user + system time from
# /proc.  Every veth in the topology polls in a thread of its own (GRO on,
# threaded NAPI), so what a packet costs the namespace it enters is
# charged there: the gateway pays for receiving and forwarding its
# packets, not for the peer's or the hosts' receive, as on real links.
# veth takes the NAPI path only for packets its sender did not leave to
# TSO, so TSO is off on every veth: senders cut their own segments, and
# receivers merge them again (GRO), as a NIC's driver would.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tcp_bytes=${TCP_BYTES:-300000000}
udp_count=${UDP_COUNT:-60000}
udp_rate=${UDP_RATE:-20000}
# 1400-byte IP packets: both gateways' TUN MTU is 1400 (libipsec's
# default), so a larger datagram would go through the tunnel as two fragments
udp_size=${UDP_SIZE:-1372}
hz=$(getconf CLK_TCK)

napi_threads() { ps -eo pid=,comm= | awk '$2 ~ /^napi\// {print $1}' | sort; }
# threaded NAPI on every interface of NS; prints the new threads' pids
napi() {
	local ns=$1 before dev
	before=$(napi_threads)
	for dev in lan wan; do
		ip netns exec "$ns" ip link show "$dev" >/dev/null 2>&1 || continue
		ip netns exec "$ns" ethtool -K "$dev" gro on tso off >/dev/null
		ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
	done
	comm -13 <(echo "$before") <(napi_threads) | tr '\n' ' '
}

cpu_ticks() { # total user+system ticks of the pids
	local t=0
	for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo $t
}

# measure GATEWAY OUT: writes "tcp_mbit tcp_cpu_per_gb udp_mbit udp_cpu_per_gb cpu_s gb udp_got udp_sent"
measure() {
	local gateway=$1 out=$2 prefix run
	prefix=cbs$$${gateway:0:1}
	run=/run/$prefix
	export CF_PREFIX=$prefix GATEWAY=$gateway
	current=$prefix
	"$top/testbed/gateway-peer.sh" up >/dev/null
	"$top/testbed/gateway-peer.sh" initiate >/dev/null
	ip netns exec "$prefix-ha" ping -c 3 -i 0.1 -W 2 10.0.2.2 >/dev/null
	local pids gw_napi daemons
	napi "$prefix-ha" >/dev/null
	napi "$prefix-ss" >/dev/null
	napi "$prefix-hb" >/dev/null
	gw_napi=$(napi "$prefix-gw")
	if [ "$gateway" = strongswan ]; then
		daemons=$(cat "$run/$prefix-gateway.pid")
	else
		daemons="$(cat "$run/cluster-filterd.pid") $(cat "$run/pluto.pid")"
	fi
	pids="$daemons $gw_napi"
	local d0 n0
	d0=$(cpu_ticks $daemons)
	n0=$(cpu_ticks $gw_napi)

	# TCP
	ip netns exec "$prefix-hb" /usr/bin/python3 "$top/testbed/tcp_xfer.py" recv 5001 >"$run/tcp.out" &
	local rx=$!
	until ip netns exec "$prefix-hb" ss -ltn | grep -q ':5001 '; do sleep 0.05; done
	local c0 t0 c1 t1
	c0=$(cpu_ticks $pids)
	t0=$(date +%s.%N)
	ip netns exec "$prefix-ha" /usr/bin/python3 "$top/testbed/tcp_xfer.py" send 10.0.2.2 5001 "$tcp_bytes" >/dev/null
	wait $rx
	t1=$(date +%s.%N)
	c1=$(cpu_ticks $pids)
	local tcp_got
	tcp_got=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$run/tcp.out")

	# UDP datagrams at a fixed rate, each one packet in the tunnel
	ip netns exec "$prefix-hb" /usr/bin/python3 "$top/testbed/udp_stream.py" recv 6001 1.0 >"$run/udp.out" &
	rx=$!
	until grep -q ready "$run/udp.out" 2>/dev/null; do sleep 0.05; done
	local u0 v0 u1 v1
	u0=$(cpu_ticks $pids)
	v0=$(date +%s.%N)
	ip netns exec "$prefix-ha" /usr/bin/python3 "$top/testbed/udp_stream.py" send 10.0.2.2 6001 \
		"$udp_count" "$udp_size" "$udp_rate" >/dev/null
	v1=$(date +%s.%N)
	wait $rx
	u1=$(cpu_ticks $pids)
	local udp_got
	udp_got=$(sed -n 's/.*unique=\([0-9]*\).*/\1/p' "$run/udp.out")
	local d1 n1
	d1=$(cpu_ticks $daemons)
	n1=$(cpu_ticks $gw_napi)

	awk -v tb="$tcp_got" -v tc=$((c1 - c0)) -v tt="$(echo "$t1 - $t0" | bc)" \
	    -v ub="$((udp_got * udp_size))" -v uc=$((u1 - u0)) -v ut="$(echo "$v1 - $v0" | bc)" \
	    -v uc_n="$udp_got" -v us="$udp_count" -v hz="$hz" \
	    -v dc=$((d1 - d0)) -v nc=$((n1 - n0)) 'BEGIN {
		printf "%.1f %.2f %.1f %.2f %.2f %.4f %d %d %.2f %.2f\n",
			tb * 8 / tt / 1e6, (tc / hz) / (tb / 1e9),
			ub * 8 / ut / 1e6, (uc / hz) / (ub / 1e9),
			(tc + uc) / hz, (tb + ub) / 1e9, uc_n, us,
			(dc / hz) / ((tb + ub) / 1e9), (nc / hz) / ((tb + ub) / 1e9) }' >"$out"
	"$top/testbed/gateway-peer.sh" down
	current=
}

current=
cleanup() {
	if [ -n "$current" ]; then CF_PREFIX=$current "$top/testbed/gateway-peer.sh" down; fi
	rm -f "$results".*
}
results=$(mktemp)
trap cleanup EXIT

command -v bc >/dev/null || { echo "bench-single: needs bc" >&2; exit 1; }
echo "measuring our gateway (pluto protostack=cluster + cluster-filterd) ..."
measure ours "$results.ours"
echo "measuring a strongSwan libipsec gateway in its place ..."
measure strongswan "$results.strongswan"
read -r o_tcp o_tcpc o_udp o_udpc o_cpu o_gb o_ugot o_usent o_dcpu o_ncpu <"$results.ours"
read -r s_tcp s_tcpc s_udp s_udpc s_cpu s_gb s_ugot s_usent s_dcpu s_ncpu <"$results.strongswan"

printf '\n%-34s %14s %14s\n' "" "ours" "strongSwan libipsec"
printf '%-34s %14s %14s\n' "TCP throughput, Mbit/s" "$o_tcp" "$s_tcp"
printf '%-34s %14s %14s\n' "TCP gateway CPU-s per GB" "$o_tcpc" "$s_tcpc"
printf '%-34s %14s %14s\n' "UDP $udp_size B delivered, Mbit/s" "$o_udp" "$s_udp"
printf '%-34s %14s %14s\n' "UDP delivered / sent" "$o_ugot/$o_usent" "$s_ugot/$s_usent"
printf '%-34s %14s %14s\n' "UDP gateway CPU-s per GB" "$o_udpc" "$s_udpc"
printf '%-34s %14s %14s\n' "all: CPU-s per GB" \
	"$(echo "scale=2; $o_cpu / $o_gb" | bc)" "$(echo "scale=2; $s_cpu / $s_gb" | bc)"
printf '%-34s %14s %14s\n' "  of which the daemons" "$o_dcpu" "$s_dcpu"
printf '%-34s %14s %14s\n' "  of which the kernel (NAPI)" "$o_ncpu" "$s_ncpu"
echo "ratio: $(echo "scale=3; ($o_cpu / $o_gb) / ($s_cpu / $s_gb)" | bc) (goal <= 0.2)"
