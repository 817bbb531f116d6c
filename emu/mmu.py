"""Address translation (privileged spec v1.12 ch. 4: Sv39, Sv48, Sv57; Svpbmt), physical memory
protection (3.7) and the software TLB.

translate() looks in the TLB of the access type and calls walk() on a miss.  A TLB entry records,
for one 4 KiB virtual page (superpages are entered 4 KiB at a time), the physical page and a
permission mask with one bit per access context (see csr.refresh_mode), so a hit checks a single
bit.  Contexts 0-7 are S- and U-mode's (bit 0 S, bit 1 mstatus.SUM, bit 2 mstatus.MXR); CTX_M is
M-mode's, whose accesses come here only while a locked PMP entry binds M-mode.

What a walk fills in:
  * satp = Sv39/Sv48/Sv57 (S and U, or M under mstatus.MPRV): the page-table walk of 3, 4 or 5
    levels.  A and D bits are set in hardware during the walk (the spec's first option): a load or
    fetch sets A, a store or AMO sets A and D.  Only a store walk fills the store TLB, so a page is
    never written through an entry whose PTE lacks D.  PTEs with a reserved bit set (60:54, 63:
    Svnapot is not implemented), W without R, non-leaf PTEs with A, D, U or PBMT set, and
    misaligned superpages are page faults.  Svpbmt: with menvcfg.PBMTE a leaf's PBMT may be PMA,
    NC or IO (all the same memory here), PBMT = 3 is reserved; without PBMTE any PBMT is reserved.
  * satp = Bare for S and U while PMP restricts them, and M-mode under a locked PMP entry: the
    identity.
Then PMP: the final physical page must be allowed for the access (else an access fault), and so
must every PTE the walk reads (as an S-mode load) and writes (A/D, as an S-mode store).

PMP's granularity is 4 KiB (G = 10, PMP_G): every entry covers whole pages, so PMP's answer is
the same for every byte of a page, and a TLB entry, which is only made for an allowed page, is all
the PMP check a later access needs.  (With G = 10 no aligned access can match an entry partially;
a misaligned access is done byte by byte, each byte checked on its own.)  Writing a PMP CSR
flushes the TLB (csr.csr_write).
"""
import numpy as np
from numba import njit

from emu.state import (TLB_FETCH, TLB_LOAD, TLB_STORE, TLB_MASK, ST_RAM_BASE, ST_RAM_SIZE,
                       ST_FETCH_CTX, ST_DATA_CTX, ST_TLB_MISSES)
from emu.spec import (SATP, SATP_PPN, SATP_MODE_SHIFT, SATP_MODE_BARE, SATP_MODE_SV39, MENVCFG,  # noqa: F401
                      MENVCFG_PBMTE, PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D,
                      PTE_PPN_SHIFT, PTE_RESERVED, PTE_N, PTE_PBMT_SHIFT, PBMT_RESERVED,
                      PMPCFG0, PMPADDR0, PMP_R, PMP_W, PMP_X, PMP_A_SHIFT, PMP_OFF, PMP_TOR, PMP_L, N_PMP, PMPADDR_BITS,
                      CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
                      CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT)

PAGE_MASK = -4096
# faults by access type, indexed by TLB_FETCH, TLB_LOAD, TLB_STORE
assert (TLB_FETCH, TLB_LOAD, TLB_STORE) == (0, 1, 2)
ACCESS_FAULT = np.array([CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS], np.int64)
PAGE_FAULT = np.array([CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT], np.int64)
PMP_PERM = np.array([PMP_X, PMP_R, PMP_W], np.int64)    # the pmpcfg permission each access type needs

CTX_M = 8                          # M-mode's access context (after S/U's eight)
S_U_CONTEXTS = (1 << CTX_M) - 1    # an identity entry for S and U: every one of their contexts
PMP_G = 10                         # PMP granularity 2^(G+2) bytes = 4 KiB (pmpaddr counts 4-byte words)
PMP_ACTIVE = 0x1818181818181818    # the A fields of the 8 entries in one pmpcfg CSR
PHYS_BITS = 56                     # physical addresses are 56 bits (Sv39-Sv57 PPNs, pmpaddr)

# what lookup() finds
WALK_OK, WALK_PAGE_FAULT, WALK_ACCESS_FAULT = 0, 1, 2


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
def pmp_cfg(i, csr):
    """pmp entry i's configuration byte (pmpcfg0 holds entries 0-7, pmpcfg2 8-15, ...)."""
    i &= N_PMP - 1
    return (csr[PMPCFG0 + 2 * (i >> 3)] >> (8 * (i & 7))) & 0xFF


@njit(cache=True)
def pmp_allows(pa, kind, m_mode, csr):
    """PMP's answer (3.7.1) for an access of `kind` to the 4 KiB page holding physical address pa,
    by M-mode (m_mode) or by S/U.  The lowest-numbered entry that matches decides: M-mode is
    allowed unless the entry is locked, S/U need its R, W or X bit.  No entry matches: M-mode is
    allowed, S/U are not (this hart implements PMP entries)."""
    y = pa >> 2                                      # pmpaddr's unit: 4-byte words
    prev = np.int64(0)                               # pmpaddr(i-1): TOR's lower bound (0 for entry 0)
    for g in range(N_PMP // 8):
        c = csr[PMPCFG0 + 2 * g]
        if (c & PMP_ACTIVE) == 0:                    # 8 entries off: skip them
            prev = csr[PMPADDR0 + 8 * g + 7]
            continue
        for j in range(8):
            cfg = (c >> (8 * j)) & 0xFF
            addr = csr[PMPADDR0 + 8 * g + j]
            a = (cfg >> PMP_A_SHIFT) & 3
            hit = False
            if a == PMP_TOR:                         # pmpaddr(i-1) <= y < pmpaddr(i), bits G-1:0 ignored
                gmask = (1 << PMP_G) - 1
                hit = (prev & ~gmask) <= y < (addr & ~gmask)
            elif a != PMP_OFF:                       # NAPOT (NA4 is not selectable at G = 10)
                n = addr | ((1 << (PMP_G - 1)) - 1)  # bits G-2:0 read as ones
                span = n ^ (n + 1)                   # the trailing ones and the zero above them
                hit = (y | span) == (n | span)
            if hit:
                if m_mode and (cfg & PMP_L) == 0:
                    return True
                return (cfg & PMP_PERM[kind]) != 0
            prev = addr
    return m_mode


@njit(cache=True)
def pmp_grants_all(csr):
    """Does PMP allow S and U every access everywhere?  Only when the lowest-numbered active entry
    is NAPOT over all of physical memory with R, W and X (the reset value): it decides every S/U
    access.  Then S and U need the TLB only when satp translates (csr.refresh_mode)."""
    for g in range(N_PMP // 8):
        c = csr[PMPCFG0 + 2 * g]
        if (c & PMP_ACTIVE) == 0:
            continue
        for j in range(8):
            cfg = (c >> (8 * j)) & 0xFF
            a = (cfg >> PMP_A_SHIFT) & 3
            if a != PMP_OFF:
                everywhere = (csr[PMPADDR0 + 8 * g + j] | ((1 << (PMP_G - 1)) - 1)) == (1 << PMPADDR_BITS) - 1
                return a != PMP_TOR and everywhere and (cfg & (PMP_R | PMP_W | PMP_X)) == PMP_R | PMP_W | PMP_X
    return False


@njit(cache=True)
def pmp_binds_m(csr):
    """Is any PMP entry both active and locked? Only then does PMP check M-mode's own accesses."""
    for g in range(N_PMP // 8):
        c = csr[PMPCFG0 + 2 * g]
        locked = (c >> 7) & 0x0101010101010101
        active = ((c >> PMP_A_SHIFT) | (c >> (PMP_A_SHIFT + 1))) & 0x0101010101010101
        if (locked & active) != 0:
            return True
    return False


@njit(cache=True)
def permission_mask(kind, r, w, x, u):
    """Which of the 8 S/U access contexts (bit0 S-mode, bit1 SUM, bit2 MXR) may do `kind` on this PTE."""
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
def satp_levels(satp):
    """The page-table levels of satp's mode: Sv39 3, Sv48 4, Sv57 5 (csr_write keeps no other mode)."""
    return ((satp >> SATP_MODE_SHIFT) & 0xF) - SATP_MODE_SV39 + 3


@njit(cache=True)
def lookup(va, st, csr, mem, check_pmp):
    """The page-table walk of satp's mode down to va's leaf PTE (4.3.2 steps 1-5, and the reserved
    encodings and superpage alignment of 4.3.1, 4.4.1; 4.5, 4.6 for Sv48 and Sv57), without A/D
    updates or permission checks.  check_pmp: every PTE read is checked against PMP as an S-mode load.

    -> (WALK_OK, pte, level, the PTE's offset in RAM) or (WALK_PAGE_FAULT or WALK_ACCESS_FAULT, 0, 0, 0).
    """
    levels = satp_levels(csr[SATP])
    top = va >> (12 + 9 * levels - 1)            # bits 63:VALEN-1 must all be equal (canonical)
    if top != 0 and top != -1:
        return WALK_PAGE_FAULT, 0, 0, 0
    ram_base = st[ST_RAM_BASE]
    ram_size = st[ST_RAM_SIZE]
    pbmte = (csr[MENVCFG] & MENVCFG_PBMTE) != 0
    m64 = mem.view(np.int64)
    a = (csr[SATP] & SATP_PPN) << 12
    level = levels - 1
    pte = np.int64(0)
    off = 0
    while True:
        pa = a + ((va >> (12 + 9 * level)) & 0x1FF) * 8
        off = pa - ram_base
        if off < 0 or off >= ram_size or (check_pmp and not pmp_allows(pa, TLB_LOAD, False, csr)):
            return WALK_ACCESS_FAULT, 0, 0, 0
        pte = m64[off >> 3]
        if (pte & PTE_V) == 0 or (pte & (PTE_R | PTE_W)) == PTE_W or (pte & (PTE_RESERVED | PTE_N)) != 0:
            return WALK_PAGE_FAULT, 0, 0, 0
        pbmt = (pte >> PTE_PBMT_SHIFT) & 3
        if (pte & (PTE_R | PTE_X)) != 0:
            if pbmt != 0 and (not pbmte or pbmt == PBMT_RESERVED):
                return WALK_PAGE_FAULT, 0, 0, 0
            break
        if pbmt != 0 or (pte & (PTE_A | PTE_D | PTE_U)) != 0:    # reserved in a non-leaf PTE
            return WALK_PAGE_FAULT, 0, 0, 0
        level -= 1
        if level < 0:
            return WALK_PAGE_FAULT, 0, 0, 0
        a = ((pte >> PTE_PPN_SHIFT) & SATP_PPN) << 12
    ppn = (pte >> PTE_PPN_SHIFT) & SATP_PPN
    if level > 0 and (ppn & ((1 << (9 * level)) - 1)) != 0:
        return WALK_PAGE_FAULT, 0, 0, 0                          # misaligned superpage
    return WALK_OK, pte, level, off


@njit(cache=True)
def leaf_address(va, pte, level):
    """The physical address of va through leaf `pte` found at `level` (a superpage keeps va's low bits)."""
    span = (1 << (12 + 9 * level)) - 1
    return ((((pte >> PTE_PPN_SHIFT) & SATP_PPN) << 12) & ~span) | (va & span)


@njit(cache=True)
def walk(va, kind, st, csr, mem, tlb):
    """A TLB miss: va's translation for `kind` in the current access context, checked by PMP, then
    entered in the TLB. -> physical address, or fault_code(cause) on a fault."""
    ctx = st[ST_FETCH_CTX] if kind == TLB_FETCH else st[ST_DATA_CTX]
    if ctx == CTX_M or ((csr[SATP] >> SATP_MODE_SHIFT) & 0xF) == SATP_MODE_BARE:
        if (va >> PHYS_BITS) != 0:               # no such physical address
            return fault_code(ACCESS_FAULT[kind])
        page = va & PAGE_MASK
        mask = (1 << CTX_M) if ctx == CTX_M else S_U_CONTEXTS
    else:
        status, pte, level, off = lookup(va, st, csr, mem, True)
        if status == WALK_ACCESS_FAULT:
            return fault_code(ACCESS_FAULT[kind])
        if status == WALK_PAGE_FAULT:
            return fault_code(PAGE_FAULT[kind])
        mask = permission_mask(kind, (pte & PTE_R) != 0, (pte & PTE_W) != 0, (pte & PTE_X) != 0,
                               (pte & PTE_U) != 0)
        if ((mask >> ctx) & 1) == 0:
            return fault_code(PAGE_FAULT[kind])
        new = pte | PTE_A
        if kind == TLB_STORE:
            new |= PTE_D
        if new != pte:
            if not pmp_allows(st[ST_RAM_BASE] + off, TLB_STORE, False, csr):
                return fault_code(ACCESS_FAULT[kind])
            mem.view(np.int64)[off >> 3] = new
        page = leaf_address(va, pte, level) & PAGE_MASK
    if not pmp_allows(page, kind, ctx == CTX_M, csr):
        return fault_code(ACCESS_FAULT[kind])
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
