#!/usr/bin/env python3
"""Generate the F/D guest programs: tests/guest/isa/fp_s.S, fp_d.S, fp_loops.S, fp_rm.S and priv/fp_off.S.

    .venv/bin/python tests/guest/gen/gen_fp.py      # rewrites the five .S files (then tests/guest/build.sh)

fp_s.S / fp_d.S: every F / D computational instruction on its edge cases, each case with its expected
result (the whole 64-bit f register, so NaN-boxing is checked too) and its expected fflags written into the
program.  The special cases (NaNs, infinities, zeros, saturation, the canonical NaN, NV/DZ/OF) carry
expectations written here by hand from the spec (unprivileged spec ch. 11-12, IEEE 754-2008); the rounding
probes (every rounding mode, static and dynamic) take theirs from tests/fpref.py, the exact Fraction model,
and the hand-written ones are checked against it too.  tests/guest/build.sh --check then runs every program
under qemu-system-riscv64 -M spike (QEMU's softfloat), a second, independent reference.

fp_loops.S: the same instructions in loops without CSR accesses (native regions compile those), each loop's
results and accrued flags compared after it.

fp_rm.S: reserved rounding modes: rm = 5 or 6 in the instruction, rm = 7 (dyn) with frm = 5, 6 or 7, for every
instruction that has an rm field: illegal instruction, mtval = the instruction, nothing written; the
instructions without an rm field ignore an invalid frm; reserved encodings in the FP opcode space.

priv/fp_off.S: with mstatus.FS = Off every FP instruction (and c.fld/c.fsd/c.fldsp/c.fsdsp) and every
access to fflags/frm/fcsr is an illegal instruction, mtval = the instruction, also when the address of an FP
load or store is unmapped (illegal instruction comes before page faults).

All five use common/fp_test.h: the checks run in M, S and U mode, without and with Sv39.
"""
import os
import struct
import sys
from fractions import Fraction

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import fpref as R  # noqa: E402
from emu.spec import (FMT_S, FMT_D, RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM,  # noqa: E402
                      FFLAG_NX, FFLAG_UF, FFLAG_OF, FFLAG_DZ, FFLAG_NV)

GUEST = os.path.join(ROOT, "tests", "guest")
M64 = (1 << 64) - 1
BOX = 0xFFFFFFFF00000000
RMS = (RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM)
RM_NAME = {RM_RNE: "rne", RM_RTZ: "rtz", RM_RDN: "rdn", RM_RUP: "rup", RM_RMM: "rmm"}
FLAG_NAME = [(FFLAG_NV, "NV"), (FFLAG_DZ, "DZ"), (FFLAG_OF, "OF"), (FFLAG_UF, "UF"), (FFLAG_NX, "NX")]
NX, UF, OF, DZ, NV = FFLAG_NX, FFLAG_UF, FFLAG_OF, FFLAG_DZ, FFLAG_NV


def flags_str(f):
    return "|".join(f"FFLAG_{n}" for b, n in FLAG_NAME if f & b) or "0"


class Fmt:
    """One format's constants (bit patterns of the format, not yet boxed)."""

    def __init__(self, fmt):
        self.fmt = fmt
        self.s = "s" if fmt == FMT_S else "d"
        self.w = 32 if fmt == FMT_S else 64
        F = R.FORMATS[fmt]
        self.F = F
        self.sign = F.sign_bit
        self.pz, self.nz = 0, F.sign_bit
        self.inf, self.ninf = F.inf, F.inf | F.sign_bit
        self.qnan = F.canonical_nan
        self.nqnan = F.canonical_nan | F.sign_bit
        self.qnan_p = F.canonical_nan | 0x12345                  # a quiet NaN with a payload
        self.snan = F.inf | 1
        self.nsnan = F.inf | 1 | F.sign_bit
        self.snan_p = F.inf | (F.quiet_bit >> 1)                 # a signalling NaN with another payload
        self.minsub, self.maxsub = 1, F.max_subnormal
        self.minnorm, self.maxfin = F.min_normal, F.max_finite
        self.one = F.one

    def v(self, x):
        """The bits of a Python float (or Fraction) the format holds exactly."""
        if isinstance(x, Fraction):
            return R.encode_exact(self.fmt, x)
        if self.fmt == FMT_S:
            b = struct.unpack("<I", struct.pack("<f", x))[0]
            assert struct.unpack("<f", struct.pack("<I", b))[0] == x, x
            return b
        return struct.unpack("<Q", struct.pack("<d", x))[0]

    def near(self, x):
        """The bits of the format's value nearest to a Python float (0.1, 1/3 in single precision)."""
        if self.fmt == FMT_S:
            return struct.unpack("<I", struct.pack("<f", x))[0]
        return self.v(x)

    def neg(self, b):
        return b ^ self.sign

    def ulp1(self, k=1):
        """1 + k ulps."""
        return self.one + k

    def pow2(self, e):
        return R.encode_exact(self.fmt, Fraction(2) ** e)

    def reg(self, b):
        """The f register holding the value: a single NaN-boxed."""
        return (b | BOX) if self.fmt == FMT_S else b


S, D = Fmt(FMT_S), Fmt(FMT_D)


class Program:
    def __init__(self, path, title, header_lines, fs=None):
        self.path = path
        self.title = title
        self.header = header_lines
        self.fs = fs
        self.lines = []
        self.n = 0

    def num(self):
        self.n += 1
        if self.n % 256 == 0:           # QEMU's exit status is the code's low 8 bits: never 0
            self.n += 1
        assert self.n < 2047
        return self.n

    def section(self, text):
        self.lines.append("")
        self.lines.append(f"    # ---- {text}")

    def raw(self, *lines):
        self.lines.extend("    " + ln for ln in lines)

    def case(self, operands, code, result, flags, xres=False, comment="", pre=()):
        """One case.  operands: (kind, value) loaded in order into f0, f1, f2 (kind "w": a single's 32 bits,
        flw; "f": a 64-bit f register, fld) or x1, x2 (kind "x", ld); `pre` runs before the loads, `code`
        after them, leaving the result in f3 (or x14 when xres); then fp_check compares it and fflags."""
        n = self.num()
        if comment:
            self.lines.append(f"    # {comment}")
        if any(k != "w" for k, _ in operands):
            operands = [("f", v | BOX) if k == "w" else (k, v) for k, v in operands]
        size = 4 if operands and all(k == "w" for k, _ in operands) else 8
        self.lines.append(f"    FP_CASE_BEGIN({n})")
        self.lines.extend(f"    {ln}" for ln in pre)
        nf = nx = 0
        for i, (k, _) in enumerate(operands):
            off = 16 + size * i
            if k == "x":
                nx += 1
                self.lines.append(f"    ld x{nx}, {off}(a0)")
            else:
                self.lines.append(f"    {'flw' if k == 'w' else 'fld'} f{nf}, {off}(a0)")
                nf += 1
        self.lines.extend(f"    {ln}" for ln in code)
        self.lines.append("    FP_CHECK_X" if xres else "    FP_CHECK_F")
        ops = ", ".join(f"0x{v & ((1 << (8 * size)) - 1):0{2 * size}x}" for _, v in operands) or "0"
        self.lines.append(f"    FP_DATA_{'D' if size == 8 else 'W'}(0x{result & M64:016x}, {flags_str(flags)}, {ops})")
        return n

    def write(self):
        out = [f"# {self.title}", "# GENERATED by tests/guest/gen/gen_fp.py -- do not edit by hand."]
        out += [f"# {h}" if h else "#" for h in self.header]
        out += ["# Exit code: see common/fp_test.h (the case number + 2048 * the configuration), 0 = all passed."]
        if self.fs is not None:
            out.append(f"#define FP_FS {self.fs}")
        out += ['#include "fp_test.h"', "", "FP_MAIN", "", "FP_BODY_BEGIN"]
        out += self.lines
        out += ["", "FP_BODY_END", ""]
        with open(self.path, "w") as f:
            f.write("\n".join(out))
        print(f"{os.path.relpath(self.path, ROOT)}: {self.n} cases")


def rm_suffix(rm):
    return "dyn" if rm == "dyn" else RM_NAME[rm]


# the exact conversions binutils 2.40 accepts only without an rm operand (it encodes rm = 0): their rm field
# still exists (and must not be 5 or 6), so other modes are written with .insn: name -> (funct7, rs2)
EXACT_CVT = {"fcvt.d.s": (0x21, 0), "fcvt.d.w": (0x69, 0), "fcvt.d.wu": (0x69, 1)}
RM_NUM = {"rne": 0, "rtz": 1, "rdn": 2, "rup": 3, "rmm": 4, "dyn": 7}


def insn(name, rd, rs1, rm):
    """The text of an OP-FP instruction with rounding mode rm (a name)."""
    if name in EXACT_CVT:
        f7, rs2 = EXACT_CVT[name]
        return f".insn r 0x53, {RM_NUM[rm]}, 0x{f7:02x}, {rd}, {rs1}, x{rs2}"
    return f"{name} {rd}, {rs1}, {rm}"


def check(name, got, want):
    """A hand-written expectation must agree with the reference model."""
    if want is not None and got != want:
        raise AssertionError(f"{name}: fpref gives {got[0]:#x} {flags_str(got[1])}, hand-written "
                             f"{want[0]:#x} {flags_str(want[1])}")


def fops(f, raw, *vals):
    """Operands of format f: a single's bits (flw boxes them), or 64-bit registers (raw, and doubles)."""
    if f.fmt == FMT_S and not raw:
        return [("w", v) for v in vals]
    return [("f", v) for v in vals]


# ------------------------------------------------------------------------------------------------------------
# the operations
def ref_unbox(f, reg):
    """The operand an f register gives an instruction of format f (spec 12.2: an improperly boxed single is the
    canonical NaN)."""
    if f.fmt == FMT_S:
        return reg & 0xFFFFFFFF if (reg >> 32) == 0xFFFFFFFF else f.qnan
    return reg


def gen_binop(p, f, op, a, b, rms=(RM_RNE,), want=None, dyn=False, raw=False, comment=""):
    """op in add sub mul div: f3 = f0 op f1.  a, b are format bit patterns (raw=True: 64-bit registers)."""
    ra, rb = (a, b) if raw else (f.reg(a), f.reg(b))
    fn = getattr(R, op)
    for rm in rms:
        res, fl = fn(f.fmt, ref_unbox(f, ra), ref_unbox(f, rb), rm)
        w = want(rm) if callable(want) else want
        check(f"f{op}.{f.s} {a:#x} {b:#x} {RM_NAME[rm]}", (res, fl), w)
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case(fops(f, raw, a, b), [f"f{op}.{f.s} f3, f0, f1, {rm_suffix(mode)}"], f.reg(res), fl,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


def gen_sqrt(p, f, a, rms=(RM_RNE,), want=None, dyn=False, raw=False, comment=""):
    ra = a if raw else f.reg(a)
    for rm in rms:
        res, fl = R.sqrt(f.fmt, ref_unbox(f, ra), rm)
        w = want(rm) if callable(want) else want
        check(f"fsqrt.{f.s} {a:#x} {RM_NAME[rm]}", (res, fl), w)
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case(fops(f, raw, a), [f"fsqrt.{f.s} f3, f0, {rm_suffix(mode)}"], f.reg(res), fl,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


FMA = {"fmadd": (0, 0), "fmsub": (0, 1), "fnmsub": (1, 0), "fnmadd": (1, 1)}


def gen_fma(p, f, op, a, b, c, rms=(RM_RNE,), want=None, dyn=False, comment=""):
    np_, na = FMA[op]
    for rm in rms:
        res, fl = R.fma(f.fmt, a, b, c, rm, np_, na)
        w = want(rm) if callable(want) else want
        check(f"{op}.{f.s} {a:#x} {b:#x} {c:#x} {RM_NAME[rm]}", (res, fl), w)
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case(fops(f, False, a, b, c), [f"{op}.{f.s} f3, f0, f1, f2, {rm_suffix(mode)}"], f.reg(res), fl,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


def gen_minmax(p, f, op, a, b, want, raw=False):
    ra, rb = (a, b) if raw else (f.reg(a), f.reg(b))
    res, fl = getattr(R, op)(f.fmt, ref_unbox(f, ra), ref_unbox(f, rb))
    check(f"{op}.{f.s} {a:#x} {b:#x}", (res, fl), want)
    p.case(fops(f, raw, a, b), [f"{op}.{f.s} f3, f0, f1"], f.reg(res), fl)


def gen_cmp(p, f, a, b, want_eq, want_lt, want_le, raw=False):
    ra, rb = (a, b) if raw else (f.reg(a), f.reg(b))
    for op, want in (("feq", want_eq), ("flt", want_lt), ("fle", want_le)):
        res, fl = getattr(R, op)(f.fmt, ref_unbox(f, ra), ref_unbox(f, rb))
        check(f"{op}.{f.s} {a:#x} {b:#x}", (res, fl), want)
        p.case(fops(f, raw, a, b), [f"{op}.{f.s} x14, f0, f1"], res, fl, xres=True, pre=["li x14, -1"])


def gen_sgnj(p, f, a, b, raw=False):
    """fsgnj/fsgnjn/fsgnjx: the bits of a (after unboxing) with a sign from b; never a flag, NaNs kept."""
    ra, rb = (a, b) if raw else (f.reg(a), f.reg(b))
    ua, ub = ref_unbox(f, ra), ref_unbox(f, rb)
    sa, sb = ua & f.sign, ub & f.sign
    mag = ua & ~f.sign & ((1 << f.w) - 1)
    for op, s in (("fsgnj", sb), ("fsgnjn", sb ^ f.sign), ("fsgnjx", sa ^ sb)):
        p.case(fops(f, raw, a, b), [f"{op}.{f.s} f3, f0, f1"], f.reg(mag | s), 0)


def gen_class(p, f, a, want, raw=False):
    ra = a if raw else f.reg(a)
    res = R.fclass(f.fmt, ref_unbox(f, ra))
    assert res == want, (hex(a), res, want)
    p.case(fops(f, raw, a), [f"fclass.{f.s} x14, f0"], res, 0, xres=True)


INTS = {"w": (False, True), "wu": (False, False), "l": (True, True), "lu": (True, False)}


def gen_f2i(p, f, it, a, rms=(RM_RNE,), want=None, dyn=False, raw=False, comment=""):
    ra = a if raw else f.reg(a)
    is64, signed = INTS[it]
    for rm in rms:
        res, fl = R.f_to_int(f.fmt, ref_unbox(f, ra), rm, is64, signed)
        w = want(rm) if callable(want) else want
        check(f"fcvt.{it}.{f.s} {a:#x} {RM_NAME[rm]}", (res & M64, fl), None if w is None else (w[0] & M64, w[1]))
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case(fops(f, raw, a), [f"fcvt.{it}.{f.s} x14, f0, {rm_suffix(mode)}"], res, fl, xres=True,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


def gen_i2f(p, f, it, x, rms=(RM_RNE,), want=None, dyn=False, comment=""):
    is64, signed = INTS[it]
    for rm in rms:
        res, fl = R.int_to_f(f.fmt, x, rm, is64, signed)
        w = want(rm) if callable(want) else want
        check(f"fcvt.{f.s}.{it} {x:#x} {RM_NAME[rm]}", (res, fl), w)
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case([("x", x)], [insn(f"fcvt.{f.s}.{it}", "f3", "x1", rm_suffix(mode))], f.reg(res), fl,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


def gen_f2f(p, to, a, rms=(RM_RNE,), want=None, dyn=False, raw=False, comment=""):
    """fcvt.s.d (to = S) or fcvt.d.s (to = D); a is in the other format."""
    frm = D if to is S else S
    ra = a if raw else frm.reg(a)
    for rm in rms:
        res, fl = R.f_to_f(to.fmt, ref_unbox(frm, ra), rm)
        w = want(rm) if callable(want) else want
        check(f"fcvt.{to.s}.{frm.s} {a:#x} {RM_NAME[rm]}", (res, fl), w)
        for mode in (rm, "dyn") if dyn else (rm,):
            pre = [f"csrwi frm, {rm}"] if mode == "dyn" else []
            p.case(fops(frm, raw, a), [insn(f"fcvt.{to.s}.{frm.s}", "f3", "f0", rm_suffix(mode))], to.reg(res), fl,
                   comment=comment if mode == rm and rm == rms[0] else "", pre=pre)


def by_rm(**kw):
    """An expectation per rounding mode: by_rm(rne=(bits, flags), ...)."""
    table = {getattr(sys.modules[__name__], "RM_" + k.upper()): v for k, v in kw.items()}
    return lambda rm: table.get(rm)


def overflow(f, sign):
    """The overflow result per rounding mode (spec/IEEE 7.4) with OF|NX."""
    big, inf = f.maxfin | sign, f.inf | sign
    return by_rm(rne=(inf, OF | NX), rmm=(inf, OF | NX), rtz=(big, OF | NX),
                 rdn=(inf if sign else big, OF | NX), rup=(big if sign else inf, OF | NX))


# ------------------------------------------------------------------------------------------------------------
def arith(p, f):
    """add sub mul div sqrt and the fused multiply-adds."""
    one, two, half = f.one, f.v(2.0), f.v(0.5)
    three = f.v(3.0)
    CN = (f.qnan, 0)
    ulp = f.pow2(-(f.F.fbits))                 # 2^-23 / 2^-52: one ulp of 1.0
    hulp = f.pow2(-(f.F.fbits + 1))            # half an ulp of 1.0
    qulp = f.pow2(-(f.F.fbits + 2))
    tie_odd = f.v(Fraction(3) * Fraction(2) ** -(f.F.fbits + 1))   # 1.5 ulps: 1 + it is a tie above an odd value

    p.section(f"fadd.{f.s}")
    gen_binop(p, f, "add", one, two, want=(f.v(3.0), 0), comment="1 + 2 = 3, exact")
    gen_binop(p, f, "add", one, f.neg(one), rms=RMS,
              want=lambda rm: (f.nz if rm == RM_RDN else f.pz, 0), comment="x + -x = +0, but -0 in RDN")
    gen_binop(p, f, "add", f.nz, f.nz, rms=(RM_RNE, RM_RDN), want=(f.nz, 0), comment="-0 + -0 = -0")
    gen_binop(p, f, "add", f.pz, f.nz, rms=RMS, want=lambda rm: (f.nz if rm == RM_RDN else f.pz, 0),
              comment="+0 + -0 = +0, -0 in RDN")
    gen_binop(p, f, "add", f.maxfin, f.maxfin, rms=RMS, want=overflow(f, 0), comment="overflow by mode")
    gen_binop(p, f, "add", f.neg(f.maxfin), f.neg(f.maxfin), rms=RMS, want=overflow(f, f.sign))
    gen_binop(p, f, "add", f.inf, f.ninf, want=(f.qnan, NV), comment="inf - inf: NV, the canonical NaN")
    gen_binop(p, f, "add", f.inf, f.neg(f.maxfin), want=(f.inf, 0))
    gen_binop(p, f, "add", f.ninf, f.ninf, want=(f.ninf, 0))
    gen_binop(p, f, "add", f.qnan_p, one, want=CN, comment="a quiet NaN operand: the canonical NaN, no flag")
    gen_binop(p, f, "add", one, f.nqnan, want=CN)
    gen_binop(p, f, "add", f.snan, one, want=(f.qnan, NV), comment="a signalling NaN operand: NV")
    gen_binop(p, f, "add", f.qnan, f.nsnan, want=(f.qnan, NV))
    gen_binop(p, f, "add", f.minsub, f.minsub, want=(2, 0), comment="subnormal sums are exact: no UF")
    gen_binop(p, f, "add", f.maxsub, f.minsub, want=(f.minnorm, 0))
    gen_binop(p, f, "add", f.minnorm, f.neg(f.minsub), want=(f.maxsub, 0))
    gen_binop(p, f, "add", f.ulp1(), f.neg(one), want=(ulp, 0), comment="cancellation, exact")
    gen_binop(p, f, "add", one, hulp, rms=RMS, dyn=True, comment="1 + half an ulp: a tie at an even value")
    gen_binop(p, f, "add", one, tie_odd, rms=RMS, dyn=True, comment="1 + 1.5 ulps: a tie at an odd value")
    gen_binop(p, f, "add", one, qulp, rms=RMS, comment="1 + a quarter ulp: below the tie")
    gen_binop(p, f, "add", f.neg(one), f.neg(f.v(Fraction(3) * Fraction(2) ** -(f.F.fbits + 2))), rms=RMS,
              dyn=True, comment="-1 - 0.75 ulp: above the tie, negative")
    gen_binop(p, f, "add", f.neg(one), f.neg(tie_odd), rms=RMS, comment="negative tie at an odd value")

    p.section(f"fsub.{f.s}")
    gen_binop(p, f, "sub", three, two, want=(one, 0))
    gen_binop(p, f, "sub", one, one, rms=RMS, want=lambda rm: (f.nz if rm == RM_RDN else f.pz, 0),
              comment="x - x = +0, -0 in RDN")
    gen_binop(p, f, "sub", f.nz, f.pz, rms=(RM_RNE, RM_RUP), want=(f.nz, 0), comment="-0 - +0 = -0")
    gen_binop(p, f, "sub", f.pz, f.pz, rms=(RM_RNE, RM_RDN), want=lambda rm: (f.nz if rm == RM_RDN else f.pz, 0))
    gen_binop(p, f, "sub", f.inf, f.inf, want=(f.qnan, NV), comment="inf - inf: NV")
    gen_binop(p, f, "sub", f.ninf, f.inf, want=(f.ninf, 0))
    gen_binop(p, f, "sub", f.neg(f.maxfin), f.maxfin, rms=RMS, want=overflow(f, f.sign))
    gen_binop(p, f, "sub", f.snan_p, f.inf, want=(f.qnan, NV))
    gen_binop(p, f, "sub", one, f.qnan_p, want=CN)
    gen_binop(p, f, "sub", one, f.neg(hulp), rms=RMS, dyn=True, comment="1 - (-half ulp): a tie")
    gen_binop(p, f, "sub", f.neg(one), tie_odd, rms=RMS)
    gen_binop(p, f, "sub", f.v(1.5), f.pow2(-f.F.fbits - 3), rms=RMS, comment="below half an ulp")

    p.section(f"fmul.{f.s}")
    gen_binop(p, f, "mul", two, three, want=(f.v(6.0), 0))
    gen_binop(p, f, "mul", f.nz, one, want=(f.nz, 0), comment="signs of zero products")
    gen_binop(p, f, "mul", f.nz, f.neg(one), want=(f.pz, 0))
    gen_binop(p, f, "mul", f.pz, f.inf, want=(f.qnan, NV), comment="0 * inf: NV")
    gen_binop(p, f, "mul", f.ninf, f.nz, want=(f.qnan, NV))
    gen_binop(p, f, "mul", f.ninf, f.neg(two), want=(f.inf, 0))
    gen_binop(p, f, "mul", f.qnan, f.inf, want=CN, comment="quiet NaN * inf: no NV")
    gen_binop(p, f, "mul", f.pz, f.qnan_p, want=CN)
    gen_binop(p, f, "mul", f.snan, f.pz, want=(f.qnan, NV))
    gen_binop(p, f, "mul", f.maxfin, two, rms=RMS, want=overflow(f, 0), comment="overflow by mode")
    gen_binop(p, f, "mul", f.maxfin, f.neg(two), rms=RMS, want=overflow(f, f.sign))
    gen_binop(p, f, "mul", f.minnorm, half, want=(f.minnorm >> 1, 0), comment="an exact subnormal result: no UF")
    gen_binop(p, f, "mul", f.minsub, half, rms=RMS, dyn=True,
              want=by_rm(rne=(0, UF | NX), rtz=(0, UF | NX), rdn=(0, UF | NX), rup=(1, UF | NX), rmm=(1, UF | NX)),
              comment="min subnormal / 2: a tie between 0 and the min subnormal, UF|NX")
    gen_binop(p, f, "mul", f.neg(f.minsub), half, rms=RMS,
              want=by_rm(rne=(f.nz, UF | NX), rtz=(f.nz, UF | NX), rup=(f.nz, UF | NX),
                         rdn=(f.sign | 1, UF | NX), rmm=(f.sign | 1, UF | NX)))
    # (1 + ulp) * (min normal - min subnormal) = min normal * (1 - 2^-2p): tiny before rounding, but rounded
    # to the precision with an unbounded exponent it is the min normal in RNE/RUP/RMM: not tiny after
    # rounding, so NX without UF there (tininess after rounding); RTZ/RDN keep it below: UF|NX
    gen_binop(p, f, "mul", f.ulp1(), f.maxsub, rms=RMS, dyn=True,
              want=by_rm(rne=(f.minnorm, NX), rup=(f.minnorm, NX), rmm=(f.minnorm, NX),
                         rtz=(f.maxsub, UF | NX), rdn=(f.maxsub, UF | NX)),
              comment="tininess is detected after rounding")
    gen_binop(p, f, "mul", f.minnorm, f.v(0.75), rms=RMS, comment="subnormal, inexact: UF|NX")
    gen_binop(p, f, "mul", f.near(1 / 3), three, rms=RMS, dyn=True, comment="(1/3 rounded) * 3")
    gen_binop(p, f, "mul", f.ulp1(), f.ulp1(), rms=RMS, comment="(1 + ulp)^2: the ulp^2 is below the tie")
    gen_binop(p, f, "mul", f.neg(f.ulp1(3)), f.ulp1(3), rms=RMS)

    p.section(f"fdiv.{f.s}")
    gen_binop(p, f, "div", f.v(6.0), three, want=(two, 0))
    gen_binop(p, f, "div", one, three, rms=RMS, dyn=True, comment="1/3 by mode")
    gen_binop(p, f, "div", f.neg(one), three, rms=RMS)
    gen_binop(p, f, "div", two, three, rms=RMS)
    gen_binop(p, f, "div", one, f.pz, want=(f.inf, DZ), comment="x / 0: DZ, a signed infinity")
    gen_binop(p, f, "div", f.neg(one), f.pz, want=(f.ninf, DZ))
    gen_binop(p, f, "div", one, f.nz, want=(f.ninf, DZ))
    gen_binop(p, f, "div", f.minsub, f.nz, want=(f.ninf, DZ))
    gen_binop(p, f, "div", f.pz, f.pz, want=(f.qnan, NV), comment="0/0 and inf/inf: NV")
    gen_binop(p, f, "div", f.inf, f.ninf, want=(f.qnan, NV))
    gen_binop(p, f, "div", f.inf, f.pz, want=(f.inf, 0), comment="inf / 0: no DZ")
    gen_binop(p, f, "div", f.nz, f.inf, want=(f.nz, 0))
    gen_binop(p, f, "div", one, f.ninf, want=(f.nz, 0))
    gen_binop(p, f, "div", f.qnan_p, f.pz, want=CN, comment="NaN / 0: no DZ")
    gen_binop(p, f, "div", f.pz, f.snan, want=(f.qnan, NV))
    gen_binop(p, f, "div", f.maxfin, half, rms=RMS, want=overflow(f, 0))
    gen_binop(p, f, "div", f.maxfin, f.neg(half), rms=RMS, want=overflow(f, f.sign))
    gen_binop(p, f, "div", f.minsub, two, rms=RMS, comment="a tie at zero")
    gen_binop(p, f, "div", f.minnorm, three, rms=RMS, dyn=True, comment="subnormal, inexact")
    gen_binop(p, f, "div", f.minnorm, f.maxfin, rms=RMS, comment="underflow to zero or the min subnormal")

    p.section(f"fsqrt.{f.s}")
    gen_sqrt(p, f, f.v(4.0), want=(two, 0))
    gen_sqrt(p, f, f.v(0.25), want=(half, 0))
    gen_sqrt(p, f, two, rms=RMS, dyn=True, comment="sqrt(2) by mode")
    gen_sqrt(p, f, three, rms=RMS)
    gen_sqrt(p, f, f.maxfin, rms=RMS)
    gen_sqrt(p, f, f.minsub, rms=RMS, comment="sqrt(min subnormal) is normal and inexact")
    gen_sqrt(p, f, f.pz, want=(f.pz, 0))
    gen_sqrt(p, f, f.nz, want=(f.nz, 0), comment="sqrt(-0) = -0")
    gen_sqrt(p, f, f.inf, want=(f.inf, 0))
    gen_sqrt(p, f, f.neg(one), want=(f.qnan, NV), comment="negative operands: NV")
    gen_sqrt(p, f, f.neg(f.minsub), want=(f.qnan, NV))
    gen_sqrt(p, f, f.ninf, want=(f.qnan, NV))
    gen_sqrt(p, f, f.qnan_p, want=CN)
    gen_sqrt(p, f, f.nqnan, want=CN)
    gen_sqrt(p, f, f.snan, want=(f.qnan, NV))

    for op in FMA:
        p.section(f"{op}.{f.s}: " + {"fmadd": "a*b + c", "fmsub": "a*b - c", "fnmsub": "-(a*b) + c",
                                     "fnmadd": "-(a*b) - c"}[op] + ", one rounding")
        gen_fma(p, f, op, two, three, one)
        gen_fma(p, f, op, f.neg(two), three, f.v(0.5))
        gen_fma(p, f, op, f.pz, f.inf, f.qnan, want=(f.qnan, NV),
                comment="0 * inf + a quiet NaN: NV (the spec requires it)")
        gen_fma(p, f, op, f.inf, f.nz, f.qnan_p, want=(f.qnan, NV))
        gen_fma(p, f, op, f.inf, one, f.inf if op in ("fmsub", "fnmsub") else f.ninf, want=(f.qnan, NV),
                comment="inf - inf in the addition: NV")
        gen_fma(p, f, op, f.qnan, one, one, want=CN)
        gen_fma(p, f, op, one, one, f.snan, want=(f.qnan, NV))
        gen_fma(p, f, op, one, f.snan_p, f.qnan, want=(f.qnan, NV))
        gen_fma(p, f, op, f.pz, one, f.pz, rms=(RM_RNE, RM_RDN), comment="the sign of an exact zero")
        gen_fma(p, f, op, f.nz, one, f.pz, rms=(RM_RNE, RM_RDN))
        gen_fma(p, f, op, two, three, f.v(6.0), rms=(RM_RNE, RM_RDN))
        gen_fma(p, f, op, f.ulp1(), f.ulp1(), one, rms=RMS, dyn=(op == "fmadd"),
                comment="(1+ulp)^2 + 1: the product's ulp^2 decides the rounding")
        gen_fma(p, f, op, f.ulp1(), f.ulp1(), f.neg(one), rms=RMS,
                comment="(1+ulp)^2 - 1 = 2 ulp + ulp^2: exact only when fused")
        gen_fma(p, f, op, f.maxfin, two, f.neg(f.maxfin), rms=(RM_RNE, RM_RTZ),
                comment="a product beyond the range, then back: no overflow when fused")
        gen_fma(p, f, op, f.maxfin, f.maxfin, f.ninf, rms=(RM_RNE,))
        gen_fma(p, f, op, f.minnorm, f.v(0.75), f.minsub, rms=RMS, comment="a subnormal result")


def misc(p, f):
    """min/max, sign injection, comparisons, fclass, moves."""
    one, two = f.one, f.v(2.0)
    CN = (f.qnan, 0)
    p.section(f"fmin.{f.s} / fmax.{f.s}: 2019 semantics (minimumNumber/maximumNumber), -0 < +0")
    for a, b, mn, mx in ((one, two, one, two), (two, one, one, two), (f.neg(one), f.neg(two), f.neg(two), f.neg(one)),
                         (f.nz, f.pz, f.nz, f.pz), (f.pz, f.nz, f.nz, f.pz), (f.ninf, f.inf, f.ninf, f.inf),
                         (f.minsub, f.neg(f.minsub), f.neg(f.minsub), f.minsub), (f.maxfin, f.inf, f.maxfin, f.inf)):
        gen_minmax(p, f, "fmin", a, b, (mn, 0))
        gen_minmax(p, f, "fmax", a, b, (mx, 0))
    # one NaN operand: the other operand; a signalling one raises NV; both NaN: the canonical NaN
    for a, b, res, fl in ((f.qnan_p, one, one, 0), (one, f.nqnan, one, 0), (f.snan, one, one, NV),
                          (f.neg(two), f.snan_p, f.neg(two), NV), (f.qnan, f.nz, f.nz, 0),
                          (f.qnan_p, f.nqnan, f.qnan, 0), (f.snan, f.qnan, f.qnan, NV), (f.nsnan, f.snan, f.qnan, NV)):
        gen_minmax(p, f, "fmin", a, b, (res, fl))
        gen_minmax(p, f, "fmax", a, b, (res, fl))

    p.section(f"fsgnj.{f.s} / fsgnjn.{f.s} / fsgnjx.{f.s}: no flags, NaN payloads kept")
    for a, b in ((one, two), (one, f.neg(two)), (f.neg(one), two), (f.neg(one), f.neg(two)),
                 (f.qnan_p, f.neg(one)), (f.nsnan, one), (f.snan, f.nsnan), (f.ninf, f.pz), (f.pz, f.nqnan)):
        gen_sgnj(p, f, a, b)
    p.raw("# fneg / fabs / fmv (rs1 = rs2)")
    p.case(fops(f, False, f.snan_p), [f"fneg.{f.s} f3, f0"], f.reg(f.neg(f.snan_p)), 0)
    p.case(fops(f, False, f.neg(f.qnan_p)), [f"fabs.{f.s} f3, f0"], f.reg(f.qnan_p), 0)
    p.case(fops(f, False, f.snan), [f"fmv.{f.s} f3, f0"], f.reg(f.snan), 0)

    p.section(f"feq.{f.s} (quiet: NV only for a signalling NaN) / flt.{f.s} fle.{f.s} (signalling: NV for any NaN)")
    gen_cmp(p, f, one, one, (1, 0), (0, 0), (1, 0))
    gen_cmp(p, f, one, two, (0, 0), (1, 0), (1, 0))
    gen_cmp(p, f, two, one, (0, 0), (0, 0), (0, 0))
    gen_cmp(p, f, f.nz, f.pz, (1, 0), (0, 0), (1, 0))
    gen_cmp(p, f, f.pz, f.nz, (1, 0), (0, 0), (1, 0))
    gen_cmp(p, f, f.neg(two), f.neg(one), (0, 0), (1, 0), (1, 0))
    gen_cmp(p, f, f.ninf, f.inf, (0, 0), (1, 0), (1, 0))
    gen_cmp(p, f, f.inf, f.inf, (1, 0), (0, 0), (1, 0))
    gen_cmp(p, f, f.neg(f.minsub), f.pz, (0, 0), (1, 0), (1, 0))
    gen_cmp(p, f, f.qnan, one, (0, 0), (0, NV), (0, NV))
    gen_cmp(p, f, one, f.qnan_p, (0, 0), (0, NV), (0, NV))
    gen_cmp(p, f, f.qnan, f.qnan, (0, 0), (0, NV), (0, NV))
    gen_cmp(p, f, f.snan, one, (0, NV), (0, NV), (0, NV))
    gen_cmp(p, f, f.inf, f.nsnan, (0, NV), (0, NV), (0, NV))

    p.section(f"fclass.{f.s}: the 10 classes")
    for a, bit in ((f.ninf, 0), (f.neg(one), 1), (f.neg(f.maxfin), 1), (f.neg(f.minsub), 2), (f.neg(f.maxsub), 2),
                   (f.nz, 3), (f.pz, 4), (f.minsub, 5), (f.maxsub, 5), (f.minnorm, 6), (f.maxfin, 6), (f.inf, 7),
                   (f.snan, 8), (f.nsnan, 8), (f.snan_p, 8), (f.qnan, 9), (f.nqnan, 9), (f.qnan_p, 9)):
        gen_class(p, f, a, 1 << bit)

    x = 0x123456789ABCDEF0
    if f is S:
        p.section("fmv.x.w: the low 32 bits, sign-extended, not unboxed; fmv.w.x: NaN-boxed, upper bits ignored")
        for reg, res in ((S.reg(0x80000000), 0xFFFFFFFF80000000), (S.reg(0x7F800000), 0x7F800000),
                         (S.reg(S.snan), S.snan), (S.reg(S.nqnan), 0xFFFFFFFFFFC00000),
                         (0x000000003F800000, 0x3F800000), (0x12345678F0000001, 0xFFFFFFFFF0000001)):
            p.case([("f", reg)], ["fmv.x.w x14, f0"], res, 0, xres=True, pre=["li x14, 0"])
        for v in (0x1234567887654321, 0x000000007F800001, 0xFFFFFFFF00000000, 0):
            p.case([("x", v)], ["fmv.w.x f3, x1"], BOX | (v & 0xFFFFFFFF), 0)
        p.section("NaN-boxing: an improperly boxed single reads as the canonical NaN (no NV: it is quiet)")
        unboxed1 = 0x000000003F800000                   # 1.0 without the box
        almost = 0xFFFFFFFE3F800000                     # one bit of the box missing
        gen_binop(p, S, "add", unboxed1, S.reg(S.one), raw=True, want=CN)
        gen_binop(p, S, "mul", S.reg(S.snan), almost, raw=True, want=(S.qnan, NV))
        gen_sqrt(p, S, unboxed1, raw=True, want=CN)
        gen_minmax(p, S, "fmin", unboxed1, S.reg(two), raw=True, want=(two, 0))
        gen_minmax(p, S, "fmax", almost, S.reg(S.neg(two)), raw=True, want=(S.neg(two), 0))
        gen_cmp(p, S, unboxed1, unboxed1, (0, 0), (0, NV), (0, NV), raw=True)
        gen_class(p, S, unboxed1, 1 << 9, raw=True)
        gen_class(p, S, 0x7FFFFFFF00000000, 1 << 9, raw=True)
        gen_sgnj(p, S, unboxed1, S.reg(S.neg(one)), raw=True)
        gen_sgnj(p, S, S.reg(S.neg(one)), almost, raw=True)
        gen_f2i(p, S, "w", unboxed1, want=(0x7FFFFFFF, NV), raw=True)
        gen_f2f(p, D, unboxed1, raw=True, want=(D.qnan, 0))
        p.raw("# fmadd with one improperly boxed addend")
        p.case([("f", S.reg(one)), ("f", S.reg(one)), ("f", unboxed1)], ["fmadd.s f3, f0, f1, f2, rne"],
               S.reg(S.qnan), 0)
        p.raw("# a double's bits read by a single instruction: unboxed unless the upper half is all ones")
        p.case([("f", D.one), ("f", S.reg(one))], ["fadd.s f3, f0, f1, rne"], S.reg(S.qnan), 0)
    else:
        p.section("fmv.x.d / fmv.d.x: the 64 bits, NaN payloads kept")
        for v in (D.snan, D.nqnan | 0x5, x, 0xFFFFFFFF3F800000):
            p.case([("x", v)], ["fmv.d.x f3, x1"], v, 0)
        p.raw("# double operations on NaN-boxed singles see a NaN (the box): no unboxing for D")
        gen_class(p, D, S.reg(S.one), 1 << 9)
        gen_sgnj(p, D, S.reg(S.one), D.one)
        gen_binop(p, D, "add", S.reg(S.one), D.one, want=(D.qnan, 0))


def cvt(p, f):
    """fcvt between f and the integer types, and between S and D."""
    one = f.one
    v = f.v
    p.section(f"fcvt.w.{f.s} / fcvt.wu.{f.s} / fcvt.l.{f.s} / fcvt.lu.{f.s}")
    for it in INTS:
        is64, signed = INTS[it]
        w = 64 if is64 else 32
        hi = (1 << (w - 1)) - 1 if signed else (1 << w) - 1
        lo = -(1 << (w - 1)) if signed else 0

        def xr(n):
            return R._as_xreg(n, is64) & M64     # the x register: 32-bit results sign-extended
        p.raw(f"# fcvt.{it}.{f.s}")
        gen_f2i(p, f, it, one, want=(1, 0))
        gen_f2i(p, f, it, f.nz, want=(0, 0))
        for x in (1.5, -1.5, 2.5, -2.5, 0.5, -0.5):
            if signed or x > 0 or x == -0.5:
                gen_f2i(p, f, it, v(x), rms=RMS, dyn=(x == 2.5), comment=f"{x} by mode")
        gen_f2i(p, f, it, f.minsub, rms=(RM_RNE, RM_RUP), comment="min subnormal: 0 or 1, NX")
        if not signed:
            gen_f2i(p, f, it, f.neg(f.minsub), rms=(RM_RTZ, RM_RDN),
                    want=by_rm(rtz=(0, NX), rdn=(0, NV)),
                    comment="unsigned: a negative value that rounds to 0 is only inexact, -1 is invalid")
            gen_f2i(p, f, it, f.neg(one), want=(0, NV))
        gen_f2i(p, f, it, f.qnan, want=(xr(hi), NV), comment="NaN: the largest integer, NV")
        gen_f2i(p, f, it, f.nqnan, want=(xr(hi), NV))
        gen_f2i(p, f, it, f.snan, want=(xr(hi), NV))
        gen_f2i(p, f, it, f.inf, want=(xr(hi), NV), comment="+inf / -inf: saturated, NV")
        gen_f2i(p, f, it, f.ninf, want=(xr(lo), NV))
        gen_f2i(p, f, it, f.maxfin, want=(xr(hi), NV))
        gen_f2i(p, f, it, f.neg(f.maxfin), want=(xr(lo), NV))
        top = f.pow2(w - 1 if signed else w)
        gen_f2i(p, f, it, top, want=(xr(hi), NV), comment=f"2^{w - 1 if signed else w}: out of range")
        if signed:
            gen_f2i(p, f, it, f.neg(top), want=(xr(lo), 0), comment=f"-2^{w - 1}: exact")
            below = Fraction(lo - 1)
            exact = R.round_value(f.fmt, below, RM_RNE)[1] == 0
            gen_f2i(p, f, it, f.v(below) if exact else f.neg(top) + 1, want=(xr(lo), NV),
                    comment="just below the smallest integer")
        gen_f2i(p, f, it, top - 1, want=None, comment="the largest value below the limit")
        if w == 32 and f is D:
            # fractions near the limits decide by rounding: 2^31 - 0.5 rounds up out of range in RNE
            lim = (1 << 31) - 1 if signed else (1 << 32) - 1
            gen_f2i(p, f, it, v(lim + 0.5), rms=RMS, comment=f"{lim}.5 by mode")
            if signed:
                gen_f2i(p, f, it, v(-(1 << 31) - 0.5), rms=RMS, comment="-2^31 - 0.5 by mode")
        if not is64:
            big = 3e9 if not signed else -2e9
            gen_f2i(p, f, it, v(big), want=(xr(int(big)), 0), comment="the 32-bit result is sign-extended")
        if is64 and f is D:
            gen_f2i(p, f, it, v(2.0 ** 62 + 2.0 ** 10), want=((1 << 62) + (1 << 10), 0))

    p.section(f"fcvt.{f.s}.w / fcvt.{f.s}.wu / fcvt.{f.s}.l / fcvt.{f.s}.lu (W forms read the low 32 bits)")
    p_bits = f.F.fbits + 1                                 # precision: 24 / 53
    for it in INTS:
        is64, signed = INTS[it]
        p.raw(f"# fcvt.{f.s}.{it}")
        gen_i2f(p, f, it, 0, want=(f.pz, 0), comment="0 is +0")
        gen_i2f(p, f, it, 1, want=(one, 0))
        gen_i2f(p, f, it, M64, rms=(RM_RNE, RM_RTZ))
        gen_i2f(p, f, it, 0xFFFFFFFF80000000)
        gen_i2f(p, f, it, 0x7FFFFFFF, rms=RMS)
        gen_i2f(p, f, it, 0xABCDEF0000000005, comment="upper bits (ignored by W forms)")
        if p_bits < 32 or is64:
            gen_i2f(p, f, it, (1 << p_bits) + 1, rms=RMS, dyn=(it == "w" or it == "l"),
                    comment="2^p + 1: a tie at an even value")
            gen_i2f(p, f, it, (1 << p_bits) + 3, rms=RMS, comment="2^p + 3: a tie at an odd value")
            gen_i2f(p, f, it, -((1 << p_bits) + 1) & M64, rms=RMS)
        if is64:
            gen_i2f(p, f, it, 0x7FFFFFFFFFFFFFFF, rms=RMS)
            gen_i2f(p, f, it, 0x8000000000000000, rms=(RM_RNE,))
            gen_i2f(p, f, it, 0x8000000000000001, rms=RMS)

    other = D if f is S else S
    p.section(f"fcvt.{f.s}.{other.s}")
    if f is S:
        for x in (0.1, -0.1, 1.0 / 3.0, 1e30):
            gen_f2f(p, S, D.v(x), rms=RMS, dyn=(x == 0.1), comment=f"{x} by mode")
        gen_f2f(p, S, D.v(1e300), rms=RMS, want=overflow(S, 0), comment="overflow by mode")
        gen_f2f(p, S, D.v(-1e300), rms=RMS, want=overflow(S, S.sign))
        # the largest single + half its ulp: RNE carries out of range (OF), RTZ stays max finite (only NX)
        big = D.v(Fraction(2) ** 128 - Fraction(2) ** 103)
        gen_f2f(p, S, big, rms=RMS, comment="max finite + half an ulp: a tie at the top")
        gen_f2f(p, S, D.v(1e-40), rms=RMS, comment="a subnormal single: UF|NX")
        gen_f2f(p, S, D.v(Fraction(2) ** -149), want=(1, 0), comment="the min subnormal, exact: no UF")
        gen_f2f(p, S, D.v(Fraction(2) ** -150), rms=RMS, comment="half the min subnormal: a tie at zero")
        gen_f2f(p, S, D.v(Fraction(2) ** -126 - Fraction(2) ** -152), rms=RMS,
                comment="just below the min normal: rounds to it except RTZ/RDN (tininess after rounding)")
        gen_f2f(p, S, D.minsub, rms=(RM_RNE, RM_RUP))
        gen_f2f(p, S, D.nz, want=(S.nz, 0))
        gen_f2f(p, S, D.ninf, want=(S.ninf, 0))
        gen_f2f(p, S, D.qnan_p, want=(S.qnan, 0), comment="NaNs: the canonical NaN, payloads dropped")
        gen_f2f(p, S, D.snan, want=(S.qnan, NV))
        gen_f2f(p, S, D.nsnan | (1 << 40), want=(S.qnan, NV))
    else:
        for x in (0.1, -1.0 / 3.0):
            xs = struct.unpack("<f", struct.pack("<f", x))[0]
            gen_f2f(p, D, S.v(xs), rms=(RM_RNE, RM_RUP), want=(D.v(xs), 0), comment="exact in every mode")
        gen_f2f(p, D, S.minsub, want=(D.v(Fraction(2) ** -149), 0), comment="a subnormal single is a normal double")
        gen_f2f(p, D, S.neg(S.maxsub), want=(D.v(-Fraction(S.maxsub) * Fraction(2) ** -149), 0))
        gen_f2f(p, D, S.maxfin, want=(D.v(Fraction(2) ** 128 - Fraction(2) ** 104), 0))
        gen_f2f(p, D, S.nz, want=(D.nz, 0))
        gen_f2f(p, D, S.inf, want=(D.inf, 0))
        gen_f2f(p, D, S.qnan_p, want=(D.qnan, 0))
        gen_f2f(p, D, S.nsnan, want=(D.qnan, NV))


# ------------------------------------------------------------------------------------------------------------
# encodings (for the reserved rounding modes and for FS = Off): unprivileged spec ch. 11-12, 34 (opcode map)
OP_FP, LOAD_FP, STORE_FP = 0x53, 0x07, 0x27
FMA_OPC = {"fmadd": 0x43, "fmsub": 0x47, "fnmsub": 0x4B, "fnmadd": 0x4F}


def r_type(f7, rs2, rs1, f3, rd, opc=OP_FP):
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc


def fp_rows():
    """Every F/D computational instruction: (name, encoding with rm = 0 (or its fixed funct3), has_rm,
    rd is an x register).  Registers: rd = f3 / x14, rs1 = f0 / x1, rs2 = f1, rs3 = f2."""
    rows = []
    for fmt, sfx in ((0, "s"), (1, "d")):
        other = "d" if fmt == 0 else "s"
        for name, opc in FMA_OPC.items():
            rows.append((f"{name}.{sfx}", (2 << 27) | (fmt << 25) | (1 << 20) | (3 << 7) | opc, True, False))
        for name, f5 in (("fadd", 0), ("fsub", 1), ("fmul", 2), ("fdiv", 3)):
            rows.append((f"{name}.{sfx}", r_type(f5 << 2 | fmt, 1, 0, 0, 3), True, False))
        rows.append((f"fsqrt.{sfx}", r_type(0x0B << 2 | fmt, 0, 0, 0, 3), True, False))
        for name, f3 in (("fsgnj", 0), ("fsgnjn", 1), ("fsgnjx", 2)):
            rows.append((f"{name}.{sfx}", r_type(0x04 << 2 | fmt, 1, 0, f3, 3), False, False))
        for name, f3 in (("fmin", 0), ("fmax", 1)):
            rows.append((f"{name}.{sfx}", r_type(0x05 << 2 | fmt, 1, 0, f3, 3), False, False))
        rows.append((f"fcvt.{sfx}.{other}", r_type(0x08 << 2 | fmt, 1 - fmt, 0, 0, 3), True, False))
        for name, f3 in (("feq", 2), ("flt", 1), ("fle", 0)):
            rows.append((f"{name}.{sfx}", r_type(0x14 << 2 | fmt, 1, 0, f3, 14), False, True))
        rows.append((f"fclass.{sfx}", r_type(0x1C << 2 | fmt, 0, 0, 1, 14), False, True))
        for i, it in enumerate(("w", "wu", "l", "lu")):
            rows.append((f"fcvt.{it}.{sfx}", r_type(0x18 << 2 | fmt, i, 0, 0, 14), True, True))
            rows.append((f"fcvt.{sfx}.{it}", r_type(0x1A << 2 | fmt, i, 1, 0, 3), True, False))
        mx = "w" if fmt == 0 else "d"
        rows.append((f"fmv.x.{mx}", r_type(0x1C << 2 | fmt, 0, 0, 0, 14), False, True))
        rows.append((f"fmv.{mx}.x", r_type(0x1E << 2 | fmt, 0, 1, 0, 3), False, False))
    return rows


def asm_of(name, rm=None):
    """The assembler text of a row (registers as fp_rows uses them), to check the encodings above."""
    base = name.split(".")[0]
    if base in FMA_OPC:
        ops = "f3, f0, f1, f2"
    elif base in ("fadd", "fsub", "fmul", "fdiv", "fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax"):
        ops = "f3, f0, f1"
    elif base in ("feq", "flt", "fle"):
        ops = "x14, f0, f1"
    elif base == "fclass" or name.startswith("fmv.x") or (base == "fcvt" and name.split(".")[1] in INTS):
        ops = "x14, f0"
    elif name.startswith("fmv.") or (base == "fcvt" and name.split(".")[2] in INTS):
        ops = "f3, x1"
    else:
        ops = "f3, f0"
    if rm and name in EXACT_CVT:
        return insn(name, *ops.split(", "), rm)
    return f"{name} {ops}" + (f", {rm}" if rm else "")


def rm_program(path):
    p = Program(path, "F/D: reserved rounding modes and reserved encodings are illegal instructions", [
        "rm = 5 or 6 in the instruction, or rm = 7 (dyn) while frm is 5, 6 or 7, for every instruction with an",
        "rm field: illegal instruction (cause 2), mepc = the instruction, mtval = its bits; the destination,",
        "fflags and frm are unchanged (FP_POISON / FP_UNTOUCHED in common/fp_test.h).",
        "The instructions without an rm field run with any frm.  Then reserved encodings in the FP opcodes."])
    p.raw("csrwi frm, 0", "li x7, 0x7ff0000000000001", "fmv.d.x f0, x7", "fmv.d.x f1, x7", "fmv.d.x f2, x7",
          "li x1, 1")
    rows = fp_rows()
    for name, enc, has_rm, xdest in rows:
        if not has_rm:
            continue
        p.section(name)
        for rm in (5, 6, "frm5", "frm6", "frm7"):
            word = enc | ((rm if isinstance(rm, int) else 7) << 12)
            frm = int(rm[3:]) if isinstance(rm, str) else 0
            p.lines.append(f"    # {name}, " + (f"rm = {rm}" if isinstance(rm, int) else f"dyn with frm = {frm}"))
            p.raw(f"li x2, {frm}", *(["csrw frm, x2"] if frm else []), "FP_POISON",
                  f"FP_EXPECT_ILLEGAL({p.num()}, .word 0x{word:08x})", "FP_UNTOUCHED")
    p.section("instructions without an rm field ignore frm (= 7)")
    p.raw("csrwi frm, 7")
    one, two = S.reg(S.one), S.reg(S.v(2.0))
    p.case([("f", one), ("f", two)], ["fmin.s f3, f0, f1"], one, 0)
    p.case([("f", D.one), ("f", D.v(2.0))], ["fmax.d f3, f0, f1"], D.v(2.0), 0)
    p.case([("f", one), ("f", two)], ["fsgnjn.s f3, f0, f1"], S.reg(S.neg(S.one)), 0)
    p.case([("f", D.one), ("f", D.one)], ["fsgnjx.d f3, f0, f1"], D.one, 0)
    p.case([("f", one), ("f", two)], ["fle.s x14, f0, f1"], 1, 0, xres=True)
    p.case([("f", D.one), ("f", D.one)], ["feq.d x14, f0, f1"], 1, 0, xres=True)
    p.case([("f", D.one)], ["fclass.d x14, f0"], 1 << 6, 0, xres=True)
    p.case([("f", one)], ["fmv.x.w x14, f0"], S.one, 0, xres=True)
    p.case([("x", D.one)], ["fmv.d.x f3, x1"], D.one, 0)
    p.raw("csrwi frm, 0")

    p.section("reserved encodings in the FP opcodes: illegal instruction")
    reserved = [
        ("fsgnj.s funct3 = 3", r_type(0x10, 1, 0, 3, 3)),
        ("fsgnj.d funct3 = 7", r_type(0x11, 1, 0, 7, 3)),
        ("fmin.s funct3 = 2", r_type(0x14, 1, 0, 2, 3)),
        ("fmax.d funct3 = 3", r_type(0x15, 1, 0, 3, 3)),
        ("feq.s funct3 = 3", r_type(0x50, 1, 0, 3, 14)),
        ("fle.d funct3 = 4", r_type(0x51, 1, 0, 4, 14)),
        ("fsqrt.s rs2 = 1", r_type(0x2C, 1, 0, 0, 3)),
        ("fsqrt.d rs2 = 2", r_type(0x2D, 2, 0, 0, 3)),
        ("fcvt.s.s (fcvt.s.d with rs2 = 0)", r_type(0x20, 0, 0, 0, 3)),
        ("fcvt.d.d (fcvt.d.s with rs2 = 1)", r_type(0x21, 1, 0, 0, 3)),
        ("fcvt.s.h (rs2 = 2, no Zfh)", r_type(0x20, 2, 0, 0, 3)),
        ("fcvt.w.s rs2 = 4", r_type(0x60, 4, 0, 0, 14)),
        ("fcvt.d.w rs2 = 5", r_type(0x69, 5, 1, 0, 3)),
        ("fclass.s rs2 = 1", r_type(0x70, 1, 0, 1, 14)),
        ("fmv.x.w funct3 = 2", r_type(0x70, 0, 0, 2, 14)),
        ("fmv.x.d rs2 = 1", r_type(0x71, 1, 0, 0, 14)),
        ("fmv.w.x funct3 = 1", r_type(0x78, 0, 1, 1, 3)),
        ("fmv.d.x rs2 = 3", r_type(0x79, 3, 1, 0, 3)),
        ("fadd.h (fmt = 2, no Zfh)", r_type(0x02, 1, 0, 0, 3)),
        ("fadd.q (fmt = 3, no Q)", r_type(0x03, 1, 0, 0, 3)),
        ("fmadd.h (fmt = 2)", (2 << 27) | (2 << 25) | (1 << 20) | (3 << 7) | 0x43),
        ("fnmadd.q (fmt = 3)", (2 << 27) | (3 << 25) | (1 << 20) | (3 << 7) | 0x4F),
        ("funct7 = 0x7f in OP-FP", r_type(0x7F, 1, 0, 0, 3)),
        ("flh (LOAD-FP funct3 = 1, no Zfh)", (0 << 20) | (10 << 15) | (1 << 12) | (3 << 7) | LOAD_FP),
        ("flq (LOAD-FP funct3 = 4, no Q)", (0 << 20) | (10 << 15) | (4 << 12) | (3 << 7) | LOAD_FP),
        ("fsh (STORE-FP funct3 = 1)", (3 << 20) | (10 << 15) | (1 << 12) | STORE_FP),
        ("fsq (STORE-FP funct3 = 4)", (3 << 20) | (10 << 15) | (4 << 12) | STORE_FP),
    ]
    p.raw("la a0, fp_scratch", "li x2, 0")
    for text, word in reserved:
        p.lines.append(f"    # {text}")
        p.raw("FP_POISON", f"FP_EXPECT_ILLEGAL({p.num()}, .word 0x{word:08x})", "FP_UNTOUCHED")
    p.lines += ["", "    .pushsection .data", "    .balign 16", "fp_scratch: .dword 0, 0", "    .popsection"]
    return p


def off_program(path):
    p = Program(path, "mstatus.FS = Off: every FP instruction and every FP CSR access is an illegal instruction", [
        "mtval = the instruction's bits (16 for the compressed ones), mepc = the instruction, the integer",
        "destination unchanged.  FP loads and stores from an address that is not mapped (Sv39) or not",
        "memory (Bare) trap as illegal instructions too: the decode-time exception comes first (priv. spec,",
        "exception priority).  Runs in M, S and U, Bare and Sv39 (common/fp_test.h) with FS = Off throughout."],
        fs="FS_OFF")
    n = p.num
    p.raw("la a0, fp_scratch", "mv s0, a0", "li x1, 1")
    p.section("loads and stores: flw fld fsw fsd, c.fld c.fsd c.fldsp c.fsdsp")
    for ins in ("flw f3, 0(a0)", "fld f3, 8(a0)", "fsw f3, 0(a0)", "fsd f3, 8(a0)",
                "flw f3, 0(x0)", "fld f3, 8(x0)", "fsw f3, 0(x0)", "fsd f3, 8(x0)",
                "flw f3, 1(a0)", "fsd f3, 3(a0)"):
        p.raw(f"FP_EXPECT_ILLEGAL({n()}, {ins})")
    p.raw("mv s1, sp", "mv sp, a0")
    for ins in ("c.fld f8, 8(s0)", "c.fsd f9, 0(s0)", "c.fldsp f3, 8(sp)", "c.fsdsp f3, 0(sp)",
                "c.fld f8, 248(s0)", "c.fsdsp f3, 504(sp)"):
        p.raw(f"FP_EXPECT_ILLEGAL({n()}, FP_RVC({ins}; c.nop))")
    p.raw("mv sp, s1")
    p.section("every computational instruction, rm = rne (and dyn)")
    for name, enc, has_rm, xdest in fp_rows():
        if xdest:
            p.raw("li x14, 0x5a5a")
        p.raw(f"FP_EXPECT_ILLEGAL({n()}, {asm_of(name, 'rne' if has_rm else None)})")
        if has_rm and name in ("fadd.s", "fmadd.d", "fcvt.s.l"):
            p.raw(f"FP_EXPECT_ILLEGAL({n()}, {asm_of(name, 'dyn')})")
        if xdest:
            p.raw("li x7, 0x5a5a", "bne x14, x7, fail")
    p.section("fflags, frm, fcsr: every kind of access (reads, writes, set/clear, immediates)")
    for csr in ("fflags", "frm", "fcsr"):
        for ins in (f"csrr x14, {csr}", f"csrw {csr}, x1", f"csrrw x14, {csr}, x1", f"csrrs x14, {csr}, x0",
                    f"csrrs x0, {csr}, x1", f"csrrc x14, {csr}, x1", f"csrrwi x14, {csr}, 1", f"csrrsi x0, {csr}, 1",
                    f"csrrci x14, {csr}, 0"):
            p.raw("li x14, 0x5a5a", f"FP_EXPECT_ILLEGAL({n()}, {ins})", "li x7, 0x5a5a", "bne x14, x7, fail")
    p.raw("# the pseudo-instructions", *(f"FP_EXPECT_ILLEGAL({n()}, {ins})" for ins in
                                          ("frflags x14", "fsflags x1", "frrm x14", "fsrm x1", "frcsr x14",
                                           "fscsr x1", "fsrmi 1", "fsflagsi 1")))
    p.lines += ["", "    .pushsection .data", "    .balign 16", "fp_scratch: .dword 0, 0, 0, 0", "    .popsection"]
    return p


def loop_rows(f):
    """The operand rows (a, b, c as 64-bit f registers) every loop of format f runs over."""
    one, two, half = f.one, f.v(2.0), f.v(0.5)
    rows = [(one, two, f.v(3.0)), (f.v(-1.5), f.near(0.1), f.nz),
            (f.qnan_p, one, one), (f.snan, one, two), (f.inf, f.ninf, f.pz), (f.pz, f.nz, f.pz),
            (f.minsub, half, f.minsub), (f.maxfin, f.maxfin, f.neg(f.maxfin)), (f.maxsub, f.ulp1(), f.pz),
            (f.near(1 / 3), f.v(3.0), f.neg(one)), (f.nz, f.inf, f.qnan), (f.v(2.5), f.v(-2.5), half),
            (f.minnorm, f.v(0.75), f.minsub), (f.neg(f.maxfin), two, f.inf), (f.ulp1(), f.ulp1(), f.neg(one)),
            (f.v(1e9), f.v(-7.0), f.v(3e9))]
    rows = [tuple(f.reg(v) for v in r) for r in rows]
    if f is S:
        rows[15] = (0x000000003F800000, rows[15][1], 0x12345678C0000000)     # improperly boxed: canonical NaNs
    else:
        rows[15] = (S.reg(S.one), rows[15][1], rows[15][2])                  # a boxed single: a NaN as a double
    return rows


def loop_ops(f):
    """(text, expected(a, b, c) -> (64-bit result, flags), result in x) for the loops of format f."""
    s, fmt = f.s, f.fmt
    u = lambda v: ref_unbox(f, v)               # noqa: E731
    fr = lambda r: (f.reg(r[0]), r[1])          # noqa: E731
    ops = []
    for op, rm in (("add", RM_RNE), ("add", RM_RTZ), ("add", RM_RDN), ("add", RM_RUP), ("add", RM_RMM),
                   ("add", "dyn"), ("sub", RM_RDN), ("mul", RM_RUP), ("mul", "dyn"), ("div", RM_RTZ),
                   ("div", RM_RNE)):
        r = RM_RMM if rm == "dyn" else rm
        ops.append((f"f{op}.{s} f3, f0, f1, {rm_suffix(rm)}", rm,
                    lambda a, b, c, op=op, r=r: fr(getattr(R, op)(fmt, u(a), u(b), r)), False))
    ops.append((f"fsqrt.{s} f3, f0, rmm", RM_RMM, lambda a, b, c: fr(R.sqrt(fmt, u(a), RM_RMM)), False))
    ops.append((f"fsqrt.{s} f3, f1, rup", RM_RUP, lambda a, b, c: fr(R.sqrt(fmt, u(b), RM_RUP)), False))
    for op, rm in (("fmadd", RM_RNE), ("fmsub", RM_RTZ), ("fnmsub", RM_RDN), ("fnmadd", RM_RUP), ("fmadd", "dyn")):
        r = RM_RMM if rm == "dyn" else rm
        ops.append((f"{op}.{s} f3, f0, f1, f2, {rm_suffix(rm)}", rm,
                    lambda a, b, c, op=op, r=r: fr(R.fma(fmt, u(a), u(b), u(c), r, *FMA[op])), False))
    for op in ("fsgnj", "fsgnjn", "fsgnjx"):
        def sg(a, b, c, op=op):
            ua, ub = u(a), u(b)
            sb = {"fsgnj": ub, "fsgnjn": ub ^ f.sign, "fsgnjx": ua ^ ub}[op] & f.sign
            return f.reg((ua & ~f.sign & ((1 << f.w) - 1)) | sb), 0
        ops.append((f"{op}.{s} f3, f0, f1", None, sg, False))
    for op in ("fmin", "fmax"):
        ops.append((f"{op}.{s} f3, f0, f1", None, lambda a, b, c, op=op: fr(getattr(R, op)(fmt, u(a), u(b))), False))
    for op in ("feq", "flt", "fle"):
        ops.append((f"{op}.{s} x14, f0, f1", None, lambda a, b, c, op=op: getattr(R, op)(fmt, u(a), u(b)), True))
    ops.append((f"fclass.{s} x14, f0", None, lambda a, b, c: (R.fclass(fmt, u(a)), 0), True))
    for it, rm in (("w", RM_RTZ), ("wu", RM_RNE), ("l", RM_RDN), ("lu", RM_RUP), ("w", "dyn")):
        r = RM_RMM if rm == "dyn" else rm
        ops.append((f"fcvt.{it}.{s} x14, f0, {rm_suffix(rm)}", rm,
                    lambda a, b, c, it=it, r=r: (R.f_to_int(fmt, u(a), r, *INTS[it])[0] & M64,
                                                 R.f_to_int(fmt, u(a), r, *INTS[it])[1]), True))
    for it, rm in (("w", RM_RNE), ("wu", RM_RTZ), ("l", RM_RMM), ("lu", "dyn")):
        r = RM_RMM if rm == "dyn" else rm
        ops.append((insn(f"fcvt.{s}.{it}", "f3", "x1", rm_suffix(rm)), rm,
                    lambda a, b, c, it=it, r=r: fr(R.int_to_f(fmt, a, r, *INTS[it])), False))
    other = D if f is S else S
    ops.append((insn(f"fcvt.{s}.{other.s}", "f3", "f0", "rup"), RM_RUP,
                lambda a, b, c: fr(R.f_to_f(fmt, ref_unbox(other, a), RM_RUP)), False))
    mx = "w" if f is S else "d"
    ops.append((f"fmv.x.{mx} x14, f0", None,
                lambda a, b, c: ((((a & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) & M64 if f is S else a, 0), True))
    ops.append((f"fmv.{mx}.x f3, x1", None, lambda a, b, c: (f.reg(a & ((1 << f.w) - 1)), 0), False))
    return ops


def loops_program(path):
    p = Program(path, "F/D in hot loops: every computational instruction, FP loads and stores, so that native "
                "regions run them", [
                    "Each loop runs one instruction over the same 16 operand rows (a, b, c: f0, f1, f2 by fld; x1",
                    "by ld) with no CSR access inside, storing every result (the whole f register, or x14); then",
                    "a second loop compares the results with the expected ones (case n) and fflags is compared",
                    "with the OR of the rows' flags (case n + 1).  Then copy loops: flw/fsw, fld/fsd, misaligned.",
                    "The straight-line programs (fp_s, fp_d) check one case at a time with CSR accesses between,",
                    "which end the loop's chunks: native regions rarely see them.  Expected values: tests/fpref.py."])
    p.lines += ["", "/* run `code` (one instruction and the store of its result) over the 16 rows of `rows`,",
                "   results to fp_results, compare with `expect` */",
                "#define FP_LOOP(n, rows, expect, code...)  \\",
                "    addi TESTNUM, s11, n;               \\",
                "    la a1, rows;                        \\",
                "    la a3, fp_results;                  \\",
                "    li a2, 16;                          \\",
                "81: fld f0, 0(a1);                     \\",
                "    fld f1, 8(a1);                      \\",
                "    fld f2, 16(a1);                     \\",
                "    ld x1, 0(a1);                       \\",
                "    code;                               \\",
                "    addi a1, a1, 24;                    \\",
                "    addi a3, a3, 8;                     \\",
                "    addi a2, a2, -1;                    \\",
                "    bnez a2, 81b;                       \\",
                "    la a1, expect;                      \\",
                "    la a3, fp_results;                  \\",
                "    li a2, 16;                          \\",
                "82: ld x7, 0(a1);                      \\",
                "    ld x14, 0(a3);                      \\",
                "    bne x14, x7, fail;                  \\",
                "    addi a1, a1, 8;                     \\",
                "    addi a3, a3, 8;                     \\",
                "    addi a2, a2, -1;                    \\",
                "    bnez a2, 82b;                       \\",
                "    addi TESTNUM, TESTNUM, 1;           \\",
                "    frflags x15;                        \\",
                "    ld x7, 0(a1);                       \\",
                "    bne x15, x7, fail;                  \\",
                "    fsflags x0", ""]
    data = []
    for f in (S, D):
        rows = loop_rows(f)
        data += ["    .balign 8", f"fp_rows_{f.s}:"]
        data += [f"    .dword 0x{a:016x}, 0x{b:016x}, 0x{c:016x}" for a, b, c in rows]
        p.section(f"{'single' if f is S else 'double'} precision")
        for k, (text, rm, fn, xres) in enumerate(loop_ops(f)):
            n = p.num()
            p.num()                                  # n + 1: the flags
            results = [fn(a, b, c) for a, b, c in rows]
            flags = 0
            for _, fl in results:
                flags |= fl
            label = f"fp_expect_{f.s}{k}"
            data += [f"{label}:"] + [f"    .dword 0x{v & M64:016x}" for v, _ in results]
            data += [f"    .dword 0x{flags:x}" + "                  # the flags: after the 16 results"]
            store = "sd x14, 0(a3)" if xres else "fsd f3, 0(a3)"
            if rm == "dyn":
                p.raw("fsrmi x0, 4")
            p.raw(f"FP_LOOP({n}, fp_rows_{f.s}, {label}, {text}; {store})")
    p.raw("fsrmi x0, 0")

    p.section("rd = x0 in a loop: nothing written (x0 reads 0 after each), the flags still accrue")
    for f in (S, D):
        rows = loop_rows(f)
        n = p.num()
        p.num()
        mx = "w" if f is S else "d"
        flags = 0
        for a, b, c in rows:
            flags |= R.f_to_int(f.fmt, ref_unbox(f, a), RM_RTZ, True, True)[1]
            flags |= R.feq(f.fmt, ref_unbox(f, a), ref_unbox(f, b))[1]
            flags |= R.flt(f.fmt, ref_unbox(f, b), ref_unbox(f, c))[1]
        label = f"fp_expect_x0_{f.s}"
        data += [f"{label}:"] + ["    .dword 0"] * 16 + [f"    .dword 0x{flags:x}"]
        p.raw(f"FP_LOOP({n}, fp_rows_{f.s}, {label}, fcvt.l.{f.s} x0, f0, rtz; feq.{f.s} x0, f0, f1; "
              f"flt.{f.s} x0, f1, f2; fclass.{f.s} x0, f2; fmv.x.{mx} x0, f0; add x14, x0, x0; sd x14, 0(a3))")

    p.section("copy loops: flw/fsw and fld/fsd (aligned, then misaligned: those leave a region for the loop)")
    for ld, st, step, off in (("flw", "fsw", 4, 0), ("fld", "fsd", 8, 0), ("flw", "fsw", 4, 1), ("fld", "fsd", 8, 3)):
        n = p.num()
        p.raw(f"addi TESTNUM, s11, {n}", "la a1, fp_rows_d", f"la a3, fp_results + {off}", f"li a2, {128 // step}",
              "1: " + f"{ld} f4, 0(a1)", f"{st} f4, 0(a3)", f"addi a1, a1, {step}", f"addi a3, a3, {step}",
              "addi a2, a2, -1", "bnez a2, 1b",
              "la a1, fp_rows_d", f"la a3, fp_results + {off}", "li a2, 16",
              "2: ld x7, 0(a1)", "ld x14, 0(a3)", "bne x14, x7, fail", "addi a1, a1, 8", "addi a3, a3, 8",
              "addi a2, a2, -1", "bnez a2, 2b")
    p.raw(f"addi TESTNUM, s11, {p.num()}", "frflags x15", "bnez x15, fail")
    p.lines += ["", "    .pushsection .data"] + data + ["    .balign 8", "fp_results: .skip 136", "    .popsection"]
    return p


def main():
    isa = os.path.join(GUEST, "isa")
    for f in (S, D):
        p = Program(os.path.join(isa, f"fp_{f.s}.S"),
                    f"RV64{'F' if f is S else 'D'}: every {'single' if f is S else 'double'}-precision "
                    "computational instruction on its edge cases", [
                        "Each case: the operands from .data, fflags cleared, one instruction (static rm, or dyn with",
                        "frm set just before), then the whole f register (so the NaN-box too) or x register and",
                        "fflags compared with the values written here.  Expected values: see gen_fp.py."])
        arith(p, f)
        misc(p, f)
        cvt(p, f)
        p.raw("csrwi frm, 0")
        p.write()
    loops_program(os.path.join(isa, "fp_loops.S")).write()
    rm_program(os.path.join(isa, "fp_rm.S")).write()
    off_program(os.path.join(GUEST, "priv", "fp_off.S")).write()


if __name__ == "__main__":
    main()
