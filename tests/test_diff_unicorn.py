"""Differential tests: numbavm's hart against Unicorn (QEMU's RISC-V core).

Random straight-line, trap-free, user-level RV64IMC programs (ALU, M, W ops,
lui/auipc, loads/stores into a 4 KiB data buffer, compressed forms, and
branches/jal/jalr/c.j/c.jr/c.jalr whose target is the next instruction) are run
for exactly N instructions on both engines from the same initial registers
and data; all of x1..x31, pc and the data buffer must agree.

Directed tests then run every operation of each group (ALU, M, W, shifts,
loads/stores) over a cross product of edge values (div by zero, INT_MIN / -1,
sign-extension-sensitive 32-bit values, shift amounts 0/1/31/32/63/64) and
check both engines against each other and against a small Python reference
model of the spec, so edge values are covered deterministically.

Layout (both engines): code at CODE = 0x8000_0000, data buffer at
BUF = 0x8010_0000 (4 KiB).  Memory ops address the buffer through base
registers that generated instructions never write: x31 (= BUF + 2048),
x8 (compressed base, BUF + 8-aligned offset) and x2/sp (BUF + 16-aligned
offset; only c.addi16sp changes it, and the generator tracks its value).
"""

import os
import random
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import s32, s64, u64  # noqa: E402

import unicorn  # noqa: E402  (a test dependency: its absence is a failure)
import capstone  # noqa: E402
from unicorn import riscv_const as ucr  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from emu.spec import PRV_M, RAM_BASE, REG_NAMES, SP  # noqa: E402
from emu import isa  # noqa: E402

CODE = RAM_BASE
CODE_SIZE = 0x1_0000          # mapped in Unicorn; programs are much smaller
BUF = RAM_BASE + 0x10_0000
BUF_SIZE = 4096
RAM_SIZE = 2 << 20            # numbavm RAM: 0x8000_0000 .. 0x8020_0000 covers code and buffer

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def u32(v):
    return v & 0xFFFF_FFFF


# ==========================================================================
# engines

class UnicornEngine:
    """One Uc instance, reset per run (creating one per example is slow)."""

    def __init__(self):
        self.uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
        self.uc.mem_map(CODE, CODE_SIZE)
        self.uc.mem_map(BUF, BUF_SIZE)
        self.regs = [getattr(ucr, f'UC_RISCV_REG_X{i}') for i in range(32)]
        self.code_len = 0

    def run(self, code: bytes, regs, data: bytes, n: int, count=None):
        """Run to the end of `code` (or only `count` instructions)."""
        uc = self.uc
        # clear what the previous program left, then write this one
        uc.mem_write(CODE, bytes(max(self.code_len, len(code)) + 4))
        uc.mem_write(CODE, code)
        self.code_len = len(code)
        try:
            uc.ctl_remove_cache(CODE, CODE + CODE_SIZE)
        except Exception:  # pragma: no cover - older unicorn
            pass
        uc.mem_write(BUF, data)
        for i in range(1, 32):
            uc.reg_write(self.regs[i], u64(regs[i]))
        uc.emu_start(CODE, CODE + len(code), timeout=5_000_000, count=count or 0)
        x = [0] + [s64(uc.reg_read(self.regs[i])) for i in range(1, 32)]
        pc = uc.reg_read(ucr.UC_RISCV_REG_PC)
        return dict(reason=None, x=x, pc=pc, data=bytes(uc.mem_read(BUF, BUF_SIZE)), retired=count or n)


class HartEngine:
    """Thin adapter over emu.hart.Hart (contract: docs/CONTRACT-draft.md)."""

    def __init__(self):
        from emu.hart import Hart
        from emu import state
        try:
            self.h = Hart(ram_size=RAM_SIZE, ram_base=CODE)
        except TypeError:  # pragma: no cover
            self.h = Hart()
        self.EXIT_BUDGET = state.EXIT_BUDGET
        self.exit_names = getattr(state, 'EXIT_NAMES', ())
        self.code_len = 0
        self.uc = UnicornEngine()      # the oracle, one per engine (no module-level state)

    def run(self, code: bytes, regs, data: bytes, n: int, chunks=None):
        """Run n instructions with one h.run(n), or as several h.run(c) for c in chunks."""
        h = self.h
        h.write_phys(CODE, bytes(max(self.code_len, len(code)) + 4))
        h.write_phys(CODE, code)
        self.code_len = len(code)
        h.flush_decode_cache()
        h.write_phys(BUF, data)
        x = np.array([0] + [s64(v) for v in regs[1:32]], dtype=np.int64)
        h.x[:] = x
        h.pc = CODE
        h.priv = PRV_M
        before = int(h.instret)
        reason = self.EXIT_BUDGET
        for c in (chunks or [n]):
            r = int(h.run(c))
            if r != self.EXIT_BUDGET:
                reason = r
                break
        retired = int(h.instret) - before
        # nothing outside the code and data regions may change (RAM there stays zero)
        ram = h.ram
        stray = np.flatnonzero(ram[CODE_SIZE:BUF - CODE]) + CODE_SIZE
        stray = np.concatenate([stray, np.flatnonzero(ram[BUF - CODE + BUF_SIZE:]) + (BUF - CODE + BUF_SIZE)])
        if len(stray):
            ram[CODE_SIZE:BUF - CODE] = 0            # keep the next example clean
            ram[BUF - CODE + BUF_SIZE:] = 0
        return dict(reason=reason, x=[int(v) for v in h.x], pc=int(h.pc),
                    data=bytes(h.read_phys(BUF, BUF_SIZE)), retired=retired,
                    stray=[CODE + int(o) for o in stray[:8]],
                    budget=self.EXIT_BUDGET, exit_names=self.exit_names)


def make_engine(kind):
    """The loop alone ("loop"), or with native regions (emu/regions/) compiled as eagerly as
    possible ("regions"): compiled at once on the test's thread (sync, no compiler thread to wait
    for), and a sample every 8 instructions makes its window hot, so each program runs mostly as
    native code from its first few instructions on."""
    e = HartEngine()          # import errors in the core are real failures, not skips
    from emu import state
    from emu.hart import jit_enabled
    if kind == "regions":
        if not jit_enabled():
            pytest.fail("native regions need the Numba JIT engine (NUMBA_DISABLE_JIT is set)")
        e.h.start_regions()
        e.h.regions.sync = True
        e.h.st[state.ST_REGION_HOT] = 1
        e.h.st[state.ST_POLL] = 8
    else:
        e.h.stop_regions()
    return e


@pytest.fixture(scope="module", params=["loop", "regions"])
def hart(request):
    """One engine per module and kind (a fresh one per test would be slow); each run starts from
    the registers, code and data it is given, so the order of the tests does not matter."""
    return make_engine(request.param)


# ==========================================================================
# comparison and failure reports

_MD = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)


def disassemble(code: bytes, base=CODE):
    lines = []
    for addr, size, mn, ops in _MD.disasm_lite(code, base):
        word = int.from_bytes(code[addr - base:addr - base + size], 'little')
        lines.append(f"  {addr:#x}: {word:0{2 * size}x}  {mn} {ops}")
    decoded = sum(s for _a, s, _m, _o in _MD.disasm_lite(code, base))
    if decoded != len(code):
        lines.append(f"  (capstone stopped at offset {decoded}: {code[decoded:decoded + 4].hex()})")
    return "\n".join(lines)


def reg_name(i):
    return f"x{i}({REG_NAMES[i]})"


def compare(code, regs, data, n, exp, got, listing=None):
    """Assert numbavm (got) == Unicorn (exp); on mismatch, a readable report."""
    problems = []
    if got['reason'] is not None and got['reason'] != got['budget']:
        names = got['exit_names']
        r = got['reason']
        problems.append(f"numbavm run({n}) returned {r} ({names[r] if 0 <= r < len(names) else '?'}), "
                        f"expected EXIT_BUDGET")
    if got['retired'] != n:
        problems.append(f"numbavm retired {got['retired']} instructions, expected {n}")
    if got.get('stray'):
        problems.append("numbavm wrote RAM outside the code/data regions at "
                        + ", ".join(f"{a:#x}" for a in got['stray']))
    if got['x'][0] != 0:
        problems.append(f"numbavm x0 = {got['x'][0]:#x}")
    if exp['pc'] != got['pc']:
        problems.append(f"pc: unicorn={exp['pc']:#x} numbavm={got['pc']:#x}")
    for i in range(1, 32):
        if exp['x'][i] != got['x'][i]:
            problems.append(f"{reg_name(i)}: unicorn={u64(exp['x'][i]):#018x} numbavm={u64(got['x'][i]):#018x}"
                            f"  (initial {u64(regs[i]):#018x})")
    if exp['data'] != got['data']:
        diffs = [o for o in range(0, BUF_SIZE, 8) if exp['data'][o:o + 8] != got['data'][o:o + 8]]
        for o in diffs[:16]:
            problems.append(f"mem[{BUF + o:#x}]: unicorn={exp['data'][o:o + 8][::-1].hex()} "
                            f"numbavm={got['data'][o:o + 8][::-1].hex()} (initial {data[o:o + 8][::-1].hex()}, "
                            f"little-endian words shown MSB first)")
        if len(diffs) > 16:
            problems.append(f"... {len(diffs) - 16} more differing 8-byte words")
    if problems:
        init = "  ".join(f"{reg_name(i)}={u64(regs[i]):#x}" for i in range(1, 32))
        msg = (f"numbavm differs from unicorn after {n} instructions\n"
               f"program:\n{listing or disassemble(code)}\n"
               f"initial registers: {init}\n"
               f"differences:\n  " + "\n  ".join(problems))
        raise AssertionError(msg)


def run_both(hart, code, regs, data, n):
    exp = hart.uc.run(code, regs, data, n)
    assert exp['pc'] == CODE + len(code), f"unicorn stopped at {exp['pc']:#x}\n{disassemble(code)}"
    got = hart.run(code, regs, data, n)
    compare(code, regs, data, n, exp, got)
    return exp


# ==========================================================================
# random program generator

BASE_X31 = BUF + 2048
RESERVED = {2, 8, 31}
WRITABLE = tuple(r for r in range(32) if r not in RESERVED)          # includes x0 (writes ignored)
WRITABLE_NZ = tuple(r for r in WRITABLE if r)
WRITABLE_C = tuple(r for r in range(9, 16))                            # x9..x15 (x8 is a base)
ALL = tuple(range(32))
ALL_C = tuple(range(8, 16))

SPECIAL = [0, 1, -1, 2, -2, INT64_MIN, INT64_MAX, INT64_MIN + 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
           -0x8000_0000, -0x8000_0001, 0x1_0000_0000, 0x1_FFFF_FFFF, 31, 32, 63, 64, 0x5555_5555_5555_5555,
           -0x5555_5555_5555_5556, 0x0000_0000_8000_0001, 0x1234_5678_9ABC_DEF0, -0x7FFF_FFFF_0000_0000]

reg_values = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-(1 << 31), (1 << 31) - 1),
    st.integers(-64, 64),
    st.integers(0, 0xFFFF_FFFF),
)

R_BASE = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and']
R_W = ['addw', 'subw', 'sllw', 'srlw', 'sraw']
R_M = ['mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu']
R_MW = ['mulw', 'divw', 'divuw', 'remw', 'remuw']
I_ALU = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw']
SH_I = ['slli', 'srli', 'srai']
SH_IW = ['slliw', 'srliw', 'sraiw']
BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu']
# the integer loads and stores (this test compares x registers; F/D against Unicorn: test_fp_unicorn.py)
LOAD_SIZES = {mn: n for mn, n in rvenc.LOAD_SIZES.items() if not isa.ROW[mn].fp}
STORE_SIZES = {mn: n for mn, n in rvenc.STORE_SIZES.items() if not isa.ROW[mn].fp}
LOADS = list(LOAD_SIZES)
STORES = list(STORE_SIZES)
C_ALU_RD = ['c.addi', 'c.addiw', 'c.li', 'c.lui', 'c.slli', 'c.mv', 'c.add']
C_ALU_RDP = ['c.srli', 'c.srai', 'c.andi', 'c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw']

imm12 = st.one_of(st.sampled_from([-2048, 2047, -1, 0, 1, 0x7FF, -0x800 + 1, 0x555, -0x556]),
                  st.integers(-2048, 2047))
shamt6 = st.one_of(st.sampled_from([0, 1, 31, 32, 33, 63]), st.integers(0, 63))
shamt5 = st.one_of(st.sampled_from([0, 1, 15, 16, 31]), st.integers(0, 31))
imm6 = st.integers(-32, 31)
imm6_nz = imm6.filter(bool)


def _mem_access(draw, size, bases):
    """Pick a base register (with its known address) and an aligned in-buffer target."""
    r = draw(st.sampled_from(sorted(bases)))
    base = bases[r] - BUF
    lo = max(0, base - 2048)
    hi = min(BUF_SIZE - size, base + 2047)
    lo = (lo + size - 1) // size * size
    target = draw(st.integers(lo // size, hi // size)) * size
    return r, target - base


@st.composite
def gen_insn(draw, kind, stt):
    """One instruction (or a short list) of `kind`; stt holds the tracked base register offsets."""
    w = st.sampled_from(WRITABLE)
    a = st.sampled_from(ALL)
    if kind == 'r':
        mn = draw(st.sampled_from(R_BASE + R_W))
        return mn, dict(rd=draw(w), rs1=draw(a), rs2=draw(a))
    if kind == 'm':
        mn = draw(st.sampled_from(R_M + R_MW))
        return mn, dict(rd=draw(w), rs1=draw(a), rs2=draw(a))
    if kind == 'i':
        mn = draw(st.sampled_from(I_ALU))
        return mn, dict(rd=draw(w), rs1=draw(a), imm=draw(imm12))
    if kind == 'sh':
        mn = draw(st.sampled_from(SH_I + SH_IW))
        return mn, dict(rd=draw(w), rs1=draw(a), shamt=draw(shamt6 if mn in SH_I else shamt5))
    if kind == 'u':
        mn = draw(st.sampled_from(['lui', 'auipc']))
        return mn, dict(rd=draw(w), imm=draw(st.one_of(st.sampled_from([0, 1, 0x7FFFF, 0x80000, 0xFFFFF]),
                                                       st.integers(0, 0xFFFFF))))
    bases = {31: BASE_X31, 8: BUF + stt['x8'], 2: BUF + stt['sp']}
    if kind == 'ld':
        mn = draw(st.sampled_from(LOADS))
        r, imm = _mem_access(draw, LOAD_SIZES[mn], bases)
        return mn, dict(rd=draw(w), rs1=r, imm=imm)
    if kind == 'st':
        mn = draw(st.sampled_from(STORES))
        r, imm = _mem_access(draw, STORE_SIZES[mn], bases)
        return mn, dict(rs2=draw(a), rs1=r, imm=imm)
    if kind == 'c':
        choice = draw(st.sampled_from(C_ALU_RD + C_ALU_RDP + ['c.addi4spn', 'c.addi16sp']))
        if choice == 'c.addi16sp':
            cand = [v for v in rvenc.DOMAINS['c.addi16sp']['imm'] if 0 <= stt['sp'] + v <= BUF_SIZE - 512]
            v = draw(st.sampled_from(cand))
            stt['sp'] += v
            return choice, dict(imm=v)
        if choice == 'c.addi4spn':
            return choice, dict(rd=draw(st.sampled_from(WRITABLE_C)),
                                imm=draw(st.sampled_from(rvenc.DOMAINS[choice]['imm'])))
        if choice in C_ALU_RD:
            rd = draw(st.sampled_from([r for r in WRITABLE_NZ if not (choice == 'c.lui' and r == 2)]))
            if choice in ('c.mv', 'c.add'):
                return choice, dict(rd=rd, rs2=draw(st.sampled_from(ALL[1:])))
            if choice == 'c.slli':
                return choice, dict(rd=rd, shamt=draw(st.one_of(st.sampled_from([1, 31, 32, 63]), st.integers(1, 63))))
            if choice in ('c.addi', 'c.lui'):
                return choice, dict(rd=rd, imm=draw(imm6_nz))
            return choice, dict(rd=rd, imm=draw(imm6))
        rd = draw(st.sampled_from(WRITABLE_C))
        if choice in ('c.srli', 'c.srai'):
            return choice, dict(rd=rd, shamt=draw(st.one_of(st.sampled_from([1, 31, 32, 63]), st.integers(1, 63))))
        if choice == 'c.andi':
            return choice, dict(rd=rd, imm=draw(imm6))
        return choice, dict(rd=rd, rs2=draw(st.sampled_from(ALL_C)))
    if kind == 'cm':
        mn = draw(st.sampled_from(['c.lw', 'c.ld', 'c.sw', 'c.sd', 'c.lwsp', 'c.ldsp', 'c.swsp', 'c.sdsp']))
        imm = draw(st.sampled_from(rvenc.DOMAINS[mn]['imm']))
        if mn in ('c.lw', 'c.ld'):
            return mn, dict(rd=draw(st.sampled_from(WRITABLE_C)), rs1=8, imm=imm)
        if mn in ('c.sw', 'c.sd'):
            return mn, dict(rs2=draw(st.sampled_from(ALL_C)), rs1=8, imm=imm)
        if mn in ('c.lwsp', 'c.ldsp'):
            return mn, dict(rd=draw(st.sampled_from(WRITABLE_NZ)), imm=imm)
        return mn, dict(rs2=draw(a), imm=imm)
    if kind == 'ctl':      # control transfers whose target is the next instruction
        mn = draw(st.sampled_from(BRANCHES + ['jal', 'c.j', 'c.beqz', 'c.bnez']))
        if mn in BRANCHES:
            return mn, dict(rs1=draw(a), rs2=draw(a), imm=4)
        if mn == 'jal':
            return mn, dict(rd=draw(w), imm=4)
        if mn == 'c.j':
            return mn, dict(imm=2)
        return mn, dict(rs1=draw(st.sampled_from(ALL_C)), imm=2)
    if kind == 'jr':       # indirect jumps to the next instruction: auipc; addi; jalr/c.jr/c.jalr
        mn = draw(st.sampled_from(['jalr', 'c.jr', 'c.jalr']))
        rx = draw(st.sampled_from(WRITABLE_NZ))
        odd = draw(st.integers(0, 1))               # target bit 0 must be ignored
        if mn == 'jalr':
            k = draw(st.integers(-2000, 2000))
            return [('auipc', dict(rd=rx, imm=0)), ('addi', dict(rd=rx, rs1=rx, imm=k)),
                    ('jalr', dict(rd=draw(w), rs1=rx, imm=12 - k + odd))]
        return [('auipc', dict(rd=rx, imm=0)), ('addi', dict(rd=rx, rs1=rx, imm=10 + odd)), (mn, dict(rs1=rx))]
    raise AssertionError(kind)


KINDS_MIXED = ['r'] * 4 + ['m'] * 3 + ['i'] * 3 + ['sh'] * 2 + ['u'] + ['ld'] * 2 + ['st'] * 2 + ['c'] * 3 \
    + ['cm'] * 2 + ['ctl', 'jr']
KINDS_COMPRESSED = ['c'] * 6 + ['cm'] * 3 + ['r', 'm', 'i', 'sh', 'ld', 'st']


@st.composite
def programs(draw, kinds, max_len=40):
    stt = {'sp': draw(st.integers(0, (BUF_SIZE - 512) // 16)) * 16,
           'x8': draw(st.integers(0, (BUF_SIZE - 256) // 8)) * 8}
    regs = [0] + [draw(reg_values) for _ in range(31)]
    regs[31] = BASE_X31
    regs[SP] = BUF + stt['sp']
    regs[8] = BUF + stt['x8']
    n = draw(st.integers(1, max_len))
    insns = []
    while len(insns) < n:
        g = draw(gen_insn(draw(st.sampled_from(kinds)), stt))
        insns += g if isinstance(g, list) else [g]
    insns = insns[:n]            # a cut multi-instruction group leaves plain auipc/addi
    seed = draw(st.integers(0, 2**32 - 1))
    data = random.Random(seed).randbytes(BUF_SIZE)
    return insns, regs, data


def _run_program(hart, prog):
    insns, regs, data = prog
    code = rvenc.assemble(insns)
    run_both(hart, code, regs, data, len(insns))


COMMON = dict(deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])


@settings(max_examples=200, **COMMON)
@given(prog=programs(KINDS_MIXED))
def test_random_mixed(hart, prog):
    _run_program(hart, prog)


@settings(max_examples=100, **COMMON)
@given(prog=programs(KINDS_COMPRESSED))
def test_random_compressed_heavy(hart, prog):
    _run_program(hart, prog)


@settings(max_examples=60, **COMMON)
@given(prog=programs(KINDS_MIXED), data=st.data())
def test_random_budget_chunks(hart, prog, data):
    """run(k) stops after exactly k instructions (mid-program), and a run split
    into several run() calls ends in the same state as Unicorn's count=k run."""
    insns, regs, dbuf = prog
    code = rvenc.assemble(insns)
    n = len(insns)
    k = data.draw(st.integers(1, n), label="k")
    chunks = []
    left = k
    while left:
        c = data.draw(st.integers(1, left), label="chunk")
        chunks.append(c)
        left -= c
    exp = hart.uc.run(code, regs, dbuf, n, count=k)
    stop_pc = CODE + len(rvenc.assemble(insns[:k]))
    assert exp['pc'] == stop_pc, f"unicorn count={k} stopped at {exp['pc']:#x}, expected {stop_pc:#x}"
    got = hart.run(code, regs, dbuf, n, chunks=chunks)
    lines = disassemble(code).splitlines()
    listing = "\n".join(lines[:k]) + f"\n  ---- stop after {k} instructions (run() chunks {chunks}) ----\n" \
        + "\n".join(lines[k:])
    compare(code, regs, dbuf, k, exp, got, listing=listing)


def test_harness_self_check():
    """The Unicorn side of the harness: a known program gives known results
    (guards against the oracle silently not running the code)."""
    code = rvenc.assemble([
        ('addi', dict(rd=1, rs1=0, imm=-5)),
        ('c.slli', dict(rd=1, shamt=60)),
        ('sd', dict(rs2=1, rs1=31, imm=-2048)),
        ('lw', dict(rd=3, rs1=31, imm=-2044)),
        ('auipc', dict(rd=4, imm=1)),
        ('jal', dict(rd=5, imm=4)),
        ('c.nop', {}),
    ])
    regs = [0] * 32
    regs[31] = BASE_X31
    r = UnicornEngine().run(code, regs, bytes(BUF_SIZE), 7)
    assert r['pc'] == CODE + len(code)
    assert r['x'][1] == s64(-5 << 60)
    assert r['data'][:8] == u64(-5 << 60).to_bytes(8, 'little')
    assert r['x'][3] == s32(u64(-5 << 60) >> 32)
    assert r['x'][4] == CODE + 4 + 2 + 4 + 4 + 0x1000
    assert r['x'][5] == CODE + 4 + 2 + 4 + 4 + 4 + 4


# ==========================================================================
# directed edge-value tests, checked against unicorn AND a reference model

def _trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _div(a, b):
    return -1 if b == 0 else _trunc_div(a, b)


def _rem(a, b):
    return a if b == 0 else a - b * _trunc_div(a, b)


REF = {
    'add': lambda a, b: a + b, 'sub': lambda a, b: a - b,
    'sll': lambda a, b: a << (b & 63), 'slt': lambda a, b: int(s64(a) < s64(b)),
    'sltu': lambda a, b: int(u64(a) < u64(b)), 'xor': lambda a, b: a ^ b,
    'srl': lambda a, b: u64(a) >> (b & 63), 'sra': lambda a, b: s64(a) >> (b & 63),
    'or': lambda a, b: a | b, 'and': lambda a, b: a & b,
    'mul': lambda a, b: a * b,
    'mulh': lambda a, b: (s64(a) * s64(b)) >> 64,
    'mulhsu': lambda a, b: (s64(a) * u64(b)) >> 64,
    'mulhu': lambda a, b: (u64(a) * u64(b)) >> 64,
    'div': lambda a, b: _div(s64(a), s64(b)), 'divu': lambda a, b: _div(u64(a), u64(b)),
    'rem': lambda a, b: _rem(s64(a), s64(b)), 'remu': lambda a, b: _rem(u64(a), u64(b)),
    'addw': lambda a, b: s32(a + b), 'subw': lambda a, b: s32(a - b),
    'sllw': lambda a, b: s32(a << (b & 31)), 'srlw': lambda a, b: s32(u32(a) >> (b & 31)),
    'sraw': lambda a, b: s32(s32(a) >> (b & 31)),
    'mulw': lambda a, b: s32(a * b),
    'divw': lambda a, b: s32(_div(s32(a), s32(b))), 'divuw': lambda a, b: s32(_div(u32(a), u32(b))),
    'remw': lambda a, b: s32(_rem(s32(a), s32(b))), 'remuw': lambda a, b: s32(_rem(u32(a), u32(b))),
}
# immediate forms -> register form
IMM_FORM = {'addi': 'add', 'slti': 'slt', 'sltiu': 'sltu', 'xori': 'xor', 'ori': 'or', 'andi': 'and',
            'addiw': 'addw', 'slli': 'sll', 'srli': 'srl', 'srai': 'sra', 'slliw': 'sllw', 'srliw': 'srlw',
            'sraiw': 'sraw',
            'c.addi': 'add', 'c.addiw': 'addw', 'c.andi': 'and', 'c.slli': 'sll', 'c.srli': 'srl', 'c.srai': 'sra'}
C_REG_FORM = {'c.add': 'add', 'c.sub': 'sub', 'c.xor': 'xor', 'c.or': 'or', 'c.and': 'and',
              'c.addw': 'addw', 'c.subw': 'subw'}

# edge values live in x13..x27 (up to 15 registers); x9/x10 (compressed) and x28 are scratch
EDGE = [0, 1, -1, 2, INT64_MIN, INT64_MAX, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, -0x8000_0000,
        0x1_0000_0000, 0x1234_5678_9ABC_DEF0, INT64_MIN + 1, 0x5555_5555_5555_5555, -0x1234_5679]
EDGE_W = [0, 1, -1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, -0x8000_0000, 0x1_8000_0000,
          0x7FFF_FFFF_7FFF_FFFF, -0x7FFF_FFFF_0000_0001, 0x1234_5678_FFFF_FFFF, INT64_MIN,
          0x1_0000_0000, -0x8000_0000 ^ (0x1234 << 32)]   # last: INT32_MIN in the low word, garbage above
EDGE_SHAMT = [0, 1, 31, 32, 33, 63, 64, 65, 95, -1, -32, 0x1234_5678_9ABC_DEC0 | 31]
EDGE_REG0 = 13
RD = 28
IMMS = [-2048, -1, 0, 1, 2047, 0x555, -0x556, 0x7F0]


class Directed:
    """Build one program of many (setup..., op, sd result) cases; check every slot."""

    def __init__(self, values):
        assert len(values) <= 15, "edge values live in x13..x27"
        self.values = [s64(v) for v in values]
        self.insns = []
        self.cases = []     # (description, expected value or None, slot)

    def reg(self, i):
        return EDGE_REG0 + i

    def case(self, insns, result_reg, desc, expected):
        slot = len(self.cases)
        assert slot * 8 < BUF_SIZE
        self.insns += insns + [('sd', dict(rs2=result_reg, rs1=31, imm=slot * 8 - 2048))]
        self.cases.append((desc, None if expected is None else s64(expected), slot, insns[-1]))

    def run(self, hart):
        regs = [0] * 32
        for i, v in enumerate(self.values):
            regs[self.reg(i)] = v
        regs[31] = BASE_X31
        code = rvenc.assemble(self.insns)
        data = bytes(BUF_SIZE)
        n = len(self.insns)
        exp = hart.uc.run(code, regs, data, n)
        assert exp['pc'] == CODE + len(code), f"unicorn stopped at {exp['pc']:#x}"
        got = hart.run(code, regs, data, n)
        # per-case report first: which operation, which operands, who says what
        bad = []
        for desc, want, slot, (mn, kw) in self.cases:
            e = s64(int.from_bytes(exp['data'][slot * 8:slot * 8 + 8], 'little'))
            g = s64(int.from_bytes(got['data'][slot * 8:slot * 8 + 8], 'little'))
            if e != g or (want is not None and e != want):
                insn = next(_MD.disasm_lite(rvenc.enc_bytes(mn, **kw), 0), (0, 0, '?', ''))
                bad.append(f"{desc}  [{rvenc.enc(mn, **kw):#x} = {insn[2]} {insn[3]}]: "
                           f"numbavm={u64(g):#018x} unicorn={u64(e):#018x} "
                           f"reference={'-' if want is None else format(u64(want), '#018x')}")
        assert not bad, (f"{len(bad)} of {len(self.cases)} cases wrong "
                         f"(numbavm vs unicorn vs Python reference model):\n  " + "\n  ".join(bad[:60])
                         + (f"\n  ... {len(bad) - 60} more" if len(bad) > 60 else ""))
        listing = disassemble(code).splitlines()
        compare(code, regs, data, n, exp, got,
                listing="\n".join(listing[:40] + ([f"  ... {len(listing) - 40} more"] if len(listing) > 40 else [])))
        return {desc: s64(int.from_bytes(got['data'][slot * 8:slot * 8 + 8], 'little'))
                for desc, _want, slot, _insn in self.cases}


def _r_cases(d, mn, values):
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            d.case([(mn, dict(rd=RD, rs1=d.reg(i), rs2=d.reg(j)))], RD,
                   f"{mn} rs1={u64(a):#x} rs2={u64(b):#x}", REF[mn](a, b))


def _imm_cases(d, mn, values, imms, key='imm'):
    ref = REF[IMM_FORM[mn]]
    for i, a in enumerate(values):
        for imm in imms:
            d.case([(mn, {'rd': RD, 'rs1': d.reg(i), key: imm})], RD,
                   f"{mn} rs1={u64(a):#x} {key}={imm}", ref(a, imm))


def _c_imm_cases(d, mn, values, imms, key='imm'):
    ref = REF[IMM_FORM[mn]]
    rd = 9 if mn in ('c.andi', 'c.srli', 'c.srai') else RD
    for i, a in enumerate(values):
        for imm in imms:
            d.case([('c.mv', dict(rd=rd, rs2=d.reg(i))), (mn, {'rd': rd, key: imm})], rd,
                   f"{mn} rd={u64(a):#x} {key}={imm}", ref(a, imm))


def _c_reg_cases(d, mn, values):
    ref = REF[C_REG_FORM[mn]]
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            d.case([('c.mv', dict(rd=9, rs2=d.reg(i))), ('c.mv', dict(rd=10, rs2=d.reg(j))),
                    (mn, dict(rd=9, rs2=10))], 9, f"{mn} rd={u64(a):#x} rs2={u64(b):#x}", ref(a, b))


@pytest.mark.parametrize("mn", R_BASE + ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'lui', 'auipc',
                                         'c.addi', 'c.andi', 'c.li', 'c.lui',
                                         'c.mv', 'c.add', 'c.sub', 'c.xor', 'c.or', 'c.and'])
def test_directed_alu(hart, mn):
    d = Directed(EDGE)
    if mn in R_BASE:
        _r_cases(d, mn, EDGE)
    elif mn in IMM_FORM and not mn.startswith('c.'):
        _imm_cases(d, mn, EDGE, IMMS)
    elif mn in ('lui', 'auipc'):
        for imm in [0, 1, 0x7FFFF, 0x80000, 0xFFFFF, 0x12345]:
            pc = CODE + len(rvenc.assemble(d.insns))
            want = s32(imm << 12) + (pc if mn == 'auipc' else 0)
            d.case([(mn, dict(rd=RD, imm=imm))], RD, f"{mn} imm={imm:#x} at pc={pc:#x}", want)
    elif mn in ('c.addi', 'c.andi'):
        _c_imm_cases(d, mn, EDGE, [v for v in (-32, -1, 1, 31, 0) if v or mn == 'c.andi'])
    elif mn == 'c.li':
        for imm in (-32, -1, 0, 1, 31):
            d.case([(mn, dict(rd=RD, imm=imm))], RD, f"c.li imm={imm}", imm)
    elif mn == 'c.lui':
        for imm in (-32, -1, 1, 31):
            d.case([(mn, dict(rd=RD, imm=imm))], RD, f"c.lui imm={imm}", imm << 12)
    elif mn == 'c.mv':
        for i, a in enumerate(EDGE):
            d.case([(mn, dict(rd=RD, rs2=d.reg(i)))], RD, f"c.mv {u64(a):#x}", a)
    elif mn == 'c.add':
        for i, a in enumerate(EDGE):
            for j, b in enumerate(EDGE):
                d.case([('c.mv', dict(rd=RD, rs2=d.reg(i))), (mn, dict(rd=RD, rs2=d.reg(j)))], RD,
                       f"c.add {u64(a):#x} {u64(b):#x}", a + b)
    else:
        _c_reg_cases(d, mn, EDGE)
    d.run(hart)


@pytest.mark.parametrize("mn", R_M + R_MW)
def test_directed_m(hart, mn):
    """Division by zero, INT_MIN / -1 (64- and 32-bit), high-half products."""
    vals = EDGE_W if mn in R_MW else EDGE
    d = Directed(vals)
    _r_cases(d, mn, vals)
    got = d.run(hart)
    # the M extension's table of special cases (unprivileged spec 13.2), written out here, not
    # taken from the reference model above: x / 0 = all ones, x % 0 = x; the signed overflow
    # INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (for the W forms, of the low 32 bits, sign-extended)
    if mn in SPEC_DIV_TABLE:
        for (a, b), want in SPEC_DIV_TABLE[mn].items():
            desc = f"{mn} rs1={u64(a):#x} rs2={u64(b):#x}"
            assert desc in got, f"the edge values lack the spec's case {desc}"
            assert got[desc] == want, (desc, f"numbavm={u64(got[desc]):#x}", f"spec={u64(want):#x}")


X = 0x1234_5678_9ABC_DEF0         # a dividend in EDGE
XW = 0x1234_5678_FFFF_FFFF        # one in EDGE_W: its low word is -1
INT32_MIN_W = -0x8000_0000 ^ (0x1234 << 32)    # EDGE_W: INT32_MIN in the low word, garbage above
SPEC_DIV_TABLE = {
    'div': {(X, 0): -1, (INT64_MIN, -1): INT64_MIN},
    'divu': {(X, 0): -1},
    'rem': {(X, 0): X, (INT64_MIN, -1): 0},
    'remu': {(X, 0): X},
    'divw': {(XW, 0): -1, (-0x8000_0000, -1): -0x8000_0000, (INT32_MIN_W, -1): -0x8000_0000},
    'divuw': {(XW, 0): -1},
    'remw': {(XW, 0): -1, (0x7FFF_FFFF, 0): 0x7FFF_FFFF, (INT32_MIN_W, -1): 0},
    'remuw': {(XW, 0): -1, (0x8000_0000, 0): -0x8000_0000},
}


@pytest.mark.parametrize("mn", R_W + ['addiw', 'c.addw', 'c.subw', 'c.addiw'])
def test_directed_w(hart, mn):
    """32-bit ops on operands whose upper halves / bit 31 make sign extension visible."""
    d = Directed(EDGE_W)
    if mn in R_W:
        _r_cases(d, mn, EDGE_W)
    elif mn == 'addiw':
        _imm_cases(d, mn, EDGE_W, IMMS)
    elif mn == 'c.addiw':
        _c_imm_cases(d, mn, EDGE_W, [-32, -1, 0, 1, 31])
    else:
        _c_reg_cases(d, mn, EDGE_W)
    d.run(hart)


@pytest.mark.parametrize("mn", ['slli', 'srli', 'srai', 'slliw', 'srliw', 'sraiw',
                                'sll', 'srl', 'sra', 'sllw', 'srlw', 'sraw',
                                'c.slli', 'c.srli', 'c.srai'])
def test_directed_shifts(hart, mn):
    """Shift amounts 0/1/31/32/33/63 (immediate) and 0..65, -1 etc. (register: only low bits count)."""
    vals = EDGE_W[:6] + [INT64_MIN, INT64_MAX, 0x8000_0000_8000_0000, -2, 0x1234_5678_9ABC_DEF0, 1 << 31]
    if mn in ('slli', 'srli', 'srai'):
        d = Directed(vals)
        _imm_cases(d, mn, vals, [0, 1, 31, 32, 33, 63], key='shamt')
    elif mn in ('slliw', 'srliw', 'sraiw'):
        d = Directed(vals)
        _imm_cases(d, mn, vals, [0, 1, 15, 16, 31], key='shamt')
    elif mn.startswith('c.'):
        d = Directed(vals)
        _c_imm_cases(d, mn, vals, [1, 31, 32, 33, 63], key='shamt')
    else:
        # values in x16..x21 (6 values), shift amounts in x22..x27 (6 amounts) x 2 programs
        for amounts in (EDGE_SHAMT[:6], EDGE_SHAMT[6:]):
            d = Directed(vals[:6] + amounts)
            for i, a in enumerate(vals[:6]):
                for j, b in enumerate(amounts):
                    d.case([(mn, dict(rd=RD, rs1=d.reg(i), rs2=d.reg(6 + j)))], RD,
                           f"{mn} rs1={u64(a):#x} rs2={u64(b):#x}", REF[mn](a, b))
            d.run(hart)
        return
    d.run(hart)


def test_directed_loads_stores(hart):
    """Every load width/signedness at sign-sensitive bytes, every store width, every
    compressed load/store, through every base register form."""
    pattern = bytes([0x80, 0xFF, 0x7F, 0x01, 0xFE, 0x80, 0x00, 0x81] * 4)   # 32 bytes
    data = bytearray(BUF_SIZE)
    data[0:32] = pattern
    data[2048:2048 + 32] = pattern
    insns = []
    rd_cycle = [r for r in WRITABLE_NZ]
    want = []
    k = 0
    for mn, size in LOAD_SIZES.items():
        for off in range(0, 16, size):
            rd = rd_cycle[k % len(rd_cycle)]
            k += 1
            insns.append((mn, dict(rd=rd, rs1=31, imm=off - 2048)))      # buffer start
            insns.append((mn, dict(rd=rd, rs1=31, imm=off)))             # buffer middle
            insns.append(('sd', dict(rs2=rd, rs1=31, imm=1024 + 8 * k)))
            raw = int.from_bytes(pattern[off:off + size], 'little')
            signed = mn in ('lb', 'lh', 'lw', 'ld')
            want.append((f"{mn} {off}(BUF+2048)", 3072 + 8 * k,
                         (raw - (1 << 8 * size) if signed and raw >> (8 * size - 1) else raw)))
    # stores of sign-sensitive register values at every aligned offset of a 16-byte window
    for mn, size in STORE_SIZES.items():
        for off in range(0, 16, size):
            rs2 = EDGE_REG0 + (k % 12)
            k += 1
            insns.append((mn, dict(rs2=rs2, rs1=31, imm=-1024 + 16 * list(STORE_SIZES).index(mn) + off)))
    # compressed forms: x8 = BUF + 256, sp = BUF + 512
    for mn in ('c.lw', 'c.ld'):
        for imm in (0, rvenc.DOMAINS[mn]['imm'][-1], 8):
            insns.append((mn, dict(rd=9, rs1=8, imm=imm)))
            insns.append(('c.sd', dict(rs2=9, rs1=8, imm=(imm + 8) // 8 * 8 if mn == 'c.lw' else 0)))
    for mn in ('c.sw', 'c.sd'):
        for imm in (0, rvenc.DOMAINS[mn]['imm'][-1], 16):
            insns.append((mn, dict(rs2=12, rs1=8, imm=imm)))
    for mn in ('c.lwsp', 'c.ldsp'):
        for imm in (0, rvenc.DOMAINS[mn]['imm'][-1], 8):
            insns.append((mn, dict(rd=RD, imm=imm)))
            insns.append(('c.sdsp', dict(rs2=RD, imm=(imm + 64) % 512 // 8 * 8)))
    for mn in ('c.swsp', 'c.sdsp'):
        for imm in (0, rvenc.DOMAINS[mn]['imm'][-1], 24):
            insns.append((mn, dict(rs2=EDGE_REG0 + 5, imm=imm)))
    regs = [0] * 32
    for i, v in enumerate(EDGE):
        regs[EDGE_REG0 + i] = s64(v)
    regs[12] = s64(0x8000_0000_FFFF_FF80)
    regs[31] = BASE_X31
    regs[8] = BUF + 256
    regs[SP] = BUF + 512
    # seed the compressed-form windows with sign-sensitive bytes too
    data[256:256 + 32] = pattern
    data[512:512 + 32] = pattern
    code = rvenc.assemble(insns)
    exp = run_both(hart, code, regs, bytes(data), len(insns))
    # reference spot checks (unicorn agrees with numbavm at this point)
    bad = [f"{desc}: both engines give {exp['data'][o:o + 8][::-1].hex()}, reference {u64(v):016x}"
           for desc, o, v in want if exp['data'][o:o + 8] != u64(v).to_bytes(8, 'little')]
    assert not bad, "engines agree but differ from the reference model:\n" + "\n".join(bad)


def test_directed_control_next(hart):
    """Taken/not-taken branches to the next instruction, jal/c.j link values."""
    insns = []
    for mn in BRANCHES:
        for i in range(6):
            insns.append((mn, dict(rs1=EDGE_REG0 + i, rs2=EDGE_REG0 + (i * 5) % 12, imm=4)))
    for rd in (1, 5, 0):
        insns.append(('jal', dict(rd=rd, imm=4)))
    insns += [('c.j', dict(imm=2)), ('c.beqz', dict(rs1=9, imm=2)), ('c.bnez', dict(rs1=9, imm=2))]
    # indirect: jalr with odd target (bit 0 ignored), rd == rs1, c.jr / c.jalr through ra
    insns += [('auipc', dict(rd=5, imm=0)), ('jalr', dict(rd=5, rs1=5, imm=9)),
              ('auipc', dict(rd=1, imm=0)), ('addi', dict(rd=1, rs1=1, imm=11)), ('c.jalr', dict(rs1=1)),
              ('auipc', dict(rd=7, imm=0)), ('addi', dict(rd=7, rs1=7, imm=10)), ('c.jr', dict(rs1=7))]
    insns.append(('auipc', dict(rd=6, imm=0)))
    regs = [0] * 32
    for i, v in enumerate(EDGE):
        regs[EDGE_REG0 + i] = s64(v)
    regs[31] = BASE_X31
    code = rvenc.assemble(insns)
    exp = run_both(hart, code, regs, bytes(BUF_SIZE), len(insns))
    assert exp['x'][6] == CODE + len(code) - 4


def test_directed_hints(hart):
    """HINT encodings (c.addi x5,0; c.li x0,..; c.slli x5,0; c.mv x0,..; addi x0,..; fence ...)
    are no-ops: nothing but pc changes, no trap."""
    code = b''.join(rvenc.hint_bytes(k) for k in rvenc.HINTS) + rvenc.enc_bytes('c.li', rd=6, imm=1)
    regs = [0] + [s64(0x1111_1111_1111_1111 * (i % 16)) for i in range(1, 32)]
    regs[31] = BASE_X31
    exp = run_both(hart, code, regs, bytes(BUF_SIZE), len(rvenc.HINTS) + 1)
    assert exp['x'][6] == 1 and exp['x'][5] == regs[5] and exp['x'][9] == regs[9]


def test_directed_fence_i_self_modifying(hart):
    """Code patched by guest stores and made visible with fence.i: a pair of
    compressed instructions becomes one 32-bit instruction and then a different
    pair (stale decode of the second half-word would show)."""
    w1 = rvenc.enc('c.addi', rd=6, imm=1) | rvenc.enc('c.addi', rd=6, imm=2) << 16
    w2 = rvenc.enc('addi', rd=6, rs1=6, imm=100)
    w3 = rvenc.enc('c.addi', rd=6, imm=4) | rvenc.enc('c.addi', rd=6, imm=8) << 16
    fence_i = 0x0000100F
    code = (rvenc.assemble([('auipc', dict(rd=5, imm=0)),                 # p+0
                            ('addi', dict(rd=10, rs1=0, imm=3))])         # p+4
            + w1.to_bytes(4, 'little')                                     # p+8: patched
            + rvenc.assemble([('lw', dict(rd=7, rs1=11, imm=0)),          # p+12
                              ('addi', dict(rd=11, rs1=11, imm=4)),       # p+16
                              ('sw', dict(rs2=7, rs1=5, imm=8))])         # p+20
            + fence_i.to_bytes(4, 'little')                                # p+24
            + rvenc.assemble([('addi', dict(rd=10, rs1=10, imm=-1)),      # p+28
                              ('bne', dict(rs1=10, rs2=0, imm=-24))]))    # p+32 -> p+8
    data = bytearray(BUF_SIZE)
    data[0:8] = w2.to_bytes(4, 'little') + w3.to_bytes(4, 'little')
    regs = [0] * 32
    regs[31] = BASE_X31
    regs[11] = BUF
    regs[6] = 1000
    n = 2 + (2 + 6) + (1 + 6) + (2 + 6)
    exp = run_both(hart, code, regs, bytes(data), n)
    assert exp['x'][6] == 1000 + 1 + 2 + 100 + 4 + 8


@pytest.mark.parametrize("kind", ["loop", "regions"])
def test_regions_really_ran(kind):
    """The "regions" engine of the tests above really runs native regions (else the "regions"
    half of this file would test the loop twice), and the "loop" engine never does.  A fresh
    engine, so the count depends on this test alone."""
    e = make_engine(kind)
    for mn in ('add', 'sltu', 'mulh', 'divw'):
        d = Directed(EDGE_W)
        _r_cases(d, mn, EDGE_W)
        d.run(e)
    if kind == "regions":
        assert e.h.regions.compiled > 0 and e.h.regions.instructions > 0, e.h.regions.stats()
        assert e.h.regions.errors == 0, e.h.regions.last_error
    else:
        assert e.h.regions is None
