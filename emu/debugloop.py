"""run_checked: loop.run, one step at a time, stopping before a load from a read-watched range.

Used instead of emu.loop.run only while a debugger has a read or access watchpoint
set (see emu/debug.py for why the hot loop itself has no load-side check), or the guest
has a load/store trigger armed (emu/trigger.py: its breakpoint exception is taken before
the access, as a step).  Same
arguments and EXIT_* results as loop.run; a read hit returns EXIT_WATCH with the
load not executed (st[ST_PC] at it) and st[ST_DBG_HIT] = WATCH_READ.
"""
from numba import njit

from emu import isa
from emu.state import (ST_PC, ST_WFI, ST_FETCH_VM, ST_FETCH_CTX, ICACHE_MASK, TLB_FETCH, TLB_LOAD,
                       EXIT_BUDGET, EXIT_STOP, EXIT_WATCH)
from emu.timer import update_mtip
from emu.csr import sample_external
from emu.trap import pending_interrupt
from emu.mmu import translate
from emu.memory import fetch_raw, data_paddr
from emu.debug import watch_hit, at_breakpoint, WATCH_READ
from emu.memory import trigger_fire
from emu.trigger import access_match
from emu.spec import MC6_LOAD, MC6_STORE
from emu.state import ST_TRIG_LDST
from emu.loop import run

FIRST_LOAD, LAST_LOAD, FIRST_A, LAST_A = isa.FIRST_LOAD, isa.LAST_LOAD, isa.FIRST_A, isa.LAST_A
FIRST_STORE, LAST_STORE = isa.FIRST_STORE, isa.LAST_STORE
MEM_SIZE = isa.MEM_SIZE
# the A ops that read memory: all but sc (per op, from emu/isa.py's table)
A_READS = isa.op_array(lambda r: r.group == isa.Group.A and r.alu != "sc")
A_WRITES = isa.op_array(lambda r: r.group == isa.Group.A and r.alu != "lr")   # all but lr


@njit(cache=True)
def next_access(x, st, csr, mem, icache, tlb):
    """The data access of the instruction at pc: -> (kind bits: trigger.MC6_LOAD and/or MC6_STORE, 0 = none,
    virtual address, size); kind 0 when a breakpoint or a fetch fault comes first."""
    pc = st[ST_PC]
    if at_breakpoint(pc, st):
        return 0, 0, 0                                # the breakpoint comes first
    p = pc
    if st[ST_FETCH_VM] != 0:
        p = translate(pc, TLB_FETCH, st[ST_FETCH_CTX], st, csr, mem, tlb)
        if p < 0:
            return 0, 0, 0                            # a fetch fault comes first
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
            return 0, 0, 0
        op, _rd, rs1, _rs2, imm, _ilen = isa.decode(w)
    if FIRST_LOAD <= op <= LAST_LOAD:
        return MC6_LOAD, x[rs1] + imm, MEM_SIZE[op]
    if FIRST_STORE <= op <= LAST_STORE:
        return MC6_STORE, x[rs1] + imm, MEM_SIZE[op]
    if FIRST_A <= op <= LAST_A:
        kind = (MC6_LOAD if A_READS[op] != 0 else 0) | (MC6_STORE if A_WRITES[op] != 0 else 0)
        return kind, x[rs1], MEM_SIZE[op]
    return 0, 0, 0


@njit(cache=True)
def reads_watched(x, st, csr, mem, icache, tlb):
    """Would the instruction at pc read a read-watched byte? (records the hit)"""
    kind, va, size = next_access(x, st, csr, mem, icache, tlb)
    if (kind & MC6_LOAD) == 0:
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
def access_triggered(x, st, csr, mem, icache, tlb):
    """Does a load/store trigger (emu/trigger.py) fire on the instruction at pc?  Then its breakpoint
    exception is taken (before the access: nothing is read or written)."""
    kind, va, size = next_access(x, st, csr, mem, icache, tlb)
    if kind == 0:
        return False
    i = access_match(kind, va, size, st, csr)
    if i < 0:
        return False
    trigger_fire(i, va, st[ST_PC], st, csr)
    return True


@njit(cache=True)
def reads_next(x, st, csr, mem, icache, tlb):
    """Will the next step read a read-watched byte? run_checked's test before a step (records the hit).

    For a host that steps the hart itself (lifecycle/debug/hooks.py steps off a breakpoint)."""
    update_mtip(st, csr)
    sample_external(st, csr)
    return st[ST_WFI] == 0 and pending_interrupt(st, csr) < 0 and reads_watched(x, st, csr, mem, icache, tlb)


@njit(nogil=True, cache=True)
def run_checked(x, st, csr, mem, icache, tlb, pflags, mmio, stop, budget):
    """loop.run(..., budget) one step at a time, checking each instruction's access first: for a
    guest load/store trigger (emu/trigger.py), then for a read watchpoint."""
    for _ in range(budget):
        if stop[0] != 0:
            return EXIT_STOP
        update_mtip(st, csr)
        sample_external(st, csr)
        # an interrupt about to be taken, or a wfi, runs no instruction at pc
        if st[ST_WFI] == 0 and pending_interrupt(st, csr) < 0:
            if st[ST_TRIG_LDST] != 0 and access_triggered(x, st, csr, mem, icache, tlb):
                continue                              # a step: the breakpoint exception was taken
            if reads_watched(x, st, csr, mem, icache, tlb):
                return EXIT_WATCH
        why = run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, 1)
        if why != EXIT_BUDGET:
            return why
    return EXIT_BUDGET
