"""call_region: a call from the Numba loop into a native code region (emu/regions/).

A compiled region is a plain C-ABI function whose address is only known at run
time, so Numba cannot call it as a global; this intrinsic emits the indirect
call itself.  Every argument is an int64 (array data pointers are passed as
addresses), and so is the result (a REGION_* status, see emu/regions/).

Under the plain-Python engine (NUMBA_DISABLE_JIT=1) regions are never
compiled, and the loop never reaches this call.
"""
from enum import IntEnum

from llvmlite import ir
from numba import njit
from numba.core import types
from numba.extending import intrinsic

I64 = ir.IntType(64)
REGION_ARGS = 9     # x, mem, st, pflags, tlb, icache (the region table), pc, instret, limit

class RegionStatus(IntEnum):
    """What a region returns."""
    DONE = 0        # st[ST_PC], st[ST_INSTRET] say where it stopped
    HOOKS = 1       # ... and its last store hit a flagged page: st[ST_REGION_ADDR/SIZE]


# the plain ints njit code and the IR writer use
REGION_DONE = int(RegionStatus.DONE)
REGION_HOOKS = int(RegionStatus.HOOKS)


@njit(cache=True)
def region_key(fetch_vm, data_vm, dctx, fp, cbze):
    """The mode a region is compiled for, part of its key in the region table: the translation
    mode, whether FP instructions may run (mstatus.FS Dirty; else the region ends before them), and
    whether cbo.zero may (cold.cbo_enabled; else it ends before it and the loop traps).  The cbo.zero
    bit is set where it is illegal, so M-mode's keys, and those where the enables are on, stay as
    they were."""
    return (1 if fetch_vm else 0) | (2 if data_vm else 0) | (dctx << 2) | (1024 if fp else 0) | (0 if cbze else 2048)


@intrinsic
def call_region(typingctx, fn, xp, memp, stp, pflagsp, tlbp, icachep, pc, instret, limit):
    sig = types.int64(*([types.int64] * (REGION_ARGS + 1)))

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(I64, [I64] * REGION_ARGS)
        target = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(target, list(args[1:]))

    return sig, codegen
