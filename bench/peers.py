"""Peer emulators for the benchmark: Unicorn (in-process), qemu-riscv64 and qemu-system-riscv64.

Each peer has available() -> (ok: bool, why: str) and a run function that
returns a dict {"ok", "wall_s", "exit_code", "output", "error"}; a wrong answer
(non-zero exit code, or no "NAME: ok" line) has ok False and no time worth
reporting.

  Unicorn 2.x   NAME-linux.elf at user level: its PT_LOAD segments mapped at
                their virtual addresses, an 8 MiB stack, sp and pc = entry;
                UC_HOOK_INTR implements exit (a7=93) -> emu_stop and write
                (a7=64) -> captured; mstatus.FS set to Initial, as Linux
                starts a user process with the FPU on (the F/D workloads
                need it).  Only emu_start is timed.
  qemu-riscv64  NAME-linux.elf in a subprocess; wall time of the process
                (includes QEMU's start-up, measured separately with a tiny
                ELF that exits at once, see startup_elf()).
Every run also reports cpu_s: the CPU time of the emulating thread (Unicorn) or of
the whole process, all threads (QEMU), which a loaded host inflates much less than
the wall time.
  qemu-system-riscv64 -M spike -bios none -nographic -kernel NAME.elf (the
                bare-metal build, HTIF exit); wall time of the process.
"""
from __future__ import annotations

import os
import resource
import shutil
import struct
import subprocess
import time

QEMU_USER = "qemu-riscv64"
QEMU_SYSTEM = "qemu-system-riscv64"


def _which(name):
    p = shutil.which(name)
    if p is None and os.path.exists(f"/usr/bin/{name}"):
        p = f"/usr/bin/{name}"
    return p


def _version_line(exe):
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --------------------------------------------------------------------------- Unicorn

def unicorn_available():
    try:
        import unicorn
    except ImportError as e:
        return False, f"unicorn is not installed ({e}); pip install unicorn"
    try:
        unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    except Exception as e:      # built without RISC-V
        return False, f"unicorn {unicorn.__version__} cannot create a RISC-V 64 engine: {e}"
    return True, f"unicorn {unicorn.__version__}"


def unicorn_version():
    import unicorn
    return unicorn.__version__


STACK_TOP = 0x7FFF_0000
STACK_SIZE = 8 << 20
PAGE = 0x1000


def _load_segments(path):
    from elftools.elf.elffile import ELFFile
    segs = []
    with open(path, "rb") as f:
        e = ELFFile(f)
        entry = e["e_entry"]
        for s in e.iter_segments():
            if s["p_type"] == "PT_LOAD":
                segs.append((s["p_vaddr"], s["p_memsz"], s.data()))
    return entry, segs


def unicorn_run(path, timeout_s=120.0):
    """Run a Linux user-level RV64 ELF under Unicorn.  Times emu_start only."""
    import unicorn
    from unicorn import riscv_const as R
    from emu.spec import FS_INITIAL         # mstatus.FS = Initial: the FPU on (Off: FP instructions are illegal)

    entry, segs = _load_segments(path)
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    # page ranges of the segments, merged (segments may share a page), one mem_map each
    ranges = sorted((v & ~(PAGE - 1), (v + n + PAGE - 1) & ~(PAGE - 1)) for v, n, _ in segs)
    merged = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        uc.mem_map(lo, hi - lo)
    for vaddr, _memsz, data in segs:
        uc.mem_write(vaddr, data)
    uc.mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE)
    uc.reg_write(R.UC_RISCV_REG_SP, STACK_TOP - 4096)
    uc.reg_write(R.UC_RISCV_REG_MSTATUS, uc.reg_read(R.UC_RISCV_REG_MSTATUS) | FS_INITIAL)

    state = {"code": None, "out": [], "bad": None}

    def on_intr(uc, intno, _ud):
        # In Unicorn's RISC-V hook the pc already points past the ecall.
        a7 = uc.reg_read(R.UC_RISCV_REG_A7)
        if intno == 8 and a7 in (93, 94):           # exit, exit_group
            state["code"] = uc.reg_read(R.UC_RISCV_REG_A0)
            uc.emu_stop()
        elif intno == 8 and a7 == 64:               # write(fd, buf, len)
            buf = uc.reg_read(R.UC_RISCV_REG_A1)
            n = uc.reg_read(R.UC_RISCV_REG_A2)
            state["out"].append(bytes(uc.mem_read(buf, n)))
            uc.reg_write(R.UC_RISCV_REG_A0, n)
        else:
            state["bad"] = f"unexpected trap {intno} (a7={a7}) at pc 0x{uc.reg_read(R.UC_RISCV_REG_PC):x}"
            uc.emu_stop()

    uc.hook_add(unicorn.UC_HOOK_INTR, on_intr)
    t0 = time.perf_counter()
    c0 = time.thread_time()
    err = None
    try:
        uc.emu_start(entry, 0xFFFF_FFFF_FFFF, timeout=int(timeout_s * 1e6))
    except unicorn.UcError as e:
        err = f"UcError {e} at pc 0x{uc.reg_read(R.UC_RISCV_REG_PC):x}"
    wall = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    out = b"".join(state["out"]).decode("latin-1")
    code = state["code"]
    if err is None and state["bad"]:
        err = state["bad"]
    if err is None and code is None:
        err = f"no exit syscall (stopped at pc 0x{uc.reg_read(R.UC_RISCV_REG_PC):x}; timeout?)"
    ok = err is None and code == 0 and ": ok" in out
    if err is None and not ok:
        err = f"wrong answer: exit code {code}, output {out.strip()!r}"
    return {"ok": ok, "wall_s": wall, "cpu_s": cpu, "exit_code": code, "output": out.strip(), "error": err}


# --------------------------------------------------------------------------- QEMU

def qemu_user_available():
    exe = _which(QEMU_USER)
    if exe is None:
        return False, f"{QEMU_USER} is not installed (Debian: apt-get install qemu-user)"
    return True, _version_line(exe)


def qemu_system_available():
    exe = _which(QEMU_SYSTEM)
    if exe is None:
        return False, f"{QEMU_SYSTEM} is not installed (Debian: apt-get install qemu-system-misc)"
    return True, _version_line(exe)


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed_process(cmd, timeout_s):
    """-> (exit code, wall s, output, error, CPU s of the process: user + system, all its threads)."""
    t0 = time.perf_counter()
    c0 = _children_cpu()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, "", f"timed out after {timeout_s} s", None
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    out = (p.stdout + p.stderr).decode("latin-1").strip()
    return p.returncode, wall, out, None, cpu


def _process_result(code, wall, out, err, cpu=None, need_ok=True):
    if err is None and code != 0:
        err = f"exit status {code}: {out[-200:]!r}"
    if err is None and need_ok and ": ok" not in out:
        err = f"wrong answer: output {out[-200:]!r}"
    return {"ok": err is None, "wall_s": wall, "cpu_s": cpu, "exit_code": code, "output": out, "error": err}


def qemu_user_run(path, timeout_s=120.0):
    return _process_result(*_timed_process([_which(QEMU_USER), path], timeout_s))


def qemu_system_cmd(path):
    return [_which(QEMU_SYSTEM), "-M", "spike", "-bios", "none", "-nographic", "-kernel", path]


def qemu_system_run(path, timeout_s=120.0, need_ok=True):
    # spike's HTIF console is the first serial port: -nographic puts it on stdout
    return _process_result(*_timed_process(qemu_system_cmd(path), timeout_s), need_ok=need_ok)


def startup_elf(path):
    """Write a minimal static RV64 Linux ELF whose _start does exit(0) (3 instructions).

    Its qemu-riscv64 wall time is the emulator's process start-up + teardown cost.
    """
    vaddr = 0x10000
    code = struct.pack("<III", 0x00000513,     # li a0, 0
                       0x05D00893,             # li a7, 93
                       0x00000073)             # ecall
    ehsize, phsize = 64, 56
    off = ehsize + phsize
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
            + struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, vaddr + off, ehsize, 0, 0,
                          ehsize, phsize, 1, 64, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, vaddr, vaddr, off + len(code), off + len(code), PAGE)
    with open(path, "wb") as f:
        f.write(ehdr + phdr + code)
    os.chmod(path, 0o755)
    return path
