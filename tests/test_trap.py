"""Traps (privileged spec v1.12: 3.1.6.1, 3.1.8, 3.1.9, 3.1.14-3.1.16, 3.3.2, 4.1.1), via real instructions.

Exception entry, delegation to S, interrupt priority and enable rules, vectored
mtvec/stvec, and mret/sret.  Handlers are `j .` loops at HANDLER (M) and
SHANDLER (S), so where the hart went is visible in pc/priv and the CSRs.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import EBREAK, ECALL, I, J_SELF, M64, MRET, NOP, SRET, csrr, csrrsi, w32  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_BREAKPOINT, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_MACHINE_ECALL,  # noqa: E402
                      CAUSE_SUPERVISOR_ECALL, CAUSE_USER_ECALL, INTERRUPT, IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER,
                      IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER, MCAUSE, MEDELEG, MEPC, MIDELEG, MIE, MINSTRET, MIP,
                      MIP_MEIP, MIP_MSIP, MIP_MTIP, MIP_SEIP, MIP_SSIP, MIP_STIP, MSTATUS, MSTATUS_MIE, MSTATUS_MPIE,
                      MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP, MTVAL,
                      MTVEC, PRV_M, PRV_S, PRV_U, RAM_BASE, SCAUSE, SEPC, STVAL, STVEC)

BASE = RAM_BASE
HANDLER = BASE + 0x800
SHANDLER = BASE + 0xA00
INT = INTERRUPT & M64                 # the interrupt bit of mcause/scause, as u() reads them

S_IRQS = MIP_SSIP | MIP_STIP | MIP_SEIP                 # the S-level interrupts' bits in mie/mip/mideleg
ALL_IRQS = S_IRQS | MIP_MSIP | MIP_MTIP | MIP_MEIP


def u(v):
    return int(v) & M64


def mpp(h):
    return (u(h.csr[MSTATUS]) & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT


def mk(code, priv=PRV_M, mstatus=0, mtimecmp=-1, **csrs):
    h = Hart(1 << 20)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.write_phys(SHANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[STVEC] = SHANDLER
    h.csr[MSTATUS] = mstatus
    h.st[S.ST_MTIMECMP] = mtimecmp
    names = {"mie": MIE, "mip": MIP, "medeleg": MEDELEG, "mideleg": MIDELEG, "mepc": MEPC,
             "sepc": SEPC, "mtvec": MTVEC, "stvec": STVEC}
    for k, v in csrs.items():
        h.csr[names[k]] = v
        if k == "mip":          # MEIP/SEIP are the interrupt controller's lines, not storage
            h.st[S.ST_EIP] = v & (MIP_MEIP | MIP_SEIP)
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


# ------------------------------------------------------------------ exceptions into M

@pytest.mark.parametrize("priv,cause", [(PRV_M, CAUSE_MACHINE_ECALL), (PRV_S, CAUSE_SUPERVISOR_ECALL),
                                        (PRV_U, CAUSE_USER_ECALL)])
def test_ecall_enters_m_with_cause_by_privilege(priv, cause):
    h = mk(NOP + ECALL, priv=priv, mstatus=MSTATUS_MIE if priv == PRV_M else 0)
    h.run(2)
    assert h.pc == HANDLER and h.priv == PRV_M
    assert u(h.csr[MCAUSE]) == cause
    assert u(h.csr[MEPC]) == BASE + 4          # the ecall itself, not the next instruction
    assert u(h.csr[MTVAL]) == 0
    assert mpp(h) == priv
    ms = u(h.csr[MSTATUS])
    assert not ms & MSTATUS_MIE
    assert bool(ms & MSTATUS_MPIE) == (priv == PRV_M)    # MPIE = the old MIE


def test_ecall_does_not_retire():
    h = mk(ECALL)
    h.write_phys(HANDLER, csrr(1, MINSTRET) + J_SELF)
    h.run(2)
    assert int(h.x[1]) == 0


def test_ebreak_and_c_ebreak():
    for code, size in ((EBREAK, 4), (rvenc.enc_bytes("c.ebreak"), 2)):
        h = mk(NOP + code)
        h.run(2)
        assert h.pc == HANDLER and u(h.csr[MCAUSE]) == CAUSE_BREAKPOINT
        assert u(h.csr[MEPC]) == BASE + 4
        assert u(h.csr[MTVAL]) in (0, BASE + 4)     # 0 or the breakpoint's address


@pytest.mark.parametrize("word,n", [(0x0000, 2), (0xFFFFFFFF, 4), (0x00007003, 4)])
def test_illegal_instruction(word, n):
    h = mk(word.to_bytes(n, "little") + bytes(2))
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION and u(h.csr[MEPC]) == BASE
    assert u(h.csr[MTVAL]) in (0, word)


def test_trap_in_m_saves_mie_into_mpie_and_mpp_m():
    h = mk(ECALL, mstatus=MSTATUS_MIE | (PRV_U << MSTATUS_MPP_SHIFT))
    h.run(1)
    ms = u(h.csr[MSTATUS])
    assert mpp(h) == PRV_M and ms & MSTATUS_MPIE and not ms & MSTATUS_MIE


# ------------------------------------------------------------------ delegation to S

def test_delegated_ecall_from_u_goes_to_s():
    h = mk(NOP + ECALL, priv=PRV_U, mstatus=MSTATUS_SIE | MSTATUS_MIE, medeleg=1 << CAUSE_USER_ECALL, mepc=0x1234)
    h.run(2)
    assert h.pc == SHANDLER and h.priv == PRV_S
    assert u(h.csr[SCAUSE]) == CAUSE_USER_ECALL and u(h.csr[SEPC]) == BASE + 4 and u(h.csr[STVAL]) == 0
    ms = u(h.csr[MSTATUS])
    assert not ms & MSTATUS_SPP                  # came from U
    assert ms & MSTATUS_SPIE and not ms & MSTATUS_SIE  # SPIE = old SIE, SIE = 0
    assert ms & MSTATUS_MIE                      # M state untouched
    assert u(h.csr[MEPC]) == 0x1234 and u(h.csr[MCAUSE]) == 0


def test_delegated_exception_from_s_sets_spp():
    h = mk(ECALL, priv=PRV_S, mstatus=0, medeleg=1 << CAUSE_SUPERVISOR_ECALL)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == PRV_S and u(h.csr[SCAUSE]) == CAUSE_SUPERVISOR_ECALL
    ms = u(h.csr[MSTATUS])
    assert ms & MSTATUS_SPP and not ms & MSTATUS_SPIE


def test_delegated_illegal_instruction_stval():
    h = mk(w32(0xFFFFFFFF), priv=PRV_U, medeleg=1 << CAUSE_ILLEGAL_INSTRUCTION)
    h.run(1)
    assert h.pc == SHANDLER and u(h.csr[SCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION and u(h.csr[SEPC]) == BASE
    assert u(h.csr[STVAL]) in (0, 0xFFFFFFFF)


def test_exceptions_in_m_are_never_delegated():
    h = mk(w32(0xFFFFFFFF), priv=PRV_M, medeleg=0xB3FF)
    h.run(1)
    assert h.pc == HANDLER and h.priv == PRV_M and u(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION


def test_undelegated_exception_from_s_goes_to_m():
    h = mk(ECALL, priv=PRV_S, medeleg=1 << CAUSE_USER_ECALL)   # only U ecall delegated
    h.run(1)
    assert h.pc == HANDLER and h.priv == PRV_M and u(h.csr[MCAUSE]) == CAUSE_SUPERVISOR_ECALL and mpp(h) == PRV_S


# ------------------------------------------------------------------ interrupts

ORDER = [(IRQ_M_EXT, MIP_MEIP), (IRQ_M_SOFT, MIP_MSIP), (IRQ_M_TIMER, MIP_MTIP), (IRQ_S_EXT, MIP_SEIP),
         (IRQ_S_SOFT, MIP_SSIP), (IRQ_S_TIMER, MIP_STIP)]


def test_interrupt_priority_mei_msi_mti_sei_ssi_sti():
    pending = [b for _, b in ORDER]
    for i, (code, _bit) in enumerate(ORDER):
        bits = sum(pending[i:])
        mip = bits & ~MIP_MTIP
        h = mk(NOP * 4, priv=PRV_M, mstatus=MSTATUS_MIE, mie=ALL_IRQS, mip=mip, mtimecmp=0 if bits & MIP_MTIP else -1)
        h.run(1)
        assert h.pc == HANDLER, code
        assert u(h.csr[MCAUSE]) == INT | code, (code, hex(u(h.csr[MCAUSE])))
        assert u(h.csr[MEPC]) == BASE and h.instret == 0
        assert u(h.csr[MTVAL]) == 0


def test_s_level_priority_when_delegated():
    for bits, code in ((S_IRQS, IRQ_S_EXT), (MIP_SSIP | MIP_STIP, IRQ_S_SOFT), (MIP_STIP, IRQ_S_TIMER)):
        h = mk(NOP, priv=PRV_S, mstatus=MSTATUS_SIE, mie=S_IRQS, mip=bits, mideleg=S_IRQS)
        h.run(1)
        assert h.pc == SHANDLER and u(h.csr[SCAUSE]) == INT | code


def test_m_interrupt_beats_delegated_s_interrupt():
    h = mk(NOP, priv=PRV_S, mstatus=MSTATUS_SIE, mie=ALL_IRQS, mip=MIP_SEIP, mideleg=S_IRQS,
           mtimecmp=0)   # MTIP via CLINT
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == INT | IRQ_M_TIMER


@pytest.mark.parametrize("priv", [PRV_S, PRV_U])
def test_m_interrupt_taken_below_m_even_with_mie_clear(priv):
    h = mk(NOP, priv=priv, mstatus=0, mie=MIP_MSIP, mip=MIP_MSIP)
    h.run(1)
    assert h.pc == HANDLER and h.priv == PRV_M and u(h.csr[MCAUSE]) == INT | IRQ_M_SOFT and mpp(h) == priv


def test_m_interrupt_in_m_needs_mie():
    h = mk(NOP * 3, priv=PRV_M, mstatus=0, mie=MIP_MSIP, mip=MIP_MSIP)
    h.run(3)
    assert h.pc == BASE + 12
    h = mk(NOP * 3, priv=PRV_M, mstatus=MSTATUS_MIE, mie=0, mip=MIP_MSIP)     # not enabled in mie
    h.run(3)
    assert h.pc == BASE + 12


def test_delegated_interrupt_never_taken_in_m():
    h = mk(NOP * 3, priv=PRV_M, mstatus=MSTATUS_MIE | MSTATUS_SIE, mie=MIP_SSIP, mip=MIP_SSIP, mideleg=MIP_SSIP)
    h.run(3)
    assert h.pc == BASE + 12 and h.priv == PRV_M


def test_delegated_interrupt_in_s_needs_sie():
    h = mk(NOP * 3, priv=PRV_S, mstatus=MSTATUS_MIE, mie=MIP_SSIP, mip=MIP_SSIP, mideleg=MIP_SSIP)
    h.run(3)
    assert h.pc == BASE + 12 and h.priv == PRV_S
    h = mk(NOP * 3, priv=PRV_S, mstatus=MSTATUS_SIE, mie=MIP_SSIP, mip=MIP_SSIP, mideleg=MIP_SSIP)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == PRV_S
    assert u(h.csr[SCAUSE]) == INT | IRQ_S_SOFT and u(h.csr[SEPC]) == BASE
    ms = u(h.csr[MSTATUS])
    assert ms & MSTATUS_SPP and ms & MSTATUS_SPIE and not ms & MSTATUS_SIE


def test_delegated_interrupt_in_u_taken_regardless_of_sie():
    h = mk(NOP, priv=PRV_U, mstatus=0, mie=MIP_STIP, mip=MIP_STIP, mideleg=MIP_STIP)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == PRV_S and u(h.csr[SCAUSE]) == INT | IRQ_S_TIMER
    assert not u(h.csr[MSTATUS]) & MSTATUS_SPP


def test_enabling_mie_takes_the_pending_interrupt_before_the_next_instruction():
    h = mk(NOP + csrrsi(MSTATUS, MSTATUS_MIE) + NOP * 4, priv=PRV_M, mie=MIP_MSIP, mip=MIP_MSIP)
    h.run(3)
    assert h.pc == HANDLER and u(h.csr[MEPC]) == BASE + 8 and h.instret == 2


def test_interrupt_enabled_by_mie_write_in_csr():
    code = NOP + w32((MIE << 20) | (5 << 15) | (1 << 12) | 0x73) + NOP * 4      # csrw mie, x5
    h = mk(code, priv=PRV_M, mstatus=MSTATUS_MIE, mie=0, mip=MIP_MSIP)
    h.x[5] = MIP_MSIP
    h.run(3)
    assert h.pc == HANDLER and u(h.csr[MEPC]) == BASE + 8


def test_vectored_mtvec_interrupts_only():
    vb = BASE + 0x400
    h = mk(NOP, priv=PRV_M, mstatus=MSTATUS_MIE, mie=MIP_MSIP, mip=MIP_MSIP, mtvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * IRQ_M_SOFT
    h = mk(NOP, priv=PRV_U, mie=MIP_MEIP, mip=MIP_MEIP, mtvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * IRQ_M_EXT
    h = mk(ECALL, priv=PRV_M, mtvec=vb | 1)         # exceptions go to BASE
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb and u(h.csr[MCAUSE]) == CAUSE_MACHINE_ECALL


def test_vectored_stvec():
    vb = BASE + 0x600
    h = mk(NOP, priv=PRV_U, mie=MIP_STIP, mip=MIP_STIP, mideleg=MIP_STIP, stvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * IRQ_S_TIMER and h.priv == PRV_S


# ------------------------------------------------------------------ mret / sret

@pytest.mark.parametrize("target", [PRV_U, PRV_S, PRV_M])
def test_mret(target):
    ms = (target << MSTATUS_MPP_SHIFT) | MSTATUS_MPIE
    h = mk(MRET, priv=PRV_M, mstatus=ms, mepc=BASE + 0x100)
    h.write_phys(BASE + 0x100, NOP * 2)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == target
    ms = u(h.csr[MSTATUS])
    assert ms & MSTATUS_MIE and ms & MSTATUS_MPIE          # MIE = MPIE, MPIE = 1
    assert mpp(h) == PRV_U                         # MPP = least-privileged mode


def test_mret_clears_mprv_when_leaving_m_only():
    h = mk(MRET, mstatus=MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    assert h.priv == PRV_S and not u(h.csr[MSTATUS]) & MSTATUS_MPRV
    h = mk(MRET, mstatus=MSTATUS_MPRV | (PRV_M << MSTATUS_MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    assert h.priv == PRV_M and u(h.csr[MSTATUS]) & MSTATUS_MPRV


def test_mret_with_mpie_clear_disables_mie():
    h = mk(MRET, mstatus=MSTATUS_MIE | (PRV_M << MSTATUS_MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    ms = u(h.csr[MSTATUS])
    assert not ms & MSTATUS_MIE and ms & MSTATUS_MPIE


@pytest.mark.parametrize("spp", [0, 1])
def test_sret(spp):
    ms = (MSTATUS_SPP if spp else 0) | MSTATUS_SPIE | MSTATUS_MPRV
    h = mk(SRET, priv=PRV_S, mstatus=ms, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == (PRV_S if spp else PRV_U)
    ms = u(h.csr[MSTATUS])
    assert ms & MSTATUS_SIE and ms & MSTATUS_SPIE and not ms & MSTATUS_SPP
    assert not ms & MSTATUS_MPRV                     # v1.12: xRET to a mode other than M clears MPRV


def test_sret_from_m_allowed():
    h = mk(SRET, priv=PRV_M, mstatus=MSTATUS_SPP, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == PRV_S


@pytest.mark.parametrize("insn,priv", [(MRET, PRV_S), (MRET, PRV_U), (SRET, PRV_U)])
def test_xret_below_its_level_is_illegal(insn, priv):
    h = mk(insn, priv=priv, mepc=BASE + 0x100, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION and mpp(h) == priv


def test_ecall_mret_round_trip_resumes_after_ecall():
    """A handler that advances mepc and returns: the classic syscall path."""
    handler = (csrr(5, MEPC) + I("addi", rd=5, rs1=5, imm=4)
               + w32((MEPC << 20) | (5 << 15) | (1 << 12) | 0x73) + MRET)
    h = mk(ECALL + I("addi", rd=6, rs1=0, imm=42) + J_SELF, priv=PRV_U)
    h.write_phys(HANDLER, handler)
    h.run(7)
    assert int(h.x[6]) == 42 and h.priv == PRV_U and h.pc == BASE + 8


def test_mret_into_a_mode_where_a_pending_interrupt_is_enabled_traps_at_once():
    """3.1.9: interrupt conditions are evaluated immediately after an xRET."""
    h = mk(MRET, priv=PRV_M, mstatus=PRV_U << MSTATUS_MPP_SHIFT, mie=MIP_MSIP, mip=MIP_MSIP, mepc=BASE + 0x100)
    h.write_phys(BASE + 0x100, NOP * 4)
    h.run(2)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == INT | IRQ_M_SOFT
    assert u(h.csr[MEPC]) == BASE + 0x100 and mpp(h) == PRV_U and h.instret == 1
