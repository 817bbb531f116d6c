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

BASE = 0x8000_0000
HANDLER = BASE + 0x800

SSTATUS, SIE, STVEC, SCOUNTEREN, SEPC, SCAUSE, SIP, SATP = 0x100, 0x104, 0x105, 0x106, 0x141, 0x142, 0x144, 0x180
MSTATUS, MISA, MEDELEG, MIDELEG, MIE, MTVEC, MCOUNTEREN = 0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306
MSCRATCH, MEPC, MCAUSE, MTVAL, MIP = 0x340, 0x341, 0x342, 0x343, 0x344
MCYCLE, MINSTRET, CYCLE, TIME, INSTRET, HPM3 = 0xB00, 0xB02, 0xC00, 0xC01, 0xC02, 0xC03
MVENDORID, MHARTID = 0xF11, 0xF14

MIE_B, MPIE, SIE_B, SPIE, SPP = 1 << 3, 1 << 7, 1 << 1, 1 << 5, 1 << 8
MPP_SHIFT = 11
SUM, MXR, TVM, TW, TSR, MPRV = 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 17
U, S_, M = 0, 1, 3


CSR_F3 = {"csrrw": 1, "csrrs": 2, "csrrc": 3, "csrrwi": 5, "csrrsi": 6, "csrrci": 7}


SFENCE = w32(0x12000073)


def mk(code, priv=M, mstatus=0, ram=1 << 20, **csrs):
    h = Hart(ram)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = mstatus
    for k, v in csrs.items():
        v &= M64
        h.csr[globals()[k.upper()]] = v - (1 << 64) if v >> 63 else v
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


def rd(h, n):
    """Read a CSR the architectural way (csrrs x31, n, x0 in M-mode) on a scratch copy of the pc."""
    pc, priv = h.pc, h.priv
    h.write_phys(BASE + 0x700, csrr(31, n))
    h.pc = BASE + 0x700
    h.priv = M
    assert h.run(1) == S.EXIT_BUDGET
    assert h.pc == BASE + 0x704, f"reading csr {n:#x} trapped"
    v = int(h.x[31]) & M64
    h.pc, h.priv = pc, priv
    return v


def trapped(h, cause):
    return h.pc == HANDLER and (int(h.csr[MCAUSE]) & M64) == cause and h.priv == M


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
    assert trapped(h, 2) and h.csr[MEPC] == BASE


def test_illegal_csr_instruction_mtval_is_zero_or_the_instruction_bits():
    insn = csr("csrrw", 1, 2, MHARTID)
    h = mk(insn)
    h.run(1)
    assert trapped(h, 2)
    assert int(h.csr[MTVAL]) & M64 in (0, int.from_bytes(insn, "little"))


# ------------------------------------------------------------------ privilege (csr[9:8])

@pytest.mark.parametrize("priv,n,ok", [
    (S_, MSTATUS, False), (S_, MSCRATCH, False), (S_, MEPC, False), (S_, MHARTID, False),
    (S_, SSTATUS, True), (S_, STVEC, True), (U, SSTATUS, False), (U, SEPC, False), (U, MSTATUS, False),
    (M, SSTATUS, True), (M, MSTATUS, True),
])
def test_privilege_level_needed_is_csr_bits_9_8(priv, n, ok):
    h = mk(csrr(1, n), priv=priv)
    h.run(1)
    if ok:
        assert h.pc == BASE + 4 and h.priv == priv
    else:
        assert trapped(h, 2) and h.csr[MEPC] == BASE
        assert (int(h.csr[MSTATUS]) >> MPP_SHIFT) & 3 == priv


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
    assert trapped(h, 2)


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

def write_read(n, value, priv=M, **csrs):
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
    for mpp in (0, 1, 3):
        v, _ = write_read(MSTATUS, mpp << MPP_SHIFT)
        assert (v >> MPP_SHIFT) & 3 == mpp
    v, _ = write_read(MSTATUS, 2 << MPP_SHIFT)
    assert (v >> MPP_SHIFT) & 3 in (0, 1, 3)


def test_mstatus_uxl_sxl_are_64_bit():
    v, _ = write_read(MSTATUS, 0)
    assert (v >> 32) & 3 == 2 and (v >> 34) & 3 == 2
    v, _ = write_read(MSTATUS, M64)
    assert (v >> 32) & 3 == 2 and (v >> 34) & 3 == 2


def test_medeleg_cannot_delegate_ecall_from_m():
    v, _ = write_read(MEDELEG, M64)
    assert (v >> 11) & 1 == 0
    assert (v >> 8) & 1 == 1 and (v >> 2) & 1 == 1 and (v >> 12) & 1 == 1 and (v >> 13) & 1 == 1 \
        and (v >> 15) & 1 == 1


def test_mideleg_only_supervisor_interrupts():
    v, _ = write_read(MIDELEG, M64)
    assert v & 0x888 == 0           # MSI, MTI, MEI cannot be delegated
    assert v & 0x222 == 0x222       # SSI, STI, SEI can


def test_mie_writable_bits_are_the_six_interrupts():
    v, _ = write_read(MIE, M64)
    assert v == 0xAAA


def test_mip_msip_mtip_meip_read_only_in_mip():
    v, h = write_read(MIP, M64)
    assert v == 0x222                       # SSIP, STIP, SEIP writable by M
    v, h = write_read(MIP, 0)
    assert v == 0


def test_mip_write_does_not_clear_hardware_msip():
    h = mk(csrw(MIP, 0) + csrr(6, MIP), mip=1 << 3)
    step_ok(h, 2)
    assert int(h.x[6]) & (1 << 3)


def test_misa_value():
    v, _ = write_read(MISA, 0)      # WARL: the write may be ignored, but misa must stay sane
    v2, _ = write_read(MISA, M64)
    for v in (v, v2):
        assert v >> 62 == 2, hex(v)                       # MXL = 64
    h = mk(csrr(1, MISA))
    step_ok(h)
    v = int(h.x[1]) & M64
    assert v >> 62 == 2
    for ext in "ACIMSU":
        assert (v >> (ord(ext) - 65)) & 1, ext
    for ext in "DFEQVH":
        assert not (v >> (ord(ext) - 65)) & 1, ext


# ------------------------------------------------------------------ S-mode views

def test_sstatus_is_a_restricted_view_of_mstatus():
    ms = MIE_B | MPIE | (3 << MPP_SHIFT) | SIE_B | SPP | TVM | TW
    h = mk(csrr(1, SSTATUS), priv=S_, mstatus=ms)
    step_ok(h)
    v = int(h.x[1]) & M64
    assert v & (MIE_B | MPIE | (3 << MPP_SHIFT) | TVM | TW) == 0      # M-only fields invisible
    assert v & (SIE_B | SPP) == SIE_B | SPP
    assert (v >> 32) & 3 == 2                                         # UXL


def test_sstatus_write_changes_only_supervisor_fields():
    ms = MIE_B | (3 << MPP_SHIFT)
    h = mk(csrw(SSTATUS, 5), priv=S_, mstatus=ms)
    h.x[5] = -1
    step_ok(h)
    new = int(h.csr[MSTATUS]) & M64
    assert new & (MIE_B | (3 << MPP_SHIFT)) == MIE_B | (3 << MPP_SHIFT)
    assert new & (TVM | TW | TSR | MPRV | MPIE) == 0
    assert new & (SIE_B | SPIE | SPP | SUM | MXR) == SIE_B | SPIE | SPP | SUM | MXR
    h2 = mk(csrw(SSTATUS, 0), priv=S_, mstatus=new)
    step_ok(h2)
    assert int(h2.csr[MSTATUS]) & (SIE_B | SPIE | SPP | SUM | MXR) == 0
    assert int(h2.csr[MSTATUS]) & MIE_B


def test_sie_shows_only_delegated_bits_of_mie():
    h = mk(csrr(1, SIE), priv=S_, mie=0xAAA, mideleg=0x20)
    step_ok(h)
    assert int(h.x[1]) == 0x20
    h = mk(csrr(1, SIE), priv=S_, mie=0xAAA, mideleg=0x222)
    step_ok(h)
    assert int(h.x[1]) == 0x222


def test_sie_write_reaches_only_delegated_bits():
    h = mk(csrw(SIE, 5), priv=S_, mie=0x880, mideleg=0x2)
    h.x[5] = -1
    step_ok(h)
    assert int(h.csr[MIE]) == 0x882


def test_sip_ssip_writable_only_when_delegated_stip_read_only():
    h = mk(csrw(SIP, 5) + csrr(6, SIP), priv=S_, mideleg=0x222)
    h.x[5] = 0x222
    step_ok(h, 2)
    assert int(h.csr[MIP]) & 0x222 == 0x2          # SSIP set; STIP/SEIP read-only through sip
    assert int(h.x[6]) & 0x2
    h = mk(csrw(SIP, 5), priv=S_, mideleg=0)
    h.x[5] = 0x2
    step_ok(h)
    assert int(h.csr[MIP]) & 0x2 == 0
    h = mk(csrr(6, SIP), priv=S_, mideleg=0x20, mip=0x20 | 0x2)
    step_ok(h)
    assert int(h.x[6]) == 0x20                     # undelegated SSIP invisible


# ------------------------------------------------------------------ satp

def test_satp_unsupported_modes_are_ignored_entirely():
    good = (8 << 60) | 0x80123
    for mode in (9, 10, 1, 15):
        h = mk(csrw(SATP, 5) + csrr(6, SATP), satp=good)
        h.x[5] = np.int64(((mode << 60) | 0x80456) - (1 << 64) if mode >= 8 else (mode << 60) | 0x80456)
        step_ok(h, 2)
        assert int(h.x[6]) & M64 == good, mode


def test_satp_sv39_sticks_and_flushes_the_tlb():
    h = mk(csrw(SATP, 5) + csrr(6, SATP))
    value = (8 << 60) | 0x80200
    h.x[5] = np.int64(value - (1 << 64) if value >> 63 else value)
    h.tlb[:, :, 0] = 5                    # pretend the TLB holds entries
    step_ok(h, 2)
    assert int(h.x[6]) & M64 == value
    assert np.all(h.tlb[:, :, 0] == S.TLB_EMPTY)


def test_satp_bare_mode_accepted():
    v, _ = write_read(SATP, 0, satp=(8 << 60) | 5)
    assert v >> 60 == 0


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



@pytest.mark.parametrize("n,bit", [(CYCLE, 0), (TIME, 1), (INSTRET, 2), (HPM3, 3)])
def test_counters_in_s_mode_gated_by_mcounteren(n, bit):
    h = mk(csrr(1, n), priv=S_, mcounteren=0xFFFFFFFF & ~(1 << bit))
    h.x[1] = 99
    h.run(1)
    assert trapped(h, 2)
    assert int(h.x[1]) == 99                      # a trapping read leaves rd alone
    h = mk(csrr(1, n), priv=S_, mcounteren=1 << bit)
    h.x[1] = 99
    counters_set(h)
    step_ok(h)
    assert int(h.x[1]) & M64 == counter_value(h, n, 0)


@pytest.mark.parametrize("n,bit", [(CYCLE, 0), (TIME, 1), (INSTRET, 2)])
def test_counters_in_u_mode_need_mcounteren_and_scounteren(n, bit):
    for m_en, s_en, ok in ((1, 1, True), (1, 0, False), (0, 1, False), (0, 0, False)):
        h = mk(csrr(1, n), priv=U, mcounteren=m_en << bit, scounteren=s_en << bit)
        h.run(1)
        if ok:
            assert h.pc == BASE + 4, (m_en, s_en)
        else:
            assert trapped(h, 2), (m_en, s_en)


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
        h = mk(insn, priv=S_, mstatus=TVM)
        h.run(1)
        assert trapped(h, 2)
        h = mk(insn, priv=S_, mstatus=0)
        step_ok(h)
        h = mk(insn, priv=M, mstatus=TVM)
        step_ok(h)


def test_tw_makes_wfi_in_s_illegal():
    h = mk(WFI, priv=S_, mstatus=TW)
    h.run(1)
    assert trapped(h, 2)


def test_wfi_in_s_without_tw_retires():
    # SSI delegated and pending but sstatus.SIE = 0: not taken, yet wfi must return (priv 3.3.3)
    h = mk(WFI + NOP, priv=S_, mie=0x2, mip=0x2, mideleg=0x2)
    h.run(1)
    assert h.pc == BASE + 4 and h.priv == S_


def test_wfi_in_u_mode_with_nothing_pending_is_illegal():
    h = mk(WFI, priv=U)
    h.run(1)
    assert trapped(h, 2)


def test_tsr_makes_sret_in_s_illegal():
    h = mk(SRET, priv=S_, mstatus=TSR, sepc=BASE + 0x40)
    h.run(1)
    assert trapped(h, 2)
    h = mk(SRET, priv=S_, mstatus=0, sepc=BASE + 0x40)
    h.run(1)
    assert h.pc == BASE + 0x40 and h.priv == U
    h = mk(SRET, priv=M, mstatus=TSR, sepc=BASE + 0x40)      # TSR does not apply to M
    h.run(1)
    assert h.pc == BASE + 0x40


def test_sfence_vma_in_u_mode_is_illegal():
    h = mk(SFENCE, priv=U)
    h.run(1)
    assert trapped(h, 2)


@pytest.mark.parametrize("n", [0x3A1, 0x3A3, 0x3AF])
def test_odd_pmpcfg_registers_do_not_exist_on_rv64(n):
    """3.7.1: on RV64 the odd-numbered pmpcfg registers are illegal."""
    h = mk(csrr(1, n))
    h.run(1)
    assert trapped(h, 2)


@pytest.mark.parametrize("n", [0x3A0, 0x3A2, 0x3B0, 0x3EF, 0xF15, 0x320, 0x30A, 0x10A])
def test_other_v1_12_csrs_are_readable_in_m(n):
    """pmpcfg0/2 and pmpaddr0/15 are WARL storage (read back what the hart holds); mconfigptr,
    mcountinhibit, menvcfg and senvcfg are read-only zero here."""
    h = mk(csrr(1, n))
    stored = 0x0F0F if n in (0x3A0, 0x3A2) else 0x1234 if n in (0x3B0, 0x3EF) else 0
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
