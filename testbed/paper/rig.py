# SPDX-License-Identifier: GPL-2.0-or-later
"""One cluster of the paper's experiments: testbed/cluster.sh with N
nodes and hand-made SAs, the far end a cluster-filterd gateway (the
paper's receiving side) with host B behind it counting numbered
datagrams (udpcount), host A sending them at a set rate (udppace).

Each node stands for one of the paper's machines: its cluster-filterd
and the kernel threads that do its interfaces' receive work (threaded
NAPI; veth otherwise does that work in the sender's system call) are
put in a cgroup v1 cpu group of their own, held to BUDGET % of one core.
What a node spends is read from /proc for the same tasks.  The far
gateway's and the hosts' interfaces poll in threads of their own too
(in no group), so that what a node sends is not charged the far end's
receive; the far end's at real-time priority, so that it keeps up with
the bursts a budgeted node sends.  veth delivers through the receiver's NAPI only frames from a
sender without TSO: cluster.sh sets its switch ports so.
"""
import json
import os
import struct
import subprocess
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BIN = TOP / "cluster-filter" / "build"
CLUSTER = TOP / "testbed" / "cluster.sh"
CGROUP = Path("/sys/fs/cgroup/cpu")
# A throttled node stops until the period ends, its NAPI thread with it,
# and the veth ring holds 256 frames: at 6,000 frames/s a 100 ms period's
# 85 ms pause overflows it, so a node lost packets with CPU to spare.
# 10 ms periods keep each pause under ~9 ms.
PERIOD_US = 10000
# the kernel refuses a quota under 1 ms: a smaller budget takes a longer
# period, and longer pauses (5 %: 20 ms periods, up to 19 ms paused, in
# which the ring holds 13,000 frames/s - more than 5 % nodes carry)
MIN_QUOTA_US = 1000


def cfs_period_quota(budget):
    """(period, quota) in us for BUDGET % of one core."""
    if not 1 <= budget <= 100:
        raise ValueError(f"a node's budget is 1 to 100 % of a core, not {budget}")
    period = max(PERIOD_US, -(-MIN_QUOTA_US * 100 // budget))
    return period, budget * period // 100


def run(*args, env=None, timeout=120):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def kv(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def napi_threads():
    out = run("ps", "-eo", "pid=,comm=")
    return {int(p) for p, comm in (ln.split(None, 1) for ln in out.splitlines()) if comm.startswith("napi/")}


def threaded_napi(ns, dev):
    """DEV in NS receives in a NAPI kthread of its own (GRO on turns veth NAPI on)."""
    run("ip", "netns", "exec", ns, "ethtool", "-K", dev, "gro", "on")
    run("ip", "netns", "exec", ns, "sh", "-c", f"echo 1 > /sys/class/net/{dev}/threaded")


def cpu_seconds(pids):
    """Time on a CPU of every thread of PIDS (schedstat: ns, not the 10 ms
    ticks of stat; /proc/PID/schedstat is the main thread's alone)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                with open(task / "schedstat") as f:
                    total += int(f.read().split()[0])
            except FileNotFoundError:
                pass    # a thread that just ended
    return total / 1e9


def inside_frame(size, dport=9000):
    """An Ethernet frame of host A's UDP to host B, SIZE bytes of IP, as
    udppace sends them, for BPF_PROG_TEST_RUN: to the zero MAC, the
    loopback device's, where the run takes place (to another it would be
    a frame for another host, which the program leaves alone)."""
    udp = struct.pack(">HHHH", 1024, dport, size - 20, 0) + bytes(size - 28)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, size, 0, 0, 64, 17, 0,
                     bytes([10, 0, 1, 2]), bytes([10, 0, 2, 2]))
    return bytes.fromhex("000000000000" "020000000002" "0800") + ip + udp


def keys(alg):
    """Fresh SA keys: every probe's SAs are new, so no IV is used twice under one key."""
    if alg == "3des-md5":
        return {"KEY_OUT": os.urandom(24).hex(), "KEY_IN": os.urandom(24).hex(),
                "AUTH_OUT": os.urandom(16).hex(), "AUTH_IN": os.urandom(16).hex()}
    return {"KEY_OUT": os.urandom(20).hex(), "KEY_IN": os.urandom(20).hex()}


class Rig:
    def __init__(self, prefix, budget):
        self.prefix, self.budget = prefix, budget
        self.period_quota = cfs_period_quota(budget)
        self.run_dir = Path(f"/run/{prefix}")
        self.group = CGROUP / prefix
        self.nodes = 0
        self.tasks = []

    def env(self, **extra):
        return dict(os.environ, CF_PREFIX=self.prefix, **extra)

    def ns(self, name):
        return f"{self.prefix}-{name}"

    def up(self, nodes, alg, budget=True):
        """N nodes for ALG SAs (aes128gcm16 or 3des-md5); each probe brings its own SAs."""
        # a node is one of the paper's one-CPU machines: one worker
        env = {"TUN_MTU": "1440", "SA_ALG": alg, "NODE_WORKERS": "1", **keys(alg)}
        self.alg = alg
        self.cluster_env = self.env(**env)
        run(CLUSTER, "up", nodes, env=self.cluster_env, timeout=300)
        self.nodes = nodes
        self.tasks = []
        threaded_napi(self.ns("ha"), "lan")
        before = napi_threads()
        for name, dev in (("peer", "out"), ("peer", "lan"), ("hb", "lan")):
            threaded_napi(self.ns(name), dev)
        # The far end stands for a receiver that is never the limit.  A
        # node held to its budget sends in bursts (what piled up while it
        # was throttled, up to a ring's worth at once), and at CFS priority
        # the far end's NAPI thread was often not running in time: its
        # 256-frame ring overflowed and a probe failed for frames the
        # cluster had delivered (at one node and 9,000 frames/s, 230-800
        # per second, so the base of every speed-up came out low).  At
        # real-time priority it drains as they come; it has little to do.
        for t in sorted(napi_threads() - before):
            run("chrt", "--fifo", "--pid", "1", t)
        for i in range(nodes):
            before = napi_threads()
            for dev in ("in", "out"):
                threaded_napi(self.ns(f"n{i}"), dev)
            pid = int((self.run_dir / f"n{i}.sock.pid").read_text())
            self.tasks.append([pid] + sorted(napi_threads() - before))
            if budget:
                group = self.group / f"n{i}"
                group.mkdir(parents=True, exist_ok=True)
                period, quota = self.period_quota
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
                # cgroup.procs takes a process with all its threads, tasks one thread
                (group / "cgroup.procs").write_text(str(pid))
                for t in self.tasks[i][1:]:
                    (group / "tasks").write_text(str(t))
        run("ip", "netns", "exec", self.ns("ha"), "ping", "-c", "2", "-i", "0.1", "-W", "2", "10.0.2.2")

    def add_floor(self):
        """A station on the inside segment that only drops, with the
        barest tc program (bpf/drop.bpf.o), receiving every frame the nodes
        receive there: what its NAPI thread spends per frame is the floor
        of what dropping a frame can cost.  Its pids."""
        ns, sw = self.ns("floor"), self.ns("sw")
        run("ip", "netns", "add", ns)
        self.floor = ns
        run("ip", "link", "add", f"{self.prefix}fl", "netns", sw, "type", "veth", "peer", "name", "in", "netns", ns)
        run("ip", "netns", "exec", sw, "ip", "link", "set", f"{self.prefix}fl", "master", "br-in", "up")
        run("ip", "netns", "exec", sw, "ethtool", "-K", f"{self.prefix}fl", "tso", "off", "tx-udp-segmentation", "off")
        run("ip", "netns", "exec", sw, "bridge", "link", "set", "dev", f"{self.prefix}fl", "learning", "off")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "in", "up")
        run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "in", "clsact")
        run("ip", "netns", "exec", ns, "tc", "filter", "add", "dev", "in", "ingress", "bpf", "da",
            "obj", BIN / "drop.bpf.o", "sec", "tc")
        before = napi_threads()
        threaded_napi(ns, "in")
        return sorted(napi_threads() - before)

    def program_ns(self, ns, dev, frame, runs=1000000):
        """(ns a run, verdict) of the tc ingress program on DEV in NS for
        FRAME (bytes from the Ethernet header on), BPF_PROG_TEST_RUN RUNS
        times: what the program alone costs, without the frame's receive."""
        hooks = json.loads(run("ip", "netns", "exec", ns, "bpftool", "-j", "net", "show", "dev", dev))
        ids = [t["id"] for h in hooks for t in h.get("tc", []) if t.get("kind") == "clsact/ingress"]
        if len(ids) != 1:
            raise RuntimeError(f"{ns} {dev}: {len(ids)} tc ingress programs, not one")
        path = self.run_dir / "frame.bin"
        path.write_bytes(frame)
        out = json.loads(run("bpftool", "-j", "prog", "run", "id", ids[0], "data_in", path, "repeat", runs))
        return out["duration"], out["retval"]

    def down(self):
        if getattr(self, "floor", None):
            run("ip", "netns", "del", self.floor)
            self.floor = None
        for g in self.group.glob("n[0-9]*"):
            for t in (g / "tasks").read_text().split():
                try:
                    (CGROUP / "tasks").write_text(t)
                except OSError:
                    pass
        run(CLUSTER, "down", env=self.env(), timeout=300)
        for g in list(self.group.glob("n[0-9]*")) + [self.group]:
            for _ in range(50):     # NAPI threads leave a moment after their namespace
                try:
                    g.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        self.nodes = 0

    def owned(self):
        """Outbound packets each node has encrypted so far."""
        counts = []
        for i in range(self.nodes):
            out = run(BIN / "cfctl", "-s", self.run_dir / f"n{i}.sock", "sa", "list")
            counts.append(sum(int(kv(ln)["packets"]) for ln in out.splitlines() if kv(ln).get("dir") == "out"))
        return counts

    def sink_received(self):
        return int(kv(run(BIN / "cfctl", "-s", self.run_dir / "peer.sock", "stats"))["tx-clear"])

    def idle_cpu(self, seconds):
        """What each node spends with no traffic (timers, reports), in SECONDS."""
        cpu0 = [cpu_seconds(t) for t in self.tasks]
        time.sleep(seconds)
        return [cpu_seconds(t) - c for t, c in zip(self.tasks, cpu0)]

    def fresh_sas(self, scheme, sas):
        """New SAs (new keys) on every node and the far gateway: a probe
        starts from fresh dispatch state, as the paper's runs did from a
        fresh gateway - the paper's schemes keep what an overloaded probe
        put out of step (a session table that differs between nodes)."""
        run(CLUSTER, "sas", env=dict(self.cluster_env, SA_DISPATCH=scheme, SAS=str(sas), **keys(self.alg)))

    def probe(self, rate, seconds, scheme, trace, sas=1):
        """Offer RATE datagrams/s for SECONDS (the trace's sizes and
        sessions) through fresh SAs dispatched by SCHEME; with SAS tunnels,
        session s goes to port 9000 + s mod SAS, which tunnel s mod SAS
        carries.  What host B got, what each node encrypted and spent."""
        ports = f"9000-{9000 + sas - 1}"
        self.fresh_sas(scheme, sas)
        counter = subprocess.Popen(["ip", "netns", "exec", self.ns("hb"), str(BIN / "udpcount"), ports, "0.5"],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert counter.stdout.readline().strip() == "ready"
            owned0, sink0 = self.owned(), self.sink_received()
            cpu0 = [cpu_seconds(t) for t in self.tasks]
            sent = kv(run("ip", "netns", "exec", self.ns("ha"), BIN / "udppace", "10.0.2.2", ports,
                          f"{rate:.0f}", seconds, "--trace", trace, timeout=seconds + 60))
            cpu = [cpu_seconds(t) - c for t, c in zip(self.tasks, cpu0)]
            got = kv(counter.communicate(timeout=60)[0])
        finally:
            counter.kill()
        owned = [b - a for a, b in zip(owned0, self.owned())]
        return {
            "rate": rate, "seconds": seconds,
            "sent": int(sent["sent"]), "sent_bytes": int(sent["bytes"]),
            "unique": int(got["unique"]), "duplicates": int(got["duplicates"]), "bytes": int(got["bytes"]),
            "owned": owned, "sink": self.sink_received() - sink0, "cpu": cpu,
        }
