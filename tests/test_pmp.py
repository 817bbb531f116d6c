"""Physical memory protection (privileged spec v1.12, 3.7), enforced with a 4 KiB granularity (G = 10).

Code runs at the RAM base in M, S or U with satp = Bare (or Sv39 for the page-walk tests); faults
land in the M-mode `j .` handler (PMP never checks M without a locked entry) and are read from
mcause/mtval/mepc.  PMP entries are set directly in the CSR array (set_pmp) or, for the WARL rules,
with CSR instructions.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF, M64, csrr, csrw, s64  # noqa: E402
from test_mmu import PageTables, RW, PT_BASE  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, MCAUSE, MEPC, MSTATUS,  # noqa: E402
                      MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MTVAL, MTVEC, N_PMP, PMP_A_SHIFT, PMP_L, PMP_NA4,
                      PMP_NAPOT, PMP_OFF, PMP_R, PMP_TOR, PMP_W, PMP_X, PMPADDR0, PMPCFG0, PRV_M, PRV_S,
                      PRV_U, PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X, RAM_BASE, SATP)

BASE = RAM_BASE
HANDLER = BASE + 0x800
DATA = BASE + 0x20_0000                 # 2 MiB into RAM (test_mmu's tables are at 1 MiB): the protected pages
NAPOT = PMP_NAPOT << PMP_A_SHIFT
TOR = PMP_TOR << PMP_A_SHIFT
NA4 = PMP_NA4 << PMP_A_SHIFT
RWX = PMP_R | PMP_W | PMP_X
ALL = (1 << 54) - 1                      # pmpaddr for NAPOT over all of physical memory

LD6 = I("ld", rd=6, rs1=5, imm=0)        # x6 = *(x5)
SD7 = I("sd", rs2=7, rs1=5, imm=0)       # *(x5) = x7
JR5 = I("jalr", rd=0, rs1=5, imm=0)


def napot(base, size):
    """pmpaddr for a NAPOT region of `size` bytes (a power of two >= 8) at `base`."""
    return (base >> 2) | ((size >> 3) - 1)


def set_pmp(h, i, cfg, addr):
    """Entry i := (cfg, pmpaddr) directly (no WARL), then what a PMP CSR write does: TLB flush, mode."""
    n = PMPCFG0 + 2 * (i >> 3)
    sh = 8 * (i & 7)
    h.csr[n] = s64((int(h.csr[n]) & M64 & ~(0xFF << sh)) | (cfg << sh))
    h.csr[PMPADDR0 + i] = addr
    h.flush_tlb()
    refresh_mode(h.st, h.csr)


def mk(code, priv, entries, ram=4 << 20, at=BASE):
    """A hart in `priv` at `at` running `code`, PMP entries 0.. = entries [(cfg, pmpaddr)], the rest OFF."""
    h = Hart(ram)
    h.write_phys(at, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    for i in range(N_PMP):
        set_pmp(h, i, 0, 0)
    for i, (cfg, addr) in enumerate(entries):
        set_pmp(h, i, cfg, addr)
    h.pc = at
    h.priv = priv
    return h


def fault(h):
    """-> (mcause, mtval, mepc) when the hart sits in the M handler, else None."""
    if h.pc != HANDLER or h.priv != PRV_M:
        return None
    return int(h.csr[MCAUSE]) & M64, int(h.csr[MTVAL]) & M64, int(h.csr[MEPC]) & M64


def get64(h, pa):
    return int.from_bytes(h.read_phys(pa, 8), "little")


CODE = (NAPOT | PMP_R | PMP_X, napot(BASE, 0x1000))      # the code page: S/U may run it
OPEN = (NAPOT | RWX, ALL)                                # everything else: allowed


# ------------------------------------------------------------------ which entry decides

@pytest.mark.parametrize("priv", [PRV_S, PRV_U], ids=["S", "U"])
def test_no_matching_entry_fails_in_s_and_u(priv):
    """3.7.1: no entry matches an S/U access while PMP entries are implemented: it fails."""
    h = mk(LD6, priv, [])
    h.run(1)
    assert fault(h) == (CAUSE_FETCH_ACCESS, BASE, BASE)
    h = mk(LD6, priv, [CODE])
    h.x[5] = DATA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA, BASE)


def test_no_matching_entry_succeeds_in_m():
    h = mk(LD6 + SD7, PRV_M, [(NAPOT, napot(DATA + 0x1000, 0x1000))])      # an entry elsewhere
    h.x[5], h.x[7] = DATA, 9
    h.run(2)
    assert fault(h) is None and get64(h, DATA) == 9


@pytest.mark.parametrize("priv", [PRV_S, PRV_U], ids=["S", "U"])
def test_napot_region_grants_only_its_permissions(priv):
    h = mk(LD6 + SD7, priv, [(NAPOT | PMP_R, napot(DATA, 0x2000)), CODE, OPEN])
    h.x[5], h.x[7] = DATA + 0x1FF8, 5
    h.run(1)
    assert fault(h) is None
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA + 0x1FF8, BASE + 4)
    assert get64(h, DATA + 0x1FF8) == 0
    h = mk(SD7, priv, [(NAPOT | PMP_R, napot(DATA, 0x2000)), CODE, OPEN])
    h.x[5], h.x[7] = DATA + 0x2000, 5                   # the next page: entry 2 allows it
    h.run(1)
    assert fault(h) is None and get64(h, DATA + 0x2000) == 5


def test_tor_region_between_two_addresses():
    """TOR: pmpaddr(i-1) <= addr >> 2 < pmpaddr(i); entry i-1 may itself be OFF."""
    entries = [(PMP_OFF, DATA >> 2), (TOR | PMP_R, (DATA + 0x3000) >> 2), CODE, OPEN]
    for addr, ok in ((DATA - 8, True), (DATA, False), (DATA + 0x2FF8, False), (DATA + 0x3000, True)):
        h = mk(SD7, PRV_S, entries)
        h.x[5], h.x[7] = addr, 1
        h.run(1)
        assert (fault(h) is None) == ok, hex(addr)
        if not ok:
            assert fault(h) == (CAUSE_STORE_ACCESS, addr, BASE)


def test_tor_in_entry_0_starts_at_address_0():
    h = mk(LD6, PRV_S, [(TOR | PMP_R | PMP_X, (DATA + 0x1000) >> 2)])
    h.x[5] = DATA
    h.run(1)
    assert fault(h) is None                              # code and data both below the top
    h = mk(LD6, PRV_S, [(TOR | PMP_R | PMP_X, (DATA + 0x1000) >> 2)])
    h.x[5] = DATA + 0x1000
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA + 0x1000, BASE)


@pytest.mark.parametrize("order", ["small-first", "large-first"])
def test_the_lowest_numbered_matching_entry_decides(order):
    small = (NAPOT, napot(DATA, 0x1000))                 # no permissions
    large = (NAPOT | PMP_R | PMP_W, napot(DATA, 0x10000))
    entries = [small, large] if order == "small-first" else [large, small]
    h = mk(SD7, PRV_S, entries + [CODE])
    h.x[5], h.x[7] = DATA + 8, 3
    h.run(1)
    if order == "small-first":
        assert fault(h) == (CAUSE_STORE_ACCESS, DATA + 8, BASE)
    else:
        assert fault(h) is None and get64(h, DATA + 8) == 3


def test_fetch_needs_x():
    h = mk(JR5, PRV_S, [(NAPOT | PMP_R | PMP_W, napot(DATA, 0x1000)), CODE, OPEN])
    h.write_phys(DATA, J_SELF)
    h.x[5] = DATA
    h.run(2)
    assert fault(h) == (CAUSE_FETCH_ACCESS, DATA, DATA)


def test_a_misaligned_access_is_checked_byte_by_byte():
    """A misaligned store across a page into a page it may not write: store access fault at the
    first byte of that page, and no byte written (the access is checked before it is done)."""
    h = mk(SD7, PRV_S, [(NAPOT | PMP_R, napot(DATA + 0x1000, 0x1000)), CODE, OPEN])
    h.x[5], h.x[7] = DATA + 0xFFC, -1
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA + 0x1000, BASE)
    assert h.read_phys(DATA + 0xFF8, 16) == bytes(16)


def test_mprv_data_accesses_are_checked_with_mpp():
    """M-mode loads and stores under mstatus.MPRV have MPP's privilege, for PMP too."""
    entries = [(NAPOT | PMP_R, napot(DATA, 0x1000))]
    h = mk(SD7 + SD7, PRV_M, entries)
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT)
    refresh_mode(h.st, h.csr)
    h.x[5], h.x[7] = DATA, 1
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA, BASE)
    h = mk(SD7, PRV_M, entries)                          # without MPRV: M ignores the unlocked entry
    h.x[5], h.x[7] = DATA, 1
    h.run(1)
    assert fault(h) is None and get64(h, DATA) == 1


# ------------------------------------------------------------------ the L bit

def test_a_locked_entry_applies_to_m_mode():
    h = mk(LD6 + SD7, PRV_M, [(PMP_L | NAPOT | PMP_R, napot(DATA, 0x1000))])
    h.x[5], h.x[7] = DATA, 4
    h.run(1)
    assert fault(h) is None
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA, BASE + 4)
    h = mk(JR5, PRV_M, [(PMP_L | NAPOT | PMP_R, napot(DATA, 0x1000))])
    h.write_phys(DATA, J_SELF)
    h.x[5] = DATA
    h.run(2)
    assert fault(h) == (CAUSE_FETCH_ACCESS, DATA, DATA)


def test_m_mode_goes_through_the_tlb_only_while_a_locked_entry_is_active():
    h = mk(b"", PRV_M, [OPEN])
    assert (h.st[S.ST_FETCH_VM], h.st[S.ST_DATA_VM]) == (0, 0)
    set_pmp(h, 3, PMP_L | NAPOT | RWX, napot(DATA, 0x1000))
    assert (h.st[S.ST_FETCH_VM], h.st[S.ST_DATA_VM]) == (1, 1)
    set_pmp(h, 3, PMP_L, 0)                              # locked but OFF: binds nothing
    assert (h.st[S.ST_FETCH_VM], h.st[S.ST_DATA_VM]) == (0, 0)


@pytest.mark.parametrize("entries,tlb", [
    ([OPEN], 0),                                          # the reset value: everything granted
    ([OPEN, (NAPOT, napot(DATA, 0x1000))], 0),            # entry 0 decides every access
    ([(NAPOT, napot(DATA, 0x1000)), OPEN], 1),            # a page denied ahead of it
    ([(NAPOT | PMP_R | PMP_X, ALL)], 1),                  # no W anywhere
    ([(NAPOT | RWX, napot(0, 1 << 40))], 1),             # the first TiB only
    ([(PMP_OFF, 0), (TOR | RWX, ALL)], 1),                # TOR stops short of the last page
    ([], 1),                                              # nothing matches: nothing allowed
])
def test_bare_s_and_u_go_through_the_tlb_unless_pmp_grants_everything(entries, tlb):
    """S and U with satp = Bare take the direct path only while PMP's answer is yes everywhere."""
    h = mk(b"", PRV_S, entries)
    assert (h.st[S.ST_FETCH_VM], h.st[S.ST_DATA_VM]) == (tlb, tlb)
    h.priv = PRV_U
    assert (h.st[S.ST_FETCH_VM], h.st[S.ST_DATA_VM]) == (tlb, tlb)


def test_m_and_s_entries_for_one_page_do_not_mix_in_the_tlb():
    """Under a locked entry M-mode's identity entries and S-mode's Sv39 entries share the TLB:
    a physical address M reads must not come back as the virtual address S reads, or back."""
    h = Hart(4 << 20)
    pt = PageTables(h)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    code = LD6 + J_SELF
    h.write_phys(BASE, code)
    pt.map(BASE, BASE, PTE_V | PTE_R | PTE_X | PTE_A)
    pt.map(DATA, DATA + 0x10000, RW)                     # VA DATA -> PA DATA + 64 KiB
    h.write_phys(DATA, (111).to_bytes(8, "little"))
    h.write_phys(DATA + 0x10000, (222).to_bytes(8, "little"))
    h.csr[SATP] = s64((8 << 60) | (pt.root >> 12))
    set_pmp(h, 0, PMP_L | NAPOT | RWX, napot(BASE + 0x3F_0000, 0x1000))    # locked: binds M
    set_pmp(h, 1, *OPEN)
    h.x[5] = DATA
    for priv, want in ((PRV_M, 111), (PRV_S, 222), (PRV_M, 111), (PRV_S, 222)):
        h.pc, h.priv = BASE, priv
        h.run(1)
        assert fault(h) is None and int(h.x[6]) == want, (priv, int(h.x[6]))


# ------------------------------------------------------------------ the page walk's own accesses

def walk_hart(code, pt_cfg):
    """S-mode under Sv39, code and data mapped; the page tables' 64 KiB get PMP entry 0 = pt_cfg."""
    h = Hart(4 << 20)
    pt = PageTables(h)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    pt.map(BASE, BASE, PTE_V | PTE_R | PTE_X | PTE_A)
    pt.map(DATA, DATA, RW)
    h.csr[SATP] = s64((8 << 60) | (pt.root >> 12))
    set_pmp(h, 0, NAPOT | pt_cfg, napot(PT_BASE, 0x10000))
    set_pmp(h, 1, *OPEN)
    h.pc, h.priv = BASE, PRV_S
    return h, pt


@pytest.mark.parametrize("insn,cause", [(LD6, CAUSE_LOAD_ACCESS), (SD7, CAUSE_STORE_ACCESS)],
                         ids=["load", "store"])
def test_page_table_reads_are_checked_as_s_mode_loads(insn, cause):
    """4.3.2 step 2: a PTE read that PMP denies is an access fault of the original access's type."""
    h, pt = walk_hart(insn, PMP_R)
    h.x[5] = DATA
    h.run(1)
    assert fault(h) is None                              # readable tables: fine
    h, pt = walk_hart(insn, 0)
    h.run(1)
    assert fault(h) == (CAUSE_FETCH_ACCESS, BASE, BASE)  # the fetch's own walk comes first
    # the tables of a second mapping (VA 0x4000_0000, another root entry) only: the fetch walks,
    # the data walk reads the root, then its next table is denied
    h, pt = walk_hart(insn, PMP_R)
    first = pt.next
    pt.map(0x4000_0000, DATA, RW)
    set_pmp(h, 0, PMP_OFF, first >> 2)
    set_pmp(h, 1, TOR, pt.next >> 2)                     # [first, pt.next): the new tables, no access
    set_pmp(h, 2, *OPEN)
    h.priv = PRV_S
    h.x[5] = 0x4000_0000
    h.run(1)
    assert fault(h) == (cause, 0x4000_0000, BASE)


def test_hardware_a_and_d_updates_need_pmp_write_permission():
    """Setting A or D writes the PTE: an S-mode store to the tables, which PMP must allow."""
    h, pt = walk_hart(LD6, PMP_R)
    pt.map(DATA, DATA, PTE_V | PTE_R | PTE_W)            # A = D = 0: the walk must write the PTE
    h.x[5] = DATA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA, BASE)
    assert pt.pte(DATA) & PTE_A == 0
    h, pt = walk_hart(LD6, PMP_R | PMP_W)
    pt.map(DATA, DATA, PTE_V | PTE_R | PTE_W)
    h.x[5] = DATA
    h.run(1)
    assert fault(h) is None and pt.pte(DATA) & (PTE_A | PTE_D) == PTE_A


def test_the_final_address_of_a_translation_is_checked():
    h, pt = walk_hart(LD6 + SD7, PMP_R)
    set_pmp(h, 1, NAPOT | PMP_R, napot(DATA, 0x1000))
    set_pmp(h, 2, *OPEN)
    h.priv = PRV_S
    h.x[5], h.x[7] = DATA, 1
    h.run(1)
    assert fault(h) is None
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA, BASE + 4)
    assert pt.pte(DATA) & PTE_D                          # the walk itself succeeded (4.3.2)


# ------------------------------------------------------------------ CSR writes: WARL fields, locks, the TLB

def m_code(*insns):
    """M-mode code at BASE with PMP entries all OFF; the CSR instructions are the test."""
    return mk(b"".join(insns), PRV_M, [])


@pytest.mark.parametrize("written,expected", [
    (0x12, NAPOT),                              # NA4 | W: NA4 -> NAPOT, W without R -> 0
    (0x7F, NAPOT | RWX),                        # bits 6:5 read zero
    (0x1E, NAPOT | PMP_X),                      # NA4 | X | W: NAPOT, W dropped
    (0x0B, TOR | PMP_R | PMP_W),                # TOR R W: as written
    (0x02, 0),                                  # W alone: reserved, dropped
    (0x9F, PMP_L | NAPOT | RWX),                # locked NAPOT RWX
])
def test_pmpcfg_byte_warl(written, expected):
    """Each entry's byte: bits 6:5 read 0, R = 0 with W = 1 is reserved (W reads 0), NA4 is not
    selectable at G = 10 (it becomes NAPOT)."""
    h = m_code(csrw(PMPCFG0 + 2, 5), csrr(6, PMPCFG0 + 2))
    h.x[5] = written << 16                               # entry 10
    h.run(2)
    assert (int(h.x[6]) & M64) == expected << 16


def test_pmpaddr_reads_at_4k_granularity_and_keeps_what_was_written():
    """3.7.1: NAPOT reads bits G-2:0 as ones, OFF and TOR read bits G-1:0 as zeros; changing A does
    not change the stored value."""
    h = m_code(csrw(PMPADDR0 + 5, 5), csrr(6, PMPADDR0 + 5),
               csrw(PMPCFG0, 7), csrr(8, PMPADDR0 + 5),
               csrw(PMPCFG0, 9), csrr(10, PMPADDR0 + 5),
               csrw(PMPCFG0, 0), csrr(11, PMPADDR0 + 5),
               csrw(PMPADDR0 + 6, 12), csrr(13, PMPADDR0 + 6))
    h.x[5] = 0x1234_5678_9ABC
    h.x[7] = NAPOT << 40                                 # entry 5 NAPOT
    h.x[9] = TOR << 40                                   # entry 5 TOR
    h.x[12] = -1                                         # bits 63:54 are not writable
    h.run(10)
    assert int(h.x[6]) == 0x1234_5678_9800               # OFF: bits 9:0 read 0
    assert int(h.x[8]) == 0x1234_5678_9BFF               # NAPOT: bits 8:0 read 1 (bit 9 as written)
    assert int(h.x[10]) == 0x1234_5678_9800              # TOR
    assert int(h.x[11]) == 0x1234_5678_9800
    assert int(h.csr[PMPADDR0 + 5]) == 0x1234_5678_9ABC  # stored as written
    assert int(h.x[13]) == ((1 << 54) - 1) & ~0x3FF


def test_a_locked_entry_ignores_writes_until_reset():
    h = m_code(csrw(PMPCFG0, 5), csrw(PMPCFG0, 0), csrr(6, PMPCFG0),
               csrw(PMPADDR0 + 1, 7), csrr(8, PMPADDR0 + 1))
    h.csr[PMPADDR0 + 1] = napot(DATA, 0x1000)
    h.x[5] = (PMP_L | NAPOT | PMP_R) << 8                # lock entry 1
    h.x[7] = 0x4000
    h.run(5)
    assert (int(h.x[6]) >> 8) & 0xFF == PMP_L | NAPOT | PMP_R
    assert int(h.x[8]) == napot(DATA, 0x1000)


def test_a_locked_tor_entry_locks_the_address_below_it_too():
    h = m_code(csrw(PMPCFG0, 5), csrw(PMPADDR0 + 1, 7), csrw(PMPADDR0 + 2, 7), csrw(PMPADDR0 + 3, 7),
               csrr(8, PMPADDR0 + 1), csrr(9, PMPADDR0 + 2), csrr(10, PMPADDR0 + 3))
    h.x[5] = (PMP_L | TOR | PMP_R) << 16                 # entry 2: locked TOR
    h.x[7] = 0x40_0000
    h.run(7)
    assert [int(h.x[i]) for i in (8, 9, 10)] == [0, 0, 0x40_0000]   # pmpaddr1 and 2 kept, 3 written


@pytest.mark.parametrize("csr_n", [PMPADDR0 + 1, PMPCFG0], ids=["pmpaddr", "pmpcfg"])
def test_a_pmp_csr_write_flushes_the_tlb(csr_n):
    """TLB entries hold PMP's answer for a page: after a PMP write the next access asks again.
    Entry 1 comes to deny DATA's page ahead of OPEN, by its address or by its configuration."""
    if csr_n == PMPCFG0:
        entries, value = [CODE, (PMP_OFF, napot(DATA, 0x1000)), OPEN], CODE[0] | NAPOT << 8
    else:
        entries, value = [CODE, (NAPOT, napot(DATA + 0x1000, 0x1000)), OPEN], napot(DATA, 0x1000)
    h = mk(LD6, PRV_S, entries)
    h.write_phys(BASE + 0x100, csrw(csr_n, 7))
    h.x[5], h.x[7] = DATA, value
    h.run(1)
    assert fault(h) is None                              # DATA's page is in the TLB now
    h.pc, h.priv = BASE + 0x100, PRV_M
    h.run(1)
    h.pc, h.priv = BASE, PRV_S
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA, BASE)
