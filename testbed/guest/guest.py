# SPDX-License-Identifier: GPL-2.0-or-later
"""A Debian 12 guest under qemu (TCG), driven through qemu-guest-agent.

The image is testbed/guest/make-image's (build/guest/bookworm.img with its
vmlinuz and initrd.img beside it).  Each Guest boots it on a throw-away
qcow2 overlay, so the base image stays pristine, inside a network namespace:
the guest's eth0 (192.0.2.1/24 in the image) is a tap device in that
namespace, whose host side gets `tap_addr`.  A host directory is shared
over 9p (mount tag "host", mounted at /mnt/host in the guest) for copying
files in.  Commands run through the QGA protocol (guest-exec and
guest-exec-status, output in base64); the serial console goes to a file.

    g = Guest(image_dir, ns="gst-ss", log_dir=...)
    g.start(); g.wait_booted()
    rc, out, err = g.exec("ip -s xfrm state")
    g.shutdown(); g.close()

Python 3 standard library only.  Run as root (namespaces, tap devices).
"""
import base64
import json
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

GUEST_SHARE = "/mnt/host"
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class GuestError(AssertionError):
    """The guest or qemu did not do what was asked (an AssertionError, so
    that pytest shows it as a failure with its message)."""


def _ip(*args):
    p = subprocess.run(["ip", *map(str, args)], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise GuestError(f"ip {' '.join(map(str, args))} -> {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class Guest:
    # TCG (/dev/kvm may be there but unusable); no default devices (VGA,
    # CD-ROM, NIC): less to probe.  Not "-cpu max,svm=off,vmx=off": with
    # it, this guest's systemd failed its mounts and udevd (seen twice).
    machine = ["-machine", "q35", "-nodefaults", "-accel", "tcg,thread=multi",
               "-cpu", "max"]

    def __init__(self, image_dir, ns, *, create_ns=True, tap="tap0", tap_addr="192.0.2.2/24",
                 mem=1024, smp=2, log_dir=None, share_dir=None, name="guest"):
        self.image_dir = pathlib.Path(image_dir)
        self.ns = ns
        self.create_ns = create_ns
        self.tap = tap
        self.tap_addr = tap_addr
        self.mem = mem
        self.smp = smp
        self.name = name
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{ns}-{name}-"))
        self.log_dir = pathlib.Path(log_dir) if log_dir else self.tmp
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.console_log = self.log_dir / f"{name}-console.log"
        self.qemu_log = self.log_dir / f"{name}-qemu.log"
        self.share = pathlib.Path(share_dir) if share_dir else self.tmp / "share"
        self.share.mkdir(parents=True, exist_ok=True)
        self.qga_path = self.tmp / "qga.sock"
        self.proc = None
        self._ns_made = False
        self._sock = None
        self._buf = b""
        self._lock = threading.Lock()
        self.timings = {}

    # --- life cycle ---------------------------------------------------------

    def qemu_command(self):
        d = self.image_dir
        return [
            "qemu-system-x86_64",
            "-name", self.name,
            *self.machine, "-smp", str(self.smp), "-m", str(self.mem),
            "-display", "none", "-monitor", "none", "-serial", f"file:{self.console_log}",
            "-no-reboot",
            "-kernel", str(d / "vmlinuz"), "-initrd", str(d / "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1 "
                       "mitigations=off systemd.show_status=1",
            "-drive", f"file={self.overlay},format=qcow2,if=virtio,cache=unsafe,discard=unmap",
            "-netdev", f"tap,id=n0,ifname={self.tap},script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01",
            "-device", "virtio-rng-pci",
            "-chardev", f"socket,id=qga0,path={self.qga_path},server=on,wait=off",
            "-device", "virtio-serial-pci",
            "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            "-virtfs", f"local,path={self.share},mount_tag=host,security_model=none,id=host0",
        ]

    def start(self):
        """The namespace and its tap (if ours to make), the overlay, qemu."""
        t0 = time.monotonic()
        for f in ("bookworm.img", "vmlinuz", "initrd.img"):
            if not (self.image_dir / f).exists():
                raise GuestError(f"{self.image_dir / f} missing: run testbed/guest/make-image")
        if self.create_ns:
            if pathlib.Path(f"/run/netns/{self.ns}").exists():
                raise GuestError(f"namespace {self.ns} exists already (left by an earlier run? "
                                 f"see `ip netns pids {self.ns}`, then `ip netns del {self.ns}`)")
            _ip("netns", "add", self.ns)
            self._ns_made = True
            _ip("-n", self.ns, "link", "set", "lo", "up")
            subprocess.run(["ip", "netns", "exec", self.ns, "sysctl", "-q",
                            "net.ipv6.conf.all.disable_ipv6=1"], check=False)
        _ip("-n", self.ns, "tuntap", "add", "dev", self.tap, "mode", "tap")
        if self.tap_addr:
            _ip("-n", self.ns, "addr", "add", self.tap_addr, "dev", self.tap)
        _ip("-n", self.ns, "link", "set", self.tap, "up")
        self.overlay = self.tmp / "overlay.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                        "-b", str((self.image_dir / "bookworm.img").resolve()), str(self.overlay)],
                       check=True, capture_output=True, timeout=60)
        self.console_log.write_text("")
        with open(self.qemu_log, "w") as log:
            # ip netns exec execs qemu: the pid is qemu's own
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *self.qemu_command()],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.timings["start"] = time.monotonic() - t0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def console(self, tail=4000):
        try:
            return self.console_log.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def _died(self, what):
        qlog = self.qemu_log.read_text(errors="replace")[-2000:] if self.qemu_log.exists() else ""
        return GuestError(f"qemu exited ({self.proc.returncode}) while {what}\n"
                          f"--- qemu:\n{qlog}\n--- console (tail):\n{self.console()}")

    def wait_booted(self, timeout=300, allow_degraded=False):
        """The agent answers, then systemd says the boot is finished."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            if not self.alive():
                raise self._died("booting")
            if time.monotonic() > deadline:
                raise GuestError(f"guest agent silent after {timeout} s\n--- console (tail):\n{self.console()}")
            try:
                self._sync(timeout=2)
                break
            except (OSError, TimeoutError):
                self._disconnect()
                time.sleep(0.2)
        self.timings["agent"] = time.monotonic() - t0
        left = max(10, deadline - time.monotonic())
        rc, out, err = self.exec("systemctl is-system-running --wait", timeout=left)
        state = out.strip()
        self.timings["booted"] = time.monotonic() - t0
        if state != "running" and not (allow_degraded and state == "degraded"):
            _, failed, _ = self.exec("systemctl --failed --no-legend --plain; "
                                     "journalctl -b -p warning --no-pager | tail -n 40", timeout=60)
            raise GuestError(f"guest boot ended '{state}' (rc {rc})\n{failed}")
        return self.timings["booted"]

    def shutdown(self, timeout=120):
        """Power off through the agent; kill qemu if it does not stop."""
        if not self.alive():
            return
        # Not guest-shutdown: it runs "shutdown -P +0", which needs logind
        # over D-Bus, and the image has no D-Bus.  systemctl talks to systemd
        # directly; guest-exec returns as soon as it is started.
        try:
            self.qga("guest-exec", {"path": "/bin/systemctl", "arg": ["poweroff", "--no-block"]},
                     timeout=10)
        except GuestError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()

    def _kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def close(self):
        """Kill qemu by its pid, delete the namespace if we made it, the temp dir."""
        self._disconnect()
        if self.proc is not None:
            self._kill()
        if self._ns_made:
            subprocess.run(["ip", "netns", "del", self.ns], check=False, capture_output=True)
            self._ns_made = False
        elif self.proc is not None:
            subprocess.run(["ip", "-n", self.ns, "link", "del", self.tap], check=False,
                           capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- files --------------------------------------------------------------

    def copy_in(self, path, name=None):
        """Put a host file in the 9p share; returns its path in the guest."""
        name = name or pathlib.Path(path).name
        shutil.copy(path, self.share / name)
        return f"{GUEST_SHARE}/{name}"

    # --- commands -----------------------------------------------------------

    def exec(self, cmd, timeout=60, input=None):
        """Run `sh -c cmd` in the guest as root: (rc, stdout, stderr)."""
        args = {"path": "/bin/sh", "arg": ["-c", cmd], "capture-output": True,
                "env": [f"PATH={GUEST_PATH}", "LC_ALL=C", "HOME=/root",
                        "DEBIAN_FRONTEND=noninteractive"]}
        if input is not None:
            args["input-data"] = base64.b64encode(input.encode() if isinstance(input, str)
                                                  else input).decode()
        pid = self.qga("guest-exec", args)["pid"]
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            st = self.qga("guest-exec-status", {"pid": pid})
            if st.get("exited"):
                break
            if time.monotonic() > deadline:
                self.qga("guest-exec", {"path": "/bin/kill", "arg": ["-9", str(pid)]})
                raise TimeoutError(f"guest: '{cmd}' still running after {timeout} s")
            if not self.alive():
                raise self._died(f"running '{cmd}'")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        out = base64.b64decode(st.get("out-data", "")).decode(errors="replace")
        err = base64.b64decode(st.get("err-data", "")).decode(errors="replace")
        rc = st.get("exitcode", 128 + st.get("signal", 0) if "signal" in st else -1)
        return rc, out, err

    def run(self, cmd, timeout=60, input=None):
        """exec, raising on a non-zero exit; returns stdout."""
        rc, out, err = self.exec(cmd, timeout=timeout, input=input)
        if rc != 0:
            raise GuestError(f"guest: '{cmd}' -> {rc}\n{out}\n{err}")
        return out

    def write(self, path, text, mode="0644"):
        """Write a file in the guest (through guest-exec's stdin)."""
        self.run(f"umask 077; cat >'{path}' && chmod {mode} '{path}'", input=text)

    # --- the QGA protocol ----------------------------------------------------

    def qga(self, command, arguments=None, timeout=30):
        """One agent command; returns its "return" value."""
        with self._lock:
            try:
                self._sync(timeout=timeout)
                msg = {"execute": command}
                if arguments is not None:
                    msg["arguments"] = arguments
                self._send(msg)
                reply = self._recv(timeout)
            except (OSError, TimeoutError) as e:
                self._disconnect()
                if not self.alive():
                    raise self._died(f"waiting for the agent ({command})") from None
                raise GuestError(f"guest agent: {command}: {e!r}") from None
        if "error" in reply:
            raise GuestError(f"guest agent: {command}: {reply['error']}")
        return reply.get("return")

    def _connect(self):
        if self._sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(self.qga_path))
            except OSError:
                s.close()
                raise
            self._sock = s
            self._buf = b""

    def _disconnect(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._buf = b""

    def _send(self, msg):
        self._connect()
        self._sock.sendall(json.dumps(msg).encode() + b"\n")

    def _recv(self, timeout):
        """The next JSON reply (the agent ends each with a newline)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from the guest agent")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no reply from the guest agent") from None
            if not chunk:
                raise ConnectionError("guest agent socket closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        # guest-sync-delimited puts 0xff before its reply: drop it
        line = line.replace(b"\xff", b"").strip()
        try:
            if line:
                return json.loads(line)
        except ValueError:
            pass  # a line garbled by a restarting agent: skip it
        return self._recv(max(0.01, deadline - time.monotonic()))

    def _sync(self, timeout):
        """guest-sync-delimited: discard whatever stale replies precede ours."""
        token = random.randrange(1, 2**31)
        self._send({"execute": "guest-sync-delimited", "arguments": {"id": token}})
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(max(0.01, deadline - time.monotonic()))
            if reply.get("return") == token:
                return
