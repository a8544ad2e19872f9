# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian 12 in a qemu guest (TCG) with kernel ESP, against an unmodified
strongSwan: the rig for installing our .debs into a real Debian system.

    qemu guest (testbed/guest/make-image)      $p-ss (the tap's namespace)       $p-hb
   10.0.1.1 inside0 [libreswan] eth0 192.0.2.1 == tap0 192.0.2.2 [charon, libipsec] 10.0.2.1 --- 10.0.2.2

The guest is booted once per module (guest.py: qcow2 overlay on the cached
image, qemu-guest-agent for commands, 9p share at /mnt/host), the peer is
testbed/guest/net.sh (start_charon of strongswan.sh).  In order, on the
one guest: the stock libreswan 4.10 from bookworm carries a net-to-net
tunnel; `apt install` of our two packages (build/deb, `make deb`) over it
keeps its configuration and NSS database, and after `systemctl restart
ipsec` the same tunnel carries traffic through kernel ESP; a broken
cluster setting stops the start with its one line; protostack=cluster
and the cluster-* keywords bring up Corosync, a sandboxed cluster-filterd
and pluto, and the tunnel runs through the userspace data plane; purge
and reinstall leave nothing behind.  Each step's time is printed.
"""
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import TESTBED, TOP, run, wait_for

sys.path.insert(0, str(TESTBED / "guest"))
from guest import Guest  # noqa: E402

IMAGE_DIR = TOP / "build" / "guest"
PREFIX = os.environ.get("CF_PREFIX", "gst")
PSK = "guest-testbed-preshared-key"


def qemu_unusable():
    """Why qemu cannot run here at all, or None.  Anything else fails loudly."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, tap, debootstrap)"
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        if not shutil.which("apt-get"):
            return "qemu-system-x86_64 is not installed and there is no apt-get to install it"
        return None  # make-image installs it
    p = subprocess.run([qemu, "-accel", "help"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or "tcg" not in p.stdout:
        return f"qemu-system-x86_64 cannot run with TCG: {p.stdout}{p.stderr}".strip()
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun for the guest's tap device"
    return None


pytestmark = pytest.mark.skipif(qemu_unusable() is not None, reason=str(qemu_unusable()))


def xfrm_states(text):
    """`ip -s xfrm state` -> [{src, dst, spi, encap, bytes, packets}]."""
    states = []
    for block in re.split(r"^(?=src )", text, flags=re.M):
        m = re.match(r"src (\S+) dst (\S+)", block)
        if not m:
            continue
        spi = re.search(r"spi (0x[0-9a-f]+)", block)
        cur = re.search(r"lifetime current:\s*(\d+)\(bytes\), (\d+)\(packets\)", block)
        encap = re.search(r"encap type (\S+) sport (\d+) dport (\d+)", block)
        states.append({"src": m.group(1), "dst": m.group(2),
                       "spi": spi.group(1) if spi else None,
                       "encap": f"{encap.group(1)} {encap.group(2)}:{encap.group(3)}" if encap else None,
                       "bytes": int(cur.group(1)) if cur else 0,
                       "packets": int(cur.group(2)) if cur else 0})
    return states


def received(ping_output):
    m = re.search(r"(\d+) received", ping_output)
    return int(m.group(1)) if m else 0


class Bed:
    """The booted guest and its strongSwan peer."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.ss = f"{prefix}-ss"
        self.hb = f"{prefix}-hb"
        self.ss_dir = f"/tmp/{prefix}-strongswan"
        self.env = dict(os.environ, CF_PREFIX=prefix, PSK=PSK)
        self.log_dir = IMAGE_DIR / f"logs-{prefix}"
        self.guest = Guest(IMAGE_DIR, ns=self.ss, log_dir=self.log_dir)
        self.times = {}

    @contextlib.contextmanager
    def step(self, name):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.times[name] = dt = time.monotonic() - t0
            print(f"[guest] {name}: {dt:.1f} s", flush=True)

    # --- the peer ------------------------------------------------------------

    def net(self, verb, check=True):
        return run(TESTBED / "guest" / "net.sh", verb, env=self.env, check=check)

    def swanctl(self, *args, check=True):
        return run("ip", "netns", "exec", self.ss, "swanctl", *args, check=check,
                   env=dict(os.environ, STRONGSWAN_CONF=f"{self.ss_dir}/strongswan.conf"))

    def host(self, ns, *cmd, check=True, **kw):
        return run("ip", "netns", "exec", ns, *cmd, check=check, **kw)

    def charon_log(self, tail=3000):
        try:
            with open(f"{self.ss_dir}/charon.log") as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    # --- the guest's libreswan --------------------------------------------------

    def configure(self, esp="aes_gcm128", ike="aes_gcm128-sha2_256-dh31", name="tunnel"):
        """A net-to-net conn in /etc/ipsec.d (the stock ipsec.conf includes it)."""
        self.guest.write(f"/etc/ipsec.d/{name}.conf", f"""conn {name}
    left=192.0.2.1
    leftid=@gw
    leftsubnet=10.0.1.0/24
    leftsourceip=10.0.1.1
    right=192.0.2.2
    rightid=@peer
    rightsubnet=10.0.2.0/24
    authby=secret
    ikev2=yes
    ike={ike}
    esp={esp}
    auto=add
""")
        self.guest.write(f"/etc/ipsec.d/{name}.secrets", f'@gw @peer : PSK "{PSK}"\n', mode="0600")

    def restart_ipsec(self, name="tunnel"):
        """systemctl restart ipsec; then wait for pluto to have loaded the conn."""
        self.guest.run("systemctl restart ipsec", timeout=120)
        wait_for(lambda: f'"{name}":' in self.guest.exec("ipsec whack --status", timeout=30)[1],
                 timeout=60, what=f"pluto in the guest to load {name}")

    def up(self, name="tunnel"):
        rc, out, err = self.guest.exec(f"ipsec auto --up {name}", timeout=120)
        if rc != 0 or "established" not in out.lower():
            _, journal, _ = self.guest.exec("journalctl -u ipsec --no-pager | tail -n 40")
            raise AssertionError(f"ipsec auto --up {name} -> {rc}\n{out}\n{err}\n--- guest's pluto:\n"
                                 f"{journal}\n--- charon:\n{self.charon_log()}")
        return out

    def down(self, name="tunnel"):
        self.guest.exec(f"ipsec auto --down {name}", timeout=60)

    def xfrm(self):
        return xfrm_states(self.guest.run("ip -s xfrm state"))

    def traffic(self, count=5):
        """Ping 10.0.1.1 (guest) <-> 10.0.2.2 (host B) both ways through the
        tunnel; returns the guest's XFRM states before and after."""
        before = {s["spi"]: s for s in self.xfrm()}
        rc, out, err = self.guest.exec(f"ping -c {count} -i 0.2 -W 3 -I 10.0.1.1 10.0.2.2", timeout=60)
        assert received(out) == count, f"guest -> host B: {out}{err}"
        out = self.host(self.hb, "ping", "-c", count, "-i", "0.2", "-W", "3", "10.0.1.1", check=False)
        assert received(out) == count, f"host B -> guest: {out}"
        after = self.xfrm()
        return before, after


@pytest.fixture(scope="module")
def bed():
    b = Bed(PREFIX)
    try:
        with b.step("make-image (cached unless make-image changed)"):
            print(run(TESTBED / "guest" / "make-image", timeout=3600).strip())
        with b.step("boot"):
            b.guest.start()
            b.guest.wait_booted(timeout=300)
        print(f"[guest] agent answered after {b.guest.timings['agent']:.1f} s, "
              f"booted after {b.guest.timings['booted']:.1f} s", flush=True)
        with b.step("strongSwan peer up"):
            b.net("up")
        yield b
    finally:
        # each piece of the teardown runs whatever the one before it did
        try:
            b.net("down", check=False)
        finally:
            try:
                with b.step("shutdown"):
                    b.guest.shutdown(timeout=60)
            finally:
                b.guest.close()
        print("[guest] times: " + ", ".join(f"{k} {v:.1f} s" for k, v in b.times.items()), flush=True)


def test_stock_libreswan_net_to_net(bed):
    g = bed.guest
    version = g.run("ipsec --version")
    assert "Libreswan 4.10" in version, version
    with bed.step("configure and restart ipsec"):
        bed.configure()
        bed.restart_ipsec()
    with bed.step("IKEv2 from the guest"):
        bed.up()
    try:
        states = bed.xfrm()
        out = [s for s in states if s["src"] == "192.0.2.1" and s["dst"] == "192.0.2.2"]
        inb = [s for s in states if s["src"] == "192.0.2.2" and s["dst"] == "192.0.2.1"]
        assert len(out) == 1 and len(inb) == 1, states
        # strongSwan's libipsec speaks only ESP-in-UDP: the kernel encapsulates
        assert out[0]["encap"] == "espinudp 4500:4500", states
        with bed.step("ping both ways"):
            before, after = bed.traffic(count=5)
        grew = {s["spi"]: s["packets"] - before.get(s["spi"], {"packets": 0})["packets"] for s in after}
        print(f"[guest] XFRM packets added per SA: {grew}")
        # 5 requests and 5 replies each way: 10 packets per SA, through kernel ESP
        assert grew[out[0]["spi"]] >= 10 and grew[inb[0]["spi"]] >= 10, (before, after)
        sas = bed.swanctl("--list-sas")
        assert "INSTALLED" in sas, sas
    finally:
        bed.down()


# --- our packages over the stock one -----------------------------------------

DEB_DIR = TOP / "build" / "deb"
CONFFILE_NOTE = "# an operator edit, which the upgrade must keep"


def our_debs():
    debs = sorted(p for p in DEB_DIR.glob("*_amd64.deb") if "dbgsym" not in p.name)
    names = sorted(p.name.split("_")[0] for p in debs)
    assert names == ["libreswan", "libreswan-cluster"], \
        f"make deb first: {DEB_DIR} holds {[p.name for p in debs]}"
    return debs


def apt_install(bed, debs):
    """apt install ./x.deb ... in the guest, offline: every dependency is in
    the image.  --force-confold: what an unattended upgrade answers."""
    for deb in debs:
        bed.guest.copy_in(deb)
    names = " ".join(f"/mnt/host/{d.name}" for d in debs)
    rc, out, err = bed.guest.exec(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y "
        f"-o Dpkg::Options::=--force-confold {names}", timeout=600)
    assert rc == 0, f"apt-get install {names} -> {rc}\n{out[-3000:]}\n{err[-3000:]}"
    return out


def unit_pid(bed, unit):
    return int(bed.guest.run(f"systemctl show -p MainPID --value {unit}").strip())


# what upstream's install makes of the PSKs and NSS keys (bookworm's package: 644, 755, 755)
ROOTS_ALONE = {"/etc/ipsec.secrets": "600", "/etc/ipsec.d": "700", "/var/lib/ipsec/nss": "700"}


def secrets_modes(g):
    return dict(line.split() for line in g.run(f"stat -c '%n %a' {' '.join(ROOTS_ALONE)}").splitlines())


def test_upgrade_to_our_packages_keeps_the_tunnel(bed):
    """The stock 4.10's configuration, conffiles and NSS database survive
    apt install of ours; after systemctl restart ipsec the same conn passes
    traffic through kernel ESP again (stock behaviour without protostack=cluster)."""
    g = bed.guest
    debs = our_debs()
    g.run(f"echo '{CONFFILE_NOTE}' >> /etc/ipsec.conf")
    kept = "/etc/ipsec.conf /etc/ipsec.secrets /etc/ipsec.d/tunnel.conf /etc/ipsec.d/tunnel.secrets"
    before = g.run(f"sha256sum {kept}")
    nss_before = g.run("ls /var/lib/ipsec/nss")
    assert "cert9.db" in nss_before, nss_before
    with bed.step("apt install our packages over 4.10"):
        apt_install(bed, debs)
    assert "Libreswan 5.2" in g.run("ipsec --version")
    assert g.run(f"sha256sum {kept}") == before
    assert g.run("ls /var/lib/ipsec/nss") == nss_before
    assert g.run("dpkg-query -W -f '${Version}' libreswan") == "5.2-0+cluster1"
    assert secrets_modes(g) == ROOTS_ALONE
    with bed.step("systemctl restart ipsec (5.2)"):
        bed.restart_ipsec()
    # not clustered: the data plane's unit is skipped, not failed
    state = dict(line.split("=", 1) for line in
                 g.run("systemctl show -p ActiveState -p Result cluster-filterd").split())
    assert state == {"ActiveState": "inactive", "Result": "exec-condition"}, state
    with bed.step("IKEv2 from the guest (5.2)"):
        bed.up()
    try:
        states = bed.xfrm()
        assert len(states) == 2, states
        before_t, after_t = bed.traffic(count=5)
        grew = [s["packets"] - before_t.get(s["spi"], {"packets": 0})["packets"] for s in after_t]
        assert all(n >= 10 for n in grew), (before_t, after_t)
    finally:
        bed.down()


CLUSTER_SETUP = """config setup
    protostack=cluster
    cluster-group=gw
    cluster-key={key}
    cluster-addresses="192.0.2.1 10.0.1.1"
    cluster-inside=inside0
    cluster-outside=eth0
include /etc/ipsec.d/*.conf
"""


def test_broken_cluster_setting_stops_the_start(bed):
    g = bed.guest
    g.write("/etc/ipsec.conf", CLUSTER_SETUP.format(key="/etc/ipsec.d/no-such.key"))
    rc, _, _ = g.exec("systemctl restart ipsec", timeout=120)
    assert rc != 0
    line = "ipsec cluster: cluster-key=/etc/ipsec.d/no-such.key: no such file"
    try:
        # as when addconn --checkconfig fails, systemd tries again
        # (Restart=on-failure) until its start limit; pluto never starts
        wait_for(lambda: line in g.run("journalctl -u ipsec --no-pager -o cat"), timeout=60,
                 what="the line in ipsec.service's journal")
        _, status, _ = g.exec("systemctl status --no-pager -n 30 ipsec")
        print(status)
        assert "ExecStartPre=/usr/sbin/ipsec cluster check (code=exited, status=78)" in status, status
        assert g.exec("pidof pluto")[0] != 0, "pluto started"
        # the data plane's unit does not try again (EX_CONFIG)
        wait_for(lambda: g.exec("systemctl is-failed cluster-filterd")[1].strip() == "failed",
                 timeout=60, what="cluster-filterd.service to fail")
        _, status, _ = g.exec("systemctl status --no-pager cluster-filterd")
        print(status)
        assert line in status, status
    finally:
        g.exec("systemctl stop ipsec cluster-filterd", timeout=60)


def test_cluster_mode_from_the_packaged_units(bed):
    """protostack=cluster and the cluster-* keywords alone: systemctl restart
    ipsec brings up Corosync membership, cluster-filterd (sandboxed, no
    capability left) and pluto; the tunnel carries traffic through the
    userspace data plane (no XFRM state)."""
    g = bed.guest
    g.run("umask 077 && head -c 32 /dev/urandom > /etc/ipsec.d/cluster.key")
    g.write("/etc/ipsec.conf", CLUSTER_SETUP.format(key="/etc/ipsec.d/cluster.key"))
    # options without a keyword: the package's conffile, edited
    assert "/etc/default/cluster-filterd" in g.run("cat /var/lib/dpkg/info/libreswan-cluster.conffiles")
    g.run("sed -i 's/^CLUSTER_FILTERD_OPTS=.*/CLUSTER_FILTERD_OPTS=\"--workers 1\"/' /etc/default/cluster-filterd")
    # not started by hand: cluster-filterd.service wants it
    g.exec("systemctl stop corosync")
    with bed.step("systemctl restart ipsec (cluster mode)"):
        bed.restart_ipsec()
    assert g.run("systemctl is-active corosync").strip() == "active"
    assert g.run("systemctl is-active cluster-filterd").strip() == "active"
    pid = unit_pid(bed, "cluster-filterd")
    status = dict(line.split(":\t", 1) for line in g.run(f"cat /proc/{pid}/status").splitlines()
                  if ":\t" in line)
    print(f"[guest] cluster-filterd: Uid {status['Uid']} CapEff {status['CapEff']} "
          f"CapBnd {status['CapBnd']} NoNewPrivs {status['NoNewPrivs']}")
    assert status["Name"].strip() == "cluster-filterd"
    assert g.run(f"tr '\\0' ' ' < /proc/{pid}/cmdline").split()[-2:] == ["--workers", "1"]
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert int(status["CapBnd"], 16) == 0 and int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    # ProtectSystem=strict and the secrets out of reach, seen from inside
    rc, _, _ = g.exec(f"nsenter -t {pid} -m sh -c 'echo x >> /etc/ipsec.conf'")
    assert rc != 0
    # an empty node of mode 000 over the secrets (we read it as full root)
    assert g.run("cat /etc/ipsec.secrets /etc/ipsec.d/tunnel.secrets") != ""
    _, seen, _ = g.exec(f"nsenter -t {pid} -m sh -c 'stat -c %a /etc/ipsec.secrets; cat /etc/ipsec.secrets'")
    assert seen.split() == ["0"], seen
    assert g.run(f"cat /proc/{pid}/limits | grep 'Max core file size'").split()[4] == "0"
    with bed.step("IKEv2 from the guest (cluster mode)"):
        bed.up()
    try:
        assert bed.xfrm() == [], "kernel SAs in cluster mode"
        rc, out, err = g.exec("ping -c 5 -i 0.2 -W 3 -I 10.0.1.1 10.0.2.2", timeout=60)
        assert received(out) == 5, out + err
        out = bed.host(bed.hb, "ping", "-c", "5", "-i", "0.2", "-W", "3", "10.0.1.1", check=False)
        assert received(out) == 5, out
        status = g.run("ipsec cluster status")
        print(status)
        assert "members 1" in status and "default host" in status, status
        # Corosync runs Debian's own corosync.conf (one node, 127.0.0.1): said, not refused
        assert "warning: Corosync runs with one node, on the loopback address" in \
            g.run("journalctl -u ipsec --no-pager -o cat")
        stats = dict(w.split("=", 1) for w in g.run("ipsec cluster stats").split() if "=" in w)
        assert int(stats["tx-esp"]) >= 10 and int(stats["tx-clear"]) >= 10, stats
    finally:
        bed.down()


def test_purge_and_reinstall(bed):
    g = bed.guest
    with bed.step("apt purge"):
        rc, out, err = g.exec("DEBIAN_FRONTEND=noninteractive apt-get purge -y libreswan-cluster libreswan",
                              timeout=300)
        assert rc == 0, out + err
    assert g.run("dpkg-query -W -f '${db:Status-Abbrev}' libreswan libreswan-cluster || true").split() \
        in (["un", "un"], [])
    assert g.exec("test -e /etc/ipsec.conf")[0] != 0
    assert g.run("ls -A /var/lib/ipsec/nss 2>/dev/null || true").strip() == ""
    assert g.exec("systemctl cat ipsec.service")[0] != 0
    # the silent node's tables went with the package, and the daemon with its binary
    assert "cluster_filterd" not in g.run("nft list tables"), g.run("nft list tables")
    assert g.exec("pidof cluster-filterd")[0] != 0
    with bed.step("apt install again"):
        apt_install(bed, our_debs())
    g.run("systemctl restart ipsec", timeout=120)
    # pluto tells systemd it is reloading while it loads its connections
    wait_for(lambda: g.exec("systemctl is-active ipsec")[1].strip() == "active", timeout=60,
             what="ipsec.service active after the reinstall")
    assert "Libreswan 5.2" in g.run("ipsec --version")
    assert secrets_modes(g) == ROOTS_ALONE
    # a fresh ipsec.conf: stock behaviour, the data plane skipped
    assert g.run("systemctl is-active cluster-filterd || true").strip() == "inactive"
