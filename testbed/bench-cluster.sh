#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The cluster's throughput against its size: testbed/cluster.sh with
# N = 1, 2, 3, 6 nodes, AES-128-GCM, 1400-byte UDP datagrams flooded from
# host A as fast as one sender goes.  The far end is a cluster-filterd
# gateway (the ESP sink): what it decrypts in the measuring window is what
# the cluster delivered.  Printed as a table: delivered Mbit/s and kpps,
# each node's CPU-seconds in the window (its cluster-filterd and the NAPI
# threads of its interfaces, where the kernel's share of its work runs),
# the speed-up over N = 1.
#
# Twice: first with no limit (all nodes share this machine's cores, as
# does the sender: the speed-up cannot be the paper's), then with each
# node (daemon and NAPI threads) held to BUDGET % of one core (cgroup v1
# cpu quota), which stands for one small machine per node.
#
# With ALG=3des-md5 the same with the paper's algorithm (50 us per packet
# instead of 0.4 us: the crypto, which only the owner does, dominates).
#
# With DISPATCH=per-sa SAS=60 the default mode over 60 tunnels (one
# writer each, spread over the nodes; the flood rotates over them), where
# the kernel fast path drops the cleartext of tunnels another node writes.
# FAST_PATH=0 turns the fast path off, for comparison.
#
#   env: SECONDS_RUN (default 5), BUDGET (default 15), NODES_LIST, ALG,
#        DISPATCH (default packet-rr), SAS (default 1), FAST_PATH
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cf=$top/cluster-filter/build
seconds=${SECONDS_RUN:-5}
alg=${ALG:-aes128gcm16}
case $alg in
aes128gcm16) ;;
3des-md5)
	export SA_ALG=3des-md5 KEY_OUT=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') \
		KEY_IN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') \
		AUTH_OUT=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') \
		AUTH_IN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') ;;
*) echo "bench-cluster: ALG is aes128gcm16 or 3des-md5" >&2; exit 2 ;;
esac
budget=${BUDGET:-15}
dispatch=${DISPATCH:-packet-rr}
export SAS=${SAS:-1}
ports=9
[ "$SAS" -gt 1 ] && ports=9000-$((9000 + SAS - 1))
nodes_list=${NODES_LIST:-1 2 3 6}
hz=$(getconf CLK_TCK)
prefix=cbc$$
run=/run/$prefix
cg=/sys/fs/cgroup/cpu/$prefix

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
stat_of() { "$cf/cfctl" -s "$1" stats | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ticks() { local t sum=0; for t in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$t/stat"))); done; echo "$sum"; }

# Tasks back to the root group, so that the groups can go.
release() {
	local g t
	for g in "$@"; do
		[ -f "$g/tasks" ] || continue
		for t in $(cat "$g/tasks"); do echo "$t" >/sys/fs/cgroup/cpu/tasks 2>/dev/null; done
	done
	return 0
}

# Remove a group once its last task has left (NAPI threads go a moment
# after their namespace).
drop_group() {
	local _
	[ -d "$1" ] || return 0
	for _ in $(seq 50); do rmdir "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench-cluster: $1 stays busy" >&2
}

cleanup() {
	set +e
	release "$cg"/n[0-9]*
	[ -n "${flood:-}" ] && kill "$flood" 2>/dev/null
	CF_PREFIX=$prefix "$top/testbed/cluster.sh" down >/dev/null 2>&1
	for d in "$cg"/n[0-9]*; do drop_group "$d"; done
	drop_group "$cg"
	true
}
trap cleanup EXIT

# The kernel's work for a node's packets (the fast path's tc program, the
# IP stack up to the TUN) runs in the softirq of whoever sent them, unless
# the node's interfaces poll in threads of their own: GRO turns veth NAPI
# on, "threaded" gives it a kthread.  Those threads join the node's cgroup
# and their CPU counts as the node's.  node_napi I prints node I's.
napi_threads() { ps -eo pid=,comm= | awk '$2 ~ /^napi\// {print $1}' | sort; }
node_napi() {
	local before
	before=$(napi_threads)
	for dev in in out; do
		n "$prefix-n$1" ethtool -K "$dev" gro on >/dev/null
		n "$prefix-n$1" sh -c "echo 1 > /sys/class/net/$dev/threaded"
	done
	comm -13 <(echo "$before") <(napi_threads) | tr '\n' ' '
}

# measure N LIMIT: "N mbit kpps cpu-per-node..." for one cluster size
measure() {
	local count=$1 limit=$2
	CF_PREFIX=$prefix DISPATCH=$dispatch "$top/testbed/cluster.sh" up "$count" >/dev/null
	# a window large enough that interleaved nodes are never "too old" at the sink
	local pids=() tasks=()
	for i in $(seq 0 $((count - 1))); do
		pids+=("$(cat "$run/n$i.sock.pid")")
		tasks+=("${pids[$i]} $(node_napi "$i")")
		if [ "$limit" != none ]; then
			mkdir -p "$cg/n$i"
			echo 100000 >"$cg/n$i/cpu.cfs_period_us"
			echo $((limit * 1000)) >"$cg/n$i/cpu.cfs_quota_us"
			for t in ${tasks[$i]}; do echo "$t" >"$cg/n$i/tasks"; done
		fi
	done
	n "$prefix-ha" ping -c 2 -i 0.1 -W 2 10.0.2.2 >/dev/null
	ip netns exec "$prefix-ha" "$cf/udpflood" 10.0.2.2 "$ports" 1400 &
	flood=$!
	sleep 1		# let the flood reach its pace
	local rx0 t0 c0=() rx1 t1 cpu=()
	rx0=$(stat_of "$run/peer.sock" tx-clear)
	for i in "${!tasks[@]}"; do c0+=("$(ticks ${tasks[$i]})"); done
	t0=$(date +%s.%N)
	sleep "$seconds"
	rx1=$(stat_of "$run/peer.sock" tx-clear)
	t1=$(date +%s.%N)
	for i in "${!tasks[@]}"; do cpu+=("$(echo "scale=2; ($(ticks ${tasks[$i]}) - ${c0[$i]}) / $hz" | bc)"); done
	kill "$flood"
	wait "$flood" 2>/dev/null || true
	flood=
	release "$cg"/n[0-9]*
	CF_PREFIX=$prefix "$top/testbed/cluster.sh" down >/dev/null
	for i in $(seq 0 $((count - 1))); do drop_group "$cg/n$i"; done
	local pps
	pps=$(echo "($rx1 - $rx0) / ($t1 - $t0)" | bc)
	echo "$count $(echo "scale=1; $pps * 1400 * 8 / 1000000" | bc) $(echo "scale=1; $pps / 1000" | bc) ${cpu[*]}"
}

table() { # table LIMIT TITLE
	local limit=$1 base=""
	echo "== $2"
	printf '%-6s %14s %10s %9s   %s\n' nodes "delivered" kpps speed-up "CPU-s per node in ${seconds} s (cluster-filterd + its interfaces' NAPI threads)"
	for count in $nodes_list; do
		read -r c mbit kpps cpus < <(measure "$count" "$limit")
		[ -z "$base" ] && base=$mbit
		printf '%-6s %9s Mbit/s %10s %8sx   %s\n' "$c" "$mbit" "$kpps" \
			"$(echo "scale=2; $mbit / $base" | bc)" "$cpus"
	done
}

mkdir -p "$cg"
echo "$alg, 1400-byte UDP flooded from host A, $dispatch, $SAS tunnel(s), fast path $([ "${FAST_PATH:-1}" = 0 ] && echo off || echo on), measured for ${seconds} s at the ESP sink"
table none "no CPU limit: every node, the sender and the sink share this machine's $(nproc) cores"
table "$budget" "each node (cluster-filterd and its NAPI threads) held to ${budget} % of one core (one small machine per node)"
echo "reference: the paper's near-linear speed-up needs each node to be CPU-bound on its own share;"
echo "the receive-and-skip work every node does for every packet is the term that bends the curve."
