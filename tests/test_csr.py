"""CSRs (Zicsr, privileged spec v1.12 ch. 2, 3.1, 4.1), driven through real CSR instructions.

Each test writes a few instructions at the RAM base, sets the privilege level,
runs them and checks registers / CSRs / the trap taken.  mtvec points at a
`j .` handler so an exception is visible as (pc = handler, mcause).
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import J_SELF, M64, NOP, SRET, WFI, csr, csrr, csrw, w32  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_FETCH_PAGE_FAULT, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_LOAD_PAGE_FAULT,  # noqa: E402
                      CAUSE_MACHINE_ECALL, CAUSE_STORE_PAGE_FAULT, CAUSE_USER_ECALL, COUNTEREN_CY, COUNTEREN_IR,
                      COUNTEREN_TM, CSR_NAMES, CYCLE, FCSR, FFLAGS, FRM, FS_CLEAN, FS_DIRTY, FS_INITIAL, FS_OFF,
                      HPMCOUNTER3, INSTRET, MCAUSE, MCONFIGPTR, MCOUNTINHIBIT, MCYCLE,
                      MEDELEG, MENVCFG, MEPC, MHARTID, MIDELEG, MIE, MINSTRET, MIP, MIP_MEIP, MIP_MSIP, MIP_MTIP,
                      MIP_SEIP, MIP_SSIP, MIP_STIP, MISA, MSCRATCH, MSTATUS, MSTATUS_MIE, MSTATUS_MPIE, MSTATUS_MPP,
                      MSTATUS_FS, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP,
                      MSTATUS_SUM, MSTATUS_SXL_SHIFT, MSTATUS_TSR, MSTATUS_TVM, MSTATUS_TW, MSTATUS_UXL_SHIFT, MTVAL,
                      MTVEC, MVENDORID, PMPADDR0, PMPCFG0, PRV_M, PRV_S, PRV_U, RAM_BASE, SATP, SATP_MODE_BARE,
                      SATP_MODE_SHIFT, SATP_MODE_SV39, SATP_MODE_SV48, SATP_MODE_SV57, SENVCFG, SEPC, SIE, SIP, SSTATUS, STVEC, TIME)

BASE = RAM_BASE
HANDLER = BASE + 0x800
CSR_NUMBER = {name: n for n, name in CSR_NAMES.items()}     # mk()'s keyword arguments: mscratch=... -> MSCRATCH

S_IRQS = MIP_SSIP | MIP_STIP | MIP_SEIP                   # the S-level interrupts' bits in mie/mip/mideleg
M_IRQS = MIP_MSIP | MIP_MTIP | MIP_MEIP
ALL_IRQS = S_IRQS | M_IRQS
XLEN_64 = 2                                               # the MXL/UXL/SXL encoding of XLEN = 64 (3.1.1)


SFENCE = w32(0x12000073)


def mk(code, priv=PRV_M, mstatus=0, ram=1 << 20, **csrs):
    h = Hart(ram)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = mstatus
    for k, v in csrs.items():
        v &= M64
        h.csr[CSR_NUMBER[k]] = v - (1 << 64) if v >> 63 else v
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


def rd(h, n):
    """Read a CSR the architectural way (csrrs x31, n, x0 in M-mode) on a scratch copy of the pc."""
    pc, priv = h.pc, h.priv
    h.write_phys(BASE + 0x700, csrr(31, n))
    h.pc = BASE + 0x700
    h.priv = PRV_M
    assert h.run(1) == S.EXIT_BUDGET
    assert h.pc == BASE + 0x704, f"reading csr {n:#x} trapped"
    v = int(h.x[31]) & M64
    h.pc, h.priv = pc, priv
    return v


def trapped(h, cause):
    return h.pc == HANDLER and (int(h.csr[MCAUSE]) & M64) == cause and h.priv == PRV_M


def step_ok(h, n=1):
    start = h.pc
    assert h.run(n) == S.EXIT_BUDGET
    assert h.pc != HANDLER, f"trapped: mcause {int(h.csr[MCAUSE])}"
    return start


# ------------------------------------------------------------------ basic semantics

def test_csrrw_csrrs_csrrc_return_old_and_modify():
    code = (csr("csrrw", 1, 5, MSCRATCH) + csr("csrrs", 2, 6, MSCRATCH) + csr("csrrc", 3, 7, MSCRATCH)
            + csrr(4, MSCRATCH))
    h = mk(code, mscratch=0x1111)
    h.x[5], h.x[6], h.x[7] = 0xF0F0, 0x000F, 0x00F0
    step_ok(h, 4)
    assert [int(h.x[i]) for i in (1, 2, 3, 4)] == [0x1111, 0xF0F0, 0xF0FF, 0xF00F]


def test_immediate_forms_zero_extend_the_5bit_uimm():
    code = csr("csrrwi", 1, 31, MSCRATCH) + csr("csrrsi", 2, 0, MSCRATCH) + csr("csrrci", 3, 1, MSCRATCH) \
        + csrr(4, MSCRATCH)
    h = mk(code, mscratch=-1)
    step_ok(h, 4)
    assert int(h.x[1]) == -1 and int(h.x[2]) == 31 and int(h.x[3]) == 31 and int(h.x[4]) == 30


def test_csrrw_with_rd_x0_still_writes():
    h = mk(csrw(MSCRATCH, 5))
    h.x[5] = 77
    step_ok(h)
    assert rd(h, MSCRATCH) == 77


def test_unimplemented_csr_is_illegal():
    h = mk(csrr(1, 0x123))
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION) and h.csr[MEPC] == BASE


def test_illegal_csr_instruction_mtval_is_zero_or_the_instruction_bits():
    insn = csr("csrrw", 1, 2, MHARTID)
    h = mk(insn)
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)
    assert int(h.csr[MTVAL]) & M64 in (0, int.from_bytes(insn, "little"))


# ------------------------------------------------------------------ privilege (csr[9:8])

@pytest.mark.parametrize("priv,n,ok", [
    (PRV_S, MSTATUS, False), (PRV_S, MSCRATCH, False), (PRV_S, MEPC, False), (PRV_S, MHARTID, False),
    (PRV_S, SSTATUS, True), (PRV_S, STVEC, True),
    (PRV_U, SSTATUS, False), (PRV_U, SEPC, False), (PRV_U, MSTATUS, False),
    (PRV_M, SSTATUS, True), (PRV_M, MSTATUS, True),
])
def test_privilege_level_needed_is_csr_bits_9_8(priv, n, ok):
    h = mk(csrr(1, n), priv=priv)
    h.run(1)
    if ok:
        assert h.pc == BASE + 4 and h.priv == priv
    else:
        assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION) and h.csr[MEPC] == BASE
        assert (int(h.csr[MSTATUS]) & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT == priv


# ------------------------------------------------------------------ read-only CSRs (csr[11:10] == 3)

@pytest.mark.parametrize("insn", [
    csr("csrrw", 1, 2, MHARTID), csr("csrrw", 0, 2, MVENDORID), csr("csrrwi", 0, 0, MHARTID),
    csr("csrrs", 1, 5, MHARTID),            # rs1 != x0 (even holding 0) is a write attempt
    csr("csrrc", 1, 5, MHARTID), csr("csrrsi", 1, 1, MHARTID), csr("csrrci", 1, 3, MVENDORID),
    csr("csrrw", 1, 2, CYCLE), csr("csrrs", 1, 6, INSTRET),
], ids=lambda b: f"{int.from_bytes(b, 'little'):08x}")
def test_writing_a_read_only_csr_is_illegal_even_in_m(insn):
    h = mk(insn)
    h.x[5], h.x[6] = 0, 1
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)


@pytest.mark.parametrize("insn", [csr("csrrs", 1, 0, MHARTID), csr("csrrc", 1, 0, MHARTID),
                                  csr("csrrsi", 1, 0, MVENDORID), csr("csrrci", 1, 0, MHARTID),
                                  csr("csrrs", 1, 0, CYCLE)],
                         ids=lambda b: f"{int.from_bytes(b, 'little'):08x}")
def test_reading_a_read_only_csr_with_x0_or_zero_uimm_does_not_write(insn):
    h = mk(insn)
    h.x[1] = 99
    n = int.from_bytes(insn, "little") >> 20
    before = counters_set(h)
    step_ok(h)
    assert h.pc == BASE + 4
    # rd gets the CSR's value (mhartid and mvendorid are 0 here, cycle is the clock), and the CSR
    # is unchanged: the next instruction reads the same value (cycle: one tick later)
    want = counter_value(h, n, 0) if n == CYCLE else 0
    assert int(h.x[1]) & M64 == want
    assert rd(h, n) == (counter_value(h, n, 1) if n == CYCLE else 0)
    assert counters_get(h) == before


def test_mhartid_of_the_single_hart_is_zero():
    h = mk(csrr(1, MHARTID))
    h.x[1] = 5
    step_ok(h)
    assert int(h.x[1]) == 0


# ------------------------------------------------------------------ WARL fields

def write_read(n, value, priv=PRV_M, **csrs):
    h = mk(csrw(n, 5) + csrr(6, n), priv=priv, **csrs)
    h.x[5] = np.int64(value - (1 << 64) if value >> 63 else value)
    step_ok(h, 2)
    return int(h.x[6]) & M64, h


@pytest.mark.parametrize("n", [MTVEC, STVEC])
def test_xtvec_reserved_modes_read_back_legal(n):
    for mode in (2, 3):
        v, _ = write_read(n, BASE + 0x100 + mode)
        assert v & 3 in (0, 1), (hex(n), mode, hex(v))
    v, _ = write_read(n, BASE + 0x100)
    assert v == BASE + 0x100
    v, _ = write_read(n, BASE + 0x101)
    assert v == BASE + 0x101                  # vectored mode is supported (used by test_trap)


@pytest.mark.parametrize("n", [MEPC, SEPC])
def test_xepc_bit0_reads_zero(n):
    v, _ = write_read(n, BASE + 0x1003)
    assert v == BASE + 0x1002
    v, _ = write_read(n, M64)
    assert v == M64 - 1


def test_mstatus_mpp_reserved_value_2_reads_legal():
    for mpp in (PRV_U, PRV_S, PRV_M):
        v, _ = write_read(MSTATUS, mpp << MSTATUS_MPP_SHIFT)
        assert (v & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT == mpp
    v, _ = write_read(MSTATUS, 2 << MSTATUS_MPP_SHIFT)           # 2: no privilege level
    assert (v & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT in (PRV_U, PRV_S, PRV_M)


def test_mstatus_uxl_sxl_are_64_bit():
    for value in (0, M64):
        v, _ = write_read(MSTATUS, value)
        assert (v >> MSTATUS_UXL_SHIFT) & 3 == XLEN_64 and (v >> MSTATUS_SXL_SHIFT) & 3 == XLEN_64


def test_medeleg_cannot_delegate_ecall_from_m():
    v, _ = write_read(MEDELEG, M64)
    assert not v & (1 << CAUSE_MACHINE_ECALL)
    for cause in (CAUSE_USER_ECALL, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT,
                  CAUSE_STORE_PAGE_FAULT):
        assert v & (1 << cause), cause


def test_mideleg_only_supervisor_interrupts():
    v, _ = write_read(MIDELEG, M64)
    assert v & M_IRQS == 0           # MSI, MTI, MEI cannot be delegated
    assert v & S_IRQS == S_IRQS      # SSI, STI, SEI can


def test_mie_writable_bits_are_the_six_interrupts():
    v, _ = write_read(MIE, M64)
    assert v == ALL_IRQS


def test_mip_msip_mtip_meip_read_only_in_mip():
    v, h = write_read(MIP, M64)
    assert v == S_IRQS                      # SSIP, STIP, SEIP writable by M
    v, h = write_read(MIP, 0)
    assert v == 0


def test_mip_write_does_not_clear_hardware_msip():
    h = mk(csrw(MIP, 0) + csrr(6, MIP), mip=MIP_MSIP)
    step_ok(h, 2)
    assert int(h.x[6]) & MIP_MSIP


def test_misa_value():
    v, _ = write_read(MISA, 0)      # WARL: the write may be ignored, but misa must stay sane
    v2, _ = write_read(MISA, M64)
    for v in (v, v2):
        assert v >> 62 == XLEN_64, hex(v)                 # misa.MXL
    h = mk(csrr(1, MISA))
    step_ok(h)
    v = int(h.x[1]) & M64
    assert v >> 62 == XLEN_64
    for ext in "ACDFIMSU":                                # RV64GC (IMAFD + C) with S and U modes
        assert (v >> (ord(ext) - 65)) & 1, ext
    for ext in "EQVHBGP":                                 # G is not a misa bit; no Q, V, H, ...
        assert not (v >> (ord(ext) - 65)) & 1, ext


# ------------------------------------------------------------------ F/D: fflags, frm, fcsr

# fcsr (unprivileged spec, "Floating-Point Control and Status Register"): frm in bits 7:5, fflags
# (NV DZ OF UF NX) in bits 4:0, the rest reads zero; fflags and frm are views of it.  While
# mstatus.FS is Off all three are illegal like the FP instructions (privileged spec 3.1.6.6);
# writing one is a change of FP state: FS becomes Dirty, and mstatus.SD (bit 63) reads 1.

def test_fflags_and_frm_are_fields_of_fcsr():
    code = csrw(FCSR, 5) + csrr(1, FFLAGS) + csrr(2, FRM) + csrr(3, FCSR)
    h = mk(code, mstatus=FS_INITIAL)
    h.x[5] = -1
    step_ok(h, 4)
    assert [int(h.x[i]) for i in (1, 2, 3)] == [0x1F, 7, 0xFF]


def test_writing_fflags_keeps_frm_and_writing_frm_keeps_fflags():
    code = (csrw(FCSR, 5)                      # frm 5, fflags 0x16
            + csrw(FFLAGS, 6) + csrr(1, FCSR)  # fflags 0x09 (bits above 4 are not fflags'): frm stays 5
            + csrw(FRM, 7) + csrr(2, FCSR)     # frm 2 (the low 3 bits): fflags stay 0x09
            + csrr(3, FFLAGS) + csrr(4, FRM)
            + csr("csrrsi", 8, 0x10, FFLAGS) + csr("csrrwi", 9, 1, FRM) + csrr(10, FCSR))
    h = mk(code, mstatus=FS_INITIAL)
    h.x[5], h.x[6], h.x[7] = 0xB6, 0x29, 0xFA
    step_ok(h, 10)
    assert [int(h.x[i]) for i in (1, 2, 3, 4)] == [0xA9, 0x49, 0x09, 2]
    assert [int(h.x[i]) for i in (8, 9, 10)] == [0x09, 2, 0x39]       # csrrsi fflags, csrrwi frm


@pytest.mark.parametrize("n", [FFLAGS, FRM, FCSR], ids=["fflags", "frm", "fcsr"])
@pytest.mark.parametrize("insn", ["read", "write"])
def test_fp_csrs_are_illegal_while_fs_is_off(n, insn):
    h = mk(csrr(1, n) if insn == "read" else csrw(n, 5), mstatus=FS_OFF)
    h.x[5] = 1
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION) and h.csr[MEPC] == BASE
    assert int(h.csr[MSTATUS]) & MSTATUS_FS == FS_OFF


@pytest.mark.parametrize("priv", [PRV_U, PRV_S, PRV_M])
@pytest.mark.parametrize("fs", [FS_INITIAL, FS_CLEAN, FS_DIRTY], ids=["initial", "clean", "dirty"])
def test_fp_csrs_are_unprivileged_while_fs_is_on(fs, priv):
    h = mk(csrr(1, FFLAGS) + csrr(2, FRM) + csrr(3, FCSR), priv=priv, mstatus=fs)
    h.x[1] = h.x[2] = h.x[3] = 99
    step_ok(h, 3)
    assert h.priv == priv and [int(h.x[i]) for i in (1, 2, 3)] == [0, 0, 0]      # fcsr resets to 0


@pytest.mark.parametrize("n", [FFLAGS, FRM, FCSR], ids=["fflags", "frm", "fcsr"])
@pytest.mark.parametrize("fs", [FS_INITIAL, FS_CLEAN], ids=["initial", "clean"])
def test_writing_an_fp_csr_makes_fs_dirty_and_sd_read_1(n, fs):
    code = csrr(1, MSTATUS) + csrw(n, 5) + csrr(2, MSTATUS) + csrr(3, SSTATUS)
    h = mk(code, mstatus=fs)
    h.x[5] = 1
    step_ok(h, 4)
    before, after, s_after = (int(h.x[i]) & M64 for i in (1, 2, 3))
    assert before & MSTATUS_FS == fs and before >> 63 == 0
    assert after & MSTATUS_FS == FS_DIRTY and after >> 63 == 1
    assert s_after & MSTATUS_FS == FS_DIRTY and s_after >> 63 == 1          # sstatus shows FS and SD


# ------------------------------------------------------------------ S-mode views

def test_sstatus_is_a_restricted_view_of_mstatus():
    m_only = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_TVM | MSTATUS_TW
    h = mk(csrr(1, SSTATUS), priv=PRV_S, mstatus=m_only | MSTATUS_SIE | MSTATUS_SPP)
    step_ok(h)
    v = int(h.x[1]) & M64
    assert v & m_only == 0                                            # M-only fields invisible
    assert v & (MSTATUS_SIE | MSTATUS_SPP) == MSTATUS_SIE | MSTATUS_SPP
    assert (v >> MSTATUS_UXL_SHIFT) & 3 == XLEN_64                    # UXL


def test_sstatus_write_changes_only_supervisor_fields():
    ms = MSTATUS_MIE | MSTATUS_MPP
    h = mk(csrw(SSTATUS, 5), priv=PRV_S, mstatus=ms)
    h.x[5] = -1
    step_ok(h)
    new = int(h.csr[MSTATUS]) & M64
    assert new & (MSTATUS_MIE | MSTATUS_MPP) == MSTATUS_MIE | MSTATUS_MPP
    assert new & (MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_MPRV | MSTATUS_MPIE) == 0
    s_fields = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR
    assert new & s_fields == s_fields
    h2 = mk(csrw(SSTATUS, 0), priv=PRV_S, mstatus=new)
    step_ok(h2)
    assert int(h2.csr[MSTATUS]) & s_fields == 0
    assert int(h2.csr[MSTATUS]) & MSTATUS_MIE


def test_sie_shows_only_delegated_bits_of_mie():
    h = mk(csrr(1, SIE), priv=PRV_S, mie=ALL_IRQS, mideleg=MIP_STIP)
    step_ok(h)
    assert int(h.x[1]) == MIP_STIP
    h = mk(csrr(1, SIE), priv=PRV_S, mie=ALL_IRQS, mideleg=S_IRQS)
    step_ok(h)
    assert int(h.x[1]) == S_IRQS


def test_sie_write_reaches_only_delegated_bits():
    h = mk(csrw(SIE, 5), priv=PRV_S, mie=MIP_MEIP | MIP_MTIP, mideleg=MIP_SSIP)
    h.x[5] = -1
    step_ok(h)
    assert int(h.csr[MIE]) == MIP_MEIP | MIP_MTIP | MIP_SSIP


def test_sip_ssip_writable_only_when_delegated_stip_read_only():
    h = mk(csrw(SIP, 5) + csrr(6, SIP), priv=PRV_S, mideleg=S_IRQS)
    h.x[5] = S_IRQS
    step_ok(h, 2)
    assert int(h.csr[MIP]) & S_IRQS == MIP_SSIP    # SSIP set; STIP/SEIP read-only through sip
    assert int(h.x[6]) & MIP_SSIP
    h = mk(csrw(SIP, 5), priv=PRV_S, mideleg=0)
    h.x[5] = MIP_SSIP
    step_ok(h)
    assert int(h.csr[MIP]) & MIP_SSIP == 0
    h = mk(csrr(6, SIP), priv=PRV_S, mideleg=MIP_STIP, mip=MIP_STIP | MIP_SSIP)
    step_ok(h)
    assert int(h.x[6]) == MIP_STIP                 # undelegated SSIP invisible


# ------------------------------------------------------------------ satp

def test_satp_unsupported_modes_are_ignored_entirely():
    good = (SATP_MODE_SV39 << SATP_MODE_SHIFT) | 0x80123
    for mode in (1, 7, 11, 15):                # reserved values, Sv64 (11)
        value = (mode << SATP_MODE_SHIFT) | 0x80456
        h = mk(csrw(SATP, 5) + csrr(6, SATP), satp=good)
        h.x[5] = np.int64(value - (1 << 64) if value >> 63 else value)
        step_ok(h, 2)
        assert int(h.x[6]) & M64 == good, mode


@pytest.mark.parametrize("mode", [SATP_MODE_SV39, SATP_MODE_SV48, SATP_MODE_SV57], ids=["sv39", "sv48", "sv57"])
def test_satp_sv39_sv48_sv57_stick_and_flush_the_tlb(mode):
    h = mk(csrw(SATP, 5) + csrr(6, SATP))
    value = (mode << SATP_MODE_SHIFT) | 0x80200
    h.x[5] = np.int64(value - (1 << 64) if value >> 63 else value)
    h.tlb[:, :, 0] = 5                    # pretend the TLB holds entries
    step_ok(h, 2)
    assert int(h.x[6]) & M64 == value
    assert np.all(h.tlb[:, :, 0] == S.TLB_EMPTY)


def test_satp_bare_mode_accepted():
    v, _ = write_read(SATP, 0, satp=(SATP_MODE_SV39 << SATP_MODE_SHIFT) | 5)
    assert v >> SATP_MODE_SHIFT == SATP_MODE_BARE


# ------------------------------------------------------------------ counters

# Distinct offsets, so each counter reads a value no other counter (and no zero) could give.
MCYCLE_OFF, MINSTRET_OFF, MTIME_OFF = 1000, 2000, 3000


def counters_set(h):
    """Give cycle, instret and time known values: at the k-th instruction (from 0) of a fresh hart,
    cycle = MCYCLE_OFF + k, instret = MINSTRET_OFF + k, time = k // ST_TIME_DIV + MTIME_OFF."""
    h.st[S.ST_MCYCLE_OFF], h.st[S.ST_MINSTRET_OFF], h.st[S.ST_MTIME_OFF] = MCYCLE_OFF, MINSTRET_OFF, MTIME_OFF
    return counters_get(h)


def counters_get(h):
    return int(h.st[S.ST_MCYCLE_OFF]), int(h.st[S.ST_MINSTRET_OFF]), int(h.st[S.ST_MTIME_OFF])


def counter_value(h, n, k=0):
    if n in (CYCLE, MCYCLE):
        return MCYCLE_OFF + k
    if n in (INSTRET, MINSTRET):
        return MINSTRET_OFF + k
    if n == TIME:
        return k // int(h.st[S.ST_TIME_DIV]) + MTIME_OFF
    return 0                                # hpmcounters: present, hard-wired to zero



@pytest.mark.parametrize("n,en", [(CYCLE, COUNTEREN_CY), (TIME, COUNTEREN_TM), (INSTRET, COUNTEREN_IR),
                                  (HPMCOUNTER3, 1 << 3)])           # hpmcounter3: bit 3 (3.1.11)
def test_counters_in_s_mode_gated_by_mcounteren(n, en):
    h = mk(csrr(1, n), priv=PRV_S, mcounteren=0xFFFFFFFF & ~en)
    h.x[1] = 99
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)
    assert int(h.x[1]) == 99                      # a trapping read leaves rd alone
    h = mk(csrr(1, n), priv=PRV_S, mcounteren=en)
    h.x[1] = 99
    counters_set(h)
    step_ok(h)
    assert int(h.x[1]) & M64 == counter_value(h, n, 0)


@pytest.mark.parametrize("n,en", [(CYCLE, COUNTEREN_CY), (TIME, COUNTEREN_TM), (INSTRET, COUNTEREN_IR)])
def test_counters_in_u_mode_need_mcounteren_and_scounteren(n, en):
    for m_en, s_en, ok in ((1, 1, True), (1, 0, False), (0, 1, False), (0, 0, False)):
        h = mk(csrr(1, n), priv=PRV_U, mcounteren=m_en * en, scounteren=s_en * en)
        h.run(1)
        if ok:
            assert h.pc == BASE + 4, (m_en, s_en)
        else:
            assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION), (m_en, s_en)


def test_counters_always_readable_in_m():
    h = mk(csrr(1, CYCLE) + csrr(2, TIME) + csrr(3, INSTRET), mcounteren=0)
    counters_set(h)
    step_ok(h, 3)
    assert [int(h.x[r]) & M64 for r in (1, 2, 3)] == [counter_value(h, CYCLE, 0), counter_value(h, TIME, 1),
                                                      counter_value(h, INSTRET, 2)]


def test_minstret_counts_instructions_retired_before_the_reader():
    h = mk(NOP * 5 + csrr(1, MINSTRET) + csrr(2, INSTRET))
    step_ok(h, 7)
    assert int(h.x[1]) == 5 and int(h.x[2]) == 6


def test_minstret_write_is_the_value_the_next_instruction_reads():
    """Unprivileged spec 10.1 / priv 2.6: "a value written to instret by one instruction will be
    the value read by the following instruction"."""
    h = mk(csrw(MINSTRET, 5) + csrr(6, MINSTRET) + NOP + csrr(7, INSTRET))
    h.x[5] = 1000
    step_ok(h, 4)
    assert int(h.x[6]) == 1000
    assert int(h.x[7]) == 1002


def test_mcycle_write_then_read():
    h = mk(csrw(MCYCLE, 5) + csrr(6, MCYCLE) + csrr(7, CYCLE))
    h.x[5] = 5000
    step_ok(h, 3)
    assert 5000 <= int(h.x[6]) < 5010
    assert int(h.x[6]) <= int(h.x[7]) < 5010


# ------------------------------------------------------------------ TVM / TW / TSR

def test_tvm_traps_satp_and_sfence_in_s_only():
    for insn in (csrr(1, SATP), csrw(SATP, 0), SFENCE):
        h = mk(insn, priv=PRV_S, mstatus=MSTATUS_TVM)
        h.run(1)
        assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)
        h = mk(insn, priv=PRV_S, mstatus=0)
        step_ok(h)
        h = mk(insn, priv=PRV_M, mstatus=MSTATUS_TVM)
        step_ok(h)


def test_tw_makes_wfi_in_s_illegal():
    h = mk(WFI, priv=PRV_S, mstatus=MSTATUS_TW)
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)


def test_wfi_in_s_without_tw_retires():
    # SSI delegated and pending but sstatus.SIE = 0: not taken, yet wfi must return (priv 3.3.3)
    h = mk(WFI + NOP, priv=PRV_S, mie=MIP_SSIP, mip=MIP_SSIP, mideleg=MIP_SSIP)
    h.run(1)
    assert h.pc == BASE + 4 and h.priv == PRV_S


def test_wfi_in_u_mode_with_nothing_pending_is_illegal():
    h = mk(WFI, priv=PRV_U)
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)


def test_tsr_makes_sret_in_s_illegal():
    h = mk(SRET, priv=PRV_S, mstatus=MSTATUS_TSR, sepc=BASE + 0x40)
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)
    h = mk(SRET, priv=PRV_S, mstatus=0, sepc=BASE + 0x40)
    h.run(1)
    assert h.pc == BASE + 0x40 and h.priv == PRV_U
    h = mk(SRET, priv=PRV_M, mstatus=MSTATUS_TSR, sepc=BASE + 0x40)      # TSR does not apply to M
    h.run(1)
    assert h.pc == BASE + 0x40


def test_sfence_vma_in_u_mode_is_illegal():
    h = mk(SFENCE, priv=PRV_U)
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)


@pytest.mark.parametrize("n", [PMPCFG0 + 1, PMPCFG0 + 3, PMPCFG0 + 15])
def test_odd_pmpcfg_registers_do_not_exist_on_rv64(n):
    """3.7.1: on RV64 the odd-numbered pmpcfg registers are illegal."""
    h = mk(csrr(1, n))
    h.run(1)
    assert trapped(h, CAUSE_ILLEGAL_INSTRUCTION)


@pytest.mark.parametrize("n", [PMPCFG0, PMPCFG0 + 2, PMPADDR0 + 62, PMPADDR0 + 63, MCONFIGPTR, MCOUNTINHIBIT])
def test_other_v1_12_csrs_are_readable_in_m(n):
    """pmpcfg0/2 and pmpaddr62/63 (entries that are OFF) read back what the hart holds (pmpaddr's
    low 10 bits read 0 while OFF: test_pmp.py); mconfigptr and mcountinhibit are read-only zero
    here.  (menvcfg and senvcfg: tests/test_cmo.py, tests/test_sstc.py.)"""
    h = mk(csrr(1, n))
    stored = 0x0F0F if n in (PMPCFG0, PMPCFG0 + 2) else 0x1234_0000 if PMPADDR0 <= n < PMPADDR0 + 64 else 0
    h.csr[n] = stored if stored else 0x5A5A      # a zero CSR must not read the array
    h.x[1] = 99
    step_ok(h)
    assert int(h.x[1]) & M64 == stored


def test_mip_seip_read_modify_write_uses_only_the_software_bit():
    """csrrs/csrrc of mip while the PLIC drives SEIP must not latch the line into the software bit."""
    from emu import state as S
    from emu.csr import csr_access, MIP, MIP_SEIP, MIP_STIP
    h = Hart(1 << 16)
    h.st[S.ST_EIP] = MIP_SEIP                      # the interrupt controller raises SEIP
    h.csr[MIP] = MIP_SEIP
    ok, old = csr_access(MIP, 1, MIP_STIP, True, h.st, h.csr, h.tlb)   # csrrs mip, STIP
    assert ok and old & MIP_SEIP                   # the read shows the line
    assert int(h.st[S.ST_SEIP_SW]) == 0            # ... but the software bit stays clear
    h.st[S.ST_EIP] = 0
    from emu.csr import sample_external
    sample_external(h.st, h.csr)
    assert not int(h.csr[MIP]) & MIP_SEIP and int(h.csr[MIP]) & MIP_STIP
    csr_access(MIP, 0, MIP_SEIP, True, h.st, h.csr, h.tlb)              # csrw sets the software bit
    sample_external(h.st, h.csr)
    assert int(h.csr[MIP]) & MIP_SEIP
