"""Integer arithmetic with RISC-V semantics on int64 values.

Registers hold int64 two's-complement values.  Where the spec asks for
unsigned arithmetic we reinterpret through uint64; every constant that takes
part is typed so that Numba never mixes uint64 with int64 (which it would
silently turn into int64 or float64).  The same code runs under plain Python
with NumPy scalars (NUMBA_DISABLE_JIT=1), and gives bit-identical results.

The bit-manipulation helpers (Zbb: clz, ctz, cpop, orc.b, rev8, the rotates) stay in
int64: no shift by 64 or more, masks below 2**63 (Python ints that fit an int64), no sum
that overflows, so plain Python computes what Numba does without a wrap to rely on.  They
are the loop's; native regions use LLVM's ctlz/cttz/ctpop/bswap/fshl/fshr instead.
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


# --- Zbb: counts, byte operations, rotates (no shifts >= 64: see the module docstring)
M55 = 0x5555555555555555
M33 = 0x3333333333333333
M0F = 0x0F0F0F0F0F0F0F0F
M03 = 0x0303030303030303
M01 = 0x0101010101010101


@njit(cache=True)
def clz(v):
    """CLZ: the number of 0 bits above the most significant 1 (64 for 0)."""
    if v < 0:
        return 0
    if v == 0:
        return 64
    n = 0                       # the index of the highest 1, found by halving (v stays positive)
    if v >= 0x100000000:
        v >>= 32
        n += 32
    if v >= 0x10000:
        v >>= 16
        n += 16
    if v >= 0x100:
        v >>= 8
        n += 8
    if v >= 0x10:
        v >>= 4
        n += 4
    if v >= 4:
        v >>= 2
        n += 2
    if v >= 2:
        n += 1
    return 63 - n


@njit(cache=True)
def ctz(v):
    """CTZ: the number of 0 bits below the least significant 1 (64 for 0)."""
    if v == 0:
        return 64
    n = 0                       # only the low bits are looked at: >> may be arithmetic
    if (v & 0xFFFFFFFF) == 0:
        v >>= 32
        n += 32
    if (v & 0xFFFF) == 0:
        v >>= 16
        n += 16
    if (v & 0xFF) == 0:
        v >>= 8
        n += 8
    if (v & 0xF) == 0:
        v >>= 4
        n += 4
    if (v & 3) == 0:
        v >>= 2
        n += 2
    if (v & 1) == 0:
        n += 1
    return n


@njit(cache=True)
def cpop(v):
    """CPOP: the number of 1 bits.  Bit 63 on its own, so that the field sums never overflow."""
    top = 1 if v < 0 else 0
    v &= 0x7FFFFFFFFFFFFFFF
    v = (v & M55) + ((v >> 1) & M55)             # 2-bit fields
    v = (v & M33) + ((v >> 2) & M33)             # 4-bit fields
    v = (v + (v >> 4)) & M0F                     # bytes
    v += v >> 8
    v += v >> 16
    v += v >> 32
    return (v & 0x7F) + top


@njit(cache=True)
def orc_b(v):
    """ORC.B: each byte 0xFF if it has a 1 bit, else 0x00."""
    t = (v | (v >> 4)) & M0F                     # a byte's bits folded into its low bits
    t = (t | (t >> 2)) & M03
    t = (t | (t >> 1)) & M01
    t |= t << 1                                  # bit 0 of each byte spread to bits 7:0
    t |= t << 2
    return t | (t << 4)


@njit(cache=True)
def rev8(v):
    """REV8: the bytes in reverse order."""
    v = ((v >> 8) & 0x00FF00FF00FF00FF) | ((v & 0x00FF00FF00FF00FF) << 8)
    v = ((v >> 16) & 0x0000FFFF0000FFFF) | ((v & 0x0000FFFF0000FFFF) << 16)
    return ((v >> 32) & 0xFFFFFFFF) | (v << 32)


@njit(cache=True)
def rol(v, sh):
    """ROL by sh (0..63).  (64 - sh) & 63: a rotate by 0 ORs v with itself."""
    return (v << sh) | srl(v, (64 - sh) & 63)


@njit(cache=True)
def ror(v, sh):
    """ROR by sh (0..63)."""
    return srl(v, sh) | (v << ((64 - sh) & 63))


@njit(cache=True)
def rolw(v, sh):
    """ROLW by sh (0..31): the low 32 bits rotated, the result sign-extended."""
    w = v & 0xFFFFFFFF
    return sext32((w << sh) | (w >> ((32 - sh) & 31)))


@njit(cache=True)
def rorw(v, sh):
    """RORW by sh (0..31)."""
    w = v & 0xFFFFFFFF
    return sext32((w >> sh) | (w << ((32 - sh) & 31)))
