# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the testbed scripts: an unmodified strongSwan charon with its
# userspace ESP (kernel-libipsec), and the demos' transfer through the
# gateway under test.  Uses the caller's $run, $psk, $top, $ha, $hb and wait_for.

# stop_pid NAME: stop what $run/NAME.pid names (start_charon writes
# $run/<its directory's name>.pid; callers keep their daemons' pids there too)
stop_pid() {
	local f=$run/$1.pid
	[ -f "$f" ] || return 0
	local pid
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

# A charon, in its own mount namespace: its pid file is fixed.
# start_charon NAMESPACE DIR ME PEER MY_ID PEER_ID MY_TS PEER_TS
# (MY_TS "dynamic": a road warrior, asking the gateway for an address)
start_charon() {
	local ns=$1 dir=$2 me=$3 peer=$4 my_id=$5 peer_id=$6 my_ts=$7 peer_ts=$8 vips=""
	[ "$my_ts" = dynamic ] && vips="vips = 0.0.0.0"
	mkdir -p -m 0700 "$dir"
	mkdir -p "$dir/run" "$dir/swanctl"
	cat >"$dir/strongswan.conf" <<-CONF
	charon {
		load_modular = no
		load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
		install_routes = yes
		plugins { vici { socket = unix://$dir/charon.vici } }
		# chd 4 logs the Child SA keys: the test bed hands them to tshark
		filelog { log { path = $dir/charon.log
				default = 1
				ike = 2
				chd = 4
				flush_line = yes } }
	}
	swanctl { socket = unix://$dir/charon.vici }
	CONF
	cat >"$dir/swanctl/swanctl.conf" <<-CONF
	connections {
		gw {
			version = 2
			mobike = no
			local_addrs = $me
			remote_addrs = $peer
			proposals = aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048
			rekey_time = ${IKE_LIFETIME:-4h}
			# liveness checks when idle (DPD_DELAY, e.g. 5s; default: none)
			dpd_delay = ${DPD_DELAY:-0s}
			$vips
			local { auth = psk
				id = $my_id }
			remote { auth = psk
				id = $peer_id }
			children {
				tunnel {
					mode = tunnel
					local_ts = $my_ts
					remote_ts = $peer_ts
					# with and without a key exchange: pluto asks for PFS on rekeys
					# (PEER_ESP replaces the list: without a group, rekeys carry no KE)
					esp_proposals = ${PEER_ESP:-aes128gcm16-x25519, aes256gcm16-x25519, chacha20poly1305-x25519, aes128-sha256-x25519, aes128gcm16, aes256gcm16, chacha20poly1305, aes128-sha256, aes256-sha256}
					rekey_time = ${SA_LIFETIME:-1h}
					start_action = none
				}
			}
		}
	}
	secrets { ike-gw { id-1 = $my_id
			id-2 = $peer_id
			secret = "$psk" } }
	CONF
	STRONGSWAN_CONF=$dir/strongswan.conf ip netns exec "$ns" \
		unshare -m --propagation private sh -c \
		"mount --bind $dir/run /run && exec /usr/lib/ipsec/charon" >"$dir/stdout" 2>&1 &
	echo $! >"$run/$(basename "$dir").pid"
	wait_for "charon's vici socket in $ns" test -S "$dir/charon.vici"
	# the vici socket is up before every plugin is: a load that fails
	# leaves charon without the connection, and it ignores IKE_SA_INIT
	wait_for "strongSwan's connection loaded in $ns" env STRONGSWAN_CONF="$dir/strongswan.conf" \
		ip netns exec "$ns" swanctl --load-all --file "$dir/swanctl/swanctl.conf"
}


# The demos' transfer: MB megabytes of TCP from host A ($ha) to host B
# ($hb, 10.0.2.2), checksums printed on both sides.
demo_tcp() { # demo_tcp MB
	echo "== $1 MB TCP host A -> host B"
	ip netns exec "$hb" /usr/bin/python3 "$top/testbed/tcp_xfer.py" recv 5001 >"$run/recv.out" &
	local rpid=$!
	wait_for "the receiver" sh -c "ip netns exec $hb ss -ltn | grep -q ':5001 '"
	ip netns exec "$ha" /usr/bin/python3 "$top/testbed/tcp_xfer.py" send 10.0.2.2 5001 "$(($1 * 1000000))"
	wait $rpid
	echo "received: $(cat "$run/recv.out")"
}
