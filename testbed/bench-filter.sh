#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Packets per second of cluster-filterd's TUN -> ESP path on one core.
#
#            $ns-gw                                   $ns-sink
#   udp flood (cpu 1) -> [cf0] cluster-filterd (cpu 0) 192.0.2.1 ===== 192.0.2.2  nft: count, drop
#
# The rate is ESP packets sent divided by the daemon's own CPU seconds, so
# it reads as "packets per second per fully used core".  Then the same
# with the daemon on both CPUs, --workers 1 against --workers 2, for the
# algorithms whose crypto is worth spreading: packets per second sent
# (the flood takes its share of the two CPUs too).
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

# start_daemon CPUS [OPTION...]
start_daemon() {
	local cpus=$1; shift
	if [ -n "${daemon:-}" ]; then kill "$daemon"; wait "$daemon" || true; rm -f "$run/ctl"; fi
	ip netns exec "$gw" taskset -c "$cpus" "$bin/cluster-filterd" --tun cf0 --control "$run/ctl" \
		--mtu 1500 "$@" >"$run/log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do [ -S "$run/ctl" ] && break; sleep 0.05; done
	n "$gw" ip route replace 10.0.2.0/24 dev cf0
}
cf() { "$bin/cfctl" -s "$run/ctl" "$@"; }
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
install_sa() { # install_sa ALG
	local keys
	case $1 in
	aes128gcm16) keys="enckey $(random_hex 20)" ;;
	aes256gcm16|chacha20poly1305) keys="enckey $(random_hex 36)" ;;
	aes128-sha256) keys="enckey $(random_hex 16) authkey $(random_hex 32)" ;;
	3des-md5) keys="enckey $(random_hex 24) authkey $(random_hex 16)" ;;
	*) echo "bench-filter: no keys for $1" >&2; exit 2 ;;
	esac
	cf flush >/dev/null
	# shellcheck disable=SC2086
	cf sa add spi 0x100 dir out src 192.0.2.1 dst 192.0.2.2 encap 4500:4500 alg "$1" $keys fresh-key >/dev/null
	cf policy add dir out src 0.0.0.0/0 dst 10.0.2.0/24 reqid 0 >/dev/null
}
tx_esp() { cf stats | tr ' ' '\n' | sed -n 's/^tx-esp=//p'; }
hz=$(getconf CLK_TCK)

start_daemon 0
for alg in ${ALGS:-aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256}; do
	install_sa "$alg"
	ip netns exec "$gw" taskset -c 1 "$bin/udpflood" 10.0.2.2 9 "$size" &
	flood=$!
	sleep 1	# let the flood reach its pace
	cpu0=$(awk '{print $14 + $15}' /proc/$daemon/stat)
	tx0=$(tx_esp)
	sleep "$seconds"
	cpu1=$(awk '{print $14 + $15}' /proc/$daemon/stat)
	tx1=$(tx_esp)
	kill $flood; wait $flood 2>/dev/null || true; flood=
	awk -v p=$((tx1 - tx0)) -v c=$((cpu1 - cpu0)) -v hz="$hz" -v s="$seconds" -v a="$alg" -v z="$size" 'BEGIN {
		cs = c / hz;
		rate = (p / s); per_core = (cs > 0) ? (p / cs) : 0; us = (p > 0) ? (cs * 1e6 / p) : 0;
		printf "%-16s %5d B: %8.0f pkt/s sent, daemon %4.2f CPU-s -> %7.0f pkt/s per core (%.2f us/pkt); reference ~300000 (3.2-3.4 us, testbed-facts)\n",
			a, z, rate, cs, per_core, us }'
done
echo "sink saw: $(n "$sink" nft list table netdev sink | grep -o 'packets [0-9]*')"

# tx_rate SENDER...: ESP packets per second the daemon sends while SENDER runs
tx_rate() {
	local sender tx0 tx1
	ip netns exec "$gw" "$@" >/dev/null &
	sender=$!
	sleep 1	# let it reach its pace
	tx0=$(tx_esp)
	sleep "$seconds"
	tx1=$(tx_esp)
	kill "$sender" 2>/dev/null; wait "$sender" 2>/dev/null || true
	echo $(( (tx1 - tx0) / seconds ))
}

# A flood would take a CPU of its own: the offered load is paced instead,
# at twice and a bit what one worker carries, which the pacer sends with
# a few per cent of a CPU.
echo "== --workers 1 and 2, the daemon on both CPUs, offered 2.2 times what one worker carries"
for alg in ${WORKER_ALGS:-3des-md5 aes128-sha256}; do
	start_daemon 0,1 --workers 1 --allow-legacy
	install_sa "$alg"
	rate=$(( $(tx_rate "$bin/udpflood" 10.0.2.2 9 "$size") * 22 / 10 ))
	line="$alg, $rate pkt/s offered"
	for workers in 1 2; do
		start_daemon 0,1 --workers "$workers" --allow-legacy
		install_sa "$alg"
		got=$(tx_rate "$bin/udppace" 10.0.2.2 9 "$rate" $((seconds + 2)) "$size")
		[ "$workers" = 1 ] && one=$got
		line="$line: $workers worker(s) $got pkt/s"
	done
	echo "$line, $(echo "scale=2; $got / $one" | bc)x"
done
