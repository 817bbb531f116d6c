"""An exact reference model of the RISC-V F and D extensions' arithmetic (unprivileged spec ch. 11-12).

Plain Python with fractions.Fraction and ints, written from the spec and IEEE 754-2008, never from
emu/softfloat.py: every finite operand decodes to its exact rational value, an operation computes its exact
result, and one function (round_value) rounds it to the destination format in the given rounding mode and
says which flags that raised.  tests/test_softfloat.py compares emu.softfloat with this bit for bit and flag
for flag; tests/test_fp_unicorn.py checks this against Unicorn where Unicorn follows the spec.

The API mirrors emu/softfloat.py's: values are bit patterns (here plain non-negative ints: a single's 32 bits,
a double's 64 bits), fmt is FMT_S or FMT_D, rm one of RM_RNE/RTZ/RDN/RUP/RMM, flags are FFLAG_* bits.
    add sub mul div (fmt, a, b, rm)            -> (bits, flags)
    sqrt (fmt, a, rm)                          -> (bits, flags)
    fma (fmt, a, b, c, rm, neg_prod, neg_add)  -> (bits, flags)   (+-(a*b)) +- c, rounded once
    fmin fmax (fmt, a, b)                      -> (bits, flags)
    feq flt fle (fmt, a, b)                    -> (0 or 1, flags)
    fclass (fmt, a)                            -> the 10-bit mask
    f_to_int (fmt, a, rm, is64, signed)        -> (the x register's value as an int64, flags)
    int_to_f (fmt, v, rm, is64, signed)        -> (bits, flags)   v: the x register's value (any int; masked)
    f_to_f (to_fmt, a, rm)                     -> (bits, flags)   a in the other format
"""
from __future__ import annotations

import math
from fractions import Fraction

from emu.spec import (CANONICAL_NAN_D, CANONICAL_NAN_S, FFLAG_DZ, FFLAG_NV, FFLAG_NX, FFLAG_OF, FFLAG_UF,
                      FMT_D, FMT_S, RM_RDN, RM_RMM, RM_RNE, RM_RTZ, RM_RUP)

ROUNDING_MODES = (RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM)


class Format:
    """One IEEE binary interchange format: exponent and fraction field widths and what follows from them."""

    def __init__(self, name, ebits, fbits, canonical_nan):
        self.name = name
        self.ebits, self.fbits = ebits, fbits
        self.width = 1 + ebits + fbits
        self.mask = (1 << self.width) - 1
        self.sign_bit = 1 << (self.width - 1)
        self.bias = (1 << (ebits - 1)) - 1
        self.emax = self.bias                  # largest unbiased exponent of a finite value
        self.emin = 1 - self.bias              # smallest exponent of a normal value
        self.exp_all_ones = (1 << ebits) - 1
        self.quiet_bit = 1 << (fbits - 1)      # the fraction's MSB: set in a quiet NaN
        self.canonical_nan = canonical_nan
        self.inf = self.exp_all_ones << fbits
        self.max_finite = ((self.exp_all_ones - 1) << fbits) | ((1 << fbits) - 1)
        self.min_normal = 1 << fbits
        self.min_subnormal = 1
        self.max_subnormal = (1 << fbits) - 1
        self.one = self.bias << fbits
        # 2^emin (the tininess threshold) and the largest finite value, exactly
        self.min_normal_value = Fraction(2) ** self.emin
        self.max_finite_value = (2 - Fraction(1, 1 << fbits)) * Fraction(2) ** self.emax


FORMATS = {FMT_S: Format("S", 8, 23, CANONICAL_NAN_S), FMT_D: Format("D", 11, 52, CANONICAL_NAN_D)}

# classes of a bit pattern
ZERO, SUBNORMAL, NORMAL, INF, QNAN, SNAN = "zero", "subnormal", "normal", "inf", "qnan", "snan"


def fields(fmt, bits):
    """(sign, biased exponent, fraction) of a bit pattern."""
    F = FORMATS[fmt]
    bits &= F.mask
    return bits >> (F.width - 1), (bits >> F.fbits) & F.exp_all_ones, bits & ((1 << F.fbits) - 1)


def decode(fmt, bits):
    """(class, sign, exact value) of a bit pattern; the value is a Fraction for finite classes (a zero's is 0,
    its sign is the returned sign), None for infinities and NaNs."""
    F = FORMATS[fmt]
    s, e, f = fields(fmt, bits)
    if e == F.exp_all_ones:
        if f == 0:
            return INF, s, None
        return (QNAN if f & F.quiet_bit else SNAN), s, None
    if e == 0:
        if f == 0:
            return ZERO, s, Fraction(0)
        mag = Fraction(f) * Fraction(2) ** (F.emin - F.fbits)
        return SUBNORMAL, s, -mag if s else mag
    mag = Fraction(f | (1 << F.fbits)) * Fraction(2) ** (e - F.bias - F.fbits)
    return NORMAL, s, -mag if s else mag


def is_nan(fmt, bits):
    return decode(fmt, bits)[0] in (QNAN, SNAN)


def is_snan(fmt, bits):
    return decode(fmt, bits)[0] == SNAN


def signed_zero(fmt, sign):
    return FORMATS[fmt].sign_bit if sign else 0


def signed_inf(fmt, sign):
    F = FORMATS[fmt]
    return F.inf | (F.sign_bit if sign else 0)


def encode_exact(fmt, value):
    """The bit pattern of a Fraction the format represents exactly (asserts it does)."""
    bits, flags = round_value(fmt, value, RM_RNE)
    assert flags == 0, f"{value} is not exactly representable in {FORMATS[fmt].name}"
    return bits


def _floor_log2(m: Fraction) -> int:
    """floor(log2(m)) for m > 0, exactly."""
    e = m.numerator.bit_length() - m.denominator.bit_length()
    # now 2^(e-1) < m < 2^(e+1)
    if Fraction(2) ** e > m:
        e -= 1
    return e


def _round_int(sign, n, rem, rm):
    """Round the magnitude n + rem (n an int, 0 <= rem < 1 a Fraction) of a value of the given sign to an
    integer magnitude in mode rm."""
    if rem == 0:
        return n
    half = Fraction(1, 2)
    if rm == RM_RNE:
        up = rem > half or (rem == half and n & 1)
    elif rm == RM_RTZ:
        up = False
    elif rm == RM_RDN:
        up = sign == 1
    elif rm == RM_RUP:
        up = sign == 0
    elif rm == RM_RMM:
        up = rem >= half
    else:
        raise ValueError(f"rounding mode {rm}")
    return n + 1 if up else n


def _overflow_result(fmt, sign, rm):
    """IEEE 754 7.4: RNE and RMM carry all overflows to infinity, RTZ to the largest finite value, RDN and RUP
    to infinity in their own direction and to the largest finite value in the other."""
    F = FORMATS[fmt]
    to_inf = rm in (RM_RNE, RM_RMM) or (rm == RM_RDN and sign) or (rm == RM_RUP and not sign)
    return (F.inf if to_inf else F.max_finite) | (F.sign_bit if sign else 0)


def round_value(fmt, value: Fraction, rm, zero_sign=0):
    """Round an exact value to the format: (bits, flags).

    An exact zero becomes the zero of zero_sign (the caller knows the sign rule of its operation).
    NX: the result differs from the value.  OF: the value rounded as if the exponent were unbounded exceeds the
    largest finite value; the result is then infinity or the largest finite value by mode, with NX.
    UF: tininess is detected AFTER rounding (RISC-V's choice, spec 11.2: the value rounded to the format's
    precision with an unbounded exponent range has magnitude below 2^emin), and UF is raised only when the
    result is tiny AND inexact.
    """
    F = FORMATS[fmt]
    value = Fraction(value)
    if value == 0:
        return signed_zero(fmt, zero_sign), 0
    sign = 1 if value < 0 else 0
    mag = -value if sign else value
    e = _floor_log2(mag)
    p = F.fbits + 1

    # rounded with an unbounded exponent: for overflow and for tininess after rounding
    q_unb = e - F.fbits
    scaled = mag / Fraction(2) ** q_unb
    whole = scaled.numerator // scaled.denominator
    n_unb = _round_int(sign, whole, scaled - whole, rm)
    unbounded = n_unb * Fraction(2) ** q_unb
    if unbounded > F.max_finite_value:
        return _overflow_result(fmt, sign, rm), FFLAG_OF | FFLAG_NX
    tiny = unbounded < F.min_normal_value

    # the real rounding: the quantum is fixed at 2^(emin - fbits) below the normal range (subnormals)
    q = max(e, F.emin) - F.fbits
    scaled = mag / Fraction(2) ** q
    n0 = scaled.numerator // scaled.denominator
    rem = scaled - n0
    n = _round_int(sign, n0, rem, rm)
    flags = 0
    if rem:
        flags |= FFLAG_NX
        if tiny:
            flags |= FFLAG_UF
    if n == 1 << p:               # rounding carried into the next binade
        n >>= 1
        q += 1
    signbit = F.sign_bit if sign else 0
    if n == 0:
        return signbit, flags     # rounded to zero keeps the value's sign
    if n < 1 << F.fbits:          # subnormal: biased exponent 0 (q is then emin - fbits)
        assert q == F.emin - F.fbits
        return signbit | n, flags
    biased = q + F.fbits + F.bias
    assert 1 <= biased < F.exp_all_ones
    return signbit | (biased << F.fbits) | (n - (1 << F.fbits)), flags


def _nan_flags(fmt, *ops):
    return FFLAG_NV if any(is_snan(fmt, x) for x in ops) else 0


def _exact_zero_sign(sign_a, sign_b, rm):
    """IEEE 754 6.3: an exact zero sum of two zeros of the same sign keeps that sign; any other exact zero sum
    (opposite signs, or x + (-x)) is +0, except -0 in RDN."""
    if sign_a == sign_b:
        return sign_a
    return 1 if rm == RM_RDN else 0


def _add_signed(fmt, a, b, rm, flip_b):
    F = FORMATS[fmt]
    ca, sa, va = decode(fmt, a)
    cb, sb, vb = decode(fmt, b)
    if flip_b:
        sb ^= 1
        vb = -vb if vb is not None else None
    if ca in (QNAN, SNAN) or cb in (QNAN, SNAN):
        return F.canonical_nan, _nan_flags(fmt, a, b)
    if ca == INF and cb == INF:
        if sa != sb:
            return F.canonical_nan, FFLAG_NV          # inf - inf
        return signed_inf(fmt, sa), 0
    if ca == INF:
        return signed_inf(fmt, sa), 0
    if cb == INF:
        return signed_inf(fmt, sb), 0
    total = va + vb
    if total == 0:
        return signed_zero(fmt, _exact_zero_sign(sa, sb, rm)), 0
    return round_value(fmt, total, rm)


def add(fmt, a, b, rm):
    return _add_signed(fmt, a, b, rm, False)


def sub(fmt, a, b, rm):
    return _add_signed(fmt, a, b, rm, True)


def mul(fmt, a, b, rm):
    F = FORMATS[fmt]
    ca, sa, va = decode(fmt, a)
    cb, sb, vb = decode(fmt, b)
    if ca in (QNAN, SNAN) or cb in (QNAN, SNAN):
        return F.canonical_nan, _nan_flags(fmt, a, b)
    s = sa ^ sb
    if (ca == INF and cb == ZERO) or (ca == ZERO and cb == INF):
        return F.canonical_nan, FFLAG_NV              # 0 * inf
    if ca == INF or cb == INF:
        return signed_inf(fmt, s), 0
    return round_value(fmt, va * vb, rm, zero_sign=s)


def div(fmt, a, b, rm):
    F = FORMATS[fmt]
    ca, sa, va = decode(fmt, a)
    cb, sb, vb = decode(fmt, b)
    if ca in (QNAN, SNAN) or cb in (QNAN, SNAN):
        return F.canonical_nan, _nan_flags(fmt, a, b)
    s = sa ^ sb
    if (ca == INF and cb == INF) or (ca == ZERO and cb == ZERO):
        return F.canonical_nan, FFLAG_NV              # inf/inf, 0/0
    if ca == INF:
        return signed_inf(fmt, s), 0
    if cb == INF:
        return signed_zero(fmt, s), 0
    if cb == ZERO:
        return signed_inf(fmt, s), FFLAG_DZ           # finite nonzero / 0
    return round_value(fmt, va / vb, rm, zero_sign=s)


def _isqrt_sticky(mag: Fraction, fmt):
    """sqrt(mag) as a Fraction that rounds exactly like the real square root in every mode: the root itself
    when it is rational (checked by squaring), else a value strictly inside the same interval between two
    consecutive multiples of a quantum far below the format's rounding position (a sticky bit).  No float
    math: math.isqrt of an integer, and comparisons of squares."""
    F = FORMATS[fmt]
    # mag = m * 4^k with m an integer: sqrt(mag) = sqrt(m) * 2^k
    den = mag.denominator                            # a power of two: mag is a format's value
    assert den & (den - 1) == 0
    k = -(den.bit_length() // 2)                     # 4^-k >= den = 2^(bit_length - 1)
    m = mag * Fraction(4) ** (-k)
    assert m.denominator == 1
    m = m.numerator
    # scale so that the integer root has many more bits than the format's precision (2 * fbits + 8 extra)
    j = max(0, (2 * (F.fbits + 8) - m.bit_length()) // 2 + 1)
    big = m << (2 * j)
    r = math.isqrt(big)
    assert r * r <= big < (r + 1) * (r + 1)
    scale = Fraction(2) ** (k - j)
    if r * r == big:
        return r * scale                             # exact: its square is the operand
    return (2 * r + 1) * scale / 2                   # strictly between r and r+1: the sticky bit


def sqrt(fmt, a, rm):
    F = FORMATS[fmt]
    ca, sa, va = decode(fmt, a)
    if ca in (QNAN, SNAN):
        return F.canonical_nan, _nan_flags(fmt, a)
    if ca == ZERO:
        return a & F.mask, 0                          # sqrt(+-0) = +-0
    if sa:
        return F.canonical_nan, FFLAG_NV              # sqrt of a negative number or -inf
    if ca == INF:
        return F.inf, 0
    return round_value(fmt, _isqrt_sticky(va, fmt), rm)


def fma(fmt, a, b, c, rm, neg_prod, neg_add):
    """(+-(a*b)) +- c with one rounding: fmadd (0, 0), fmsub (0, 1), fnmsub (1, 0), fnmadd (1, 1)."""
    F = FORMATS[fmt]
    ca, sa, va = decode(fmt, a)
    cb, sb, vb = decode(fmt, b)
    cc, sc, vc = decode(fmt, c)
    inf_times_zero = (ca == INF and cb == ZERO) or (ca == ZERO and cb == INF)
    if QNAN in (ca, cb, cc) or SNAN in (ca, cb, cc) or inf_times_zero:
        # RISC-V (spec 11.6): 0 * inf raises NV even when the addend is a quiet NaN
        flags = _nan_flags(fmt, a, b, c) | (FFLAG_NV if inf_times_zero else 0)
        return F.canonical_nan, flags
    sp = sa ^ sb ^ (1 if neg_prod else 0)
    sc ^= 1 if neg_add else 0
    if ca == INF or cb == INF:
        if cc == INF and sc != sp:
            return F.canonical_nan, FFLAG_NV          # inf - inf
        return signed_inf(fmt, sp), 0
    if cc == INF:
        return signed_inf(fmt, sc), 0
    prod = va * vb
    if neg_prod:
        prod = -prod
    addend = -vc if neg_add else vc
    total = prod + addend
    if total == 0:
        # an exact zero: both terms zero, or an exact cancellation (then the product is nonzero and its sign
        # is opposite the addend's); the same rule as for add
        return signed_zero(fmt, _exact_zero_sign(sp, sc, rm)), 0
    return round_value(fmt, total, rm)


def _ordered_key(fmt, bits):
    """A key that orders non-NaN values with -0 < +0 (the order fmin/fmax use)."""
    c, s, v = decode(fmt, bits)
    if c == INF:
        return (Fraction(-1 if s else 1) * (FORMATS[fmt].max_finite_value * 4), 0)
    return (v, 0 if s else 1)


def _minmax(fmt, a, b, want_max):
    """RISC-V fmin/fmax since spec 2.2 / 20191213: IEEE 754-2019 minimumNumber/maximumNumber: -0 < +0, a NaN
    operand loses to a number, two NaNs give the canonical NaN, a signalling NaN raises NV."""
    F = FORMATS[fmt]
    a &= F.mask
    b &= F.mask
    flags = _nan_flags(fmt, a, b)
    na, nb = is_nan(fmt, a), is_nan(fmt, b)
    if na and nb:
        return F.canonical_nan, flags
    if na:
        return b, flags
    if nb:
        return a, flags
    ka, kb = _ordered_key(fmt, a), _ordered_key(fmt, b)
    if want_max:
        return (a if ka >= kb else b), flags
    return (a if ka <= kb else b), flags


def fmin(fmt, a, b):
    return _minmax(fmt, a, b, False)


def fmax(fmt, a, b):
    return _minmax(fmt, a, b, True)


def _compare_value(fmt, bits):
    c, s, v = decode(fmt, bits)
    if c == INF:
        return -FORMATS[fmt].max_finite_value * 4 if s else FORMATS[fmt].max_finite_value * 4
    return v                                          # +0 == -0


def feq(fmt, a, b):
    """Quiet comparison: NV only for a signalling NaN; any NaN compares unequal."""
    if is_nan(fmt, a) or is_nan(fmt, b):
        return 0, _nan_flags(fmt, a, b)
    return int(_compare_value(fmt, a) == _compare_value(fmt, b)), 0


def flt(fmt, a, b):
    """Signalling comparison: NV for any NaN operand, result 0."""
    if is_nan(fmt, a) or is_nan(fmt, b):
        return 0, FFLAG_NV
    return int(_compare_value(fmt, a) < _compare_value(fmt, b)), 0


def fle(fmt, a, b):
    if is_nan(fmt, a) or is_nan(fmt, b):
        return 0, FFLAG_NV
    return int(_compare_value(fmt, a) <= _compare_value(fmt, b)), 0


def fclass(fmt, a):
    """The fclass mask (spec table 11.5): bit 0 -inf, 1 negative normal, 2 negative subnormal, 3 -0, 4 +0,
    5 positive subnormal, 6 positive normal, 7 +inf, 8 signalling NaN, 9 quiet NaN."""
    c, s, _ = decode(fmt, a)
    if c == SNAN:
        return 1 << 8
    if c == QNAN:
        return 1 << 9
    order = (INF, NORMAL, SUBNORMAL, ZERO)
    i = order.index(c)
    return 1 << (i if s else 7 - i)


def _int_range(is64, signed):
    w = 64 if is64 else 32
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)


def _as_xreg(v, is64):
    """An integer result as the x register holds it, as an int64: a 32-bit result (W and WU alike) is
    sign-extended from bit 31 (spec 11.7), a 64-bit one is its two's complement bits."""
    w = 64 if is64 else 32
    v &= (1 << w) - 1
    if v >> (w - 1):
        v -= 1 << w
    return v


def f_to_int(fmt, a, rm, is64, signed):
    """fcvt.w/wu/l/lu: round to an integer in mode rm; a value whose rounded result is out of range, and
    infinities and NaNs, give NV and the saturated value of the spec's table 11.4 (NaN and +inf: the largest
    integer, -inf: the smallest); an in-range inexact conversion gives NX."""
    lo, hi = _int_range(is64, signed)
    c, s, v = decode(fmt, a)
    if c in (QNAN, SNAN):
        return _as_xreg(hi, is64), FFLAG_NV
    if c == INF:
        return _as_xreg(lo if s else hi, is64), FFLAG_NV
    sign = 1 if v < 0 else 0
    mag = -v if sign else v
    n0 = mag.numerator // mag.denominator
    rem = mag - n0
    n = _round_int(sign, n0, rem, rm)
    r = -n if sign else n
    if r < lo:
        return _as_xreg(lo, is64), FFLAG_NV
    if r > hi:
        return _as_xreg(hi, is64), FFLAG_NV
    return _as_xreg(r, is64), (FFLAG_NX if rem else 0)


def int_to_f(fmt, v, rm, is64, signed):
    """fcvt.s/d.w/wu/l/lu: the source is the low 32 bits (W, WU) or all 64 bits of the x register, read as
    signed or unsigned; an exact zero is +0."""
    w = 64 if is64 else 32
    v &= (1 << w) - 1
    if signed and v >> (w - 1):
        v -= 1 << w
    return round_value(fmt, Fraction(v), rm)


def f_to_f(to_fmt, a, rm):
    """fcvt.s.d (rounds) and fcvt.d.s (exact): a is in the other format; any NaN gives the canonical NaN of
    the destination, a signalling one NV."""
    from_fmt = FMT_S if to_fmt == FMT_D else FMT_D
    c, s, v = decode(from_fmt, a)
    if c in (QNAN, SNAN):
        return FORMATS[to_fmt].canonical_nan, _nan_flags(from_fmt, a)
    if c == INF:
        return signed_inf(to_fmt, s), 0
    return round_value(to_fmt, v, rm, zero_sign=s)
