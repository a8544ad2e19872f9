# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster's settings as ipsec.conf keywords: "ipsec cluster check"
refuses each broken one in one line naming it, and "ipsec cluster start"
turns a good set into the data plane's command line - run here for real,
in a namespace of our own, and looked at through /proc."""
import os
import signal
import subprocess

import pytest

from conftest import BIN, TOP, corosync_conf, run, wait_for

LIBEXEC = TOP / "build" / "root" / "usr" / "libexec" / "ipsec"
CLUSTER = LIBEXEC / "cluster"
NS = os.environ.get("CF_PREFIX", "ccf") + "-conf"

pytestmark = pytest.mark.skipif(not CLUSTER.exists(), reason="Libreswan not built (make libreswan)")

# cluster-filterd and cfctl are found on PATH, as from the package
# as ipsec.service runs it, with a peer subnet listed in /etc/default/cluster-filterd
ENV = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", CLUSTER_FILTER_ROUTES="10.0.2.0/24")


def ipsec_cluster(*args, ns=None, env=ENV):
    cmd = ["sh", str(CLUSTER), *map(str, args)]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def netns():
    """A namespace with the interfaces and addresses the configurations name."""
    run("ip", "netns", "add", NS)
    try:
        # a gateway forwards (warn_no_forwarding)
        run("ip", "netns", "exec", NS, "sysctl", "-q", "net.ipv4.ip_forward=1")
        run("ip", "netns", "exec", NS, "sysctl", "-q", "net.ipv6.conf.all.forwarding=1", check=False)
        for dev, addr in (("in", "10.0.1.1/24"), ("out", "192.0.2.1/24")):
            run("ip", "-n", NS, "link", "add", dev, "type", "veth", "peer", "name", f"{dev}-peer")
            run("ip", "-n", NS, "addr", "add", addr, "dev", dev)
            run("ip", "-n", NS, "link", "set", dev, "up")
        yield NS
    finally:
        run("ip", "netns", "del", NS, check=False)


@pytest.fixture
def key(tmp_path):
    k = tmp_path / "cluster.key"
    k.write_bytes(os.urandom(32))
    k.chmod(0o600)
    return k


def config(tmp_path, **setup):
    lines = ["config setup"] + [f"\t{k.replace('_', '-')}={v}" for k, v in setup.items()]
    conf = tmp_path / "ipsec.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def test_not_clustered_is_silent(tmp_path):
    for setup in ({}, {"protostack": "xfrm"}):
        conf = config(tmp_path, **setup)
        p = ipsec_cluster("check", "--config", conf)
        assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
        assert ipsec_cluster("enabled", "--config", conf).returncode == 1
    conf = config(tmp_path, protostack="cluster")
    assert ipsec_cluster("enabled", "--config", conf).returncode == 0


BROKEN = [
    ({"cluster_key": "{missing}"}, "cluster-key={missing}: no such file"),
    ({"cluster_key": "{key_0644}"}, "cluster-key={key_0644}: mode 644, must be 0600 or 0400"),
    ({"cluster_key": "{key_short}"}, "cluster-key={key_short}: 5 bytes, want 32 random bytes or 64 hexadecimal digits"),
    ({"cluster_key": "{key_link}"}, "cluster-key={key_link}: a symbolic link, which cluster-filterd refuses"),
    # hidden from cluster-filterd.service with pluto's secrets (it need not exist to be refused)
    ({"cluster_key": "/etc/ipsec.d/private/../private/cluster.key"},
     "cluster-key=/etc/ipsec.d/private/../private/cluster.key: cluster-filterd.service cannot read it there"),
    ({"cluster_dispatch": "packet-robin"}, "invalid, keyword ignored: cluster-dispatch=packet-robin"),
    ({"cluster_group": '"gw 1"'}, "cluster-group=gw 1: letters, digits"),
    ({"cluster_addresses": '"192.0.2.1 10.9.9.9"'}, "cluster-addresses: 10.9.9.9 is on no interface of this node"),
    ({"cluster_addresses": "192.0.2.256"}, "cluster-addresses: '192.0.2.256' is not an IPv4 or IPv6 address"),
    ({"cluster_addresses": '"192.0.2.1 fd00::9"'}, "cluster-addresses: fd00::9 is on no interface of this node"),
    ({"cluster_addresses": "fd00::1::2"}, "cluster-addresses: 'fd00::1::2' is not an IPv4 or IPv6 address"),
    ({"cluster_addresses": "fd00::g"}, "cluster-addresses: 'fd00::g' is not an IPv4 or IPv6 address"),
    ({"cluster_addresses": '"' + " ".join(["192.0.2.1"] * 17) + '"'}, "cluster-addresses: 17 addresses, at most 16"),
    ({"cluster_inside": "eth7"}, "cluster-inside=eth7: no such interface"),
    ({"cluster_outside": "eth8"}, "cluster-outside=eth8: no such interface"),
    ({"cluster_group": None}, "cluster-key={key} needs cluster-group="),
]


@pytest.mark.parametrize("change,line", BROKEN, ids=[c[1].split(":")[0].split("=")[0] for c in BROKEN])
def test_broken_setting_one_line(netns, tmp_path, key, change, line):
    files = {"key": key, "missing": tmp_path / "nokey", "key_0644": tmp_path / "k644",
             "key_short": tmp_path / "kshort", "key_link": tmp_path / "klink"}
    files["key_0644"].write_bytes(os.urandom(32))
    files["key_0644"].chmod(0o644)
    files["key_short"].write_text("abcd\n")
    files["key_short"].chmod(0o600)
    files["key_link"].symlink_to(key)
    setup = {"protostack": "cluster", "cluster_group": "gw", "cluster_key": key,
             "cluster_addresses": '"192.0.2.1, 10.0.1.1"', "cluster_inside": "in",
             "cluster_outside": "out"}
    for k, v in change.items():
        if v is None:
            del setup[k]
        else:
            setup[k] = v.format(**files)
    conf = config(tmp_path, **setup)
    line = line.format(**files)
    for verb in ("check", "start"):
        p = ipsec_cluster(verb, "--config", conf, ns=netns)
        assert p.returncode == 78, (verb, p.stdout, p.stderr)
        assert p.stdout == "", (verb, p.stdout)
        said = p.stderr.splitlines()
        assert len(said) == 1 and said[0].startswith("ipsec cluster: ") and line in said[0], (verb, said)


def test_ipv6_address_on_an_interface_passes_check(netns, tmp_path, key):
    """cluster-addresses= takes IPv6 too, found on an interface like IPv4 (a
    /128 of it); written in any RFC 4291 form."""
    added = subprocess.run(["ip", "-n", netns, "addr", "add", "fd00:c::1/64", "dev", "out", "nodad"],
                           capture_output=True, text=True)
    if added.returncode != 0:
        pytest.skip(f"no IPv6 in the namespace: {added.stderr.strip()}")
    try:
        for addrs in ('"192.0.2.1, fd00:c::1"', "fd00:c:0:0:0:0:0:1", "FD00:C::1"):
            conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key,
                          cluster_addresses=addrs, cluster_inside="in", cluster_outside="out")
            p = ipsec_cluster("check", "--config", conf, ns=netns)
            assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), addrs
        # without nodad: tentative while duplicate address detection runs (here for
        # good, the link has no carrier), and on every node but one it fails
        run("ip", "-n", netns, "addr", "add", "fd00:c::2/64", "dev", "out")
        conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key,
                      cluster_addresses="fd00:c::2", cluster_inside="in", cluster_outside="out")
        p = ipsec_cluster("check", "--config", conf, ns=netns)
        assert p.returncode == 78 and p.stderr == ("ipsec cluster: cluster-addresses: fd00:c::2 is tentative or "
                                                   "failed duplicate address detection: add it with nodad "
                                                   "(every node has it)\n"), p
    finally:
        run("ip", "-n", netns, "addr", "del", "fd00:c::1/64", "dev", "out", check=False)
        run("ip", "-n", netns, "addr", "del", "fd00:c::2/64", "dev", "out", check=False)


def test_a_group_without_addresses_is_said(netns, tmp_path, key):
    """cluster-group without cluster-addresses: no node keeps quiet on the
    shared addresses.  check warns, without refusing (they may be routed to
    the cluster rather than on its segment)."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key)
    p = ipsec_cluster("check", "--config", conf, ns=netns)
    assert p.returncode == 0 and p.stdout == "", p
    assert p.stderr == ("ipsec cluster: warning: cluster-group without cluster-addresses: every node answers "
                        "ARP, ICMP and TCP for the addresses the nodes share; list them in cluster-addresses\n"), p


def test_two_names_for_the_tun_device_are_refused(netns, tmp_path, key):
    """CLUSTER_FILTER_TUN names the device for the updown script and the
    routes, and start passes it on as --tun; a --tun of another name in
    CLUSTER_FILTERD_OPTS used to send the routes into a device nobody
    reads.  start refuses the pair in one line."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key,
                  cluster_addresses="192.0.2.1")
    env = dict(ENV, CLUSTER_FILTER_TUN="cf1", CLUSTER_FILTERD_OPTS="--workers 1 --tun cf2")
    p = ipsec_cluster("start", "--config", conf, ns=netns, env=env)
    assert p.returncode == 78 and len(p.stderr.splitlines()) == 1, p
    assert "CLUSTER_FILTER_TUN=cf1, but --tun cf2 in CLUSTER_FILTERD_OPTS" in p.stderr, p


def test_a_group_without_routes_is_said(netns, tmp_path, key):
    """cluster-group without CLUSTER_FILTER_ROUTES: only the default host
    runs the updown script that routes a peer's subnet into the data
    plane, and every other node would send its share of the tunnel to its
    default route, in clear.  check warns, without refusing (the routes
    may come from elsewhere)."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key, cluster_addresses="192.0.2.1")
    env = {k: v for k, v in ENV.items() if k != "CLUSTER_FILTER_ROUTES"}
    p = ipsec_cluster("check", "--config", conf, ns=netns, env=env)
    assert p.returncode == 0 and p.stdout == "", p
    assert p.stderr.startswith("ipsec cluster: warning: cluster-group without CLUSTER_FILTER_ROUTES") and \
        "in clear" in p.stderr and len(p.stderr.splitlines()) == 1, p


def test_what_leaves_a_node_quiet_is_said(netns, tmp_path, key):
    """Mistakes that refuse nothing and leave a node carrying nothing, or
    mute on the shared addresses: check says each, in one line with the
    way out, and does not refuse."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key, cluster_addresses="192.0.2.1")
    run("ip", "netns", "exec", netns, "sysctl", "-q", "net.ipv4.ip_forward=0")
    try:
        p = ipsec_cluster("check", "--config", conf, ns=netns)
    finally:
        run("ip", "netns", "exec", netns, "sysctl", "-q", "net.ipv4.ip_forward=1")
    assert p.returncode == 0 and p.stdout == "", p
    assert p.stderr.startswith("ipsec cluster: warning: IPv4 forwarding is off on this node") and \
        "sysctl -w net.ipv4.ip_forward=1" in p.stderr and len(p.stderr.splitlines()) == 1, p

    # back on the kernel's IPsec, with the cluster's settings still there and its tables left
    conf = config(tmp_path, protostack="xfrm", cluster_group="gw", cluster_addresses="192.0.2.1")
    run("ip", "netns", "exec", netns, "nft", "add", "table", "arp", "cluster_filterd")
    try:
        p = ipsec_cluster("check", "--config", conf, ns=netns)
    finally:
        run("ip", "netns", "exec", netns, "nft", "delete", "table", "arp", "cluster_filterd")
    said = p.stderr.splitlines()
    assert p.returncode == 0 and p.stdout == "" and len(said) == 2, p
    assert said[0].startswith("ipsec cluster: warning: cluster-* settings without protostack=cluster are ignored"), p
    assert said[1].endswith("nft delete table arp cluster_filterd"), p


def test_routes_take_the_pools_into_the_tun_device(netns):
    """ipsec cluster routes (cluster-filterd.service's ExecStartPost): each
    prefix of CLUSTER_FILTER_ROUTES into the TUN device, again and again
    without harm; a prefix it cannot route is one line and exit 1, and
    the prefixes after it are routed all the same."""
    run("ip", "-n", netns, "tuntap", "add", "dev", "cf0", "mode", "tun")
    try:
        run("ip", "-n", netns, "link", "set", "cf0", "up")
        env = dict(ENV, CLUSTER_FILTER_ROUTES="100.64.10.0/24 100.64.11.0/24")
        for _ in range(2):
            p = subprocess.run(["ip", "netns", "exec", netns, "sh", str(CLUSTER), "routes"],
                               capture_output=True, text=True, env=env, timeout=60)
            assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), p
        routes = run("ip", "-n", netns, "route", "show", "dev", "cf0")
        assert "100.64.10.0/24" in routes and "100.64.11.0/24" in routes, routes
        env["CLUSTER_FILTER_ROUTES"] = "100.64.12.0/24 100.64.999.0/24 100.64.14.0/24"
        p = subprocess.run(["ip", "netns", "exec", netns, "sh", str(CLUSTER), "routes"],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, p
        assert p.stderr.startswith("ipsec cluster: CLUSTER_FILTER_ROUTES: cannot route 100.64.999.0/24 into cf0"), p
        # the prefixes after the one it cannot route are routed all the same
        routes = run("ip", "-n", netns, "route", "show", "dev", "cf0")
        assert "100.64.12.0/24" in routes and "100.64.14.0/24" in routes, routes
        # without the device (the data plane not up): said, not silently skipped
        env = dict(ENV, CLUSTER_FILTER_ROUTES="100.64.13.0/24", CLUSTER_FILTER_TUN="cf9")
        p = subprocess.run(["ip", "netns", "exec", netns, "sh", str(CLUSTER), "routes"],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 1 and "cannot route 100.64.13.0/24 into cf9" in p.stderr, p
        # the daemon's own device, as its options name it
        for opts in ("--workers 2 --tun cf9", "--tun=cf9 --workers 2"):
            env = dict(ENV, CLUSTER_FILTER_ROUTES="100.64.13.0/24", CLUSTER_FILTERD_OPTS=opts)
            p = subprocess.run(["ip", "netns", "exec", netns, "sh", str(CLUSTER), "routes"],
                               capture_output=True, text=True, env=env, timeout=60)
            assert p.returncode == 1 and "into cf9" in p.stderr, (opts, p)
    finally:
        run("ip", "-n", netns, "link", "del", "cf0", check=False)


def test_unroute_leaves_the_prefixes_every_node_routes(netns):
    """The updown script, unrouting a connection on the default host,
    left that node without the route that CLUSTER_FILTER_ROUTES gives
    every node (the same prefix into the same device), and its share of
    the tunnel went to the default route in clear.  A listed prefix stays;
    another goes as before."""
    run("ip", "-n", netns, "tuntap", "add", "dev", "cf0", "mode", "tun")
    try:
        run("ip", "-n", netns, "link", "set", "cf0", "up")
        for prefix in ("10.0.2.0/24", "10.0.3.0/24"):
            env = dict(ENV, PLUTO_VERB="route-client", PLUTO_PEER_CLIENT=prefix)
            run("ip", "netns", "exec", netns, "sh", str(LIBEXEC / "_updown.cluster"), env=env)
            env["PLUTO_VERB"] = "unroute-client"
            run("ip", "netns", "exec", netns, "sh", str(LIBEXEC / "_updown.cluster"), env=env)
        routes = run("ip", "-n", netns, "route", "show", "dev", "cf0")
        assert "10.0.2.0/24" in routes and "10.0.3.0/24" not in routes, routes
    finally:
        run("ip", "-n", netns, "link", "del", "cf0", check=False)


def test_a_subnet_that_holds_the_peer_keeps_ike_and_the_default_route(netns):
    """A remote subnet of 0.0.0.0/0 replaced the node's default route by
    one into the TUN device (and unrouting deleted it), and any remote
    subnet that holds the peer's own address took the node's IKE and ESP
    to the peer into the tunnel.  Now all of a family goes as its two
    halves, and the peer keeps the path it had, pinned as a host route."""
    updown = ["ip", "netns", "exec", netns, "sh", str(LIBEXEC / "_updown.cluster")]
    run("ip", "-n", netns, "tuntap", "add", "dev", "cf0", "mode", "tun")
    try:
        run("ip", "-n", netns, "link", "set", "cf0", "up")
        run("ip", "-n", netns, "route", "add", "default", "via", "192.0.2.254", "dev", "out")
        for client, peer, inside in (("0.0.0.0/0", "198.51.100.7", "8.8.8.8"),
                                     ("203.0.113.0/24", "203.0.113.9", "203.0.113.77")):
            env = dict(ENV, PLUTO_VERB="route-client", PLUTO_PEER_CLIENT=client, PLUTO_PEER=peer)
            run(*updown, env=env)
            assert " dev out " in run("ip", "-n", netns, "route", "get", peer), client
            assert " dev cf0 " in run("ip", "-n", netns, "route", "get", inside), client
            routes = run("ip", "-n", netns, "route", "show")
            assert "default via 192.0.2.254 dev out" in routes and f"{peer} via 192.0.2.254 dev out" in routes, routes
            env["PLUTO_VERB"] = "unroute-client"
            run(*updown, env=env)
            routes = run("ip", "-n", netns, "route", "show")
            assert "default via 192.0.2.254 dev out" in routes and "dev cf0" not in routes, routes
    finally:
        run("ip", "-n", netns, "route", "del", "default", check=False)
        for host in ("198.51.100.7", "203.0.113.9"):
            run("ip", "-n", netns, "route", "del", host, check=False)
        run("ip", "-n", netns, "link", "del", "cf0", check=False)


@pytest.mark.parametrize("section,line", [
    ("conn gw\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tcluster-dispatch=packet-rr\n",
     "invalid conn keyword ignored: cluster-dispatch=packet-rr"),
    ("conn %default\n\tprotostack=xfrm\n", "keyword ignored: protostack=xfrm"),
], ids=["conn", "conn-default"])
def test_a_setup_keyword_in_a_conn_section_is_refused(netns, tmp_path, key, section, line):
    """A config setup keyword written into a conn section: addconn warns
    and ignores it, and the node ran without it (another dispatch mode,
    or no cluster) without a word.  check and start now refuse it."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key,
                  cluster_addresses="192.0.2.1")
    conf.write_text(conf.read_text() + section)
    for verb in ("check", "start"):
        p = ipsec_cluster(verb, "--config", conf, ns=netns)
        said = p.stderr.splitlines()
        assert p.returncode == 78 and len(said) == 1 and line in said[0], (verb, p)


def one_node_corosync(netns, tmp_path, addr):
    """A one-node Corosync in the namespace on ADDR, with a private /run
    (its pid file and IPC paths are fixed); yields its PID, to nsenter."""
    conf = tmp_path / "corosync.conf"
    conf.write_text(corosync_conf(netns, tmp_path, [addr]))
    run("ip", "-n", netns, "link", "set", "lo", "up")
    p = subprocess.Popen(["ip", "netns", "exec", netns, "unshare", "-m", "--propagation", "private",
                          "sh", "-c", f"mount -t tmpfs tmpfs /run && exec corosync -f -c {conf}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["nsenter", "-t", str(p.pid), "-m", "-n", "corosync-quorumtool", "-s"],
                                        capture_output=True).returncode == 0, timeout=20, what="a quorate corosync")
        yield p.pid
    finally:
        p.kill()
        p.wait()


@pytest.fixture
def corosync(netns, tmp_path):
    yield from one_node_corosync(netns, tmp_path, "192.0.2.1")


@pytest.fixture
def loopback_corosync(netns, tmp_path):
    """Corosync as Debian starts it: one node, on 127.0.0.1."""
    yield from one_node_corosync(netns, tmp_path, "127.0.0.1")


def test_a_corosync_left_on_the_loopback_is_said(netns, loopback_corosync, tmp_path, key):
    """A node whose Corosync still runs Debian's one-node configuration is
    a cluster of its own: check says so (and what to do) but does not
    refuse, since a one-node lab may mean it.  On a real address it is
    silent (test_start_runs_the_data_plane_with_the_keywords)."""
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key, cluster_addresses="192.0.2.1")
    p = ipsec_cluster("check", "--config", conf, ns=netns)
    assert p.returncode == 0 and p.stdout == "", p
    assert p.stderr.startswith("ipsec cluster: warning: Corosync runs with one node, on the loopback address"), p
    assert "then systemctl restart corosync ipsec" in p.stderr


def test_start_runs_the_data_plane_with_the_keywords(netns, corosync, tmp_path, key):
    """A good set: check is silent, start becomes cluster-filterd (same PID)
    with one option per keyword, which joins Corosync's group, drops every
    capability and answers on its socket."""
    rundir = tmp_path / "run"
    conf = config(tmp_path, protostack="cluster", cluster_group="gw", cluster_key=key,
                  cluster_addresses='"192.0.2.1, 10.0.1.1"', cluster_inside="in",
                  cluster_outside="out", cluster_dispatch="packet-rr")
    p = ipsec_cluster("check", "--config", conf, ns=netns)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    log = open(tmp_path / "daemon.log", "w")
    # options without a keyword, as the unit reads them from /etc/default/cluster-filterd
    env = dict(ENV, CLUSTER_FILTERD_OPTS="--workers 1  --log-level info", CLUSTER_FILTER_TUN="cf0")
    proc = subprocess.Popen(["nsenter", "-t", str(corosync), "-m", "-n", "sh", str(CLUSTER), "start",
                             "--config", str(conf), "--rundir", str(rundir)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def exe():
            try:
                return os.readlink(f"/proc/{proc.pid}/exe")
            except OSError:
                return ""
        wait_for(lambda: exe().endswith("/cluster-filterd") or proc.poll() is not None,
                 timeout=20, what="ipsec cluster start to become cluster-filterd")
        assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
        argv = open(f"/proc/{proc.pid}/cmdline").read().split("\0")[1:-1]
        assert argv == ["--control", f"{rundir}/cluster-filter.ctl", "--esp-in-udp", "shared",
                        "--cluster", "gw", "--sync-key", str(key),
                        "--shared-ip", "192.0.2.1", "--shared-ip", "10.0.1.1",
                        "--inside", "in", "--outside", "out", "--tun", "cf0",
                        "--workers", "1", "--log-level", "info"]
        # set up: the socket listens, capabilities are gone
        wait_for(lambda: "ready:" in (tmp_path / "daemon.log").read_text() or proc.poll() is not None,
                 timeout=20, what="the data plane's ready line")
        assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
        status = dict(line.split(":\t", 1) for line in open(f"/proc/{proc.pid}/status").read().splitlines()
                      if ":\t" in line)
        assert int(status["CapEff"].strip(), 16) == 0, status["CapEff"]
        assert int(status["CapPrm"].strip(), 16) == 0, status["CapPrm"]
        assert int(status["CapBnd"].strip(), 16) == 0, status["CapBnd"]
        # one member, itself, and the view agreed
        out = ipsec_cluster("status", "--rundir", rundir)
        assert out.returncode == 0, out.stderr
        wait_for(lambda: "default host: this node (speaks" in ipsec_cluster("status", "--rundir", rundir).stdout,
                 timeout=20, what="the one-node view")
        print(ipsec_cluster("status", "--rundir", rundir).stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
