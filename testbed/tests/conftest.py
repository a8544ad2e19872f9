# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared fixtures: paths to the built tools and the two-gateway topology."""
import contextlib
import json
import os
import re
import pathlib
import socket
import struct
import subprocess
import time

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
BIN = TOP / "cluster-filter" / "build"
TESTBED = TOP / "testbed"


def run(*args, check=True, **kw):
    """Run a command, return its stdout; raise with stderr shown on failure."""
    kw.setdefault("timeout", 180)  # a hung peer must fail the test, not CI
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def wait_for(cond, timeout=10.0, what="condition"):
    """What cond() returned once it was true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := cond()):
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def stop_capture(dump, pcap, quiet=0.3, timeout=5.0):
    """Stop a packet-buffered (-U) tcpdump writing PCAP once the file has
    not grown for QUIET s.  SIGTERM only breaks tcpdump's loop: the frames
    its kernel had queued but it had yet to read, scheduled late on a
    loaded machine, would be lost with it, and a frame that arrives just
    after the action (a second answer) would go unseen."""
    deadline = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = os.path.getsize(pcap) if os.path.exists(pcap) else 0
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.05)
    dump.terminate()
    dump.wait(timeout=10)


def corosync_conf(name, logdir, ring0_addrs, two_node=False):
    """A Corosync configuration (knet, no crypto: the tests' links are their
    own) for one node of RING0_ADDRS, logging to LOGDIR/corosync.log."""
    nodes = "".join(f"""    node {{
        ring0_addr: {addr}
        nodeid: {i + 1}
    }}
""" for i, addr in enumerate(ring0_addrs))
    return f"""totem {{
    version: 2
    cluster_name: {name}
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}}
logging {{
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: {logdir}/corosync.log
}}
quorum {{
    provider: corosync_votequorum
{"    two_node: 1" if two_node else ""}
}}
nodelist {{
{nodes}}}
"""


def kv(line):
    """'sa spi=0x1 dir=in ...' -> dict of the key=value words."""
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


# The control protocol (cluster-filter/PROTOCOL.md), for what cfctl does not send.
IKE_PUT, IKE_DEL, IKE_DUMP = 14, 15, 16
A_IKE_SPIS, A_IKE_RECORD, A_IKE_RECORD_WANTED = 62, 63, 64
F_DONE = 0x08


def control_message(msg_type, seq, *attrs):
    body = b"".join(struct.pack(">HH", t, 4 + len(data)) + data + bytes(-len(data) % 4)
                    for t, data in attrs)
    return struct.pack(">BBHII", 1, 0, msg_type, seq, 12 + len(body)) + body


def control_attrs(reply):
    """A reply's attributes by type (the last of a repeated one)."""
    attrs, at = {}, 12
    while at + 4 <= len(reply):
        t, length = struct.unpack(">HH", reply[at:at + 4])
        attrs[t] = reply[at + 4:at + length]
        at += (length + 3) & ~3
    return attrs


def control_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(30)
    s.connect(path)
    return s


def control_errno(reply):
    """A reply's errno: its first attribute is ERROR (type 1, 8 bytes)."""
    t, length, err = struct.unpack(">HHI", reply[12:20])
    assert t == 1 and length == 8, reply[:20].hex()
    return err


def control_errors(path, messages, window=64):
    """Send MESSAGES on one connection, WINDOW of them unanswered at a
    time; the errno of each reply."""
    errors, sent = [], 0
    with control_connect(path) as s:
        for m in messages:
            s.send(m)
            sent += 1
            if sent - len(errors) >= window:
                errors.append(control_errno(s.recv(65536)))
        while len(errors) < sent:
            errors.append(control_errno(s.recv(65536)))
    return errors


def ike_dump_records(path):
    """Every IKE record the data plane at PATH holds, as pluto gets them
    for a takeover: (SPIs, record)."""
    records = []
    with control_connect(path) as s:
        s.send(control_message(IKE_DUMP, 1, (A_IKE_RECORD_WANTED, b"\x01")))
        while True:
            reply = s.recv(65536)
            attrs = control_attrs(reply)
            assert struct.unpack(">I", attrs[1])[0] == 0, attrs
            if reply[1] & F_DONE:
                return records
            records.append((attrs[A_IKE_SPIS], attrs[A_IKE_RECORD]))


def ping(exec_in, src, dst, count, interval):
    """Echo replies namespace SRC got from DST (IPv4 or IPv6: ping tells by
    the address), each request waited for 2 s; EXEC_IN(ns, *cmd, check=)
    runs a command in a namespace."""
    out = exec_in(src, "ping", "-c", count, "-i", interval, "-W", "2", dst, check=False)
    m = re.search(r"(\d+) received", out)
    return int(m.group(1)) if m else 0


@contextlib.contextmanager
def switch_drops(prefix, port, permille=50):
    """The switch of cluster.sh's topology PREFIX drops PERMILLE per mille
    of the UDP it forwards to PORT (i1: node 1's inside): the node behind
    it misses them on the wire, before its fast path or anything else sees
    them.  Yields a dict that has "dropped" once the block is left."""
    ns, counted = f"{prefix}-sw", {}
    rules = ("table bridge loss {\n chain to_node {\n type filter hook forward priority 0\n"
             f" oifname {port} meta l4proto udp numgen random mod 1000 < {permille} counter drop\n }}\n}}\n")
    run("ip", "netns", "exec", ns, "nft", "-f", "-", input=rules)
    try:
        yield counted
    finally:
        table = run("ip", "netns", "exec", ns, "nft", "list", "table", "bridge", "loss")
        counted["dropped"] = int(table.split("counter packets ")[1].split()[0])
        run("ip", "netns", "exec", ns, "nft", "delete", "table", "bridge", "loss")


def kernel_drops(exec_in, namespaces):
    """Where the kernel dropped datagrams in each of NAMESPACES: UDP
    receive buffers and device queues (TUN devices among them), as
    {"<ns>-udp-rcvbuf": N, "<ns>-<ifname>-drops": N}; EXEC_IN as for ping()."""
    out = {}
    for ns in namespaces:
        snmp = exec_in(ns, "cat", "/proc/net/snmp").splitlines()
        udp = [line.split()[1:] for line in snmp if line.startswith("Udp:")]
        out[f"{ns}-udp-rcvbuf"] = int(dict(zip(*udp))["RcvbufErrors"])
        for link in json.loads(exec_in(ns, "ip", "-s", "-j", "link", "show")):
            stats = link.get("stats64", {})
            out[f"{ns}-{link['ifname']}-drops"] = (stats.get("rx", {}).get("dropped", 0) +
                                                   stats.get("tx", {}).get("dropped", 0))
    return out


def tcp_transfer(topo, src, dst_ns, addr, port, size, timeout=120):
    """SIZE bytes of TCP from namespace SRC to ADDR (in DST_NS, either
    family: tcp_xfer.py listens on [::]), hashed at both ends: what the
    sender said and what the receiver said (bytes, sha256)."""
    receiver = topo.popen(dst_ns, "/usr/bin/python3", TESTBED / "tcp_xfer.py", "recv", port)
    try:
        wait_for(lambda: f":{port} " in topo.exec(dst_ns, "ss", "-ltn"), what="receiver listening")
        sent = kv(topo.exec(src, "/usr/bin/python3", TESTBED / "tcp_xfer.py", "send", addr, port, size))
        got = kv(receiver.communicate(timeout=timeout)[0])
    finally:
        receiver.kill()
    return sent, got


class Pair:
    """The topology of testbed/filter-pair.sh, driven from Python."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.run_dir = f"/run/{prefix}"
        self.env = dict(os.environ, CF_PREFIX=prefix, CF_BIN=str(BIN), CF_RUN=self.run_dir)

    def script(self, verb, **env):
        return run(TESTBED / "filter-pair.sh", verb, env=dict(self.env, **env))

    def ns(self, name):
        return f"{self.prefix}-{name}"

    def exec(self, name, *cmd, check=True, **kw):
        return run("ip", "netns", "exec", self.ns(name), *cmd, check=check, **kw)

    def popen(self, name, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns(name), *map(str, cmd)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    def cfctl(self, gw, *args, check=True):
        return run(BIN / "cfctl", "-s", f"{self.run_dir}/{gw}.sock", *args, check=check)

    def stats(self, gw):
        return kv(self.cfctl(gw, "stats"))

    def sa(self, gw, spi, direction):
        return kv(self.cfctl(gw, "sa", "get", "spi", spi, "dir", direction))

    def reinstall(self, **env):
        """Fresh SAs and policies, e.g. reinstall(ALG='aes256gcm16', ENCAP='')."""
        self.cfctl("ga", "flush")
        self.cfctl("gb", "flush")
        self.script("install-sas", **env)

    def ping(self, src, dst, count=5, interval=0.05):
        return ping(self.exec, src, dst, count, interval)


@pytest.fixture(scope="module")
def pair():
    p = Pair(f"cft{os.getpid() % 100000}")
    try:
        p.script("up")
        yield p
    finally:
        p.script("down")
