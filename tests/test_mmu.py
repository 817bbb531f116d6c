"""Sv39, Sv48, Sv57 and Svpbmt (privileged spec v1.12, 4.3-4.6; Svpbmt): page tables built in guest
RAM from Python.

The code runs in S or U mode from a 4 KiB code page mapped at CODE_VA; faults
are not delegated, so they land in the M-mode `j .` handler (physical) and are
visible in mcause/mtval/mepc.  PageTables is a reusable helper (test_memory uses it).
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import I, J_SELF, M64, NOP, s64, w32  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_FETCH_ACCESS, CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_ACCESS,  # noqa: E402
                      CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT, MCAUSE, MEDELEG, MEPC,
                      MSTATUS, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SUM, MTVAL, MTVEC, PAGE_SIZE,
                      PRV_M, PRV_S, PRV_U, PTE_A, PTE_D, PTE_PPN_SHIFT, PTE_R, PTE_U, PTE_V,
                      PTE_W, PTE_X, RAM_BASE, SATP, SATP_MODE_SHIFT, SATP_MODE_SV39, SATP_MODE_SV48,
                      SATP_MODE_SV57, SCAUSE, SEPC, STVAL, STVEC, MENVCFG, MENVCFG_PBMTE, PTE_PBMT_SHIFT,
                      PBMT_NC, PBMT_IO, PBMT_RESERVED)

BASE = RAM_BASE
HANDLER = BASE + 0x800
PT_BASE = BASE + 0x10_0000
DATA_PA = BASE + 0x20_0000            # 2 MiB aligned
CODE_VA = 0x1000_0000
DATA_VA = 0x4000_0000

RW = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D


SFENCE = w32(0x12000073)
LD6 = I("ld", rd=6, rs1=5, imm=0)      # x6 = *(x5)
SD7 = I("sd", rs2=7, rs1=5, imm=0)     # *(x5) = x7


class PageTables:
    """Builds Sv39/Sv48/Sv57 tables (`mode`: satp's) in a hart's RAM (4 KiB pages for tables,
    allocated upward from PT_BASE)."""

    def __init__(self, h, base=PT_BASE, mode=SATP_MODE_SV39):
        self.h = h
        self.next = base
        self.mode = mode
        self.levels = {SATP_MODE_SV39: 3, SATP_MODE_SV48: 4, SATP_MODE_SV57: 5}[mode]
        self.root = self.alloc()

    def alloc(self):
        p = self.next
        self.next += PAGE_SIZE
        self.h.write_phys(p, bytes(PAGE_SIZE))
        return p

    def rd(self, pa):
        return int.from_bytes(self.h.read_phys(pa, 8), "little")

    def wr(self, pa, v):
        self.h.write_phys(pa, (v & M64).to_bytes(8, "little"))

    def pte_addr(self, va, level=0):
        a = self.root
        for lvl in range(self.levels - 1, 0, -1):
            if lvl == level:
                break
            slot = a + ((va >> (12 + 9 * lvl)) & 0x1FF) * 8
            pte = self.rd(slot)
            if not pte & PTE_V:
                t = self.alloc()
                pte = ((t >> 12) << PTE_PPN_SHIFT) | PTE_V
                self.wr(slot, pte)
            a = (pte >> PTE_PPN_SHIFT) << 12
        return a + ((va >> (12 + 9 * level)) & 0x1FF) * 8

    def map(self, va, pa, flags, level=0):
        self.wr(self.pte_addr(va, level), ((pa >> 12) << PTE_PPN_SHIFT) | flags)

    def pte(self, va, level=0):
        return self.rd(self.pte_addr(va, level))

    def satp(self):
        return (self.mode << SATP_MODE_SHIFT) | (self.root >> 12)


def vm(code, priv=PRV_S, user_code=False, mstatus=0, ram=4 << 20, mode=SATP_MODE_SV39):
    """A hart in `priv` running `code` at CODE_VA under satp mode `mode`. -> (hart, tables)."""
    h = Hart(ram)
    pt = PageTables(h, mode=mode)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    pt.map(CODE_VA, BASE, PTE_V | PTE_R | PTE_X | PTE_A | (PTE_U if user_code else 0))
    h.csr[SATP] = s64(pt.satp())
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = mstatus
    h.pc = CODE_VA
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h, pt


def fault(h):
    """-> (mcause, mtval, mepc) when the hart sits in the M handler, else None."""
    if h.pc != HANDLER or h.priv != PRV_M:
        return None
    return int(h.csr[MCAUSE]) & M64, int(h.csr[MTVAL]) & M64, int(h.csr[MEPC]) & M64


def run_ok(h, n):
    h.run(n)
    assert fault(h) is None, f"unexpected fault {fault(h)}"


def put64(h, pa, v):
    h.write_phys(pa, (v & M64).to_bytes(8, "little"))


def get64(h, pa):
    return int.from_bytes(h.read_phys(pa, 8), "little")


# ------------------------------------------------------------------ translation

def test_4k_page_load_and_store():
    h, pt = vm(LD6 + SD7 + I("ld", rd=8, rs1=5, imm=8))
    pt.map(DATA_VA, DATA_PA + 0x3000, RW)
    put64(h, DATA_PA + 0x3000, 0x1122334455667788)
    put64(h, DATA_PA + 0x3008, 0x99)
    h.x[5], h.x[7] = DATA_VA, 0x0BADC0DE
    run_ok(h, 3)
    assert int(h.x[6]) == 0x1122334455667788 and int(h.x[8]) == 0x99
    assert get64(h, DATA_PA + 0x3000) == 0x0BADC0DE


def test_2m_megapage():
    h, pt = vm(LD6 + SD7)
    va = DATA_VA + 0x20_0000
    pt.map(va, DATA_PA, RW, level=1)
    put64(h, DATA_PA + 0x1F_F238, 0xABCDEF)
    h.x[5], h.x[7] = va + 0x1F_F238, 0x5555
    run_ok(h, 2)
    assert int(h.x[6]) == 0xABCDEF
    assert get64(h, DATA_PA + 0x1F_F238) == 0x5555


def test_1g_gigapage():
    h, pt = vm(LD6 + SD7)
    pt.map(0xC000_0000, BASE, RW, level=2)
    put64(h, BASE + 0x30_0008, 0x7777)
    h.x[5], h.x[7] = 0xC000_0000 + 0x30_0008, 0x8888
    run_ok(h, 2)
    assert int(h.x[6]) == 0x7777 and get64(h, BASE + 0x30_0008) == 0x8888


def test_high_canonical_address():
    h, pt = vm(LD6)
    va = s64(0xFFFF_FFC0_0000_0000)            # root index 256, a canonical "negative" address
    pt.map(va, DATA_PA, RW)
    put64(h, DATA_PA, 42)
    h.x[5] = va
    run_ok(h, 1)
    assert int(h.x[6]) == 42


def test_fetch_from_non_contiguous_code_pages():
    # page 1 at CODE_VA (PA BASE) jumps on to CODE_VA + 0x1000, mapped to PA BASE + 0x5000
    h, pt = vm(NOP * 2 + I("jal", rd=0, imm=0x1000 - 8))
    pt.map(CODE_VA + 0x1000, BASE + 0x5000, PTE_V | PTE_R | PTE_X | PTE_A)
    h.write_phys(BASE + 0x5000, I("addi", rd=9, rs1=0, imm=123) + J_SELF)
    run_ok(h, 4)
    assert int(h.x[9]) == 123 and h.pc == CODE_VA + 0x1004


def test_instruction_straddling_two_pages():
    h, pt = vm(NOP)
    pt.map(CODE_VA + 0x1000, BASE + 0x7000, PTE_V | PTE_R | PTE_X | PTE_A)
    word = rvenc.enc("addi", rd=9, rs1=0, imm=-7)
    h.write_phys(BASE + 0xFFE, (word & 0xFFFF).to_bytes(2, "little"))
    h.write_phys(BASE + 0x7000, (word >> 16).to_bytes(2, "little") + J_SELF)
    h.pc = CODE_VA + 0xFFE
    run_ok(h, 1)
    assert int(h.x[9]) == -7 and h.pc == CODE_VA + 0x1002


def test_straddling_fetch_fault_reports_the_second_page():
    """4.3.2 / 3.1.16: mepc = the instruction, mtval = the address of the portion that faulted."""
    h, pt = vm(NOP)
    h.write_phys(BASE + 0xFFE, (rvenc.enc("addi", rd=9, rs1=0, imm=1) & 0xFFFF).to_bytes(2, "little"))
    h.pc = CODE_VA + 0xFFE
    h.run(1)
    assert fault(h) == (CAUSE_FETCH_PAGE_FAULT, CODE_VA + 0x1000, CODE_VA + 0xFFE)


def test_bare_mode_in_s_is_physical():
    h = Hart(1 << 20)
    h.write_phys(BASE, I("ld", rd=6, rs1=5, imm=0))
    put64(h, BASE + 0x100, 31337)
    h.x[5] = BASE + 0x100
    h.priv = PRV_S
    h.run(1)
    assert int(h.x[6]) == 31337


def test_mprv_translates_m_mode_data_accesses_only():
    h = Hart(4 << 20)
    pt = PageTables(h)
    h.write_phys(BASE, LD6 + J_SELF)
    pt.map(DATA_VA, DATA_PA, RW)
    put64(h, DATA_PA, 0x4242)
    h.csr[SATP] = s64(pt.satp())
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT)
    h.priv = PRV_M
    h.x[5] = DATA_VA
    h.run(1)
    assert int(h.x[6]) == 0x4242 and h.pc == BASE + 4      # fetch stayed physical
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_M << MSTATUS_MPP_SHIFT)      # MPP = M: no translation
    h.x[5] = DATA_PA
    h.pc = BASE
    refresh_mode(h.st, h.csr)
    h.run(1)
    assert int(h.x[6]) == 0x4242


def test_mprv_with_mpp_u_uses_u_permissions():
    h = Hart(4 << 20)
    pt = PageTables(h)
    h.write_phys(BASE, LD6)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    pt.map(DATA_VA, DATA_PA, RW)                      # supervisor page
    h.csr[SATP] = s64(pt.satp())
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_U << MSTATUS_MPP_SHIFT) | MSTATUS_SUM
    h.priv = PRV_M
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, BASE)


# ------------------------------------------------------------------ permission faults

@pytest.mark.parametrize("flags,insn,cause", [
    (0, LD6, CAUSE_LOAD_PAGE_FAULT), (0, SD7, CAUSE_STORE_PAGE_FAULT),                   # invalid PTE
    (PTE_V | PTE_R | PTE_A, SD7, CAUSE_STORE_PAGE_FAULT),                                # read-only
    (PTE_V | PTE_X | PTE_A, LD6, CAUSE_LOAD_PAGE_FAULT),                                 # execute-only, MXR = 0
    (PTE_V | PTE_W | PTE_A | PTE_D, LD6, CAUSE_LOAD_PAGE_FAULT),                         # W without R is reserved
    (PTE_V | PTE_W | PTE_A | PTE_D, SD7, CAUSE_STORE_PAGE_FAULT),
    (RW | PTE_X | (1 << 54), LD6, CAUSE_LOAD_PAGE_FAULT),                                # reserved bits 60:54
    (RW | (1 << 60), SD7, CAUSE_STORE_PAGE_FAULT),
    (RW | (1 << 63), LD6, CAUSE_LOAD_PAGE_FAULT),                  # N (Svnapot not implemented)
    (RW | (1 << 61), SD7, CAUSE_STORE_PAGE_FAULT),                 # PBMT while menvcfg.PBMTE = 0
])
def test_data_page_faults_report_the_va(flags, insn, cause):
    h, pt = vm(insn)
    pt.map(DATA_VA, DATA_PA, flags)
    h.x[5] = DATA_VA + 0x18
    h.run(1)
    assert fault(h) == (cause, DATA_VA + 0x18, CODE_VA)


def test_fetch_from_non_executable_page():
    h, pt = vm(I("jalr", rd=0, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)
    h.x[5] = DATA_VA + 0x10
    h.run(2)
    assert fault(h) == (CAUSE_FETCH_PAGE_FAULT, DATA_VA + 0x10, DATA_VA + 0x10)


def test_fetch_from_unmapped_page():
    h, pt = vm(I("jalr", rd=0, rs1=5, imm=0))
    h.x[5] = 0x7000_0000
    h.run(2)
    assert fault(h) == (CAUSE_FETCH_PAGE_FAULT, 0x7000_0000, 0x7000_0000)


def test_mxr_makes_executable_pages_readable():
    h, pt = vm(LD6, mstatus=MSTATUS_MXR)
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_X | PTE_A)
    put64(h, DATA_PA, 0x1234)
    h.x[5] = DATA_VA
    run_ok(h, 1)
    assert int(h.x[6]) == 0x1234


def test_user_page_from_s_needs_sum():
    h, pt = vm(LD6)
    pt.map(DATA_VA, DATA_PA, RW | PTE_U)
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA)
    h, pt = vm(LD6 + SD7, mstatus=MSTATUS_SUM)
    pt.map(DATA_VA, DATA_PA, RW | PTE_U)
    put64(h, DATA_PA, 99)
    h.x[5], h.x[7] = DATA_VA, 100
    run_ok(h, 2)
    assert int(h.x[6]) == 99 and get64(h, DATA_PA) == 100


def test_s_never_executes_user_pages_even_with_sum():
    h, pt = vm(I("jalr", rd=0, rs1=5, imm=0), mstatus=MSTATUS_SUM)
    pt.map(DATA_VA, BASE, PTE_V | PTE_R | PTE_X | PTE_A | PTE_U)
    h.x[5] = DATA_VA
    h.run(2)
    assert fault(h) == (CAUSE_FETCH_PAGE_FAULT, DATA_VA, DATA_VA)


def test_u_mode_access_rules():
    # U code on a U page; an S page is not accessible from U even with SUM
    h, pt = vm(LD6, priv=PRV_U, user_code=True, mstatus=MSTATUS_SUM)
    pt.map(DATA_VA, DATA_PA, RW)
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA)
    h, pt = vm(LD6 + SD7, priv=PRV_U, user_code=True)
    pt.map(DATA_VA, DATA_PA, RW | PTE_U)
    put64(h, DATA_PA, 5)
    h.x[5], h.x[7] = DATA_VA, 6
    run_ok(h, 2)
    assert int(h.x[6]) == 5 and get64(h, DATA_PA) == 6


def test_u_mode_cannot_execute_supervisor_page():
    h, pt = vm(NOP, priv=PRV_U, user_code=False)
    h.run(1)
    assert fault(h) == (CAUSE_FETCH_PAGE_FAULT, CODE_VA, CODE_VA)


@pytest.mark.parametrize("va", [1 << 38, 1 << 39, 0x8000_0000_0000_0000 - (1 << 38) + (1 << 39),
                                s64(0xFFFF_FF80_0000_0000)])
def test_non_canonical_va_faults(va):
    """Bits 63:39 must equal bit 38 (4.4.1)."""
    h, pt = vm(LD6)
    pt.map(va & ((1 << 39) - 1), DATA_PA, RW)          # the same low 39 bits are mapped
    h.x[5] = s64(va)
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, va & M64, CODE_VA)


def test_non_canonical_store_and_fetch():
    h, pt = vm(SD7)
    h.x[5] = 1 << 38
    h.run(1)
    assert fault(h)[:2] == (CAUSE_STORE_PAGE_FAULT, 1 << 38)
    h, pt = vm(I("jalr", rd=0, rs1=5, imm=0))
    h.x[5] = 1 << 38
    h.run(2)
    assert fault(h)[:2] == (CAUSE_FETCH_PAGE_FAULT, 1 << 38)


def test_misaligned_superpages_fault():
    h, pt = vm(LD6)
    pt.map(DATA_VA + 0x20_0000, DATA_PA + 0x1000, RW, level=1)       # 2 MiB leaf, PPN[0] != 0
    h.x[5] = DATA_VA + 0x20_0000
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA + 0x20_0000, CODE_VA)
    h, pt = vm(LD6)
    pt.map(0xC000_0000, DATA_PA, RW, level=2)                        # 1 GiB leaf, PPN[1] != 0
    h.x[5] = 0xC000_0000
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, 0xC000_0000, CODE_VA)


def test_pointer_pte_at_the_last_level_faults():
    h, pt = vm(LD6)
    pt.map(DATA_VA, DATA_PA, PTE_V)                  # R = W = X = 0 at level 0
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA)


def test_delegated_page_fault_goes_to_s_with_stval():
    h, pt = vm(LD6)
    h.csr[MEDELEG] = 1 << CAUSE_LOAD_PAGE_FAULT
    h.csr[STVEC] = CODE_VA + 0xA00
    h.write_phys(BASE + 0xA00, J_SELF)
    h.x[5] = DATA_VA + 8
    h.run(1)
    assert h.pc == CODE_VA + 0xA00 and h.priv == PRV_S
    assert int(h.csr[SCAUSE]) == CAUSE_LOAD_PAGE_FAULT
    assert int(h.csr[STVAL]) == DATA_VA + 8 and int(h.csr[SEPC]) == CODE_VA


# ------------------------------------------------------------------ A / D bits, sfence.vma

def test_accessed_and_dirty_set_by_hardware():
    h, pt = vm(LD6 + SD7)
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_R | PTE_W)         # A = D = 0
    h.x[5] = DATA_VA
    run_ok(h, 1)
    p = pt.pte(DATA_VA)
    assert p & PTE_A and not p & PTE_D, hex(p)
    run_ok(h, 1)                                # the store after a load (TLB holds a load entry)
    p = pt.pte(DATA_VA)
    assert p & PTE_A and p & PTE_D, hex(p)


def test_fetch_sets_accessed_only():
    h, pt = vm(NOP)
    pt.wr(pt.pte_addr(CODE_VA), ((BASE >> 12) << PTE_PPN_SHIFT) | PTE_V | PTE_R | PTE_X)
    run_ok(h, 1)
    p = pt.pte(CODE_VA)
    assert p & PTE_A and not p & PTE_D


def test_sfence_vma_makes_a_changed_pte_visible():
    h, pt = vm(LD6 + SFENCE + I("ld", rd=7, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)
    put64(h, DATA_PA, 1)
    put64(h, DATA_PA + 0x1000, 2)
    h.x[5] = DATA_VA
    run_ok(h, 1)
    assert int(h.x[6]) == 1
    pt.map(DATA_VA, DATA_PA + 0x1000, RW)      # remap, then the guest fences
    run_ok(h, 2)
    assert int(h.x[7]) == 2


def test_sfence_vma_with_address_operand():
    sf = w32((0x09 << 25) | (0 << 20) | (5 << 15) | 0x73)   # sfence.vma x5, x0
    h, pt = vm(LD6 + sf + I("ld", rd=7, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)
    put64(h, DATA_PA, 1)
    put64(h, DATA_PA + 0x1000, 2)
    h.x[5] = DATA_VA
    run_ok(h, 1)
    pt.map(DATA_VA, DATA_PA + 0x1000, RW)
    run_ok(h, 2)
    assert int(h.x[7]) == 2


def test_unmapping_after_sfence_faults():
    h, pt = vm(LD6 + SFENCE + I("ld", rd=7, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)
    h.x[5] = DATA_VA
    run_ok(h, 1)
    pt.wr(pt.pte_addr(DATA_VA), 0)
    h.run(2)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA + 8)


# ------------------------------------------------------------------ access faults from the walk

def test_root_table_outside_ram_is_an_access_fault_of_the_access_type():
    h = Hart(1 << 20)
    h.write_phys(BASE, LD6 + SD7)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[SATP] = s64((SATP_MODE_SV39 << SATP_MODE_SHIFT) | (0x1000_0000 >> 12))
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT)        # M fetches physically, data goes through Sv39
    h.priv = PRV_M
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA_VA, BASE)
    h.pc = BASE + 4
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT)
    refresh_mode(h.st, h.csr)
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA_VA, BASE + 4)


def test_fetch_walk_outside_ram_is_a_fetch_access_fault():
    h = Hart(1 << 20)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[SATP] = s64((SATP_MODE_SV39 << SATP_MODE_SHIFT) | (0x1000_0000 >> 12))
    h.pc = CODE_VA
    h.priv = PRV_S
    h.run(1)
    assert fault(h) == (CAUSE_FETCH_ACCESS, CODE_VA, CODE_VA)


def test_intermediate_table_outside_ram():
    h, pt = vm(LD6)
    pt.wr(pt.root + ((DATA_VA >> 30) & 0x1FF) * 8, ((0x1000_0000 >> 12) << PTE_PPN_SHIFT) | PTE_V)
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA_VA, CODE_VA)


def test_leaf_pointing_outside_ram_is_an_access_fault():
    h, pt = vm(LD6 + SD7)
    pt.map(DATA_VA, 0x1000_0000, RW)
    h.x[5] = DATA_VA + 0x10
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_ACCESS, DATA_VA + 0x10, CODE_VA)
    h.pc, h.priv = CODE_VA + 4, PRV_S
    h.run(1)
    assert fault(h) == (CAUSE_STORE_ACCESS, DATA_VA + 0x10, CODE_VA + 4)


@pytest.mark.parametrize("bit,name", [(PTE_A, "A"), (PTE_D, "D"), (PTE_U, "U")])
def test_non_leaf_pte_with_reserved_a_d_u_bits_faults(bit, name):
    """4.3.1: for non-leaf PTEs the D, A and U bits are reserved for future standard use;
    4.3.2 step 3: a PTE with reserved bits set raises a page fault."""
    h, pt = vm(LD6)
    pt.map(DATA_VA, DATA_PA, RW)
    slot = pt.root + ((DATA_VA >> 30) & 0x1FF) * 8          # the level-2 pointer PTE
    pt.wr(slot, pt.rd(slot) | bit)
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA), name


def test_amo_and_sc_need_write_permission():
    amoadd = w32((0 << 27) | (7 << 20) | (5 << 15) | (3 << 12) | (6 << 7) | 0x2F)
    lr = w32((0b00010 << 27) | (5 << 15) | (3 << 12) | (6 << 7) | 0x2F)
    h, pt = vm(amoadd)
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_R | PTE_A)
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_STORE_PAGE_FAULT, DATA_VA, CODE_VA)
    h, pt = vm(lr)                                           # LR only reads
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_R | PTE_A)
    put64(h, DATA_PA, 77)
    h.x[5] = DATA_VA
    run_ok(h, 1)
    assert int(h.x[6]) == 77


def test_denied_access_does_not_set_accessed_or_dirty():
    """4.3.2: A/D are updated only for an access that passed the permission checks (step 7 follows 5)."""
    h, pt = vm(SD7)
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_R)                 # read-only, A = 0
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_STORE_PAGE_FAULT, DATA_VA, CODE_VA)
    assert pt.pte(DATA_VA) & (PTE_A | PTE_D) == 0


def test_straddling_instruction_decoded_in_bare_mode_is_refetched_under_sv39():
    """The second parcel of an instruction that crosses a page comes from wherever the next
    *virtual* page maps (4.3.2 applies to each parcel).  Executing it first in M-mode (bare,
    physically contiguous) must not leave a decode that Sv39 execution then reuses."""
    h, pt = vm(NOP)
    lo_a = rvenc.enc("addi", rd=9, rs1=0, imm=1)
    lo_b = rvenc.enc("addi", rd=9, rs1=0, imm=-7)
    assert lo_a & 0xFFFF == lo_b & 0xFFFF
    h.write_phys(BASE + 0xFFE, (lo_a & 0xFFFF).to_bytes(2, "little"))
    h.write_phys(BASE + 0x1000, (lo_a >> 16).to_bytes(2, "little"))       # physically next: imm = 1
    h.write_phys(BASE + 0x7000, (lo_b >> 16).to_bytes(2, "little"))       # virtually next: imm = -7
    pt.map(CODE_VA + 0x1000, BASE + 0x7000, PTE_V | PTE_R | PTE_X | PTE_A)
    # 1) M-mode, bare: runs the physically contiguous instruction
    h.priv = PRV_M
    h.pc = BASE + 0xFFE
    h.run(1)
    assert int(h.x[9]) == 1
    # 2) S-mode, Sv39: the same first parcel, a different second parcel
    h.priv = PRV_S
    h.pc = CODE_VA + 0xFFE
    run_ok(h, 1)
    assert int(h.x[9]) == -7


# ------------------------------------------------------------------ Sv48 and Sv57 (4.5, 4.6)

MODES = [SATP_MODE_SV39, SATP_MODE_SV48, SATP_MODE_SV57]
MODE_IDS = {SATP_MODE_SV39: "sv39", SATP_MODE_SV48: "sv48", SATP_MODE_SV57: "sv57"}
LEVELS = {SATP_MODE_SV39: 3, SATP_MODE_SV48: 4, SATP_MODE_SV57: 5}
SUPERPAGES = [(m, k) for m in MODES for k in range(1, LEVELS[m])]


def high_va(mode):
    """A canonical VA whose root index is 0x80 (not CODE_VA's), aligned for a leaf at any level."""
    return 1 << (12 + 9 * LEVELS[mode] - 2)


@pytest.mark.parametrize("mode", [SATP_MODE_SV48, SATP_MODE_SV57], ids=MODE_IDS.get)
def test_4k_pages_under_sv48_and_sv57(mode):
    """A walk of 4 (Sv48) or 5 (Sv57) levels, the VA's upper index fields in use, and hardware A/D."""
    va = high_va(mode) + 0x1A5A_4000_0000 + 0x3000
    h, pt = vm(LD6 + SD7, mode=mode)
    pt.map(va, DATA_PA + 0x3000, PTE_V | PTE_R | PTE_W)
    put64(h, DATA_PA + 0x3010, 0x1234)
    h.x[5], h.x[7] = va + 0x10, 0x4321
    run_ok(h, 2)
    assert int(h.x[6]) == 0x1234 and get64(h, DATA_PA + 0x3010) == 0x4321
    assert pt.pte(va) & (PTE_A | PTE_D) == PTE_A | PTE_D
    from emu import debug as D
    assert D.debug_translate(h, va + 0x10) == DATA_PA + 0x3010


@pytest.mark.parametrize("mode,level", SUPERPAGES, ids=[f"{MODE_IDS[m]}-level{k}" for m, k in SUPERPAGES])
def test_superpages_at_every_level(mode, level):
    """A leaf at level k maps 2^(12+9k) bytes: megapages, gigapages, Sv48's 512 GiB terapages and
    Sv57's 256 TiB petapages (the last two from physical address 0, so that RAM lies inside)."""
    span = 1 << (12 + 9 * level)
    pa = (DATA_PA, BASE, 0, 0)[level - 1]
    target = DATA_PA + 0x1238                  # in RAM, inside the superpage
    va = high_va(mode) + (target - pa)
    assert target - pa < span and pa % span == 0
    h, pt = vm(LD6 + SD7, mode=mode)
    pt.map(high_va(mode), pa, RW, level=level)
    put64(h, target, 0xFEED)
    h.x[5], h.x[7] = va, 0xBEEF
    run_ok(h, 2)
    assert int(h.x[6]) == 0xFEED and get64(h, target) == 0xBEEF
    from emu import debug as D
    assert D.debug_translate(h, va) == target


@pytest.mark.parametrize("mode,level", SUPERPAGES, ids=[f"{MODE_IDS[m]}-level{k}" for m, k in SUPERPAGES])
def test_misaligned_superpages_at_every_level_fault(mode, level):
    """4.3.2 step 6: a superpage leaf whose PPN has a nonzero low field is a page fault (the PPN's
    lowest bit below the superpage's alignment is set)."""
    h, pt = vm(LD6, mode=mode)
    pt.map(high_va(mode), BASE + (1 << (12 + 9 * (level - 1))), RW, level=level)
    h.x[5] = high_va(mode)
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, high_va(mode), CODE_VA)


@pytest.mark.parametrize("mode,va", [
    (SATP_MODE_SV48, 1 << 47), (SATP_MODE_SV48, 1 << 48), (SATP_MODE_SV48, s64(0xFFFF_0000_0000_0000)),
    (SATP_MODE_SV48, s64(0x8000_8000_0000_0000)),
    (SATP_MODE_SV57, 1 << 56), (SATP_MODE_SV57, 1 << 60), (SATP_MODE_SV57, s64(0xFE00_0000_0000_0000)),
], ids=lambda v: MODE_IDS.get(v, hex(v & M64)))
def test_non_canonical_va_faults_under_sv48_and_sv57(mode, va):
    """Bits 63:48 must equal bit 47 (Sv48), bits 63:57 bit 56 (Sv57); the low bits are mapped."""
    h, pt = vm(LD6, mode=mode)
    pt.map(va & ((1 << (12 + 9 * LEVELS[mode])) - 1), DATA_PA, RW)
    h.x[5] = s64(va)
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, va & M64, CODE_VA)


@pytest.mark.parametrize("mode,va", [
    (SATP_MODE_SV48, s64(0xFFFF_8000_0000_0000)), (SATP_MODE_SV48, (1 << 47) - 4096),
    (SATP_MODE_SV57, 1 << 47), (SATP_MODE_SV57, 1 << 55), (SATP_MODE_SV57, s64(0xFF00_0000_0000_0000)),
], ids=lambda v: MODE_IDS.get(v, hex(v & M64)))
def test_canonical_vas_of_the_wider_modes_translate(mode, va):
    """What Sv39 (or Sv48) rejects as non-canonical is an ordinary address of a wider mode."""
    h, pt = vm(LD6, mode=mode)
    pt.map(va, DATA_PA, RW)
    put64(h, DATA_PA + 8, 77)
    h.x[5] = s64(va + 8)
    run_ok(h, 1)
    assert int(h.x[6]) == 77


def test_sv57_fetch_and_user_pages():
    """Code runs from a Sv57 page (U), and S-mode permissions hold at five levels."""
    h, pt = vm(I("ld", rd=6, rs1=5, imm=0) + J_SELF, priv=PRV_U, user_code=True, mode=SATP_MODE_SV57)
    pt.map(DATA_VA, DATA_PA, RW)                 # an S page: U may not read it
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA)


# ------------------------------------------------------------------ Svpbmt

@pytest.mark.parametrize("pbmt", [PBMT_NC, PBMT_IO], ids=["NC", "IO"])
def test_svpbmt_nc_and_io_leaves_with_pbmte(pbmt):
    """With menvcfg.PBMTE a leaf's PBMT may say NC or IO; RAM is RAM here (no caches to bypass)."""
    h, pt = vm(LD6 + SD7)
    h.csr[MENVCFG] = MENVCFG_PBMTE
    pt.map(DATA_VA, DATA_PA, RW | (pbmt << PTE_PBMT_SHIFT))
    put64(h, DATA_PA, 5)
    h.x[5], h.x[7] = DATA_VA, 6
    run_ok(h, 2)
    assert int(h.x[6]) == 5 and get64(h, DATA_PA) == 6


@pytest.mark.parametrize("pbmte", [True, False], ids=["PBMTE", "no-PBMTE"])
@pytest.mark.parametrize("pbmt", [PBMT_NC, PBMT_IO, PBMT_RESERVED], ids=["NC", "IO", "reserved"])
def test_svpbmt_reserved_encodings_fault(pbmt, pbmte):
    """PBMT = 3 is reserved; without menvcfg.PBMTE every nonzero PBMT is (Svpbmt: as if not there)."""
    h, pt = vm(SD7)
    h.csr[MENVCFG] = MENVCFG_PBMTE if pbmte else 0
    pt.map(DATA_VA, DATA_PA, RW | (pbmt << PTE_PBMT_SHIFT))
    h.x[5] = DATA_VA
    h.run(1)
    if pbmte and pbmt != PBMT_RESERVED:
        assert fault(h) is None
    else:
        assert fault(h) == (CAUSE_STORE_PAGE_FAULT, DATA_VA, CODE_VA)


@pytest.mark.parametrize("pbmt", [PBMT_NC, PBMT_IO], ids=["NC", "IO"])
def test_svpbmt_bits_in_a_non_leaf_pte_fault(pbmt):
    """Bits 62:61 of a non-leaf PTE are reserved, PBMTE or not."""
    h, pt = vm(LD6)
    h.csr[MENVCFG] = MENVCFG_PBMTE
    pt.map(DATA_VA, DATA_PA, RW)
    slot = pt.root + ((DATA_VA >> 30) & 0x1FF) * 8
    pt.wr(slot, pt.rd(slot) | (pbmt << PTE_PBMT_SHIFT))
    h.x[5] = DATA_VA
    h.run(1)
    assert fault(h) == (CAUSE_LOAD_PAGE_FAULT, DATA_VA, CODE_VA)
