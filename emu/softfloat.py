"""IEEE 754-2008 binary32/binary64 arithmetic in integers, as the F and D extensions define it.

API (all njit, the same source runs as plain Python):
  values are bit patterns in int64: a single's 32 bits in the low half (no NaN box here; emu/fpu.py
  boxes and unboxes), a double's 64 bits as a signed int64;
  fmt is FMT_S (0) or FMT_D (1), rm one of RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM (already resolved:
  never RM_DYN); flags are FFLAG_* bits (NX UF OF DZ NV) raised by this one operation.

  f_add(fmt, a, b, rm) f_sub(...) f_mul(...) f_div(...)   -> (bits, flags)
  f_sqrt(fmt, a, rm)                                      -> (bits, flags)
  f_fma(fmt, a, b, c, rm, neg_prod, neg_add)             -> (bits, flags)   (+-(a*b)) +- c, one rounding
  f_min(fmt, a, b) f_max(fmt, a, b)                        -> (bits, flags)
  f_eq(fmt, a, b) f_lt(...) f_le(...)                      -> (0 or 1, flags)
  f_class(fmt, a)                                          -> the fclass mask (10 bits)
  f_to_int(fmt, a, rm, is64, signed)                       -> (int64 value as the x register gets it, flags)
  int_to_f(fmt, v, rm, is64, signed)                       -> (bits, flags)
  f_to_f(to_fmt, a, rm)                                    -> (bits, flags)   (from the other format)
"""
from numba import njit

from emu.spec import (FMT_S, FFLAG_NX, FFLAG_UF, FFLAG_OF, FFLAG_DZ, FFLAG_NV,
                      RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, CANONICAL_NAN_S, CANONICAL_NAN_D)

# How (docs/architecture.md, "Floating point"): every operand is unpacked to an exact integer
# significand and a power of two, the operation is carried out exactly (or with the bits below the
# rounding point folded into one sticky bit, the LSB: "jamming"), and round_pack() rounds once, in
# the mode asked, and raises the flags the spec asks for.  All values stay below 2**63, so the
# same source gives the same bits as int64 in Numba and as Python ints in the plain-Python engine,
# and no shift is ever 64 or more.  Products of two 53-bit significands (mul, fma) are held in two
# 60-bit limbs (W = hi * 2**60 + lo).

INT64_MIN = -(1 << 63)
MAG64 = (1 << 63) - 1        # all but the sign bit of a double
LIMB = 60
LIMB_MASK = (1 << LIMB) - 1
SPLIT = 27                   # mul53: 53-bit significands in 27- and 26-bit halves
SPLIT_MASK = (1 << SPLIT) - 1

# fclass's bits (unprivileged spec, table 11.5)
CLASS_NEG_INF, CLASS_NEG_NORMAL, CLASS_NEG_SUBNORMAL, CLASS_NEG_ZERO = 1 << 0, 1 << 1, 1 << 2, 1 << 3
CLASS_POS_ZERO, CLASS_POS_SUBNORMAL, CLASS_POS_NORMAL, CLASS_POS_INF = 1 << 4, 1 << 5, 1 << 6, 1 << 7
CLASS_SNAN, CLASS_QNAN = 1 << 8, 1 << 9

# the kinds of operand unpack() tells apart
K_ZERO, K_FINITE, K_INF, K_QNAN, K_SNAN = 0, 1, 2, 3, 4


@njit(cache=True)
def fbits(fmt):
    """-> (exponent bits, fraction bits, bias) of binary32 (FMT_S) or binary64."""
    if fmt == FMT_S:
        return 8, 23, 127
    return 11, 52, 1023


@njit(cache=True)
def canonical_nan(fmt):
    return CANONICAL_NAN_S if fmt == FMT_S else CANONICAL_NAN_D


@njit(cache=True)
def bitlen(v):
    """The number of bits of v >= 0 (0 for 0), by halving: no shift of 64."""
    n = 0
    if v >= (1 << 32):
        v >>= 32
        n += 32
    if v >= (1 << 16):
        v >>= 16
        n += 16
    if v >= (1 << 8):
        v >>= 8
        n += 8
    if v >= (1 << 4):
        v >>= 4
        n += 4
    if v >= (1 << 2):
        v >>= 2
        n += 2
    if v >= 2:
        v >>= 1
        n += 1
    return n + v


@njit(cache=True)
def shr_jam(v, d):
    """v >> d with every bit shifted out ORed into the result's LSB (d >= 0, v >= 0)."""
    if d <= 0:
        return v
    if d >= 63:
        return 1 if v != 0 else 0
    r = v >> d
    if (v & ((1 << d) - 1)) != 0:
        r |= 1
    return r


@njit(cache=True)
def unpack(fmt, a):
    """-> (sign, kind K_*, sig, exp): a finite value is (-1)**sign * sig * 2**exp, sig normalised to
    53 bits (2**52 <= sig < 2**53) whatever the format, so that mul/div/sqrt/fma have one path."""
    eb, fb, bias = fbits(fmt)
    if fmt == FMT_S:
        a &= 0xFFFFFFFF
        sign = a >> 31
        mag = a & 0x7FFFFFFF
    else:
        sign = 1 if a < 0 else 0
        mag = a & MAG64
    e = mag >> fb
    frac = mag & ((1 << fb) - 1)
    if e == (1 << eb) - 1:
        if frac == 0:
            return sign, K_INF, 0, 0
        if (frac >> (fb - 1)) != 0:
            return sign, K_QNAN, 0, 0
        return sign, K_SNAN, 0, 0
    if e == 0:
        if frac == 0:
            return sign, K_ZERO, 0, 0
        sig = frac
        exp = 1 - bias - fb
    else:
        sig = frac | (1 << fb)
        exp = e - bias - fb
    s = 53 - bitlen(sig)
    return sign, K_FINITE, sig << s, exp - s


@njit(cache=True)
def pack(fmt, sign, e, frac):
    """The bits of (sign, biased exponent, fraction)."""
    _, fb, _ = fbits(fmt)
    v = (e << fb) | frac
    if sign != 0:
        if fmt == FMT_S:
            v |= 1 << 31
        else:
            v |= INT64_MIN
    return v


@njit(cache=True)
def infinity(fmt, sign):
    eb, fb, bias = fbits(fmt)
    return pack(fmt, sign, (1 << eb) - 1, 0)


@njit(cache=True)
def round_increment(rm, sign, odd, r, half):
    """1 when a magnitude with remainder r (half: the weight of half a unit) rounds up in mode rm."""
    if r == 0:
        return 0
    if rm == RM_RNE:
        return 1 if (r > half or (r == half and odd != 0)) else 0
    if rm == RM_RMM:
        return 1 if r >= half else 0
    if rm == RM_RDN:
        return 1 if sign != 0 else 0
    if rm == RM_RUP:
        return 1 if sign == 0 else 0
    return 0                                  # RTZ


@njit(cache=True)
def split_round(sig, shift, rm, sign):
    """sig / 2**shift rounded to an integer in mode rm -> (integer, inexact). shift > 0."""
    if shift >= 63:
        # sig < 2**63 <= half a unit: the integer part is 0, the remainder below half
        inc = round_increment(rm, sign, 0, 1, 2) if sig != 0 else 0
        return inc, 1 if sig != 0 else 0
    i = sig >> shift
    r = sig & ((1 << shift) - 1)
    inc = round_increment(rm, sign, i & 1, r, 1 << (shift - 1))
    return i + inc, 1 if r != 0 else 0


@njit(cache=True)
def round_pack(fmt, sign, exp, sig, rm):
    """Round (-1)**sign * sig * 2**exp (0 < sig < 2**63; an LSB that is a sticky bit needs two bits
    below the rounding point) to the format in mode rm -> (bits, flags).

    Tininess is detected after rounding (the RISC-V choice): a result is tiny when, rounded to the
    format's precision with an unbounded exponent, it is below the smallest normal; UF is raised
    when it is tiny and inexact."""
    eb, fb, bias = fbits(fmt)
    p = fb + 1
    emin = 1 - bias
    bl = bitlen(sig)
    e = exp + bl - 1                           # 2**e <= |value| < 2**(e+1)
    flags = 0
    tiny = False
    if e < emin:
        q = emin - fb                          # the subnormals' quantum
        shift_u = bl - p                       # rounding to p bits with an unbounded exponent
        if shift_u <= 0:
            tiny = True
        else:
            iu, _ = split_round(sig, shift_u, rm, sign)
            tiny = not (iu == (1 << p) and e == emin - 1)
    else:
        q = e - fb
    shift = q - exp
    if shift <= 0:
        i = sig << (-shift)                    # exact (fits: i < 2**p)
        inexact = 0
    else:
        i, inexact = split_round(sig, shift, rm, sign)
    if inexact != 0:
        flags |= FFLAG_NX
        if tiny:
            flags |= FFLAG_UF
    if i >= (1 << p):                          # the rounding carried into a new bit
        i >>= 1
        q += 1
    if i >= (1 << fb):                         # normal
        be = q + fb + bias
        if be >= (1 << eb) - 1:
            flags |= FFLAG_OF | FFLAG_NX
            if (rm == RM_RTZ or (rm == RM_RDN and sign == 0) or (rm == RM_RUP and sign != 0)):
                return pack(fmt, sign, (1 << eb) - 2, (1 << fb) - 1), flags   # the largest finite
            return infinity(fmt, sign), flags
        return pack(fmt, sign, be, i - (1 << fb)), flags
    return pack(fmt, sign, 0, i), flags      # subnormal or zero


@njit(cache=True)
def nan_operands(ka, kb):
    """-> (the result is a NaN, the NV flag) for a two-operand arithmetic operation."""
    nan = ka >= K_QNAN or kb >= K_QNAN
    return nan, (FFLAG_NV if (ka == K_SNAN or kb == K_SNAN) else 0)


@njit(cache=True)
def zero_sum_sign(rm):
    """The sign of an exact zero sum of opposite-signed operands: +0 but in RDN (IEEE 754 6.3)."""
    return 1 if rm == RM_RDN else 0


@njit(cache=True)
def add_finite(fmt, sa, siga, expa, sb, sigb, expb, rm):
    """Round sa*siga*2**expa + sb*sigb*2**expb (both nonzero, 53-bit significands)."""
    # the operand with the larger top exponent is A: its top bit goes to bit 60, B aligned to it
    if expb > expa or (expb == expa and sigb > siga):
        sa, siga, expa, sb, sigb, expb = sb, sigb, expb, sa, siga, expa
    siga <<= 8                                 # 53 bits -> top bit at 60: 8 guard bits
    expa -= 8
    d = expa - expb
    if d >= 0:
        sigb = shr_jam(sigb, d)
    else:
        sigb <<= -d                            # B's top is not above A's: stays below 2**61
    if sa == sb:
        return round_pack(fmt, sa, expa, siga + sigb, rm)
    diff = siga - sigb
    if diff == 0:
        return pack(fmt, zero_sum_sign(rm), 0, 0), 0
    if diff < 0:
        return round_pack(fmt, sb, expa, -diff, rm)
    return round_pack(fmt, sa, expa, diff, rm)


@njit(cache=True)
def f_add(fmt, a, b, rm):
    sa, ka, siga, expa = unpack(fmt, a)
    sb, kb, sigb, expb = unpack(fmt, b)
    nan, nv = nan_operands(ka, kb)
    if nan:
        return canonical_nan(fmt), nv
    if ka == K_INF:
        if kb == K_INF and sa != sb:
            return canonical_nan(fmt), FFLAG_NV          # inf - inf
        return infinity(fmt, sa), 0
    if kb == K_INF:
        return infinity(fmt, sb), 0
    if ka == K_ZERO:
        if kb == K_ZERO:
            return pack(fmt, sa if sa == sb else zero_sum_sign(rm), 0, 0), 0
        return b, 0
    if kb == K_ZERO:
        return a, 0
    return add_finite(fmt, sa, siga, expa, sb, sigb, expb, rm)


@njit(cache=True)
def negate(fmt, b):
    if fmt == FMT_S:
        return b ^ (1 << 31)
    return b ^ INT64_MIN


@njit(cache=True)
def f_sub(fmt, a, b, rm):
    # a - b is a + (-b) exactly, NaNs included (the result of any NaN is the canonical NaN)
    return f_add(fmt, a, negate(fmt, b), rm)


@njit(cache=True)
def mul53(a, b):
    """The exact product of two 53-bit significands as limbs (hi, lo): hi * 2**60 + lo."""
    a1 = a >> SPLIT
    a0 = a & SPLIT_MASK
    b1 = b >> SPLIT
    b0 = b & SPLIT_MASK
    mid = a1 * b0 + a0 * b1                    # < 2**54
    lo = a0 * b0 + ((mid & SPLIT_MASK) << SPLIT)        # < 2**55
    hi = a1 * b1 + (mid >> SPLIT) + (lo >> 54)          # the product is hi * 2**54 + (lo mod 2**54)
    lo &= (1 << 54) - 1
    return hi >> 6, lo | ((hi & 63) << 54)


@njit(cache=True)
def wide_shr_jam(hi, lo, d):
    """(hi * 2**60 + lo) >> d, the bits shifted out ORed into the LSB."""
    if d <= 0:
        return hi, lo
    if d < LIMB:
        sticky = 1 if (lo & ((1 << d) - 1)) != 0 else 0
        lo = (lo >> d) | ((hi & ((1 << d) - 1)) << (LIMB - d)) | sticky
        return hi >> d, lo
    if d < 2 * LIMB:
        d -= LIMB
        sticky = 1 if (lo != 0 or (hi & ((1 << d) - 1)) != 0) else 0
        return 0, (hi >> d) | sticky
    return 0, 1 if (hi != 0 or lo != 0) else 0


@njit(cache=True)
def wide_shl(hi, lo, d):
    """(hi * 2**60 + lo) << d for 0 <= d < 60 (the caller knows it fits)."""
    if d <= 0:
        return hi, lo
    return (hi << d) | (lo >> (LIMB - d)), (lo << d) & LIMB_MASK


@njit(cache=True)
def wide_bitlen(hi, lo):
    if hi != 0:
        return LIMB + bitlen(hi)
    return bitlen(lo)


@njit(cache=True)
def wide_round_pack(fmt, sign, exp, hi, lo, rm):
    """round_pack of (hi * 2**60 + lo) * 2**exp, nonzero."""
    n = wide_bitlen(hi, lo)
    if n > 62:
        hi, lo = wide_shr_jam(hi, lo, n - 62)
        exp += n - 62
    return round_pack(fmt, sign, exp, (hi << LIMB) | lo, rm)


@njit(cache=True)
def f_mul(fmt, a, b, rm):
    sa, ka, siga, expa = unpack(fmt, a)
    sb, kb, sigb, expb = unpack(fmt, b)
    nan, nv = nan_operands(ka, kb)
    if nan:
        return canonical_nan(fmt), nv
    s = sa ^ sb
    if ka == K_INF or kb == K_INF:
        if ka == K_ZERO or kb == K_ZERO:
            return canonical_nan(fmt), FFLAG_NV          # inf * 0
        return infinity(fmt, s), 0
    if ka == K_ZERO or kb == K_ZERO:
        return pack(fmt, s, 0, 0), 0
    hi, lo = mul53(siga, sigb)
    return wide_round_pack(fmt, s, expa + expb, hi, lo, rm)


@njit(cache=True)
def f_div(fmt, a, b, rm):
    sa, ka, siga, expa = unpack(fmt, a)
    sb, kb, sigb, expb = unpack(fmt, b)
    nan, nv = nan_operands(ka, kb)
    if nan:
        return canonical_nan(fmt), nv
    s = sa ^ sb
    if ka == K_INF:
        if kb == K_INF:
            return canonical_nan(fmt), FFLAG_NV          # inf / inf
        return infinity(fmt, s), 0
    if kb == K_INF:
        return pack(fmt, s, 0, 0), 0
    if kb == K_ZERO:
        if ka == K_ZERO:
            return canonical_nan(fmt), FFLAG_NV          # 0 / 0
        return infinity(fmt, s), FFLAG_DZ
    if ka == K_ZERO:
        return pack(fmt, s, 0, 0), 0
    # long division, 10 quotient bits a step: the remainder stays below sigb < 2**53
    q = siga // sigb
    r = siga - q * sigb
    for _ in range(6):
        r <<= 10
        d = r // sigb
        q = (q << 10) | d
        r -= d * sigb
    if r != 0:
        q |= 1                                  # sticky: q has 60 or 61 bits
    return round_pack(fmt, s, expa - expb - 60, q, rm)


@njit(cache=True)
def f_sqrt(fmt, a, rm):
    sa, ka, sig, exp = unpack(fmt, a)
    if ka >= K_QNAN:
        return canonical_nan(fmt), (FFLAG_NV if ka == K_SNAN else 0)
    if ka == K_ZERO:
        return a, 0                             # sqrt(+-0) = +-0
    if sa != 0:
        return canonical_nan(fmt), FFLAG_NV     # a negative number (or -inf)
    if ka == K_INF:
        return a, 0
    if (exp & 1) != 0:                          # an even exponent: the root's is exp / 2
        sig <<= 1
        exp -= 1
    # digit by digit: the radicand is sig (53 or 54 bits, read as 27 pairs of bits) followed by
    # 31 pairs of zeros, so the root has 58 bits; the remainder stays below 2 * root + 1
    root = 0
    rem = 0
    for i in range(58):
        pair = (sig >> (52 - 2 * i)) & 3 if i < 27 else 0
        rem = (rem << 2) | pair
        trial = (root << 2) | 1
        if rem >= trial:
            rem -= trial
            root = (root << 1) | 1
        else:
            root <<= 1
    if rem != 0:
        root |= 1
    # sig = radicand / 2**62 (54 bits + 62 zero bits = 116 bits = 58 pairs), so sqrt(sig) = root / 2**31
    return round_pack(fmt, 0, (exp >> 1) - 31, root, rm)


@njit(cache=True)
def f_fma(fmt, a, b, c, rm, neg_prod, neg_add):
    """(+-(a*b)) +- c with one rounding: fmadd (0, 0), fmsub (0, 1), fnmsub (1, 0), fnmadd (1, 1)."""
    sa, ka, siga, expa = unpack(fmt, a)
    sb, kb, sigb, expb = unpack(fmt, b)
    sc, kc, sigc, expc = unpack(fmt, c)
    sp = sa ^ sb ^ neg_prod
    sc ^= neg_add
    inf_times_zero = (ka == K_INF and kb == K_ZERO) or (ka == K_ZERO and kb == K_INF)
    if ka >= K_QNAN or kb >= K_QNAN or kc >= K_QNAN:
        nv = FFLAG_NV if (ka == K_SNAN or kb == K_SNAN or kc == K_SNAN or inf_times_zero) else 0
        return canonical_nan(fmt), nv
    if inf_times_zero:
        return canonical_nan(fmt), FFLAG_NV
    if ka == K_INF or kb == K_INF:
        if kc == K_INF and sc != sp:
            return canonical_nan(fmt), FFLAG_NV          # inf - inf
        return infinity(fmt, sp), 0
    if kc == K_INF:
        return infinity(fmt, sc), 0
    if ka == K_ZERO or kb == K_ZERO:
        if kc == K_ZERO:
            return pack(fmt, sp if sp == sc else zero_sum_sign(rm), 0, 0), 0
        return (negate(fmt, c) if neg_add != 0 else c), 0      # 0 + c is c exactly
    phi, plo = mul53(siga, sigb)                # in [2**104, 2**106): its top bit to bit 115
    pn = wide_bitlen(phi, plo)
    phi, plo = wide_shl(phi, plo, 116 - pn)
    pexp = expa + expb - (116 - pn)
    if kc == K_ZERO:
        return wide_round_pack(fmt, sp, pexp, phi, plo, rm)
    chi = sigc << 3                             # c's top bit at 115 too: sigc * 2**63 = (sigc << 3) * 2**60
    clo = 0
    cexp = expc - 63
    # the larger magnitude first, the other aligned to its scale (bits shifted out jammed)
    if cexp > pexp or (cexp == pexp and (chi > phi or (chi == phi and clo > plo))):
        sp, phi, plo, pexp, sc, chi, clo, cexp = sc, chi, clo, cexp, sp, phi, plo, pexp
    chi, clo = wide_shr_jam(chi, clo, pexp - cexp)
    if sp == sc:
        lo = plo + clo
        hi = phi + chi + (lo >> LIMB)
        return wide_round_pack(fmt, sp, pexp, hi, lo & LIMB_MASK, rm)
    hi = phi - chi
    lo = plo - clo
    if lo < 0:
        lo += 1 << LIMB
        hi -= 1
    if hi == 0 and lo == 0:
        return pack(fmt, zero_sum_sign(rm), 0, 0), 0
    return wide_round_pack(fmt, sp, pexp, hi, lo, rm)


@njit(cache=True)
def order_key(fmt, a, zeros_equal):
    """An integer that orders non-NaN values as their numbers do (-0 below +0 unless zeros_equal)."""
    if fmt == FMT_S:
        a &= 0xFFFFFFFF
        mag = a & 0x7FFFFFFF
        neg = (a >> 31) != 0
    else:
        mag = a & MAG64
        neg = a < 0
    if not neg:
        return mag
    if zeros_equal:
        return -mag
    return -mag - 1


@njit(cache=True)
def min_max(fmt, a, b, want_max):
    """fmin/fmax (the 2019 semantics, IEEE 754-2019 minimumNumber/maximumNumber): -0 < +0, a
    single NaN operand gives the other operand, two give the canonical NaN; sNaN raises NV."""
    sa, ka, _, _ = unpack(fmt, a)
    sb, kb, _, _ = unpack(fmt, b)
    nv = FFLAG_NV if (ka == K_SNAN or kb == K_SNAN) else 0
    if ka >= K_QNAN:
        if kb >= K_QNAN:
            return canonical_nan(fmt), nv
        return b, nv
    if kb >= K_QNAN:
        return a, nv
    ka_ = order_key(fmt, a, False)
    kb_ = order_key(fmt, b, False)
    if want_max:
        return (a if ka_ >= kb_ else b), 0
    return (a if ka_ <= kb_ else b), 0


@njit(cache=True)
def f_min(fmt, a, b):
    return min_max(fmt, a, b, False)


@njit(cache=True)
def f_max(fmt, a, b):
    return min_max(fmt, a, b, True)


@njit(cache=True)
def f_eq(fmt, a, b):
    """feq: a quiet comparison (NV only for a signalling NaN)."""
    _, ka, _, _ = unpack(fmt, a)
    _, kb, _, _ = unpack(fmt, b)
    if ka >= K_QNAN or kb >= K_QNAN:
        return 0, (FFLAG_NV if (ka == K_SNAN or kb == K_SNAN) else 0)
    return (1 if order_key(fmt, a, True) == order_key(fmt, b, True) else 0), 0


@njit(cache=True)
def f_lt(fmt, a, b):
    """flt: a signalling comparison (NV for any NaN)."""
    _, ka, _, _ = unpack(fmt, a)
    _, kb, _, _ = unpack(fmt, b)
    if ka >= K_QNAN or kb >= K_QNAN:
        return 0, FFLAG_NV
    return (1 if order_key(fmt, a, True) < order_key(fmt, b, True) else 0), 0


@njit(cache=True)
def f_le(fmt, a, b):
    """fle: a signalling comparison (NV for any NaN)."""
    _, ka, _, _ = unpack(fmt, a)
    _, kb, _, _ = unpack(fmt, b)
    if ka >= K_QNAN or kb >= K_QNAN:
        return 0, FFLAG_NV
    return (1 if order_key(fmt, a, True) <= order_key(fmt, b, True) else 0), 0


@njit(cache=True)
def f_class(fmt, a):
    """fclass: one bit of the 10 says what a is."""
    _, fb, _ = fbits(fmt)
    sign, k, _, _ = unpack(fmt, a)
    if k == K_QNAN:
        return CLASS_QNAN
    if k == K_SNAN:
        return CLASS_SNAN
    if k == K_INF:
        return CLASS_NEG_INF if sign != 0 else CLASS_POS_INF
    if k == K_ZERO:
        return CLASS_NEG_ZERO if sign != 0 else CLASS_POS_ZERO
    mag = (a & 0x7FFFFFFF) if fmt == FMT_S else (a & MAG64)
    if (mag >> fb) == 0:
        return CLASS_NEG_SUBNORMAL if sign != 0 else CLASS_POS_SUBNORMAL
    return CLASS_NEG_NORMAL if sign != 0 else CLASS_POS_NORMAL


@njit(cache=True)
def f_to_int(fmt, a, rm, is64, signed):
    """fcvt.w/wu/l/lu: round to an integer in mode rm.  NaN, the infinities and values out of range
    give the saturated value of the spec's table 11.4 and NV; NX is raised for an in-range inexact
    result only.  A 32-bit result is sign-extended to 64 bits (fcvt.wu's too), as x registers hold it."""
    sign, k, sig, exp = unpack(fmt, a)
    bits = 64 if is64 else 32
    if signed:
        pos_max = (1 << (bits - 1)) - 1
        neg_min = -(1 << (bits - 1))
    else:
        pos_max = -1                                # 2**bits - 1, sign-extended
        neg_min = 0
    if k >= K_QNAN:
        return pos_max, FFLAG_NV
    if k == K_INF:
        return (neg_min if sign != 0 else pos_max), FFLAG_NV
    if k == K_ZERO:
        return 0, 0
    inexact = 0
    if exp >= 0:
        n = 53 + exp                                # an exact integer of n bits
        power_of_two = sig == (1 << 52)
    else:
        mag, inexact = split_round(sig, -exp, rm, sign)
        n = bitlen(mag)
        power_of_two = mag != 0 and mag == (1 << (n - 1))
    flags = FFLAG_NX if inexact != 0 else 0
    if n == 0:
        return 0, flags                             # rounded to zero (-0.3 to an unsigned is 0 too)
    if sign != 0:
        if not signed:
            return 0, FFLAG_NV
        if n < bits:
            return -(sig << exp if exp >= 0 else mag), flags
        if n == bits and power_of_two:
            return neg_min, flags                   # -2**(bits-1), the one magnitude of n bits
        return neg_min, FFLAG_NV
    if n > (bits if not signed else bits - 1):
        return pos_max, FFLAG_NV
    if n == 64:
        # an unsigned 64-bit result of 2**63 or more, wrapped to int64 without overflow on the way
        half = sig << (exp - 1)                     # mag / 2, in [2**62, 2**63)
        return (half - (1 << 62)) * 2 + INT64_MIN, flags
    mag = sig << exp if exp >= 0 else mag
    if not is64:
        return ((mag & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000, flags
    return mag, flags


@njit(cache=True)
def int_to_f(fmt, v, rm, is64, signed):
    """fcvt.s/d.w/wu/l/lu: the integer in x (its low 32 bits for w/wu), rounded in mode rm."""
    if not is64:
        v = (((v & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) if signed else (v & 0xFFFFFFFF)
    if v == 0:
        return 0, 0
    sign = 0
    exp = 0
    if v < 0:
        if signed:
            sign = 1
            if v == INT64_MIN:
                return round_pack(fmt, 1, 63, 1, rm)
            v = -v
        else:
            # an unsigned 2**63 or more: halve it, the lost bit jammed (it is far below the rounding point)
            v = ((v >> 1) & MAG64) | (v & 1)
            exp = 1
    return round_pack(fmt, sign, exp, v, rm)


@njit(cache=True)
def f_to_f(to_fmt, a, rm):
    """fcvt.s.d (rounds) and fcvt.d.s (exact): a is in the other format."""
    from_fmt = 1 - to_fmt
    sign, k, sig, exp = unpack(from_fmt, a)
    if k >= K_QNAN:
        return canonical_nan(to_fmt), (FFLAG_NV if k == K_SNAN else 0)
    if k == K_INF:
        return infinity(to_fmt, sign), 0
    if k == K_ZERO:
        return pack(to_fmt, sign, 0, 0), 0
    return round_pack(to_fmt, sign, exp, sig, rm)
