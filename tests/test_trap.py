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

BASE = 0x8000_0000
HANDLER = BASE + 0x800
SHANDLER = BASE + 0xA00
INT = 1 << 63

SSTATUS, SIE, STVEC, SEPC, SCAUSE, STVAL, SIP = 0x100, 0x104, 0x105, 0x141, 0x142, 0x143, 0x144
MSTATUS, MEDELEG, MIDELEG, MIE, MTVEC = 0x300, 0x302, 0x303, 0x304, 0x305
MEPC, MCAUSE, MTVAL, MIP, MINSTRET = 0x341, 0x342, 0x343, 0x344, 0xB02

B_SIE, B_MIE, B_SPIE, B_MPIE, B_SPP, B_MPRV = 1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 8, 1 << 17
MPP_SHIFT = 11
U, S_, M = 0, 1, 3
SSIP, MSIP, STIP, MTIP, SEIP, MEIP = 1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 9, 1 << 11


def u(v):
    return int(v) & M64


def mpp(h):
    return (u(h.csr[MSTATUS]) >> MPP_SHIFT) & 3


def mk(code, priv=M, mstatus=0, mtimecmp=-1, **csrs):
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
            h.st[S.ST_EIP] = v & ((1 << 11) | (1 << 9))
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


# ------------------------------------------------------------------ exceptions into M

@pytest.mark.parametrize("priv,cause", [(M, 11), (S_, 9), (U, 8)])
def test_ecall_enters_m_with_cause_by_privilege(priv, cause):
    h = mk(NOP + ECALL, priv=priv, mstatus=B_MIE if priv == M else 0)
    h.run(2)
    assert h.pc == HANDLER and h.priv == M
    assert u(h.csr[MCAUSE]) == cause
    assert u(h.csr[MEPC]) == BASE + 4          # the ecall itself, not the next instruction
    assert u(h.csr[MTVAL]) == 0
    assert mpp(h) == priv
    ms = u(h.csr[MSTATUS])
    assert not ms & B_MIE
    assert bool(ms & B_MPIE) == (priv == M)    # MPIE = the old MIE


def test_ecall_does_not_retire():
    h = mk(ECALL)
    h.write_phys(HANDLER, csrr(1, MINSTRET) + J_SELF)
    h.run(2)
    assert int(h.x[1]) == 0


def test_ebreak_and_c_ebreak():
    for code, size in ((EBREAK, 4), (rvenc.enc_bytes("c.ebreak"), 2)):
        h = mk(NOP + code)
        h.run(2)
        assert h.pc == HANDLER and u(h.csr[MCAUSE]) == 3
        assert u(h.csr[MEPC]) == BASE + 4
        assert u(h.csr[MTVAL]) in (0, BASE + 4)     # 0 or the breakpoint's address


@pytest.mark.parametrize("word,n", [(0x0000, 2), (0xFFFFFFFF, 4), (0x00007003, 4)])
def test_illegal_instruction(word, n):
    h = mk(word.to_bytes(n, "little") + bytes(2))
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == 2 and u(h.csr[MEPC]) == BASE
    assert u(h.csr[MTVAL]) in (0, word)


def test_trap_in_m_saves_mie_into_mpie_and_mpp_m():
    h = mk(ECALL, mstatus=B_MIE | (0 << MPP_SHIFT))
    h.run(1)
    ms = u(h.csr[MSTATUS])
    assert mpp(h) == M and ms & B_MPIE and not ms & B_MIE


# ------------------------------------------------------------------ delegation to S

def test_delegated_ecall_from_u_goes_to_s():
    h = mk(NOP + ECALL, priv=U, mstatus=B_SIE | B_MIE, medeleg=1 << 8, mepc=0x1234)
    h.run(2)
    assert h.pc == SHANDLER and h.priv == S_
    assert u(h.csr[SCAUSE]) == 8 and u(h.csr[SEPC]) == BASE + 4 and u(h.csr[STVAL]) == 0
    ms = u(h.csr[MSTATUS])
    assert not ms & B_SPP                  # came from U
    assert ms & B_SPIE and not ms & B_SIE  # SPIE = old SIE, SIE = 0
    assert ms & B_MIE                      # M state untouched
    assert u(h.csr[MEPC]) == 0x1234 and u(h.csr[MCAUSE]) == 0


def test_delegated_exception_from_s_sets_spp():
    h = mk(ECALL, priv=S_, mstatus=0, medeleg=1 << 9)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == S_ and u(h.csr[SCAUSE]) == 9
    ms = u(h.csr[MSTATUS])
    assert ms & B_SPP and not ms & B_SPIE


def test_delegated_illegal_instruction_stval():
    h = mk(w32(0xFFFFFFFF), priv=U, medeleg=1 << 2)
    h.run(1)
    assert h.pc == SHANDLER and u(h.csr[SCAUSE]) == 2 and u(h.csr[SEPC]) == BASE
    assert u(h.csr[STVAL]) in (0, 0xFFFFFFFF)


def test_exceptions_in_m_are_never_delegated():
    h = mk(w32(0xFFFFFFFF), priv=M, medeleg=0xB3FF)
    h.run(1)
    assert h.pc == HANDLER and h.priv == M and u(h.csr[MCAUSE]) == 2


def test_undelegated_exception_from_s_goes_to_m():
    h = mk(ECALL, priv=S_, medeleg=1 << 8)         # only U ecall delegated
    h.run(1)
    assert h.pc == HANDLER and h.priv == M and u(h.csr[MCAUSE]) == 9 and mpp(h) == S_


# ------------------------------------------------------------------ interrupts

ORDER = [(11, MEIP), (3, MSIP), (7, MTIP), (9, SEIP), (1, SSIP), (5, STIP)]


def test_interrupt_priority_mei_msi_mti_sei_ssi_sti():
    pending = [b for _, b in ORDER]
    for i, (code, _bit) in enumerate(ORDER):
        bits = sum(pending[i:])
        mip = bits & ~MTIP
        h = mk(NOP * 4, priv=M, mstatus=B_MIE, mie=0xAAA, mip=mip, mtimecmp=0 if bits & MTIP else -1)
        h.run(1)
        assert h.pc == HANDLER, code
        assert u(h.csr[MCAUSE]) == INT | code, (code, hex(u(h.csr[MCAUSE])))
        assert u(h.csr[MEPC]) == BASE and h.instret == 0
        assert u(h.csr[MTVAL]) == 0


def test_s_level_priority_when_delegated():
    for bits, code in ((SEIP | SSIP | STIP, 9), (SSIP | STIP, 1), (STIP, 5)):
        h = mk(NOP, priv=S_, mstatus=B_SIE, mie=0x222, mip=bits, mideleg=0x222)
        h.run(1)
        assert h.pc == SHANDLER and u(h.csr[SCAUSE]) == INT | code


def test_m_interrupt_beats_delegated_s_interrupt():
    h = mk(NOP, priv=S_, mstatus=B_SIE, mie=0xAAA, mip=SEIP, mideleg=0x222, mtimecmp=0)   # MTIP via CLINT
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == INT | 7


@pytest.mark.parametrize("priv", [S_, U])
def test_m_interrupt_taken_below_m_even_with_mie_clear(priv):
    h = mk(NOP, priv=priv, mstatus=0, mie=MSIP, mip=MSIP)
    h.run(1)
    assert h.pc == HANDLER and h.priv == M and u(h.csr[MCAUSE]) == INT | 3 and mpp(h) == priv


def test_m_interrupt_in_m_needs_mie():
    h = mk(NOP * 3, priv=M, mstatus=0, mie=MSIP, mip=MSIP)
    h.run(3)
    assert h.pc == BASE + 12
    h = mk(NOP * 3, priv=M, mstatus=B_MIE, mie=0, mip=MSIP)     # not enabled in mie
    h.run(3)
    assert h.pc == BASE + 12


def test_delegated_interrupt_never_taken_in_m():
    h = mk(NOP * 3, priv=M, mstatus=B_MIE | B_SIE, mie=SSIP, mip=SSIP, mideleg=SSIP)
    h.run(3)
    assert h.pc == BASE + 12 and h.priv == M


def test_delegated_interrupt_in_s_needs_sie():
    h = mk(NOP * 3, priv=S_, mstatus=B_MIE, mie=SSIP, mip=SSIP, mideleg=SSIP)
    h.run(3)
    assert h.pc == BASE + 12 and h.priv == S_
    h = mk(NOP * 3, priv=S_, mstatus=B_SIE, mie=SSIP, mip=SSIP, mideleg=SSIP)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == S_
    assert u(h.csr[SCAUSE]) == INT | 1 and u(h.csr[SEPC]) == BASE
    ms = u(h.csr[MSTATUS])
    assert ms & B_SPP and ms & B_SPIE and not ms & B_SIE


def test_delegated_interrupt_in_u_taken_regardless_of_sie():
    h = mk(NOP, priv=U, mstatus=0, mie=STIP, mip=STIP, mideleg=STIP)
    h.run(1)
    assert h.pc == SHANDLER and h.priv == S_ and u(h.csr[SCAUSE]) == INT | 5
    assert not u(h.csr[MSTATUS]) & B_SPP


def test_enabling_mie_takes_the_pending_interrupt_before_the_next_instruction():
    h = mk(NOP + csrrsi(MSTATUS, 8) + NOP * 4, priv=M, mie=MSIP, mip=MSIP)
    h.run(3)
    assert h.pc == HANDLER and u(h.csr[MEPC]) == BASE + 8 and h.instret == 2


def test_interrupt_enabled_by_mie_write_in_csr():
    code = NOP + w32((MIE << 20) | (5 << 15) | (1 << 12) | 0x73) + NOP * 4      # csrw mie, x5
    h = mk(code, priv=M, mstatus=B_MIE, mie=0, mip=MSIP)
    h.x[5] = MSIP
    h.run(3)
    assert h.pc == HANDLER and u(h.csr[MEPC]) == BASE + 8


def test_vectored_mtvec_interrupts_only():
    vb = BASE + 0x400
    h = mk(NOP, priv=M, mstatus=B_MIE, mie=MSIP, mip=MSIP, mtvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * 3
    h = mk(NOP, priv=U, mie=MEIP, mip=MEIP, mtvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * 11
    h = mk(ECALL, priv=M, mtvec=vb | 1)         # exceptions go to BASE
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb and u(h.csr[MCAUSE]) == 11


def test_vectored_stvec():
    vb = BASE + 0x600
    h = mk(NOP, priv=U, mie=STIP, mip=STIP, mideleg=STIP, stvec=vb | 1)
    h.write_phys(vb, J_SELF * 16)
    h.run(1)
    assert h.pc == vb + 4 * 5 and h.priv == S_


# ------------------------------------------------------------------ mret / sret

@pytest.mark.parametrize("target", [U, S_, M])
def test_mret(target):
    ms = (target << MPP_SHIFT) | B_MPIE
    h = mk(MRET, priv=M, mstatus=ms, mepc=BASE + 0x100)
    h.write_phys(BASE + 0x100, NOP * 2)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == target
    ms = u(h.csr[MSTATUS])
    assert ms & B_MIE and ms & B_MPIE          # MIE = MPIE, MPIE = 1
    assert mpp(h) == U                         # MPP = least-privileged mode


def test_mret_clears_mprv_when_leaving_m_only():
    h = mk(MRET, mstatus=B_MPRV | (S_ << MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    assert h.priv == S_ and not u(h.csr[MSTATUS]) & B_MPRV
    h = mk(MRET, mstatus=B_MPRV | (M << MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    assert h.priv == M and u(h.csr[MSTATUS]) & B_MPRV


def test_mret_with_mpie_clear_disables_mie():
    h = mk(MRET, mstatus=B_MIE | (M << MPP_SHIFT), mepc=BASE + 0x100)
    h.run(1)
    ms = u(h.csr[MSTATUS])
    assert not ms & B_MIE and ms & B_MPIE


@pytest.mark.parametrize("spp", [0, 1])
def test_sret(spp):
    ms = (B_SPP if spp else 0) | B_SPIE | B_MPRV
    h = mk(SRET, priv=S_, mstatus=ms, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == (S_ if spp else U)
    ms = u(h.csr[MSTATUS])
    assert ms & B_SIE and ms & B_SPIE and not ms & B_SPP
    assert not ms & B_MPRV                     # v1.12: xRET to a mode other than M clears MPRV


def test_sret_from_m_allowed():
    h = mk(SRET, priv=M, mstatus=B_SPP, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == BASE + 0x100 and h.priv == S_


@pytest.mark.parametrize("insn,priv", [(MRET, S_), (MRET, U), (SRET, U)])
def test_xret_below_its_level_is_illegal(insn, priv):
    h = mk(insn, priv=priv, mepc=BASE + 0x100, sepc=BASE + 0x100)
    h.run(1)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == 2 and mpp(h) == priv


def test_ecall_mret_round_trip_resumes_after_ecall():
    """A handler that advances mepc and returns: the classic syscall path."""
    handler = (csrr(5, MEPC) + I("addi", rd=5, rs1=5, imm=4)
               + w32((MEPC << 20) | (5 << 15) | (1 << 12) | 0x73) + MRET)
    h = mk(ECALL + I("addi", rd=6, rs1=0, imm=42) + J_SELF, priv=U)
    h.write_phys(HANDLER, handler)
    h.run(7)
    assert int(h.x[6]) == 42 and h.priv == U and h.pc == BASE + 8


def test_mret_into_a_mode_where_a_pending_interrupt_is_enabled_traps_at_once():
    """3.1.9: interrupt conditions are evaluated immediately after an xRET."""
    h = mk(MRET, priv=M, mstatus=U << MPP_SHIFT, mie=MSIP, mip=MSIP, mepc=BASE + 0x100)
    h.write_phys(BASE + 0x100, NOP * 4)
    h.run(2)
    assert h.pc == HANDLER and u(h.csr[MCAUSE]) == INT | 3
    assert u(h.csr[MEPC]) == BASE + 0x100 and mpp(h) == U and h.instret == 1
