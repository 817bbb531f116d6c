"""Guest memory: misaligned accesses, access faults, code coherence, the trap-loop guard, LR/SC and AMOs.

Specs: unprivileged 2.6 (misaligned loads/stores may be handled or trap), 8.2/8.4
(A: LR/SC reservation rules, AMO semantics, misaligned -> address-misaligned or
access fault), privileged v1.12 3.1.16 (mtval for misaligned faults = the
address of the portion that faulted), 3.6 (access faults outside RAM/devices).
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import ECALL, FENCE_I, I, J_SELF, M64, w32  # noqa: E402
from test_mmu import PageTables, vm, fault, put64, get64, s64, RW, DATA_VA, DATA_PA, CODE_VA  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_FETCH_ACCESS, CAUSE_FETCH_PAGE_FAULT, CAUSE_ILLEGAL_INSTRUCTION,  # noqa: E402
                      CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE_FAULT, CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE,
                      CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT, MCAUSE, MEDELEG, MEPC, MTVAL, MTVEC, RAM_BASE,
                      STVEC)

BASE = RAM_BASE
HANDLER = BASE + 0x800


AMO_F5 = {"lr": 0b00010, "sc": 0b00011, "amoswap": 0b00001, "amoadd": 0b00000, "amoxor": 0b00100,
          "amoand": 0b01100, "amoor": 0b01000, "amomin": 0b10000, "amomax": 0b10100,
          "amominu": 0b11000, "amomaxu": 0b11100}


def amo(mn, rd, rs1, rs2=0):
    base, width = mn.split(".")
    f3 = 2 if width == "w" else 3
    return w32((AMO_F5[base] << 27) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x2F)


def mk(code, ram=1 << 20):
    h = Hart(ram)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    return h


def mfault(h):
    if h.pc != HANDLER:
        return None
    return int(h.csr[MCAUSE]) & M64, int(h.csr[MTVAL]) & M64, int(h.csr[MEPC]) & M64


def sx(b):
    return int.from_bytes(b, "little", signed=True)


def zx(b):
    return int.from_bytes(b, "little")


# ------------------------------------------------------------------ misaligned, physical

PATTERN = bytes((0x81 + 0x11 * i) & 0xFF for i in range(32))


MIS_LOADS = [(mn, size, signed, off)
             for mn, size, signed in [("ld", 8, True), ("lw", 4, True), ("lwu", 4, False),
                                      ("lh", 2, True), ("lhu", 2, False)]
             for off in (1, 2, 3, 5, 7) if off % size]


@pytest.mark.parametrize("mn,size,signed,off", MIS_LOADS)
def test_misaligned_loads_in_ram(mn, size, signed, off):
    h = mk(I(mn, rd=6, rs1=5, imm=off))
    data = BASE + 0x1000
    h.write_phys(data, PATTERN)
    h.x[5] = data
    h.run(1)
    assert mfault(h) is None
    chunk = PATTERN[off:off + size]
    assert int(h.x[6]) == (sx(chunk) if signed else zx(chunk))


@pytest.mark.parametrize("mn,size,off", [(mn, size, off) for mn, size in [("sd", 8), ("sw", 4), ("sh", 2)]
                                          for off in (1, 3, 6) if off % size])
def test_misaligned_stores_in_ram(mn, size, off):
    h = mk(I(mn, rs2=7, rs1=5, imm=off))
    data = BASE + 0x1000
    h.x[5], h.x[7] = data, s64(0x0102_0304_0506_0708)
    h.run(1)
    assert mfault(h) is None
    got = h.read_phys(data, 16)
    exp = bytes(off) + (0x0102_0304_0506_0708).to_bytes(8, "little")[:size]
    assert got == exp + bytes(16 - len(exp))


def test_misaligned_load_crossing_the_end_of_ram_faults_on_the_outside_portion():
    """3.1.16: mtval = the virtual address of the portion of the access that caused the fault."""
    ram = 1 << 20
    h = mk(I("ld", rd=6, rs1=5, imm=0), ram)
    h.x[5], h.x[6] = BASE + ram - 4, 7
    h.run(1)
    f = mfault(h)
    assert f is not None and f[0] == CAUSE_LOAD_ACCESS and f[2] == BASE
    assert BASE + ram <= f[1] < BASE + ram + 4, hex(f[1])
    assert int(h.x[6]) == 7                   # rd not written


def test_misaligned_store_crossing_the_end_of_ram_writes_nothing():
    ram = 1 << 20
    h = mk(I("sd", rs2=7, rs1=5, imm=0), ram)
    h.x[5], h.x[7] = BASE + ram - 4, -1
    h.run(1)
    f = mfault(h)
    assert f is not None and f[0] == CAUSE_STORE_ACCESS
    assert BASE + ram <= f[1] < BASE + ram + 4, hex(f[1])
    assert h.read_phys(BASE + ram - 4, 4) == bytes(4)


# ------------------------------------------------------------------ misaligned under Sv39

def two_pages():
    h, pt = vm(I("ld", rd=6, rs1=5, imm=0) + I("sd", rs2=7, rs1=5, imm=8) + I("lw", rd=8, rs1=5, imm=2))
    pt.map(DATA_VA, DATA_PA + 0x5000, RW)
    pt.map(DATA_VA + 0x1000, DATA_PA + 0x2000, RW)      # the next page lives *below* in PA
    return h, pt


def test_misaligned_across_a_page_boundary_under_sv39():
    h, pt = two_pages()
    h.write_phys(DATA_PA + 0x5FFC, bytes([1, 2, 3, 4]))
    h.write_phys(DATA_PA + 0x2000, bytes([5, 6, 7, 8, 9, 10, 11, 12]))
    h.x[5], h.x[7] = DATA_VA + 0xFFC, s64(0xA1A2_A3A4_A5A6_A7A8)
    h.run(3)
    assert fault(h) is None, fault(h)
    assert int(h.x[6]) == 0x0807_0605_0403_0201
    # sd at VA 0x1004: entirely in page 2 (offset 4), lw at 0xffe: bytes 3,4 | 5,6
    assert h.read_phys(DATA_PA + 0x2004, 8) == (0xA1A2_A3A4_A5A6_A7A8).to_bytes(8, "little")
    assert int(h.x[8]) == 0x0605_0403


def test_misaligned_store_straddling_into_an_unmapped_page():
    h, pt = vm(I("sd", rs2=7, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)                       # page 2 unmapped
    h.x[5], h.x[7] = DATA_VA + 0xFFC, -1
    h.run(1)
    f = fault(h)
    assert f is not None and f[0] == CAUSE_STORE_PAGE_FAULT and f[2] == CODE_VA
    assert f[1] >> 12 == (DATA_VA + 0x1000) >> 12, hex(f[1])      # the faulting portion's address
    assert h.read_phys(DATA_PA + 0xFFC, 4) == bytes(4)             # nothing written


def test_misaligned_load_straddling_into_an_unmapped_page():
    h, pt = vm(I("ld", rd=6, rs1=5, imm=0))
    pt.map(DATA_VA, DATA_PA, RW)
    h.x[5] = DATA_VA + 0xFFA
    h.run(1)
    f = fault(h)
    assert f is not None and f[0] == CAUSE_LOAD_PAGE_FAULT
    assert f[1] >> 12 == (DATA_VA + 0x1000) >> 12, hex(f[1])


# ------------------------------------------------------------------ misaligned atomics

# The A extension lets a misaligned LR/SC/AMO raise either address-misaligned or access-fault;
# this hart reports address-misaligned: load for lr, store/AMO for sc and the AMOs.
@pytest.mark.parametrize("mn,cause", [("lr.w", CAUSE_MISALIGNED_LOAD), ("lr.d", CAUSE_MISALIGNED_LOAD),
                                      ("sc.w", CAUSE_MISALIGNED_STORE), ("sc.d", CAUSE_MISALIGNED_STORE),
                                      ("amoadd.w", CAUSE_MISALIGNED_STORE), ("amoswap.d", CAUSE_MISALIGNED_STORE),
                                      ("amomaxu.d", CAUSE_MISALIGNED_STORE)])
def test_misaligned_atomics_trap(mn, cause):
    h = mk(amo(mn, 6, 5, 0 if mn.startswith("lr") else 7))
    addr = BASE + 0x1002 if mn.endswith(".w") else BASE + 0x1004
    h.x[5], h.x[6], h.x[7] = addr, 123, 1
    h.run(1)
    assert mfault(h) == (cause, addr, BASE)
    assert int(h.x[6]) == 123
    assert h.read_phys(BASE + 0x1000, 16) == bytes(16)


# ------------------------------------------------------------------ access faults

@pytest.mark.parametrize("insn,cause", [(I("ld", rd=6, rs1=5, imm=0), CAUSE_LOAD_ACCESS),
                                        (I("lbu", rd=6, rs1=5, imm=0), CAUSE_LOAD_ACCESS),
                                        (I("sd", rs2=6, rs1=5, imm=0), CAUSE_STORE_ACCESS),
                                        (I("sb", rs2=6, rs1=5, imm=0), CAUSE_STORE_ACCESS),
                                        (amo("lr.d", 6, 5), CAUSE_LOAD_ACCESS),
                                        (amo("amoadd.d", 6, 5, 6), CAUSE_STORE_ACCESS),
                                        (amo("sc.d", 6, 5, 6), CAUSE_STORE_ACCESS)])
@pytest.mark.parametrize("addr", [0x1000, 0x7FFF_FFF8, BASE + (1 << 20), 0x1_0000_0000])
def test_access_fault_outside_ram_and_devices(insn, cause, addr):
    h = mk(insn)
    h.x[5] = addr
    h.run(1)
    f = mfault(h)
    if insn == amo("sc.d", 6, 5, 6) and f is None:
        # sc without a reservation may fail without touching memory (8.2): then rd = nonzero
        assert int(h.x[6]) != 0
        return
    assert f == (cause, addr, BASE)


@pytest.mark.parametrize("target", [0x1000, BASE + (1 << 20)])
def test_fetch_access_fault(target):
    h = mk(I("jalr", rd=0, rs1=5, imm=0))
    h.x[5] = target
    h.run(2)
    assert mfault(h) == (CAUSE_FETCH_ACCESS, target, target)


def test_32bit_instruction_at_the_last_halfword_of_ram():
    ram = 1 << 20
    h = mk(I("jalr", rd=0, rs1=5, imm=0), ram)
    h.write_phys(BASE + ram - 2, (rvenc.enc("addi", rd=1, rs1=0, imm=1) & 0xFFFF).to_bytes(2, "little"))
    h.x[5] = BASE + ram - 2
    h.run(2)
    f = mfault(h)
    assert f is not None and f[0] == CAUSE_FETCH_ACCESS and f[2] == BASE + ram - 2
    assert f[1] in (BASE + ram - 2, BASE + ram)


def test_trap_loop_returns_fatal_instead_of_hanging():
    h = mk(w32(0xFFFFFFFF))
    h.csr[MTVEC] = 0x1000            # the handler cannot be fetched
    assert h.run(1_000_000) == S.EXIT_FATAL
    assert int(h.st[S.ST_FATAL]) == S.FATAL_TRAP_LOOP


def test_trap_loop_under_sv39_returns_fatal():
    h, pt = vm(w32(0xFFFFFFFF))
    h.csr[MEDELEG] = (1 << CAUSE_ILLEGAL_INSTRUCTION) | (1 << CAUSE_FETCH_PAGE_FAULT)   # both delegated to S
    h.csr[STVEC] = 0x7000_0000       # unmapped
    assert h.run(1_000_000) == S.EXIT_FATAL


# ------------------------------------------------------------------ code coherence

def smc_program(new_word, fence=False):
    code = (I("addi", rd=9, rs1=0, imm=1)               # 0: the instruction that gets replaced
            + I("bne", rs1=10, rs2=0, imm=20 if fence else 16)      # 4: second time round: exit
            + I("sw", rs2=6, rs1=5, imm=0)              # 8
            + (FENCE_I if fence else b"")
            + I("addi", rd=10, rs1=0, imm=1)
            + I("jal", rd=0, imm=-(20 if fence else 16))
            + J_SELF)
    h = mk(code)
    h.x[5], h.x[6] = BASE, s64(new_word) if new_word >> 31 == 0 else new_word - (1 << 32)
    return h


@pytest.mark.parametrize("fence", [True, False])
def test_self_modifying_code(fence):
    h = smc_program(rvenc.enc("addi", rd=9, rs1=0, imm=77), fence)
    h.run(8 if fence else 7)
    assert int(h.x[9]) == 77
    assert h.pc == BASE + (24 if fence else 20)


def test_halfword_store_into_a_cached_32bit_instruction():
    # replace the upper half (imm[11:0] sits in bits 31:20) of `addi x9, x0, 1` with imm = 5
    new = rvenc.enc("addi", rd=9, rs1=0, imm=5)
    code = (I("addi", rd=9, rs1=0, imm=1) + I("bne", rs1=10, rs2=0, imm=16)
            + I("sh", rs2=6, rs1=5, imm=2) + I("addi", rd=10, rs1=0, imm=1) + I("jal", rd=0, imm=-16) + J_SELF)
    h = mk(code)
    h.x[5], h.x[6] = BASE, new >> 16
    h.run(7)
    assert int(h.x[9]) == 5


def test_store_by_amo_invalidates_code():
    new = rvenc.enc("addi", rd=9, rs1=0, imm=66)
    code = (I("addi", rd=9, rs1=0, imm=1) + I("bne", rs1=10, rs2=0, imm=16)
            + amo("amoswap.w", 0, 5, 6) + I("addi", rd=10, rs1=0, imm=1) + I("jal", rd=0, imm=-16) + J_SELF)
    h = mk(code)
    h.x[5], h.x[6] = BASE, new
    h.run(7)
    assert int(h.x[9]) == 66


def test_host_write_phys_over_code_invalidates_the_decode_cache():
    h = mk(I("addi", rd=9, rs1=0, imm=1) + J_SELF)
    h.run(2)
    assert int(h.x[9]) == 1
    h.write_phys(BASE, I("addi", rd=9, rs1=0, imm=2))
    h.pc = BASE
    h.run(1)
    assert int(h.x[9]) == 2


# ------------------------------------------------------------------ LR / SC

DATA = BASE + 0x1000
LR = amo("lr.d", 6, 5)
SC = amo("sc.d", 7, 5, 8)


def lrsc(code):
    h = mk(code)
    h.write_phys(DATA, (0x1111).to_bytes(8, "little"))
    h.x[5], h.x[8], h.x[7] = DATA, 0x2222, 55
    return h


def test_sc_succeeds_after_lr():
    h = lrsc(LR + SC)
    h.run(2)
    assert int(h.x[6]) == 0x1111 and int(h.x[7]) == 0
    assert get64(h, DATA) == 0x2222


def test_sc_without_lr_fails_and_does_not_write():
    h = lrsc(SC)
    h.run(1)
    assert int(h.x[7]) != 0 and get64(h, DATA) == 0x1111


def test_sc_always_clears_the_reservation():
    """8.2: "Regardless of success or failure, executing an SC instruction invalidates any
    reservation held by this hart."  """
    h = lrsc(LR + SC + I("addi", rd=8, rs1=0, imm=0x33) + amo("sc.d", 9, 5, 8))
    h.x[9] = 55
    h.run(4)
    assert int(h.x[7]) == 0 and int(h.x[9]) != 0 and get64(h, DATA) == 0x2222


def test_failed_sc_clears_the_reservation_too():
    code = LR + amo("sc.d", 7, 11, 8) + SC        # sc to another address fails, then the real one too
    h = lrsc(code)
    h.x[11] = DATA + 0x100
    h.run(3)
    assert int(h.x[7]) != 0 and get64(h, DATA) == 0x1111 and get64(h, DATA + 0x100) == 0


def test_sc_to_a_different_address_than_lr_fails():
    h = lrsc(LR + amo("sc.d", 7, 11, 8))
    h.x[11] = DATA + 0x40
    h.run(2)
    assert int(h.x[7]) != 0 and get64(h, DATA + 0x40) == 0


def test_sc_fails_after_a_store_to_the_reservation_granule():
    """The hart's own store to the reserved bytes between LR and SC makes the SC fail
    (allowed by 8.2; this hart's reservation set is the LR's 8-byte granule)."""
    for off in (0, 4):
        h = lrsc(LR + I("sw", rs2=0, rs1=5, imm=off) + SC)
        h.run(3)
        assert int(h.x[7]) != 0, off


def test_sc_fails_after_a_trap():
    h = lrsc(LR + ECALL)
    h.write_phys(HANDLER, SC + J_SELF)
    h.run(3)
    assert h.pc == HANDLER + 4 and int(h.x[7]) != 0 and get64(h, DATA) == 0x1111


def test_lr_w_sign_extends_and_sc_w_writes_32_bits():
    h = mk(amo("lr.w", 6, 5) + amo("sc.w", 7, 5, 8))
    h.write_phys(DATA, (0xFFFF_FFF0_8000_0001).to_bytes(8, "little"))
    h.x[5], h.x[8] = DATA, s64(0x1234_5678_9ABC_DEF0)
    h.run(2)
    assert int(h.x[6]) == s64(0xFFFF_FFFF_8000_0001) and int(h.x[7]) == 0
    assert get64(h, DATA) == 0xFFFF_FFF0_9ABC_DEF0


# ------------------------------------------------------------------ AMOs

M32 = (1 << 32) - 1


def s32(v):
    v &= M32
    return v - (1 << 32) if v >> 31 else v


AMO_MODEL = {
    "amoswap": lambda a, b, n: b, "amoadd": lambda a, b, n: a + b, "amoxor": lambda a, b, n: a ^ b,
    "amoand": lambda a, b, n: a & b, "amoor": lambda a, b, n: a | b,
    "amomin": lambda a, b, n: min(sgn(a, n), sgn(b, n)), "amomax": lambda a, b, n: max(sgn(a, n), sgn(b, n)),
    "amominu": lambda a, b, n: min(a, b), "amomaxu": lambda a, b, n: max(a, b),
}


def sgn(v, n):
    v &= (1 << n) - 1
    return v - (1 << n) if v >> (n - 1) else v


@pytest.mark.parametrize("op", list(AMO_MODEL))
@pytest.mark.parametrize("width", ["w", "d"])
def test_amo_semantics(op, width):
    n = 32 if width == "w" else 64
    mask = (1 << n) - 1
    for mem, src in ((0x8000_0001, 0x7FFF_FFFF), (5, 0xFFFF_FFFF_FFFF_FFFE), (0xFFFF_FFFF_0000_0000, 3),
                     (0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321)):
        h = mk(amo(f"{op}.{width}", 6, 5, 7))
        h.write_phys(DATA, (mem & M64).to_bytes(8, "little"))
        h.x[5], h.x[7] = DATA, s64(src)
        h.run(1)
        assert mfault(h) is None
        old = mem & mask
        assert int(h.x[6]) == sgn(old, n), (op, width, hex(mem))          # rd = old value, sign-extended
        new = AMO_MODEL[op](old, src & mask, n) & mask
        got = get64(h, DATA)
        if width == "w":
            assert got & M32 == new and got >> 32 == (mem & M64) >> 32, (op, hex(mem), hex(src), hex(got))
        else:
            assert got == new, (op, hex(mem), hex(src), hex(got))


def test_amo_with_rd_x0_and_rd_equal_rs2():
    h = mk(amo("amoadd.d", 0, 5, 7) + amo("amoswap.d", 7, 5, 7))
    h.write_phys(DATA, (10).to_bytes(8, "little"))
    h.x[5], h.x[7] = DATA, 5
    h.run(2)
    assert int(h.x[0]) == 0 and int(h.x[7]) == 15 and get64(h, DATA) == 5


def test_host_write_to_the_reserved_bytes_makes_sc_fail():
    """8.2: "The SC must fail if a write from some other device to the bytes accessed by the LR
    can be observed to occur between the LR and SC."  Hart.write_phys is the host/DMA write."""
    h = lrsc(LR + SC)
    h.run(1)
    h.write_phys(DATA, (0x3333).to_bytes(8, "little"))      # a device writes the reserved doubleword
    h.run(1)
    assert int(h.x[7]) != 0, "sc.d succeeded after a DMA write to the reserved bytes"
    assert get64(h, DATA) == 0x3333
