# SPDX-License-Identifier: GPL-2.0-or-later
"""With our patches applied, Libreswan's own unit programs and pluto's
self-test still pass (the default protostack is untouched)."""
import subprocess

import pytest

from conftest import TOP, run

LSW = TOP / "build" / "root" / "usr" / "libexec" / "ipsec"

pytestmark = pytest.mark.skipif(not (LSW / "pluto").exists(),
                                reason="Libreswan not built (make libreswan)")

# testing/programs/*check, installed with a leading underscore
UNIT_PROGRAMS = [["_asn1check"], ["_dncheck"], ["_ipcheck", "--dns=no"], ["_jambufcheck"],
                 ["_timecheck"], ["_vendoridcheck"], ["_hunkcheck"], ["_keyidcheck"], ["_enumcheck"]]


@pytest.mark.parametrize("program", UNIT_PROGRAMS, ids=lambda p: p[0])
def test_unit_program(program):
    p = subprocess.run([LSW / program[0], *program[1:]], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout + p.stderr)[-2000:]


def test_pluto_selftest(tmp_path):
    nss, rundir = tmp_path / "nss", tmp_path / "run"
    nss.mkdir()
    rundir.mkdir()
    run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
    p = subprocess.run([LSW / "pluto", "--selftest", "--nssdir", nss, "--rundir", rundir],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (p.stdout + p.stderr)[-2000:]
    assert "selftest: exiting pluto" in p.stdout + p.stderr


def test_default_protostack_is_still_xfrm(tmp_path):
    conf = tmp_path / "ipsec.conf"
    conf.write_text("config setup\n")
    out = run(LSW / "addconn", "--config", conf, "--liststack")
    assert out.strip() in ("xfrm", "")
