# SPDX-License-Identifier: GPL-2.0-or-later
"""Our gateway (patched pluto, protostack=cluster, cluster-filterd) against an
unmodified strongSwan with its userspace ESP (kernel-libipsec).

The topology is testbed/gateway-peer.sh.  IKE is the real Libreswan build,
the peer is Debian's charon, the traffic is real packets between network
namespaces; everything is checked at the far end.
"""
import json
import os
import re
import signal
import struct
import subprocess
import time

import pytest

from conftest import BIN, TESTBED, TOP, kernel_drops, kv, ping, run, stop_capture, tcp_transfer, wait_for

LSW = TOP / "build" / "root" / "usr" / "libexec" / "ipsec"

pytestmark = pytest.mark.skipif(not (LSW / "pluto").exists(),
                                reason="Libreswan not built (make libreswan)")


class Gateway:
    def __init__(self, prefix):
        self.prefix = prefix
        self.run_dir = f"/run/{prefix}"
        self.ss_dir = f"/tmp/{prefix}-strongswan"
        self.env = dict(os.environ, CF_PREFIX=prefix)

    def script(self, verb, check=True):
        return run(TESTBED / "gateway-peer.sh", verb, env=self.env, check=check)

    def exec(self, ns, *cmd, check=True, **kw):
        return run("ip", "netns", "exec", f"{self.prefix}-{ns}", *cmd, check=check, **kw)

    def popen(self, ns, *cmd):
        return subprocess.Popen(["ip", "netns", "exec", f"{self.prefix}-{ns}", *map(str, cmd)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def whack(self, *args, check=True):
        return self.exec("gw", LSW / "whack", "--rundir", f"{self.run_dir}/pluto", *args, check=check)

    def swanctl(self, *args, check=True):
        return run("ip", "netns", "exec", f"{self.prefix}-ss", "swanctl", *args, check=check,
                   env=dict(os.environ, STRONGSWAN_CONF=f"{self.ss_dir}/strongswan.conf"))

    def wait_peer_ike_gone(self):
        """Until strongSwan holds no established IKE SA: it acts on our
        Delete, or on its own terminate, in its own time."""
        wait_for(lambda: "ESTABLISHED" not in self.swanctl("--list-sas"), what="strongSwan's IKE SA gone")

    def cfctl(self, *args):
        return run(BIN / "cfctl", "-s", f"{self.run_dir}/pluto/cluster-filter.ctl", *args)

    def sas(self):
        return [kv(line) for line in self.cfctl("sa", "list").splitlines()]

    def policies(self):
        return [kv(line) for line in self.cfctl("policy", "list").splitlines()]

    def route(self):
        return self.exec("gw", "ip", "route", "show", "10.0.2.0/24")

    def ping(self, src, dst, count=10, interval=0.05):
        return ping(self.exec, src, dst, count, interval)

    def losses(self):
        """Where a datagram can be lost on its way from ha to hb: UDP
        receive buffers (the peer's ESP-in-UDP socket, the far host),
        device queues (our TUN, libipsec's TUN) and the data plane's counters."""
        out = kernel_drops(self.exec, ("gw", "ss", "hb"))
        # the data plane's counters too: what it sent shows where the rest went
        out.update({f"gw-dp-{k}": int(v) for k, v in kv(self.cfctl("stats")).items() if v.isdigit()})
        return out

    def pluto_log(self):
        with open(f"{self.run_dir}/pluto.log") as f:
            return f.read()

    def up(self, name="tunnel"):
        out = self.whack("--name", name, "--initiate")
        assert "established Child SA" in out, out

    def down(self, name="tunnel"):
        self.whack("--name", name, "--down", check=False)
        try:
            wait_for(lambda: not self.sas(), what="SAs gone from the data plane")
        except AssertionError as e:
            # what was left, and what pluto thought and did, for whoever reads the failure
            raise AssertionError(f"{e}\n{self.cfctl('sa', 'list')}\n{self.whack('--showstates', check=False)}\n"
                                 f"{self.pluto_log()[-6000:]}") from None


@pytest.fixture(scope="module")
def gw():
    g = Gateway(f"cgp{os.getpid() % 100000}")
    try:
        g.script("up")
        yield g
    finally:
        g.script("down", check=False)


@pytest.fixture
def tunnel(gw):
    gw.up()
    yield gw
    gw.down()


def test_initiated_by_us_carries_ping_both_ways(tunnel):
    assert tunnel.ping("ha", "10.0.2.2", count=20) == 20
    assert tunnel.ping("hb", "10.0.1.2", count=20) == 20
    sas = {s["dir"]: s for s in tunnel.sas()}
    assert set(sas) == {"in", "out"}
    assert sas["out"]["encap"] == "4500:4500"      # libipsec only speaks ESP-in-UDP
    assert int(sas["out"]["packets"]) >= 20 and int(sas["in"]["packets"]) >= 20
    # pluto reads the data plane's counters (get_kernel_state)
    assert re.search(r"outBytes=[1-9]", tunnel.whack("--trafficstatus"))


def test_initiated_by_strongswan(gw):
    out = gw.swanctl("--initiate", "--ike", "gw", "--child", "tunnel")
    assert "successfully" in out
    try:
        wait_for(lambda: len(gw.sas()) == 2, what="SAs from the responder side")
        assert gw.ping("hb", "10.0.1.2", count=10) == 10
        assert gw.ping("ha", "10.0.2.2", count=10) == 10
    finally:
        gw.swanctl("--terminate", "--ike", "gw", check=False)
        wait_for(lambda: not gw.sas(), what="SAs gone after the peer's delete")


@pytest.mark.parametrize("src,dst,addr", [("ha", "hb", "10.0.2.2"), ("hb", "ha", "10.0.1.2")])
def test_tcp_50mb_bytes_compared(tunnel, src, dst, addr):
    size = 50_000_000
    before = kv(tunnel.cfctl("stats"))
    sent, got = tcp_transfer(tunnel, src, dst, addr, 5001, size)
    assert got == {"bytes": str(size), "sha256": sent["sha256"]}
    stats = {k: int(v) - int(before.get(k, 0)) for k, v in kv(tunnel.cfctl("stats")).items() if v.isdigit()}
    print(f"{src} -> {dst}: {stats}")
    assert stats.get("bad-offload", 0) == 0
    # One packet per system call would make these ratios 1.  How far above
    # they are depends on the rate (TCP sizes its TSO frames by it, batches
    # fill with load): seen here 19 and 23 out, 4.8 in; asked for with room.
    if src == "ha":
        # the data went through the batched path: TSO frames from the TUN
        # device cut by the daemon, ESP-in-UDP out in segmented sends
        assert stats["rx-clear"] >= 2 * stats["tun-reads"], stats
        assert stats["tx-esp"] >= 2 * stats["udp-sends"], stats
    else:
        # decrypted segments of the stream merged into TUN writes (GRO)
        assert stats["tx-clear"] >= 1.5 * stats["tun-writes"], stats


def udp_stream(gw, count, size, rate):
    """COUNT numbered datagrams ha -> hb; what arrived, and where the rest was dropped."""
    before = gw.losses()
    receiver = gw.popen("hb", "/usr/bin/python3", TESTBED / "udp_stream.py", "count", "6001", "1.0",
                        count, rate)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        gw.exec("ha", "/usr/bin/python3", TESTBED / "udp_stream.py", "send", "10.0.2.2", "6001",
                count, size, rate)
        got = json.loads(receiver.communicate(timeout=60)[0])
    finally:
        receiver.kill()
    after = gw.losses()
    got["where"] = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    print(f"UDP {size} B at {rate}/s: {count} sent, {got['unique']} received, "
          f"{got['missing']} lost in {len(got['lost'])} runs (from, to, how many: {got['lost'][:8]}), "
          f"{got['duplicates']} duplicated; counters on the way: {got['where']}")
    return got


def test_udp_stream_loss_counted(tunnel):
    count = 5000
    got = udp_stream(tunnel, count, 1400, 2000)
    if got["missing"] > count // 100 and len(got["lost"]) <= 2:
        # One burst is a stall of the machine (seen once in CI: 332 in a
        # row), not something the gateway does per packet: measure again.
        got = udp_stream(tunnel, count, 1400, 2000)
    assert got["duplicates"] == 0
    # the first datagram may go to path MTU discovery (1428 bytes into cf0's 1400)
    assert got["missing"] <= count // 100, f"{got['missing']} of {count} datagrams lost"


@pytest.mark.parametrize("conn,alg", [("tunnel-aes_gcm256", "aes256gcm16"),
                                      ("tunnel-chacha20_poly1305", "chacha20poly1305"),
                                      ("tunnel-aes128-sha2_256", "aes128-sha256")])
def test_esp_proposals_carry_traffic(gw, conn, alg):
    gw.up(conn)
    try:
        assert {s["alg"] for s in gw.sas()} == {alg}
        assert gw.ping("ha", "10.0.2.2", count=10) == 10
        assert gw.ping("hb", "10.0.1.2", count=10) == 10
    finally:
        gw.down(conn)


def test_child_rekey_during_ping_flood_loses_nothing(tunnel):
    before = {s["spi"] for s in tunnel.sas()}
    flood = tunnel.popen("ha", "ping", "-c", "600", "-i", "0.005", "-W", "2", "10.0.2.2")
    wait_for(lambda: any(int(s["packets"]) > 50 for s in tunnel.sas() if s["dir"] == "out"),
             what="the flood under way")
    tunnel.whack("--name", "tunnel", "--rekey-child")
    out, _ = flood.communicate(timeout=60)
    assert " 600 received" in out, out
    wait_for(lambda: {s["spi"] for s in tunnel.sas()}.isdisjoint(before),
             what="the old SAs replaced")
    assert tunnel.ping("ha", "10.0.2.2", count=5) == 5


def test_ike_rekey(tunnel):
    out = tunnel.whack("--name", "tunnel", "--rekey-ike")
    m = re.search(r"#(\d+): initiator rekeyed IKE SA #(\d+)", out)
    assert m, out
    new, old = m.groups()
    # the Child SA moved to the new IKE SA and still carries traffic
    wait_for(lambda: f"IKE SA #{new}" in tunnel.whack("--showstates"), what="the Child SA re-parented")
    assert f"#{old}: " not in tunnel.whack("--showstates")
    assert tunnel.ping("ha", "10.0.2.2", count=5) == 5
    assert "ESTABLISHED" in tunnel.swanctl("--list-sas")


def test_delete_by_peer_tears_down_our_sas(gw):
    gw.up()
    spis = {s["spi"] for s in gw.sas()}
    gw.swanctl("--terminate", "--ike", "gw")
    wait_for(lambda: spis.isdisjoint(s["spi"] for s in gw.sas()), what="the deleted SAs gone")
    # the connection was told to stay up, so pluto revives it at once; take
    # it down only when that is done: a --down in the middle of the revival's
    # IKE_AUTH drops the half-open IKE SA without a Delete, and charon, which
    # has already established it, would keep it for the tests after this one
    wait_for(lambda: {s["dir"] for s in gw.sas()} == {"in", "out"}, what="pluto's revival")
    gw.down()
    gw.wait_peer_ike_gone()


def test_routed_without_sa_drops_never_leaks(gw):
    gw.whack("--name", "tunnel", "--route")
    try:
        assert "cf0" in gw.route()
        assert not gw.sas()
        stats = lambda: kv(gw.cfctl("stats"))  # noqa: E731
        before = int(stats().get("no-policy", 0)) + int(stats().get("no-sa", 0))
        pcap = f"{gw.run_dir}/leak.pcap"
        dump = gw.popen("gw", "tcpdump", "-i", "wan", "--immediate-mode", "-U", "-n", "-w", pcap)
        wait_for(lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0, what="tcpdump")
        try:
            assert gw.ping("ha", "10.0.2.2", count=5) == 0
        finally:
            stop_capture(dump, pcap)
        assert run("tshark", "-n", "-r", pcap, "-Y", "ip.addr==10.0.0.0/16").strip() == ""
        after = int(stats().get("no-policy", 0)) + int(stats().get("no-sa", 0))
        assert after >= before + 5
    finally:
        gw.whack("--name", "tunnel", "--unroute", check=False)
    assert gw.route().strip() == ""


def test_udp_header_that_lies_is_counted_not_parsed(gw):
    """Port 4500 is pluto's, so ESP in UDP reaches us as a raw socket's
    copy of the IP packet, taken before the kernel's UDP checks: a UDP
    length beyond the datagram gets that far.  It is counted as
    bad-outer and goes no further (no SA is looked for it)."""
    esp = struct.pack(">II", 0x0badf00d, 1) + bytes(32)
    udp = struct.pack(">HHHH", 4500, 4500, 8 + len(esp) + 100, 0) + esp     # 100 bytes too long
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([192, 0, 2, 2]), bytes([192, 0, 2, 1])) + udp
    code = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW); "
            "s.sendto(bytes.fromhex(sys.argv[1]),('192.0.2.1',0))")

    def count(name):
        return int(kv(gw.cfctl("stats")).get(name, 0))
    before = {k: count(k) for k in ("bad-outer", "unknown-spi", "truncated")}
    for _ in range(3):
        gw.exec("ss", "/usr/bin/python3", "-c", code, ip.hex())
    wait_for(lambda: count("bad-outer") >= before["bad-outer"] + 3, what="the lying UDP headers counted")
    assert count("bad-outer") == before["bad-outer"] + 3
    assert count("unknown-spi") == before["unknown-spi"]
    assert count("truncated") == before["truncated"]


def test_delete_by_us_tears_down_sas_and_route(gw):
    gw.up()
    assert "cf0" in gw.route()
    gw.whack("--name", "tunnel", "--delete")
    try:
        wait_for(lambda: not gw.sas(), what="our SAs gone")
        assert gw.route().strip() == ""
        gw.wait_peer_ike_gone()
    finally:
        # put the connection back for whoever comes next
        gw.exec("gw", LSW / "addconn", "--config", f"{gw.run_dir}/ipsec.conf", "--ctlsocket",
                f"{gw.run_dir}/pluto/pluto.ctl", "tunnel")


def child_keys(gw, role):
    """The last Child SA key charon logged for ROLE (initiator/responder)."""
    with open(f"{gw.ss_dir}/charon.log") as f:
        log = f.read()
    pos = log.rfind(f"encryption {role} key =>")
    assert pos >= 0, "charon logged no Child SA keys"
    m = re.match(r"encryption \w+ key => (\d+) bytes", log[pos:])
    want = int(m.group(1))
    hexbytes = []
    for line in log[pos:].splitlines()[1:]:
        m = re.search(r"\[CHD\]\s+\d+: ((?:[0-9A-F]{2} )+)", line)
        if not m:
            break
        hexbytes += m.group(1).split()
    return "".join(hexbytes[:want]).lower()


def test_wire_only_esp_in_udp_rising_seq_tshark_decrypts(tunnel, tmp_path):
    pcap = f"{tunnel.run_dir}/wan.pcap"
    dump = tunnel.popen("gw", "tcpdump", "-i", "wan", "--immediate-mode", "-U", "-n", "-w", pcap)
    wait_for(lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0, what="tcpdump")
    try:
        assert tunnel.ping("ha", "10.0.2.2", count=20, interval=0.02) == 20
    finally:
        stop_capture(dump, pcap)
    # no inner address outside ESP, no plain ESP either: only ESP-in-UDP
    assert run("tshark", "-n", "-r", pcap, "-Y", "ip.addr==10.0.0.0/16 && !esp").strip() == ""
    assert run("tshark", "-n", "-r", pcap, "-Y", "ip.proto==50").strip() == ""
    out_sa = [s for s in tunnel.sas() if s["dir"] == "out"][0]
    key = child_keys(tunnel, "initiator")     # we initiated: our outbound
    uat = (f'"IPv4","192.0.2.1","192.0.2.2","{out_sa["spi"]}","AES-GCM with 16 octet ICV [RFC4106]",'
           f'"0x{key}","NULL",""')
    out = run("tshark", "-n", "-r", pcap, "-Y", f"esp.spi=={out_sa['spi']}",
              "-o", "esp.enable_encryption_decode:TRUE", "-o", f"uat:esp_sa:{uat}",
              "-T", "fields", "-E", "separator=|", "-e", "udp.srcport", "-e", "esp.sequence",
              "-e", "icmp.type", "-e", "ip.src")
    rows = [r.split("|") for r in out.strip().split("\n")]
    assert len(rows) == 20
    seqs = [int(r[1]) for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20
    for sport, _, icmp_type, srcs in rows:
        assert sport == "4500"
        assert icmp_type == "8" and srcs.endswith("10.0.1.2"), "tshark could not decrypt"


def test_algorithm_the_data_plane_lacks_is_refused_at_load(gw, tmp_path):
    conf = tmp_path / "extra.conf"
    conf.write_text("conn sha1\n    left=192.0.2.1\n    right=192.0.2.2\n    leftsubnet=10.0.1.0/25\n"
                    "    rightsubnet=10.0.2.0/25\n    authby=secret\n    esp=aes128-sha1\n    auto=add\n")
    p = subprocess.run(["ip", "netns", "exec", f"{gw.prefix}-gw", LSW / "addconn", "--config", conf,
                        "--ctlsocket", f"{gw.run_dir}/pluto/pluto.ctl", "sha1"],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert re.search(r"(?i)sha1.*not supported|not supported.*sha1|integ.*sha1", p.stdout + p.stderr), \
        p.stdout + p.stderr


@pytest.mark.parametrize("settings, refusal", [
    ("mark=5/0xffffffff", "mark=, mark-in= and mark-out= are not supported"),
    ("leftprotoport=icmp/2048\n    rightprotoport=icmp",
     "ICMP type and code selectors (protoport=icmp/N) are not supported, only the whole protocol"),
    ("tfc=1200", "tfc= (traffic flow confidentiality padding) is not supported"),
], ids=["mark", "icmp-type", "tfc"])
def test_settings_the_data_plane_lacks_are_refused_not_ignored(gw, tmp_path, settings, refusal):
    """Settings the data plane cannot carry out fail the tunnel with the
    reason, instead of being ignored: with marks ignored, two connections
    apart only by their marks shared one policy; an ICMP type selector
    went in as a port range that no ICMP packet matches; TFC padding was
    silently not added."""
    before = gw.policies()
    conf = tmp_path / "ipsec.conf"
    conf.write_text(open(f"{gw.run_dir}/ipsec.conf").read() +
                    f"conn lacking\n    also=tunnel\n    {settings}\n    auto=add\n")
    gw.exec("gw", LSW / "addconn", "--config", conf, "--ctlsocket", f"{gw.run_dir}/pluto/pluto.ctl",
            "lacking")
    try:
        start = len(gw.pluto_log())
        gw.whack("--name", "lacking", "--initiate", "--asynchronous")
        wait_for(lambda: refusal in gw.pluto_log()[start:], what="the refusal in pluto's log")
        assert not re.search(r'"lacking".*ESTABLISHED_CHILD_SA', gw.whack("--showstates"))
        wait_for(lambda: not gw.sas(), what="nothing of it left in the data plane")
        assert gw.policies() == before, gw.cfctl("policy", "list")
    finally:
        gw.whack("--name", "lacking", "--delete", check=False)
        gw.wait_peer_ike_gone()
    gw.up()                       # the tunnel without them comes up as before
    assert gw.ping("ha", "10.0.2.2", count=3) == 3
    gw.down()


def test_pluto_without_data_plane_says_so(gw, tmp_path):
    rundir = tmp_path / "run"
    nss = tmp_path / "nss"
    rundir.mkdir()
    nss.mkdir()
    run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
    p = subprocess.run(["ip", "netns", "exec", f"{gw.prefix}-hb", LSW / "pluto", "--nofork",
                        "--stderrlog", "--config", f"{gw.run_dir}/ipsec.conf", "--nssdir", nss,
                        "--rundir", rundir, "--secretsfile", f"{gw.run_dir}/ipsec.secrets"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "needs cluster-filterd listening" in p.stderr, p.stderr[-2000:]


def test_a_restarted_data_plane_gets_its_tunnel_back(tunnel):
    """cluster-filterd dies and starts again (systemd's Restart=on-failure)
    with empty tables, on a gateway of its own: pluto finds its Child SA's
    SAs gone and rekeys it, new keys and policies, and the tunnel carries
    traffic again.  It used to stay dark until its next rekey, hours, while
    IKE's liveness checks went on passing."""
    assert tunnel.ping("ha", "10.0.2.2", count=3) == 3
    before = {s["spi"] for s in tunnel.sas()}
    tunnel.script("restart-daemon")
    wait_for(lambda: len(tunnel.sas()) >= 2 and before.isdisjoint(s["spi"] for s in tunnel.sas()),
             timeout=30, what="a rekey into the restarted data plane")
    wait_for(lambda: tunnel.ping("ha", "10.0.2.2", count=3, interval=0.2) >= 2, timeout=30,
             what="pings through the tunnel again")
    assert tunnel.ping("ha", "10.0.2.2", count=10) == 10
    assert "the data plane came back without this Child SA's SAs: rekeying it" in tunnel.pluto_log()


def test_a_hung_data_plane_costs_pluto_one_timeout(tunnel):
    """cluster-filterd stops answering (SIGSTOP): pluto's first request
    waits its 5 s, and later ones fail at once instead of stalling its
    event loop 5 s each; once the daemon answers the request it left,
    pluto asks again as before."""
    pid = int(open(f"{tunnel.run_dir}/cluster-filterd.pid").read())
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        tunnel.whack("--trafficstatus", check=False)
        first = time.monotonic() - t0
        t0 = time.monotonic()
        for _ in range(3):
            tunnel.whack("--trafficstatus", check=False)
        later = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    log = tunnel.pluto_log()
    assert "asking nothing more until it answers" in log and "not asked" in log, log[-3000:]
    assert 4 < first < 15, first
    assert later < 3, later
    # back: the answers come again, traffic counts and all
    wait_for(lambda: "inBytes=" in tunnel.whack("--trafficstatus"), timeout=20,
             what="traffic counts from the data plane again")
    assert tunnel.ping("ha", "10.0.2.2", count=5) == 5


def test_deletes_a_hung_data_plane_missed_are_asked_again(gw, tmp_path):
    """The tunnel goes down while cluster-filterd hangs (SIGSTOP): pluto's
    first request waits its 5 s, the deletes after it are not asked, and
    pluto forgets the Child SA all the same.  Nothing else would ever
    remove its SAs and policies (the SAs used to stay, keys and all, and
    the policies kept sending 10.0.1.0/24's traffic into them); once the
    daemon answers, pluto asks each missed delete again, and the data
    plane ends as it was before the tunnel came up.  (The connection
    gives up on the unanswered Delete exchange after 2 s rather than 60:
    the quiet that the hang imposes holds its message back.)"""
    conf = tmp_path / "ipsec.conf"
    conf.write_text(open(f"{gw.run_dir}/ipsec.conf").read() +
                    "conn quick\n    also=tunnel\n    retransmit-timeout=2s\n    auto=add\n")
    gw.exec("gw", LSW / "addconn", "--config", conf, "--ctlsocket", f"{gw.run_dir}/pluto/pluto.ctl", "quick")
    before = {(p["dir"], p["src"], p["dst"]) for p in gw.policies()}
    gw.up("quick")
    start = len(gw.pluto_log())             # the module's earlier tests wrote theirs
    assert gw.sas() and gw.ping("ha", "10.0.2.2", count=3) == 3
    pid = int(open(f"{gw.run_dir}/cluster-filterd.pid").read())
    os.kill(pid, signal.SIGSTOP)
    try:
        gw.whack("--name", "quick", "--down", check=False)
        log = gw.pluto_log()[start:]
        assert "no answer within 5 s" in log, log[-3000:]
        assert "not taken by the data plane; asking again, with every delete it misses meanwhile" in log, \
            log[-3000:]
    finally:
        os.kill(pid, signal.SIGCONT)
    try:
        wait_for(lambda: not gw.sas(), timeout=20, what="the missed SA deletes asked again")
        wait_for(lambda: {(p["dir"], p["src"], p["dst"]) for p in gw.policies()} == before, timeout=20,
                 what="the missed policy deletes asked again")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.cfctl('sa', 'list')}\n{gw.cfctl('policy', 'list')}\n"
                             f"{gw.pluto_log()[-4000:]}") from None
    assert "the deletes the data plane had missed are asked again" in gw.pluto_log()[start:]
    gw.whack("--name", "quick", "--delete", check=False)
    gw.up()                                   # and the tunnel comes up again as before
    assert gw.ping("ha", "10.0.2.2", count=5) == 5
    gw.down()


def pluto_spis(gw):
    """The SPIs of pluto's established Child SAs (whack --showstates)."""
    return {int(spi, 16) for spi in re.findall(r"esp\.([0-9a-f]+)@", gw.whack("--showstates"))}


def test_a_rekey_during_a_hang_leaves_what_pluto_holds(tunnel):
    """cluster-filterd hangs between a Child SA rekey's SPI and its SAs:
    charon is held (SIGSTOP) while pluto sends the request, then our
    daemon is stopped and charon let go.  The new SAs' install waits its
    5 s and fails, and the deletes after it are not asked; the daemon,
    continued, still applies what it was asked.  What the data plane
    holds then must be what pluto holds: not the larval SPI, not the
    failed Child SA's SAs."""
    before = pluto_spis(tunnel)
    assert {int(s["spi"], 16) for s in tunnel.sas()} == before
    start = len(tunnel.pluto_log())         # the module's earlier tests wrote theirs
    daemon = int(open(f"{tunnel.run_dir}/cluster-filterd.pid").read())
    charon = int(open(f"{tunnel.run_dir}/{os.path.basename(tunnel.ss_dir)}.pid").read())
    held = []
    try:
        os.kill(charon, signal.SIGSTOP)
        held.append(charon)
        tunnel.whack("--asynchronous", "--rekey-child", "--name", "tunnel")
        wait_for(lambda: "sent CREATE_CHILD_SA request to rekey Child SA" in tunnel.pluto_log()[start:],
                 what="the rekey's request sent")
        os.kill(daemon, signal.SIGSTOP)
        held.append(daemon)
        os.kill(charon, signal.SIGCONT)
        held.remove(charon)
        # the larval SPI's delete, which goes first to replace it with the SA
        wait_for(lambda: "replace SA (delete): no answer within 5 s" in tunnel.pluto_log()[start:],
                 timeout=30, what="the new SA's install left unanswered")
    finally:
        for pid in held:
            os.kill(pid, signal.SIGCONT)
    def settled():
        spis = {int(s["spi"], 16) for s in tunnel.sas()}
        return spis == pluto_spis(tunnel) and spis
    try:
        wait_for(settled, timeout=30, what="the data plane holding what pluto holds")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{tunnel.cfctl('sa', 'list')}\n{tunnel.whack('--showstates')}\n"
                             f"{tunnel.pluto_log()[-5000:]}") from None
    # pluto's own teardown of the Child SA that failed (routing.c,
    # unrouted_inbound_to_unrouted()) removed the policies the old one
    # shares, as it would from XFRM: down and up brings the tunnel back
    tunnel.down()
    tunnel.up()
    assert tunnel.ping("ha", "10.0.2.2", count=5) == 5
    assert {int(s["spi"], 16) for s in tunnel.sas()} == pluto_spis(tunnel)


def test_byte_lifetime_expiry_rekeys(gw):
    """The data plane counts bytes against ipsec-max-bytes and reports the
    soft expiry to pluto (handle_sa_expire), which rekeys."""
    gw.up("tunnel-bytes")
    try:
        first = {s["spi"] for s in gw.sas()}
        limits = {int(s["soft-bytes"]) for s in gw.sas()}
        assert all(0 < b < 2_000_000 for b in limits), limits
        sent, got = tcp_transfer(gw, "ha", "hb", "10.0.2.2", 5002, 6_000_000, timeout=60)
        assert got["sha256"] == sent["sha256"]
        wait_for(lambda: first.isdisjoint(s["spi"] for s in gw.sas()), what="a rekey after the soft limit")
        assert int(kv(gw.cfctl("stats"))["expire-events"]) >= 1
        assert gw.ping("ha", "10.0.2.2", count=5) == 5
    finally:
        gw.down("tunnel-bytes")
