"""run_checked: loop.run, one step at a time, stopping before a load from a read-watched range.

Used instead of emu.loop.run only while a debugger has a read or access watchpoint
set (see emu/debug.py for why the hot loop itself has no load-side check).  Same
arguments and EXIT_* results as loop.run; a read hit returns EXIT_WATCH with the
load not executed (st[ST_PC] at it) and st[ST_DBG_HIT] = WATCH_READ.
"""
from numba import njit

from emu import isa
from emu.state import (ST_PC, ST_WFI, ST_FETCH_VM, ST_FETCH_CTX, ICACHE_MASK, TLB_FETCH, TLB_LOAD,
                       EXIT_BUDGET, EXIT_STOP, EXIT_WATCH)
from emu.clint import update_mtip
from emu.csr import sample_external
from emu.trap import pending_interrupt
from emu.mmu import translate
from emu.memory import fetch_raw, data_paddr, LOAD_SIZE
from emu.debug import watch_hit, at_breakpoint, WATCH_READ
from emu.loop import run

OP_LB = isa.OP["lb"]
OP_LWU = isa.OP["lwu"]
OP_LR_W = isa.OP["lr.w"]
OP_SC_W = isa.OP["sc.w"]
OP_LR_D = isa.OP["lr.d"]
OP_SC_D = isa.OP["sc.d"]
OP_AMO_LAST = isa.OP["amomaxu.d"]


@njit(cache=True)
def reads_watched(x, st, csr, mem, icache, tlb):
    """Would the instruction at pc read a read-watched byte? (records the hit)"""
    pc = st[ST_PC]
    if at_breakpoint(pc, st):
        return False                                  # the breakpoint comes first
    p = pc
    if st[ST_FETCH_VM] != 0:
        p = translate(pc, TLB_FETCH, st[ST_FETCH_CTX], st, csr, mem, tlb)
        if p < 0:
            return False                              # a fetch fault comes first
    slot = (p >> 1) & ICACHE_MASK
    op = -1
    rs1 = 0
    imm = 0
    if (icache[2 * slot] >> 8) == p:
        op = icache[2 * slot] & 0xFF
        w1 = icache[2 * slot + 1]
        rs1 = (w1 >> 8) & 31
        imm = w1 >> 32
    else:
        ok, w, _p, _s, _c, _t = fetch_raw(pc, st, csr, mem, tlb)
        if not ok:
            return False
        op, _rd, rs1, _rs2, imm, _ilen = isa.decode(w)
    if OP_LB <= op <= OP_LWU:
        va = x[rs1] + imm
        size = LOAD_SIZE[op - OP_LB]
    elif OP_LR_W <= op <= OP_AMO_LAST and op != OP_SC_W and op != OP_SC_D:
        va = x[rs1]
        size = 8 if op >= OP_LR_D else 4
    else:
        return False
    for i in range(size):                             # each byte: a misaligned load may straddle pages
        if i == 0 or ((va + i) & 0xFFF) == 0:
            pa = data_paddr(va + i, TLB_LOAD, st, csr, mem, tlb)
            if pa < 0:
                return False                          # it will fault instead
            n = min(size - i, 4096 - ((va + i) & 0xFFF))
            if watch_hit(pa, n, WATCH_READ, st):
                return True
    return False


@njit(cache=True)
def reads_next(x, st, csr, mem, icache, tlb):
    """Will the next step read a read-watched byte? run_checked's test before a step (records the hit).

    For a host that steps the hart itself (lifecycle/hooks.py steps off a breakpoint)."""
    update_mtip(st, csr)
    sample_external(st, csr)
    return st[ST_WFI] == 0 and pending_interrupt(st, csr) < 0 and reads_watched(x, st, csr, mem, icache, tlb)


@njit(nogil=True, cache=True)
def run_checked(x, st, csr, mem, icache, tlb, pflags, mmio, stop, budget):
    """loop.run(..., budget) one step at a time, checking each instruction's loads first."""
    for _ in range(budget):
        if stop[0] != 0:
            return EXIT_STOP
        update_mtip(st, csr)
        sample_external(st, csr)
        # an interrupt about to be taken, or a wfi, runs no instruction at pc
        if st[ST_WFI] == 0 and pending_interrupt(st, csr) < 0 and reads_watched(x, st, csr, mem, icache, tlb):
            return EXIT_WATCH
        why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, 1)
        if why != EXIT_BUDGET:
            return why
    return EXIT_BUDGET
