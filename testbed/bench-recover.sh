#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Overload, then recovery, against an unmodified strongSwan (libipsec,
# whose replay window is fixed at 128 packets), counted as unique numbered
# datagrams at host B:
#
#   host A --- N nodes (cluster.sh, PEER=strongswan) --- strongSwan --- host B
#              udp_stream.py send, udpflood                              count
#
# For each N and outbound mode:
#   loss-free   the highest of a few rates (pkt/s, 2 s each) that arrives
#               whole, nothing doubled: where the cluster, or the peer's
#               window, stops sufficing
#   flood       a 5 s sendmmsg flood at host A: unique datagrams per
#               second at B, and as a share of the loss-free rate
#   after       a 2000 pkt/s stream started as the flood ends: datagrams
#               lost and doubled, and when the last loss was (s)
#
# usage: bench-recover.sh        env: NODES_LIST (default "1 3"),
#                                     MODES (default "per-sa packet-rr flow-hash"),
#                                     BUDGET (each node's cluster-filterd held to this
#                                     % of one core, cgroup v1; default: no limit)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=bre$$
run=/run/$prefix
stream="/usr/bin/python3 $top/testbed/udp_stream.py"
rates="2000 4000 8000 16000"

cg=/sys/fs/cgroup/cpu/$prefix

cleanup() {
	CF_PREFIX=$prefix PEER=strongswan "$top/testbed/cluster.sh" down >/dev/null 2>&1 || true
	for d in "$cg"/n*; do [ -d "$d" ] && rmdir "$d"; done
	[ -d "$cg" ] && rmdir "$cg"
	true
}
trap cleanup EXIT

n() { local ns=$1; shift; ip netns exec "$prefix-$ns" "$@"; }
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# count PORT COUNT RATE -- CMD...: what host B counted while CMD ran at host A
count() {
	local port=$1 total=$2 rate=$3 out
	shift 4
	out=$(mktemp)
	n hb $stream count "$port" 1.0 "$total" "$rate" >"$out" &
	local rx=$!
	until grep -q ready "$out"; do sleep 0.05; done
	n ha "$@" >/dev/null
	wait "$rx"
	tail -1 "$out"
	rm -f "$out"
}

measure() { # measure N MODE
	local count=$1 mode=$2 port=7000 lossfree=0 json
	CF_PREFIX=$prefix PEER=strongswan DISPATCH=$mode "$top/testbed/cluster.sh" up "$count" >/dev/null
	CF_PREFIX=$prefix PEER=strongswan "$top/testbed/cluster.sh" initiate >/dev/null
	if [ -n "${BUDGET:-}" ]; then
		# one small machine per node: the daemon gets BUDGET % of a core
		for i in $(seq 0 $((count - 1))); do
			mkdir -p "$cg/n$i"
			# a short period: a node throttled for 80 ms would overflow its queues
			echo 10000 >"$cg/n$i/cpu.cfs_period_us"
			echo $((BUDGET * 100)) >"$cg/n$i/cpu.cfs_quota_us"
			cat "$run/n$i/cluster-filter.ctl.pid" >"$cg/n$i/cgroup.procs"
		done
	fi
	n ha ping -c 2 -i 0.1 -W 2 10.0.2.2 >/dev/null
	for rate in $rates; do
		port=$((port + 1))
		json=$(count $port $((rate * 2)) "$rate" -- $stream send 10.0.2.2 $port $((rate * 2)) 200 "$rate")
		if [ "$(echo "$json" | field '["missing"]')" = 0 ] && [ "$(echo "$json" | field '["duplicates"]')" = 0 ]; then
			lossfree=$rate
		fi
	done

	# the flood and the stream after it, each counted on its own port
	local fl=$(mktemp) af=$(mktemp)
	n hb $stream count 7100 1.0 >"$fl" &
	local rx1=$!
	n hb $stream count 7101 1.5 6000 2000 >"$af" &
	local rx2=$!
	until grep -q ready "$fl" && grep -q ready "$af"; do sleep 0.05; done
	n ha "$top/cluster-filter/build/udpflood" 10.0.2.2 7100 200 5 >/dev/null
	n ha $stream send 10.0.2.2 7101 6000 200 2000 >/dev/null
	wait "$rx1" "$rx2"
	local flood_unique after_lost after_dup last_loss
	read -r flood_unique after_lost after_dup last_loss < <(/usr/bin/python3 - "$fl" "$af" <<-'PY'
	import json, sys
	flood, after = (json.loads(open(f).read().splitlines()[-1]) for f in sys.argv[1:3])
	print(flood["unique"], after["missing"], after["duplicates"],
	      after["lost"][-1][1] if after["lost"] else 0)
	PY
	)
	rm -f "$fl" "$af"
	cleanup

	local per_s=$((flood_unique / 5)) share="-"
	[ "$lossfree" -gt 0 ] && share=$(echo "scale=2; $per_s / $lossfree" | bc)
	printf '%-5s %-10s %9s %12s %10s %8s %8s %10s\n' "$count" "$mode" "$lossfree" "$per_s" "$share" \
		"$after_lost" "$after_dup" "$last_loss"
}

echo "== flood, then recover: strongSwan (libipsec, replay window 128) at the far end, 200-byte UDP,"
echo "   unique numbered datagrams counted at host B; cluster-filterd CPU per node: ${BUDGET:-no limit}${BUDGET:+ % of a core}"
printf '%-5s %-10s %9s %12s %10s %8s %8s %10s\n' nodes mode "loss-free" "flood pkt/s" "of l-free" \
	"after:lost" doubled "last loss"
for count in ${NODES_LIST:-1 3}; do
	for mode in ${MODES:-per-sa packet-rr flow-hash}; do
		[ "$count" = 1 ] && [ "$mode" != per-sa ] && continue	# one node: every mode is the same
		measure "$count" "$mode"
	done
done
echo "loss-free: the highest of $rates pkt/s (2 s each) that arrived whole; a shared mode that stops"
echo "below per-sa at the same N is stopped by the peer's 128-packet window (docs/DESIGN.md)."
echo "reference (issue 8): during the flood at least half the loss-free rate; after it, clean at once."
