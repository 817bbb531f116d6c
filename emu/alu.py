"""Integer arithmetic with RISC-V semantics on int64 values.

Registers hold int64 two's-complement values.  Where the spec asks for
unsigned arithmetic we reinterpret through uint64; every constant that takes
part is typed so that Numba never mixes uint64 with int64 (which it would
silently turn into int64 or float64).  The same code runs under plain Python
with NumPy scalars (NUMBA_DISABLE_JIT=1), and gives bit-identical results.
"""
import numpy as np
from numba import njit

INT64_MIN = -(1 << 63)
U32 = np.uint64(32)
LO32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def sext32(v):
    """Sign-extend the low 32 bits (the W instructions' results)."""
    return ((v & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000


@njit(cache=True)
def srl(v, sh):
    """Logical shift right of a 64-bit value by 0..63."""
    return np.int64(np.uint64(v) >> np.uint64(sh))


@njit(cache=True)
def ltu(a, b):
    return np.uint64(a) < np.uint64(b)


@njit(cache=True)
def mulhu(a, b):
    """MULHU: the upper 64 bits of the unsigned 128-bit product, from 32-bit halves."""
    ua = np.uint64(a)
    ub = np.uint64(b)
    a_lo = ua & LO32
    a_hi = ua >> U32
    b_lo = ub & LO32
    b_hi = ub >> U32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> U32) + (p1 & LO32) + (p2 & LO32)
    return np.int64(p3 + (p1 >> U32) + (p2 >> U32) + (mid >> U32))


@njit(cache=True)
def mulh(a, b):
    """MULH: signed x signed, upper 64 bits."""
    h = mulhu(a, b)
    if a < 0:
        h -= b
    if b < 0:
        h -= a
    return h


@njit(cache=True)
def mulhsu(a, b):
    """MULHSU: signed rs1 x unsigned rs2, upper 64 bits."""
    h = mulhu(a, b)
    if a < 0:
        h -= b
    return h


@njit(cache=True)
def div(a, b):
    """DIV: truncating signed division; x/0 = -1, MIN/-1 = MIN."""
    if b == 0:
        return -1
    if a == INT64_MIN and b == -1:
        return a
    q = a // b                      # floors like Python: step back toward zero
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q += 1
    return q


@njit(cache=True)
def rem(a, b):
    """REM: remainder of the truncating division; x%0 = x, MIN%-1 = 0."""
    if b == 0:
        return a
    if a == INT64_MIN and b == -1:
        return 0
    return a - div(a, b) * b


@njit(cache=True)
def divu(a, b):
    """DIVU: x/0 = all ones."""
    if b == 0:
        return -1
    return np.int64(np.uint64(a) // np.uint64(b))


@njit(cache=True)
def remu(a, b):
    """REMU: x%0 = x."""
    if b == 0:
        return a
    return np.int64(np.uint64(a) % np.uint64(b))
