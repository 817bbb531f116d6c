"""Program and file loading through `numbavm run` / `numbavm boot` (issue 12, items 1-4, 11, 14, 20).

Each test runs .venv's numbavm (this interpreter's lifecycle.cli.main) in a subprocess with a
timeout: a hang fails the test, it never blocks the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600            # generous: a cold Numba cache compiles the loop first (about a minute)


from emu.spec import RAM_BASE
from tests import elf_builder as eb


def _cmd(*args):
    return [sys.executable, "-m", "lifecycle.cli.main", *map(str, args)]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def numbavm(*args, pass_fds=(), timeout=TIMEOUT):
    return subprocess.run(_cmd(*args), cwd=ROOT, env=_env(), capture_output=True, timeout=timeout,
                          pass_fds=pass_fds, stdin=subprocess.DEVNULL)


from tests.test_cli import assert_user_error, good  # noqa: E402,F401 - one line, status 2; a good program


class Feeder:
    """Writes `data` into a FIFO or a pipe from a thread; never leaves the thread blocked."""

    def __init__(self, target, data: bytes):
        self.target, self.data, self.error = target, data, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            if isinstance(self.target, int):
                with os.fdopen(self.target, "wb") as f:
                    f.write(self.data)
            else:
                with open(self.target, "wb") as f:      # blocks until a reader opens the FIFO
                    f.write(self.data)
        except OSError as e:                             # EPIPE: the reader went away
            self.error = e

    def finish(self):
        if self.thread.is_alive() and not isinstance(self.target, int):
            fd = os.open(self.target, os.O_RDONLY | os.O_NONBLOCK)   # lets a blocked open() complete
            try:
                self.thread.join(timeout=60)
            finally:
                os.close(fd)
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the feeder thread is stuck"


# --------------------------------------------------------------------------- 1: read once

def test_run_program_from_a_fifo(tmp_path):
    """mkfifo f; (cat hello.elf > f &); numbavm run f -- the FIFO is read once (it used to hang)."""
    fifo = tmp_path / "prog.fifo"
    os.mkfifo(fifo)
    feeder = Feeder(fifo, eb.htif_elf(3, b"hi\n"))
    try:
        r = numbavm("run", fifo)
    finally:
        feeder.finish()
    assert (r.returncode, r.stdout) == (3, b"hi\n"), r.stderr.decode()


def test_run_program_from_process_substitution():
    """numbavm run <(cat prog.elf): /dev/fd/N of a pipe (it used to say "empty file")."""
    rfd, wfd = os.pipe()
    feeder = Feeder(wfd, eb.htif_elf(3, b"hi\n"))
    try:
        r = numbavm("run", f"/dev/fd/{rfd}", pass_fds=(rfd,))
    finally:
        os.close(rfd)
        feeder.finish()
    assert (r.returncode, r.stdout) == (3, b"hi\n"), r.stderr.decode()


def _poweroff_image() -> bytes:
    """A RISC-V Linux Image whose code asks the SBI (SRST) to shut down at once."""
    import struct
    j_over_header = eb.jal(0, 64)
    hdr = struct.pack("<IIQQQIIQ8sI", j_over_header, 0, 0x200000, 0, 0, 2, 0, 0, b"RISCV\0\0\0", 0x05435352)
    a0, a1, a6, a7 = 10, 11, 16, 17
    code = eb.words([eb.lui(a7, 0x53525), eb.addi(a7, a7, 0x354),   # a7 = SRST extension
                     eb.addi(a6, 0, 0), eb.addi(a0, 0, 0), eb.addi(a1, 0, 0),
                     0x00000073,                                  # ecall
                     eb.jal(0, 0)])
    return hdr.ljust(64, b"\0") + code


def test_boot_kernel_from_process_substitution():
    """numbavm boot --kernel <(cat Image): read once (it used to say "empty file")."""
    rfd, wfd = os.pipe()
    feeder = Feeder(wfd, _poweroff_image())
    try:
        r = numbavm("boot", "--kernel", f"/dev/fd/{rfd}", "--timer", "deterministic", pass_fds=(rfd,))
    finally:
        os.close(rfd)
        feeder.finish()
    assert r.returncode == 0, r.stderr.decode()
    assert "empty" not in r.stderr.decode()


# --------------------------------------------------------------------------- 2: bounded reads

def test_run_dev_zero_is_refused():
    assert_user_error(numbavm("run", "/dev/zero"), "/dev/zero", "not an ELF")


def test_run_dev_zero_raw_reads_no_more_than_ram():
    assert_user_error(numbavm("run", "/dev/zero", "--raw-addr", hex(RAM_BASE), "-m", "4M"),
                      "/dev/zero", "more than 4 MiB")


def test_huge_sparse_raw_file_is_refused_from_its_size(tmp_path):
    p = tmp_path / "huge.bin"
    with open(p, "wb") as f:
        f.truncate(4 << 30)
    assert_user_error(numbavm("run", p, "--raw-addr", hex(RAM_BASE)), "outside guest RAM",
                      "needs at least 4 GiB of --memory")


# --------------------------------------------------------------------------- 3: .bss costs nothing

_LOAD_RSS = """
import io, resource, sys
from lifecycle.machine.board import Machine
m = Machine(memory=int(sys.argv[2]), console=io.BytesIO())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m.load(sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_huge_bss_costs_no_memory(tmp_path):
    """A 1 GiB p_memsz over 4 bytes of code: the zero tail is RAM's own zero (np.zeros is lazy).

    It used to be built as bytes and written (3 GiB of peak RSS for a 1 GiB .bss).
    """
    big = tmp_path / "big.elf"
    big.write_bytes(eb.build_elf([eb.Segment(RAM_BASE, eb.words([eb.jal(0, 0)]), memsz=1 << 30)],
                                 entry=RAM_BASE))
    r = subprocess.run([sys.executable, "-c", _LOAD_RSS, str(big), str(1100 << 20)], cwd=ROOT, env=_env(),
                       capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr.decode()
    growth_kib = int(r.stdout)
    assert growth_kib < 128 << 10, f"loading grew the peak RSS by {growth_kib} KiB"


# --------------------------------------------------------------------------- 4, 11, 14: refused at load

def test_fromhost_outside_ram_is_refused(tmp_path):
    p = tmp_path / "fromhost.elf"
    p.write_bytes(eb.build_elf([eb.Segment(RAM_BASE, eb.htif_program(0, b"x"), name=".text"),
                                eb.Segment(RAM_BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
                               entry=RAM_BASE, symbols={"tohost": RAM_BASE + 0x1000, "fromhost": 0x1000}))
    assert_user_error(numbavm("run", p), "HTIF symbol 'fromhost'", "outside guest RAM")


def test_odd_raw_addr_is_refused(tmp_path):
    p = tmp_path / "odd.bin"
    p.write_bytes(eb.htif_program(5))
    assert_user_error(numbavm("run", p, "--raw-addr", "0x80000001"), "0x80000001 is odd")


def test_odd_entry_is_refused(tmp_path):
    p = tmp_path / "odd.elf"
    p.write_bytes(eb.build_elf([eb.Segment(RAM_BASE, eb.htif_program(5))], entry=RAM_BASE + 1))
    assert_user_error(numbavm("run", p), "entry point 0x80000001 is odd")


def test_dynamic_elf_is_named(tmp_path):
    p = tmp_path / "dyn.elf"
    p.write_bytes(eb.build_elf([eb.Segment(0x238, b"/lib/ld-linux-riscv64-lp64d.so.1\0", p_type=eb.PT_INTERP,
                                           flags=eb.PF_R), eb.Segment(0, bytes(0x100))],
                               entry=0x40, e_type=eb.ET_DYN))
    line = assert_user_error(numbavm("run", p), "dynamic executables are not supported")
    assert "outside" not in line


def test_wrapped_memsz_is_named(tmp_path):
    p = tmp_path / "wrap.elf"
    p.write_bytes(eb.build_elf([eb.Segment(RAM_BASE, bytes(8), memsz=2**64 - 0x1000)], entry=RAM_BASE))
    line = assert_user_error(numbavm("run", p), "wraps around")
    assert "MiB of --memory" not in line


@pytest.mark.parametrize("opt", ["--initrd", "--dtb-overlay", "--disk"])
def test_boot_directory_inputs_say_directory(tmp_path, opt):
    line = assert_user_error(numbavm("boot", "--kernel", "/dev/null", opt, tmp_path), "directory")
    assert "no such file" not in line


# --------------------------------------------------------------------------- 20: -m is MiB

def test_bare_memory_number_is_mib(tmp_path):
    """-m 256 is 256 MiB, as in QEMU and Spike: a program at RAM_BASE + 200 MiB loads and runs."""
    p = tmp_path / "high.elf"
    high = RAM_BASE + (200 << 20)
    p.write_bytes(eb.build_elf([eb.Segment(high, eb.words([eb.jal(0, 0)]))], entry=high))
    r = numbavm("run", p, "-m", "256", "-n", "100")
    assert r.returncode == 124, r.stderr.decode()            # the budget: it ran
    assert_user_error(numbavm("run", p, "-m", "200"), "outside guest RAM", "needs at least 201 MiB")


@pytest.mark.parametrize("size,why", [("1K", "multiple of 4 KiB"), ("0", "greater than zero"), ("100B", "4 KiB")])
def test_bad_memory_sizes(good, size, why):
    assert_user_error(numbavm("run", good, "-m", size), "--memory", "invalid size", why)
