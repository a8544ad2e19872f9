#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Packets per second of cluster-filterd's TUN -> ESP path on one core.
#
#            $ns-gw                                   $ns-sink
#   udp flood (cpu 1) -> [cf0] cluster-filterd (cpu 0) 192.0.2.1 ===== 192.0.2.2  nft: count, drop
#
# The rate is ESP packets sent divided by the daemon's own CPU seconds, so
# it reads as "packets per second per fully used core".
set -eu

prefix=${CF_PREFIX:-cfb$$}
bin=${CF_BIN:-$(cd "$(dirname "$0")/.." && pwd)/cluster-filter/build}
run=/run/$prefix
gw=$prefix-gw sink=$prefix-sink
seconds=${SECONDS_RUN:-5}
size=${SIZE:-1400}

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
cleanup() {
	set +e
	if [ -n "${flood:-}" ]; then kill "$flood"; fi
	if [ -n "${daemon:-}" ]; then kill "$daemon"; wait "$daemon"; fi
	ip netns del "$gw" 2>/dev/null || true
	ip netns del "$sink" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

mkdir -p -m 0700 "$run"
ip netns add "$gw"
ip netns add "$sink"
ip link add wan netns "$gw" type veth peer name wan netns "$sink"
n "$gw" ip addr add 192.0.2.1/24 dev wan
n "$sink" ip addr add 192.0.2.2/24 dev wan
for ns in $gw $sink; do n "$ns" ip link set wan up; n "$ns" ip link set lo up; done
n "$sink" nft -f - <<NFT
table netdev sink {
	chain in {
		type filter hook ingress device wan priority 0
		meta protocol ip counter drop
	}
}
NFT

ip netns exec "$gw" taskset -c 0 "$bin/cluster-filterd" --tun cf0 --control "$run/ctl" --mtu 1500 >"$run/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$run/ctl" ] && break; sleep 0.05; done
n "$gw" ip route add 10.0.2.0/24 dev cf0
cf() { "$bin/cfctl" -s "$run/ctl" "$@"; }
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
for alg in ${ALGS:-aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256}; do
	case $alg in
	aes128gcm16) keys="enckey $(random_hex 20)" ;;
	aes256gcm16|chacha20poly1305) keys="enckey $(random_hex 36)" ;;
	aes128-sha256) keys="enckey $(random_hex 16) authkey $(random_hex 32)" ;;
	*) echo "bench-filter: no keys for $alg" >&2; exit 2 ;;
	esac
	cf flush >/dev/null
	# shellcheck disable=SC2086
	cf sa add spi 0x100 dir out src 192.0.2.1 dst 192.0.2.2 encap 4500:4500 alg "$alg" $keys >/dev/null
	cf policy add dir out src 0.0.0.0/0 dst 10.0.2.0/24 reqid 0 >/dev/null

	ip netns exec "$gw" taskset -c 1 "$bin/udpflood" 10.0.2.2 9 "$size" &
	flood=$!
	sleep 1	# let the flood reach its pace
	cpu0=$(awk '{print $14 + $15}' /proc/$daemon/stat)
	tx0=$(cf stats | tr ' ' '\n' | sed -n 's/^tx-esp=//p')
	sleep "$seconds"
	cpu1=$(awk '{print $14 + $15}' /proc/$daemon/stat)
	tx1=$(cf stats | tr ' ' '\n' | sed -n 's/^tx-esp=//p')
	kill $flood; wait $flood 2>/dev/null || true; flood=
	hz=$(getconf CLK_TCK)
	awk -v p=$((tx1 - tx0)) -v c=$((cpu1 - cpu0)) -v hz="$hz" -v s="$seconds" -v a="$alg" -v z="$size" 'BEGIN {
		cs = c / hz;
		rate = (p / s); per_core = (cs > 0) ? (p / cs) : 0; us = (p > 0) ? (cs * 1e6 / p) : 0;
		printf "%-16s %5d B: %8.0f pkt/s sent, daemon %4.2f CPU-s -> %7.0f pkt/s per core (%.2f us/pkt); reference ~300000 (3.2-3.4 us, testbed-facts)\n",
			a, z, rate, cs, per_core, us }'
done
echo "sink saw: $(n "$sink" nft list table netdev sink | grep -o 'packets [0-9]*')"
