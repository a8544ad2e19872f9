#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Numbered UDP datagrams, counted at the far end.

  udp_stream.py recv PORT SECONDS      print "received=N unique=U duplicates=D" after
                                        SECONDS of silence
  udp_stream.py send HOST PORT COUNT SIZE RATE
                                        COUNT datagrams of SIZE bytes at RATE per second
"""
import socket
import struct
import sys
import time


def recv(port, quiet):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    seen, received = set(), 0
    s.settimeout(30)
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        s.settimeout(quiet)
        received += 1
        seen.add(struct.unpack(">Q", data[:8])[0])
    print(f"received={received} unique={len(seen)} duplicates={received - len(seen)}", flush=True)


def send(host, port, count, size, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = bytes(max(0, size - 8))
    t0 = time.monotonic()
    for i in range(count):
        s.sendto(struct.pack(">Q", i) + pad, (host, port))
        ahead = t0 + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    print(f"sent={count}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(int(sys.argv[2]), float(sys.argv[3]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
