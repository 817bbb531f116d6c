"""Guest memory outside the hot path: misaligned accesses, MMIO, the store hooks, fetch+decode.

The hot loop handles aligned RAM accesses itself; everything else comes here:
  - misaligned loads/stores in RAM are performed byte by byte (each byte
    translated on its own, so an access may straddle two pages); misaligned
    LR/SC/AMOs raise address-misaligned instead (see emu/cold.py), and so do
    misaligned accesses to MMIO (as access faults: devices see aligned accesses only);
  - MMIO goes through the trap table (mmio rows: base, size, kind, device id):
    the CLINT is served here, a Python device makes the loop return EXIT_MMIO;
  - an address that is neither RAM nor a device is an access fault.
"""
from enum import IntEnum

import numpy as np
from numba import njit

from emu import isa
from emu.state import (ST_RAM_BASE, ST_RAM_SIZE, ST_RES_ADDR, ST_TOHOST, ST_DATA_VM, ST_DATA_CTX,
                       ST_FETCH_VM, ST_FETCH_CTX, ST_MMIO_ADDR, ST_MMIO_SIZE, ST_MMIO_WRITE,
                       ST_MMIO_VALUE, ST_MMIO_RD, ST_MMIO_SIGNED, ST_MMIO_DEV, ST_MMIO_NPC,
                       ST_MMIO_COUNT, ST_BARE_STRADDLERS, ICACHE_MASK, ICACHE_SCRATCH, PF_CODE, PF_HTIF, PF_RESV,
                       MMIO_CLINT, TLB_FETCH, TLB_LOAD, TLB_STORE, PF_WATCH, ST_DBG_NBP,
                       ICACHE_SLOTS, PF_REGION, REGION_SLOTS, REGION_BASE, REGION_W, RT_PADDR,
                       RT_CODE_LO, RT_CODE_HI, EXTENT_BASE, ST_ISA)
from emu.debug import breakpoint_check, watch_hit, WATCH_WRITE
from emu.trigger import execute_match, mark_hit, GATED
from emu.timer import clint_load, clint_store
from emu.mmu import translate, ACCESS_FAULT, fault_code, fault_cause
from emu.spec import CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS, CAUSE_BREAKPOINT, ACTION_DEBUG_MODE
from emu.state import ST_TRIG_EXEC, ST_DBG_BREAK
from emu.trap import take_trap

class MemStatus(IntEnum):
    """What the slow paths (load_slow, store_slow, the MMIO path) return."""
    DONE = 0        # the access happened (a load's value is returned)
    MMIO_EXIT = 1   # a Python device must answer: the descriptor is in st[ST_MMIO_*]
    TRAPPED = 2     # a trap was taken: st[ST_PC] is the handler (like emu.cold's Cold.TRAPPED, another family)
    HTIF_EXIT = 3   # the store hit HTIF tohost
    DONE_SYNC = 4   # done, and it may have raised an interrupt (CLINT): end the chunk


# the plain ints njit code uses; MEM_* are the names the loop imports them under
DONE = MEM_DONE = int(MemStatus.DONE)
MMIO_EXIT = MEM_MMIO_EXIT = int(MemStatus.MMIO_EXIT)
TRAPPED = MEM_TRAPPED = int(MemStatus.TRAPPED)
HTIF_EXIT = MEM_HTIF_EXIT = int(MemStatus.HTIF_EXIT)
DONE_SYNC = MEM_DONE_SYNC = int(MemStatus.DONE_SYNC)

MEM_SIZE, MEM_SIGNED = isa.MEM_SIZE, isa.MEM_SIGNED     # per op, from emu/isa.py's table


@njit(cache=True)
def sign_extend(v, size):
    if size == 8:
        return v
    m = 1 << (size * 8 - 1)
    return ((v & ((1 << (size * 8)) - 1)) ^ m) - m


@njit(cache=True)
def invalidate_code(paddr, size, icache):
    """Drop decoded instructions that overlap [paddr, paddr + size) (self-modifying code)."""
    h = (paddr - 2) & ~1
    while h < paddr + size:
        i = (h >> 1) & ICACHE_MASK
        if (icache[2 * i] >> 8) == h:
            icache[2 * i] = -1
        h += 2


@njit(cache=True)
def drop_regions(paddr, size, icache):
    """Drop the native regions (emu/regions/) whose code overlaps [paddr, paddr + size)."""
    for i in range(REGION_SLOTS):
        e = REGION_BASE + REGION_W * i
        if icache[e + RT_PADDR] >= 0 and icache[e + RT_CODE_LO] < paddr + size and paddr < icache[e + RT_CODE_HI]:
            icache[e + RT_PADDR] = -1


@njit(cache=True)
def decode_scratch(pc, st, csr, mem, tlb, icache):
    """Decode the instruction at pc into the scratch slot only (its own slot leads into a native
    region, which just returned without progress). -> False when the fetch trapped."""
    ok, w, p, straddles, cause, tval = fetch_raw(pc, st, csr, mem, tlb)
    if not ok:
        take_trap(cause, tval, False, pc, st, csr)
        return False
    fill_slot(icache, ICACHE_SCRATCH, p, w, st[ST_ISA])
    return True


@njit(cache=True)
def drop_straddlers(icache):
    """Invalidate every cached instruction that starts in the last halfword of a page."""
    for i in range(0x7FF, ICACHE_SLOTS, 0x800):
        if ((icache[2 * i] >> 8) & 0xFFF) == 0xFFE:
            icache[2 * i] = -1


@njit(cache=True)
def store_hooks(paddr, size, st, icache, pflags):
    """A RAM store hit a flagged page. -> True when the loop must return EXIT_HTIF (also for a
    debugger watchpoint hit, which emu.debug.debug_exit then reports as EXIT_WATCH)."""
    f = pflags[(paddr - st[ST_RAM_BASE]) >> 12]
    if (f & PF_CODE) != 0:
        invalidate_code(paddr, size, icache)
    if (f & PF_REGION) != 0:
        drop_regions(paddr, size, icache)
    if (f & PF_RESV) != 0:
        r = st[ST_RES_ADDR]
        if r >= 0 and (paddr >> 3) <= (r >> 3) <= ((paddr + size - 1) >> 3):
            st[ST_RES_ADDR] = -1          # a store to the reservation set clears it
    if (f & PF_HTIF) != 0:
        t = st[ST_TOHOST]
        if paddr < t + 8 and t < paddr + size:
            return True
    if (f & PF_WATCH) != 0 and watch_hit(paddr, size, WATCH_WRITE, st):
        return True
    return False


@njit(cache=True)
def find_device(paddr, size, mmio):
    for i in range(mmio.shape[0]):
        if mmio[i, 0] <= paddr and paddr + size <= mmio[i, 0] + mmio[i, 1]:
            return i
    return -1


@njit(cache=True)
def ram_read(off, size, mem):
    v = 0
    for i in range(size):
        v |= np.int64(mem[off + i]) << (8 * i)
    return v


@njit(cache=True)
def ram_write(off, size, value, mem):
    for i in range(size):
        mem[off + i] = (value >> (8 * i)) & 0xFF


@njit(cache=True)
def phys_access(paddr, size, write, value, st, csr, mem, mmio):
    """An aligned physical access outside RAM. -> (status, value), status DONE, MMIO_EXIT or TRAPPED-to-be."""
    i = find_device(paddr, size, mmio)
    if i < 0 or (paddr & (size - 1)) != 0:
        return TRAPPED, 0
    st[ST_MMIO_COUNT] += 1
    kind = mmio[i, 2]
    if kind == MMIO_CLINT:
        if write:
            clint_store(paddr - mmio[i, 0], size, value, st, csr)
            return DONE_SYNC, 0
        ok, v = clint_load(paddr - mmio[i, 0], size, st, csr)
        return DONE, v
    st[ST_MMIO_ADDR] = paddr
    st[ST_MMIO_SIZE] = size
    st[ST_MMIO_WRITE] = 1 if write else 0
    st[ST_MMIO_VALUE] = value
    st[ST_MMIO_DEV] = mmio[i, 3]
    return MMIO_EXIT, 0


@njit(cache=True)
def data_paddr(va, kind, st, csr, mem, tlb):
    """-> physical address, or fault_code(cause)."""
    if st[ST_DATA_VM] != 0:
        return translate(va, kind, st[ST_DATA_CTX], st, csr, mem, tlb)
    if va < 0:                              # bare: no physical address has bit 63 set
        return fault_code(ACCESS_FAULT[kind])
    return va


@njit(cache=True)
def load_slow(va, op, rd, ilen, pc, st, csr, mem, tlb, mmio):
    """A load the hot loop did not finish (TLB miss, misaligned, not RAM). -> (status, value)."""
    size = MEM_SIZE[op]
    signed = MEM_SIGNED[op]
    ram_base = st[ST_RAM_BASE]
    ram_size = st[ST_RAM_SIZE]
    paddr = 0
    if (va & (size - 1)) == 0:
        paddr = data_paddr(va, TLB_LOAD, st, csr, mem, tlb)
        if paddr < 0:
            take_trap(-paddr - 1, va, False, pc, st, csr)
            return TRAPPED, 0
        off = paddr - ram_base
        if 0 <= off < ram_size:
            v = ram_read(off, size, mem)
            if signed != 0:
                v = sign_extend(v, size)
            return DONE, v
    else:
        v = 0
        for i in range(size):
            p = data_paddr(va + i, TLB_LOAD, st, csr, mem, tlb)
            if p < 0:                                  # xtval: the part that faulted (priv 3.1.16)
                take_trap(fault_cause(p), va + i, False, pc, st, csr)
                return TRAPPED, 0
            off = p - ram_base
            if off < 0 or off >= ram_size:
                take_trap(CAUSE_LOAD_ACCESS, va + i, False, pc, st, csr)
                return TRAPPED, 0
            v |= np.int64(mem[off]) << (8 * i)
        if signed != 0:
            v = sign_extend(v, size)
        return DONE, v
    status, v = phys_access(paddr, size, False, 0, st, csr, mem, mmio)
    if status == TRAPPED:
        take_trap(CAUSE_LOAD_ACCESS, va, False, pc, st, csr)
        return TRAPPED, 0
    if status == MMIO_EXIT:
        st[ST_MMIO_RD] = rd
        st[ST_MMIO_SIGNED] = signed
        st[ST_MMIO_NPC] = pc + ilen
        return MMIO_EXIT, 0
    if signed != 0:
        v = sign_extend(v, size)
    return DONE, v


@njit(cache=True)
def store_slow(va, op, value, ilen, pc, st, csr, mem, tlb, icache, pflags, mmio):
    """A store the hot loop did not finish (TLB miss, misaligned, not RAM, flagged page). -> status."""
    size = MEM_SIZE[op]
    ram_base = st[ST_RAM_BASE]
    ram_size = st[ST_RAM_SIZE]
    paddr = 0
    if (va & (size - 1)) == 0:
        paddr = data_paddr(va, TLB_STORE, st, csr, mem, tlb)
        if paddr < 0:
            take_trap(-paddr - 1, va, False, pc, st, csr)
            return TRAPPED
        off = paddr - ram_base
        if 0 <= off < ram_size:
            ram_write(off, size, value, mem)
            if pflags[off >> 12] != 0 and store_hooks(paddr, size, st, icache, pflags):
                return HTIF_EXIT
            return DONE
    else:
        # translate every byte first, so that a fault leaves memory untouched
        offs = np.empty(8, np.int64)
        for i in range(size):
            p = data_paddr(va + i, TLB_STORE, st, csr, mem, tlb)
            if p < 0:                                  # xtval: the part that faulted (priv 3.1.16)
                take_trap(fault_cause(p), va + i, False, pc, st, csr)
                return TRAPPED
            if p - ram_base < 0 or p - ram_base >= ram_size:
                take_trap(CAUSE_STORE_ACCESS, va + i, False, pc, st, csr)
                return TRAPPED
            offs[i] = p - ram_base
        htif = False
        for i in range(size):
            mem[offs[i]] = (value >> (8 * i)) & 0xFF
            if pflags[offs[i] >> 12] != 0:
                if store_hooks(offs[i] + ram_base, 1, st, icache, pflags):
                    htif = True
        return HTIF_EXIT if htif else DONE
    status, v = phys_access(paddr, size, True, value, st, csr, mem, mmio)
    if status == TRAPPED:
        take_trap(CAUSE_STORE_ACCESS, va, False, pc, st, csr)
        return TRAPPED
    if status == MMIO_EXIT:
        st[ST_MMIO_NPC] = pc + ilen
        return MMIO_EXIT
    return status


@njit(cache=True)
def fetch_half(va, st, csr, mem, tlb):
    """The 16-bit parcel at va. -> (physical address or fault_code(cause), parcel)."""
    p = va
    if st[ST_FETCH_VM] != 0:
        p = translate(va, TLB_FETCH, st[ST_FETCH_CTX], st, csr, mem, tlb)
        if p < 0:
            return p, 0
    off = p - st[ST_RAM_BASE]
    if off < 0 or off >= st[ST_RAM_SIZE]:
        return fault_code(CAUSE_FETCH_ACCESS), 0
    return p, np.int64(mem[off]) | (np.int64(mem[off + 1]) << 8)


@njit(cache=True)
def fetch_raw(pc, st, csr, mem, tlb):
    """The instruction bits at pc (for mtval and the decoder). -> (ok, bits, paddr, straddles, cause, tval)."""
    p, lo = fetch_half(pc, st, csr, mem, tlb)
    if p < 0:
        return False, 0, 0, False, fault_cause(p), pc
    if (lo & 3) != 3:
        return True, lo, p, False, 0, 0
    straddles = (p & 0xFFF) == 0xFFE
    if straddles:
        p2, hi = fetch_half(pc + 2, st, csr, mem, tlb)
        if p2 < 0:
            return False, 0, 0, False, -p2 - 1, pc + 2
    else:
        off = p + 2 - st[ST_RAM_BASE]
        if off >= st[ST_RAM_SIZE]:
            return False, 0, 0, False, CAUSE_FETCH_ACCESS, pc + 2
        hi = np.int64(mem[off]) | (np.int64(mem[off + 1]) << 8)
    return True, lo | (hi << 16), p, straddles, 0, 0


@njit(cache=True)
def trigger_fire(i, tval, pc, st, csr):
    """Trigger i fired before the instruction at pc (emu/trigger.py): a breakpoint exception with
    xtval = tval (action 0), or a stop for the debugger with pc unchanged (action 1: the loop leaves
    through EXIT_DEBUG_BREAK, st[ST_DBG_BREAK] set)."""
    if mark_hit(i, st) == ACTION_DEBUG_MODE:
        st[ST_DBG_BREAK] = 1
    else:
        take_trap(CAUSE_BREAKPOINT, tval, False, pc, st, csr)


@njit(cache=True)
def fill_slot(icache, slot, p, w, isa_mask):
    """Decode the instruction bits w (at physical address p) for a hart with the extensions isa_mask
    (st[ST_ISA]: one of an extension it lacks is an illegal instruction) into a decode-cache slot
    (layout in emu/state.py). -> its length."""
    o, rd, rs1, rs2, imm, ilen = isa.decode_for(w, isa_mask)
    icache[2 * slot] = (p << 8) | o
    icache[2 * slot + 1] = (imm << 32) | (ilen << 24) | (rs2 << 16) | (rs1 << 8) | rd
    return ilen


@njit(cache=True)
def fetch_decode(pc, st, csr, mem, tlb, icache, pflags):
    """Fill the decode-cache slot for the instruction at pc. -> slot index, or -1 (trap taken)."""
    ok, w, p, straddles, cause, tval = fetch_raw(pc, st, csr, mem, tlb)
    if not ok:
        take_trap(cause, tval, False, pc, st, csr)
        return -1
    uncached = False
    if st[ST_DBG_NBP] != 0:                # debugger breakpoints (emu/debug.py)
        d = breakpoint_check(pc, p, st)
        if d < 0:
            return -1                      # no trap, pc unchanged: the loop returns (debug_exit: EXIT_BREAK)
        uncached = d > 0
    if st[ST_TRIG_EXEC] != 0:              # Sdtrig execute triggers (emu/trigger.py)
        i = execute_match(pc, st, csr)
        if i >= 0:
            trigger_fire(i, pc, pc, st, csr)
            return -1                      # a breakpoint exception taken, or a stop for the debugger
        uncached = uncached or i == GATED  # matched but not firing now: check it again next time
    if (straddles and st[ST_FETCH_VM] != 0) or uncached:
        slot = ICACHE_SCRATCH          # its second half may move with the mapping: do not cache
    else:
        slot = (p >> 1) & ICACHE_MASK
    ilen = fill_slot(icache, slot, p, w, st[ST_ISA])
    if straddles and slot != ICACHE_SCRATCH:
        st[ST_BARE_STRADDLERS] = 1     # cached bare: drop before fetching under Sv39 (loop.py)
    if slot != ICACHE_SCRATCH:
        off = p - st[ST_RAM_BASE]
        pflags[off >> 12] |= PF_CODE
        if straddles:
            pflags[(off + 2) >> 12] |= PF_CODE     # fetch_raw checked that off + 2 is in RAM
            grow_extent(icache, (off + 2) >> 12, 0, 2)
            grow_extent(icache, off >> 12, off & 0xFFF, 0x1000)
        else:
            grow_extent(icache, off >> 12, off & 0xFFF, (off & 0xFFF) + ilen)
    return slot


@njit(cache=True)
def grow_extent(icache, page, lo, hi):
    """Widen a RAM page's code extent (emu/state.py: EXTENT_BASE) to cover [lo, hi)."""
    e = icache[EXTENT_BASE + page]
    elo = e & 0xFFFFFFFF
    ehi = e >> 32
    if lo < elo:
        elo = lo
    if hi > ehi:
        ehi = hi
    icache[EXTENT_BASE + page] = (ehi << 32) | elo
