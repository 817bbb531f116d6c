"""Hypothesis strategies for floating-point operands that hit every special class and rounding boundary on purpose.

Shared by tests/test_softfloat.py and tests/test_fp_unicorn.py.  Operands are bit patterns (non-negative ints,
tests/fpref.py's convention).  Plain random bit patterns almost never land on a tie, an overflow threshold or an
exact cancellation, so each operation also has pair/triple strategies that build such cases from a first operand:
a second operand of half an ulp (and its neighbours), products whose exponents sum to the overflow/underflow
thresholds, addends that cancel a product, integers next to the conversion bounds, ...
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from hypothesis import strategies as st

import fpref as R
from emu.spec import FMT_D, FMT_S, RM_RNE


def F(fmt):
    return R.FORMATS[fmt]


def make(fmt, sign, biased_exp, frac):
    f = F(fmt)
    return (sign << (f.width - 1)) | (biased_exp << f.fbits) | (frac & ((1 << f.fbits) - 1))


def next_up(fmt, bits):
    """The next representable value towards +inf (finite or zero operand)."""
    f = F(fmt)
    if bits == f.sign_bit:
        return 1
    if bits & f.sign_bit:
        return bits - 1
    return bits + 1


def next_down(fmt, bits):
    f = F(fmt)
    return next_up(fmt, bits ^ f.sign_bit) ^ f.sign_bit


def ulp_exp(fmt, bits):
    """The exponent of one ulp of a finite operand's binade."""
    f = F(fmt)
    e = (bits >> f.fbits) & f.exp_all_ones
    return max(e, 1) - f.bias - f.fbits


def pow2(fmt, k, sign=0):
    """The bit pattern of +-2^k (exact, subnormal included), or None out of range."""
    f = F(fmt)
    if k > f.emax or k < f.emin - f.fbits:
        return None
    return R.encode_exact(fmt, Fraction(2) ** k) | (f.sign_bit if sign else 0)


def rounded(fmt, value):
    """The nearest pattern to an exact value (RNE), so a builder can aim near any value."""
    return R.round_value(fmt, Fraction(value), RM_RNE)[0]


# ---------------------------------------------------------------------------------------------- one operand

@lru_cache(maxsize=None)
def specials(fmt):
    """+-0, the extreme subnormals and normals, +-inf, +-1 and its neighbours."""
    f = F(fmt)
    pos = [0, f.min_subnormal, f.min_subnormal + 1, f.max_subnormal, f.min_normal, f.min_normal + 1,
           f.max_finite, f.max_finite - 1, f.inf, f.one, f.one + 1, f.one - 1, f.one | (1 << (f.fbits - 1))]
    return tuple(pos + [p | f.sign_bit for p in pos])


@lru_cache(maxsize=None)
@st.composite
def nans(draw, fmt):
    """A quiet or signalling NaN of either sign with a random payload (the canonical NaN among them)."""
    f = F(fmt)
    q = draw(st.booleans())
    payload = draw(st.one_of(st.just(0), st.just(1), st.just((1 << (f.fbits - 1)) - 1),
                             st.integers(0, (1 << (f.fbits - 1)) - 1)))
    if not q and payload == 0:
        payload = 1                                   # a signalling NaN needs a nonzero payload
    sign = draw(st.integers(0, 1))
    return make(fmt, sign, f.exp_all_ones, (f.quiet_bit if q else 0) | payload)


@lru_cache(maxsize=None)
@st.composite
def significands(draw, fmt):
    """Fraction fields: random, sparse (a few bits: exact results, ties after a shift), dense (all ones but a
    few: carries on rounding up), all zeros, all ones."""
    f = F(fmt)
    full = (1 << f.fbits) - 1
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.integers(0, full))
    bits = draw(st.lists(st.integers(0, f.fbits - 1), max_size=3))
    sparse = sum(1 << b for b in set(bits))
    if kind == 1:
        return sparse
    if kind == 2:
        return full ^ sparse
    return 0 if kind == 3 else full


@lru_cache(maxsize=None)
@st.composite
def exponents(draw, fmt):
    """Biased exponents, weighted to the ends of the range and to values near 1."""
    f = F(fmt)
    return draw(st.one_of(st.integers(0, 4), st.integers(f.exp_all_ones - 4, f.exp_all_ones - 1),
                          st.integers(f.bias - 3, f.bias + 3), st.integers(0, f.exp_all_ones - 1)))


@lru_cache(maxsize=None)
@st.composite
def finites(draw, fmt):
    return make(fmt, draw(st.integers(0, 1)), draw(exponents(fmt)), draw(significands(fmt)))


@lru_cache(maxsize=None)
def operands(fmt):
    """Any operand: every special class deliberately, and finite values of every shape."""
    f = F(fmt)
    return st.one_of(st.sampled_from(specials(fmt)), nans(fmt), finites(fmt), finites(fmt),
                     st.integers(0, f.mask))


def _tweak(draw, fmt, bits):
    """bits itself or one of its neighbours (just above / below a boundary built exactly)."""
    if bits is None:
        return None
    return draw(st.sampled_from((bits, next_up(fmt, bits), next_down(fmt, bits))))


# ---------------------------------------------------------------------------------------------- add/sub

@lru_cache(maxsize=None)
@st.composite
def add_pairs(draw, fmt):
    """(a, b) for add/sub: random pairs, and pairs built on a finite a: an exact cancellation (b = -a or a
    neighbour), b = half an ulp of a (a tie) or just above/below it, b a quarter or three quarters of an ulp,
    b with a huge exponent difference, and the overflow threshold (max finite + half an ulp)."""
    f = F(fmt)
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(operands(fmt)), draw(operands(fmt))
    a = draw(finites(fmt))
    sign = draw(st.integers(0, 1))
    if kind == 1:                                     # cancellation, exact or nearly
        return a, _tweak(draw, fmt, a ^ f.sign_bit)
    if kind in (2, 3):                                # half an ulp (ties), a quarter, three quarters
        k = ulp_exp(fmt, a) - (1 if kind == 2 else 2)
        b = pow2(fmt, k, sign)
        if b is None:
            return a, draw(operands(fmt))
        if kind == 3 and draw(st.booleans()):
            b = rounded(fmt, Fraction(3) * Fraction(2) ** k) | (f.sign_bit if sign else 0)
        return a, _tweak(draw, fmt, b)
    if kind == 4:                                     # huge exponent difference
        return a, draw(st.one_of(st.sampled_from(specials(fmt)), finites(fmt)))
    m = f.max_finite | (a & f.sign_bit)               # overflow threshold: max +- half an ulp
    b = pow2(fmt, f.emax - f.fbits - 1, (a >> (f.width - 1)) ^ draw(st.integers(0, 1)))
    return m, _tweak(draw, fmt, b)


@st.composite
def _scaled(draw, fmt, m, lo=None, hi=None):
    """+-m * 2^k for a random k that keeps the value finite (m an integer with at most p bits)."""
    f = F(fmt)
    k = draw(st.integers(f.emin - f.fbits if lo is None else lo, f.emax - m.bit_length() + 1 if hi is None else hi))
    return rounded(fmt, Fraction(m) * Fraction(2) ** k) | (f.sign_bit if draw(st.booleans()) else 0)


@st.composite
def odd_factor_pairs(draw, fmt):
    """(a, b) whose significands are odd integers of i and p + 2 - i bits: their product has p + 1 bits (an
    exact tie when rounded to p bits) or p + 2 bits (just above or below one).  Exponents keep the product
    mostly in range."""
    f = F(fmt)
    p = f.fbits + 1
    i = draw(st.integers(2, p))
    m = draw(st.integers(1 << (i - 2), (1 << (i - 1)) - 1)) * 2 + 1
    n = draw(st.integers(1 << (p - i), (1 << (p + 1 - i)) - 1)) * 2 + 1
    half = (f.emax - f.emin) // 2
    a = draw(_scaled(fmt, m, -half, half))
    b = draw(_scaled(fmt, n, f.emin - f.fbits + half // 2, f.emax - p - half // 2))
    return a, b


# ---------------------------------------------------------------------------------------------- mul/div

@lru_cache(maxsize=None)
@st.composite
def mul_pairs(draw, fmt):
    """(a, b) for mul: random pairs, and pairs whose exact product sits at the overflow threshold, the
    normal/subnormal boundary, half the smallest subnormal (ties into zero), is a tie or next to one (odd
    significands), or has the bits of a shifted onto the rounding point (b = 2^k (1 + 2^-j))."""
    f = F(fmt)
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(operands(fmt)), draw(operands(fmt))
    if kind == 4:
        return draw(odd_factor_pairs(fmt))
    a = draw(finites(fmt))
    ea = ((a >> f.fbits) & f.exp_all_ones) - f.bias
    if kind == 1:
        # exponent sum at a threshold: 2^(emax+1) (overflow), 2^emin (tininess), 2^(emin - fbits - 1)
        target = draw(st.sampled_from((f.emax, f.emax + 1, f.emin - 1, f.emin, f.emin - f.fbits - 1,
                                       f.emin - f.fbits - 2, f.emin - f.fbits)))
        k = target - ea
        b = pow2(fmt, max(min(k, f.emax), f.emin - f.fbits), draw(st.integers(0, 1)))
        b = make(fmt, b >> (f.width - 1), (b >> f.fbits) & f.exp_all_ones, draw(significands(fmt))) \
            if draw(st.booleans()) and (b >> f.fbits) & f.exp_all_ones else b
        return a, _tweak(draw, fmt, b)
    j = draw(st.integers(1, f.fbits))
    k = draw(st.integers(f.emin - f.fbits, f.emax - 1))
    b = rounded(fmt, Fraction(2) ** k * (1 + Fraction(1, 1 << j)))
    b |= f.sign_bit if draw(st.booleans()) else 0
    return a, _tweak(draw, fmt, b)


@lru_cache(maxsize=None)
@st.composite
def div_pairs(draw, fmt):
    """(a, b) for div: random pairs, divisions by powers of two into the subnormal range (ties there), and
    quotients at the overflow threshold."""
    f = F(fmt)
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(operands(fmt)), draw(operands(fmt))
    a = draw(finites(fmt))
    ea = ((a >> f.fbits) & f.exp_all_ones) - f.bias
    target = draw(st.sampled_from((f.emax + 1, f.emax, f.emin - 1, f.emin, f.emin - f.fbits - 1)))
    k = ea - target
    b = pow2(fmt, max(min(k, f.emax), f.emin - f.fbits), draw(st.integers(0, 1)))
    if kind == 2:
        b = next_down(fmt, b) if (b & ~f.sign_bit) > 1 else b
    return a, _tweak(draw, fmt, b)


# ---------------------------------------------------------------------------------------------- sqrt

@lru_cache(maxsize=None)
@st.composite
def sqrt_operands(draw, fmt):
    """Any operand, and exact squares (a root with at most half the precision) and their neighbours."""
    f = F(fmt)
    if draw(st.booleans()):
        return draw(operands(fmt))
    half = (f.fbits + 1) // 2
    m = draw(st.integers(1, (1 << half) - 1))
    k = draw(st.integers((f.emin - f.fbits) // 2, f.emax // 2 - half))
    root = Fraction(m) * Fraction(2) ** k
    return _tweak(draw, fmt, rounded(fmt, root * root))


# ---------------------------------------------------------------------------------------------- fma

@lru_cache(maxsize=None)
@st.composite
def fma_triples(draw, fmt):
    """(a, b, c): random triples; 0 * inf with any c (NaN included); products from mul_pairs (thresholds,
    ties) with any c, or with c cancelling the rounded product exactly or nearly (exact zeros, massive
    cancellation); an exact product (significands of at most p/2 bits) plus half an ulp of it (a tie) or
    just more or less; and c finite and random (usually a huge exponent difference)."""
    f = F(fmt)
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(operands(fmt)), draw(operands(fmt)), draw(operands(fmt))
    if kind == 1:                                     # 0 * inf + anything
        z = draw(st.sampled_from((0, f.sign_bit)))
        i = draw(st.sampled_from((f.inf, f.inf | f.sign_bit)))
        a, b = (z, i) if draw(st.booleans()) else (i, z)
        return a, b, draw(operands(fmt))
    if kind == 4:                                     # exact product + half an ulp
        short = (f.fbits + 1) // 2
        a = draw(_scaled(fmt, draw(st.integers(1, (1 << short) - 1)), -f.emax // 2, f.emax // 2 - short))
        b = draw(_scaled(fmt, draw(st.integers(1, (1 << short) - 1)), f.emin // 2, f.emax // 2 - short))
    else:
        a, b = draw(mul_pairs(fmt))
    if kind == 2:
        return a, b, draw(operands(fmt))
    pc, pd = R.decode(fmt, a), R.decode(fmt, b)
    if pc[2] is None or pd[2] is None or pc[2] * pd[2] == 0:
        return a, b, draw(operands(fmt))
    p = rounded(fmt, pc[2] * pd[2])
    if (p & ~f.sign_bit) >= f.inf:
        return a, b, draw(operands(fmt))
    sign = draw(st.integers(0, 1))
    if kind == 3:                                     # cancellation of the product
        return a, b, _tweak(draw, fmt, p ^ (f.sign_bit if sign == 0 else 0))
    if kind == 4:
        c = pow2(fmt, ulp_exp(fmt, p) - 1, sign)
        return a, b, (_tweak(draw, fmt, c) if c is not None else draw(operands(fmt)))
    return a, b, draw(finites(fmt))


# ---------------------------------------------------------------------------------------------- conversions

INT_BOUNDS = (0, 1, 1 << 31, 1 << 32, 1 << 63, 1 << 64)


@lru_cache(maxsize=None)
@st.composite
def to_int_operands(draw, fmt):
    """Operands of fcvt.w/wu/l/lu: any operand, and values next to the integer bounds (+-2^31, 2^32, +-2^63,
    2^64) and next to small integers: k, k +- 1/2, k +- 1/4, and their neighbouring patterns, negatives
    between -1 and 0 (in range for the unsigned conversions when they round to 0)."""
    if draw(st.booleans()):
        return draw(operands(fmt))
    base = draw(st.one_of(st.sampled_from(INT_BOUNDS), st.integers(0, 16)))
    off = draw(st.sampled_from((0, Fraction(1, 2), -Fraction(1, 2), Fraction(1, 4), -Fraction(1, 4),
                                Fraction(3, 4), -1, 1)))
    v = base + off
    if draw(st.booleans()):
        v = -v
    return _tweak(draw, fmt, rounded(fmt, v))


@lru_cache(maxsize=None)
@st.composite
def int_sources(draw, fmt):
    """x register values for fcvt.s/d.w/wu/l/lu: random, powers of two and their neighbours, values with a
    tie or near-tie at the format's precision p (2^k + 2^(k-p) (+ 2^(k-p+1)) +- 1), the extremes; random upper
    halves, which the W/WU conversions must ignore."""
    p = F(fmt).fbits + 1
    kind = draw(st.integers(0, 3))
    if kind == 0:
        v = draw(st.integers(0, (1 << 64) - 1))
    elif kind == 1:
        k = draw(st.integers(0, 63))
        v = (1 << k) + draw(st.integers(-2, 2))
    elif kind == 2:
        k = draw(st.one_of(st.integers(p, 31), st.integers(p, 63))) if p <= 31 else draw(st.integers(p, 63))
        v = (1 << k) | (1 << (k - p)) | draw(st.sampled_from((0, 1 << (k - p + 1))))
        v += draw(st.integers(-1, 1))
    else:
        v = draw(st.sampled_from((0, 1, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, (1 << 63) - 1, 1 << 63,
                                  (1 << 64) - 1)))
    v &= (1 << 64) - 1
    if draw(st.booleans()):               # junk in the upper half: the W forms read only bits 31:0
        v = (v & 0xFFFF_FFFF) | (draw(st.integers(0, (1 << 32) - 1)) << 32)
    return v


@lru_cache(maxsize=None)
@st.composite
def d_to_s_operands(draw):
    """Doubles for fcvt.s.d: any double, and doubles next to single's overflow threshold, its normal/subnormal
    boundary and smallest subnormal, and ties at single precision (the 29 bits below it 1000...)."""
    D, S = F(FMT_D), F(FMT_S)
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(operands(FMT_D))
    if kind == 1:
        sub = Fraction(2) ** (S.emin - S.fbits)      # single's smallest subnormal
        v = draw(st.sampled_from((S.max_finite_value, S.max_finite_value + Fraction(2) ** (S.emax - S.fbits - 1),
                                  S.min_normal_value, sub, sub / 2, sub * 3 / 2, Fraction(2) ** S.emax * 2)))
    else:
        s = R.decode(FMT_S, draw(finites(FMT_S)))[2]
        k = _ulp_of_value(S, s) - 1
        v = abs(s) + Fraction(2) ** k
    d = rounded(FMT_D, v) | (D.sign_bit if draw(st.booleans()) else 0)
    return _tweak(draw, FMT_D, d)


def _ulp_of_value(fmt_obj, v):
    if v == 0:
        return fmt_obj.emin - fmt_obj.fbits
    e = max(R._floor_log2(abs(v)), fmt_obj.emin)
    return e - fmt_obj.fbits


@lru_cache(maxsize=None)
@st.composite
def s_to_d_operands(draw):
    return draw(operands(FMT_S))
