"""The bundled Linux guest boots to its shell on numbavm, with the builtin SBI and with Debian's OpenSBI.

Each test drives `numbavm boot` through pipes the way a user would: wait for the
prompt, type commands, check the answers, power off, check the exit status.  A
failure shows the console transcript.
"""
import os

import pytest

from tests.linux_guest import OPENSBI, PROMPT, BootConsole, bundled_kernel, unavailable

HELLO = "Hello from the numbavm Linux guest."


def session(*args):
    kernel = bundled_kernel()
    con = BootConsole("boot", "--kernel", kernel, "--stats", *args)
    try:
        at = con.wait_for(PROMPT)
        out, at = con.command("uname -a", at)
        assert "Linux" in out and "riscv64" in out and "6.1" in out, con.transcript()
        out, at = con.command("cat /etc/hello.txt", at)
        assert HELLO in out, con.transcript()
        out, at = con.command("ls /", at)
        assert "init" in out and "proc" in out, con.transcript()
        out, at = con.command("cat /proc/cpuinfo", at)
        assert "rv64imafdc" in out and "sv57" in out, con.transcript()        # F and D: the kernel saw them
        con.p.stdin.write(b"poweroff\n")
        con.p.stdin.flush()
        rc = con.finish()
    finally:
        con.kill()
    assert rc == 0, con.transcript()
    assert "first prompt" in con.err.decode(), con.transcript()
    return con


def test_boot_bundled_guest_builtin_sbi():
    con = session()
    text = con.out.decode(errors="replace")
    assert "SBI implementation ID=0x4e42" in text          # ours
    assert "riscv: base ISA extensions acdfim" in text


def test_boot_bundled_guest_through_opensbi():
    if not os.path.isfile(OPENSBI):
        unavailable(f"{OPENSBI} is missing (Debian package opensbi; tests/setup-debian.sh installs it)")
    con = session("--bios", OPENSBI)
    text = con.out.decode(errors="replace")
    assert "OpenSBI" in text and "SBI implementation ID=0x1 " in text


def test_boot_realtime_timer():
    session("--timer", "realtime")


@pytest.mark.parametrize("mode,expect", [("", "rw"), (":ro", "ro")])
def test_boot_with_a_virtio_disk(tmp_path, mode, expect):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"numbavm-disk-sector-0".ljust(512, b"\0") + bytes(512 * 63))
    kernel = bundled_kernel()
    con = BootConsole("boot", "--kernel", kernel, "--disk", f"{disk}{mode}", "--virtio-rng")
    try:
        at = con.wait_for(PROMPT)
        out, at = con.command("cat /proc/partitions", at)
        assert "vda" in out, con.transcript()
        con.p.stdin.write(b"poweroff\n")
        con.p.stdin.flush()
        assert con.finish() == 0, con.transcript()
    finally:
        con.kill()
    text = con.out.decode(errors="replace")
    assert "virtio_blk" in text and "[vda]" in text, con.transcript()
    if expect == "ro":
        assert "vda] 64 512-byte logical blocks" in text


def test_two_deterministic_boots_are_identical():
    """Same kernel, same input, deterministic timer: the same instruction counts and console output.
    Two more boots compile native regions eagerly (kernel and user code, under Sv39; emu/regions/),
    on the compiler thread and at once, and a last one runs the loop alone: all must be the same boot."""
    import re
    import subprocess
    import sys
    from tests.linux_guest import ROOT
    kernel = bundled_kernel()
    runs = []
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "NUMBAVM_REGIONS",
                                                                 "NUMBAVM_REGION_HOT", "NUMBAVM_REGION_SYNC")}
    compiled = []
    eager = {"NUMBAVM_REGION_HOT": "4", "NUMBAVM_REGIONS_STRICT": "1"}
    for extra in ({}, {}, eager, dict(eager, NUMBAVM_REGION_SYNC="1"), {"NUMBAVM_REGIONS": "0"}):
        p = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", "--kernel", kernel, "--stats",
                            "--timer", "deterministic"], input=b"uname -a\nbench 20000\npoweroff\n",
                           capture_output=True, cwd=ROOT, timeout=300, env=dict(base, **extra))
        assert p.returncode == 0, p.stderr.decode()
        err = p.stderr.decode()
        prompt = re.search(r"first prompt .*?([\d,]+) instructions", err).group(1)
        total = re.search(r"instructions retired : ([\d,]+)", err).group(1)
        m = re.search(r"native regions +: ([\d,]+) compiled", err)
        compiled.append(int(m.group(1).replace(",", "")) if m else 0)
        runs.append((prompt, total, p.stdout))
    assert runs[0] == runs[1]
    assert runs[2] == runs[0], "native regions (compiled on the compiler thread) changed the boot"
    assert runs[3] == runs[0], "native regions (compiled at once) changed the boot"
    assert runs[4] == runs[0], "the loop alone boots differently"
    # How many regions the compiler thread finishes during a boot depends on the host's speed (it
    # may be none on a slow, loaded host), so only the boot that compiles at once (deterministic,
    # in instructions) must have run regions; the compiler thread's boot proves that whatever it
    # installed changed nothing.
    assert compiled[3] > 10, compiled
    assert b"primes below 20000 = 2262" in runs[0][2]
