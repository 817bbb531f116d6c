"""The CLINT (msip, mtimecmp, mtime) served inside the loop, and the M timer/software interrupts.

Privileged spec v1.12 3.2.1 (mtime/mtimecmp: MTIP = mtime >= mtimecmp, unsigned;
cleared by writing mtimecmp), 3.1.9 (mip.MTIP/MSIP read-only, driven by the
CLINT), 3.3.3 (wfi; interrupt taken with mepc = the instruction after wfi).
The timebase is deterministic: mtime = clock // ST_TIME_DIV.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF, M64, NOP, WFI, csrr, w32  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from devices.bus import TrapTable  # noqa: E402
from devices.clint import Clint  # noqa: E402
from emu.spec import (CLINT_BASE, INTERRUPT, IRQ_M_SOFT, IRQ_M_TIMER, MCAUSE, MEPC, MIE, MIP, MIP_MSIP,  # noqa: E402
                      MIP_MTIP, MSTATUS, MSTATUS_MIE, MTVAL, MTVEC, RAM_BASE, TIME)

BASE = RAM_BASE
HANDLER = BASE + 0x1800
INT = INTERRUPT & M64                 # the interrupt bit of mcause, unsigned
MSIP_A, MTIMECMP_A, MTIME_A = CLINT_BASE, CLINT_BASE + 0x4000, CLINT_BASE + 0xBFF8


def csrsi(n, uimm):
    return w32((n << 20) | (uimm << 15) | (6 << 12) | 0x73)


def mk(code, mstatus=0, mie=0):
    h = Hart(1 << 20)
    t = TrapTable()
    t.add(CLINT_BASE, Clint.size, Clint())
    h.set_mmio_table(t.rows())
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = mstatus
    h.csr[MIE] = mie
    refresh_mode(h.st, h.csr)
    h.x[10], h.x[11], h.x[12] = MSIP_A, MTIME_A, MTIMECMP_A
    return h


def div(h):
    return int(h.st[S.ST_TIME_DIV])


def test_mtime_advances_with_instructions():
    h = mk(I("ld", rd=6, rs1=11, imm=0) + NOP * 98 + I("ld", rd=7, rs1=11, imm=0) + csrr(8, TIME))
    h.run(101)
    d = div(h)
    assert int(h.x[6]) == 0
    assert int(h.x[7]) == 99 // d
    assert int(h.x[8]) == 100 // d        # the time CSR shadows mtime


def test_mtime_is_writable():
    h = mk(I("sd", rs2=13, rs1=11, imm=0) + I("ld", rd=6, rs1=11, imm=0))
    h.x[13] = 1_000_000
    h.run(2)
    assert 1_000_000 <= int(h.x[6]) <= 1_000_001


def test_mtimecmp_drives_mip_mtip():
    code = (I("sd", rs2=0, rs1=12, imm=0) + csrr(6, MIP)          # mtimecmp = 0 <= mtime: pending
            + I("sd", rs2=13, rs1=12, imm=0) + csrr(7, MIP)       # far future: cleared
            + I("ld", rd=8, rs1=12, imm=0))
    h = mk(code)
    h.x[13] = -1 >> 1
    h.run(5)
    assert int(h.x[6]) & MIP_MTIP
    assert not int(h.x[7]) & MIP_MTIP
    assert int(h.x[8]) == (-1 >> 1)


def test_mtimecmp_compare_is_unsigned():
    h = mk(I("sd", rs2=13, rs1=12, imm=0) + csrr(6, MIP))
    h.x[13] = -5                 # 0xffff...fb: far in the future, not "negative"
    h.run(2)
    assert not int(h.x[6]) & MIP_MTIP


def test_timer_interrupt_at_a_deterministic_instruction():
    """mtimecmp = 5 ticks, then interrupts on: the interrupt comes at the first instruction
    boundary where mtime >= mtimecmp."""
    code = I("sd", rs2=13, rs1=12, imm=0) + csrsi(MSTATUS, MSTATUS_MIE) + NOP * 200
    results = []
    for _ in range(2):
        h = mk(code, mie=MIP_MTIP)
        h.x[13] = 5
        h.run(300)
        assert h.pc == HANDLER and int(h.csr[MCAUSE]) & M64 == INT | IRQ_M_TIMER
        results.append(int(h.csr[MEPC]))
    assert results[0] == results[1]
    assert results[0] == BASE + 4 * 5 * div(h), hex(results[0])


def test_timer_armed_by_a_store_with_interrupts_already_on():
    """The store to mtimecmp itself arms the timer (no CSR write in between): the interrupt must
    still arrive when mtime reaches mtimecmp (as when it is armed before the chunk starts), not at
    the end of the loop's chunk."""
    h = mk(I("sd", rs2=13, rs1=12, imm=0) + NOP * 300, mstatus=MSTATUS_MIE, mie=MIP_MTIP)
    h.x[13] = 5
    h.run(400)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) & M64 == INT | IRQ_M_TIMER
    assert int(h.csr[MEPC]) == BASE + 4 * 5 * div(h), hex(int(h.csr[MEPC]))


def test_msip_sets_mip_msip_and_interrupts():
    one = I("addi", rd=13, rs1=0, imm=1)
    code = (one + I("sw", rs2=13, rs1=10, imm=0) + csrr(6, MIP) + I("lw", rd=7, rs1=10, imm=0)
            + I("sw", rs2=0, rs1=10, imm=0) + csrr(8, MIP) + I("lw", rd=9, rs1=10, imm=0))
    h = mk(code)
    h.run(7)
    assert int(h.x[6]) & MIP_MSIP and int(h.x[7]) == 1
    assert not int(h.x[8]) & MIP_MSIP and int(h.x[9]) == 0


def test_msip_store_interrupts_at_the_next_instruction():
    """An enabled, pending interrupt must be taken (3.1.9 asks for a bounded delay; the loop's
    contract is the next instruction boundary).  A store to msip sets mip.MSIP inside the loop's
    chunk, so the interrupt must not wait for the chunk (ST_POLL instructions) to end."""
    one = I("addi", rd=13, rs1=0, imm=1)
    h = mk(one + I("sw", rs2=13, rs1=10, imm=0) + NOP * 10, mstatus=MSTATUS_MIE, mie=MIP_MSIP)
    h.run(5)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) & M64 == INT | IRQ_M_SOFT
    assert int(h.csr[MEPC]) == BASE + 8


def test_64bit_registers_as_32bit_halves():
    code = (I("sw", rs2=13, rs1=12, imm=0) + I("sw", rs2=14, rs1=12, imm=4)
            + I("ld", rd=6, rs1=12, imm=0) + I("lw", rd=7, rs1=12, imm=4) + I("lwu", rd=8, rs1=12, imm=0)
            + I("sw", rs2=14, rs1=11, imm=4) + I("lw", rd=9, rs1=11, imm=4))
    h = mk(code)
    h.x[13], h.x[14] = 0x89AB_CDEF - (1 << 32), 0x0123_4567
    h.run(7)
    assert int(h.x[6]) == 0x0123_4567_89AB_CDEF
    assert int(h.x[7]) == 0x0123_4567
    assert int(h.x[8]) == 0x89AB_CDEF
    assert int(h.x[9]) == 0x0123_4567       # mtime high half written and read back


def test_wfi_with_a_timer_armed_skips_ahead():
    """wfi resumes when an enabled interrupt becomes pending, even with mstatus.MIE = 0."""
    h = mk(WFI + I("ld", rd=7, rs1=11, imm=0) + J_SELF, mie=MIP_MTIP)
    h.st[S.ST_MTIMECMP] = 10_000
    assert h.run(2) == S.EXIT_BUDGET
    assert h.instret == 2 and h.pc == BASE + 8
    assert int(h.x[7]) >= 10_000


def test_wfi_then_timer_interrupt_mepc_is_after_wfi():
    h = mk(NOP + WFI + NOP, mstatus=MSTATUS_MIE, mie=MIP_MTIP)
    h.st[S.ST_MTIMECMP] = 50_000
    h.run(3)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) & M64 == INT | IRQ_M_TIMER
    assert int(h.csr[MEPC]) == BASE + 8
    assert h.instret == 2


def test_misaligned_clint_access_faults():
    h = mk(I("ld", rd=6, rs1=11, imm=1))
    h.run(1)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) in (4, 5)
    assert int(h.csr[MTVAL]) == MTIME_A + 1


def test_mtimecmp_high_half_lw_sign_extends_lwu_zero_extends():
    h = mk(I("lw", rd=6, rs1=12, imm=4) + I("lwu", rd=7, rs1=12, imm=4) + I("lb", rd=8, rs1=12, imm=7))
    h.st[S.ST_MTIMECMP] = -(1 << 32) + 0x1234           # 0xffffffff_00001234
    h.run(3)
    assert int(h.x[6]) == -1 and int(h.x[7]) == 0xFFFF_FFFF and int(h.x[8]) == -1
