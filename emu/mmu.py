"""Sv39 address translation (privileged spec v1.12, 4.3 and 4.4) and the software TLB.

translate() looks in the TLB of the access type and walks the page table on a
miss.  A TLB entry records, for one 4 KiB virtual page (superpages are entered
4 KiB at a time), the physical page and a permission mask with one bit per
access context (see csr.refresh_mode), so a hit checks a single bit.

A and D bits are set in hardware during the walk (the spec's first option):
a load or fetch sets A, a store or AMO sets A and D.  Only a store walk fills
the store TLB, so a page is never written through an entry whose PTE lacks D.
PTEs with any of the reserved bits 63:54 set, and misaligned superpages, fault.
"""
import numpy as np
from numba import njit

from emu.state import (TLB_FETCH, TLB_LOAD, TLB_STORE, TLB_MASK, ST_RAM_BASE, ST_RAM_SIZE,
                       ST_FETCH_CTX, ST_DATA_CTX, ST_TLB_MISSES)
from emu.spec import (SATP, SATP_PPN, PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D,  # noqa: F401
                      PTE_PPN_SHIFT, PTE_RESERVED_SHIFT, CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
                      CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT)

PAGE_MASK = -4096
# faults by access type, indexed by TLB_FETCH, TLB_LOAD, TLB_STORE
assert (TLB_FETCH, TLB_LOAD, TLB_STORE) == (0, 1, 2)
ACCESS_FAULT = np.array([CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS], np.int64)
PAGE_FAULT = np.array([CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT], np.int64)


# A translation returns a physical address (>= 0: no physical address has bit 63 set) or a fault,
# encoded as -(cause + 1) so that cause 0 (misaligned fetch) is negative too.  These two name it:
@njit(cache=True, inline="always")
def fault_code(cause):
    """The translation result that reports exception `cause`: -(cause + 1) (always < 0)."""
    return -(cause + 1)


@njit(cache=True, inline="always")
def fault_cause(code):
    """The exception cause a negative translation result reports (the inverse of fault_code)."""
    return -code - 1


@njit(cache=True)
def permission_mask(kind, r, w, x, u):
    """Which of the 8 access contexts (bit0 S-mode, bit1 SUM, bit2 MXR) may do `kind` on this PTE."""
    mask = 0
    for ctx in range(8):
        smode = (ctx & 1) != 0
        sum_ = (ctx & 2) != 0
        mxr = (ctx & 4) != 0
        if kind == TLB_FETCH:
            ok = x and (smode != u)              # S never executes U pages, U only U pages
        else:
            priv_ok = (not smode and u) or (smode and (not u or sum_))
            if kind == TLB_LOAD:
                ok = (r or (mxr and x)) and priv_ok
            else:
                ok = w and priv_ok
        if ok:
            mask |= 1 << ctx
    return mask


@njit(cache=True)
def walk(va, kind, st, csr, mem, tlb):
    """The Sv39 page-table walk for one access. -> physical address, or fault_code(cause) on a fault."""
    top = va >> 38
    if top != 0 and top != -1:                   # bits 63:39 must all equal bit 38
        return fault_code(PAGE_FAULT[kind])
    ram_base = st[ST_RAM_BASE]
    ram_size = st[ST_RAM_SIZE]
    m64 = mem.view(np.int64)
    a = (csr[SATP] & SATP_PPN) << 12
    level = 2
    pte = 0
    off = 0
    while True:
        off = a + ((va >> (12 + 9 * level)) & 0x1FF) * 8 - ram_base
        if off < 0 or off >= ram_size:
            return fault_code(ACCESS_FAULT[kind])
        pte = m64[off >> 3]
        if (pte & PTE_V) == 0 or ((pte & PTE_R) == 0 and (pte & PTE_W) != 0) or (pte >> PTE_RESERVED_SHIFT) != 0:
            return fault_code(PAGE_FAULT[kind])
        if (pte & (PTE_R | PTE_X)) != 0:
            break
        if (pte & (PTE_A | PTE_D | PTE_U)) != 0:    # reserved in a non-leaf PTE (4.3.1)
            return fault_code(PAGE_FAULT[kind])
        level -= 1
        if level < 0:
            return fault_code(PAGE_FAULT[kind])
        a = ((pte >> PTE_PPN_SHIFT) & SATP_PPN) << 12
    ppn = (pte >> PTE_PPN_SHIFT) & SATP_PPN
    if level > 0 and (ppn & ((1 << (9 * level)) - 1)) != 0:
        return fault_code(PAGE_FAULT[kind])             # misaligned superpage
    mask = permission_mask(kind, (pte & PTE_R) != 0, (pte & PTE_W) != 0, (pte & PTE_X) != 0,
                           (pte & PTE_U) != 0)
    ctx = st[ST_FETCH_CTX] if kind == TLB_FETCH else st[ST_DATA_CTX]
    if ((mask >> ctx) & 1) == 0:
        return fault_code(PAGE_FAULT[kind])
    new = pte | PTE_A
    if kind == TLB_STORE:
        new |= PTE_D
    if new != pte:
        m64[off >> 3] = new
    page = ((ppn << 12) | (va & ((1 << (12 + 9 * level)) - 1))) & PAGE_MASK
    vpn = va >> 12
    e = vpn & TLB_MASK
    tlb[kind, e, 0] = vpn
    tlb[kind, e, 1] = page | mask
    st[ST_TLB_MISSES] += 1
    return page | (va & 0xFFF)


@njit(cache=True)
def tlb_lookup(tlb, kind, va, ctx):
    """The TLB of `kind` for va in access context ctx. -> physical address, or -1 (miss).

    Small enough that LLVM inlines it into the hot loop, which stays free of calls.
    """
    vpn = va >> 12
    e = vpn & TLB_MASK
    v = tlb[kind, e, 1]
    if tlb[kind, e, 0] != vpn or ((v >> ctx) & 1) == 0:
        return -1
    return (v & PAGE_MASK) | (va & 0xFFF)


@njit(cache=True)
def translate(va, kind, ctx, st, csr, mem, tlb):
    """TLB lookup, then walk. -> physical address, or fault_code(cause)."""
    p = tlb_lookup(tlb, kind, va, ctx)
    if p >= 0:
        return p
    return walk(va, kind, st, csr, mem, tlb)
