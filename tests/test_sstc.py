"""Sstc (the supervisor timer comparator, stimecmp) and menvcfg.

stimecmp (CSR 0x14D): while menvcfg.STCE is set, mtime >= stimecmp (unsigned) drives mip.STIP, which
software then cannot write; S-mode may access stimecmp only with menvcfg.STCE and mcounteren.TM, U
never, M always.  The deterministic clock (emu/timer.py): mtime = clock // ST_TIME_DIV, so the
interrupt must arrive at the same instruction however the host splits the run.
"""
import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import J_SELF, M64, NOP, WFI, csr, csrr, csrw, s64  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.spec import (CAUSE_ILLEGAL_INSTRUCTION, ENVCFG_CBCFE, ENVCFG_CBIE, ENVCFG_CBZE, COUNTEREN_IR, COUNTEREN_TM, INSTRET, INTERRUPT, IRQ_S_TIMER, MCAUSE,  # noqa: E402
                      MCOUNTEREN, MENVCFG, MENVCFG_PBMTE, MENVCFG_STCE, MIDELEG, MIE, MIP, MIP_MTIP, MIP_STIP,
                      MSTATUS, MSTATUS_SIE, MTVEC, PRV_M, PRV_S, PRV_U, RAM_BASE, SCAUSE, SEPC, SIE, SSTATUS,
                      STIMECMP, STVEC)

BASE = RAM_BASE
HANDLER = BASE + 0x800                   # M: j .
S_HANDLER = BASE + 0x900                 # S: x10 = instret (the instructions retired before the trap), j .
S_HANDLER_CODE = csrr(10, INSTRET) + J_SELF
STCE = MENVCFG_STCE & M64


def mk(code, priv=PRV_M, menvcfg=0, mcounteren=0):
    h = Hart(1 << 20)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.write_phys(S_HANDLER, S_HANDLER_CODE)
    h.csr[MTVEC] = HANDLER
    h.csr[STVEC] = S_HANDLER
    h.csr[MENVCFG] = s64(menvcfg)
    h.csr[MCOUNTEREN] = mcounteren
    h.priv = priv
    return h


def illegal(h):
    return h.pc == HANDLER and int(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION


# ------------------------------------------------------------------ access

@pytest.mark.parametrize("priv", [PRV_U, PRV_S, PRV_M], ids=["U", "S", "M"])
@pytest.mark.parametrize("stce", [0, 1])
@pytest.mark.parametrize("tm", [0, 1])
@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_stimecmp_access_needs_stce_and_tm_in_s(priv, stce, tm, write):
    """Sstc: from S, stimecmp needs menvcfg.STCE and mcounteren.TM; U never (an S CSR); M always."""
    h = mk(csrw(STIMECMP, 5) if write else csrr(6, STIMECMP), priv, STCE if stce else 0,
           COUNTEREN_TM if tm else 0)
    h.csr[STIMECMP] = 1234
    h.x[5] = 99
    h.run(1)
    legal = priv == PRV_M or (priv == PRV_S and stce and tm)
    assert illegal(h) != legal
    if legal:
        assert int(h.csr[STIMECMP]) == (99 if write else 1234)
        assert write or int(h.x[6]) == 1234
    else:
        assert int(h.csr[STIMECMP]) == 1234


def test_menvcfg_writable_fields():
    """menvcfg: STCE (63) and PBMTE (62) are writable here, and Zicbom's CBIE/CBCFE/CBZE (7:4);
    FIOM and the rest read 0."""
    h = mk(csrw(MENVCFG, 5) + csrr(6, MENVCFG) + csrw(MENVCFG, 0) + csrr(7, MENVCFG))
    h.x[5] = -1
    h.run(4)
    assert int(h.x[6]) & M64 == STCE | MENVCFG_PBMTE | ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE
    assert int(h.x[7]) == 0


def test_stimecmp_resets_to_all_ones():
    assert int(Hart(1 << 20).csr[STIMECMP]) == -1


# ------------------------------------------------------------------ mip.STIP

def test_stip_follows_mtime_against_stimecmp_only_with_stce():
    code = csrw(STIMECMP, 5) + csrr(6, MIP) + csrw(STIMECMP, 7) + csrr(8, MIP)
    h = mk(code, menvcfg=STCE)
    h.x[5], h.x[7] = 0, -1                               # reached (unsigned), never
    h.run(4)
    assert int(h.x[6]) & MIP_STIP and not int(h.x[8]) & MIP_STIP
    h = mk(code)                                         # STCE = 0: stimecmp drives nothing
    h.x[5], h.x[7] = 0, -1
    h.run(4)
    assert not int(h.x[6]) & MIP_STIP and not int(h.x[8]) & MIP_STIP


def test_mip_stip_is_read_only_while_stce():
    code = csr("csrrs", 0, 5, MIP) + csrr(6, MIP)
    h = mk(code, menvcfg=STCE)                           # stimecmp = all ones: STIP stays 0
    h.x[5] = MIP_STIP
    h.run(2)
    assert not int(h.x[6]) & MIP_STIP
    h = mk(code)                                         # without STCE, M writes STIP as before
    h.x[5] = MIP_STIP
    h.run(2)
    assert int(h.x[6]) & MIP_STIP


# ------------------------------------------------------------------ the S-mode timer interrupt

def s_timer_hart(when, extra=b""):
    """S-mode code that sets stimecmp = x5 and spins; STI delegated and enabled."""
    h = mk(csrw(STIMECMP, 5) + extra + J_SELF, PRV_S, STCE, COUNTEREN_TM | COUNTEREN_IR)
    h.csr[MIDELEG] = MIP_STIP
    h.csr[MIE] = MIP_STIP
    h.csr[MSTATUS] = MSTATUS_SIE
    h.x[5] = when
    return h


@pytest.mark.parametrize("step", [1, 7, 1000, 100_000])
def test_s_timer_interrupt_arrives_at_the_same_instruction_however_the_run_is_split(step):
    """mtime = clock // 10 here: stimecmp = 50 is reached at clock 500, and the interrupt is taken
    before the instruction that would retire as the 500th, whatever budgets the host runs."""
    h = s_timer_hart(50)
    assert int(h.st[S.ST_TIME_DIV]) == 10
    while h.pc != S_HANDLER + 4 and h.instret < 10_000:   # the handler read instret, then spins
        h.run(step)
    assert h.pc == S_HANDLER + 4 and h.priv == PRV_S
    assert int(h.csr[SCAUSE]) & M64 == (INTERRUPT & M64) | IRQ_S_TIMER
    assert int(h.x[10]) == 500 and int(h.csr[SEPC]) == BASE + 4


def test_the_next_stimecmp_ends_a_chunk_while_mtimecmp_is_already_reached():
    """mtimecmp reached long ago (MTIP pending, MTIE off) must not hide stimecmp's event."""
    h = s_timer_hart(50)
    h.st[S.ST_MTIMECMP] = 0
    h.run(100_000)
    assert h.pc == S_HANDLER + 4 and int(h.x[10]) == 500
    assert int(h.csr[MIP]) & MIP_MTIP


def test_wfi_in_s_mode_sleeps_until_stimecmp():
    """The loop skips a waiting hart ahead to the next timer interrupt it can take: stimecmp's."""
    h = s_timer_hart(1000, WFI)
    why = h.run(100)
    assert why == S.EXIT_BUDGET and h.pc == S_HANDLER + 4
    assert int(h.x[10]) == 2 and int(h.st[S.ST_IDLE]) == 10_000 - 2
    assert int(h.csr[SEPC]) == BASE + 8                  # after the wfi


def test_wfi_with_sti_disabled_does_not_skip_to_stimecmp():
    h = s_timer_hart(1000, WFI)
    h.csr[MIE] = 0
    assert h.run(100) == S.EXIT_WFI and int(h.st[S.ST_IDLE]) == 0


# ------------------------------------------------------------------ the VMM as SBI firmware

def test_the_vmm_sbi_turns_sstc_on_and_its_set_timer_writes_stimecmp():
    """What OpenSBI does on a hart with Sstc and Svpbmt: menvcfg.STCE and PBMTE for the kernel."""
    from devices.firmware.sbi import Sbi, enter_supervisor
    h = Hart(1 << 20)
    enter_supervisor(h, BASE, 0, 0)
    assert int(h.csr[MENVCFG]) & M64 & (STCE | MENVCFG_PBMTE) == STCE | MENVCFG_PBMTE
    h.csr[MIP] = MIP_STIP
    Sbi(io.BytesIO())._set_timer(h, 12345)
    assert int(h.csr[STIMECMP]) == 12345 and int(h.st[S.ST_MTIMECMP]) == -1
    assert not int(h.csr[MIP]) & MIP_STIP


def test_s_mode_kernel_programs_its_timer_under_the_vmm_sbi():
    """A kernel entered by the VMM's SBI writes stimecmp itself (no ecall) and takes the interrupt."""
    from devices.firmware.sbi import enter_supervisor
    h = Hart(1 << 20)
    h.write_phys(BASE, csrw(STIMECMP, 5) + csr("csrrs", 0, 6, SIE) + csr("csrrsi", 0, 2, SSTATUS)
                 + NOP + J_SELF)
    h.write_phys(S_HANDLER, S_HANDLER_CODE)
    enter_supervisor(h, BASE, 0, 0)
    h.csr[STVEC] = S_HANDLER
    h.x[5], h.x[6] = 30, MIP_STIP                        # sie.STIE, then sstatus.SIE
    h.run(10_000)
    assert h.pc == S_HANDLER + 4 and int(h.x[10]) == 300
    assert int(h.csr[SCAUSE]) & M64 == (INTERRUPT & M64) | IRQ_S_TIMER
