# SPDX-License-Identifier: GPL-2.0-or-later
"""Road warriors through a takeover: one template connection ("rw", an
address pool), several unmodified strongSwan peers that each ask for an
address, three nodes.

Each road warrior's IKE SA lives on an instance of the template with its
own reqid and lease.  When the default host loses power, the next one
makes the same instances (peer ID, lease, reqid) from the shared records
and carries the IKE SAs on; a peer that connects afterwards must get a
lease and a reqid that no tunnel still up has, or its traffic would
enter another peer's tunnel (the data plane picks the SA by reqid).
"""
import os
import re

import pytest

from conftest import run, wait_for
from test_cluster_events import EventCluster, NODES, pluto_log

PEERS = 3


class RoadWarriorCluster(EventCluster):
    def rw_swanctl(self, k, *args):
        return run("ip", "netns", "exec", f"{self.prefix}-rw{k}", "swanctl", *args,
                   env=dict(os.environ, STRONGSWAN_CONF=f"{self.ssdir}-rw{k}/strongswan.conf"))

    def connect(self, k):
        """Road warrior k connects; returns the address the cluster leased it."""
        out = self.rw_swanctl(k, "--initiate", "--child", "tunnel")
        assert "CHILD_SA tunnel{" in out and "established" in out, out
        return self.lease(k)

    def lease(self, k):
        sas = self.rw_swanctl(k, "--list-sas", "--ike", "gw")
        found = re.findall(r"\[(10\.0\.10\.\d+)\]", sas)
        assert found, sas
        return found[0]

    def out_sas(self, nodes):
        """The outbound SA to each road warrior: reqid, and packets summed over the nodes."""
        sas = {}
        for i in nodes:
            for sa in self.sa_list(i):
                m = re.fullmatch(r"192\.0\.2\.1(\d)", sa["dst"])
                if sa["dir"] != "out" or m is None:
                    continue
                k = int(m.group(1))
                entry = sas.setdefault(k, {"reqid": sa["reqid"], "spi": sa["spi"], "packets": 0})
                assert entry["reqid"] == sa["reqid"], (k, entry, sa)
                entry["packets"] += int(sa["packets"])
        return sas

    def pings(self, k, lease, count=5):
        """Host A pings road warrior k's leased address, and k pings host A."""
        out = self.exec("ha", "ping", "-c", str(count), "-i", "0.05", "-W", "2", lease, check=False)
        assert f" {count} received" in out, f"host A -> rw{k} ({lease}): {out}"
        out = self.exec(f"rw{k}", "ping", "-c", str(count), "-i", "0.05", "-W", "2", "10.0.1.2", check=False)
        assert f" {count} received" in out, f"rw{k} -> host A: {out}"


@pytest.fixture(scope="module")
def cluster():
    c = RoadWarriorCluster(f"crw{os.getpid() % 100000}", "per-sa")
    c.env["RW_PEERS"] = str(PEERS)
    try:
        c.script("up", NODES)
        yield c
    finally:
        c.script("down")


def test_road_warriors_survive_a_takeover_and_a_new_one_gets_its_own_reqid(cluster):
    """Two road warriors connect; the default host loses power; the next
    one takes both IKE SAs over on instances of the template with the
    same leases and reqids (strongSwan's rekey is answered, traffic flows
    both ways); a third road warrior that connects after the takeover
    gets a lease and a reqid no other tunnel has, and the traffic for it
    goes through its own SA only."""
    nodes = list(range(NODES))
    leases = {k: cluster.connect(k) for k in (1, 2)}
    assert len(set(leases.values())) == 2, leases
    before = cluster.out_sas(nodes)
    assert before.keys() == {1, 2} and before[1]["reqid"] != before[2]["reqid"], before
    for k, lease in leases.items():
        cluster.pings(k, lease)

    victim = cluster.default_host()
    others = [i for i in nodes if i != victim]
    took_over = {i: pluto_log(cluster, i).count("took over the IKE SA") for i in others}
    cluster.script("poweroff", str(victim))
    try:
        cluster.wait_settled(others)
        speaker = cluster.default_host(others)
        wait_for(lambda: pluto_log(cluster, speaker).count("took over the IKE SA") == took_over[speaker] + 2,
                 timeout=15, what=f"node {speaker} taking both road warriors' IKE SAs over")
        log = pluto_log(cluster, speaker)
        print(f"  node {speaker} after the takeover:\n    " +
              "\n    ".join(ln for ln in log.splitlines() if "cluster-filter:" in ln and "rw" in ln))
        for k in (1, 2):
            assert cluster.lease(k) == leases[k]
            cluster.pings(k, leases[k])
        out = cluster.rw_swanctl(1, "--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        cluster.pings(1, leases[1])

        leases[3] = cluster.connect(3)
        after = cluster.out_sas(others)
        print(f"  leases {leases}; reqids before {[before[k]['reqid'] for k in (1, 2)]}, "
              f"after {[after[k]['reqid'] for k in (1, 2, 3)]}")
        assert len(set(leases.values())) == 3, leases
        assert after[2]["reqid"] == before[2]["reqid"]
        assert after[3]["reqid"] not in {after[1]["reqid"], after[2]["reqid"]}, after
        cluster.pings(3, leases[3], count=20)
        counted = cluster.out_sas(others)
        assert counted[3]["packets"] - after[3]["packets"] >= 20, (after, counted)
        for k in (1, 2):
            assert counted[k]["packets"] == after[k]["packets"], f"rw{k}'s SA carried rw3's traffic: {counted}"
        for k in (1, 2):
            cluster.pings(k, leases[k])
    finally:
        cluster.script("poweron", str(victim))
