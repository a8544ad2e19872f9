#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP transfer with a checksum at both ends.

  tcp_xfer.py recv PORT                  print "bytes=N sha256=H" of what arrived
  tcp_xfer.py send HOST PORT BYTES       send BYTES of pseudo-random data,
                                          print "bytes=N sha256=H MBit/s=R"
"""
import hashlib
import os
import socket
import sys
import time


def recv(port):
    try:    # both families where the namespace has IPv6
        srv = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    except OSError:
        srv = socket.create_server(("0.0.0.0", port))
    srv.settimeout(60)
    conn, _ = srv.accept()
    conn.settimeout(60)
    h, n = hashlib.sha256(), 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    print(f"bytes={n} sha256={h.hexdigest()}", flush=True)


def send(host, port, total):
    block = os.urandom(1 << 16)
    h, n = hashlib.sha256(), 0
    s = socket.create_connection((host, port), timeout=60)
    t0 = time.monotonic()
    while n < total:
        # vary the data so a replayed or reordered block would show
        chunk = hashlib.sha256(n.to_bytes(8, "big")).digest() + block
        chunk = chunk[: min(len(chunk), total - n)]
        s.sendall(chunk)
        h.update(chunk)
        n += len(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    dt = time.monotonic() - t0
    print(f"bytes={n} sha256={h.hexdigest()} MBit/s={n * 8 / dt / 1e6:.1f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
