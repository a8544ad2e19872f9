# SPDX-License-Identifier: GPL-2.0-or-later
"""IPv6 through two cluster-filterd gateways with hand-made SAs.

testbed/filter-pair.sh with IPV6=1: the hosts have fd00:1::2 and fd00:2::2
beside their IPv4 addresses, and one SA pair carries both families inside.
The module runs twice, with the SAs' outer addresses IPv4 (6in4, 4in4) and
IPv6 (6in6, 4in6), each over ESP in UDP and plain ESP.  What counts is
seen at the far end (replies, bytes hashed) and on the wire, decoded by
tshark with our keys.
"""
import os

import pytest

from conftest import Pair, run, tcp_transfer
from test_filter_daemon import capture, sa_env


@pytest.fixture(scope="module", params=["4", "6"], ids=["outer4", "outer6"])
def pair6(request):
    p = Pair(f"cf6{request.param}{os.getpid() % 10000}")
    p.env.update(IPV6="1", OUTER=request.param)
    p.outer = request.param
    try:
        p.script("up")
        yield p
    finally:
        p.script("down")


@pytest.mark.parametrize("encap", ["udp", "esp"])
def test_both_families_inside_one_sa_pair(pair6, encap):
    pair6.reinstall(**sa_env("aes128gcm16", encap))
    try:
        before = int(pair6.sa("ga", "0xa0000001", "out")["packets"])
        assert pair6.ping("ha", "fd00:2::2", count=20) == 20
        assert pair6.ping("hb", "fd00:1::2", count=20) == 20
        assert pair6.ping("ha", "10.0.2.2", count=10) == 10
        out = pair6.sa("ga", "0xa0000001", "out")
        assert int(out["packets"]) - before >= 30
        want_dst = "2001:db8::2" if pair6.outer == "6" else "192.0.2.2"
        assert out["dst"] == want_dst
        received = pair6.stats("gb")["rx-esp-in-udp" if encap == "udp" else "rx-esp"]
        assert int(received) >= 30
    finally:
        pair6.reinstall()


@pytest.mark.parametrize("src,dst,addr", [("ha", "hb", "fd00:2::2"), ("hb", "ha", "fd00:1::2")])
def test_tcp_over_ipv6_bytes_compared(pair6, src, dst, addr):
    size = 20_000_000
    sent, got = tcp_transfer(pair6, src, dst, addr, 5001, size, timeout=90)
    assert int(sent["bytes"]) == size
    assert got == {"bytes": str(size), "sha256": sent["sha256"]}


def test_wire_shows_only_esp_and_tshark_decrypts_ipv6(pair6):
    """The outside link carries no inner address of either family outside ESP,
    and tshark, given our key, finds the echo requests inside with their
    IPv6 source, sequence numbers rising from 1."""
    env = sa_env("aes128gcm16", "udp")
    pair6.reinstall(**env)
    try:
        pcap = capture(pair6, "gb", "wan", "", lambda: pair6.ping("ha", "fd00:2::2", count=20))
        leak = run("tshark", "-n", "-r", pcap, "-Y",
                   "(ipv6.addr==fd00::/16 || ip.addr==10.0.0.0/16) && !esp")
        assert leak.strip() == ""
        family, a, b = (("IPv6", "2001:db8::1", "2001:db8::2") if pair6.outer == "6"
                        else ("IPv4", "192.0.2.1", "192.0.2.2"))
        uat = (f'"{family}","{a}","{b}","0xa0000001","AES-GCM with 16 octet ICV [RFC4106]",'
               f'"0x{env["KEY_AB"]}","NULL",""')
        out = run("tshark", "-n", "-r", pcap, "-Y", "esp.spi==0xa0000001",
                  "-o", "esp.enable_encryption_decode:TRUE", "-o", f"uat:esp_sa:{uat}",
                  "-T", "fields", "-E", "separator=|", "-e", "esp.sequence", "-e", "icmpv6.type",
                  "-e", "ipv6.src")
        rows = [r.split("|") for r in out.strip().split("\n")]
        assert len(rows) == 20
        assert [int(r[0]) for r in rows] == list(range(1, 21))
        for _, icmp_type, srcs in rows:
            assert icmp_type == "128" and "fd00:1::2" in srcs.split(","), \
                "tshark did not decrypt an IPv6 echo request"
    finally:
        pair6.reinstall()


def test_policies_list_both_families(pair6):
    listing = pair6.cfctl("ga", "policy", "list")
    assert "src=fd00:1::-fd00:1::ffff:ffff:ffff:ffff dst=fd00:2::-fd00:2::ffff:ffff:ffff:ffff" in listing
    assert "src=10.0.1.0-10.0.1.255" in listing
