#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# N cluster nodes on flooded segments: every frame reaches every node.
#
#                 $p-sw: br-in (learning off on node ports)        $p-sw: br-out (learning off)
#   $p-ha 10.0.1.2 --+-- in[node 0] cf0 cluster-filterd out --+-- 192.0.2.2 $p-peer [cf0] 10.0.2.1 --- 10.0.2.2 $p-hb
#                    +-- in[node 1] ...                    ... +
#                    +-- in[node N-1] ...                  ... +
#   every node: in = 10.0.1.1 + MAC 02:00:c1:00:00:01, out = 192.0.2.1 + MAC 02:00:c1:00:00:02,
#               cl = 172.16.0.(10+i) on br-cl (the cluster link: Corosync, node id i+1)
#
# IPV6=1 adds IPv6 beside (without it IPv6 is off in every namespace):
#
#   $p-ha fd00:1::2 -- in fd00:1::1 [nodes] out 2001:db8::1 -- 2001:db8::2 $p-peer fd00:2::1 -- fd00:2::2 $p-hb
#
# every address added nodad: the nodes share theirs, and their link-local
# addresses too (one MAC), so duplicate detection would fail on every one.
# The shared IPv6 addresses are --shared-ip as well: on the other nodes the
# role helper drops neighbour solicitations for them (only the default host
# answers NDP, as ARP) and TCP/ICMPv6 to them.  The bridges flood multicast
# (no snooping), so every node gets the solicitations and MLD.
#
# Each node runs Corosync (knet on the cluster link, token 300 ms) and a
# cluster-filterd that takes its view from it (--cluster): node count, its
# own index, and whether its partition is quorate.  Only the default host
# answers ARP, ICMP and TCP for the shared addresses: each daemon switches
# its node's nft tables on every view change (--shared-ip).  The far end here is a
# cluster-filterd gateway with mirrored SAs (the data plane as a peer that
# counts what it gets).
#
# With PEER=strongswan the far end is an unmodified strongSwan (libipsec)
# and every node runs pluto with protostack=cluster: only the default
# host's pluto speaks IKE, the SAs it installs reach every node.
#
# usage: cluster.sh up N | down | sas | status | initiate [CONN] | restart I | poweroff I | poweron I |
#        stop I | start I | restart-pluto I (PEER=strongswan: ipsec stop, start, a pluto
#        restart on node I) | restart-corosync I | demo [N]
# env:   CF_PREFIX, DISPATCH (outbound mode), PEER=strongswan, FAST_PATH=0 (no kernel
#        fast path: every node's daemon reads every packet), SAS=K (K tunnels, by UDP port),
#        RW_PEERS=K (PEER=strongswan: K road warriors, see road_warriors()),
#        PEER_REPLAY (the far end's replay window, default 4096),
#        TUN_MTU (the daemons' TUN MTU, default 1400), NODE_WORKERS (the nodes'
#        --workers; default: theirs), SA_DISPATCH (cluster.sh sas: the
#        outbound SAs' mode, instead of the daemons' --dispatch),
#        DAEMON_CLOCK=-1h (the daemons started now run with their wall clock off by that),
#        SYNC_KEY=FILE (the daemons started now take that sync key, not the cluster's),
#        DECOY_NODE=I (PEER=strongswan: node I's pluto loads another connection first,
#        so "tunnel" has another reqid there), IPV6=1 (the IPv6 addresses above; with
#        PEER=strongswan also the connections tunnel-6in6, tunnel-4in6 and tunnel-6in4,
#        see pluto_ipv6; with the data plane as peer, IPv6 policies beside the IPv4 ones
#        on the hand-made SAs), SA_ALG with KEY_OUT/KEY_IN and AUTH_OUT/AUTH_IN (hand-made SAs; SA_ALG=3des-md5 starts the
#        daemons with --allow-legacy, for the paper's algorithm),
#        ESP (pluto's esp= with PEER=strongswan: aes_gcm128-none-none for Child SA
#        rekeys without a key exchange, aes_gcm128-none-dh31 with one; the default
#        aes_gcm128 rekeys with the IKE SA's group)

set -eu

. "$(dirname "$0")/strongswan.sh"

prefix=${CF_PREFIX:-ccl}
top=$(cd "$(dirname "$0")/.." && pwd)
cf=$top/cluster-filter/build
run=${CF_RUN:-/run/$prefix}
lsw=$top/build/root/usr
peer_kind=${PEER:-dataplane}
psk=${PSK:-cluster-testbed-preshared-key}
ssdir=${TMPDIR:-/tmp}/$prefix-strongswan
# corosync gets a private /run (its pid file is fixed), so its files live elsewhere
corodir=${TMPDIR:-/tmp}/$prefix-corosync
sw=$prefix-sw ha=$prefix-ha peer=$prefix-peer hb=$prefix-hb
dispatch=${DISPATCH:-per-sa}
sa_alg=${SA_ALG:-aes128gcm16}
# fresh keys for each install of the hand-made SAs, unless given (an AEAD
# key installed again would repeat its nonces: cfctl wants "fresh-key")
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
KEY_OUT=${KEY_OUT:-$(random_hex 20)}
KEY_IN=${KEY_IN:-$(random_hex 20)}
legacy=""
[ "$sa_alg" = 3des-md5 ] && legacy=--allow-legacy
MAC_IN=02:00:c1:00:00:01
MAC_OUT=02:00:c1:00:00:02
ipv6=${IPV6:-0}

n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
whack() { local i=$1; shift; n "$(node "$i")" "$lsw/libexec/ipsec/whack" --rundir "$run/n$i" "$@"; }
node() { echo "$prefix-n$1"; }
nodes() { cat "$run/nodes"; }
cfctl() { "$cf/cfctl" -s "$1" "${@:2}"; }
wait_for() {
	local what=$1; shift
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "timed out waiting for $what" >&2
	return 1
}

# PID runs: it exists and is not a zombie (the daemons started here are
# reparented to init when this script exits, and init may reap them late)
alive() { # alive PID
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

netns() {
	ip netns add "$1"
	# IPV6=1: on everywhere but in the switch, which only bridges frames
	if [ "$ipv6" = 1 ] && [ "$1" != "$sw" ]; then
		# no router advertisements taken; no duplicate detection, on the
		# devices made later either (default): the nodes' link-local
		# addresses are identical, and without a valid one a node sends
		# no neighbour solicitation for what it forwards
		n "$1" sysctl -q net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	else
		n "$1" sysctl -q net.ipv6.conf.all.disable_ipv6=1
	fi
	n "$1" ip link set lo up
}

# a port on a flooding bridge: PORT in the switch, DEV in NS.  The nodes
# share their MAC addresses, and their ports never learn them: whatever is
# sent to the cluster reaches every node.  An ordinary station (STATION
# given: a host, the far gateway) is learnt as a real switch would, so
# what the nodes send it reaches it alone.
port() {
	local br=$1 swport=$2 ns=$3 dev=$4 station=${5:-}
	ip link add "$swport" netns "$sw" type veth peer name "$dev" netns "$ns"
	n "$sw" ip link set "$swport" master "$br" up
	n "$sw" bridge link set dev "$swport" learning "$([ -n "$station" ] && echo on || echo off)"
	# a segmented UDP send is cut as it leaves, as by a NIC without USO:
	# the bridge and every capture see the packets a real link carries
	n "$ns" ethtool -K "$dev" tx-udp-segmentation off >/dev/null
	# and the switch hands each port wire-sized frames: veth can then
	# deliver them through the receiver's NAPI (when its GRO is on, as the
	# benchmarks set it), so that work is charged to the receiver
	n "$sw" ethtool -K "$swport" tso off tx-udp-segmentation off >/dev/null
}

# Daemons start with ip netns exec directly: it execs them, so $! is their pid.
# DAEMON_CLOCK=-1h: the daemon's wall clock that far off (libfaketime;
# its monotonic clock, which its timers use, stays true)
start_daemon() {
	local ns=$1 sock=$2; shift 2
	# libfaketime preloaded, not faketime(1), which would stand between us and its PID
	[ -n "${DAEMON_CLOCK:-}" ] && set -- env DONT_FAKE_MONOTONIC=1 FAKETIME="$DAEMON_CLOCK" \
		LD_PRELOAD="/usr/lib/$(gcc -print-multiarch)/faketime/libfaketime.so.1" \
		"$cf/cluster-filterd" "$@" || set -- "$cf/cluster-filterd" "$@"
	ip netns exec "$ns" "$@" --tun cf0 --mtu "${TUN_MTU:-1400}" --control "$sock" \
		>"$sock.log" 2>&1 &
	echo $! >"$sock.pid"
	wait_for "cluster-filterd in $ns" test -S "$sock"
}

corosync_conf() { # corosync_conf N I
	local count=$1 i=$2
	cat <<-CONF
	totem {
	    version: 2
	    cluster_name: $prefix
	    transport: knet
	    token: ${TOKEN:-300}
	    token_coefficient: 0
	    crypto_cipher: none
	    crypto_hash: none
	    interface {
	        linknumber: 0
	        knet_ping_interval: ${KNET_PING_INTERVAL:-60}
	        knet_ping_timeout: ${KNET_PING_TIMEOUT:-300}
	    }
	}
	logging {
	    to_stderr: no
	    to_syslog: no
	    to_logfile: yes
	    logfile: $corodir/n$i.log
	    timestamp: on
	}
	quorum {
	    provider: corosync_votequorum
	CONF
	# no two_node: it makes each half of a split quorate, and
	# cluster-filterd refuses it without a quorum device (two nodes here
	# need both for quorum)
	echo "}"
	echo "nodelist {"
	for j in $(seq 0 $((count - 1))); do
		printf '    node {\n        ring0_addr: 172.16.0.%d\n        nodeid: %d\n        name: n%d\n    }\n' \
			$((10 + j)) $((j + 1)) "$j"
	done
	echo "}"
}

start_corosync() { # start_corosync N I
	local count=$1 i=$2 ns
	ns=$(node "$i")
	mkdir -p -m 0700 "$corodir"
	corosync_conf "$count" "$i" >"$corodir/n$i.conf"
	ip netns exec "$ns" unshare -m --propagation private sh -c \
		"mount -t tmpfs tmpfs /run && exec corosync -f -c $corodir/n$i.conf" \
		>"$corodir/n$i.stdout" 2>&1 &
	echo $! >"$run/corosync-n$i.pid"
}

# A node's cluster-filterd.  With pluto beside it, its socket is in pluto's
# run directory and pluto's cluster-dispatch= chooses the mode.
start_node_daemon() { # start_node_daemon I
	local i=$1 sock
	sock=$run/n$i.sock
	set -- --cluster cluster-filter --sync-key "${SYNC_KEY:-$run/cluster.key}" \
		--shared-ip 10.0.1.1 --shared-ip 192.0.2.1
	[ "$ipv6" = 1 ] && set -- "$@" --shared-ip fd00:1::1 --shared-ip 2001:db8::1
	[ "${FAST_PATH:-1}" = 0 ] || set -- "$@" --inside in --outside out
	[ -z "${NODE_WORKERS:-}" ] || set -- "$@" --workers "$NODE_WORKERS"
	if [ "$peer_kind" = strongswan ]; then
		mkdir -p -m 0700 "$run/n$i"
		sock=$run/n$i/cluster-filter.ctl
		set -- "$@" --esp-in-udp shared
		ln -sfn "n$i/cluster-filter.ctl" "$run/n$i.sock"
	else
		set -- "$@" --dispatch "$dispatch" $legacy
	fi
	start_daemon "$(node "$i")" "$sock" "$@"
}

# Stop node I's cluster-filterd (if it still runs) and start a fresh one:
# it rejoins with nothing and gets the cluster's tables from the default host.
restart() { # restart I
	local i=$1 sock pid
	sock=$run/n$i.sock
	[ "$peer_kind" = strongswan ] && sock=$run/n$i/cluster-filter.ctl
	pid=$(cat "$sock.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
	mv "$sock.log" "$sock.log.1"
	# the TUN device persists, and the route into it: nothing leaks meanwhile
	n "$(node "$i")" ip route show 10.0.2.0/24 | grep -q "dev cf0"
	start_node_daemon "$i"
	wait_for "node $i back in the view" view_complete "$run/n$i.sock" "$(nodes)"
}

# SIGKILL to node I's processes, by their pid files
kill_node() { # kill_node I
	local i=$1 f pids=""
	for f in "$run/n$i/cluster-filter.ctl.pid" "$run/n$i.sock.pid" "$run/n$i-pluto.pid" \
		"$run/corosync-n$i.pid"; do
		[ -f "$f" ] || continue
		kill -KILL "$(cat "$f")" 2>/dev/null && pids="$pids $(cat "$f")"
	done
	for pid in $pids; do
		for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
	done
}

# Node I loses power: its ports go dark and its processes die at once
# (SIGKILL: nothing is said to anyone).  Its namespace stays, as a disk would.
poweroff() { # poweroff I
	local i=$1
	for port in "i$i" "o$i" "c$i"; do n "$sw" ip link set "$port" down; done
	kill_node "$i"
}

# Node I is stopped cleanly, as systemctl stop ipsec would: pluto shuts
# down (on a cluster it leaves the SAs to the others), then cluster-filterd
# (PartOf ipsec.service) gets SIGTERM.  Corosync stays up.
stop() { # stop I
	local i=$1 pid
	pid=$(cat "$run/n$i-pluto.pid")
	whack "$i" --shutdown >/dev/null 2>&1 || true
	for _ in $(seq 200); do alive "$pid" || break; sleep 0.05; done
	pid=$(cat "$run/n$i/cluster-filter.ctl.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 200); do alive "$pid" || break; sleep 0.05; done
	! alive "$pid"
}

# pluto on node I restarts; its data plane and the view stay.  On the
# default host the new pluto takes its IKE SAs back from the data plane.
restart_pluto() { # restart_pluto I
	local i=$1 pid
	pid=$(cat "$run/n$i-pluto.pid")
	whack "$i" --shutdown >/dev/null 2>&1 || true
	for _ in $(seq 200); do alive "$pid" || break; sleep 0.05; done
	mv "$run/n$i-pluto.log" "$run/n$i-pluto.log.1"
	start_pluto "$i"
	pluto_ready "$i"
}

# Corosync on node I restarts under a running cluster-filterd: the daemon
# goes silent, finds Corosync again and rejoins as a node without state.
restart_corosync() { # restart_corosync I
	local i=$1 pid
	pid=$(cat "$run/corosync-n$i.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 200); do alive "$pid" || break; sleep 0.05; done
	mv "$corodir/n$i.log" "$corodir/n$i.log.1"
	start_corosync "$(nodes)" "$i"
	wait_for "corosync on node $i" n "$(node "$i")" corosync-cfgtool -s
	wait_for "node $i back in the view" view_complete "$run/n$i.sock" "$(nodes)"
}

# Node I after stop: cluster-filterd and pluto start again.
start() { # start I
	local i=$1
	mv "$run/n$i/cluster-filter.ctl.log" "$run/n$i/cluster-filter.ctl.log.1"
	start_node_daemon "$i"
	mv "$run/n$i-pluto.log" "$run/n$i-pluto.log.1"
	start_pluto "$i"
	pluto_ready "$i"
	wait_for "node $i back in the view" view_complete "$run/n$i.sock" "$(nodes)"
}

# Node I gets power back: links up, then Corosync, cluster-filterd and
# pluto start afresh, as at boot; returns when the node is in the view.
poweron() { # poweron I
	local i=$1 count sock
	count=$(nodes)
	# a node left on (a test that failed before its power loss) starts
	# from nothing too: a second Corosync, daemon and pluto would outlive "down"
	kill_node "$i"
	for port in "i$i" "o$i" "c$i"; do n "$sw" ip link set "$port" up; done
	start_corosync "$count" "$i"
	wait_for "corosync on node $i" n "$(node "$i")" corosync-cfgtool -s
	sock=$run/n$i.sock
	[ "$peer_kind" = strongswan ] && sock=$run/n$i/cluster-filter.ctl
	[ -f "$sock.log" ] && mv "$sock.log" "$sock.log.1"
	start_node_daemon "$i"
	if [ "$peer_kind" = strongswan ]; then
		mv "$run/n$i-pluto.log" "$run/n$i-pluto.log.1"
		start_pluto "$i"
		pluto_ready "$i"
	fi
	wait_for "node $i back in the view" view_complete "$run/n$i.sock" "$count"
}

# the daemon's view: N members, quorate
view_complete() {
	"$cf/cfctl" -s "$1" stats | grep -q "nodes=$2 .*active=yes"
}

# what each node says of its view, and the last words of its daemon and
# Corosync: a cluster that never formed leaves nothing else behind
views_said() { # views_said N
	local i sock
	for i in $(seq 0 $(($1 - 1))); do
		sock=$run/n$i.sock
		echo "node $i: $("$cf/cfctl" -s "$sock" stats 2>&1 | head -c 600)" >&2
		[ -L "$sock" ] && sock=$run/n$i/cluster-filter.ctl
		# Corosync's own start-up errors go to its stdout, not its log
		tail -n 5 "$sock.log" "$corodir/n$i.log" "$corodir/n$i.stdout" 2>/dev/null |
			sed "s/^/  node $i: /" >&2
	done
}

up() {
	local count=${1:?usage: cluster.sh up N}
	mkdir -p -m 0700 "$run"
	echo "$count" >"$run/nodes"
	netns "$sw"
	for br in br-in br-out br-cl; do
		n "$sw" ip link add "$br" type bridge
		# IPv6: neighbour solicitations go to multicast groups the nodes
		# join with MLD; a snooping bridge would forward them by what it
		# learnt, flooding is what the nodes need
		[ "$ipv6" = 1 ] && n "$sw" ip link set "$br" type bridge mcast_snooping 0
		n "$sw" ip link set "$br" up
	done
	netns "$ha"
	port br-in ha "$ha" lan station
	n "$ha" ip addr add 10.0.1.2/24 dev lan
	n "$ha" ip link set lan up
	n "$ha" ip route add default via 10.0.1.1
	if [ "$ipv6" = 1 ]; then
		n "$ha" ip -6 addr add fd00:1::2/64 dev lan nodad
		n "$ha" ip -6 route add default via fd00:1::1 dev lan
	fi

	for i in $(seq 0 $((count - 1))); do
		local ns
		ns=$(node "$i")
		netns "$ns"
		port br-in "i$i" "$ns" in
		port br-out "o$i" "$ns" out
		port br-cl "c$i" "$ns" cl
		n "$ns" ip link set in address $MAC_IN
		n "$ns" ip link set out address $MAC_OUT
		n "$ns" ip addr add 10.0.1.1/24 dev in
		n "$ns" ip addr add 192.0.2.1/24 dev out
		n "$ns" ip addr add "172.16.0.$((10 + i))/24" dev cl
		for dev in in out cl; do n "$ns" ip link set "$dev" up; done
		n "$ns" sysctl -q net.ipv4.ip_forward=1
		# identical frames everywhere: no redirects
		n "$ns" sysctl -q net.ipv4.conf.all.send_redirects=0
		if [ "$ipv6" = 1 ]; then
			# before pluto starts: it listens on the addresses it finds
			n "$ns" ip -6 addr add fd00:1::1/64 dev in nodad
			n "$ns" ip -6 addr add 2001:db8::1/64 dev out nodad
			n "$ns" sysctl -q net.ipv6.conf.all.forwarding=1
		fi
	done
	for i in $(seq 0 $((count - 1))); do
		start_corosync "$count" "$i"
	done
	for i in $(seq 0 $((count - 1))); do
		wait_for "corosync on node $i" n "$(node "$i")" corosync-cfgtool -s
	done
	# the cluster key: root's, 0600, the same on every node
	(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$run/cluster.key")
	for i in $(seq 0 $((count - 1))); do
		start_node_daemon "$i"
		n "$(node "$i")" ip route add 10.0.2.0/24 dev cf0
		n "$(node "$i")" ip route add 10.0.10.0/24 dev cf0	# road warriors' leases
		[ "$ipv6" = 1 ] && n "$(node "$i")" ip -6 route add fd00:2::/64 dev cf0
		# node 0 forms the first view alone and is its default host; a
		# node that joins later never takes that over, so the tests (and
		# initiate) can count on node 0 speaking IKE
		if [ "$i" = 0 ]; then
			wait_for "node 0 to be the default host" is_default_host "$run/n0.sock" ||
				{ views_said 1; return 1; }
		fi
	done
	for i in $(seq 0 $((count - 1))); do
		wait_for "node $i to see $count quorate members" view_complete "$run/n$i.sock" "$count" ||
			{ views_said "$count"; return 1; }
	done

	far_end
	if [ "$peer_kind" = strongswan ]; then
		up_strongswan_peer "$count"
		return
	fi
	start_daemon "$peer" "$run/peer.sock" $legacy
	n "$peer" ip route add 10.0.1.0/24 dev cf0
	[ "$ipv6" = 1 ] && n "$peer" ip -6 route add fd00:1::/64 dev cf0
	sas
}

# The far end's gateway on the outside segment, host B behind it.
far_end() {
	netns "$peer"
	port br-out peer "$peer" out station
	n "$peer" ip addr add 192.0.2.2/24 dev out
	n "$peer" ip link set out up
	n "$peer" sysctl -q net.ipv4.ip_forward=1
	netns "$hb"
	ip link add lan netns "$peer" type veth peer name lan netns "$hb"
	n "$peer" ip addr add 10.0.2.1/24 dev lan
	n "$hb" ip addr add 10.0.2.2/24 dev lan
	n "$peer" ip link set lan up
	n "$hb" ip link set lan up
	n "$hb" ip route add default via 10.0.2.1
	[ "$ipv6" = 1 ] || return 0
	n "$peer" ip -6 addr add 2001:db8::2/64 dev out nodad
	n "$peer" ip -6 addr add fd00:2::1/64 dev lan nodad
	n "$hb" ip -6 addr add fd00:2::2/64 dev lan nodad
	n "$hb" ip -6 route add default via fd00:2::1 dev lan
	n "$peer" sysctl -q net.ipv6.conf.all.forwarding=1
}

# strongSwan at the far end, pluto on every node.
up_strongswan_peer() {
	local count=$1
	start_charon "$peer" "$ssdir" 192.0.2.2 192.0.2.1 @peer @gw 10.0.2.0/24 10.0.1.0/24
	[ "$ipv6" = 1 ] && strongswan_ipv6

	cat >"$run/ipsec.conf" <<-CONF
	config setup
	    protostack=cluster
	    cluster-dispatch=$dispatch
	conn tunnel
	    left=192.0.2.1
	    leftid=@gw
	    leftsubnet=10.0.1.0/24
	    leftupdown=$lsw/libexec/ipsec/_updown.cluster
	    right=192.0.2.2
	    rightid=@peer
	    rightsubnet=10.0.2.0/24
	    authby=secret
	    ike=aes_gcm128-sha2_256-dh31
	    esp=${ESP:-aes_gcm128}
	    auto=add
	CONF
	[ "$ipv6" = 1 ] && pluto_ipv6 >>"$run/ipsec.conf"
	echo "@gw @peer : PSK \"$psk\"" >"$run/ipsec.secrets"
	road_warriors
	chmod 600 "$run/ipsec.secrets"
	for i in $(seq 0 $((count - 1))); do
		mkdir -p "$run/n$i-nss"
		certutil -N -d "sql:$run/n$i-nss" --empty-password
		start_pluto "$i"
	done
	for i in $(seq 0 $((count - 1))); do
		pluto_ready "$i"
	done
}

# IPV6=1: one connection per combination of families that includes IPv6
# (Libreswan keeps one family in a connection's subnets), each like
# "tunnel" and loaded beside it, none up until initiated:
#   tunnel-6in6  fd00:1::/64 - fd00:2::/64 over 2001:db8::1 - 2001:db8::2
#   tunnel-4in6  10.0.1.0/24 - 10.0.2.0/24 over IPv6 (tunnel's subnets: one of the two at a time)
#   tunnel-6in4  fd00:1::/64 - fd00:2::/64 over 192.0.2.1 - 192.0.2.2
# ESP is in UDP over IPv6 as over IPv4: libipsec fakes NAT detection in
# either family, so nothing forces it here (the data plane takes it on
# pluto's shared port 4500, for each family).
pluto_ipv6() {
	local name left right lnet rnet
	while read -r name left right lnet rnet; do
		cat <<-CONF
		conn $name
		    left=$left
		    leftid=@gw
		    leftsubnet=$lnet
		    leftupdown=$lsw/libexec/ipsec/_updown.cluster
		    right=$right
		    rightid=@peer
		    rightsubnet=$rnet
		    authby=secret
		    ike=aes_gcm128-sha2_256-dh31
		    esp=${ESP:-aes_gcm128}
		    auto=add
		CONF
	done <<-CONNS
	tunnel-6in6 2001:db8::1 2001:db8::2 fd00:1::/64 fd00:2::/64
	tunnel-4in6 2001:db8::1 2001:db8::2 10.0.1.0/24 10.0.2.0/24
	tunnel-6in4 192.0.2.1 192.0.2.2 fd00:1::/64 fd00:2::/64
	CONNS
}

# IPV6=1: strongSwan's side of pluto_ipv6, in a file swanctl.conf includes
# (its sections extend start_charon's): 6in4 a child of gw, and gw6 over
# IPv6 with 6in6 and 4in6; the PSK is gw's (the same identities).
strongswan_ipv6() {
	local child="mode = tunnel
			esp_proposals = ${PEER_ESP:-aes128gcm16-x25519, aes256gcm16-x25519, chacha20poly1305-x25519, aes128-sha256-x25519, aes128gcm16, aes256gcm16, chacha20poly1305, aes128-sha256, aes256-sha256}
			rekey_time = ${SA_LIFETIME:-1h}
			start_action = none"
	cat >"$ssdir/swanctl/ipv6.conf" <<-CONF
	connections {
		gw { children { tunnel6 { local_ts = fd00:2::/64
					remote_ts = fd00:1::/64
					$child } } }
		gw6 {
			version = 2
			mobike = no
			local_addrs = 2001:db8::2
			remote_addrs = 2001:db8::1
			proposals = aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048
			rekey_time = ${IKE_LIFETIME:-4h}
			dpd_delay = ${DPD_DELAY:-0s}
			local { auth = psk
				id = @peer }
			remote { auth = psk
				id = @gw }
			children {
				tunnel6 { local_ts = fd00:2::/64
					remote_ts = fd00:1::/64
					$child }
				tunnel4 { local_ts = 10.0.2.0/24
					remote_ts = 10.0.1.0/24
					$child }
			}
		}
	}
	CONF
	echo "include ipv6.conf" >>"$ssdir/swanctl/swanctl.conf"
	wait_for "strongSwan's IPv6 connections loaded" env STRONGSWAN_CONF="$ssdir/strongswan.conf" \
		ip netns exec "$peer" swanctl --load-all --file "$ssdir/swanctl/swanctl.conf"
}

# RW_PEERS=K: K road warriors on the outside segment, rw1..rwK at
# 192.0.2.11.., each an unmodified strongSwan that asks for an address;
# the cluster's template "rw" leases them 10.0.10.x (every node routes
# the pool into its TUN device).  They connect when a test says so.
road_warriors() {
	local k ns
	[ "${RW_PEERS:-0}" -gt 0 ] || return 0
	cat >>"$run/ipsec.conf" <<-CONF
	conn rw
	    left=192.0.2.1
	    leftid=@gw
	    leftsubnet=10.0.1.0/24
	    leftupdown=$lsw/libexec/ipsec/_updown.cluster
	    right=%any
	    rightid=%any
	    rightaddresspool=10.0.10.1-10.0.10.30
	    authby=secret
	    ike=aes_gcm128-sha2_256-dh31
	    esp=${ESP:-aes_gcm128}
	    auto=add
	CONF
	for k in $(seq "$RW_PEERS"); do
		ns=$prefix-rw$k
		echo "@gw @rw$k : PSK \"$psk\"" >>"$run/ipsec.secrets"
		netns "$ns"
		port br-out "r$k" "$ns" out station
		n "$ns" ip addr add "192.0.2.$((10 + k))/24" dev out
		n "$ns" ip link set out up
		start_charon "$ns" "$ssdir-rw$k" "192.0.2.$((10 + k))" 192.0.2.1 "@rw$k" @gw dynamic 10.0.1.0/24
	done
}

# DECOY_NODE=I: node I's pluto loads another connection before "tunnel",
# so that "tunnel" gets another reqid there than on the other nodes.
start_pluto() { # start_pluto I
	local i=$1 conf=$run/ipsec.conf
	if [ "${DECOY_NODE:-}" = "$i" ]; then
		conf=$run/n$i-ipsec.conf
		awk '/^conn tunnel$/ { print "conn decoy\n    left=192.0.2.1\n    right=192.0.2.99\n    leftsubnet=10.0.3.0/24\n    rightsubnet=10.0.4.0/24\n    authby=secret\n    auto=add" } { print }' \
			"$run/ipsec.conf" >"$conf"
	fi
	ip netns exec "$(node "$i")" "$lsw/libexec/ipsec/pluto" --nofork --stderrlog \
		--config "$conf" --secretsfile "$run/ipsec.secrets" \
		--nssdir "$run/n$i-nss" --rundir "$run/n$i" >"$run/n$i-pluto.log" 2>&1 &
	echo $! >"$run/n$i-pluto.pid"
}

pluto_ready() { # pluto_ready I
	local i=$1
	wait_for "pluto on node $i" sh -c "ip netns exec $(node "$i") $lsw/libexec/ipsec/whack --rundir $run/n$i --status | grep -q '\"tunnel\":.*192.0.2.2'"
	# IPV6=1: and the last of its connections (addconn loads them in order)
	[ "$ipv6" = 1 ] && wait_for "pluto's IPv6 connections on node $i" sh -c "ip netns exec $(node "$i") $lsw/libexec/ipsec/whack --rundir $run/n$i --status | grep -q '\"tunnel-6in4\":.*192.0.2.2'"
	whack "$i" --listen >/dev/null
}

# pluto on the default host negotiates; its SAs reach every node
# (CONN: another connection than tunnel, e.g. IPV6=1's tunnel-6in6)
initiate() { # initiate [CONN]
	whack 0 --name "${1:-tunnel}" --initiate
}

demo() {
	local count=${1:-3}
	trap down EXIT
	peer_kind=strongswan
	up "$count"
	echo "== IKEv2 from the cluster's default host to strongSwan"
	initiate
	echo "== ping 10.0.1.2 -> 10.0.2.2 through $count nodes"
	n "$ha" ping -c 9 -i 0.1 -W 2 10.0.2.2
	demo_tcp 10
	if [ "$ipv6" = 1 ]; then
		echo "== IPv6 inside IPv6 (tunnel-6in6): ping fd00:1::2 -> fd00:2::2 through $count nodes"
		initiate tunnel-6in6
		n "$ha" ping -6 -c 9 -i 0.1 -W 2 fd00:2::2
	fi
	for i in $(seq 0 $((count - 1))); do
		demo_status "$i"
	done
	[ "$count" -ge 2 ] && demo_takeover
}

demo_status() { # demo_status I
	echo "== node $1 (Corosync node id $(($1 + 1))): ipsec cluster status"
	n "$(node "$1")" env PATH="$cf:$PATH" "$lsw/sbin/ipsec" cluster status --rundir "$run/n$1"
	whack "$1" --trafficstatus || true
}

# The default host loses power in the middle of a stream: the others take
# its share of the packets and its IKE SA, and the peer sees one gateway.
demo_takeover() {
	local rate=1000 seconds=8 rx tx
	disown -a # the nodes' processes: no "Killed" from bash when node 0 goes
	echo "== node 0, the default host, loses power 2 s into $seconds s of $rate datagrams/s host A -> host B"
	n "$hb" /usr/bin/python3 "$top/testbed/udp_stream.py" count 6001 5.0 $((rate * seconds)) $rate \
		>"$run/takeover.json" &
	rx=$!
	wait_for "the receiver" grep -q ready "$run/takeover.json"
	n "$ha" /usr/bin/python3 "$top/testbed/udp_stream.py" send 10.0.2.2 6001 \
		$((rate * seconds)) 200 $rate &
	tx=$!
	sleep 2
	poweroff 0
	wait $tx
	wait $rx
	tail -1 "$run/takeover.json" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("host B: %d of %d datagrams, %d duplicated" % (r["unique"], r["count"], r["duplicates"]))
for begin, end, k in r["lost"]:
    print("  lost %d, sent between +%.2f s and +%.2f s" % (k, begin, end))'
	echo "(the gap: Corosync's token timeout, 300 ms here, then the fence that waits out"
	echo " a node that may still be sending; the peer never sees another gateway)"
	demo_status 1
}

is_default_host() { # is_default_host SOCK
	cfctl "$1" stats | grep -q "default-host=yes"
}

# The node that speaks for the cluster (node 0, until it has been away).
default_host() {
	for i in $(seq 0 $(($(nodes) - 1))); do
		cfctl "$run/n$i.sock" stats | grep -q "default-host=yes" && { echo "$i"; return; }
	done
	echo "no default host" >&2
	return 1
}

# The cluster's SAs, installed through the default host, which
# replicates them to every node; the mirror on the peer.  With SAS=K > 1,
# K tunnels: tunnel k carries UDP to host B's port 9000+k-1 (udpflood
# with a port range spreads a flood over them); everything else takes
# tunnel 1.
sas() {
	local i k count=${SAS:-1}
	i=$(default_host)
	sa_pair "$run/n$i.sock" out in
	sa_pair "$run/peer.sock" in out "replay ${PEER_REPLAY:-4096}"
}

# Tunnel K's key: KEY with its first four bytes K's, so that no two SAs share one.
tunnel_key() { if [ "$2" = 1 ]; then echo "$1"; else printf '%08x%s' "$2" "${1:8}"; fi; }

# sa_pair SOCK OUT_DIR IN_DIR [EXTRA]: every tunnel's SAs and policies as one side sees them
sa_pair() {
	local s=$1 cl_dir=$2 peer_dir=$3 extra=${4:-} k count=${SAS:-1} to_b to_a
	if [ "$cl_dir" = out ]; then to_b="dir out src 10.0.1.0/24 dst 10.0.2.0/24" to_a="dir in src 10.0.2.0/24 dst 10.0.1.0/24"
	else to_b="dir in src 10.0.1.0/24 dst 10.0.2.0/24" to_a="dir out src 10.0.2.0/24 dst 10.0.1.0/24"; fi
	cfctl "$s" flush >/dev/null
	for k in $(seq 1 "$count"); do
		cfctl "$s" sa add spi $((0xc0000000 + k)) dir "$cl_dir" src 192.0.2.1 dst 192.0.2.2 encap 4500:4500 \
			alg "$sa_alg" enckey "$(tunnel_key "$KEY_OUT" "$k")" ${AUTH_OUT:+authkey "$AUTH_OUT"} reqid "$k" fresh-key \
			$([ "$cl_dir" = in ] && echo "$extra") \
			$([ "$cl_dir" = out ] && [ -n "${SA_DISPATCH:-}" ] && echo "dispatch $SA_DISPATCH") >/dev/null
		cfctl "$s" sa add spi $((0xd0000000 + k)) dir "$peer_dir" src 192.0.2.2 dst 192.0.2.1 encap 4500:4500 \
			alg "$sa_alg" enckey "$(tunnel_key "$KEY_IN" "$k")" ${AUTH_IN:+authkey "$AUTH_IN"} reqid "$k" fresh-key \
			$([ "$peer_dir" = in ] && echo "$extra") >/dev/null
		[ "$count" = 1 ] && continue
		cfctl "$s" policy add $to_b proto 17 dport $((9000 + k - 1)) reqid "$k" priority 10 >/dev/null
		cfctl "$s" policy add $to_a proto 17 sport $((9000 + k - 1)) reqid "$k" priority 10 >/dev/null
	done
	cfctl "$s" policy add $to_b reqid 1 priority 100 >/dev/null
	cfctl "$s" policy add $to_a reqid 1 priority 100 >/dev/null
	[ "$ipv6" = 1 ] || return 0
	# IPv6 inside the same tunnel (6in4): tunnel 1's SAs, selectors of the other family
	local b_in=in b_out=out
	[ "$cl_dir" = out ] || b_in=out b_out=in
	cfctl "$s" policy add dir "$b_out" src fd00:1::/64 dst fd00:2::/64 reqid 1 priority 100 >/dev/null
	cfctl "$s" policy add dir "$b_in" src fd00:2::/64 dst fd00:1::/64 reqid 1 priority 100 >/dev/null
}

status() {
	local count
	count=$(nodes)
	for i in $(seq 0 $((count - 1))); do
		echo "== node $i"
		cfctl "$run/n$i.sock" stats
		cfctl "$run/n$i.sock" sa list
	done
	echo "== peer"
	cfctl "$run/peer.sock" stats
}

down() {
	set +e
	for pidfile in "$run"/*.pid "$run"/*/*.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do alive "$pid" || break; sleep 0.05; done
		# one that ignores SIGTERM would outlive its namespaces and pid file
		alive "$pid" && kill -9 "$pid" 2>/dev/null
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do
		ip netns del "$ns"
	done
	rm -rf "$run" "$corodir" "$ssdir" "$ssdir"-rw*
}

case ${1:-} in
up) up "${2:-3}" ;;
down) down ;;
sas) sas ;;
status) status ;;
initiate) initiate "${2:-}" ;;
restart) restart "${2:?usage: cluster.sh restart I}" ;;
poweroff) poweroff "${2:?usage: cluster.sh poweroff I}" ;;
poweron) poweron "${2:?usage: cluster.sh poweron I}" ;;
stop) stop "${2:?usage: cluster.sh stop I}" ;;
restart-pluto) restart_pluto "${2:?usage: cluster.sh restart-pluto I}" ;;
restart-corosync) restart_corosync "${2:?usage: cluster.sh restart-corosync I}" ;;
start) start "${2:?usage: cluster.sh start I}" ;;
demo) demo "${2:-3}" ;;
*) echo "usage: $0 up N|down|sas|status|initiate [CONN]|restart I|poweroff I|poweron I|stop I|start I|restart-pluto I|restart-corosync I|demo [N]" >&2; exit 2 ;;
esac
