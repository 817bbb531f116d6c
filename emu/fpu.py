"""F and D: the FP instructions' meaning, around the arithmetic of emu/softfloat.py.

The loop (emu/loop.py) runs flw/fld/fsw/fsd itself while mstatus.FS is Dirty, and leaves the
instruction loop with PENDING_FP for the rest, and for any FP instruction while FS is not Dirty.
exec_fp() then
  - with FS Off: raises illegal instruction (every FP instruction and FP CSR traps: Linux turns FP
    off for a task until it first uses it);
  - with FS Initial or Clean: sets it Dirty (any FP instruction here counts as writing FP state, a
    choice the spec allows: FS may be set Dirty conservatively) and asks the loop to run the
    instruction again in a new chunk, which reads FS Dirty;
  - else executes the instruction: resolves its rounding mode (rm 7 reads frm; 5, 6 and a
    reserved frm are illegal instruction), unboxes single operands (a single lives in the low half of
    a 64-bit f register whose upper half is all ones: anything else reads as the canonical NaN),
    boxes single results, and accrues the exception flags into fcsr.fflags.

Registers are indices into x[] (emu/isa.py: f registers at F_BASE..F_BASE+31, the decoder maps them).
"""
from enum import IntEnum

import numpy as np
from numba import njit, cfunc, carray, types

from emu import isa
from emu.alu import sext32
from emu.spec import (MSTATUS, MSTATUS_FS, FS_OFF, FS_DIRTY, FCSR_FRM_SHIFT, RM_DYN, RM_RMM, RM_RNE, FFLAG_NX, FMT_S,
                      FMT_D, CANONICAL_NAN_S, NAN_BOX, N_REGS)
from emu.state import ST_FCSR, ST_SIZE
from emu.cold import illegal
from emu import softfloat as sf


class FpStatus(IntEnum):
    RETIRED = 0      # done: the loop moves on to the next instruction
    TRAPPED = 1      # illegal instruction taken (pc in st[ST_PC])
    AGAIN = 2        # FS made Dirty: the loop runs the instruction again in a new chunk


FP_RETIRED = int(FpStatus.RETIRED)
FP_TRAPPED = int(FpStatus.TRAPPED)
FP_AGAIN = int(FpStatus.AGAIN)

# per op, from the rows (emu/isa.py): the operation (FOP_* in isa.FP_OPS order), the format, and
# whether it has a rounding-mode field
(FOP_ADD, FOP_SUB, FOP_MUL, FOP_DIV, FOP_SQRT, FOP_SGNJ, FOP_SGNJN, FOP_SGNJX, FOP_MIN, FOP_MAX, FOP_EQ,
 FOP_LT, FOP_LE, FOP_CLASS, FOP_MADD, FOP_MSUB, FOP_NMSUB, FOP_NMADD, FOP_F2I, FOP_I2F, FOP_F2F, FOP_MVXF,
 FOP_MVFX) = range(len(isa.FP_OPS))
FP_FUNC = isa.op_array(lambda r: isa.FP_OPS.index(r.alu) if r.group == isa.Group.FP else -1, -1)
FP_FMT = isa.op_array(lambda r: FMT_D if r.fp & isa.Fp.DOUBLE else FMT_S)
FP_HAS_RM = isa.op_array(lambda r: (r.fp & isa.Fp.RM) != 0)
FP_W32 = isa.op_array(lambda r: r.w32)
FP_SIGNED = isa.op_array(lambda r: r.signed)
FIRST_FP, LAST_FP = isa.FIRST_FP, isa.LAST_FP
RS3_SHIFT = isa.RS3_SHIFT
M32 = 0xFFFFFFFF


@njit(cache=True)
def unbox(fmt, v):
    """An f register's value as an operand of the format: a single must be NaN-boxed."""
    if fmt == FMT_D:
        return v
    if (v >> 32) != -1:
        return CANONICAL_NAN_S
    return v & M32


@njit(cache=True)
def box(fmt, v):
    """A result of the format as the f register holds it."""
    if fmt == FMT_D:
        return v
    return (v & M32) | NAN_BOX


@njit(cache=True)
def sign_inject(fmt, a, b, func):
    """fsgnj/fsgnjn/fsgnjx: a's magnitude with b's sign, its inverse, or the two signs' xor."""
    sbit = 31 if fmt == FMT_S else 63
    sa = (a >> sbit) & 1
    sb = (b >> sbit) & 1
    if func == FOP_SGNJN:
        sb ^= 1
    elif func == FOP_SGNJX:
        sb ^= sa
    if fmt == FMT_S:
        return (a & 0x7FFFFFFF) | (sb << 31)
    return (a & sf.MAG64) | (sf.INT64_MIN if sb != 0 else 0)


@njit(cache=True)
def host_fast(func, fmt, a, b, x, rd, rs1, rs2):
    """fadd/fsub/fmul/fdiv by the host's own IEEE arithmetic, when that is sure to give the spec's
    result and flags: the mode is RNE (the host's, which it rounds correctly for + - * /), fflags.NX
    is set already (flags accrue: an inexact result changes nothing more), and the operands' exponents
    rule out every other flag and every special result: no NaN or infinity in or out, no overflow,
    no tiny result for * and / (a tiny sum is exact: no UF).  -> False: softfloat does it.
    (emu/regions/ir.py's fp_fast inlines the same idea, with fused multiply-add and sqrt too, testing the
    host's result instead of the operands.)"""
    if fmt == FMT_D:
        emax, bias = 0x7FF, 1023
        ea = (a >> 52) & 0x7FF
        eb = (b >> 52) & 0x7FF
        za = (a & sf.MAG64) == 0
        zb = (b & sf.MAG64) == 0
    else:
        emax, bias = 0xFF, 127
        ea = (a >> 23) & 0xFF
        eb = (b >> 23) & 0xFF
        za = (a & 0x7FFFFFFF) == 0
        zb = (b & 0x7FFFFFFF) == 0
    if func == FOP_ADD or func == FOP_SUB:
        ok = ea <= emax - 2 and eb <= emax - 2                       # |sum| < 2**emax_exponent
    elif func == FOP_MUL:
        e = ea + eb - bias                                           # the product's exponent, +0..2
        ok = ((za and eb < emax) or (zb and ea < emax)
              or (1 <= ea < emax and 1 <= eb < emax and e >= 2 and e + 2 <= emax - 1))
    elif func == FOP_DIV:
        e = ea - eb + bias                                           # the quotient's exponent, -1..+1
        ok = eb >= 1 and eb < emax and (za or (ea >= 1 and ea < emax and e >= 3 and e <= emax - 2))
    else:
        ok = False
    if not ok:
        return False
    if fmt == FMT_D:
        xf = x.view(np.float64)
        fa = xf[rs1]
        fb = xf[rs2]
        if func == FOP_ADD:
            xf[rd] = fa + fb
        elif func == FOP_SUB:
            xf[rd] = fa - fb
        elif func == FOP_MUL:
            xf[rd] = fa * fb
        else:
            xf[rd] = fa / fb
    else:
        xs = x.view(np.float32)                                      # a single: the low half (little-endian)
        sa = xs[2 * rs1]
        sb = xs[2 * rs2]
        if func == FOP_ADD:
            r = sa + sb
        elif func == FOP_SUB:
            r = sa - sb
        elif func == FOP_MUL:
            r = sa * sb
        else:
            r = sa / sb
        xs[2 * rd] = r
        x[rd] = (x[rd] & M32) | NAN_BOX
    return True


@njit(cache=True)
def exec_fp(op, rd, rs1, rs2, imm, pc, x, st, csr, mem, tlb):
    """One FP instruction (see the module docstring). -> FP_RETIRED, FP_TRAPPED or FP_AGAIN."""
    fs = csr[MSTATUS] & MSTATUS_FS
    if fs == FS_OFF:
        illegal(pc, st, csr, mem, tlb)
        return FP_TRAPPED
    if fs != FS_DIRTY:
        csr[MSTATUS] |= MSTATUS_FS                    # Dirty (mstatus.SD is read as FS == Dirty)
        return FP_AGAIN
    if op < FIRST_FP or op > LAST_FP:
        return FP_AGAIN                               # a load or store: the loop runs it, FS is Dirty now
    if not fp_compute(op, rd, rs1, rs2, imm, x, st):
        illegal(pc, st, csr, mem, tlb)
        return FP_TRAPPED
    return FP_RETIRED


@njit(cache=True)
def fp_compute(op, rd, rs1, rs2, imm, x, st):
    """An F/D arithmetic row's meaning (FS is Dirty): x[rd] and fcsr (st[ST_FCSR]) updated.
    -> False for a reserved rounding mode (illegal instruction; nothing written)."""
    func = FP_FUNC[op]
    fmt = FP_FMT[op]
    rm = imm & 7
    if FP_HAS_RM[op] != 0:
        if rm == RM_DYN:
            rm = (st[ST_FCSR] >> FCSR_FRM_SHIFT) & 7
        if rm > RM_RMM:
            return False
    flags = 0
    if func == FOP_MVXF:                              # fmv.x.w / fmv.x.d: the bits, as they are
        x[rd] = sext32(x[rs1]) if fmt == FMT_S else x[rs1]
    elif func == FOP_MVFX:                            # fmv.w.x / fmv.d.x
        x[rd] = box(fmt, x[rs1])
    elif func == FOP_I2F:
        v, flags = sf.int_to_f(fmt, x[rs1], rm, FP_W32[op] == 0, FP_SIGNED[op] != 0)
        x[rd] = box(fmt, v)
    elif func == FOP_F2F:                             # fcvt.s.d (fmt S) or fcvt.d.s (fmt D)
        v, flags = sf.f_to_f(fmt, unbox(1 - fmt, x[rs1]), rm)
        x[rd] = box(fmt, v)
    else:
        a = unbox(fmt, x[rs1])
        if func == FOP_F2I:
            v, flags = sf.f_to_int(fmt, a, rm, FP_W32[op] == 0, FP_SIGNED[op] != 0)
            x[rd] = v
        elif func == FOP_CLASS:
            x[rd] = sf.f_class(fmt, a)
        elif func == FOP_SQRT:
            v, flags = sf.f_sqrt(fmt, a, rm)
            x[rd] = box(fmt, v)
        else:
            b = unbox(fmt, x[rs2])
            if func == FOP_EQ:
                v, flags = sf.f_eq(fmt, a, b)
                x[rd] = v
            elif func == FOP_LT:
                v, flags = sf.f_lt(fmt, a, b)
                x[rd] = v
            elif func == FOP_LE:
                v, flags = sf.f_le(fmt, a, b)
                x[rd] = v
            elif rm == RM_RNE and (st[ST_FCSR] & FFLAG_NX) != 0 and host_fast(func, fmt, a, b, x, rd, rs1, rs2):
                pass                                  # the host did it (see host_fast)
            else:
                if func == FOP_ADD:
                    v, flags = sf.f_add(fmt, a, b, rm)
                elif func == FOP_SUB:
                    v, flags = sf.f_sub(fmt, a, b, rm)
                elif func == FOP_MUL:
                    v, flags = sf.f_mul(fmt, a, b, rm)
                elif func == FOP_DIV:
                    v, flags = sf.f_div(fmt, a, b, rm)
                elif func == FOP_MIN:
                    v, flags = sf.f_min(fmt, a, b)
                elif func == FOP_MAX:
                    v, flags = sf.f_max(fmt, a, b)
                elif func == FOP_SGNJ or func == FOP_SGNJN or func == FOP_SGNJX:
                    v = sign_inject(fmt, a, b, func)
                else:                                 # the fused multiply-adds
                    c = unbox(fmt, x[(imm >> RS3_SHIFT) & 127])
                    v, flags = sf.f_fma(fmt, a, b, c, rm, 1 if (func == FOP_NMSUB or func == FOP_NMADD) else 0,
                                        1 if (func == FOP_MSUB or func == FOP_NMADD) else 0)
                x[rd] = box(fmt, v)
    if flags != 0:
        st[ST_FCSR] |= flags
    return True


_native = []


def native_address():
    """The address of fp_compute as a C function, for native regions (emu/regions/ir.py calls it):
    int64 f(op, int64 *x, int64 *st, rd, rs1, rs2, imm) -> 1 done, 0 a reserved rounding mode.
    Built on first use: only a process that compiles regions needs it."""
    if not _native:
        sig = types.int64(types.int64, types.CPointer(types.int64), types.CPointer(types.int64), types.int64,
                          types.int64, types.int64, types.int64)

        @cfunc(sig, cache=True)
        def fp_native(op, xp, stp, rd, rs1, rs2, imm):
            x = carray(xp, (N_REGS,))
            st = carray(stp, (ST_SIZE,))
            return 1 if fp_compute(op, rd, rs1, rs2, imm, x, st) else 0
        _native.append(fp_native)
    return _native[0].address
