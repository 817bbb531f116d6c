"""Debugger support in the hart: breakpoints and watchpoints that cost the hot loop nothing.

The tables live in st's debugger area (ST_DBG_* in emu/state.py). The host
(lifecycle/gdbstub.py) writes them between runs with set_breakpoints() and
set_watches() below. With no debugger attached they are all zero. The hot
loop then runs exactly as before: it gains no per-instruction test.

Breakpoints: a breakpoint op in the decode cache.
  st[ST_DBG_BP:] holds up to DBG_MAX_BP pcs. These are virtual addresses, as
  GDB gives them (they are physical in bare mode, where pc = paddr). Only the
  decode-miss path looks at them. memory.fetch_decode knows both the virtual
  pc and the physical address. When the instruction it decodes is at a
  breakpoint pc, it gives the slot the op OP_BREAK. When the loop dispatches
  OP_BREAK it returns EXIT_BREAK, with st[ST_PC] at the breakpoint and nothing
  retired. set_breakpoints() empties the decode cache, so every pc is decoded
  again and checked against the new table.
  * The cache is indexed by physical address, so a breakpoint also fires when
    the same physical instruction runs through another virtual address (an
    alias). Real software breakpoints, ebreak written to memory, do the same.
    The host sees a pc that is not in its table and steps over it silently.
  * While breakpoints are set, a slot decoded in bare mode (M-mode, or
    satp = Bare) is marked BARE_DECODED in word 1, bit 31, which the loop
    never reads. The loop drops the marked slots before it next fetches under
    Sv39 (memory.drop_straddlers, the path that already drops page
    straddlers). Without this, code that ran physically before the MMU came on
    would hit in the cache and miss a breakpoint at its virtual address.
  * To resume from a breakpoint, the host steps one instruction with that
    breakpoint out of the table, then puts it back.

Write watchpoints (GDB Z2; the write half of Z4): PF_WATCH in pflags.
  Each watched range is translated to physical ranges, one per page, when GDB
  inserts it. PF_WATCH is set on the pages they cover, so a store there takes
  the path that every flagged page takes: loop PENDING_HOOKS, memory.store_slow
  and cold.exec_atomic all end in memory.store_hooks. store_hooks checks the
  ranges (watch_hit) and records the hit in st[ST_DBG_HIT], st[ST_DBG_HIT_ADDR].
  The loop tests st[ST_DBG_HIT] once after each slow-path exit, never per
  instruction, and returns EXIT_WATCH. The store has then been done and
  retired: the trap fires after the access, with pc at the next instruction.
  GDB's RISC-V target treats watchpoints as non-steppable (it expects the
  access not yet done, and steps over it itself). The GDB stub therefore
  answers GDB's step-over with the step that already happened, so the stop is
  reported after the store, as on hardware. Stores by devices (DMA) and by the
  host are not watched.

Read watchpoints (GDB Z3, and the read half of Z4): a checked loop.
  The hot loop reads RAM with no flag test, and adding one to every load would
  slow every guest. So while a read or access watchpoint is set, the machine
  runs emu/debugloop.run_checked instead of loop.run. It looks at the
  instruction at pc before each step (load, LR or AMO), translates its data
  address and checks it against the read ranges. On a hit it returns
  EXIT_WATCH before the access, with nothing retired, as GDB expects. Its cost
  is about 10x of the speed, and only while such a watchpoint exists. Write
  watchpoints keep the full speed.

Memory for the debugger: debug_translate() is the guest's fetch-side view of
an address. It is Sv39 outside M-mode when satp selects it, and the address
itself otherwise. The walk is side-effect free: no TLB fill, no A/D update,
no permission check, like QEMU's get_phys_page_debug.
"""
import numpy as np
from numba import njit

from emu import state as S
from emu.csr import SATP, SATP_PPN
from emu.state import ST_DBG_NBP, ST_DBG_NWATCH, ST_DBG_HIT, ST_DBG_HIT_ADDR, ST_DBG_BP, ST_DBG_WATCH

OP_BREAK = 0xFF          # the decode-cache op of an instruction at a breakpoint (no real op has it)
BARE_DECODED = 1 << 31   # decode-cache word 1: decoded in bare mode while breakpoints were set
WATCH_WRITE = 1          # kind bits of a watch range
WATCH_READ = 2


@njit(cache=True)
def at_breakpoint(pc, st):
    """Is pc in the breakpoint table? (decode-miss path only)"""
    n = min(st[ST_DBG_NBP], S.DBG_MAX_BP)
    for i in range(n):
        if st[ST_DBG_BP + i] == pc:
            return True
    return False


@njit(cache=True)
def watch_hit(paddr, size, kind, st):
    """Does [paddr, paddr + size) touch a watch range of `kind`? Records the hit in st."""
    n = min(st[ST_DBG_NWATCH], S.DBG_MAX_WATCH)
    for i in range(n):
        b = ST_DBG_WATCH + 3 * i
        lo = st[b]
        if (st[b + 2] & kind) != 0 and paddr < st[b + 1] and lo < paddr + size:
            st[ST_DBG_HIT] = kind
            st[ST_DBG_HIT_ADDR] = paddr if paddr > lo else lo
            return True
    return False


@njit(cache=True)
def drop_bare_decoded(icache):
    """Invalidate every slot marked BARE_DECODED (see the module docstring)."""
    for i in range(icache.shape[0] // 2):
        if (icache[2 * i + 1] & BARE_DECODED) != 0:
            icache[2 * i] = -1


# --------------------------------------------------------------------------- host side

def set_breakpoints(hart, pcs):
    """Install the breakpoint table (an iterable of pcs). Empties the decode cache."""
    pcs = sorted({int(p) & (2**64 - 1) for p in pcs})
    if len(pcs) > S.DBG_MAX_BP:
        raise ValueError(f"{len(pcs)} breakpoints: at most {S.DBG_MAX_BP}")
    st = hart.st
    st[ST_DBG_NBP] = 0
    for i, p in enumerate(pcs):
        st[ST_DBG_BP + i] = p - (1 << 64) if p >> 63 else p
    st[ST_DBG_NBP] = len(pcs)
    hart.flush_decode_cache()


def set_watches(hart, ranges):
    """Install the watch table: (paddr lo, paddr hi, kind bits) in RAM. Sets PF_WATCH where writes are watched."""
    ranges = [(int(lo), int(hi), int(k)) for lo, hi, k in ranges]
    if len(ranges) > S.DBG_MAX_WATCH:
        raise ValueError(f"{len(ranges)} watch ranges: at most {S.DBG_MAX_WATCH}")
    st, pflags = hart.st, hart.pflags
    base, size = hart.ram_base, hart.ram_size
    for lo, hi, _k in ranges:
        if not (base <= lo < hi <= base + size):
            raise ValueError(f"watch range 0x{lo:x}..0x{hi:x} is not in RAM")
    st[ST_DBG_NWATCH] = 0
    pflags &= np.uint8(~S.PF_WATCH & 0xFF)
    for i, (lo, hi, k) in enumerate(ranges):
        b = ST_DBG_WATCH + 3 * i
        st[b], st[b + 1], st[b + 2] = lo, hi, k
        if k & WATCH_WRITE:
            pflags[(lo - base) >> 12:((hi - 1 - base) >> 12) + 1] |= S.PF_WATCH
    st[ST_DBG_NWATCH] = len(ranges)


def take_hit(st):
    """-> (kind bits, paddr) of the recorded watch hit, or None; clears it."""
    kind = int(st[ST_DBG_HIT])
    if kind == 0:
        return None
    st[ST_DBG_HIT] = 0
    return kind, int(st[ST_DBG_HIT_ADDR])


def clear_all(hart):
    """Remove every breakpoint and watchpoint (a debugger detaches)."""
    set_breakpoints(hart, ())
    set_watches(hart, ())
    hart.st[ST_DBG_HIT] = 0


def paging_on(hart):
    """Does the guest, at its current privilege level, fetch through Sv39?"""
    return int(hart.st[S.ST_FETCH_VM]) != 0


def debug_translate(hart, va):
    """The guest's (fetch-side) view of va -> physical address, or None when unmapped.

    No side effects: no TLB fill, no A/D bits, no permission checks (a debugger sees
    every mapped page, as QEMU's get_phys_page_debug does).
    """
    va = int(va) & (2**64 - 1)
    if not paging_on(hart):
        return va
    top = va >> 38
    if top not in (0, (1 << 26) - 1):           # bits 63:39 must equal bit 38
        return None
    a = (int(hart.csr[SATP]) & SATP_PPN) << 12
    ram = hart.ram
    base, size = hart.ram_base, hart.ram_size
    for level in (2, 1, 0):
        off = a + ((va >> (12 + 9 * level)) & 0x1FF) * 8 - base
        if off < 0 or off + 8 > size:
            return None
        pte = int.from_bytes(ram[off:off + 8].tobytes(), "little")
        if not pte & 1 or (pte & 6) == 4 or pte >> 54:
            return None
        ppn = (pte >> 10) & SATP_PPN
        if pte & 0xA:                             # R or X: a leaf
            span = 12 + 9 * level
            if ppn & ((1 << (9 * level)) - 1):
                return None                       # misaligned superpage
            return ((ppn << 12) & ~((1 << span) - 1)) | (va & ((1 << span) - 1))
        a = ppn << 12
    return None
