"""Cost of one guest instruction by class on numbavm's JIT: evidence for "what limits the speed".

    python -m bench.microbench [--instructions N] [--reps R] [--json]

Each case is 512 copies of one instruction followed by a jump back (`jal x0, -2048`),
written straight into guest RAM at 0x8000_0000 (M-mode, no paging) and run for N
instructions (default 20 M) on a fresh in-process Machine; the time per instruction is
the best of R runs.  The jump is 1 instruction in 513.  The operands are chosen so that
nothing traps, divides by zero or touches a page with code on it (loads and stores use
a data page 1 MiB up).  ns and host cycles per instruction (at the CPU's nominal MHz
from /proc/cpuinfo) are printed.

measure() -> {case: {"ns": ..., "mips": ..., "instret": ...}} for the bench harness.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys

from emu.spec import RAM_BASE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAM = RAM_BASE                 # the programs run from the start of guest RAM
DATA = RAM + (1 << 20)
COPIES = 512

# name -> (mnemonic, operands, what it shows)
CASES = [
    ("addi", ("addi", dict(rd=5, rs1=5, imm=1)), "the first op of the ALU-immediate group"),
    ("c.addi", ("c.addi", dict(rd=5, imm=1)), "the same, compressed (2-byte instructions)"),
    ("sraiw", ("sraiw", dict(rd=5, rs1=5, shamt=1)), "the last op of the ALU-immediate if-chain"),
    ("add", ("add", dict(rd=5, rs1=5, rs2=6)), "ALU register group, first op"),
    ("sraw", ("sraw", dict(rd=5, rs1=5, rs2=6)), "ALU register group, last op"),
    ("mul", ("mul", dict(rd=5, rs1=5, rs2=6)), "multiply"),
    ("divu", ("divu", dict(rd=7, rs1=5, rs2=6)), "64-bit unsigned divide"),
    ("remw", ("remw", dict(rd=7, rs1=5, rs2=6)), "32-bit signed remainder"),
    ("ld", ("ld", dict(rd=7, rs1=8, imm=0)), "64-bit load (RAM bounds + alignment checks)"),
    ("lbu", ("lbu", dict(rd=7, rs1=8, imm=1)), "byte load"),
    ("sd", ("sd", dict(rs1=8, rs2=5, imm=0)), "64-bit store (RAM bounds, page-flags check)"),
    ("bne-not-taken", ("bne", dict(rs1=6, rs2=6, imm=8)), "a branch that falls through"),
]


def _program(mn, kw):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import rvenc
    one = rvenc.enc_bytes(mn, **kw)
    body = one * COPIES
    back = rvenc.enc_bytes("jal", rd=0, imm=-len(body))
    return body + back


def _run_case(code, n):
    from lifecycle.machine.board import Machine
    m = Machine(memory=4 << 20, engine="jit", console=io.BytesIO())
    h = m.hart
    h.stop_regions()                        # this measures the loop's own per-instruction cost
    h.write_phys(RAM, code)
    h.pc = RAM
    h.x[5], h.x[6], h.x[8] = 0x1234_5678_9ABC, 12_345, DATA
    m.warm_up()
    m.run(max_instructions=10_000)          # decode-cache warm-up
    gc.collect()
    r = m.run(max_instructions=n)
    if r.reason != "budget" or r.instret != n:
        raise RuntimeError(f"{r.reason} after {r.instret} instructions: {r.message}")
    return r.wall_s


def measure(n=20_000_000, reps=3):
    out = {}
    for name, (mn, kw), what in CASES:
        code = _program(mn, kw)
        best = min(_run_case(code, n) for _ in range(reps))
        out[name] = {"ns": best / n * 1e9, "mips": n / best / 1e6, "instret": n, "what": what}
    return out


def cpu_mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1])
    except (OSError, ValueError):
        pass
    return None


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.microbench", description=__doc__.split("\n\n")[0])
    p.add_argument("--instructions", type=int, default=20_000_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from bench import common
    common.setup_env()
    res = measure(a.instructions, a.reps)
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    mhz = cpu_mhz()
    print(f"ns per guest instruction, best of {a.reps} x {a.instructions:,} (numbavm JIT, M-mode, no paging)")
    for k, v in res.items():
        cyc = f"{v['ns'] * mhz / 1e3:5.1f} cycles" if mhz else ""
        print(f"  {k:14s} {v['ns']:6.2f} ns  {v['mips']:7.1f} MIPS  {cyc}   {v['what']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
