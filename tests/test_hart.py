"""emu.hart.Hart: reset state, run() accounting, the stop flag, x0, snapshots, and RV64I/C execution.

Reset state per privileged spec v1.12 3.4 (M-mode, mstatus.MIE = MPRV = 0,
pc = the reset vector, here the RAM base); instruction semantics per the
unprivileged spec ch. 2, 5 and 16 (RV64I, RVC).
"""
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import I, J_SELF, M64, NOP, s64  # noqa: E402

from emu.hart import Hart, jit_enabled  # noqa: E402
from emu import state as S  # noqa: E402
from emu.spec import RAM_BASE, MSTATUS, MSTATUS_MIE, MSTATUS_MPRV, PRV_M, UART_BASE, UART_SIZE  # noqa: E402

BASE = RAM_BASE


def mk(code=b"", ram=1 << 20):
    h = Hart(ram)
    h.write_phys(BASE, code)
    return h


# ------------------------------------------------------------------ reset / API

def test_reset_state():
    h = Hart(1 << 20)
    assert h.priv == PRV_M and h.pc == BASE and h.instret == 0
    assert not np.any(h.x)
    assert int(h.csr[MSTATUS]) & (MSTATUS_MIE | MSTATUS_MPRV) == 0
    assert h.ram.shape == (1 << 20,) and h.ram.dtype == np.uint8 and not np.any(h.ram)
    assert h.x.dtype == np.int64 and h.x.shape == (32,)
    assert h.csr.shape == (4096,)


def test_custom_ram_base():
    h = Hart(1 << 20, ram_base=0x4000_0000)
    assert h.pc == 0x4000_0000
    h.write_phys(0x4000_0000, I("addi", rd=1, rs1=0, imm=9))
    h.run(1)
    assert int(h.x[1]) == 9


def test_bad_ram_size_refused():
    with pytest.raises(ValueError):
        Hart(1000)
    with pytest.raises(ValueError):
        Hart(0)


def test_write_read_phys_bounds():
    h = Hart(1 << 20)
    h.write_phys(BASE + 10, b"abc")
    assert h.read_phys(BASE + 10, 3) == b"abc"
    with pytest.raises(ValueError):
        h.write_phys(BASE + (1 << 20) - 1, b"ab")
    with pytest.raises(ValueError):
        h.read_phys(BASE - 1, 2)


@pytest.mark.parametrize("n", [0, 1, 7, 4095, 4096, 4097, 10_000])
def test_run_retires_exactly_n(n):
    h = mk(NOP * 10_001)
    assert h.run(n) == S.EXIT_BUDGET
    assert h.instret == n and h.pc == BASE + 4 * n


def test_run_with_compressed_instructions():
    h = mk(rvenc.enc_bytes("c.nop") * 100)
    assert h.run(37) == S.EXIT_BUDGET
    assert h.instret == 37 and h.pc == BASE + 2 * 37


def test_consecutive_runs_add_up():
    h = mk(I("addi", rd=1, rs1=1, imm=1) * 3000)
    for k in (5, 1000, 0, 995):
        h.run(k)
    assert h.instret == 2000 and int(h.x[1]) == 2000


def test_spinning_loop_counts_instructions():
    h = mk(J_SELF)
    assert h.run(12345) == S.EXIT_BUDGET
    assert h.instret == 12345 and h.pc == BASE


def test_stop_flag_set_before_run():
    h = mk(NOP * 100)
    h.stop_flag[0] = 1
    assert h.run(100) == S.EXIT_STOP
    assert h.instret == 0 and h.pc == BASE
    h.stop_flag[0] = 0
    assert h.run(10) == S.EXIT_BUDGET and h.instret == 10


def test_x0_stays_zero():
    code = (I("addi", rd=0, rs1=0, imm=5) + I("lui", rd=0, imm=0x12345) + I("ld", rd=0, rs1=5, imm=0)
            + I("jal", rd=0, imm=4) + I("add", rd=1, rs1=0, rs2=0) + rvenc.enc_bytes("c.li", rd=1, imm=3)
            + rvenc.HINTS["c.li x0, 5"].to_bytes(2, "little") + I("add", rd=2, rs1=0, rs2=0))
    h = mk(code)
    h.x[5] = BASE
    h.run(7)
    assert int(h.x[0]) == 0 and int(h.x[1]) == 3 and int(h.x[2]) == 0


def test_x0_written_by_the_host_reads_zero_in_the_guest():
    """x0 is hardwired to zero (unprivileged 2.1), whatever a host (debugger, state restore) put
    into the array."""
    h = mk(I("add", rd=1, rs1=0, rs2=0))
    h.x[0] = 99
    h.run(1)
    assert int(h.x[1]) == 0 and int(h.x[0]) == 0


# ------------------------------------------------------------------ the loop's one caller: call_loop

class FakeLoop:
    """Stands in for emu.loop.run: returns the reasons given, taking `steps` steps for each."""

    def __init__(self, h, reasons, steps=10):
        self.h, self.reasons, self.steps, self.budgets = h, list(reasons), steps, []

    def __call__(self, *args):
        *arrays, budget = args
        assert tuple(arrays) == self.h.arrays
        self.budgets.append(int(budget))
        n = min(self.steps, int(budget))
        self.h.st[S.ST_INSTRET] += n - 2
        self.h.st[S.ST_TRAPS] += 1           # traps and interrupts are steps too
        self.h.st[S.ST_IRQS] += 1
        return self.reasons.pop(0)


def test_call_loop_answers_region_exits_and_counts_steps(monkeypatch):
    h = mk()
    compiled = []
    monkeypatch.setattr(h, "compile_region", lambda: compiled.append(h.steps))
    loop = FakeLoop(h, [S.EXIT_REGION, S.EXIT_REGION, S.EXIT_MMIO])
    assert h.call_loop(loop, 100) == (S.EXIT_MMIO, 30)
    assert loop.budgets == [100, 90, 80]          # on after each region, with what is left
    assert compiled == [10, 20]
    assert h.steps == 30 == h.instret + int(h.st[S.ST_TRAPS] + h.st[S.ST_IRQS])


def test_call_loop_ends_with_the_budget_when_a_region_exit_spends_it(monkeypatch):
    h = mk()
    monkeypatch.setattr(h, "compile_region", lambda: None)
    loop = FakeLoop(h, [S.EXIT_REGION, S.EXIT_REGION], steps=50)
    assert h.call_loop(loop, 50) == (S.EXIT_BUDGET, 50)
    assert loop.budgets == [50]


def test_call_loop_lets_a_seat_run_the_loop():
    h = mk()
    calls = []

    class Seat:
        def loop(self, loop, arrays, budget):
            calls.append((loop, arrays, budget))
            return loop(*arrays, budget)
    loop = FakeLoop(h, [S.EXIT_STOP])
    assert h.call_loop(loop, 7, Seat()) == (S.EXIT_STOP, 7)
    assert calls == [(loop, h.arrays, 7)]


def test_hart_run_goes_through_call_loop(monkeypatch):
    h = mk(NOP * 10)
    seen = []
    real = h.call_loop
    monkeypatch.setattr(h, "call_loop", lambda loop, budget, seat=None: seen.append(int(budget)) or
                        real(loop, budget, seat))
    assert h.run(5) == S.EXIT_BUDGET and seen == [5] and h.instret == 5


def test_prepare_run_zeroes_x0_and_hands_out_the_compiled_loop():
    from emu.loop import run
    h = mk(NOP)
    h.run(0)                                      # compiled (or loaded from the cache) for these arrays
    h.regs[0] = 5
    loop = h.prepare_run(run)
    assert int(h.regs[0]) == 0
    if jit_enabled():
        assert loop is not run and loop(*h.arrays, 1) == S.EXIT_BUDGET and h.instret == 1
    else:
        assert loop is run
    stand_in = FakeLoop(h, [])
    assert h.prepare_run(stand_in) is stand_in


def test_a_new_mmio_table_is_in_the_loops_arguments():
    h = mk()
    h.set_mmio_table([(UART_BASE, UART_SIZE, 1, 0)])
    assert h.arrays[7] is h.mmio and h.mmio.shape == (1, S.MMIO_COLS)


# ------------------------------------------------------------------ MMIO completion: one implementation

def _mmio_load(h, size, signed, rd=5):
    st = h.st
    st[S.ST_MMIO_WRITE], st[S.ST_MMIO_SIZE], st[S.ST_MMIO_SIGNED] = 0, size, signed
    st[S.ST_MMIO_RD], st[S.ST_MMIO_NPC] = rd, BASE + 4


@pytest.mark.parametrize("size", [1, 2, 4, 8])
@pytest.mark.parametrize("signed", [0, 1])
def test_complete_mmio_load_truncates_and_extends(size, signed):
    h = mk()
    _mmio_load(h, size, signed)
    value = 0x8182_8384_8586_8788_99            # wider than any access: truncated to `size` bytes
    h.complete_mmio_load(value)
    raw = value & ((1 << (8 * size)) - 1)
    want = raw - (1 << (8 * size)) if (signed or size == 8) and raw >> (8 * size - 1) else raw
    assert int(h.x[5]) == want
    assert h.pc == BASE + 4 and h.instret == 1


def test_complete_mmio_store_retires():
    h = mk()
    h.st[S.ST_MMIO_WRITE], h.st[S.ST_MMIO_NPC] = 1, BASE + 2
    h.complete_mmio_store()
    assert h.pc == BASE + 2 and h.instret == 1


def test_the_hart_and_the_machine_finish_mmio_with_the_same_functions(monkeypatch):
    import emu.hart as H
    from lifecycle.machine import exits
    assert exits.retire_mmio_load is H.retire_mmio_load and exits.retire_mmio_store is H.retire_mmio_store
    seen = []
    monkeypatch.setattr(H, "retire_mmio_load", lambda st, regs, v: seen.append(("load", v)))
    monkeypatch.setattr(H, "retire_mmio_store", lambda st: seen.append(("store",)))
    h = mk()
    h.complete_mmio_load(7)
    h.complete_mmio_store()
    assert seen == [("load", 7), ("store",)]


def test_snapshot_is_a_copy_of_the_full_state():
    h = mk(I("addi", rd=1, rs1=0, imm=7) + NOP)
    h.run(1)
    snap = h.snapshot()
    assert set(snap) >= {"x", "st", "csr", "ram"}
    assert int(snap["x"][1]) == 7
    assert int(snap["st"][S.ST_PC]) == BASE + 4 and int(snap["st"][S.ST_INSTRET]) == 1
    assert bytes(snap["ram"][:4]) == I("addi", rd=1, rs1=0, imm=7)
    snap["x"][1] = 0
    snap["ram"][0] = 0
    assert int(h.x[1]) == 7 and h.ram[0] != 0
    h.run(1)
    assert int(snap["st"][S.ST_INSTRET]) == 1


def test_pc_setter_accepts_unsigned_64bit():
    h = Hart(1 << 20)
    h.pc = 0xFFFF_FFFF_FFFF_F000
    assert h.pc & M64 == 0xFFFF_FFFF_FFFF_F000


# ------------------------------------------------------------------ RV64I execution

def run1(mn, a=0, b=0, **kw):
    h = mk(I(mn, **kw))
    h.x[1], h.x[2] = s64(a), s64(b)
    h.run(1)
    return int(h.x[3]) & M64, h


vals = st.one_of(st.sampled_from([0, 1, M64, 1 << 63, (1 << 63) - 1, 1 << 31, (1 << 31) - 1, 0xFFFF_FFFF]),
                 st.integers(0, M64))


def sx32(v):
    v &= 0xFFFF_FFFF
    return (v - (1 << 32) if v >> 31 else v) & M64


@settings(max_examples=60, deadline=None, derandomize=True)
@given(vals, vals)
def test_register_register_ops(a, b):
    sa, sb = s64(a), s64(b)
    exp = {"add": a + b, "sub": a - b, "and": a & b, "or": a | b, "xor": a ^ b,
           "sll": a << (b & 63), "srl": a >> (b & 63), "sra": sa >> (b & 63),
           "slt": int(sa < sb), "sltu": int(a < b),
           "addw": sx32(a + b), "subw": sx32(a - b), "sllw": sx32(a << (b & 31)),
           "srlw": sx32((a & 0xFFFF_FFFF) >> (b & 31)), "sraw": sx32(s64(sx32(a)) >> (b & 31))}
    for mn, e in exp.items():
        got, _ = run1(mn, a, b, rd=3, rs1=1, rs2=2)
        assert got == e & M64, (mn, hex(a), hex(b))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(vals, st.integers(-2048, 2047), st.integers(0, 63))
def test_immediate_ops(a, imm, sh):
    sa = s64(a)
    ui = imm & M64                      # the sign-extended immediate, as unsigned
    exp = {"addi": (a + imm, dict(imm=imm)), "andi": (a & ui, dict(imm=imm)), "ori": (a | ui, dict(imm=imm)),
           "xori": (a ^ ui, dict(imm=imm)), "slti": (int(sa < imm), dict(imm=imm)),
           "sltiu": (int(a < ui), dict(imm=imm)),         # compares against the sign-extended imm, unsigned
           "addiw": (sx32(a + imm), dict(imm=imm)),
           "slli": (a << sh, dict(shamt=sh)), "srli": (a >> sh, dict(shamt=sh)),
           "srai": (sa >> sh, dict(shamt=sh)),
           "slliw": (sx32(a << (sh & 31)), dict(shamt=sh & 31)),
           "srliw": (sx32((a & 0xFFFF_FFFF) >> (sh & 31)), dict(shamt=sh & 31)),
           "sraiw": (sx32(s64(sx32(a)) >> (sh & 31)), dict(shamt=sh & 31))}
    for mn, (e, kw) in exp.items():
        got, _ = run1(mn, a, rd=3, rs1=1, **kw)
        assert got == e & M64, (mn, hex(a), imm, sh)


def test_lui_auipc_sign_extend_on_rv64():
    got, _ = run1("lui", rd=3, imm=0x80000)
    assert got == 0xFFFF_FFFF_8000_0000
    got, _ = run1("auipc", rd=3, imm=0xFFFFF)
    assert got == (BASE - 0x1000) & M64
    got, _ = run1("auipc", rd=3, imm=1)
    assert got == BASE + 0x1000


def test_jal_jalr_link_and_target():
    code = I("jal", rd=1, imm=8) + NOP + I("jalr", rd=3, rs1=5, imm=3)
    h = mk(code)
    h.x[5] = BASE + 0x100
    h.run(2)
    assert int(h.x[1]) == BASE + 4
    assert int(h.x[3]) == BASE + 12
    assert h.pc == BASE + 0x102          # (rs1 + imm) with bit 0 cleared


def test_jalr_rd_equals_rs1_uses_the_old_value():
    h = mk(I("jalr", rd=5, rs1=5, imm=0))
    h.x[5] = BASE + 0x40
    h.run(1)
    assert h.pc == BASE + 0x40 and int(h.x[5]) == BASE + 4


@pytest.mark.parametrize("mn,a,b,taken", [
    ("beq", 5, 5, True), ("beq", 5, 6, False), ("bne", 5, 6, True), ("bne", 1, 1, False),
    ("blt", -1, 0, True), ("blt", 0, -1, False), ("bge", 0, -1, True), ("bge", -2, -1, False),
    ("bge", 3, 3, True), ("bltu", 0, -1, True), ("bltu", -1, 0, False), ("bgeu", -1, 0, True),
    ("bgeu", 0, 1, False), ("bgeu", 7, 7, True),
])
def test_branches(mn, a, b, taken):
    h = mk(NOP * 4 + I(mn, rs1=1, rs2=2, imm=-16))
    h.pc = BASE + 16
    h.x[1], h.x[2] = a, b
    h.run(1)
    assert h.pc == (BASE if taken else BASE + 20)


def test_loads_sign_and_zero_extend():
    data = BASE + 0x400
    h = mk(b"".join(I(mn, rd=10 + i, rs1=5, imm=0)
                    for i, mn in enumerate(("lb", "lbu", "lh", "lhu", "lw", "lwu", "ld"))))
    h.write_phys(data, bytes([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87]))
    h.x[5] = data
    h.run(7)
    got = [int(h.x[i]) & M64 for i in range(10, 17)]
    assert got == [0xFFFF_FFFF_FFFF_FF80, 0x80, 0xFFFF_FFFF_FFFF_8180, 0x8180,
                   0xFFFF_FFFF_8382_8180, 0x8382_8180, 0x8786_8584_8382_8180]


def test_stores_write_only_their_width():
    data = BASE + 0x400
    h = mk(I("sb", rs2=6, rs1=5, imm=0) + I("sh", rs2=6, rs1=5, imm=8) + I("sw", rs2=6, rs1=5, imm=16)
           + I("sd", rs2=6, rs1=5, imm=24))
    h.write_phys(data, b"\xee" * 32)
    h.x[5], h.x[6] = data, s64(0x1122_3344_5566_7788)
    h.run(4)
    m = h.read_phys(data, 32)
    assert m[0:8] == b"\x88" + b"\xee" * 7
    assert m[8:16] == b"\x88\x77" + b"\xee" * 6
    assert m[16:24] == b"\x88\x77\x66\x55" + b"\xee" * 4
    assert m[24:32] == (0x1122_3344_5566_7788).to_bytes(8, "little")


def test_negative_load_offset_and_address_wrap():
    h = mk(I("ld", rd=6, rs1=5, imm=-8))
    h.write_phys(BASE + 0x100, (0xABCD).to_bytes(8, "little"))
    h.x[5] = BASE + 0x108
    h.run(1)
    assert int(h.x[6]) == 0xABCD


def test_compressed_execution():
    code = (rvenc.enc_bytes("c.li", rd=8, imm=-3) + rvenc.enc_bytes("c.addi", rd=8, imm=10)
            + rvenc.enc_bytes("c.slli", rd=8, shamt=60) + rvenc.enc_bytes("c.srai", rd=8, shamt=60)
            + rvenc.enc_bytes("c.mv", rd=9, rs2=8) + rvenc.enc_bytes("c.addw", rd=9, rs2=8)
            + rvenc.enc_bytes("c.lui", rd=10, imm=-1) + rvenc.enc_bytes("c.addi16sp", imm=-64)
            + rvenc.enc_bytes("c.addi4spn", rd=11, imm=8) + rvenc.enc_bytes("c.sdsp", rs2=9, imm=16)
            + rvenc.enc_bytes("c.ldsp", rd=12, imm=16) + rvenc.enc_bytes("c.j", imm=2)
            )
    h = mk(code)
    h.x[2] = BASE + 0x1000
    h.run(12)
    assert int(h.x[8]) == 7                 # -3 + 10 = 7; <<60 >>60 (arith) keeps 7
    assert int(h.x[9]) == 14
    assert int(h.x[10]) & M64 == 0xFFFF_FFFF_FFFF_F000
    assert int(h.x[2]) == BASE + 0x1000 - 64
    assert int(h.x[11]) == BASE + 0x1000 - 64 + 8
    assert int(h.x[12]) == 14
    assert h.pc == BASE + 22 + 2            # c.j at offset 22 jumps +2


def test_c_jalr_links_pc_plus_2():
    h = mk(rvenc.enc_bytes("c.jalr", rs1=5))
    h.x[5] = BASE + 0x80
    h.run(1)
    assert h.pc == BASE + 0x80 and int(h.x[1]) == BASE + 2


@pytest.mark.parametrize("name", list(rvenc.HINTS))
def test_hints_execute_as_no_ops(name):
    w = rvenc.HINTS[name]
    h = mk(rvenc.hint_bytes(name))
    for i in range(1, 32):
        h.x[i] = i * 0x1_0000_0001
    before = h.x.copy()
    h.run(1)
    assert h.pc == BASE + (2 if w & 3 != 3 else 4)
    assert np.array_equal(h.x, before), name


def test_word_shifts_by_zero_still_sign_extend():
    """RV64 *W results are the sign-extended low 32 bits, even for a zero shift (5.2)."""
    for mn, kw in (("srliw", dict(rd=3, rs1=1, shamt=0)), ("slliw", dict(rd=3, rs1=1, shamt=0)),
                   ("sraiw", dict(rd=3, rs1=1, shamt=0)), ("addiw", dict(rd=3, rs1=1, imm=0))):
        got, _ = run1(mn, 0x1_8000_0000, **kw)
        assert got == 0xFFFF_FFFF_8000_0000, mn
    for mn in ("srlw", "sllw", "sraw"):
        got, _ = run1(mn, 0x1_8000_0000, 32, rd=3, rs1=1, rs2=2)     # shift amount = rs2[4:0] = 0
        assert got == 0xFFFF_FFFF_8000_0000, mn
    got, _ = run1("srliw", 0xFFFF_FFFF_8000_0000, rd=3, rs1=1, shamt=31)
    assert got == 1
