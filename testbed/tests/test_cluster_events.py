# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster under the events of a real network, counted at the far host
(issue 8: ownership and sequence numbers that survive overload, rekeys and
view changes).

Three nodes (testbed/cluster.sh, PEER=strongswan) against an unmodified
strongSwan with its userspace ESP (libipsec: a fixed 128-packet replay
window).  Numbered datagrams run both ways at once (udp_stream.py: host A
10.0.1.2 <-> host B 10.0.2.2, 2000 per second each way) while something
happens: a Child SA rekey, a flood, a node's daemon killed, a node's power
cut, a node rejoining.  The far host counts what arrived once, twice and not
at all, and when the missing ones were sent, so a test can say that loss was
confined to the moment of the change and that the stream is clean afterwards
(docs/DESIGN.md, invariants 1 and 6).  Every run is also captured on the
peer's outside link: the cluster never sends one (SPI, seq) twice nor one
AES-GCM IV twice under an SPI (invariant 2); strongSwan's packets replayed
right after a view change are rejected (invariant 3).

Topologies (one per dispatch mode, shared by the module's tests): the
default mode (per-sa: one writer per outbound SA) runs every test; the
paper's schemes run the steady stream, the rekeys and the follower kill,
where they are allowed a bounded loss but must be clean afterwards.
CLUSTER_EVENTS_DEFAULT=packet-rr runs the default mode's tests with
another mode.
"""
import collections
import contextlib
import datetime
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import (A_IKE_RECORD, A_IKE_SPIS, BIN, IKE_DEL, IKE_PUT, TESTBED, control_errors,
                      control_message, ike_dump_records, kv, run, switch_drops, wait_for)
from test_cluster_strongswan import COUNTERS, LSW, StrongSwanCluster

NODES = 3
CF_FAST_ACTIVE = 0x1  # src/fastpath.h: a view that judges
DEFAULT = os.environ.get("CLUSTER_EVENTS_DEFAULT", "per-sa")
PAPER = [m for m in ("packet-rr", "packet-sqf", "session-rr", "session-sqf", "flow-hash") if m != DEFAULT]
NO_PFS = f"{DEFAULT}/no-pfs"
# One list, and every test takes a prefix of it: pytest groups the tests of
# a module-scoped parameter by its index, so one topology serves them all.
TOPOLOGIES = [DEFAULT, *PAPER, NO_PFS]
ONLY_DEFAULT, EVERY_MODE, EVERY_MODE_AND_NO_PFS = TOPOLOGIES[:1], TOPOLOGIES[:-1], TOPOLOGIES
DEFAULT_AND_PACKET_RR = TOPOLOGIES[:2]      # packet-rr comes first of the paper's

RATE = 2000          # datagrams per second, each way
SIZE = 200           # bytes of UDP payload
HANDFUL = 10         # datagrams a rekey (or a change) may cost beyond its bound
# Clean streams may lose, together, what the kernel counted as dropped on
# the way outside the cluster and its switch (a receive buffer or a TUN
# queue of the peer's libipsec or a host, whose process a loaded machine
# scheduled late), up to 50 ms of it: enough for a late process, far from
# what a stuck one loses.  The nodes' and the switch's drops are never
# excused.
ON_THE_WAY = RATE // 20
DETECT = 2.0         # s: a change is noticed and settled within this (Corosync token 300 ms: ~0.7 s)
WAYS = {"A->B": ("ha", "hb", "10.0.2.2"), "B->A": ("hb", "ha", "10.0.1.2")}
CLUSTER_IP, PEER_IP = "192.0.2.1", "192.0.2.2"

pytestmark = pytest.mark.skipif(not (LSW / "pluto").exists(),
                                reason="Libreswan not built (make libreswan)")


def pytest_generate_tests(metafunc):
    if "cluster" in metafunc.fixturenames:
        topologies = getattr(metafunc.function, "topologies", ONLY_DEFAULT)
        assert topologies == TOPOLOGIES[:len(topologies)]
        metafunc.parametrize("cluster", topologies, indirect=True, scope="module")


def on(topologies):
    def mark(test):
        test.topologies = topologies
        return test
    return mark


def esp_packets(path):
    """(source, UDP payload) of the ESP-in-UDP packets in a pcap file (IKE
    with its non-ESP marker and NAT-T keepalives left out)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    assert struct.unpack(endian + "I", data[20:24])[0] == 1, "not an Ethernet capture"
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if frame[12:14] != b"\x08\x00" or len(frame) < 34 or frame[23] != 17:
            continue
        ihl = (frame[14] & 15) * 4
        payload = frame[14 + ihl + 8:]
        if len(payload) >= 16 and payload[:4] != b"\0\0\0\0":
            out.append((socket.inet_ntoa(frame[26:30]), payload))
    return out


def wire_repeats(wire):
    """The cluster's ESP on the wire: how many, and how many repeated an
    (SPI, seq) or an (SPI, IV) (AES-GCM: bytes 8..16 of the ESP payload)."""
    esp = [p for src, p in wire if src == CLUSTER_IP]
    ids = collections.Counter(p[:8] for p in esp)
    ivs = collections.Counter((p[:4], p[8:16]) for p in esp)
    return (len(esp), sum(k - 1 for k in ids.values() if k > 1),
            sum(k - 1 for k in ivs.values() if k > 1))


class Streams:
    """Numbered datagrams at a fixed rate in the given directions, all at
    once, counted at the far hosts; the peer's outside link captured.
    The directions and what the capture takes are the class's, so that
    test_cluster_ipv6 runs the same streams over IPv6."""
    ways_map = WAYS
    capture_filter = "udp port 4500"

    def parse(self, pcap):
        return esp_packets(pcap)

    def nothing_captured(self):
        return []

    def __init__(self, cluster, seconds, rate=RATE, ways=tuple(WAYS), capture=True, snaplen=128,
                 sources=None, silence=1.0):
        self.cluster, self.seconds, self.rate, self.silence = cluster, seconds, rate, silence
        self.count = int(seconds * rate)
        self.receivers, self.senders, self.dump = {}, [], None
        # several senders in one direction: (name, source address at host A)
        flows = sources or [(way, None) for way in ways]
        try:
            for name, src in flows:
                way = name if name in self.ways_map else "A->B"
                _, dst_ns, _ = self.ways_map[way]
                port = cluster.next_port()
                r = cluster.popen(dst_ns, "/usr/bin/python3", TESTBED / "udp_stream.py", "count", port,
                                  silence, self.count, rate)
                assert r.stdout.readline().strip() == "ready"
                self.receivers[name] = (r, way, port, src)
            if capture:
                self.pcap = f"{cluster.run_dir}/events-{cluster.port}.pcap"
                self.dump = cluster.popen("peer", "tcpdump", "-i", "out", "-n", "-s", snaplen, "-B", "16384",
                                          "-w", self.pcap, self.capture_filter)
                assert "listening on" in self.dump.stderr.readline()
            self.drops_before = cluster.far_drops()
            self.t_start = time.monotonic()
            for name, (r, way, port, src) in self.receivers.items():
                src_ns, _, dst = self.ways_map[way]
                self.senders.append(cluster.popen(src_ns, "/usr/bin/python3", TESTBED / "udp_stream.py", "send",
                                                  dst, port, self.count, SIZE, rate, *([src] if src else [])))
        except BaseException:
            self.kill()
            raise

    def at(self, seconds):
        """Block until the streams are this far; scheduling, not a condition."""
        ahead = self.t_start + seconds - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)

    def kill(self):
        for p in [r for r, *_ in self.receivers.values()] + self.senders + [self.dump]:
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate()

    def finish(self):
        """What each far host got, and the capture: {name: counts}, wire."""
        try:
            for s in self.senders:
                out, err = s.communicate(timeout=self.seconds + 60)
                assert s.returncode == 0, err
            got = {}
            for name, (r, *_) in self.receivers.items():
                try:       # a receiver stops after `silence` s of silence...
                    out, _ = r.communicate(timeout=3 + self.silence)
                except subprocess.TimeoutExpired:       # ...or never heard anything
                    r.terminate()
                    out, _ = r.communicate(timeout=10)
                got[name] = json.loads(out.strip().splitlines()[-1])
            # outside the cluster and its switch: theirs are the cluster's
            # (a stopped daemon's TUN device drops what is routed to it)
            after = self.cluster.far_drops()
            on_the_way = sum(v - self.drops_before.get(k, 0) for k, v in after.items()
                             if v > self.drops_before.get(k, 0))
            for d in got.values():
                d["on_the_way"] = on_the_way
            wire = self.nothing_captured()
            if self.dump is not None:
                self.dump.terminate()
                _, err = self.dump.communicate(timeout=10)
                wire = self.parse(self.pcap)
                os.unlink(self.pcap)
                dropped = [ln for ln in err.splitlines() if "dropped by kernel" in ln]
                if dropped and not dropped[0].startswith("0 "):
                    print(f"  capture: {dropped[0]}")
            return got, wire
        finally:
            self.kill()


def describe(name, d, t_ref=None):
    """One line per direction: counts, and when the missing ones were sent."""
    def when(t):
        return f"{t:.2f}" if t_ref is None else f"{t - t_ref:+.2f}"
    spans = ", ".join(f"{k}@{when(a)}..{when(b)}" for a, b, k in d["lost"][:6])
    more = f" (+{len(d['lost']) - 6} runs)" if len(d["lost"]) > 6 else ""
    per_s = {int(k): v for k, v in d["lost_per_s"].items()}
    dup_s = {int(k): v for k, v in d["dup_per_s"].items()}
    print(f"  {name}: {d['count']} sent, {d['unique']} arrived, {d['missing']} lost"
          f"{' [' + spans + more + ']' if d['lost'] else ''}, {d['duplicates']} duplicated"
          f"{'; lost per s ' + str(per_s) if per_s else ''}{'; dup per s ' + str(dup_s) if dup_s else ''}"
          f"{'; the kernel dropped ' + str(d['on_the_way']) + ' on the way' if d.get('on_the_way') else ''}")


# A packet scheme's skew left at the end of one stream (a node that missed
# one of its last packets), or by a view applied at different packets on
# each node, lasts until the next sync point: 64 packets of the SA on
# average, geometric (docs/DESIGN.md, "The bound").  Allowed: what four
# intervals can cost, within 0.25 s (500 packets at 2000/s: the chance of
# no sync point in them is 0.04 %).
CARRIED = {"packet-rr": 4 * 64, "packet-sqf": 4 * 64}
CARRIED_FOR = 0.25


def assert_clean(got, what, carried=0):
    # one budget for all the streams: the counts are the namespaces', not a stream's
    budget = min(max((d.get("on_the_way", 0) for d in got.values()), default=0), ON_THE_WAY)
    for name, d in got.items():
        late = [a for a, _, _ in d["lost"] if a > CARRIED_FOR] + [t for t, _ in d["dups"] if t > CARRIED_FOR]
        if carried and not late and d["missing"] <= carried and d["duplicates"] <= carried:
            continue
        excused = min(d["missing"], budget)
        budget -= excused
        assert d["missing"] == excused and d["duplicates"] == 0, \
            f"{what}, {name}: {d['missing']} lost ({d.get('on_the_way', 0)} dropped by the kernel on the way), " \
            f"{d['duplicates']} duplicated of {d['count']}"


def assert_wire_clean(wire, expect_at_least):
    sent, seq_repeats, iv_repeats = wire_repeats(wire)
    print(f"  wire: {sent} ESP packets from the cluster, {seq_repeats} repeated (SPI, seq), "
          f"{iv_repeats} repeated (SPI, IV)")
    assert sent >= expect_at_least, "the capture missed the run"
    assert seq_repeats == 0, "an (SPI, seq) was sent twice"
    assert iv_repeats == 0, "an AES-GCM IV was used twice under one SPI"


class EventCluster(StrongSwanCluster):
    def __init__(self, prefix, topology):
        mode, _, variant = topology.partition("/")
        super().__init__(prefix, NODES, mode)
        self.topology, self.pfs = topology, variant != "no-pfs"
        if not self.pfs:
            # pluto proposes and accepts no group for Child SAs, strongSwan
            # offers none: rekeys carry no KE payload
            self.env.update(ESP="aes_gcm128-none-none", PEER_ESP="aes128gcm16")
        # strongSwan checks liveness after 5 s without traffic: the takeover test waits for one
        self.env["DPD_DELAY"] = "5s"
        self.ssdir = f"{os.environ.get('TMPDIR', '/tmp')}/{prefix}-strongswan"
        self.port = 6100

    def next_port(self):
        self.port += 1
        return self.port

    def streams(self, seconds, **kw):
        return Streams(self, seconds, **kw)

    def stats(self, i):
        return kv(self.cfctl(i, "stats"))

    def sa_list(self, i):
        return [kv(line) for line in self.cfctl(i, "sa", "list").splitlines()]

    def owned(self, nodes):
        """Packets each node processed, per direction, summed over its SAs."""
        counts = {}
        for i in nodes:
            sas = self.sa_list(i)
            counts[i] = {way: sum(int(s["packets"]) for s in sas if s["dir"] == d)
                         for way, d in (("A->B", "out"), ("B->A", "in"))}
        return counts

    def settled(self, members):
        """The given nodes, and only they, share one agreed view, and
        forward all of it (no share of a node Corosync lost still fenced)."""
        try:
            views = [self.stats(i) for i in members]
        except AssertionError:
            return False
        return (len({v["epoch"] for v in views}) == 1
                and all(v["nodes"] == str(len(members)) and v["active"] == "yes"
                        and v.get("joining", "none") == "none" and v.get("synced", "yes") == "yes"
                        and v.get("round", "closed") == "closed"
                        and v.get("fence", "none") == "none"
                        for v in views))

    def wait_settled(self, members, timeout=20):
        wait_for(lambda: self.settled(members), timeout=timeout, what=f"nodes {members} in one view")

    def daemon_pid(self, i):
        with open(f"{self.run_dir}/n{i}/cluster-filter.ctl.pid") as f:
            return int(f.read())

    def sigkill_daemon(self, i):
        os.kill(self.daemon_pid(i), 9)

    def swanctl(self, *args):
        return run("ip", "netns", "exec", f"{self.prefix}-peer", "swanctl", *args,
                   env=dict(os.environ, STRONGSWAN_CONF=f"{self.ssdir}/strongswan.conf"))

    def default_host(self, nodes=range(NODES)):
        return next(i for i in nodes if self.stats(i)["default-host"] == "yes")

    def drop_counters(self, nodes, *names):
        return sum(int(self.stats(i).get(n, 0)) for i in nodes for n in names)


@pytest.fixture(scope="module")
def cluster(request):
    c = EventCluster(f"cev{os.getpid() % 100000}", request.param)
    try:
        c.script("up", NODES)
        out = c.script("initiate")
        assert "established Child SA" in out, out
        # a pluto that does not know the mode ignores the keyword
        modes = {sa.get("dispatch") for i in range(NODES) for sa in c.sa_list(i) if sa["dir"] == "out"}
        assert modes == {c.mode}, f"the outbound SA is dispatched by {modes}, not {c.mode}"
        yield c
    finally:
        c.script("down")


def shares(before, after, way):
    total = sum(after[i][way] - before[i][way] for i in after) or 1
    return {i: (after[i][way] - before[i][way]) / total for i in after}


def through_event(cluster, event, node, members_after, members_before=tuple(range(NODES)),
                  seconds=7.0, at=1.5, what="the change", reporter=None):
    """Streams both ways; event() at `at` s (MEMBERS_AFTER: the nodes the
    view settles with, or a function that names them once it has); then
    loss only while the change was being noticed (in the default mode at most that node's share of it;
    the paper's schemes may move other traffic too) and no duplicate once
    the view has settled.  What the far hosts got and what the streams
    captured; REPORTER prints them and checks the capture (report())."""
    # a gap as long as the change may take must not end the far hosts' count
    streams = cluster.streams(seconds, silence=DETECT)
    try:
        streams.at(0.3)
        before = cluster.owned(members_before)
        streams.at(at)
        mid = cluster.owned(members_before)
        t_event = time.monotonic()
        event()
        t_done = time.monotonic()
        if callable(members_after):
            members_after = wait_for(members_after, what="a view after the change")
        else:
            cluster.wait_settled(members_after)
        t_settled = time.monotonic()
        settled_counts = cluster.owned(members_after)
        streams.at(seconds - 0.2)
        end = cluster.owned(members_after)
    except BaseException:
        streams.kill()
        raise
    got, wire = streams.finish()
    (reporter or report)(cluster, f"{what} at +{t_event - streams.t_start:.2f} s, took {t_done - t_event:.2f} s, "
                         f"view settled {t_settled - t_event:.2f} s after it", got, wire, t_event)
    assert t_settled + DETECT <= streams.t_start + seconds, "the stream ended before the change was over"
    for way, d in got.items():
        assert d["unique"] > 0, f"{way}: nothing arrived"
        # that node's share of this direction, before the change or after it
        share = max(shares(before, mid, way).get(node, 0.0), shares(settled_counts, end, way).get(node, 0.0))
        bound = share * RATE * DETECT + HANDFUL if cluster.mode == DEFAULT else RATE * DETECT
        event_at, done_at, settled_at = (t - d["t0"] for t in (t_event, t_done, t_settled))
        assert d["missing"] <= bound, \
            f"{way}: {d['missing']} lost, more than {bound:.0f} (node {node}'s share was {share:.2f})"
        if d["lost"]:
            first = d["lost"][0][0]
            assert first >= event_at - 0.05, f"{way}: lost {event_at - first:.2f} s before {what}"
            during = [(a, b, k) for a, b, k in d["lost"] if b <= done_at + DETECT]
            later = sum(k for a, b, k in d["lost"] if b > done_at + DETECT)
            if cluster.mode in CARRIED:
                # a packet scheme's nodes fall out of step whenever one of them
                # misses a packet (a loaded machine drops some), and heal at the
                # next sync point: that much may be lost at any time
                assert later <= CARRIED[cluster.mode], f"{way}: {later} lost after {what} was over"
            else:
                assert not later, f"{way}: still losing {d['lost'][-1][1] - done_at:.2f} s after {what}"
            if during:
                assert during[-1][1] - first <= DETECT, f"{way}: loss spread over {during[-1][1] - first:.2f} s"
        # a packet scheme's nodes reset their turn at the agreed view, each at
        # its own packet: one sync interval of skew may follow (CARRIED)
        grace = CARRIED_FOR if cluster.mode in CARRIED else 0.05
        late = [(t, k) for t, k in d["dups"] if t > settled_at + grace]
        assert not late, f"{way}: {sum(k for _, k in late)} duplicated after the view settled"
        if cluster.mode in CARRIED:
            settling = sum(k for t, k in d["dups"] if settled_at < t <= settled_at + grace)
            assert settling <= CARRIED[cluster.mode], f"{way}: {settling} duplicated while the view settled"
    return got, wire


def restore(cluster, i):
    """After a test that failed half-way: node i (a follower) off and on
    again, whatever state it was left in."""
    if not cluster.settled(list(range(NODES))):
        cluster.script("poweroff", i)
        cluster.script("poweron", i)
        cluster.wait_settled(list(range(NODES)))


def report(cluster, headline, got, wire, t_ref=None):
    """What the far hosts got, printed (times from the monotonic t_ref),
    and the capture checked for repeated (SPI, seq) and IVs."""
    print(f"{cluster.topology}: {headline}")
    for name, d in got.items():
        describe(name, d, None if t_ref is None else t_ref - d["t0"])
    assert_wire_clean(wire, min(d["unique"] for d in got.values()) // 2)


def clean_stream(cluster, what, seconds=2.0):
    got, wire = cluster.streams(seconds).finish()
    report(cluster, f"{seconds:.0f} s both ways {what}", got, wire)
    assert_clean(got, what, CARRIED.get(cluster.mode, 0))


# -- steady state -------------------------------------------------------------

@on(EVERY_MODE)
def test_steady_stream_below_capacity(cluster):
    """2000 datagrams/s each way for 3 s, nothing happening: every datagram
    arrives once, in every outbound mode."""
    got, wire = cluster.streams(3.0).finish()
    print(f"{cluster.topology}: steady 2000/s each way")
    for name, d in got.items():
        describe(name, d)
    assert_wire_clean(wire, got["A->B"]["unique"] - 10)
    assert_clean(got, "steady stream")


# -- a follower's daemon killed ------------------------------------------------

@on(EVERY_MODE)
def test_follower_daemon_sigkill(cluster):
    """SIGKILL of node 2's cluster-filterd (Corosync stays: noticed in
    milliseconds): loss only while that is noticed, then the two survivors
    carry both streams cleanly."""
    try:
        through_event(cluster, lambda: cluster.sigkill_daemon(2), 2, [0, 1],
                      what="SIGKILL of node 2's cluster-filterd")
    finally:
        cluster.script("restart", "2")
        cluster.wait_settled([0, 1, 2])
    clean_stream(cluster, "after node 2 rejoined")


MANY_SESSIONS_RATE = 1000     # datagrams per second, each of 8 sessions
PLACED = 1.0                  # s: the default host's placements reach everyone (100 ms reports)


@on(EVERY_MODE)
@pytest.mark.parametrize("event", ["SIGKILL", "restart"])
def test_many_sessions_through_a_view_change(cluster, event):
    """Eight sessions from host A to host B in one SA when node 2's
    cluster-filterd is killed (a node leaves), or restarted (leaves and
    joins, learning the sessions with the tables): once the view has
    settled no session is doubled or lost.  (The session schemes used to
    place each running session anew at each node's own packet of the new
    view: at this rate three of eight sessions lost three quarters of
    their packets, four were doubled, for as long as they ran.)  Nor is
    any doubled from a second into the stream to the event: a session
    that a node placed apart as it began (a packet missed before it, or
    seen in another order) is placed alike after the default host's next
    report (in two CI runs one session was doubled from its first packet
    to its last).  The packet schemes lose step at any packet a node
    misses at this rate, which test_follower_daemon_sigkill bounds."""
    if cluster.mode in CARRIED:
        pytest.skip("a packet scheme keeps no sessions")
    members = [0, 1] if event == "SIGKILL" else [0, 1, 2]
    flows = [(f"A->B:{k}", None) for k in range(8)]
    # fast enough that the nodes apply the view at packets apart
    streams = cluster.streams(5.0, rate=MANY_SESSIONS_RATE, sources=flows)
    try:
        try:
            streams.at(1.5)
            t_event = time.monotonic()
            if event == "SIGKILL":
                cluster.sigkill_daemon(2)
            else:
                cluster.script("restart", "2")
            cluster.wait_settled(members)
            t_settled = time.monotonic()
        except BaseException:
            streams.kill()
            raise
        got, wire = streams.finish()
        report(cluster, f"{event} of node 2's cluster-filterd under 8 sessions, view settled "
               f"{t_settled - t_event:.2f} s after it", got, wire, t_event)
        if cluster.mode.startswith("session"):
            print("  sessions-corrected: " + ", ".join(
                f"node {i} {cluster.stats(i).get('sessions-corrected', '?')}" for i in members))
        for name, d in got.items():
            # a session a node placed apart as it began is moved by the default host's word
            placed_apart = sum(k for t, k in d["dups"] if PLACED < t < t_event - d["t0"])
            assert not placed_apart, f"{name}: {placed_apart} doubled {PLACED} s after the stream began"
            doubled = sum(k for t, k in d["dups"] if t > t_settled - d["t0"] + 0.05)
            lost = sum(k for a, b, k in d["lost"] if b > t_settled - d["t0"] + DETECT)
            # A session placed apart doubles, or loses, every packet from then on.  A loaded
            # test bed drops a burst now and then, beyond the cluster: in one CI run strongSwan
            # missed 35-42 datagrams of four sessions at once, 40 ms that the capture shows
            # the cluster had sent.  So: nothing doubled, and at most a tenth lost.
            after = MANY_SESSIONS_RATE * (5.0 - (t_settled - d["t0"] + DETECT))
            assert not doubled and lost <= max(HANDFUL, after / 10), \
                f"{name}: {doubled} doubled, {lost} of {after:.0f} lost after the view settled"
        if event == "restart" and cluster.mode.startswith("session"):
            assert int(cluster.stats(2).get("sessions-learned", 0)) >= len(flows)
    finally:
        restore(cluster, 2)


@on(ONLY_DEFAULT)
def test_daemon_restarts_with_its_clock_an_hour_behind(cluster):
    """Node 2's cluster-filterd restarts with its wall clock an hour behind
    the others' (libfaketime; its monotonic clock stays true): it rejoins,
    gets the tables, and carries its share of inbound traffic, both streams
    clean; no sync message of its new life is taken for a replay."""
    refused = cluster.drop_counters([0, 1], "sync-bad-auth", "sync-replay", "sync-malformed")
    cluster.script("restart", "2", DAEMON_CLOCK="-1h")
    try:
        pid = cluster.daemon_pid(2)
        with open(f"/proc/{pid}/environ", "rb") as f:
            assert b"FAKETIME=-1h" in f.read().split(b"\0")
        with open(f"/proc/{pid}/maps") as f:
            assert "libfaketime" in f.read()
        cluster.wait_settled([0, 1, 2])
        before = cluster.owned([2])[2]
        clean_stream(cluster, "with node 2's wall clock an hour behind")
        after = cluster.owned([2])[2]
        # inbound packets are spread over the members by (SPI, seq); outbound has one writer
        assert after["B->A"] > before["B->A"], (before, after)
        assert cluster.drop_counters([0, 1], "sync-bad-auth", "sync-replay", "sync-malformed") == refused
    finally:
        cluster.script("restart", "2")
        cluster.wait_settled([0, 1, 2])


@on(ONLY_DEFAULT)
def test_follower_daemon_hangs(cluster):
    """Node 2's cluster-filterd hangs (SIGSTOP) during streams both ways.
    Corosync keeps it in the group, so no configuration change comes: the
    others notice that it has been silent for 2 s, and close a round
    without it 2 s later.  Loss is its share until then; woken up
    (SIGCONT) it reads what it missed and comes back by itself, and the
    streams are clean afterwards."""
    pid, seconds = cluster.daemon_pid(2), 10.0
    # a hang is a silence of seconds: the far hosts must not take it for the end
    streams = cluster.streams(seconds, silence=4.0)
    try:
        streams.at(1.0)
        before = cluster.owned([0, 1, 2])
        streams.at(1.5)
        mid = cluster.owned([0, 1, 2])
        t_stop = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            cluster.wait_settled([0, 1], timeout=15)
            t_out = time.monotonic() - t_stop
            streams.at(7.0)
        finally:
            os.kill(pid, signal.SIGCONT)
        t_cont = time.monotonic()
        cluster.wait_settled([0, 1, 2], timeout=15)
        t_back = time.monotonic() - t_cont
    except BaseException:
        streams.kill()
        raise
    got, wire = streams.finish()
    report(cluster, f"node 2's daemon stopped at +{t_stop - streams.t_start:.2f} s; left out after "
           f"{t_out:.2f} s; woken up at +{t_cont - streams.t_start:.2f} s, back in after {t_back:.2f} s",
           got, wire, t_stop)
    for way, d in got.items():
        # its share until it was left out, and everything while the round that
        # left it out waited for it (inbound waits in a round: 0.3 s); then,
        # woken up, what a rejoin costs
        share = shares(before, mid, way).get(2, 0.0)
        stop_at, cont_at = t_stop - d["t0"], t_cont - d["t0"]
        hung = sum(k for a, b, k in d["lost"] if a < cont_at)
        rejoin = sum(k for a, b, k in d["lost"] if a >= cont_at)
        bound = share * RATE * t_out + RATE * 0.4 + HANDFUL
        assert hung <= bound, f"{way}: {hung} lost while node 2 hung, more than {bound:.0f} (its share {share:.2f})"
        assert rejoin <= share * RATE * DETECT + HANDFUL, f"{way}: {rejoin} lost when node 2 came back"
        # a datagram sent up to 50 ms before an event is still in flight at it
        for a, b, k in d["lost"]:
            assert stop_at - 0.05 <= a and (b <= stop_at + t_out + 0.5 or
                                            cont_at - 0.05 <= a <= cont_at + t_back + DETECT), \
                f"{way}: {k} lost at +{a:.2f} s, outside the hang and the return"
        assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
    clean_stream(cluster, "after node 2 woke up")


@on(ONLY_DEFAULT)
def test_follower_rejoins(cluster):
    """Node 2's daemon died a while ago; a fresh one (cluster.sh restart 2)
    joins during the streams and gets the tables: loss only while the view
    changes, none after."""
    cluster.sigkill_daemon(2)
    try:
        cluster.wait_settled([0, 1])
        through_event(cluster, lambda: cluster.script("restart", "2"), 2, [0, 1, 2], members_before=[0, 1],
                      seconds=8.0, what="node 2 rejoining")
    finally:
        restore(cluster, 2)


@on(ONLY_DEFAULT)
def test_daemon_restart(cluster):
    """Node 1's cluster-filterd restarts (SIGTERM, then a fresh daemon): two
    view changes in about a second, loss only meanwhile."""
    try:
        through_event(cluster, lambda: cluster.script("restart", "1"), 1, [0, 1, 2], seconds=8.0,
                      what="restart of node 1's cluster-filterd")
    finally:
        restore(cluster, 1)


@on(ONLY_DEFAULT)
def test_pluto_waits_quietly_for_its_data_plane(cluster):
    """A follower's cluster-filterd dies under its running pluto: pluto says
    so once, keeps quiet without spinning on the closed socket, and takes
    up the restarted daemon by itself."""
    log = f"{cluster.run_dir}/n2-pluto.log"
    with open(f"{cluster.run_dir}/n2-pluto.pid") as f:
        pluto = int(f.read())

    def said(what):
        with open(log) as f:
            return f.read().count(what)

    def cpu_seconds():
        with open(f"/proc/{pluto}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    gone, back = said("the data plane went away"), said("the data plane is back")
    try:
        cluster.sigkill_daemon(2)
        wait_for(lambda: said("the data plane went away") == gone + 1, what="pluto noticing")
        before = cpu_seconds()
        time.sleep(2.0)     # a window to measure: no condition ends a spin
        spent = cpu_seconds() - before
        print(f"{cluster.topology}: pluto without its data plane: {spent:.2f} CPU-s in 2 s, "
              f"{said('the data plane went away') - gone} line(s) about it")
        assert said("the data plane went away") == gone + 1
        assert spent < 0.2, f"pluto spent {spent:.2f} CPU-s in 2 s without its data plane"
    finally:
        cluster.script("restart", "2")
    wait_for(lambda: said("the data plane is back") == back + 1, timeout=10, what="pluto reconnecting")
    cluster.wait_settled([0, 1, 2])


# -- power -------------------------------------------------------------------

@on(ONLY_DEFAULT)
def test_follower_power_loss(cluster):
    """Node 2 loses power (its switch ports go down, its processes die):
    noticed after Corosync's token, then the survivors carry everything."""
    try:
        through_event(cluster, lambda: cluster.script("poweroff", "2"), 2, [0, 1],
                      what="node 2's power loss")
    finally:
        cluster.script("poweron", "2")
        restore(cluster, 2)
    clean_stream(cluster, "after node 2 came back")


@on(ONLY_DEFAULT)
def test_follower_powers_back_on(cluster):
    """Node 2 boots (Corosync, cluster-filterd, pluto) during the streams
    and joins the view: loss only while it joins."""
    cluster.script("poweroff", "2")
    try:
        cluster.wait_settled([0, 1])
        through_event(cluster, lambda: cluster.script("poweron", "2"), 2, [0, 1, 2], members_before=[0, 1],
                      seconds=9.0, what="node 2 powering on")
    finally:
        restore(cluster, 2)


# -- one node misses packets ---------------------------------------------------

EXTRA_HOSTS = (3, 4)          # 10.0.1.3 and 10.0.1.4 at host A, one Child SA each


def add_child_conns(cluster, hosts, nodes):
    """The connections of add_children(), added to the pluto of each of NODES."""
    with open(f"{cluster.run_dir}/ipsec.conf") as f:
        setup, conn = f.read().split("conn tunnel\n")
    with open(f"{cluster.run_dir}/children.conf", "w") as f:
        f.write(setup + "".join(f"conn tunnel-a{h}\n" + conn.replace("leftsubnet=10.0.1.0/24",
                                                                    f"leftsubnet=10.0.1.{h}/32")
                                for h in hosts))
    for i in nodes:
        cluster.exec(f"n{i}", LSW / "addconn", "--config", f"{cluster.run_dir}/children.conf",
                     "--ctlsocket", f"{cluster.run_dir}/n{i}/pluto.ctl",
                     *(f"tunnel-a{h}" for h in hosts))


def add_children(cluster, hosts=EXTRA_HOSTS, timeout=10.0):
    """More Child SAs under the same IKE SA, one for each of host A's
    10.0.1.H/32 (strongSwan narrows its 10.0.1.0/24 to them): with one
    writer per SA, spreading the load takes several SAs.  Two are
    initiated one after the other, more all at once (--asynchronous)."""
    add_child_conns(cluster, hosts, range(NODES))
    for h in hosts:
        cluster.exec("ha", "ip", "addr", "add", f"10.0.1.{h}/24", "dev", "lan")
    for h in hosts:
        out = cluster.whack(cluster.default_host(), "--name", f"tunnel-a{h}", "--initiate",
                            *(["--asynchronous"] if len(hosts) > 2 else []))
        assert len(hosts) > 2 or "established Child SA" in out, out
    wait_for(lambda: all(sum(s["dir"] == "out" for s in cluster.sa_list(i)) == 1 + len(hosts)
                         for i in range(NODES)), timeout=timeout, what="the Child SAs on every node")


def remove_children(cluster, hosts=EXTRA_HOSTS, timeout=10.0):
    """The extra Child SAs deleted at both ends (--terminate tells strongSwan;
    --delete alone would leave them there), their connections removed."""
    for h in hosts:
        cluster.whack(cluster.default_host(), "--name", f"tunnel-a{h}", "--terminate")
    for i in range(NODES):
        for h in hosts:
            cluster.whack(i, "--name", f"tunnel-a{h}", "--delete")
    for h in hosts:
        cluster.exec("ha", "ip", "addr", "del", f"10.0.1.{h}/24", "dev", "lan", check=False)
    wait_for(lambda: all(sum(s["dir"] == "out" for s in cluster.sa_list(i)) == 1 for i in range(NODES))
             and cluster.swanctl("--list-sas").count(" INSTALLED,") == 1, timeout=timeout,
             what="the extra Child SAs gone")


@on(ONLY_DEFAULT)
def test_one_node_misses_5_percent(cluster):
    """Node 1 loses 5 % of its inside packets (on the wire: the switch drops
    them on its port to node 1, before the node's fast path or anything
    else sees them), over three Child SAs from three addresses at host A:
    host B still gets at least 100 % - 5 %/N - 0.5 % of the datagrams."""
    add_children(cluster)
    try:
        with switch_drops(cluster.prefix, "i1") as lost:
            before = {i: {s["spi"]: int(s["packets"]) for s in cluster.sa_list(i) if s["dir"] == "out"}
                      for i in range(NODES)}
            flows = [(f"A(10.0.1.{h})->B", f"10.0.1.{h}") for h in (2, *EXTRA_HOSTS)]
            got, wire = cluster.streams(3.0, rate=RATE // 2, sources=flows).finish()
            after = {i: {s["spi"]: int(s["packets"]) for s in cluster.sa_list(i) if s["dir"] == "out"}
                     for i in range(NODES)}
    finally:
        remove_children(cluster)
    dropped = lost["dropped"]
    sent = sum(d["count"] for d in got.values())
    delivered = sum(d["unique"] for d in got.values())
    floor = 1 - 0.05 / NODES - 0.005
    print(f"{cluster.topology}: node 1 dropped {dropped} of ~{sent} inside packets; host B got "
          f"{delivered} ({100 * delivered / sent:.2f} %, at least {100 * floor:.2f} % wanted)")
    for name, d in got.items():
        describe(name, d)
    for spi in after[0]:
        print(f"  out SA {spi}: encrypted by node " +
              ", ".join(f"{i}: {after[i].get(spi, 0) - before[i].get(spi, 0)}" for i in range(NODES)))
    assert_wire_clean(wire, delivered // 2)
    assert 0.03 * sent <= dropped <= 0.07 * sent, dropped
    assert delivered >= floor * sent
    assert all(d["duplicates"] == 0 for d in got.values()), "duplicated datagrams"


def stream_with_shares(cluster, seconds, flows):
    """A stream over FLOWS for SECONDS that a change's gap does not end,
    and what each node had written at 0.5 s and at 1.5 s into it, for its
    share before the change: (streams, before, mid)."""
    streams = cluster.streams(seconds, sources=flows, silence=DETECT)
    try:
        streams.at(0.5)
        before = cluster.owned(range(NODES))
        streams.at(1.5)
        return streams, before, cluster.owned(range(NODES))
    except BaseException:
        streams.kill()
        raise


MANY_HOSTS = range(10, 110)    # host A's 10.0.1.10 .. 10.0.1.109, a Child SA each
HUNDRED_FLOOD_SECONDS = 3
MANY_SECONDS = 20.0     # a stream during which the hundred are negotiated or rekeyed


@on(ONLY_DEFAULT)
def test_a_hundred_child_sas_during_a_stream(cluster):
    """A hundred more Child SAs, for host A's 10.0.1.10-109, are
    negotiated at once while the tunnel carries its streams: every node
    goes from one outbound SA and policy to 101 at its own moments, and
    looks its packets up between the changes (the policy index tries the
    new policies beside it until it is built again).  The streams must
    not notice.  Then one stream from all hundred addresses in turn:
    every datagram arrives once, each SA has one writer, every node
    writes some, and the kernel's tables judged them all (no node's
    daemon read a cleartext packet it does not write).  Then node 1
    misses 5 % of its inside packets during such a stream: nothing
    doubled, no more lost than its share of what it missed.  Then host A
    floods from all hundred addresses, far beyond capacity: nothing
    doubled or repeated on the wire, at least twice the streams' rate
    carried, and the stream right after it arrives whole.  Then the
    default host loses power during a stream: loss only of its share
    until the others settle, and the next default host takes the IKE SA
    over with all 101 Child SAs (it rekeys them next).  Then the cluster
    rekeys all hundred at once during such a stream: at most a handful
    lost, nothing doubled.  Then a follower's daemon is killed and started
    again during one: loss only of its share while it goes and comes back,
    and the fresh daemon has every SA.  Then all hundred go, from every
    node and from strongSwan."""
    hosts = list(MANY_HOSTS)
    # long enough for the hundred negotiations, each exchange's IKE record
    # (up to 12 KB) put through Corosync before its last message leaves:
    # 6-11 s here
    streams = cluster.streams(MANY_SECONDS)
    try:
        streams.at(1.0)
        t = time.monotonic()
        add_children(cluster, hosts, timeout=60.0)
        took = time.monotonic() - t
    except BaseException:
        streams.kill()
        with contextlib.suppress(Exception):
            remove_children(cluster, hosts, timeout=60.0)
        raise
    try:
        got, wire = streams.finish()
        report(cluster, f"a hundred Child SAs negotiated in {took:.1f} s during the streams", got, wire)
        assert 1.0 + took + 0.5 <= streams.seconds, "the stream ended before the Child SAs were up"
        assert_clean(got, "a hundred Child SAs coming up")

        before = {i: {s["spi"]: int(s["packets"]) for s in cluster.sa_list(i) if s["dir"] == "out"}
                  for i in range(NODES)}
        clear_before = [cluster.stats(i) for i in range(NODES)]
        flows = [("A(10.0.1.10-109)->B", f"10.0.1.{hosts[0]}-10.0.1.{hosts[-1]}")]
        got, wire = cluster.streams(3.0, sources=flows).finish()
        after = {i: {s["spi"]: int(s["packets"]) for s in cluster.sa_list(i) if s["dir"] == "out"}
                 for i in range(NODES)}
        clear_after = [cluster.stats(i) for i in range(NODES)]
        report(cluster, "one stream from a hundred addresses, a Child SA each", got, wire)
        assert_clean(got, "a stream over a hundred Child SAs")
        writers = collections.Counter()
        for spi in after[0]:
            wrote = [i for i in range(NODES) if after[i].get(spi, 0) > before[i].get(spi, 0)]
            assert len(wrote) <= 1, f"out SA {spi} written by nodes {wrote}"
            writers.update(wrote)
        print(f"  Child SAs written per node: {dict(sorted(writers.items()))}")
        assert sum(writers.values()) >= len(hosts), writers
        assert all(writers[i] >= len(hosts) // (2 * NODES) for i in range(NODES)), writers
        read = [int(a.get("rx-clear", 0)) - int(b.get("rx-clear", 0)) for a, b in zip(clear_after, clear_before)]
        written = [sum(after[i][spi] - before[i].get(spi, 0) for spi in after[i]) for i in range(NODES)]
        print(f"  cleartext read by each daemon {read}, sealed {written}")
        assert read == written, "a daemon read cleartext it does not write"

        # node 1 misses 5 % of its inside packets on the wire: it loses
        # only what it would have written, and no SA's numbers slip
        with switch_drops(cluster.prefix, "i1") as lost:
            got, wire = cluster.streams(3.0, sources=flows).finish()
        d = got[flows[0][0]]
        share = written[1] / max(sum(written), 1)
        report(cluster, f"node 1 misses {lost['dropped']} of its inside packets during a stream over them "
               f"(it writes {100 * share:.0f} %)", got, wire)
        assert 0.03 * d["count"] <= lost["dropped"] <= 0.07 * d["count"], lost["dropped"]
        assert d["duplicates"] == 0 and d["missing"] <= lost["dropped"] * min(1.0, 1.5 * share) + HANDFUL, \
            f"{d['missing']} lost, {d['duplicates']} duplicated, node 1 dropped {lost['dropped']}"

        # a flood over all hundred far beyond what the cluster carries,
        # then a stream over them that must arrive whole
        flood, d, wire, _ = counted_flood(cluster, HUNDRED_FLOOD_SECONDS, f"10.0.1.{hosts[0]}-10.0.1.{hosts[-1]}")
        during = d["unique"] / HUNDRED_FLOOD_SECONDS
        print(f"{cluster.topology}: a flood from a hundred addresses for {HUNDRED_FLOOD_SECONDS} s: "
              f"{d['unique']} of {flood['sent']} arrived ({during:.0f}/s), {d['duplicates']} duplicated")
        assert_wire_clean(wire, d["unique"] // 2)
        assert d["duplicates"] == 0, "datagrams duplicated under a flood"
        assert during >= 2 * RATE, "the cluster carries less than the streams' rate under a flood"
        got, wire = cluster.streams(3.0, sources=flows).finish()
        report(cluster, "right after the flood, a stream over the hundred Child SAs", got, wire)
        assert_clean(got, "a stream right after a flood over a hundred Child SAs")

        # the default host loses power during a stream over them: the next
        # one takes its IKE SA over with every Child SA, and it is the one
        # that rekeys them all below
        first = cluster.default_host()
        survivors = [i for i in range(NODES) if i != first]

        def takeovers(i):
            return [line for line in pluto_log(cluster, i).splitlines() if "took over the IKE SA" in line]
        took_before = {i: len(takeovers(i)) for i in survivors}
        streams, before, mid = stream_with_shares(cluster, 8.0, flows)
        try:
            t_off = time.monotonic()
            cluster.script("poweroff", str(first))
            cluster.wait_settled(survivors)
            t_settled = time.monotonic()
        except BaseException:
            streams.kill()
            with contextlib.suppress(Exception):
                cluster.script("poweron", str(first))
                add_child_conns(cluster, hosts, [first])
            raise
        got, wire = streams.finish()
        report(cluster, f"node {first}, the default host, powered off at +{t_off - streams.t_start:.2f} s, "
               f"the others settled after {t_settled - t_off:.2f} s", got, wire, t_off)
        share = shares(before, mid, "A->B")[first]
        bound = share * RATE * DETECT + HANDFUL
        for name, d in got.items():
            late = sum(k for t, k in d["dups"] if t > t_settled - d["t0"] + 0.05)
            assert d["missing"] <= bound and late == 0, \
                f"{name}: {d['missing']} lost (node {first}'s share {share:.2f}: {bound:.0f} allowed), " \
                f"{late} duplicated after the others settled"
        speaker = cluster.default_host(survivors)
        wait_for(lambda: len(takeovers(speaker)) > took_before[speaker], timeout=10.0,
                 what=f"node {speaker} taking over the IKE SA")
        line = takeovers(speaker)[-1]
        assert f"took over the IKE SA and {1 + len(hosts)} Child SA(s)" in line, line
        cluster.script("poweron", str(first))
        add_child_conns(cluster, hosts, [first])
        cluster.wait_settled(list(range(NODES)))
        assert len(cluster.sa_list(first)) == 2 * (1 + len(hosts)), "the node back on lacks SAs"

        # all hundred rekeyed at once by the cluster, during a stream over them
        old = {s["spi"] for s in cluster.sa_list(0) if s["dir"] == "out"}
        speaker = cluster.default_host()
        streams = cluster.streams(MANY_SECONDS, sources=flows)
        try:
            streams.at(1.0)
            t = time.monotonic()
            for h in hosts:
                cluster.whack(speaker, "--asynchronous", "--rekey-child", "--name", f"tunnel-a{h}")
            wait_for(lambda: all((lambda out: len(out) == 1 + len(hosts) and len(out & old) == 1)(
                {s["spi"] for s in cluster.sa_list(i) if s["dir"] == "out"}) for i in range(NODES)),
                timeout=60.0, what="every Child SA rekeyed on every node")
            took = time.monotonic() - t
        except BaseException:
            streams.kill()
            raise
        got, wire = streams.finish()
        report(cluster, f"a hundred Child SAs rekeyed at once, on every node in {took:.1f} s", got, wire)
        assert 1.0 + took + 0.5 <= streams.seconds, "the stream ended before the rekeys were over"
        # A rekey moves an SA to the node powered on again while its writer
        # carries clearly more than its share (cf_dp_choose_writer()): 43 of
        # the hundred here.  What reaches the two nodes while their kernel
        # tables disagree is dropped by both, a few ms at 20 datagrams/s an
        # SA: 1-8 of 40,000 here.
        for name, d in got.items():
            assert d["duplicates"] == 0 and d["missing"] <= HANDFUL + len(hosts) // 10, \
                f"{name}: {d['missing']} lost, {d['duplicates']} duplicated of {d['count']}"

        # a follower's daemon killed during a stream over them, then started
        # again: its writers move to the others, and the fresh daemon takes
        # all 202 SAs from the default host
        victim = next(i for i in reversed(range(NODES)) if i != speaker)
        streams, before, mid = stream_with_shares(cluster, 10.0, flows)
        try:
            t_kill = time.monotonic()
            cluster.sigkill_daemon(victim)
            cluster.wait_settled([i for i in range(NODES) if i != victim])
            t_out = time.monotonic()
            cluster.script("restart", str(victim))
            cluster.wait_settled(list(range(NODES)))
            t_back = time.monotonic()
        except BaseException:
            streams.kill()
            with contextlib.suppress(Exception):
                restore(cluster, victim)
            raise
        got, wire = streams.finish()
        report(cluster, f"node {victim}'s daemon killed at +{t_kill - streams.t_start:.2f} s, left out after "
               f"{t_out - t_kill:.2f} s, a fresh one back in after {t_back - t_out:.2f} s", got, wire, t_kill)
        assert t_back + 0.5 <= streams.t_start + streams.seconds, "the stream ended before the node was back"
        share = shares(before, mid, "A->B")[victim]
        bound = share * RATE * 2 * DETECT + HANDFUL     # what it wrote, while it went and came back
        for name, d in got.items():
            late = sum(k for t, k in d["dups"] if t > t_back - d["t0"] + 0.05)
            assert d["missing"] <= bound and late == 0, \
                f"{name}: {d['missing']} lost (node {victim}'s share {share:.2f}: {bound:.0f} allowed), " \
                f"{late} duplicated after it was back"
        assert len(cluster.sa_list(victim)) == 2 * (1 + len(hosts)), "the fresh daemon lacks SAs"
    finally:
        remove_children(cluster, hosts, timeout=60.0)


CHILD_ROUNDS = 3


@on(EVERY_MODE)
def test_child_sas_come_and_go_during_a_stream(cluster):
    """Two Child SAs for single hosts (their policies go ahead of the
    tunnel's /24 in every node's tables) are negotiated and deleted, three
    times, while the tunnel carries 2000 datagrams/s each way.  Each node
    meets each change at a packet of its own; the tunnel's traffic must
    not notice, in any mode.  In packet-rr the kernel keeps the tunnel's
    turn in a slot its SA holds: were the slot the policy's place (a
    one-line mutation of fastpath.c), every node would move the turn at
    its own moment of each change, and the nodes would send the same
    packets twice or not at all until the next sync point (159 lost and
    160 doubled of 10,000)."""
    streams = cluster.streams(8.0)
    changes = []
    try:
        streams.at(1.0)
        for _ in range(CHILD_ROUNDS):
            t = time.monotonic()
            add_children(cluster)
            remove_children(cluster)
            changes.append((t - streams.t_start, time.monotonic() - t))
    except BaseException:
        streams.kill()
        with contextlib.suppress(Exception):    # the first failure is the one to see
            remove_children(cluster)
        raise
    got, wire = streams.finish()
    report(cluster, "two Child SAs added and deleted at " +
           ", ".join(f"+{at:.2f} s (in {took:.2f} s)" for at, took in changes), got, wire)
    at, took = changes[-1]
    assert at + took + 0.5 <= streams.seconds, "the stream ended before the changes were over"
    for way, d in got.items():
        # what a packet scheme carried over from the module's last stream is not this test's
        lost = sum(k for a, _, k in d["lost"] if a > CARRIED_FOR)
        doubled = sum(k for t, k in d["dups"] if t > CARRIED_FOR)
        assert doubled == 0 and lost <= HANDFUL, \
            f"{way}: {lost} lost, {doubled} duplicated of {d['count']} after the first {CARRIED_FOR} s"


SIXTEEN_SESSIONS = [(f"A->B:{k}", None) for k in range(16)]


def sessions_corrected(cluster):
    """Sessions the members moved where the default host placed them."""
    return sum(int(cluster.stats(i).get("sessions-corrected", 0)) for i in range(NODES))


@on(EVERY_MODE)
def test_sessions_while_one_node_misses_5_percent(cluster):
    """Sixteen sessions begin while node 1 loses 5 % of its inside packets
    on the wire.  Missing packets before a session's first, node 1 may
    place that session apart from the others, and its packets then went
    to two nodes or to none for as long as it ran.  The default host's
    placements put such a session right within a report: a second into
    the streams no session is doubled, and none loses more than node 1
    misses of its own."""
    if not cluster.mode.startswith("session"):
        pytest.skip("the session schemes place sessions")
    before = sessions_corrected(cluster)
    seconds, rate = 4.0, MANY_SESSIONS_RATE // 4
    with switch_drops(cluster.prefix, "i1") as lost:
        got, wire = cluster.streams(seconds, rate=rate, sources=SIXTEEN_SESSIONS).finish()
    print(f"{cluster.topology}: node 1 dropped {lost['dropped']} inside packets of "
          f"{sum(d['count'] for d in got.values())}; {sessions_corrected(cluster) - before} sessions corrected")
    for name, d in got.items():
        describe(name, d)
    assert_wire_clean(wire, sum(d["unique"] for d in got.values()) // 2)
    for name, d in got.items():
        doubled = sum(k for t, k in d["dups"] if t > PLACED)
        lost_after = sum(k for a, b, k in d["lost"] if a > PLACED)
        # a session of node 1's loses what node 1 misses, 5 %; one placed on nobody, all
        assert not doubled and lost_after <= 0.1 * rate * (seconds - PLACED), \
            f"{name}: {doubled} doubled, {lost_after} lost after {PLACED} s"


@on(EVERY_MODE)
def test_sessions_begun_during_a_flood(cluster):
    """Sixteen sessions begin while host A floods host B beyond what the
    cluster carries, and node 1 misses 5 % of its inside packets on the
    wire besides.  Nodes that miss different packets place some of the new
    sessions apart; the default host's placements, which put them right,
    ride on Corosync beside the flood and wait while Corosync cannot take
    them (they are held, not dropped).  Counted at host B: from a report's
    reach after the flood on, no session is doubled or loses a datagram."""
    if not cluster.mode.startswith("session"):
        pytest.skip("the session schemes place sessions")
    before = sessions_corrected(cluster)
    port, receiver, dump, pcap = flood_counted_and_captured(cluster)
    flood = streams = None
    try:
        with switch_drops(cluster.prefix, "i1") as lost:
            owned = cluster.owned(range(NODES))
            flood = cluster.popen("ha", BIN / "udpflood", "10.0.2.2", port, SIZE + 28, FLOOD_SECONDS)
            wait_for(lambda: sum(v["A->B"] - owned[i]["A->B"] for i, v in cluster.owned(range(NODES)).items())
                     > 2000, timeout=FLOOD_SECONDS, what="the flood through the cluster")
            streams = cluster.streams(FLOOD_SECONDS + 3, rate=MANY_SESSIONS_RATE // 4,
                                      sources=SIXTEEN_SESSIONS, capture=False)
            out, _ = flood.communicate(timeout=FLOOD_SECONDS + 30)
            over = time.monotonic() - streams.t_start
        sent = int(kv(out)["sent"])
        got, _ = streams.finish()
        out, _ = receiver.communicate(timeout=60)
        flooded = json.loads(out.strip().splitlines()[-1])
    finally:
        stop(flood, receiver, dump)
        if streams is not None:
            streams.kill()
    wire = esp_packets(pcap)
    os.unlink(pcap)
    last = max((t for d in got.values() for t, _ in d["dups"]), default=None)
    print(f"{cluster.topology}: a flood of {sent} datagrams ({flooded['unique']} arrived), over "
          f"{over:.2f} s into the sessions; node 1 missed {lost['dropped']} inside packets; "
          f"{sessions_corrected(cluster) - before} sessions corrected; the last datagram doubled "
          f"{'none' if last is None else f'{last:.2f} s'} into the sessions")
    for name, d in got.items():
        describe(name, d)
    assert_wire_clean(wire, flooded["unique"] // 2)
    for name, d in got.items():
        doubled = sum(k for t, k in d["dups"] if t > over + PLACED)
        lost_after = sum(k for a, b, k in d["lost"] if a > over + PLACED)
        assert not doubled and lost_after <= HANDFUL, \
            f"{name}: {doubled} doubled, {lost_after} lost from {PLACED} s after the flood on"


# -- replays across a view change ---------------------------------------------

REPLAYED = 100


def replay(cluster, packets, nodes):
    """Send strongSwan's packets again from the peer; how many the members
    delivered and how many they rejected as replayed or too old."""
    counts = lambda: (cluster.drop_counters(nodes, "tx-clear"),  # noqa: E731
                      cluster.drop_counters(nodes, "replay", "too-old"))
    delivered, rejected = counts()
    code = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('192.0.2.2',4501))\n"
            "for h in sys.stdin.read().split(): s.sendto(bytes.fromhex(h),('192.0.2.1',4500))")
    subprocess.run(["ip", "netns", "exec", f"{cluster.prefix}-peer", "/usr/bin/python3", "-c", code],
                   input="\n".join(p.hex() for p in packets), text=True, check=True, timeout=30)
    try:
        wait_for(lambda: sum(counts()) - delivered - rejected >= len(packets), timeout=5,
                 what="every replayed packet counted")
    except AssertionError:
        pass
    now = counts()
    return now[0] - delivered, now[1] - rejected


def strongswan_packets(cluster):
    """A short stream B->A, captured whole: strongSwan's ESP packets."""
    streams = cluster.streams(0.2, ways=("B->A",), snaplen=0)
    got, wire = streams.finish()
    assert_clean(got, "the stream to replay")
    return [p for src, p in wire if src == PEER_IP]


@on(ONLY_DEFAULT)
def test_replay_right_after_a_view_change(cluster):
    """strongSwan's last packets, sent again right after a view change
    (node 2 leaving, then node 2 rejoining), are rejected by their new
    owners: counted as replayed or too old, never delivered."""
    try:
        packets = strongswan_packets(cluster)[-REPLAYED:]
        cluster.sigkill_daemon(2)
        cluster.wait_settled([0, 1])
        leave = replay(cluster, packets, [0, 1])
        packets = strongswan_packets(cluster)[-REPLAYED:]
        cluster.script("restart", "2")
        cluster.wait_settled([0, 1, 2])
        join = replay(cluster, packets, [0, 1, 2])
    finally:
        restore(cluster, 2)
    print(f"{cluster.topology}: {REPLAYED} replayed after node 2 left: {leave[0]} delivered, "
          f"{leave[1]} rejected; after it rejoined: {join[0]} delivered, {join[1]} rejected")
    assert leave == (0, REPLAYED) and join == (0, REPLAYED)


# -- rekeys ------------------------------------------------------------------

REKEYS = 3
REKEY_SESSIONS = 4
SESSION_MODES = ("session-rr", "session-sqf")
# a session placed apart at its start lasts until the default host's next
# placements reach every node: a report interval (0.1 s) and Corosync's delay
PLACED_APART_FOR = 0.5
HEAL = 3.0           # s after a rekey's SAs are on every node: the new outbound SA waits up to
                     # 2 s for the peer's first packet on it (docs/DESIGN.md, "Rekeys"), then
                     # the shared modes settle at the next sync points


def child_spis(cluster, nodes=range(NODES)):
    return [tuple(sorted(s["spi"] for s in cluster.sa_list(i))) for i in nodes]


@on(EVERY_MODE_AND_NO_PFS)
def test_three_rekeys_by_strongswan(cluster):
    """strongSwan rekeys the Child SA three times (with a key exchange, and
    in the no-pfs topology without) during 2000 datagrams/s each way: the
    default mode loses at most a handful per rekey and duplicates nothing;
    the paper's schemes may lose and duplicate more, but only until 1 s
    after the new SA is on every node.  Afterwards every mode is clean.
    Before the first rekey nothing is lost but what the kernel dropped on
    the way (a loaded machine: CI once lost one datagram in two of the
    session-sqf streams at +0.61 s), and in the session schemes what a
    session placed apart at its start costs until the default host's
    placements correct it (CI once: 77 lost of one session and 79 doubled
    of another at +0.10..+0.18 s, session-sqf)."""
    with open(f"{cluster.ssdir}/charon.log", errors="replace") as f:
        log_start = len(f.read())
    seconds, slots = 8.0, [1.5, 3.5, 5.5]
    drops_before = cluster.drops()
    if cluster.mode in CARRIED:
        # one sender: several put the packet schemes out of step (test_many_sessions_...)
        streams = cluster.streams(seconds)
    else:
        # several sessions, each of which a session scheme must keep where it runs
        flows = [(f"A->B:{k}", None) for k in range(REKEY_SESSIONS)] + [("B->A", None)]
        streams = cluster.streams(seconds, rate=RATE // 2, sources=flows)
    rekeys = []
    try:
        for slot in slots[:REKEYS]:
            streams.at(slot)
            old = child_spis(cluster)[0]
            t = time.monotonic()
            out = cluster.swanctl("--rekey", "--child", "tunnel")
            assert "rekey completed successfully" in out, out
            # the new pair on every node, the old one gone
            try:
                wait_for(lambda: (lambda s: len(set(s)) == 1 and len(s[0]) == 2 and not set(s[0]) & set(old))(
                    child_spis(cluster)), timeout=10, what="the rekeyed SAs on every node")
            except AssertionError as e:
                raise AssertionError(f"{e}: before {old}, now {child_spis(cluster)}") from None
            rekeys.append((t, time.monotonic()))
    except BaseException:
        streams.kill()
        raise
    got, wire = streams.finish()
    drops = {k: v - drops_before.get(k, 0) for k, v in cluster.drops().items() if v > drops_before.get(k, 0)}
    with open(f"{cluster.ssdir}/charon.log", errors="replace") as f:
        chosen = [ln.split("selected proposal: ")[1].strip() for ln in f.read()[log_start:].splitlines()
                  if "selected proposal: ESP" in ln]
    print(f"{cluster.topology}: {REKEYS} rekeys by strongSwan, ESP proposals chosen: {chosen}")
    for name, d in got.items():
        describe(name, d, streams.t_start - d["t0"])
    for k, (t, done) in enumerate(rekeys):
        print(f"  rekey {k + 1} at +{t - streams.t_start:.2f} s, on every node after {done - t:.2f} s")
    assert_wire_clean(wire, min(d["unique"] for d in got.values()) // 2)
    assert len(chosen) == REKEYS
    assert all(("CURVE_25519" in c) == cluster.pfs for c in chosen), "PFS (or its absence) not as configured"
    early = 0   # lost before any rekey: only what the kernel dropped on the way may be
    for name, d in got.items():
        # each lost run and duplicate falls to the rekey that started last before it
        starts = [t - d["t0"] for t, _ in rekeys]
        per_rekey = [0] * len(rekeys)
        for a, b, k, what in [(a, b, k, "lost") for a, b, k in d["lost"]] + \
                             [(t, t, k, "duplicated") for t, k in d["dups"]]:
            idx = max([j for j, s in enumerate(starts) if s <= a + 0.05], default=None)
            if idx is None and cluster.mode in SESSION_MODES and b <= PLACED_APART_FOR:
                # a node that missed a packet before a session's first placed it
                # apart; the default host's placements put it right (DESIGN.md)
                print(f"  {name}: {k} {what} at {a:.2f} s, a session placed apart at its start")
                continue
            if idx is None and what == "lost":
                print(f"  {name}: {k} lost at {a:.2f} s, before any rekey")
                early += k
                continue
            assert idx is not None, f"{name}: {k} {what} at {a:.2f} s, before any rekey"
            assert b <= rekeys[idx][1] - d["t0"] + HEAL, \
                f"{name}: {k} {what} at {a:.2f} s, {a - starts[idx]:.2f} s after rekey {idx + 1} began"
            per_rekey[idx] += k if what == "lost" else 0
        if cluster.topology in (DEFAULT, NO_PFS):
            assert max(per_rekey) <= HANDFUL, f"{name}: lost per rekey {per_rekey}"
            assert d["duplicates"] == 0, f"{name}: {d['duplicates']} duplicated"
    assert early <= sum(drops.values()), \
        f"{early} lost before any rekey, more than the kernel dropped on the way: {drops}"
    clean_stream(cluster, "after the rekeys", seconds=3.0)


# -- overload -----------------------------------------------------------------

def flood_counted_and_captured(cluster):
    """A port at host B whose datagrams are counted, and a capture of the
    peer's outside link: (port, counter, tcpdump, pcap path)."""
    port = cluster.next_port()
    receiver = cluster.popen("hb", "/usr/bin/python3", TESTBED / "udp_stream.py", "count", port, "1.0")
    assert receiver.stdout.readline().strip() == "ready"
    pcap = f"{cluster.run_dir}/events-{port}.pcap"
    dump = cluster.popen("peer", "tcpdump", "-i", "out", "-n", "-s", "128", "-B", "32768", "-w", pcap,
                         "udp port 4500")
    if "listening on" not in dump.stderr.readline():
        for p in (receiver, dump):
            p.kill()
            p.communicate()
        raise AssertionError("tcpdump did not start")
    return port, receiver, dump, pcap


def stop(*procs):
    """Terminate whichever of PROCS (None: not started) still runs, and reap it."""
    for p in procs:
        if p is not None and p.poll() is None:
            p.terminate()
            p.communicate(timeout=10)


def counted_flood(cluster, seconds, *source_range):
    """Host A floods host B for SECONDS (udpflood; from the addresses of
    SOURCE_RANGE in turn, if given), counted at host B and captured on the
    peer's outside link: (what udpflood said, host B's count, the ESP on
    the wire, how long the flood took)."""
    port, receiver, dump, pcap = flood_counted_and_captured(cluster)
    try:
        t = time.monotonic()
        flood = kv(cluster.exec("ha", BIN / "udpflood", "10.0.2.2", port, SIZE + 28, seconds, *source_range))
        took = time.monotonic() - t
        out, _ = receiver.communicate(timeout=60)
        d = json.loads(out.strip().splitlines()[-1])
    finally:
        stop(receiver, dump)
    wire = esp_packets(pcap)
    os.unlink(pcap)
    return flood, d, wire, took


SEARCH = (4000, 6000, 8000, 11000, 15000, 20000, 27000, 36000)
FLOOD_SECONDS = 5


@on(ONLY_DEFAULT)
def test_flood_then_moderate_stream(cluster):
    """Host A floods host B for 5 s as fast as sendmmsg goes (udpflood,
    numbered datagrams): the cluster still delivers at least half of what it
    delivers at its highest loss-free rate (found first: 1.5 s A->B at
    rising rates until one loses or duplicates twice in a row), as one
    overloaded gateway would; the stream right after the flood is clean."""
    best = 0
    for rate in SEARCH:
        for attempt in (1, 2):      # a rate is loss-free if one of two runs is
            got, _ = cluster.streams(1.5, rate=rate, ways=("A->B",), capture=False).finish()
            d = got["A->B"]
            achieved = d["count"] / (d["duration"] + 1 / rate)
            print(f"{cluster.topology}: {rate}/s offered ({achieved:.0f}/s sent): {d['missing']} lost, "
                  f"{d['duplicates']} duplicated")
            clean = d["missing"] == 0 and d["duplicates"] == 0
            if clean:
                break
        if not clean:
            break
        best = achieved
    assert best > 0, "not loss-free even at the lowest rate"
    flood, d, wire, took = counted_flood(cluster, FLOOD_SECONDS)
    during = d["unique"] / FLOOD_SECONDS
    print(f"{cluster.topology}: highest loss-free rate {best:.0f}/s; flood of {int(flood['sent']) / took:.0f}/s "
          f"for {FLOOD_SECONDS} s: {d['unique']} of {flood['sent']} arrived ({during:.0f}/s, "
          f"{100 * during / best:.0f} % of the loss-free rate), {d['duplicates']} duplicated")
    assert_wire_clean(wire, d["unique"] // 2)
    assert during >= best / 2, "the cluster delivers less than half its loss-free rate under a flood"
    clean_stream(cluster, "right after the flood", seconds=3.0)


EVENT_FLOOD_SECONDS = 8


def through_a_flood(cluster, event, what, members=tuple(range(NODES))):
    """Host A floods host B through the cluster; event(carried) once the
    flood is through (carried() says how many datagrams each node has
    encrypted since), and it must be over, the view of MEMBERS settled,
    before the flood ends.  No (SPI, seq) or IV leaves twice, every node ends with
    the same SAs, and the stream right after is clean.  Duplicates at the
    far host are counted, not bounded: overloaded packet-rr nodes that
    miss different packets disagree until the next sync point."""
    port, receiver, dump, pcap = flood_counted_and_captured(cluster)
    flood = None
    try:
        before = cluster.owned(range(NODES))
        t_flood = time.monotonic()
        flood = cluster.popen("ha", BIN / "udpflood", "10.0.2.2", port, SIZE + 28, EVENT_FLOOD_SECONDS)

        def carried():
            now = cluster.owned(range(NODES))
            return {i: now[i]["A->B"] - before[i]["A->B"] for i in now}
        wait_for(lambda: sum(carried().values()) > 2000, timeout=EVENT_FLOOD_SECONDS,
                 what="the flood through the cluster")
        t = time.monotonic()
        event(carried)
        took = time.monotonic() - t
        cluster.wait_settled(list(members))
        settled = time.monotonic() - t
        assert flood.poll() is None, f"the flood ended before {what} was over"
        out, _ = flood.communicate(timeout=EVENT_FLOOD_SECONDS + 30)
        sent = int(kv(out)["sent"])
        out, _ = receiver.communicate(timeout=60)
        d = json.loads(out.strip().splitlines()[-1])
    finally:
        stop(flood, receiver, dump)
    wire = esp_packets(pcap)
    os.unlink(pcap)
    print(f"{cluster.topology}: {what} {t - t_flood:.2f} s into a flood of {sent} datagrams (took {took:.2f} s), "
          f"view settled {settled:.2f} s after: {d['unique']} arrived, {d['duplicates']} duplicated")
    assert_wire_clean(wire, d["unique"] // 2)
    tables = [sorted((s["spi"], s["dir"]) for s in cluster.sa_list(i)) for i in members]
    assert tables[0] and tables.count(tables[0]) == len(tables), f"the nodes hold different SAs: {tables}"
    clean_stream(cluster, f"right after {what} under a flood", seconds=3.0)


@on(DEFAULT_AND_PACKET_RR)
def test_a_node_rejoins_during_a_flood(cluster):
    """The follower that encrypts most of host A's flood restarts its
    cluster-filterd: the SA moves away and back with its sequence numbers,
    and the hand-over reaches the joiner through Corosync beside the
    flood's sync traffic."""
    restarted = []

    def restart(carried):
        counts = carried()
        node = max((i for i in range(NODES) if i != cluster.default_host()), key=counts.get)
        restarted.append(node)
        cluster.script("restart", node)
    try:
        through_a_flood(cluster, restart, "a follower's restart")
    finally:
        for node in restarted:
            restore(cluster, node)


@on(DEFAULT_AND_PACKET_RR)
def test_a_rekey_during_a_flood(cluster):
    """strongSwan rekeys the Child SA while host A floods host B: the IKE
    exchange gets through to the default host's pluto beside the flood,
    and every node takes the new SAs and drops the old ones."""
    def rekey(_):
        old = child_spis(cluster)[0]
        out = cluster.swanctl("--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        wait_for(lambda: (lambda s: len(set(s)) == 1 and len(s[0]) == 2 and not set(s[0]) & set(old))(
            child_spis(cluster)), timeout=EVENT_FLOOD_SECONDS, what="the rekeyed SAs on every node")
    through_a_flood(cluster, rekey, "a rekey by strongSwan")


# -- the default host ---------------------------------------------------------

class IkeWatch:
    """IKE on the peer's outside link (port 500, and 4500 with the non-ESP
    marker) and strongSwan's log, from now on."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.pcap = f"{cluster.run_dir}/ike-{cluster.next_port()}.pcap"
        self.dump = cluster.popen("peer", "tcpdump", "-i", "out", "-n", "-U", "-w", self.pcap,
                                  "udp port 500 or (udp port 4500 and udp[8:4] = 0)")
        assert "listening on" in self.dump.stderr.readline()
        with open(f"{cluster.ssdir}/charon.log", errors="replace") as f:
            self.log_start = len(f.read())

    def log(self):
        with open(f"{self.cluster.ssdir}/charon.log", errors="replace") as f:
            return f.read()[self.log_start:]

    def exchanges(self):
        """IKE exchange types seen on the wire, decoded by tshark; and the
        cluster's responses, which no second speaker may duplicate."""
        self.dump.terminate()
        self.dump.communicate(timeout=10)
        out = run("tshark", "-n", "-r", self.pcap, "-Y", "isakmp", "-T", "fields", "-E", "separator=,",
                  "-e", "ip.src", "-e", "isakmp.exchangetype", "-e", "isakmp.messageid", "-e", "isakmp.flags")
        os.unlink(self.pcap)
        rows = [line.split(",") for line in out.splitlines() if line]
        responses = collections.Counter((int(x), int(m, 0)) for src, x, m, f in rows
                                        if src == CLUSTER_IP and int(f, 0) & 0x20)
        twice = {k: n for k, n in responses.items() if n > 1}
        assert not twice, f"the cluster answered one request more than once (two speakers?): {twice}"
        return [int(x) for _, x, _, _ in rows]


def answered_liveness(log):
    """strongSwan's liveness checks (empty INFORMATIONAL) that got an answer."""
    sent = {ln.split("request ")[1].split()[0] for ln in log.splitlines()
            if "generating INFORMATIONAL request" in ln and ln.rstrip().endswith("[ ]")}
    return [m for m in sent if f"parsed INFORMATIONAL response {m} [ ]" in log]


def ike_records(cluster, i):
    """The IKE SAs node i holds for a takeover: SPIs and digest of each."""
    return tuple(sorted((r["spi-i"], r["spi-r"], r["digest"])
                        for r in map(kv, cluster.cfctl(i, "ike", "list").splitlines())))


def pluto_log(cluster, i):
    with open(f"{cluster.run_dir}/n{i}-pluto.log") as f:
        return f.read()


def take_over(cluster, victim, survivors, how="poweroff"):
    """The default host `victim` loses power (or is stopped cleanly: how
    "stop") during streams both ways: the data plane goes on, and the
    survivor that becomes default host carries on its IKE SA -
    strongSwan's Child SA rekey, IKE SA rekey and liveness check are
    answered, with no IKE_SA_INIT on the wire."""
    watch = IkeWatch(cluster)
    timing = {}
    took_over = {i: pluto_log(cluster, i).count("took over the IKE SA and 1 Child SA(s)") for i in survivors}

    def power_loss_then_rekey():
        """The first IKE exchange after the kill: strongSwan rekeys the
        Child SA as soon as the survivors agree, during the streams."""
        t_kill = time.monotonic()
        cluster.script(how, str(victim))
        cluster.wait_settled(survivors)
        timing["old"] = child_spis(cluster, survivors)[0]
        timing["rekey"] = cluster.swanctl("--rekey", "--child", "tunnel")
        timing["answered"] = time.monotonic() - t_kill

    try:
        through_event(cluster, power_loss_then_rekey, victim, survivors,
                      members_before=tuple(sorted([victim, *survivors])),
                      what=f"node {victim}, the default host: {how}; a Child SA rekey")
        speaker = cluster.default_host(survivors)
        assert pluto_log(cluster, speaker).count("took over the IKE SA and 1 Child SA(s)") == \
            took_over[speaker] + 1, f"node {speaker} did not take over"
        assert "rekey completed successfully" in timing["rekey"], timing["rekey"]
        # ipsec cluster status: the IKE SA, active where pluto speaks for it, standby elsewhere
        status = {i: cluster.cfctl(i, "status") for i in survivors}
        for i in survivors:
            role = "active" if i == speaker else "standby"
            assert f"IKE SAs ({role}" in status[i] and "message IDs: last sent" in status[i], status[i]
        old = timing["old"]
        wait_for(lambda: (lambda s: len(set(s)) == 1 and len(s[0]) == 2 and not set(s[0]) & set(old))(
            child_spis(cluster, survivors)), timeout=10, what="the rekeyed SAs on the survivors")
        out = cluster.swanctl("--rekey", "--ike", "gw")
        assert "rekey completed successfully" in out, out
        wait_for(lambda: answered_liveness(watch.log()), timeout=20, what="strongSwan's liveness check answered")
        clean_stream(cluster, f"after node {speaker} took over", seconds=2.0)
    finally:
        exchanges = watch.exchanges()
    print(f"  node {speaker} answered the first IKE exchange {timing['answered']:.2f} s after the "
          f"{how}; IKE exchanges on the wire since: {collections.Counter(exchanges)}")
    assert 34 not in exchanges, "an IKE_SA_INIT after the takeover: the IKE SA was renegotiated"
    assert {36, 37} <= set(exchanges), "no CREATE_CHILD_SA or INFORMATIONAL seen"
    assert "IKE_SA_INIT" not in watch.log()
    return speaker


def record_msgid_sent(cluster, i):
    """The message ID of the last request the IKE SA's record says was sent."""
    (rec,) = [kv(line) for line in cluster.cfctl(i, "ike", "list").splitlines()]
    return rec["msgid-sent"]


@on(ONLY_DEFAULT)
@pytest.mark.parametrize("lost", ["request", "response"])
def test_a_takeover_while_the_default_hosts_request_is_unanswered(cluster, lost):
    """The default host's own request (a Child SA rekey) is lost on the
    way to strongSwan, or strongSwan's response on the way back, and the
    default host loses power before it hears back: the cluster's record
    says the request went, the peer may or may not have had it.  The next
    default host claims that message ID with an empty INFORMATIONAL, then
    its own rekey is answered and the streams pass.  (strongSwan takes
    only the exact next ID: taking over at the ID after it, as before,
    left every request of the cluster ignored when the request was the
    one lost.)"""
    victim = cluster.default_host()
    survivors = [i for i in range(NODES) if i != victim]
    took = {i: pluto_log(cluster, i).count("took over the IKE SA and 1 Child SA(s)") for i in survivors}
    hook, host, port = ("input", "saddr", "dport") if lost == "request" else ("output", "daddr", "sport")
    drop_ike = (f"table ip ikedrop {{\n chain c {{\n  type filter hook {hook} priority -10\n"
                f"  ip {host} {CLUSTER_IP} udp {port} 500 drop\n"
                f"  ip {host} {CLUSTER_IP} udp {port} 4500 @th,64,32 0 drop\n }}\n}}\n")
    cluster.exec("peer", "nft", "-f", "-", input=drop_ike)
    try:
        sent = record_msgid_sent(cluster, victim)
        old = child_spis(cluster, [victim])[0]
        cluster.whack(victim, "--asynchronous", "--rekey-child", "--name", "tunnel")
        wait_for(lambda: record_msgid_sent(cluster, victim) != sent, timeout=10,
                 what="the default host's rekey request in the cluster's record")
        cluster.script("poweroff", str(victim))
        cluster.exec("peer", "nft", "delete", "table", "ip", "ikedrop")
        cluster.wait_settled(survivors)
        speaker = cluster.default_host(survivors)
        wait_for(lambda: pluto_log(cluster, speaker).count("took over the IKE SA and 1 Child SA(s)") ==
                 took[speaker] + 1, timeout=10, what=f"node {speaker} taking over")
        assert "may not have reached the peer; claiming its message ID" in pluto_log(cluster, speaker)
        # the cluster's next request: under the old code, ignored when the lost one was the request
        cluster.whack(speaker, "--asynchronous", "--rekey-child", "--name", "tunnel")
        wait_for(lambda: (lambda s: len(set(s)) == 1 and len(s[0]) == 2 and not set(s[0]) & set(old))(
            child_spis(cluster, survivors)), timeout=15, what=f"node {speaker}'s rekey answered")
        # strongSwan installed the lost response's Child SA, which the cluster never had:
        # its own rekey of that one is refused (CHILD_SA_NOT_FOUND) and it lets it go
        out = cluster.swanctl("--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        wait_for(lambda: cluster.swanctl("--list-sas").count(" INSTALLED,") == 1, timeout=10,
                 what="strongSwan holding one Child SA, the cluster's")
    finally:
        cluster.exec("peer", "nft", "delete", "table", "ip", "ikedrop", check=False)
        cluster.script("poweron", str(victim))
        cluster.wait_settled(list(range(NODES)))
    clean_stream(cluster, f"after node {speaker} claimed the lost {lost}'s message ID")


@on(ONLY_DEFAULT)
def test_a_negotiation_the_next_default_host_started_is_dropped(cluster):
    """The node next in line initiates the tunnel itself while a follower
    (auto=start, or a revival): its IKE_SA_INIT retransmits into silence.
    When the default host loses power it drops that negotiation before
    it takes the IKE SA over, so it takes the Child SA over too (a
    connection still negotiating could not), starts no IKE_SA_INIT and no
    Child SA of its own, and strongSwan's rekey is answered."""
    victim = cluster.default_host()
    survivors = [i for i in range(NODES) if i != victim]
    nxt = min(survivors)
    took = pluto_log(cluster, nxt).count("took over the IKE SA and 1 Child SA(s)")
    cluster.whack(nxt, "--asynchronous", "--initiate", "--name", "tunnel")
    wait_for(lambda: "IKE_SA_INIT_I" in cluster.whack(nxt, "--showstates"), timeout=10,
             what=f"node {nxt}'s own IKE_SA_INIT")
    watch = IkeWatch(cluster)
    try:
        cluster.script("poweroff", str(victim))
        cluster.wait_settled(survivors)
        wait_for(lambda: pluto_log(cluster, nxt).count("took over the IKE SA and 1 Child SA(s)") == took + 1,
                 timeout=10, what=f"node {nxt} taking over")
        out = cluster.swanctl("--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        # past the retransmission the dropped IKE_SA_INIT would have made, and its revival
        time.sleep(2.5)
        states = cluster.whack(nxt, "--showstates")
    finally:
        exchanges = watch.exchanges()
        log = pluto_log(cluster, nxt)
        cluster.script("poweron", str(victim))
        cluster.wait_settled(list(range(NODES)))
        # whack --initiate left the connection up (auto=start) on that node: a fresh pluto forgets it
        cluster.script("restart-pluto", str(nxt))
        wait_for(lambda: "cluster-filter: this node is" in pluto_log(cluster, nxt), timeout=35,
                 what=f"node {nxt}'s pluto back")
        if cluster.default_host() == nxt:
            wait_for(lambda: "took over the IKE SA and 1 Child SA(s)" in pluto_log(cluster, nxt),
                     timeout=35, what=f"node {nxt}'s pluto taking its IKE SA back")
    print(f"  node {nxt}: IKE exchanges on the wire {collections.Counter(exchanges)}")
    assert "dropping the negotiation this node started while it kept quiet" in log
    assert "cannot take over the Child SA" not in log
    assert 34 not in exchanges, "an IKE_SA_INIT: a second IKE SA"
    assert 36 in exchanges, "strongSwan's rekey not on the wire"
    after = log[log.rindex("dropping the negotiation this node started"):]
    assert "sent CREATE_CHILD_SA request" not in after, "a Child SA of node's own besides the one taken over"
    assert states.count("ESTABLISHED_IKE_SA") == 1 and states.count("ESTABLISHED_CHILD_SA") == 1, states


def pluto_pid(cluster, i):
    with open(f"{cluster.run_dir}/n{i}-pluto.pid") as f:
        return int(f.read())


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines(path):
    with open(path, errors="replace") as f:
        return sum(1 for _ in f)


@on(ONLY_DEFAULT)
def test_every_component_restarts_in_turn(cluster):
    """cluster-filterd, then pluto, then Corosync restart on every node in
    turn, each during streams both ways (a daemon that loses Corosync goes
    silent and rejoins by itself once Corosync is back).  After each, the
    tunnel carries both streams (no datagram twice, loss bounded),
    strongSwan's Child SA rekey is answered by whichever node is default
    host, and a node that was not default host at some point of that
    restart sent no IKE message and no ARP reply for the shared
    addresses (nft counters on every node).  Over the whole run no
    request is answered twice and no IKE_SA_INIT appears (one speaker at
    a time, no renegotiation).  No component spins: each one's log lines
    and CPU time at the end are printed and bounded."""
    for i in range(NODES):
        subprocess.run(["ip", "netns", "exec", f"{cluster.prefix}-n{i}", "nft", "-f", "-"],
                       input=COUNTERS, text=True, check=True)
    watch = IkeWatch(cluster)
    try:
        for i in range(NODES):
            for component in ("restart", "restart-pluto", "restart-corosync"):
                streams = cluster.streams(4.0, silence=3.0)
                try:
                    streams.at(1.0)
                    speaker_before = cluster.default_host()
                    sent_before = [cluster.counters(j) for j in range(NODES)]
                    cluster.script(component, str(i))
                    cluster.wait_settled(list(range(NODES)), timeout=20)
                    speaker = cluster.default_host()
                    # a starting pluto takes the IKE SA over once addconn has loaded its connection
                    wait_for(lambda: "ESTABLISHED_IKE_SA" in cluster.whack(speaker, "--showstates"),
                             timeout=35, what=f"node {speaker}'s pluto holding the IKE SA")
                    rekey = cluster.swanctl("--rekey", "--child", "tunnel")
                except BaseException:
                    streams.kill()
                    raise
                got, wire = streams.finish()
                report(cluster, f"{component} of node {i}; default host now node {speaker}", got, wire)
                assert "rekey completed successfully" in rekey, rekey
                for name, d in got.items():
                    assert d["duplicates"] == 0, f"{name}: {d['duplicates']} duplicated"
                    assert d["missing"] <= RATE * DETECT, f"{name}: {d['missing']} lost"
                sent = [cluster.counters(j) for j in range(NODES)]
                for j in set(range(NODES)) - {speaker_before, speaker}:
                    assert sent[j] == sent_before[j], \
                        f"node {j}, never default host during the {component} of node {i}, sent {sent[j]} (was {sent_before[j]})"
                if component == "restart-corosync":
                    daemon_log = open(f"{cluster.run_dir}/n{i}/cluster-filter.ctl.log").read()
                    assert "membership: lost Corosync" in daemon_log and "Corosync is back" in daemon_log
    finally:
        exchanges = watch.exchanges()
        for i in range(NODES):
            print(f"  node {i} sent in all: {cluster.counters(i)}")
            cluster.exec(f"n{i}", "nft", "delete", "table", "inet", "ike", check=False)
            cluster.exec(f"n{i}", "nft", "delete", "table", "arp", "arpout", check=False)
    print(f"  IKE exchanges on the wire: {collections.Counter(exchanges)}")
    assert 34 not in exchanges, "an IKE_SA_INIT: the IKE SA was renegotiated"
    for i in range(NODES):
        daemon_log, pluto = f"{cluster.run_dir}/n{i}/cluster-filter.ctl.log", f"{cluster.run_dir}/n{i}-pluto.log"
        usage = {"cluster-filterd": (cpu_seconds(cluster.daemon_pid(i)), log_lines(daemon_log)),
                 "pluto": (cpu_seconds(pluto_pid(cluster, i)), log_lines(pluto))}
        print(f"  node {i}: " + ", ".join(f"{k} {cpu:.2f} CPU-s, {n} log lines" for k, (cpu, n) in usage.items()))
        for k, (cpu, n) in usage.items():
            assert n < 400 and cpu < 10, f"node {i}'s {k} spins: {cpu:.2f} CPU-s, {n} log lines"


@on(ONLY_DEFAULT)
def test_default_host_daemon_hangs(cluster):
    """The default host's cluster-filterd hangs (SIGSTOP) during streams
    both ways.  Its pluto, without word from it for 1.5 s, stops speaking;
    the others leave the node out and the next default host takes the IKE
    SA over, so strongSwan's rekey during the hang is answered once.
    Woken up, the node comes back as a follower and its pluto forgets its
    stale copy of the IKE SA."""
    victim = cluster.default_host()
    others = [i for i in range(NODES) if i != victim]
    pid = cluster.daemon_pid(victim)
    took_over = {i: pluto_log(cluster, i).count("took over the IKE SA and 1 Child SA(s)") for i in others}
    watch = IkeWatch(cluster)
    try:
        streams = cluster.streams(9.0, silence=4.0)
        try:
            streams.at(1.0)
            t_stop = time.monotonic()
            os.kill(pid, signal.SIGSTOP)
            try:
                cluster.wait_settled(others, timeout=15)
                t_out = time.monotonic() - t_stop
                speaker = cluster.default_host(others)
                rekey = cluster.swanctl("--rekey", "--child", "tunnel")
                streams.at(6.0)
            finally:
                os.kill(pid, signal.SIGCONT)
            cluster.wait_settled(list(range(NODES)), timeout=15)
            wait_for(lambda: "forgot 1 IKE SA(s)" in pluto_log(cluster, victim), timeout=10,
                     what=f"node {victim}'s pluto forgetting its copy of the IKE SA")
        except BaseException:
            streams.kill()
            raise
        got, wire = streams.finish()
    finally:
        exchanges = watch.exchanges()
    report(cluster, f"node {victim}'s daemon (the default host) stopped; node {speaker} took over "
           f"{t_out:.2f} s later; IKE exchanges since: {collections.Counter(exchanges)}", got, wire, t_stop)
    assert "rekey completed successfully" in rekey, rekey
    assert pluto_log(cluster, speaker).count("took over the IKE SA and 1 Child SA(s)") == took_over[speaker] + 1
    assert "no word from the data plane" in pluto_log(cluster, victim)
    assert 34 not in exchanges
    for way, d in got.items():
        assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
        assert d["missing"] <= RATE * (t_out + 0.5) + HANDFUL, f"{way}: {d['missing']} lost"
    clean_stream(cluster, f"after node {victim} came back as a follower")


@on(ONLY_DEFAULT)
def the_ike_sa_taken_back(cluster, speaker, ends_pluto, what):
    """Streams both ways while ENDS_PLUTO() ends node SPEAKER's pluto and
    starts it again: the new pluto takes its IKE SA back from the data
    plane, strongSwan's Child SA rekey right after is answered, no
    IKE_SA_INIT appears on the wire, and the streams lose a handful at
    most."""
    watch = IkeWatch(cluster)
    try:
        streams = cluster.streams(6.0)
        try:
            streams.at(1.0)
            t = time.monotonic()
            ends_pluto()
            wait_for(lambda: "took over the IKE SA and 1 Child SA(s)" in pluto_log(cluster, speaker),
                     timeout=35, what="the restarted pluto taking its IKE SA back")
            t_back = time.monotonic() - t
            out = cluster.swanctl("--rekey", "--child", "tunnel")
        except BaseException:
            streams.kill()
            raise
        got, wire = streams.finish()
    finally:
        exchanges = watch.exchanges()
    report(cluster, f"{what}; its IKE SA back after {t_back:.2f} s; "
           f"IKE exchanges on the wire since: {collections.Counter(exchanges)}", got, wire)
    assert "rekey completed successfully" in out, out
    assert 34 not in exchanges, "an IKE_SA_INIT: the IKE SA was renegotiated"
    for name, d in got.items():
        assert d["missing"] <= HANDFUL and d["duplicates"] == 0, f"{name}: {d['missing']} lost, {d['duplicates']} duplicated"


def test_pluto_restart_on_the_default_host(cluster):
    """pluto restarts on the default host during streams both ways: the
    data plane carries on untouched, and the new pluto takes its IKE SA
    back from the data plane - strongSwan's Child SA rekey right after is
    answered, and no IKE_SA_INIT appears on the wire."""
    speaker = cluster.default_host()
    the_ike_sa_taken_back(cluster, speaker, lambda: cluster.script("restart-pluto", str(speaker)),
                          f"pluto on node {speaker} restarted")


def test_a_fatal_error_on_the_default_host_leaves_the_cluster_its_sas(cluster):
    """pluto on the default host runs out of file descriptors during
    streams both ways, and `whack --listen` (a rescan of the interfaces)
    makes it exit on a fatal error.  That exit skips whack's shutdown,
    which leaves the SAs to the other nodes: it used to delete every
    Child SA, IKE SA record and policy of the cluster, flush the data
    plane and tell the peer to delete its IKE SA.  Now it touches none
    of it: the streams go on, and the restarted pluto takes its IKE SA
    back without an IKE_SA_INIT."""
    speaker = cluster.default_host()
    pid = pluto_pid(cluster, speaker)

    def out_of_descriptors():
        # a new descriptor takes the lowest free number: one for whack's connection, no more
        used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
        nofile = min(set(range(len(used) + 1)) - used) + 1
        run("prlimit", f"--pid={pid}", f"--nofile={nofile}:{nofile}")
        cluster.exec(f"n{speaker}", LSW / "whack", "--rundir", f"{cluster.run_dir}/n{speaker}",
                     "--listen", check=False)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}/fd"), what="pluto exiting")
        log = pluto_log(cluster, speaker)
        assert "interfaces failed" in log, log[-3000:]
        assert all(len(cluster.sa_list(i)) >= 2 for i in range(NODES)), [cluster.sa_list(i) for i in range(NODES)]
        cluster.script("restart-pluto", str(speaker))

    the_ike_sa_taken_back(cluster, speaker, out_of_descriptors,
                          f"pluto on node {speaker} exited on a fatal error and was restarted")


# pluto's record of an IKE SA (overlay/programs/pluto/cluster_ike_record.h): attributes, u16 type, u16 length
R_NAME, R_PROPOSAL, R_SK_EI, R_SK_ER, R_SALT_I, R_SALT_R = 2, 7, 11, 12, 13, 14
R_RESPONSE, R_CHILD, R_REQID = 18, 21, 25
# ikev2_proposal_export(): number, protocol, SPI size, 8 SPI bytes, then
# per transform type from ENCR (flags, u16 id, u16 key length)
ENCR_AT, INTEG_AT = 12, 22
ENCR_AES_CBC = 12


def record_attrs(record):
    at = 0
    while at + 4 <= len(record):
        t, length = struct.unpack(">HH", record[at:at + 4])
        yield t, record[at + 4:at + 4 + length]
        at += 4 + length


def record_from(attrs):
    return b"".join(struct.pack(">HH", t, len(v)) + v for t, v in attrs)


def with_encr(proposal, encr_id, keybits, integ=None):
    """The exported proposal with another cipher (and integrity transform)."""
    p = bytearray(proposal)
    p[ENCR_AT:ENCR_AT + 5] = struct.pack(">BHH", 1, encr_id, keybits)
    if integ is not None:
        p[INTEG_AT:INTEG_AT + 5] = struct.pack(">BHH", 1 if integ else 0, integ, 0)
    return bytes(p)


def records_that_do_not_fit(record):
    """Records (the real one's endpoints and message IDs) that another
    node must not take over, each with what pluto says of it.  Each of
    them pluto used to take over and crash on, at once, at the IKE SA's
    first message or at the next connection it loaded."""
    attrs = [(t, v) for t, v in record_attrs(record) if t != R_CHILD]
    proposal = dict(attrs)[R_PROPOSAL]
    encr = struct.unpack(">H", proposal[ENCR_AT + 1:ENCR_AT + 3])[0]
    child, = [v for t, v in record_attrs(record) if t == R_CHILD]
    no_cipher = record_from((t, bytes(v[:ENCR_AT]) + b"\0" + bytes(v[ENCR_AT + 1:]) if t == R_PROPOSAL else v)
                            for t, v in record_attrs(child))
    keys, malformed = "do not fit its proposal", "is malformed or from another version"
    return {
        # NSS's key import asserted on the empty key
        "SK_ei empty": ([(t, b"" if t == R_SK_EI else v) for t, v in attrs], keys),
        # AES-GCM with an 8-bit key, its keys as long as that says
        "an 8-bit key": ([(t, with_encr(v, encr, 8) if t == R_PROPOSAL else
                           v[:1] if t in (R_SK_EI, R_SK_ER) else v) for t, v in attrs], keys),
        # AES-CBC without integrity: the first message dereferenced no algorithm
        "CBC without integrity": ([(t, with_encr(v, ENCR_AES_CBC, 128, integ=0) if t == R_PROPOSAL else
                                    b"" if t in (R_SALT_I, R_SALT_R) else v) for t, v in attrs], keys),
        # the Child SA's statistics dereferenced the cipher the proposal lacks
        "a Child SA without a cipher": (attrs + [(R_CHILD, no_cipher)], "a Child SA in the record"),
        # reserved, the next connection's gen_reqid() wrapped to 0 and passerted
        "a reqid at the counter's end": ([(t, struct.pack(">I", 0xfffffffc) if t == R_REQID else v)
                                          for t, v in attrs], malformed),
        # "tunnel\0x" named the connection "tunnel"
        "a name with a NUL": ([(t, v + b"\0x" if t == R_NAME else v) for t, v in attrs], malformed),
    }


@on(ONLY_DEFAULT)
def test_a_record_whose_keys_do_not_fit_is_refused(cluster):
    """IKE records that another node must not take over (keys that do
    not fit their proposal - SK_ei empty, an 8-bit AES key, CBC without
    integrity -, a Child SA whose proposal has no cipher, a reqid at the
    end of pluto's counter, a name with a NUL in it) are in the cluster
    when pluto restarts on the default host: the new pluto refuses each,
    with a log line, and takes the real one over - strongSwan's Child SA
    rekey is answered.  A record that crashed pluto would crash every
    default host after it.  The real record carries a last response of
    twelve fragments, as a certificate makes it: pluto used to refuse
    more than eight."""
    speaker = cluster.default_host()
    path = f"{cluster.run_dir}/n{speaker}.sock"
    (spis, record), = ike_dump_records(path)
    bad = records_that_do_not_fit(record)
    bad_spis = [bytes(b ^ (0x5a + k) for b in spis) for k in range(len(bad))]
    fragments = [(R_RESPONSE, bytes([k]) * 400) for k in range(12)]
    real = record_from([(t, v) for t, v in record_attrs(record) if t != R_RESPONSE] + fragments)
    assert control_errors(path, [control_message(IKE_PUT, 1 + k, (A_IKE_SPIS, s), (A_IKE_RECORD, record_from(attrs)))
                                 for k, (s, (attrs, _)) in enumerate(zip(bad_spis, bad.values()))] +
                          [control_message(IKE_PUT, 1 + len(bad), (A_IKE_SPIS, spis), (A_IKE_RECORD, real))]
                          ) == [0] * (len(bad) + 1)
    try:
        cluster.script("restart-pluto", str(speaker))
        wait_for(lambda: "took over the IKE SA and 1 Child SA(s)" in pluto_log(cluster, speaker),
                 timeout=35, what="the restarted pluto taking its IKE SA back")
        log = pluto_log(cluster, speaker)
        # each said once, though the takeover reads the records again while the real one waits
        refused = [line for line in log.splitlines() if "not taken over" in line]
        assert len(refused) == len(bad), refused
        for s, (name, (_, said)) in zip(bad_spis, bad.items()):
            assert any(s[:8].hex() in line and said in line for line in refused), (name, refused)
        assert "took over the IKE SA and 0 Child SA(s)" not in log
        assert "EXPECTATION FAILED" not in log and "ASSERTION FAILED" not in log
        os.kill(pluto_pid(cluster, speaker), 0)
        out = cluster.swanctl("--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        os.kill(pluto_pid(cluster, speaker), 0)
    finally:
        control_errors(path, [control_message(IKE_DEL, 10 + k, (A_IKE_SPIS, s)) for k, s in enumerate(bad_spis)])


def fast_path_views(cluster, i):
    """The view flags in both halves of the fast path's tables on node I,
    read from the kernel (bpftool) through the program on its outside."""
    out = run("ip", "netns", "exec", f"{cluster.prefix}-n{i}", "tc", "filter", "show", "dev", "out", "ingress")
    prog = re.search(r"cf_outside.* id (\d+)", out)
    assert prog, out
    for map_id in json.loads(run("bpftool", "-j", "prog", "show", "id", prog.group(1)))["map_ids"]:
        if json.loads(run("bpftool", "-j", "map", "show", "id", str(map_id)))["name"] == "cf_views":
            dump = json.loads(run("bpftool", "-j", "map", "dump", "id", str(map_id)))
            return [e["formatted"]["value"]["flags"] for e in dump]
    raise AssertionError(f"node {i}: no cf_views map behind program {prog.group(1)}")


@on(ONLY_DEFAULT)
def test_default_host_clean_stop(cluster):
    """ipsec stop on the default host (pluto shut down, then its
    cluster-filterd): its pluto leaves the SAs to the others - no Delete,
    nothing removed - and the next default host takes them over.  Its
    fast path stays on the interfaces (the daemon had no capability left
    to take it off) but stands down: judged by the last view, it would
    drop what the node owns once it is back."""
    victim = cluster.default_host()
    survivors = [i for i in range(NODES) if i != victim]
    if cluster.fast:
        assert any(flags & CF_FAST_ACTIVE for flags in fast_path_views(cluster, victim))
    try:
        take_over(cluster, victim, survivors, how="stop")
        assert "leaving them to the cluster" in pluto_log(cluster, victim)
        if cluster.fast:
            assert fast_path_views(cluster, victim) == [0, 0]
    finally:
        cluster.script("start", str(victim))
        cluster.wait_settled(list(range(NODES)))


@on(ONLY_DEFAULT)
def test_takeover_by_a_node_with_another_reqid(cluster):
    """The node next in line loaded another connection first (deleted
    since), so "tunnel" has another reqid there than the SAs and policies
    in the data plane carry.  Taking over, it takes the cluster's reqid:
    strongSwan's rekey installs SAs that the policies pick, and both
    streams are clean.  (Had the other connection stayed, holding that
    reqid, the node would refuse the takeover, saying why.)"""
    first = cluster.default_host()
    nxt = min(i for i in range(NODES) if i != first)
    try:
        cluster.env["DECOY_NODE"] = str(nxt)
        cluster.script("restart-pluto", str(nxt))
        # gone again, the decoy leaves its reqid - the cluster's - free, and
        # "tunnel" keeps the next one
        cluster.whack(nxt, "--delete", "--name", "decoy")
        take_over(cluster, first, [i for i in range(NODES) if i != first])
        assert "takes reqid" in pluto_log(cluster, nxt), "the reqids were the same: the test proves nothing"
    finally:
        del cluster.env["DECOY_NODE"]
        for i in range(NODES):
            try:
                cluster.stats(i)
            except AssertionError:
                cluster.script("poweron", str(i))
        cluster.wait_settled([0, 1, 2])


@on(ONLY_DEFAULT)
def test_a_takeover_during_a_flood(cluster):
    """The default host loses power while host A floods host B: the next
    one takes its IKE SA over and answers strongSwan's Child SA rekey
    beside the flood."""
    first = cluster.default_host()
    survivors = [i for i in range(NODES) if i != first]
    took_over = {i: pluto_log(cluster, i).count("took over the IKE SA and 1 Child SA(s)") for i in survivors}

    def power_loss_then_rekey(_):
        cluster.script("poweroff", str(first))
        cluster.wait_settled(survivors)
        old = child_spis(cluster, survivors)[0]
        out = cluster.swanctl("--rekey", "--child", "tunnel")
        assert "rekey completed successfully" in out, out
        wait_for(lambda: (lambda s: len(set(s)) == 1 and len(s[0]) == 2 and not set(s[0]) & set(old))(
            child_spis(cluster, survivors)), timeout=EVENT_FLOOD_SECONDS, what="the rekeyed SAs on the survivors")
    try:
        through_a_flood(cluster, power_loss_then_rekey, f"node {first}'s power loss, a takeover and a rekey",
                        members=survivors)
        speaker = cluster.default_host(survivors)
        assert pluto_log(cluster, speaker).count("took over the IKE SA and 1 Child SA(s)") == \
            took_over[speaker] + 1, f"node {speaker} did not take over"
    finally:
        cluster.script("poweron", str(first))
        cluster.wait_settled(list(range(NODES)))


@on(ONLY_DEFAULT)
def test_default_host_power_loss_and_takeovers(cluster):
    """The default host loses power: the next one takes its IKE SA over
    (take_over above).  The old one comes back as a follower and gets the
    IKE state with the tables.  strongSwan then sets the tunnel up anew,
    as initiator; the new default host loses power, and the next takes
    that IKE SA over the same way."""
    first = cluster.default_host()
    try:
        second = take_over(cluster, first, [i for i in range(NODES) if i != first])
        cluster.script("poweron", str(first))
        cluster.wait_settled([0, 1, 2])
        held = [ike_records(cluster, i) for i in range(NODES)]
        assert len(set(held)) == 1 and len(held[0]) == 1, f"the nodes hold different IKE SAs: {held}"
        # the tunnel anew, initiated by strongSwan this time: the cluster is
        # the IKE responder of what the next takeover carries on
        cluster.swanctl("--terminate", "--ike", "gw")
        out = cluster.swanctl("--initiate", "--child", "tunnel")
        assert "initiate completed successfully" in out, out
        wait_for(lambda: (lambda h: len(set(h)) == 1 and len(h[0]) == 1 and h[0] != held[0])(
            [ike_records(cluster, i) for i in range(NODES)]), what="the new IKE SA on every node")
        take_over(cluster, second, [i for i in range(NODES) if i != second])
    finally:
        for i in range(NODES):
            try:
                cluster.stats(i)
            except AssertionError:
                cluster.script("poweron", str(i))
        cluster.wait_settled([0, 1, 2])


OUTAGE = 3.0         # s the cluster link is down


@on(ONLY_DEFAULT)
def test_the_cluster_link_fails_during_the_streams(cluster):
    """The cluster link's switch fails for 3 s during the streams: every
    node is alone, without quorum, and silent.  When it is back the nodes
    agree again on the tables they kept: nothing lost once the view has
    settled, nothing duplicated, no (SPI, seq) or IV twice on the wire.
    (Each node used to drop its tables in the round it made alone: after
    the switch came back no node had an SA, and the tunnel was dead until
    pluto rekeyed.  Kept, each node's own view had moved the SA's writer
    to itself: two nodes then wrote one SA.)"""
    def cluster_link(state):
        for i in range(NODES):
            run("ip", "netns", "exec", f"{cluster.prefix}-sw", "ip", "link", "set", f"c{i}", state)

    def silent():
        return all(cluster.stats(i)["active"] == "no" for i in range(NODES))

    sas_before = [sorted((s["spi"], s["dir"]) for s in cluster.sa_list(i)) for i in range(NODES)]
    seconds = 10.0
    # the far hosts hear nothing for the outage: they must not take that for the end
    streams = cluster.streams(seconds, silence=OUTAGE + DETECT)
    try:
        streams.at(1.5)
        t_down = time.monotonic()
        cluster_link("down")
        wait_for(silent, timeout=OUTAGE, what="every node silent")
        streams.at(1.5 + OUTAGE)
        t_up = time.monotonic()
        cluster_link("up")
        cluster.wait_settled(list(range(NODES)))
        t_settled = time.monotonic()
        streams.at(seconds - 0.2)
    except BaseException:
        cluster_link("up")
        streams.kill()
        raise
    got, wire = streams.finish()
    report(cluster, f"cluster link down at +{t_down - streams.t_start:.2f} s for {t_up - t_down:.2f} s, "
           f"view settled {t_settled - t_up:.2f} s after it was back", got, wire, t_down)
    assert t_settled + DETECT <= streams.t_start + seconds, "the stream ended before the view settled"
    for way, d in got.items():
        down_at, settled_at = (t - d["t0"] for t in (t_down, t_settled))
        assert all(a >= down_at - 0.05 for a, _, _ in d["lost"]), f"{way}: lost before the link went down"
        late = sum(k for _, b, k in d["lost"] if b > settled_at + 0.05)
        assert not late, f"{way}: {late} lost after the view settled"
        assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
        assert d["unique"] >= RATE * (seconds - OUTAGE - DETECT - 1.0), f"{way}: the tunnel did not come back"
    sas_after = [sorted((s["spi"], s["dir"]) for s in cluster.sa_list(i)) for i in range(NODES)]
    assert sas_after == sas_before, "the nodes' SAs changed"


def cut_off_the_cluster_link(cluster, i, to=None):
    """Node I's cluster-link port keeps its carrier but passes nothing
    (a bad cable, an ACL, a VLAN gone wrong): unlike a port that goes
    down, nobody learns it from the link.  TO: only what node I sends to
    that node is lost, the rest of the cluster link works."""
    rules = (f'iifname "c{i}" counter drop\n oifname "c{i}" counter drop' if to is None else
             f'iifname "c{i}" oifname "c{to}" counter drop')
    cluster.exec("sw", "nft", "-f", "-", input=f"""
table bridge cut_{i} {{
	chain forward_cut {{
		type filter hook forward priority 0;
		{rules}
	}}
}}
""")


def mend_the_cluster_link(cluster, i):
    cluster.exec("sw", "nft", "delete", "table", "bridge", f"cut_{i}", check=False)


def two_agree(cluster):
    """The two nodes that share a view without the third, once they do
    and the third forwards nothing (silent, or told that it is out);
    else None."""
    for pair in ([0, 1], [0, 2], [1, 2]):
        alone = ({0, 1, 2} - set(pair)).pop()
        if cluster.settled(pair) and (lambda v: v["active"] == "no" or v.get("fence") == "minority")(
                cluster.stats(alone)):
            return pair
    return None


def two_agree_or_a_storm(cluster, cut, timeout):
    """After a one-way cut of node CUT: the two that agree a view without
    it, or None when Corosync keeps them in a storm of rings (a new ring
    every few tenths of a second, never synchronised: no change reaches
    them, they stay in the view of three) while a node forwards nothing -
    CUT, told by the others; or the node that no longer hears CUT, alone
    in a ring of its own (CI, 2026-12-06), while the two others keep the
    view of three.  Either way those that forward hold one view, so no
    number is taken twice.  A storm is one that holds for a second after
    TIMEOUT; a view of two that comes late still counts."""
    def stepped_out(view):
        return view["active"] == "no" or view.get("fence") == "minority"

    t_storm, deadline = None, time.monotonic() + timeout + 3.0
    while True:
        kept = two_agree(cluster)
        if kept:
            return kept
        now = time.monotonic()
        if now > deadline - 3.0:
            views = [cluster.stats(i) for i in range(NODES)]
            forwarding = [v for v in views if not stepped_out(v)]
            storm = len(forwarding) < NODES and len({v["epoch"] for v in forwarding}) <= 1 and \
                all(v["nodes"] == str(NODES) for v in forwarding)
            t_storm = (t_storm or now) if storm else None
            if t_storm and now - t_storm >= 1.0:
                return None
            assert now < deadline, f"neither a view of two nor a storm of rings: {views}"
        time.sleep(0.05)


def writer_of_the_outbound_sa(cluster):
    """The index of the node that writes host A's traffic (per-sa)."""
    out = [s for s in cluster.sa_list(0) if s["dir"] == "out"]
    assert len(out) == 1, out
    return int(out[0]["writer"]) - 1       # node ids are index + 1


@on(ONLY_DEFAULT)
def test_the_writer_cut_off_the_cluster_link_during_the_streams(cluster):
    """The node that writes the outbound SA stops hearing the others, and
    they it, with every link up: the others form a view without it and
    give its SA to one of them, and it, alone and not quorate, goes
    silent.  Until it notices, it still writes in the old view: each
    datagram must still arrive once, and no (SPI, seq) or IV go twice on
    the wire.  When the link is mended it rejoins."""
    cut = writer_of_the_outbound_sa(cluster)
    others = [i for i in range(NODES) if i != cut]
    print(f"cutting node {cut} off, the writer of host A's traffic")
    try:
        got, _ = through_event(cluster, lambda: cut_off_the_cluster_link(cluster, cut), cut, others,
                               seconds=8.0, what=f"node {cut} cut off the cluster link")
        for way, d in got.items():
            assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
        wait_for(lambda: cluster.stats(cut)["active"] == "no", what=f"node {cut} silent")
    finally:
        mend_the_cluster_link(cluster, cut)
    cluster.wait_settled(list(range(NODES)))
    clean_stream(cluster, f"after node {cut}'s cluster link was mended")


@on(ONLY_DEFAULT)
def test_the_writers_frames_to_one_node_lost_during_the_streams(cluster):
    """What the writer of the outbound SA sends to one other node is lost
    on the cluster link, nothing else: a partial, one-way partition.
    Corosync keeps two nodes that hear each other, and then forms a new
    ring every few tenths of a second as the third asks to join again,
    without delivering anything; the third, alone and not quorate, is
    silent.  The two forward what their view gave them throughout, once
    the fence is over: nothing is lost in the last seconds of the
    streams, nothing is doubled at any time (the third used to go on
    writing its SAs in the old view for 0.7 s after the others took them:
    865 datagrams doubled), and all three agree again once the link is
    mended.  (If Corosync never lets the two synchronise a ring - the
    storm of rings - they get no change and nobody writes the cut node's
    SA until the mend; then only the duplicates and the mend are
    checked.)"""
    seconds, at = 8.0, 1.5
    cut = writer_of_the_outbound_sa(cluster)
    deaf = (cut + 1) % NODES
    streams = cluster.streams(seconds, silence=DETECT)
    try:
        streams.at(at)
        t_cut = time.monotonic()
        cut_off_the_cluster_link(cluster, cut, to=deaf)
        kept = two_agree_or_a_storm(cluster, cut, timeout=DETECT + 1)
        t_kept = time.monotonic()
        streams.at(seconds - 0.2)
        kept_at_the_end = two_agree(cluster)
    except BaseException:
        mend_the_cluster_link(cluster, cut)
        streams.kill()
        raise
    got, wire = streams.finish()
    report(cluster, f"node {cut}, the writer, no longer reaches node {deaf} from +{t_cut - streams.t_start:.2f} s; " +
           (f"nodes {kept} agreed {t_kept - t_cut:.2f} s later, {kept_at_the_end} at the end" if kept else
            "a storm of rings: no change reached the nodes that forward"), got, wire, t_cut)
    try:
        for way, d in got.items():
            assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
            if not kept:
                continue
            late = [(a, b, k) for a, b, k in d["lost"] if b > seconds - 2.0]
            assert not late, f"{way}: still losing at the end of the streams: {late}"
            assert d["missing"] <= RATE * DETECT, f"{way}: {d['missing']} lost"
    finally:
        mend_the_cluster_link(cluster, cut)
    cluster.wait_settled(list(range(NODES)))
    clean_stream(cluster, "after the cluster link was mended")


def pluto_says(cluster, i, since, what):
    """When node i's pluto logged WHAT, after offset SINCE of its log
    (pluto's own timestamps, this machine's clock): seconds of the day."""
    with open(f"{cluster.run_dir}/n{i}-pluto.log", errors="replace") as f:
        f.seek(since)
        lines = f.read().splitlines()
    times = []
    for line in lines:
        stamp, _, text = line.partition(": ")
        if what in text:
            t = datetime.datetime.strptime(stamp, "%b %d %H:%M:%S.%f")
            times.append(t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6)
    return times


@on(ONLY_DEFAULT)
def test_the_default_hosts_frames_to_one_node_lost_during_the_streams(cluster):
    """The one-way partition above, of the default host.  Here the token
    that the cut breaks is its own (the lowest node id), and its own
    Corosync told it that it was out 1.35 s after the others' view in
    four runs of six - after their fence: it went on taking its share of
    the inbound numbers beside them, and host A got 344-380 of 12,000
    datagrams twice.  The others now tell it beside Corosync, on the
    cluster link it still hears, and it stops at once: nothing doubled.
    Its pluto keeps quiet before the next default host's speaks (their
    logs), no IKE request is answered twice on the wire, and the next
    one carries the IKE SA on: strongSwan's Child SA rekey is answered.
    (Corosync may also keep the two in a storm of rings without ever
    giving them a change; then nobody forwards the cut node's share
    until the link is mended, and only that is checked.)"""
    seconds, at = 6.0, 1.5
    cut = cluster.default_host()
    deaf = (cut + 1) % NODES
    logs = {i: os.path.getsize(f"{cluster.run_dir}/n{i}-pluto.log") for i in range(NODES)}
    watch = IkeWatch(cluster)
    streams = cluster.streams(seconds, silence=seconds)
    try:
        streams.at(at)
        t_cut = time.monotonic()
        cut_off_the_cluster_link(cluster, cut, to=deaf)
        kept = two_agree_or_a_storm(cluster, cut, timeout=DETECT + 1)
        t_kept = time.monotonic()
        speaker = cluster.default_host(kept) if kept else None
        streams.at(seconds - 0.2)
    except BaseException:
        mend_the_cluster_link(cluster, cut)
        streams.kill()
        raise
    got, wire = streams.finish()
    try:
        report(cluster, f"node {cut}, the default host, no longer reaches node {deaf} from "
               f"+{t_cut - streams.t_start:.2f} s; " +
               (f"nodes {kept} agreed {t_kept - t_cut:.2f} s later, node {speaker} took its place" if kept else
                "a storm of rings: no change reached the nodes that forward"), got, wire, t_cut)
        for way, d in got.items():
            assert d["duplicates"] == 0, f"{way}: {d['duplicates']} duplicated"
        if kept:
            quiet = pluto_says(cluster, cut, logs[cut], "is a follower: keeping quiet")
            speaks = pluto_says(cluster, speaker, logs[speaker], "is the default host: speaking IKE")
            assert quiet and speaks, f"node {cut}'s pluto kept quiet at {quiet}, node {speaker}'s spoke at {speaks}"
            print(f"  node {cut}'s pluto kept quiet {speaks[0] - quiet[0]:.2f} s before node {speaker}'s spoke")
            assert quiet[0] < speaks[0], "two plutos spoke for the cluster at once"
    finally:
        mend_the_cluster_link(cluster, cut)
    cluster.wait_settled(list(range(NODES)))
    speaker = cluster.default_host()
    out = cluster.swanctl("--rekey", "--child", "tunnel")
    assert "rekey completed successfully" in out, out
    exchanges = watch.exchanges()
    assert 34 not in exchanges, "an IKE_SA_INIT: the IKE SA was renegotiated"
    if kept:
        assert pluto_says(cluster, speaker, logs[speaker], "took over the IKE SA and 1 Child SA(s)")
    clean_stream(cluster, "after the cluster link was mended")


@on(ONLY_DEFAULT)
def test_the_writers_frames_to_one_node_lost_during_a_flood(cluster):
    """The one-way partition above, while host A floods host B beyond
    what the cluster carries: the two nodes Corosync keeps take the
    writer's SA over, the writer stops, and once the link is mended all
    three agree again with the same SAs; no (SPI, seq) or IV twice on the
    wire.  Duplicates at host B are counted, not bounded: on a machine the
    flood saturates, the writer's own Corosync may tell it later than the
    fence waits (docs/DESIGN.md, Known limits): 0 to 7 in four runs."""
    cut = writer_of_the_outbound_sa(cluster)

    def partition(carried):
        cut_off_the_cluster_link(cluster, cut, to=(cut + 1) % NODES)
        try:
            if two_agree_or_a_storm(cluster, cut, timeout=DETECT + 2):
                time.sleep(1.0)     # the fence over, the two carry the flood
        finally:
            mend_the_cluster_link(cluster, cut)

    through_a_flood(cluster, partition, f"node {cut}'s frames to node {(cut + 1) % NODES} lost for a while")
