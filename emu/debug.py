"""Debugger support in the hart: breakpoints and watchpoints that leave the hot loop untouched.

emu/loop.py has no debugger code at all. Every change to that function, even
in its slow-path dispatch, made LLVM spill the per-instruction loop's
registers (the decode cache and register file pointers, the pc): about 3% of
speed (see lifecycle/debug/gdbstub.py). So breakpoints and watchpoints use exits the
loop already has. debug_exit(st, why) tells what they were.

The tables live in st's debugger area (ST_DBG_* in emu/state.py). The host
writes them between runs with set_breakpoints() and set_watches(). With no
debugger attached they are all zero, and the only cost is one test of
st[ST_DBG_NBP] per decode-cache miss.

Breakpoints: decode misses.
  st[ST_DBG_BP:] holds up to DBG_MAX_BP pcs. These are virtual addresses, as
  GDB gives them (physical in bare mode, where pc = paddr). set_breakpoints()
  empties the decode cache, so every instruction is decoded again, and
  memory.fetch_decode asks breakpoint_check(), which knows the virtual pc and
  the physical address:
  * pc in the table: fetch_decode fills no slot and returns -1 without taking
    a trap. That is the loop's existing "the handler cannot be fetched" exit:
    EXIT_FATAL, with st[ST_PC] at the breakpoint and nothing retired.
    st[ST_DBG_BREAK] marks it, and debug_exit() turns it into EXIT_BREAK. The
    slot is never filled, so the next run stops there again.
  * A breakpoint's physical instruction reached through another address (an
    alias), and, while some breakpoint pc lies outside RAM (a kernel's virtual
    address, say), any instruction decoded at its physical address (bare, or
    mapped to itself): the instruction goes to the scratch slot (uncached), as
    page straddlers already do. Otherwise
    code that runs physically before the MMU comes on would fill the cache
    slot, and the breakpoint at its virtual address would never miss again.
  To resume from a breakpoint, the host steps one instruction with that pc out
  of the table, then puts it back.

Write watchpoints (GDB Z2; the write half of Z4): PF_WATCH in pflags.
  A watched range is translated to physical ranges, one per page, when GDB
  inserts it. PF_WATCH on their pages sends every store there to
  memory.store_hooks, as every flagged page does: loop PENDING_HOOKS,
  store_slow and cold.exec_atomic all end there. store_hooks checks the ranges
  (watch_hit), records the hit in st[ST_DBG_HIT] and st[ST_DBG_HIT_ADDR], and
  returns True. Each of those paths then leaves the loop with EXIT_HTIF, and
  debug_exit() reports it as EXIT_WATCH (a range may not cover HTIF tohost).
  The store has been done and retired: the trap fires after the access, with
  pc at the next instruction. GDB's RISC-V target treats watchpoints as
  non-steppable: it expects the access not yet done and steps over it itself.
  The GDB stub answers that step with the one that already happened, so GDB
  reports the stop after the store, as on hardware. Stores by devices (DMA)
  and by the host are not watched.

Read watchpoints (GDB Z3, and the read half of Z4): a checked loop.
  The hot loop reads RAM without a flag test, and adding one would slow every
  guest. So while a read or access watchpoint is set, the machine runs
  emu/debugloop.run_checked instead of loop.run. Before each step it looks at
  the instruction at pc (a load, LR or AMO), translates its data address and
  checks it against the read ranges. On a hit it returns EXIT_WATCH before the
  access, with nothing retired, as GDB expects. That costs about 10x of the
  speed, and only while such a watchpoint is set.

GDB's watchpoints (as its hardware breakpoints) also hold one of the hart's Sdtrig triggers each
(emu/trigger.py, set_debugger_triggers; lifecycle/debug/gdbtarget.py), so the guest sees them in
use. Such a load/store trigger matches nothing itself: this watch table does the matching for it.

The table's other entries (lifecycle/debug/hooks.py, Python hooks). An entry's
st[ST_DBG_BP_PA + i] says what it is: a paddr or -1 for a breakpoint, or
  BP_RANGE   pcs st[ST_DBG_BP + i] ..= st[ST_DBG_BP + i + 1] (signed, inclusive; the
             next entry is BP_RANGE_END): every one of them stops, and none is cached,
             so the loop leaves at every instruction in the range and nowhere else;
  BP_STEP    the pc being stepped over: decoded uncached, without a stop (NO_PC, an
             odd pc, matches nothing). Always entry 0 of a hook table, so a hook steps
             off a breakpoint by writing one word, without a decode-cache flush;
  BP_TRAP    entries 1 (M) and 2 (S) of a hook table with trap hooks: emu/trap.py's
             take_trap writes the handler's pc there on every trap, so the handler's
             first instruction stops (the host checks st[ST_TRAPS] + st[ST_IRQS] to
             tell a trap from a plain jump there).
Watch hits record the access too: st[ST_DBG_HIT] = kind | size << 8 | (hit - paddr) << 24
(take_access() reads it; take_hit() gives the kind and the address in the range).

Memory for the debugger: debug_translate() is the guest's fetch-side view of
an address. It is Sv39 outside M-mode when satp selects it, and the address
itself otherwise. The walk is side-effect free: no TLB fill, no A/D update,
no permission check, like QEMU's get_phys_page_debug.
"""
import numpy as np
from numba import njit

from emu import state as S
from emu.ints import s64, u64
from emu.spec import SATP, SATP_MODE_SHIFT, SATP_MODE_BARE, PRV_M
from emu.mmu import lookup, leaf_address, WALK_OK
from emu.trigger import trigger_stops, set_debugger_triggers
from emu.state import (ST_DBG_NBP, ST_DBG_NWATCH, ST_DBG_HIT, ST_DBG_HIT_ADDR, ST_DBG_BP, ST_DBG_BP_PA,
                       ST_DBG_WATCH, ST_DBG_BREAK, ST_DBG_VIRT_BP)

WATCH_WRITE = 1          # kind bits of a watch range
WATCH_READ = 2
# kinds of breakpoint-table entries, in st[ST_DBG_BP_PA + i] (a breakpoint has its paddr there, or -1)
BP_RANGE = -2
BP_RANGE_END = -3
BP_STEP = -4
BP_TRAP = -5
NO_PC = 1                # an odd pc: no instruction is there (IALIGN = 16)
# st[ST_REGION_BLOCKED] bits: why native regions (emu/regions/) are off
REGIONS_TRAPS = 1        # trap hooks: BP_TRAP entries
REGIONS_READS = 2        # read watchpoints
REGIONS_TRIGGERS = 4     # the guest's load/store triggers (emu/trigger.py: the checked loop runs)
SLOT_STEP = 0            # hook tables: the step-over entry ...
SLOT_TRAP_M = 1          # ... and, with trap hooks, the last M and S trap handlers
SLOT_TRAP_S = 2


@njit(cache=True)
def table_hit(pc, st):
    """-> the index of the breakpoint-table entry pc is at (for a range, its first entry), or -1."""
    n = min(st[ST_DBG_NBP], S.DBG_MAX_BP)
    i = 0
    while i < n:
        k = st[ST_DBG_BP_PA + i]
        v = st[ST_DBG_BP + i]
        if k == BP_RANGE:
            if v <= pc <= st[ST_DBG_BP + i + 1]:
                return i
            i += 2
            continue
        if v == pc:
            return i
        i += 1
    return -1


@njit(cache=True)
def breakpoint_check(pc, paddr, st):
    """fetch_decode, breakpoints set: -> -1 stop here (marked), 1 decode uncached, 0 as usual."""
    i = table_hit(pc, st)
    if i >= 0:
        k = st[ST_DBG_BP_PA + i]
        if k == BP_STEP:
            return 1                      # stepped over: run it once from the scratch slot
        if k >= -1:
            st[ST_DBG_BP_PA + i] = paddr  # (a range's entries keep their kind)
        st[ST_DBG_BREAK] = 1
        return -1
    if st[ST_DBG_VIRT_BP] != 0 and pc == paddr:
        return 1
    for i in range(min(st[ST_DBG_NBP], S.DBG_MAX_BP)):
        if st[ST_DBG_BP_PA + i] == paddr:  # (the kinds are negative, paddrs are not)
            return 1
    return 0


@njit(cache=True)
def at_breakpoint(pc, st):
    """Would the instruction at pc stop at a breakpoint? (no side effects)"""
    i = table_hit(pc, st)
    return i >= 0 and st[ST_DBG_BP_PA + i] != BP_STEP


def debug_exit(st, why):
    """The loop's exit reason, with the debugger's read off it: EXIT_BREAK, EXIT_WATCH or `why`."""
    if why == S.EXIT_DEBUG_BREAK and st[ST_DBG_BREAK] != 0:    # == EXIT_FATAL: see emu/state.py
        st[ST_DBG_BREAK] = 0
        st[S.ST_FATAL] = S.FATAL_NONE
        return S.EXIT_BREAK
    if why == S.EXIT_DEBUG_WATCH and st[ST_DBG_HIT] != 0:      # == EXIT_HTIF: see emu/state.py
        return S.EXIT_WATCH
    return why


@njit(cache=True)
def watch_hit(paddr, size, kind, st):
    """Does [paddr, paddr + size) touch a watch range of `kind`? Records the hit in st."""
    n = min(st[ST_DBG_NWATCH], S.DBG_MAX_WATCH)
    for i in range(n):
        b = ST_DBG_WATCH + 3 * i
        lo = st[b]
        if (st[b + 2] & kind) != 0 and paddr < st[b + 1] and lo < paddr + size:
            hit = paddr if paddr > lo else lo
            st[ST_DBG_HIT] = kind | (size << 8) | ((hit - paddr) << 24)
            st[ST_DBG_HIT_ADDR] = hit
            return True
    return False


# --------------------------------------------------------------------------- host side

def set_breakpoints(hart, pcs, ranges=(), hooks=False, traps=False):
    """Install the breakpoint table (an iterable of pcs). Empties the decode cache.

    ranges: (lo, hi) pairs of pcs, inclusive, that all stop (two entries each); hooks:
    a hook table (lifecycle/debug/hooks.py), with the BP_STEP entry first and, with traps,
    the two BP_TRAP entries after it.
    """
    pcs = sorted({u64(p) for p in pcs})
    spans = []
    for lo, hi in ranges:
        lo, hi = s64(lo), s64(hi)
        if lo <= hi:
            spans.append((lo, hi))
        else:                                     # it crosses 2**63: two signed ranges
            spans += [(lo, 2**63 - 1), (-2**63, hi)]
    head = [(NO_PC, BP_STEP)] if hooks else []
    if hooks and traps:
        head += [(NO_PC, BP_TRAP), (NO_PC, BP_TRAP)]
    n = len(head) + len(pcs) + 2 * len(spans)
    if n > S.DBG_MAX_BP:
        raise ValueError(f"{len(pcs)} breakpoints" + (f" and {len(spans)} ranges" if spans else "")
                         + f" need {n} table entries: at most {S.DBG_MAX_BP}")
    st = hart.st
    base, size = hart.ram_base, hart.ram_size
    st[ST_DBG_NBP] = 0
    virt = 0
    i = 0
    for v, k in head:
        st[ST_DBG_BP + i], st[ST_DBG_BP_PA + i] = v, k
        i += 1
    for p in pcs:
        st[ST_DBG_BP + i] = s64(p)
        pa = debug_translate(hart, p)
        st[ST_DBG_BP_PA + i] = pa if pa is not None and base <= pa < base + size else -1
        if not base <= p < base + size:
            virt = 1
        i += 1
    for lo, hi in spans:
        st[ST_DBG_BP + i], st[ST_DBG_BP_PA + i] = lo, BP_RANGE
        st[ST_DBG_BP + i + 1], st[ST_DBG_BP_PA + i + 1] = hi, BP_RANGE_END
        if not base <= lo <= hi < base + size:
            virt = 1
        i += 2
    st[ST_DBG_VIRT_BP] = virt
    st[ST_DBG_BREAK] = 0
    st[ST_DBG_NBP] = n
    # native regions (emu/regions/) end before every pc in this table, but a trap handler's pc
    # is only known when the trap is taken: with trap entries, the loop runs alone
    st[S.ST_REGION_BLOCKED] = (int(st[S.ST_REGION_BLOCKED]) & ~REGIONS_TRAPS) | (REGIONS_TRAPS if traps and hooks else 0)
    hart.flush_decode_cache()          # (and the native regions, compiled without these stops)


def set_watches(hart, ranges):
    """Install the watch table: (paddr lo, paddr hi, kind bits) in RAM. Sets PF_WATCH where writes are watched."""
    ranges = [(int(lo), int(hi), int(k)) for lo, hi, k in ranges]
    if len(ranges) > S.DBG_MAX_WATCH:
        raise ValueError(f"{len(ranges)} watch ranges: at most {S.DBG_MAX_WATCH}")
    st, pflags = hart.st, hart.pflags
    base, size = hart.ram_base, hart.ram_size
    tohost = int(st[S.ST_TOHOST])
    for lo, hi, _k in ranges:
        if not (base <= lo < hi <= base + size):
            raise ValueError(f"watch range 0x{lo:x}..0x{hi:x} is not in RAM")
        if tohost >= 0 and lo < tohost + 16 and tohost < hi:
            raise ValueError(f"watch range 0x{lo:x}..0x{hi:x} covers HTIF tohost/fromhost")
    st[ST_DBG_NWATCH] = 0
    pflags &= np.uint8(~S.PF_WATCH & 0xFF)
    for i, (lo, hi, k) in enumerate(ranges):
        b = ST_DBG_WATCH + 3 * i
        st[b], st[b + 1], st[b + 2] = lo, hi, k
        if k & WATCH_WRITE:
            pflags[(lo - base) >> 12:((hi - 1 - base) >> 12) + 1] |= S.PF_WATCH
    st[ST_DBG_NWATCH] = len(ranges)
    # write watches work with native regions (their stores leave through the store hooks, like the
    # loop's); read watches need emu/debugloop.run_checked, which looks at each instruction first
    reads = any(k & WATCH_READ for _lo, _hi, k in ranges)
    st[S.ST_REGION_BLOCKED] = (int(st[S.ST_REGION_BLOCKED]) & ~REGIONS_READS) | (REGIONS_READS if reads else 0)


def take_hit(st):
    """-> (kind bits, paddr) of the recorded watch hit, or None; clears it."""
    hit = int(st[ST_DBG_HIT])
    if hit == 0:
        return None
    st[ST_DBG_HIT] = 0
    return hit & 0xFF, int(st[ST_DBG_HIT_ADDR])


def take_access(st):
    """-> (kind bits, paddr, size) of the access that hit a watch range, or None; clears it.

    paddr and size are the whole access, but for a misaligned store (stored, and seen,
    byte by byte: the last of its bytes in a range) and a load that crosses a page (its
    part in the first page that hits)."""
    hit = int(st[ST_DBG_HIT])
    if hit == 0:
        return None
    st[ST_DBG_HIT] = 0
    return hit & 0xFF, int(st[ST_DBG_HIT_ADDR]) - (hit >> 24), (hit >> 8) & 0xFFFF


def region_stops(st):
    """-> (pcs, paddrs, ranges, virtual): where the breakpoint table and the execute triggers
    (emu/trigger.py) stop or decode uncached, for emu/regions/, whose regions end before any of
    them (virtual: bare-mode fetches are never cached, see ST_DBG_VIRT_BP, so no region either)."""
    n = min(int(st[ST_DBG_NBP]), S.DBG_MAX_BP)
    pcs, ranges = trigger_stops(st)
    paddrs = set()
    i = 0
    while i < n:
        k = int(st[ST_DBG_BP_PA + i])
        v = int(st[ST_DBG_BP + i])
        if k == BP_RANGE:
            ranges.append((v, int(st[ST_DBG_BP + i + 1])))
            i += 2
            continue
        pcs.add(v)
        if k >= 0:
            paddrs.add(k)
        i += 1
    return pcs, paddrs, ranges, int(st[S.ST_DBG_VIRT_BP]) != 0


def clear_all(hart):
    """Remove every breakpoint and watchpoint (a debugger detaches), and give back the triggers its
    hardware breakpoints and watchpoints held."""
    set_breakpoints(hart, ())
    set_debugger_triggers(hart, ())
    set_watches(hart, ())
    hart.st[ST_DBG_HIT] = 0


def paging_on(hart):
    """Does the guest, at its current privilege level, fetch through page tables (satp's mode)?"""
    return hart.priv != PRV_M and (int(hart.csr[SATP]) >> SATP_MODE_SHIFT) & 0xF != SATP_MODE_BARE


def debug_translate(hart, va):
    """The guest's (fetch-side) view of va -> physical address, or None when unmapped.

    No side effects: no TLB fill, no A/D bits, no permission or PMP checks (a debugger sees
    every mapped page, as QEMU's get_phys_page_debug does).
    """
    va = u64(va)
    if not paging_on(hart):
        return va
    status, pte, level, _off = lookup(np.int64(s64(va)), hart.st, hart.csr, hart.ram, False)
    if status != WALK_OK:
        return None
    return int(leaf_address(np.int64(s64(va)), pte, level))
