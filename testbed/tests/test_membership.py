# SPDX-License-Identifier: GPL-2.0-or-later
"""cluster-filterd refuses a Corosync quorum that lets both halves of a
split be quorate: two_node without a quorum device (both halves would
forward and both would speak IKE for the same SAs).

One namespace, one real Corosync (knet on a veth link, the second node of
its two-node list never comes), one daemon started against it."""
import os
import subprocess

import pytest

from conftest import BIN, corosync_conf, run, wait_for

NS = f"cmb{os.getpid() % 100000}"


@pytest.fixture
def corosync(tmp_path):
    run("ip", "netns", "add", NS)
    procs = []
    try:
        run("ip", "-n", NS, "link", "set", "lo", "up")
        run("ip", "-n", NS, "link", "add", "cl", "type", "veth", "peer", "name", "cl-peer")
        run("ip", "-n", NS, "addr", "add", "172.16.9.10/24", "dev", "cl")
        run("ip", "-n", NS, "link", "set", "cl", "up")
        key = tmp_path / "cluster.key"
        key.write_text("ab" * 32)
        key.chmod(0o600)

        def start(two_node):
            conf = tmp_path / "corosync.conf"
            conf.write_text(corosync_conf(NS, tmp_path, ["172.16.9.10", "172.16.9.11"], two_node))
            # a private /run: corosync's pid file and IPC sockets are fixed paths
            p = subprocess.Popen(["ip", "netns", "exec", NS, "unshare", "-m", "--propagation", "private",
                                  "sh", "-c", f"mount -t tmpfs tmpfs /run && exec corosync -f -c {conf}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            return p
        yield start, key
    finally:
        for p in procs:
            p.kill()
            p.wait()
        run("ip", "netns", "del", NS, check=False)


def daemon_in(corosync_proc, key, tmp_path):
    """cluster-filterd in Corosync's mount namespace (its /run), until it exits or 5 s pass."""
    pid = corosync_proc.pid
    wait_for(lambda: subprocess.run(["nsenter", "-t", str(pid), "-m", "-n", "corosync-cfgtool", "-s"],
                                    capture_output=True).returncode == 0, what="corosync")
    cmd = ["nsenter", "-t", str(pid), "-m", "-n", str(BIN / "cluster-filterd"), "--tun", "cmb0",
           "--control", str(tmp_path / "ctl"), "--cluster", "cluster-filter", "--sync-key", str(key)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        return None, e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")


def test_two_node_without_a_quorum_device_is_refused(corosync, tmp_path):
    start, key = corosync
    code, err = daemon_in(start(two_node=True), key, tmp_path)
    # 78: a setting to mend, which systemd does not restart on (RestartPreventExitStatus)
    assert code == 78, f"cluster-filterd with two_node: {code} {err}"
    assert "two_node set and no quorum device" in err, err


def test_the_same_without_two_node_starts(corosync, tmp_path):
    start, key = corosync
    code, err = daemon_in(start(two_node=False), key, tmp_path)
    # it runs (not quorate alone: it waits for the second node) until the timeout
    assert code is None, f"cluster-filterd exited {code}: {err}"
