"""The native regions' inline F/D code (emu/regions/ir.py: fp_fast, fp_bits, fp_convert) against the loop.

A region runs the common FP instructions without calling emu/fpu.py: +, -, *, /, sqrt and the fused
multiply-adds by the host's arithmetic while RNE and NX make that exact, the sign injections and moves as bits,
the conversions where the operand makes them exact or in range.  Each must give what the loop gives (emu/fpu.py
on emu/softfloat.py, which tests/test_softfloat.py and tests/test_fp_unicorn.py check against references): the
result, every bit of fcsr, and the same trap for a reserved dynamic rounding mode.  Here every such
instruction, in every rounding mode (static and dynamic), runs as the one FP instruction of a small program,
once in a native region and once in the loop, on hypothesis-drawn operands from tests/fpgen.py (ties,
subnormal and overflowing results, NaNs, the conversions' bounds, singles not NaN-boxed) and fcsr values
(NX set or clear, each frm), and the two final states are compared.
"""
import os
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fpgen  # noqa: E402
import rvenc  # noqa: E402

from emu import isa  # noqa: E402
from emu import state as S  # noqa: E402
from emu.hart import Hart, jit_enabled  # noqa: E402
from emu.regions import ir  # noqa: E402
from emu.spec import (MSTATUS, MSTATUS_FS, MTVEC, MCAUSE, MEPC, FMT_S, FMT_D, F_BASE,  # noqa: E402
                      RM_DYN, CAUSE_ILLEGAL_INSTRUCTION)
from regionmode import force_regions  # noqa: E402

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="native regions need the JIT engine")

BASE = 0x8000_0000
DATA = BASE + 0x4000            # x10's value, then f1, f2, f3's
OUT = BASE + 0x8000             # x11's value and f4's after the instruction
M64 = (1 << 64) - 1
RD_F, RS_F = 4, (1, 2, 3)
RD_X, RS_X = 11, 10
WARM = 200                      # passes of the first run: the region is compiled at its first sample


def rows():
    """(name, rm) of every FP row the regions run inline, each rounding mode it has (5 and 6 are reserved:
    tests/guest/isa/fp_rm.S)."""
    names = sorted(set(ir.FP_FAST) | set(ir.FP_BITS) | set(ir.FP_CVT))
    out = []
    for n in names:
        has_rm = bool(isa.ROW[n].fp & isa.Fp.RM)
        out += [(n, rm) for rm in ((0, 1, 2, 3, 4, RM_DYN) if has_rm else (0,))]
    return out


def word(name, rm):
    """The instruction: f registers f1, f2, f3 -> f4, x registers x10 -> x11."""
    r = isa.ROW[name]
    rd = RD_F if r.fp & isa.Fp.RD else RD_X
    rs1 = RS_F[0] if r.fp & isa.Fp.RS1 else RS_X
    w = r.match | rd << 7 | rs1 << 15
    if not (r.mask >> 20) & 31:
        w |= RS_F[1] << 20
    if not (r.mask >> 12) & 7:
        w |= rm << 12
    if r.fmt == isa.F_R4:
        w |= RS_F[2] << 27
    assert w & r.mask == r.match
    return w


def fld(rd, off):
    return (off << 20 | 30 << 15 | 3 << 12 | rd << 7 | 0x07).to_bytes(4, "little")


def fsd(rs2, off):
    return ((off >> 5) << 25 | rs2 << 20 | 29 << 15 | 3 << 12 | (off & 31) << 7 | 0x27).to_bytes(4, "little")


def program(name, rm):
    """x10 and f1..f3 loaded from DATA, the instruction, x11 and f4 stored to OUT, x31 times; then a
    jal to itself, which is also mtvec (a reserved frm's trap ends there)."""
    body = (rvenc.enc_bytes("ld", rd=RS_X, rs1=30, imm=0) + fld(1, 8) + fld(2, 16) + fld(3, 24)
            + word(name, rm).to_bytes(4, "little")
            + rvenc.enc_bytes("sd", rs2=RD_X, rs1=29, imm=0) + fsd(RD_F, 8))
    return body + rvenc.assemble([("addi", dict(rd=31, rs1=31, imm=-1)),
                                  ("bne", dict(rs1=31, rs2=0, imm=-(len(body) + 4))),
                                  ("jal", dict(rd=0, imm=0))])


_HARTS = {}


def hart(name, rm, regions):
    """One hart per program and tier, kept: the region, compiled on the first run, serves every case."""
    key = (name, rm, regions)
    if key not in _HARTS:
        h = Hart(1 << 16, BASE)
        code = program(name, rm)
        h.write_phys(BASE, code)
        h.end = BASE + len(code) - 4
        h.csr[MSTATUS] |= MSTATUS_FS                    # Dirty: the region is compiled with FP inside
        h.csr[MTVEC] = h.end
        force_regions(h, regions, poll=256)
        _HARTS[key] = h
        run(h, (0, 0, 0, 0), 0, WARM)
        if regions:
            assert h.regions.compiled == 1
    return _HARTS[key]


def run(h, operands, fcsr, passes=1):
    """One pass over the instruction with these operands (x10, f1, f2, f3) and fcsr -> the final state."""
    h.write_phys(DATA, b"".join((v & M64).to_bytes(8, "little") for v in operands))
    h.write_phys(OUT, bytes(16))
    h.x[:] = 0
    h.f[:] = 0
    h.x[30], h.x[29], h.x[31] = DATA, OUT, passes
    h.st[S.ST_FCSR] = fcsr
    h.csr[MCAUSE] = h.csr[MEPC] = 0
    h.pc = BASE
    entries = int(h.st[S.ST_REGION_ENTRIES])
    h.run(passes * 10 + 1)
    out = bytes(h.read_phys(OUT, 16))
    return ({"pc": h.pc, "x11": int.from_bytes(out[:8], "little"), "f4": int.from_bytes(out[8:], "little"),
             "fcsr": int(h.st[S.ST_FCSR]), "mcause": int(h.csr[MCAUSE]), "mepc": int(h.csr[MEPC])},
            int(h.st[S.ST_REGION_ENTRIES]) - entries)


def boxed(fmt, v, draw):
    """An f register's value for a single operand: NaN-boxed, mostly."""
    if fmt == FMT_D:
        return v
    return v | (draw(st.sampled_from([M64 ^ 0xFFFF_FFFF] * 7 + [0, 0x1234_5678 << 32])))


@st.composite
def operands(draw, name):
    """(x10, f1, f2, f3) for the row: the operand strategies of tests/fpgen.py for its operation."""
    alu, fmt = isa.ROW[name].alu, FMT_D if isa.ROW[name].fp & isa.Fp.DOUBLE else FMT_S
    x10 = draw(fpgen.int_sources(fmt)) if alu == "i2f" else draw(st.integers(0, M64))
    if alu in ("add", "sub"):
        a, b, c = draw(fpgen.add_pairs(fmt)) + (0,)
    elif alu == "mul":
        a, b, c = draw(fpgen.mul_pairs(fmt)) + (0,)
    elif alu == "div":
        a, b, c = draw(fpgen.div_pairs(fmt)) + (0,)
    elif alu == "sqrt":
        a, b, c = draw(fpgen.sqrt_operands(fmt)), 0, 0
    elif alu in ("madd", "msub", "nmsub", "nmadd"):
        a, b, c = draw(fpgen.fma_triples(fmt))
    elif alu == "f2i":
        a, b, c = draw(fpgen.to_int_operands(fmt)), 0, 0
    elif alu == "f2f":              # fcvt.s.d reads a double, fcvt.d.s a single
        src = FMT_D if fmt == FMT_S else FMT_S
        a = draw(fpgen.d_to_s_operands() if fmt == FMT_S else fpgen.s_to_d_operands())
        return x10, boxed(src, a, draw), 0, 0
    else:                           # the sign injections and moves: any bits
        a, b, c = draw(fpgen.operands(fmt)), draw(fpgen.operands(fmt)), 0
    return x10, boxed(fmt, a, draw), boxed(fmt, b, draw), boxed(fmt, c, draw)


FCSR = st.builds(lambda frm, flags: frm << 5 | flags,
                 st.sampled_from([0] * 6 + [1, 2, 3, 4, 5, 7]), st.sampled_from([0, 1, 1, 0x1F, 0x10, 0x03]))
ROWS = rows()


@pytest.mark.parametrize("name,rm", ROWS, ids=[f"{n}-rm{rm}" for n, rm in ROWS])
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_region_as_the_loop(name, rm, data):
    ops = data.draw(operands(name))
    fcsr = data.draw(FCSR)
    got, entered = run(hart(name, rm, True), ops, fcsr)
    want, _ = run(hart(name, rm, False), ops, fcsr)
    assert got == want, (name, rm, [hex(v) for v in ops], hex(fcsr))
    assert entered >= 1                                  # the region ran it
    assert want["pc"] == hart(name, rm, False).end


def test_reserved_dynamic_rounding_mode_traps_in_a_region():
    """frm 5 with rm = dyn: the region leaves before the instruction, the loop raises illegal instruction
    (mepc the instruction's pc), as without regions."""
    for name in ("fadd.s", "fcvt.w.s", "fcvt.s.w", "fcvt.d.s", "fcvt.s.d", "fmadd.d"):
        h = hart(name, RM_DYN, True)
        got, _ = run(h, (7, 0x3F80_0000 | (M64 ^ 0xFFFF_FFFF), 0x3FF0_0000_0000_0000, 0), 5 << 5 | 1)
        want, _ = run(hart(name, RM_DYN, False), (7, 0x3F80_0000 | (M64 ^ 0xFFFF_FFFF), 0x3FF0_0000_0000_0000, 0),
                      5 << 5 | 1)
        assert got == want and got["mcause"] == CAUSE_ILLEGAL_INSTRUCTION and got["mepc"] == BASE + 16, name


S1 = 0x3F80_0000 | (M64 ^ 0xFFFF_FFFF)          # 1.0f, NaN-boxed
S3 = 0x4040_0000 | (M64 ^ 0xFFFF_FFFF)          # 3.0f
D1, D3 = 0x3FF0_0000_0000_0000, 0x4008_0000_0000_0000


@pytest.mark.parametrize("name,rm,ops,fcsr,inline", [
    ("fadd.s", 0, (0, S1, S3, 0), 1, True),              # RNE with NX set
    ("fadd.s", 0, (0, S1, S3, 0), 0, False),             # NX clear: softfloat decides NX
    ("fadd.d", 1, (0, D1, D3, 0), 1, False),             # RTZ
    ("fmadd.s", RM_DYN, (0, S1, S3, S1), 1, True),
    ("fsgnjn.s", 0, (0, S1, S3, 0), 0, True),
    ("fmv.x.w", 0, (0, S1, 0, 0), 0, True),
    ("fcvt.s.w", 3, (-12345, 0, 0, 0), 0, True),         # exact in any mode
    ("fcvt.s.w", 0, ((1 << 24) + 1, 0, 0, 0), 1, False),  # inexact
    ("fcvt.w.s", 1, (0, S3 + 1, 0, 0), 0, True),         # RTZ, sets NX itself
    ("fcvt.w.s", RM_DYN, (0, S3, 0, 0), 2 << 5, False),  # frm RDN
    ("fcvt.wu.d", 2, (0, D3 | 1 << 63, 0, 0), 0, False),  # -3.0 to unsigned: NV
    ("fcvt.d.s", 4, (0, S3, 0, 0), 0, True),
    ("fcvt.s.d", 0, (0, D3 + 1, 0, 0), 0, True),
])
def test_which_cases_run_inline(monkeypatch, name, rm, ops, fcsr, inline):
    """The fast paths take the cases they are for and leave the others to the call: with the call
    replaced by one that always refuses (as for a reserved rounding mode: the region leaves, the loop runs
    the instruction), an inline case stays in the region for every pass, and the others leave it each time."""
    monkeypatch.setattr(ir, "native_address", refuse_address)
    _HARTS.pop((name, rm, True), None)
    try:
        got, entered = run(hart(name, rm, True), ops, fcsr, passes=3)
        assert got == run(hart(name, rm, False), ops, fcsr, passes=3)[0]
        assert (entered == 1) == inline, entered
    finally:
        _HARTS.pop((name, rm, True), None)


_REFUSE = []


def refuse_address():
    """A C function of fp_compute's signature that returns 0: a reserved rounding mode, the loop's to trap."""
    if not _REFUSE:
        from numba import cfunc, types
        sig = types.int64(types.int64, types.CPointer(types.int64), types.CPointer(types.int64), types.int64,
                          types.int64, types.int64, types.int64)

        @cfunc(sig)
        def refuse(op, xp, stp, rd, rs1, rs2, imm):
            return 0
        _REFUSE.append(refuse)
    return _REFUSE[0].address


def test_the_rows_it_covers():
    """Every F/D arithmetic row runs inline or through the call; the inline ones are those listed here."""
    assert set(ir.FP_BITS) == {f"f{op}.{s}" for op in ("sgnj", "sgnjn", "sgnjx") for s in "sd"} | {
        "fmv.x.w", "fmv.w.x", "fmv.x.d", "fmv.d.x"}
    assert len(ir.FP_CVT) == 2 + 16
    assert set(ir.FP_BITS) | set(ir.FP_CVT) | set(ir.FP_FAST) <= set(ir.FP_CALLS)
    assert struct.unpack("<d", struct.pack("<Q", int(ir.fconst(2.0 ** 31), 16)))[0] == 2.0 ** 31
    assert F_BASE == 33
