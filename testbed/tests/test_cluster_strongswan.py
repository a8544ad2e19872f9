# SPDX-License-Identifier: GPL-2.0-or-later
"""Three nodes, each with pluto (protostack=cluster) and cluster-filterd,
act as one gateway for an unmodified strongSwan.

The topology is testbed/cluster.sh with PEER=strongswan.  Only the default
host's pluto speaks IKE (invariant 5); the SAs it installs reach every node
(invariant 4); every node carries its share of the traffic.
"""
import os
import subprocess

import pytest

from conftest import BIN, TESTBED, TOP, kv, run, wait_for

NODES = 3
LSW = TOP / "build" / "root" / "usr" / "libexec" / "ipsec"

pytestmark = pytest.mark.skipif(not (LSW / "pluto").exists(),
                                reason="Libreswan not built (make libreswan)")

# what each node sends itself: IKE (port 500, or 4500 with the non-ESP
# marker) and ARP replies
COUNTERS = """table inet ike {
 chain out {
  type filter hook output priority 0
  udp sport 500 counter
  udp sport 4500 @th,64,32 0 counter
 }
}
table arp arpout {
 chain out {
  type filter hook output priority 0
  arp operation reply counter
 }
}
"""


class StrongSwanCluster:
    def __init__(self, prefix):
        self.prefix = prefix
        self.run_dir = f"/run/{prefix}"
        self.env = dict(os.environ, CF_PREFIX=prefix, PEER="strongswan")

    def script(self, *args):
        return run(TESTBED / "cluster.sh", *args, env=self.env)

    def exec(self, ns, *cmd, check=True, **kw):
        return run("ip", "netns", "exec", f"{self.prefix}-{ns}", *cmd, check=check, **kw)

    def popen(self, ns, *cmd):
        return subprocess.Popen(["ip", "netns", "exec", f"{self.prefix}-{ns}", *map(str, cmd)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cfctl(self, i, *args):
        return run(BIN / "cfctl", "-s", f"{self.run_dir}/n{i}.sock", *args)

    def whack(self, i, *args):
        return self.exec(f"n{i}", LSW / "whack", "--rundir", f"{self.run_dir}/n{i}", *args)

    def counters(self, i):
        out = self.exec(f"n{i}", "nft", "list", "ruleset")
        counts = [int(line.split("counter packets ")[1].split()[0])
                  for line in out.splitlines() if "counter packets" in line]
        return {"ike": counts[0] + counts[1], "arp": counts[2]}


@pytest.fixture(scope="module")
def cluster():
    c = StrongSwanCluster(f"ccs{os.getpid() % 100000}")
    try:
        c.script("up", NODES)
        for i in range(NODES):
            subprocess.run(["ip", "netns", "exec", f"{c.prefix}-n{i}", "nft", "-f", "-"],
                           input=COUNTERS, text=True, check=True)
        out = c.script("initiate")
        assert "established Child SA" in out, out
        yield c
    finally:
        c.script("down")


def test_ping_both_ways_through_every_node(cluster):
    out = cluster.exec("ha", "ping", "-c", "30", "-i", "0.02", "-W", "2", "10.0.2.2", check=False)
    assert " 30 received" in out, out
    out = cluster.exec("hb", "ping", "-c", "30", "-i", "0.02", "-W", "2", "10.0.1.2", check=False)
    assert " 30 received" in out, out
    for i in range(NODES):
        sas = {kv(line)["dir"]: kv(line) for line in cluster.cfctl(i, "sa", "list").splitlines()}
        # each node encrypted and decrypted its share
        assert int(sas["out"]["packets"]) >= 15 and int(sas["in"]["packets"]) >= 15, (i, sas)


def test_invariant4_the_sas_pluto_installed_are_on_every_node(cluster):
    keys = ("spi", "dir", "reqid", "src", "dst", "encap", "alg", "key-digest", "soft-bytes",
            "hard-bytes", "soft-packets", "hard-packets", "replay-window")
    tables = [sorted(tuple(kv(line)[k] for k in keys if k in kv(line))
                     for line in cluster.cfctl(i, "sa", "list").splitlines())
              for i in range(NODES)]
    assert len(tables[0]) == 2
    assert tables[1] == tables[0] and tables[2] == tables[0]


def test_invariant5_only_the_default_host_speaks(cluster):
    before = [cluster.counters(i) for i in range(NODES)]
    # an IKE exchange (a Child SA rekey) and ARP from both sides
    cluster.whack(0, "--name", "tunnel", "--rekey-child")
    cluster.exec("ha", "ip", "neigh", "flush", "dev", "lan")
    cluster.exec("peer", "ip", "neigh", "flush", "dev", "out")
    out = cluster.exec("ha", "ping", "-c", "5", "-i", "0.05", "-W", "2", "10.0.2.2", check=False)
    assert " 5 received" in out, out
    after = [cluster.counters(i) for i in range(NODES)]
    assert after[0]["ike"] > before[0]["ike"] and after[0]["arp"] > before[0]["arp"]
    for i in range(1, NODES):
        assert after[i] == before[i], f"node {i} spoke: {before[i]} -> {after[i]}"
    # the followers' plutos said why
    for i in range(1, NODES):
        with open(f"{cluster.run_dir}/n{i}-pluto.log") as f:
            assert "is a follower: keeping quiet" in f.read()


def test_tcp_through_the_cluster(cluster):
    size = 10_000_000
    receiver = cluster.popen("hb", "/usr/bin/python3", TESTBED / "tcp_xfer.py", "recv", "5001")
    try:
        wait_for(lambda: ":5001 " in cluster.exec("hb", "ss", "-ltn"), what="receiver")
        sent = kv(cluster.exec("ha", "/usr/bin/python3", TESTBED / "tcp_xfer.py", "send", "10.0.2.2",
                               "5001", size))
        got = kv(receiver.communicate(timeout=120)[0])
    finally:
        receiver.kill()
    assert got == {"bytes": str(size), "sha256": sent["sha256"]}
    print(f"10 MB TCP through 3 nodes to strongSwan: {sent['MBit/s']} Mbit/s")
