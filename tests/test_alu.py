"""emu/alu.py against Python big-integer models of the M extension and RV64I shifts (spec ch. 7, 2.4, 5.2).

Models follow the spec text: MULH* return the upper XLEN bits of the 2*XLEN
product; DIV rounds toward zero; division by zero gives quotient all ones and
remainder = dividend; the overflow MIN / -1 gives quotient MIN and remainder 0
(spec Table 7.1).  The W forms are executed as real instructions on a hart.
"""
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st, example

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import s32, s64, u64  # noqa: E402

from emu import alu  # noqa: E402
from emu.hart import Hart  # noqa: E402
from emu.spec import RAM_BASE  # noqa: E402
from emu.state import EXIT_BUDGET  # noqa: E402

MIN = -(1 << 63)
MAX = (1 << 63) - 1
CORNERS = [0, 1, -1, 2, -2, MIN, MAX, MIN + 1, MAX - 1, 1 << 32, (1 << 32) - 1, -(1 << 32), 1 << 31,
           -(1 << 31), (1 << 31) - 1, 0x5555_5555_5555_5555, -0x5555_5555_5555_5556, 3, -3, 7]


def m_mulh(a, b):
    return s64((a * b) >> 64)


def m_mulhsu(a, b):
    return s64((a * u64(b)) >> 64)


def m_mulhu(a, b):
    return s64((u64(a) * u64(b)) >> 64)


def trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def m_div(a, b, bits=64):
    if b == 0:
        return -1
    if a == -(1 << (bits - 1)) and b == -1:
        return a
    return trunc_div(a, b)


def m_rem(a, b, bits=64):
    if b == 0:
        return a
    if a == -(1 << (bits - 1)) and b == -1:
        return 0
    return a - trunc_div(a, b) * b


def m_divu(a, b):
    return -1 if b == 0 else s64(u64(a) // u64(b))


def m_remu(a, b):
    return a if b == 0 else s64(u64(a) % u64(b))


i64s = st.one_of(st.sampled_from(CORNERS), st.integers(MIN, MAX))


def call(f, *args):
    return int(f(*(np.int64(a) for a in args)))


def test_corner_table_exhaustively():
    """Every pair of corner values, every operation."""
    for a in CORNERS:
        for b in CORNERS:
            assert call(alu.mulh, a, b) == m_mulh(a, b), ("mulh", a, b)
            assert call(alu.mulhsu, a, b) == m_mulhsu(a, b), ("mulhsu", a, b)
            assert call(alu.mulhu, a, b) == m_mulhu(a, b), ("mulhu", a, b)
            assert call(alu.div, a, b) == m_div(a, b), ("div", a, b)
            assert call(alu.rem, a, b) == m_rem(a, b), ("rem", a, b)
            assert call(alu.divu, a, b) == m_divu(a, b), ("divu", a, b)
            assert call(alu.remu, a, b) == m_remu(a, b), ("remu", a, b)


def test_spec_table_7_1_division_special_cases():
    x = 12345
    assert call(alu.div, x, 0) == -1
    assert call(alu.divu, x, 0) == -1                 # 2**64 - 1
    assert call(alu.rem, x, 0) == x
    assert call(alu.remu, x, 0) == x
    assert call(alu.rem, -x, 0) == -x
    assert call(alu.div, MIN, -1) == MIN
    assert call(alu.rem, MIN, -1) == 0
    assert call(alu.div, -7, 2) == -3                 # rounds toward zero
    assert call(alu.rem, -7, 2) == -1                 # sign of the dividend
    assert call(alu.div, 7, -2) == -3
    assert call(alu.rem, 7, -2) == 1


@settings(max_examples=400, deadline=None, derandomize=True)
@given(i64s, i64s)
@example(MIN, MIN)
@example(-1, -1)
def test_mul_high(a, b):
    assert call(alu.mulh, a, b) == m_mulh(a, b)
    assert call(alu.mulhsu, a, b) == m_mulhsu(a, b)
    assert call(alu.mulhu, a, b) == m_mulhu(a, b)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(i64s, i64s)
def test_div_rem(a, b):
    assert call(alu.div, a, b) == m_div(a, b)
    assert call(alu.rem, a, b) == m_rem(a, b)
    assert call(alu.divu, a, b) == m_divu(a, b)
    assert call(alu.remu, a, b) == m_remu(a, b)
    if b != 0:      # the identity the spec's definition implies
        assert s64(call(alu.div, a, b) * b + call(alu.rem, a, b)) == a


@settings(max_examples=300, deadline=None, derandomize=True)
@given(i64s)
def test_sext32(v):
    assert call(alu.sext32, v) == s32(v)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(i64s, st.integers(0, 63))
def test_srl_and_ltu(v, sh):
    assert call(alu.srl, v, sh) == s64(u64(v) >> sh)
    assert bool(alu.ltu(np.int64(v), np.int64(sh - 32))) == (u64(v) < u64(sh - 32))


def test_srl_by_63_and_0():
    assert call(alu.srl, -1, 63) == 1
    assert call(alu.srl, MIN, 63) == 1
    assert call(alu.srl, -1, 0) == -1


# ------------------------------------------------------------------ instructions on a hart

BASE = RAM_BASE


def run_rr(mn, a, b):
    """Execute `mn x3, x1, x2` with x1 = a, x2 = b on a fresh hart (cheap: no state shared
    between examples or tests); -> x3 (signed)."""
    h = Hart(4096)
    h.write_phys(BASE, rvenc.enc_bytes(mn, rd=3, rs1=1, rs2=2))
    h.pc = BASE
    h.x[1], h.x[2], h.x[3] = s64(a), s64(b), 0x1234
    assert h.run(1) == EXIT_BUDGET
    assert h.pc == BASE + 4
    return int(h.x[3])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(i64s, i64s)
def test_m_instructions_on_the_hart(a, b):
    assert run_rr("mul", a, b) == s64(a * b)
    assert run_rr("mulh", a, b) == m_mulh(a, b)
    assert run_rr("mulhsu", a, b) == m_mulhsu(a, b)
    assert run_rr("mulhu", a, b) == m_mulhu(a, b)
    assert run_rr("div", a, b) == m_div(a, b)
    assert run_rr("divu", a, b) == m_divu(a, b)
    assert run_rr("rem", a, b) == m_rem(a, b)
    assert run_rr("remu", a, b) == m_remu(a, b)


W_CORNERS = [0, 1, -1, 1 << 31, -(1 << 31), (1 << 31) - 1, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_8000_0000,
             0xDEAD_BEEF_0000_0007, -7, 2]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.one_of(st.sampled_from(W_CORNERS), st.integers(MIN, MAX)),
       st.one_of(st.sampled_from(W_CORNERS), st.integers(MIN, MAX)))
def test_m_word_instructions_on_the_hart(a, b):
    """*W: operate on the low 32 bits, sign-extend the 32-bit result (spec 7.1, 7.2)."""
    a32, b32 = s32(a), s32(b)
    ua, ub = a & 0xFFFFFFFF, b & 0xFFFFFFFF
    assert run_rr("mulw", a, b) == s32(a32 * b32)
    assert run_rr("divw", a, b) == s32(m_div(a32, b32, 32))
    assert run_rr("remw", a, b) == s32(m_rem(a32, b32, 32))
    assert run_rr("divuw", a, b) == (-1 if ub == 0 else s32(ua // ub))
    assert run_rr("remuw", a, b) == (s32(ua) if ub == 0 else s32(ua % ub))


def test_word_division_special_cases_on_the_hart():
    assert run_rr("divw", -(1 << 31), -1) == -(1 << 31)
    assert run_rr("remw", -(1 << 31), -1) == 0
    assert run_rr("divw", 5, 0) == -1
    assert run_rr("divuw", 5, 0) == -1
    assert run_rr("remw", 0x1_8000_0005, 0) == s32(0x8000_0005)   # dividend's low 32 bits, sign-extended
    assert run_rr("remuw", 0x1_8000_0005, 0) == s32(0x8000_0005)
    assert run_rr("divuw", 0xFFFF_FFFF, 1) == -1                   # 0xffffffff sign-extended
