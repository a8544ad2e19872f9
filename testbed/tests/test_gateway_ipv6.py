# SPDX-License-Identifier: GPL-2.0-or-later
"""IPv6 through our gateway against strongSwan: IPv6 inside IPv4 (6in4), IPv4
inside IPv6 (4in6), IPv6 inside IPv6 (6in6), and 6in6 again between another
pair of addresses where the peer forces ESP-in-UDP itself (encap = yes).

The topology is testbed/gateway-peer.sh with IPV6=1: the IPv4 one plus
fd00:1::/64 behind us, fd00:2::/64 behind strongSwan and fd00::/64 between
the gateways, with one Libreswan connection per combination (a connection's
subnets are of one family).  As in test_gateway_strongswan, libipsec speaks
only ESP-in-UDP, so every SA here is encapsulated.
"""
import collections
import os
import re

import pytest

from conftest import kv, run, stop_capture, tcp_transfer, wait_for
from test_gateway_strongswan import LSW, Gateway, child_keys

pytestmark = pytest.mark.skipif(not (LSW / "pluto").exists(),
                                reason="Libreswan not built (make libreswan)")

# our outer address, the peer's, host A's and host B's (cfctl and tshark
# write IPv6 addresses in RFC 5952 form, as here)
Conn = collections.namedtuple("Conn", "name ours peer ha hb")
CONNS = [
    Conn("tunnel-6in4", "192.0.2.1", "192.0.2.2", "fd00:1::2", "fd00:2::2"),
    Conn("tunnel-4in6", "fd00::1", "fd00::2", "10.0.1.2", "10.0.2.2"),
    Conn("tunnel-6in6", "fd00::1", "fd00::2", "fd00:1::2", "fd00:2::2"),
    Conn("tunnel-6in6-encap", "fd00::11", "fd00::12", "fd00:1::2", "fd00:2::2"),
]
BY_NAME = {c.name: c for c in CONNS}


def conn_id(c):
    return c.name[len("tunnel-"):]


# Cleartext of the protected networks on the wire, either family.  The
# outer addresses (192.0.2.0/24, fd00::/64) are in neither.
LEAK = "(ip.addr==10.0.0.0/16 || ipv6.addr==fd00:1::/64 || ipv6.addr==fd00:2::/64) && !esp"


@pytest.fixture(scope="module")
def gw6():
    g = Gateway(f"cg6{os.getpid() % 100000}")
    g.env["IPV6"] = "1"
    try:
        g.script("up")
        yield g
    finally:
        g.script("down", check=False)


@pytest.fixture(params=CONNS, ids=conn_id)
def conn(request, gw6):
    """One of the IPv6 connections, up for the test."""
    c = request.param
    gw6.up(c.name)
    yield c
    gw6.down(c.name)


def peer_route(gw, c):
    """Our route to the peer's subnet (into cf0 while the connection is routed)."""
    if ":" in c.hb:
        return gw.exec("gw", "ip", "-6", "route", "show", "fd00:2::/64")
    return gw.exec("gw", "ip", "route", "show", "10.0.2.0/24")


def ipv6_policies(gw):
    return [p for p in gw.policies() if ":" in p.get("src", "")]


def test_ping_both_ways(gw6, conn):
    assert gw6.ping("ha", conn.hb, count=20) == 20
    assert gw6.ping("hb", conn.ha, count=20) == 20
    sas = {s["dir"]: s for s in gw6.sas()}
    assert set(sas) == {"in", "out"}
    # SA_ADD carried SRC6/DST6 for an IPv6 outer, SRC/DST for IPv4
    assert (sas["out"]["src"], sas["out"]["dst"]) == (conn.ours, conn.peer)
    assert (sas["in"]["src"], sas["in"]["dst"]) == (conn.peer, conn.ours)
    assert sas["out"]["encap"] == "4500:4500"      # libipsec only speaks ESP-in-UDP
    assert int(sas["out"]["packets"]) >= 20 and int(sas["in"]["packets"]) >= 20
    assert "cf0" in peer_route(gw6, conn)
    # pluto found the SAs again by SPI and destination (find_sa, DST6 compared)
    assert re.search(r"outBytes=[1-9]", gw6.whack("--trafficstatus"))
    assert "not of one address family" not in gw6.pluto_log()


@pytest.mark.parametrize("src,dst", [("ha", "hb"), ("hb", "ha")])
def test_tcp_bytes_compared(gw6, conn, src, dst):
    size = 20_000_000
    before = kv(gw6.cfctl("stats"))
    sent, got = tcp_transfer(gw6, src, dst, getattr(conn, dst), "5001", size)
    assert got == {"bytes": str(size), "sha256": sent["sha256"]}
    stats = {k: int(v) - int(before.get(k, 0)) for k, v in kv(gw6.cfctl("stats")).items() if v.isdigit()}
    print(f"{conn.name} {src} -> {dst}: {stats}")
    assert stats.get("bad-offload", 0) == 0


def test_wire_only_esp_in_udp_rising_seq_tshark_decrypts(gw6, conn):
    pcap = f"{gw6.run_dir}/wan-{conn_id(conn)}.pcap"
    dump = gw6.popen("gw", "tcpdump", "-i", "wan", "--immediate-mode", "-U", "-n", "-w", pcap)
    wait_for(lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0, what="tcpdump")
    try:
        assert gw6.ping("ha", conn.hb, count=20, interval=0.02) == 20
    finally:
        stop_capture(dump, pcap)
    # no inner address outside ESP in either family, no plain ESP either
    assert run("tshark", "-n", "-r", pcap, "-Y", LEAK).strip() == ""
    assert run("tshark", "-n", "-r", pcap, "-Y", "ip.proto==50 || ipv6.nxt==50").strip() == ""
    out_sa = [s for s in gw6.sas() if s["dir"] == "out"][0]
    key = child_keys(gw6, "initiator")     # we initiated: our outbound
    outer = "IPv6" if ":" in conn.ours else "IPv4"
    uat = (f'"{outer}","{conn.ours}","{conn.peer}","{out_sa["spi"]}","AES-GCM with 16 octet ICV [RFC4106]",'
           f'"0x{key}","NULL",""')
    out = run("tshark", "-n", "-r", pcap, "-Y", f"esp.spi=={out_sa['spi']}",
              "-o", "esp.enable_encryption_decode:TRUE", "-o", f"uat:esp_sa:{uat}",
              "-T", "fields", "-E", "separator=|", "-e", "udp.srcport", "-e", "esp.sequence",
              "-e", "icmp.type", "-e", "icmpv6.type", "-e", "ip.src", "-e", "ipv6.src")
    rows = [r.split("|") for r in out.strip().split("\n")]
    assert len(rows) == 20
    seqs = [int(r[1]) for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20
    inner6 = ":" in conn.ha
    for sport, _, icmp_type, icmpv6_type, ip_src, ipv6_src in rows:
        assert sport == "4500"
        # an echo request from host A inside (outer source, then inner)
        assert (icmpv6_type == "128") if inner6 else (icmp_type == "8"), "tshark could not decrypt"
        assert conn.ha in ip_src.split(",") + ipv6_src.split(","), "tshark could not decrypt"


def test_child_rekey_during_ping_flood_loses_nothing(gw6, conn):
    before = {s["spi"] for s in gw6.sas()}
    flood = gw6.popen("ha", "ping", "-c", "600", "-i", "0.005", "-W", "2", conn.hb)
    wait_for(lambda: any(int(s["packets"]) > 50 for s in gw6.sas() if s["dir"] == "out"),
             what="the flood under way")
    gw6.whack("--name", conn.name, "--rekey-child")
    out, _ = flood.communicate(timeout=60)
    assert " 600 received" in out, out
    wait_for(lambda: {s["spi"] for s in gw6.sas()}.isdisjoint(before),
             what="the old SAs replaced")
    # the new SAs have the same outer addresses
    assert {(s["src"], s["dst"]) for s in gw6.sas()} == {(conn.ours, conn.peer), (conn.peer, conn.ours)}
    assert gw6.ping("ha", conn.hb, count=5) == 5


def test_ike_rekey_over_ipv6(gw6):
    c = BY_NAME["tunnel-6in6"]
    gw6.up(c.name)
    try:
        out = gw6.whack("--name", c.name, "--rekey-ike")
        m = re.search(r"#(\d+): initiator rekeyed IKE SA #(\d+)", out)
        assert m, out
        new, old = m.groups()
        # the Child SA moved to the new IKE SA and still carries traffic
        wait_for(lambda: f"IKE SA #{new}" in gw6.whack("--showstates"), what="the Child SA re-parented")
        assert f"#{old}: " not in gw6.whack("--showstates")
        assert gw6.ping("ha", c.hb, count=5) == 5
        assert "ESTABLISHED" in gw6.swanctl("--list-sas")
    finally:
        gw6.down(c.name)


@pytest.mark.parametrize("name", ["tunnel-6in4", "tunnel-6in6"])
def test_down_deletes_the_ipv6_policies(gw6, name):
    """POLICY_ADD and POLICY_DEL carry TS6: the IPv6 policies come and go
    with the connection, none is left behind in the data plane."""
    c = BY_NAME[name]
    gw6.up(c.name)
    try:
        pols = ipv6_policies(gw6)
        assert {p["dir"] for p in pols} == {"in", "out"}, gw6.cfctl("policy", "list")
        out = [p for p in pols if p["dir"] == "out"][0]
        assert out["src"].startswith("fd00:1::-") and out["dst"].startswith("fd00:2::-"), out
    finally:
        gw6.down(c.name)
    wait_for(lambda: not ipv6_policies(gw6), what="the IPv6 policies deleted")


def test_routed_without_sa_drops_never_leaks(gw6):
    c = BY_NAME["tunnel-6in6"]
    gw6.whack("--name", c.name, "--route")
    try:
        assert "cf0" in peer_route(gw6, c)
        assert not gw6.sas()
        stats = lambda: kv(gw6.cfctl("stats"))  # noqa: E731
        before = int(stats().get("no-policy", 0)) + int(stats().get("no-sa", 0))
        pcap = f"{gw6.run_dir}/leak6.pcap"
        dump = gw6.popen("gw", "tcpdump", "-i", "wan", "--immediate-mode", "-U", "-n", "-w", pcap)
        wait_for(lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0, what="tcpdump")
        try:
            assert gw6.ping("ha", c.hb, count=5) == 0
        finally:
            stop_capture(dump, pcap)
        assert run("tshark", "-n", "-r", pcap, "-Y", LEAK).strip() == ""
        after = int(stats().get("no-policy", 0)) + int(stats().get("no-sa", 0))
        assert after >= before + 5
    finally:
        gw6.whack("--name", c.name, "--unroute", check=False)
    assert peer_route(gw6, c).strip() == ""


def test_byte_lifetime_expiry_rekeys_ipv6_sa(gw6):
    """The data plane's expire event for an IPv6 SA names it by DST6;
    pluto finds the SA by it (handle_sa_expire) and rekeys."""
    c = BY_NAME["tunnel-6in6"]
    gw6.up("tunnel-6in6-bytes")
    try:
        first = {s["spi"] for s in gw6.sas()}
        limits = {int(s["soft-bytes"]) for s in gw6.sas()}
        assert all(0 < b < 2_000_000 for b in limits), limits
        events = int(kv(gw6.cfctl("stats")).get("expire-events", 0))
        sent, got = tcp_transfer(gw6, "ha", "hb", c.hb, "5002", 6_000_000)
        assert got["sha256"] == sent["sha256"]
        wait_for(lambda: first.isdisjoint(s["spi"] for s in gw6.sas()), what="a rekey after the soft limit")
        assert int(kv(gw6.cfctl("stats"))["expire-events"]) > events
        assert {(s["src"], s["dst"]) for s in gw6.sas()} == {(c.ours, c.peer), (c.peer, c.ours)}
        assert gw6.ping("ha", c.hb, count=5) == 5
    finally:
        gw6.down("tunnel-6in6-bytes")
