#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Numbered UDP datagrams, counted at the far end.

  udp_stream.py recv PORT SECONDS [COUNT]
                                        print "received=N unique=U duplicates=D" after
                                        SECONDS of silence; with COUNT, until COUNT
                                        distinct datagrams came, only after LATE
                                        seconds of silence (a stall of a loaded
                                        test bed is not a loss)
  udp_stream.py send HOST PORT COUNT SIZE RATE [SRC[-LAST]]
                                        COUNT datagrams of SIZE bytes at RATE per second
                                        (from address SRC, or from SRC..LAST in turn)
  udp_stream.py count PORT SECONDS [COUNT [RATE]]
                                        like recv, but print one JSON object: what was
                                        received, unique, duplicated and missing (of
                                        COUNT, else of the highest number seen), and
                                        when, on the sender's clock (see below); RATE
                                        places datagrams lost at the end of the stream

Every datagram starts with its number, the sender's start time and its send
time (u64 each, big endian; times in ns of CLOCK_MONOTONIC, which all network
namespaces share).  So the receiver can say when the datagrams it did not
get were sent: a missing run is placed between the send times of the
datagrams around it.  Times in count's output are seconds since the stream
started, "t0" is that start on the monotonic clock (time.monotonic()).
recv reads the number only, so it also counts older senders' datagrams.
cluster-filter's udpflood sends the same datagrams as fast as sendmmsg goes.
SIGTERM or SIGINT makes recv and count stop and report at once.
"""
import ipaddress
import json
import signal
import socket
import struct
import sys
import time
from array import array

HDR = struct.Struct(">QQQ")     # number, stream start, send time
MAX_INDEX = 1 << 26             # more is not ours
LATE = 10.0                     # recv COUNT: the silence that ends an incomplete stream


class Stop(Exception):
    pass


def _stop(*_):
    raise Stop()


def _socket(port):
    try:    # both families where the namespace has IPv6
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
    except OSError:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("ready", flush=True)
    return s


def recv(port, quiet, expected=0):
    s = _socket(port)
    seen, received = set(), 0
    s.settimeout(30)
    try:
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            received += 1
            seen.add(struct.unpack(">Q", data[:8])[0])
            s.settimeout(max(quiet, LATE) if len(seen) < expected else quiet)
    except Stop:
        pass
    print(f"received={received} unique={len(seen)} duplicates={received - len(seen)}", flush=True)


def _runs(indices):
    """Sorted numbers -> [(first, last), ...] of consecutive ones."""
    runs = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def count(port, quiet, expected, rate=0.0):
    s = _socket(port)
    copies = bytearray()            # per number: how many arrived (saturating)
    sent = array("q")               # per number: its send time, -1 if not yet seen
    t0 = None
    received = foreign = 0
    buf = bytearray(65536)
    s.settimeout(30)
    try:
        while True:
            try:
                n = s.recv_into(buf)
            except socket.timeout:
                break
            s.settimeout(quiet)
            if n < HDR.size:
                foreign += 1
                continue
            i, start, at = HDR.unpack_from(buf)
            if i >= MAX_INDEX:
                foreign += 1
                continue
            received += 1
            if t0 is None:
                t0 = start
            if i >= len(copies):
                grow = max(i + 1 - len(copies), len(copies), 4096)
                copies.extend(bytes(grow))
                sent.extend([-1] * grow)
            if copies[i] < 255:
                copies[i] += 1
            if sent[i] < 0:
                sent[i] = at
    except Stop:
        pass

    highest = next((i for i in range(len(copies) - 1, -1, -1) if copies[i]), -1)
    total = expected or highest + 1
    if len(copies) < total:
        copies.extend(bytes(total - len(copies)))
        sent.extend([-1] * (total - len(sent)))
    unique = sum(1 for i in range(total) if copies[i])
    duplicated = [i for i in range(total) if copies[i] > 1]
    missing = [i for i in range(total) if not copies[i]]
    t0 = t0 or 0

    def secs(ns):
        return round((ns - t0) / 1e9, 4)

    # a missing run was sent between the datagrams around it
    lost = []
    for a, b in _runs(missing):
        before = sent[a - 1] if a > 0 else t0
        if b + 1 < total:
            after = sent[b + 1]
        else:   # lost up to the end: the sender's schedule says when that was
            after = max(before, t0 + int(b / rate * 1e9)) if rate else before
        lost.append([secs(before), secs(after), b - a + 1])
    dups = [[secs(sent[i]), copies[i] - 1] for i in duplicated]
    lost_per_s, dup_per_s = {}, {}
    for begin, end, k in lost:
        # spread a run over the seconds it spans, in proportion
        first, last = int(begin), int(end)
        for sec in range(first, last + 1):
            lo, hi = max(begin, sec), min(end, sec + 1)
            share = k if last == first else round(k * (hi - lo) / (end - begin))
            if share:
                lost_per_s[sec] = lost_per_s.get(sec, 0) + share
    for at, k in dups:
        dup_per_s[int(at)] = dup_per_s.get(int(at), 0) + k
    # the send times say how long the stream took
    last_sent = max((sent[i] for i in range(total) if sent[i] >= 0), default=t0)
    print(json.dumps({
        "received": received, "unique": unique, "count": total,
        "duplicates": received - unique, "duplicated": len(duplicated),
        "missing": len(missing), "foreign": foreign,
        "t0": t0 / 1e9, "duration": secs(last_sent),
        "lost": lost, "dups": dups,
        "lost_per_s": lost_per_s, "dup_per_s": dup_per_s,
    }), flush=True)


def sources(src):
    """SRC, or every address from FIRST to LAST of FIRST-LAST."""
    if src is None:
        return [None]
    first, _, last = src.partition("-")
    first = ipaddress.ip_address(first)
    return [str(first + k) for k in range(int(ipaddress.ip_address(last or first)) - int(first) + 1)]


def send(host, port, count, size, rate, src=None):
    socks = []
    for addr in sources(src):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        if addr:
            s.bind((addr, 0))
        socks.append(s)
    pad = bytes(max(0, size - HDR.size))
    t0 = time.monotonic()
    start = time.monotonic_ns()
    for i in range(count):
        socks[i % len(socks)].sendto(HDR.pack(i, start, time.monotonic_ns()) + pad, (host, port))
        ahead = t0 + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    print(f"sent={count}", flush=True)


if __name__ == "__main__":
    verb, args = sys.argv[1], sys.argv[2:]
    if verb == "recv":
        recv(int(args[0]), float(args[1]), int(args[2]) if len(args) > 2 else 0)
    elif verb == "count":
        count(int(args[0]), float(args[1]), int(args[2]) if len(args) > 2 else 0,
              float(args[3]) if len(args) > 3 else 0.0)
    else:
        send(args[0], int(args[1]), int(args[2]), int(args[3]), float(args[4]), *args[5:6])
