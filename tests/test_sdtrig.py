"""Sdtrig (debug spec 1.0, chapter 5): tselect/tdata1/tdata2/tdata3/tinfo and mcontrol6 triggers.

Execute, load and store address triggers raise a breakpoint exception before the instruction
(xtval = the matching address, xepc = the pc, nothing executed or accessed), gated by tdata1's
m/s/u bits and, for action 0 without tcontrol, by mstatus.MIE in M (sstatus.SIE in S with medeleg
bit 3); medeleg delegates them to S.  Checked with native regions off and forced on, and (the
last test) in the plain-Python engine.  emu/trigger.py says where each check happens.
"""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF, M64, MRET, NOP, csrr, csrw, s64  # noqa: E402

from emu import state as S  # noqa: E402
from emu.hart import Hart, jit_enabled  # noqa: E402
from emu.spec import (CAUSE_BREAKPOINT, CAUSE_ILLEGAL_INSTRUCTION, MCAUSE, MEDELEG, MEPC, MSTATUS,  # noqa: E402
                      MSTATUS_MIE, MSTATUS_SIE, MTVAL, MTVEC, PRV_M, PRV_S, PRV_U, RAM_BASE, SCAUSE, SEPC, STVAL,
                      STVEC, TSELECT, TDATA1, TDATA2, TDATA3, TINFO, TDATA1_DMODE, MC6_M, MC6_S, MC6_U,
                      MC6_EXECUTE, MC6_LOAD, MC6_STORE, MC6_HIT0, MC6_MATCH_SHIFT, MC6_ACTION_SHIFT,
                      MATCH_EQUAL, MATCH_NAPOT, MATCH_GE, MATCH_LT)
from emu import trigger as T  # noqa: E402
from emu import debug as D  # noqa: E402

BASE = RAM_BASE
HANDLER = BASE + 0x800                   # M: j .
S_HANDLER = BASE + 0x900                 # S: j .
DATA = BASE + 0x4000
MC6 = 6 << 60
ALL = MC6_M | MC6_S | MC6_U
TYPE15 = 15 << 60

REGIONS = ["loop", "regions"] if jit_enabled() else ["loop"]


def mk(code, priv=PRV_M, regions="loop", mie=True):
    h = Hart(1 << 20)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.write_phys(S_HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[STVEC] = S_HANDLER
    h.csr[MSTATUS] |= MSTATUS_MIE if mie else 0
    h.priv = priv
    if regions == "regions":
        h.start_regions()
        h.regions.sync = True           # compiled at once: the same regions every run
        h.st[S.ST_REGION_HOT] = 1
        h.st[S.ST_POLL] = 16
    else:
        h.stop_regions()
    return h


def arm(h, i, tdata1, tdata2):
    """Program trigger i as M-mode software would (through the CSR write path), then the host's sync."""
    st = h.st
    T.trigger_write(TSELECT, i, st)
    T.trigger_write(TDATA2, s64(tdata2), st)
    T.trigger_write(TDATA1, s64(tdata1), st)
    T.sync(h)


def mc6(kind, match=MATCH_EQUAL, privs=ALL):
    return MC6 | privs | kind | (match << MC6_MATCH_SHIFT)


def breakpoint_in_m(h, at, tval):
    return (h.pc == HANDLER and int(h.csr[MCAUSE]) == CAUSE_BREAKPOINT and int(h.csr[MEPC]) & M64 == at
            and int(h.csr[MTVAL]) & M64 == tval)


def csr_prog(*pairs):
    """M-mode code: csrrw each (CSR, register) in turn."""
    return b"".join(csrw(n, r) for n, r in pairs)


# ------------------------------------------------------------------ the CSRs

def test_tinfo_tselect_and_reset_values():
    """tinfo: version 1, types 6 and 15; tselect keeps its value when written with one beyond the
    triggers (probing software reads back a different number); every trigger starts disabled."""
    h = mk(csr_prog((TSELECT, 5)) + csrr(6, TSELECT) + csr_prog((TSELECT, 7)) + csrr(7, TSELECT)
           + csrr(8, TINFO) + csrr(9, TDATA1) + csrr(11, TDATA3))
    h.x[5] = S.N_TRIGGERS - 1
    h.x[7] = S.N_TRIGGERS
    h.run(7)
    assert h.x[6] == S.N_TRIGGERS - 1 and h.x[7] == S.N_TRIGGERS - 1
    assert int(h.x[8]) == (1 << 24) | (1 << 6) | (1 << 15)
    assert int(h.x[9]) & M64 == TYPE15
    assert h.x[11] == 0


@pytest.mark.parametrize("written, kept", [
    (TYPE15 | ALL | MC6_EXECUTE, TYPE15),                           # type 15: disabled, nothing else
    (0 | ALL | MC6_EXECUTE, TYPE15),                                # type 0 disables too
    (2 << 60 | ALL | MC6_EXECUTE, TYPE15),                          # mcontrol (type 2) is not offered
    (MC6 | ALL | MC6_LOAD | (MATCH_LT << MC6_MATCH_SHIFT), MC6 | ALL | MC6_LOAD | (MATCH_LT << MC6_MATCH_SHIFT)),
    (MC6 | MC6_EXECUTE | (5 << MC6_MATCH_SHIFT), MC6 | MC6_EXECUTE),  # match 5: WARL 0
    (MC6 | MC6_EXECUTE | (1 << MC6_ACTION_SHIFT), MC6 | MC6_EXECUTE),  # action 1 needs dmode: 0
    (MC6 | MC6_EXECUTE | (2 << MC6_ACTION_SHIFT), MC6 | MC6_EXECUTE),  # tracing: not offered
    (MC6 | TDATA1_DMODE | MC6_EXECUTE, MC6 | MC6_EXECUTE),          # M-mode cannot set dmode
    (MC6 | MC6_STORE | 7 << 16 | 1 << 20 | 1 << 21 | 1 << 11 | 1 << 5 | 3 << 23 | 1 << 26,
     MC6 | MC6_STORE),                                              # size, timing, select, chain, ...: 0
    (MC6 | MC6_HIT0 | MC6_U, MC6 | MC6_HIT0 | MC6_U),               # hit0 is writable
])
def test_tdata1_warl(written, kept):
    h = mk(csr_prog((TDATA1, 5)) + csrr(6, TDATA1))
    h.x[5] = s64(written)
    h.run(2)
    assert int(h.x[6]) & M64 == kept


@pytest.mark.parametrize("priv", [PRV_S, PRV_U], ids=["S", "U"])
@pytest.mark.parametrize("n", [TSELECT, TDATA1, TDATA2, TDATA3, TINFO])
def test_trigger_csrs_are_m_mode_only(priv, n):
    h = mk(csrr(6, n), priv)
    h.run(1)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION


def test_tcontrol_does_not_exist():
    h = mk(csrr(6, 0x7A5))
    h.run(1)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION


def debugger_breakpoints(h, pcs):
    """The GDB stub's hardware breakpoints at pcs (its only triggers)."""
    return T.set_debugger_triggers(h, [T.debugger_trigger(MC6_EXECUTE, pc) for pc in pcs])


def test_a_debugger_trigger_is_not_writable_from_m_mode():
    """A trigger with dmode = 1 (the GDB stub's hardware breakpoint) reads as such, and M-mode's
    writes to its tdata1 and tdata2 change nothing."""
    h = mk(csr_prog((TDATA1, 5), (TDATA2, 5)) + csrr(6, TDATA1) + csrr(7, TDATA2))
    assert debugger_breakpoints(h, [BASE + 0x100])
    h.x[5] = 0
    h.run(4)
    assert int(h.x[6]) & TDATA1_DMODE and (int(h.x[6]) >> 12) & 0xF == 1
    assert int(h.x[7]) & M64 == BASE + 0x100
    assert T.free_triggers(h.st) == S.N_TRIGGERS - 1


def test_the_debugger_gets_only_free_triggers():
    h = mk(NOP)
    arm(h, 0, mc6(MC6_EXECUTE), BASE + 0x40)              # the guest's
    assert not debugger_breakpoints(h, [BASE + 4 * i for i in range(S.N_TRIGGERS)])
    assert debugger_breakpoints(h, [BASE + 4 * i for i in range(S.N_TRIGGERS - 1)])
    assert T.free_triggers(h.st) == 0
    assert int(h.st[S.ST_TDATA2]) == BASE + 0x40 and not int(h.st[S.ST_TDATA1]) & TDATA1_DMODE
    assert debugger_breakpoints(h, [])
    assert T.free_triggers(h.st) == S.N_TRIGGERS - 1


def test_the_debuggers_triggers_that_stay_keep_their_place():
    """set_debugger_triggers gives back only the triggers no longer wanted: the others keep their
    index (the step off a hardware breakpoint takes its trigger away and puts it back)."""
    h = mk(NOP)
    w = T.debugger_trigger(MC6_STORE, DATA, 8)
    b = T.debugger_trigger(MC6_EXECUTE, BASE + 0x40)
    assert T.set_debugger_triggers(h, [b, w])
    assert T.set_debugger_triggers(h, [w])
    assert int(h.st[S.ST_TDATA1 + 1]) == w[0] and int(h.st[S.ST_TDATA1]) & M64 == TYPE15
    assert T.set_debugger_triggers(h, [w, w])                # two watchpoints: two triggers
    assert T.free_triggers(h.st) == S.N_TRIGGERS - 2 and int(h.st[S.ST_TDATA2 + 1]) == DATA + 3


DBG = TDATA1_DMODE | (1 << MC6_ACTION_SHIFT) | ALL          # dmode = 1, action 1, m, s and u


@pytest.mark.parametrize("kind, va, n, match, tdata2", [
    (MC6_EXECUTE, BASE + 0x42, 1, MATCH_EQUAL, BASE + 0x42),       # a hardware breakpoint
    (MC6_LOAD, DATA + 5, 1, MATCH_EQUAL, DATA + 5),                 # one byte: equal
    (MC6_STORE, DATA + 8, 8, MATCH_NAPOT, DATA + 8 + 3),            # a naturally aligned block: exact
    (MC6_STORE, DATA + 2, 2, MATCH_NAPOT, DATA + 2),
    (MC6_LOAD | MC6_STORE, DATA, 4096, MATCH_NAPOT, DATA + 2047),
    (MC6_STORE, DATA + 4, 12, MATCH_NAPOT, DATA + 7),               # else the smallest block holding it
    (MC6_LOAD, DATA + 6, 4, MATCH_NAPOT, DATA + 7),                 # (it crosses an 8-byte boundary)
    (MC6_STORE, DATA + 8, 3, MATCH_NAPOT, DATA + 8 + 1),
    (MC6_STORE, 2**64 - 4, 8, MATCH_NAPOT, 2**63 - 1),              # wraps: every address
])
def test_debugger_trigger_encoding(kind, va, n, match, tdata2):
    """GDB's Z1-Z4 as mcontrol6 (debugger_trigger): dmode = 1, action 1, m/s/u, the access bits, and
    an address match that holds every byte of the range (the watch table matches the exact range)."""
    t1, t2 = T.debugger_trigger(kind, va, n)
    assert t1 == MC6 | DBG | kind | (match << MC6_MATCH_SHIFT) and t2 & M64 == tdata2
    assert T.legal_tdata1(t1, True) == t1
    for a in (va, (va + n - 1) & M64):
        assert T.address_matches(t1, t2, s64(a), 1)
    if n == 1 or (n & (n - 1) == 0 and va % n == 0):        # exactly the range: not the bytes around it
        assert not T.address_matches(t1, t2, s64(va - 1), 1) and not T.address_matches(t1, t2, s64(va + n), 1)


@pytest.mark.parametrize("regions", REGIONS)
@pytest.mark.parametrize("guest_armed", [False, True], ids=["alone", "with_a_guest_trigger"])
def test_the_debuggers_access_triggers_raise_nothing_and_keep_the_fast_loop(regions, guest_armed):
    """A watchpoint's trigger (dmode = 1) is the watch table's to match: it arms no checked loop
    (st[ST_TRIG_LDST] = 0, regions stay on) and the guest's accesses there go on as if it were not set,
    also in the checked loop that a load trigger of the guest's own (elsewhere) makes the hart run."""
    code = I("sd", rs1=8, rs2=9, imm=0) + I("ld", rd=7, rs1=8, imm=0) + J_SELF
    h = mk(code, regions=regions)
    h.x[8] = DATA
    h.x[9] = 0x55
    assert T.set_debugger_triggers(h, [T.debugger_trigger(MC6_LOAD | MC6_STORE, DATA, 8)])
    assert T.free_triggers(h.st) == S.N_TRIGGERS - 1
    if guest_armed:
        arm(h, 1, mc6(MC6_LOAD), DATA + 0x100)
    assert h.st[S.ST_TRIG_LDST] == guest_armed
    assert bool(int(h.st[S.ST_REGION_BLOCKED]) & D.REGIONS_TRIGGERS) == guest_armed
    h.run(10)
    assert h.pc == BASE + 8 and h.x[7] == 0x55 and h.read_phys(DATA, 1) == b"\x55"
    assert not int(h.st[S.ST_TDATA1]) & MC6_HIT0 and h.st[S.ST_DBG_BREAK] == 0


# ------------------------------------------------------------------ execute

ADD1 = I("addi", rd=10, rs1=10, imm=1)


@pytest.mark.parametrize("regions", REGIONS)
def test_execute_trigger_armed_by_m_mode_code(regions):
    """M-mode arms an execute trigger on an instruction it already ran (it was in the decode cache):
    the next time, the breakpoint exception comes before it, with mtval = mepc = its pc."""
    # 0: addi x10 (target); 4: csrw tdata2, x5; 8: csrw tdata1, x6; 12: jal x0, -12 (back to 0)
    code = ADD1 + csr_prog((TDATA2, 5), (TDATA1, 6)) + I("jal", rd=0, imm=-12)
    h = mk(code, regions=regions)
    h.x[5] = BASE
    h.x[6] = s64(mc6(MC6_EXECUTE))
    h.run(20)
    assert breakpoint_in_m(h, BASE, BASE)
    assert h.x[10] == 1                                  # ran once, before the trigger
    assert int(h.st[S.ST_TDATA1]) & MC6_HIT0


@pytest.mark.parametrize("regions", REGIONS)
@pytest.mark.parametrize("match, hit_off, tdata2, fires", [
    (MATCH_EQUAL, 0x100, 0, True), (MATCH_EQUAL, 0x100, 2, False),
    (MATCH_NAPOT, 0x100, 1, True), (MATCH_NAPOT, 0x100, 8 | 1, False),     # 4 bytes at HIT, at HIT + 8
    (MATCH_GE, 0x100, 0, True), (MATCH_GE, 0x100, 8, False),
    (MATCH_LT, -0x100, 4, True), (MATCH_LT, -0x100, 0, False)])
def test_execute_trigger_in_a_hot_loop(regions, match, hit_off, tdata2, fires):
    """A loop (a native region when regions are on) that calls out to HIT (above the loop, or below
    it for LT) only in its 1000th iteration: the trigger (tdata2 = HIT + an offset) fires there,
    before HIT's instruction, and not a step later; one that matches nothing there never fires."""
    start = BASE + 0x1000
    hit = start + hit_off
    # 0: addi x10; 4: bne x10, x12, +8; 8: jal x0, HIT; 12: blt x10, x13, -12; 16: j .
    # HIT: addi x11, x11, 1; jal x0, start + 12
    code = (ADD1 + I("bne", rs1=10, rs2=12, imm=8) + I("jal", rd=0, imm=hit_off - 8)
            + I("blt", rs1=10, rs2=13, imm=-12) + J_SELF)
    h = mk(NOP, regions=regions)
    h.write_phys(start, code)
    h.write_phys(hit, I("addi", rd=11, rs1=11, imm=1) + I("jal", rd=0, imm=12 - hit_off - 4))
    h.pc = start
    h.x[12] = 1000
    h.x[13] = 2000
    arm(h, 2, mc6(MC6_EXECUTE, match), hit + tdata2)
    h.run(10_000)
    if fires:
        assert breakpoint_in_m(h, hit, hit)
        assert h.x[10] == 1000 and h.x[11] == 0
    else:
        assert h.pc == start + 16 and h.x[10] == 2000 and h.x[11] == 1
    if regions == "regions":
        assert h.st[S.ST_REGION_ENTRIES] > 0


@pytest.mark.parametrize("priv, privs, fires", [
    (PRV_M, MC6_M, True), (PRV_M, MC6_S | MC6_U, False),
    (PRV_S, MC6_S, True), (PRV_S, MC6_M | MC6_U, False),
    (PRV_U, MC6_U, True), (PRV_U, MC6_M | MC6_S, False)])
def test_execute_trigger_privilege_enables(priv, privs, fires):
    h = mk(NOP + ADD1 + J_SELF, priv)
    arm(h, 1, mc6(MC6_EXECUTE, privs=privs), BASE + 4)
    h.run(5)
    if fires:
        assert breakpoint_in_m(h, BASE + 4, BASE + 4)
        assert h.x[10] == 0
    else:
        assert h.pc == BASE + 8 and h.x[10] == 1


def test_action_0_does_not_fire_in_m_mode_while_mie_is_0():
    """Without tcontrol, action-0 triggers do not fire in M-mode while mstatus.MIE = 0 (the trap
    handler a trigger entered, with MIE cleared, is not triggered again)."""
    h = mk(NOP + ADD1 + J_SELF, mie=False)
    arm(h, 0, mc6(MC6_EXECUTE), BASE + 4)
    h.run(5)
    assert h.pc == BASE + 8 and h.x[10] == 1
    # the handler entered by a trigger runs with MIE = 0: a trigger on it does not fire
    h = mk(NOP + J_SELF)
    h.write_phys(HANDLER, ADD1 + J_SELF)
    arm(h, 0, mc6(MC6_EXECUTE), BASE + 0)
    arm(h, 1, mc6(MC6_EXECUTE), HANDLER)
    h.run(5)
    assert int(h.csr[MCAUSE]) == CAUSE_BREAKPOINT and h.pc == HANDLER + 4 and h.x[10] == 1


def test_medeleg_delegates_the_breakpoint_to_s():
    h = mk(NOP + ADD1 + J_SELF, PRV_U)
    h.csr[MEDELEG] = 1 << CAUSE_BREAKPOINT
    arm(h, 3, mc6(MC6_EXECUTE), BASE + 4)
    h.run(5)
    assert h.pc == S_HANDLER and h.priv == PRV_S
    assert int(h.csr[SCAUSE]) == CAUSE_BREAKPOINT and int(h.csr[SEPC]) == BASE + 4 and int(h.csr[STVAL]) == BASE + 4


@pytest.mark.parametrize("sie", [0, 1])
def test_in_s_mode_with_breakpoints_delegated_sie_gates_action_0(sie):
    h = mk(NOP + ADD1 + J_SELF, PRV_S)
    h.csr[MEDELEG] = 1 << CAUSE_BREAKPOINT
    h.csr[MSTATUS] |= MSTATUS_SIE * sie
    arm(h, 0, mc6(MC6_EXECUTE), BASE + 4)
    h.run(5)
    if sie:
        assert h.pc == S_HANDLER and int(h.csr[SCAUSE]) == CAUSE_BREAKPOINT
    else:
        assert h.pc == BASE + 8 and h.x[10] == 1


# ------------------------------------------------------------------ loads and stores

@pytest.mark.parametrize("regions", REGIONS)
@pytest.mark.parametrize("kind", ["load", "store", "amo"])
@pytest.mark.parametrize("match, tdata2", [(MATCH_EQUAL, 500 * 8), (MATCH_EQUAL, 500 * 8 + 7),
                                           (MATCH_NAPOT, 500 * 8 + 3), (MATCH_GE, 500 * 8 + 7),
                                           (MATCH_LT, -500 * 8 + 1)])
def test_access_trigger_in_a_hot_loop(regions, kind, match, tdata2):
    """A loop over an array, 8 bytes a step (from DATA + 8 * 1000 down for LT): the trigger fires on
    the 501st access, before it (nothing read into x7, nothing written), mtval = its address."""
    if kind == "load":
        acc = I("ld", rd=7, rs1=8, imm=0)
    elif kind == "store":
        acc = I("sd", rs1=8, rs2=9, imm=0)
    else:
        acc = ((9 << 20) | (8 << 15) | (3 << 12) | (7 << 7) | 0x2F).to_bytes(4, "little")   # amoadd.d x7, x9, (x8)
    step = 8
    if match == MATCH_LT:                     # walk downwards from the top
        step = -8
    # 0: access; 4: addi x8, x8, step; 8: addi x10; 12: blt x10, x13, -12; 16: j .
    code = acc + I("addi", rd=8, rs1=8, imm=step) + ADD1 + I("blt", rs1=10, rs2=13, imm=-12) + J_SELF
    h = mk(code, regions=regions)
    top = DATA + 8 * 1999
    h.x[8] = DATA if step > 0 else top
    h.x[9] = 0x55
    h.x[13] = 1000
    trig = DATA + tdata2 if step > 0 else top + tdata2
    arm(h, 0, mc6(MC6_LOAD if kind == "load" else (MC6_STORE if kind == "store" else MC6_STORE), match), trig)
    h.run(100_000)
    addr = DATA + 500 * 8 if step > 0 else top - 500 * 8
    assert breakpoint_in_m(h, BASE, addr)
    assert h.x[10] == 500 and h.x[7] == 0
    written = h.read_phys(DATA, 8 * 2000)
    if kind == "load":
        assert written == bytes(8 * 2000)
    else:                                     # 500 accesses done, the 501st not
        lo = 0 if step > 0 else (top - 499 * 8 - DATA)
        assert written.count(b"\x55") == 500 and written[(addr - DATA):(addr - DATA) + 8] == bytes(8)
        assert written[lo] == 0x55


@pytest.mark.parametrize("kind, trig, fires", [("load", MC6_LOAD, True), ("load", MC6_STORE, False),
                                               ("store", MC6_STORE, True), ("store", MC6_LOAD, False)])
def test_load_and_store_bits_select_the_access(kind, trig, fires):
    acc = I("lw", rd=7, rs1=8, imm=4) if kind == "load" else I("sw", rs1=8, rs2=9, imm=4)
    h = mk(acc + J_SELF)
    h.write_phys(DATA + 4, b"\x11\x22\x33\x44")
    h.x[8] = DATA
    h.x[9] = 0x55
    arm(h, 0, mc6(trig), DATA + 6)            # any byte of the access matches
    h.run(3)
    if fires:
        assert breakpoint_in_m(h, BASE, DATA + 4)
        assert h.read_phys(DATA + 4, 4) == b"\x11\x22\x33\x44" and h.x[7] == 0
    else:
        assert h.pc == BASE + 4


def test_load_trigger_in_u_mode_delegated_to_s():
    h = mk(I("ld", rd=7, rs1=8, imm=0) + J_SELF, PRV_U)
    h.csr[MEDELEG] = 1 << CAUSE_BREAKPOINT
    h.x[8] = DATA
    arm(h, 0, mc6(MC6_LOAD, privs=MC6_U), DATA)
    h.run(3)
    assert h.pc == S_HANDLER and int(h.csr[SCAUSE]) == CAUSE_BREAKPOINT and int(h.csr[STVAL]) == DATA


def test_disarming_returns_to_the_fast_loop():
    """The guest disarms its load trigger (tdata1 = 0): the hart leaves the checked loop and the
    loads go on; tdata1 then reads type 15."""
    # 0: csrw tdata1, x6 (arm); 4: ld (fires); handler: csrw tdata1, x0; mret -> ld runs
    h = mk(csr_prog((TDATA2, 5), (TDATA1, 6)) + I("ld", rd=7, rs1=8, imm=0) + J_SELF)
    h.write_phys(HANDLER, csrw(TDATA1, 0) + csrr(11, MCAUSE) + MRET)
    h.write_phys(DATA, (1234).to_bytes(8, "little"))
    h.x[5] = DATA
    h.x[6] = s64(mc6(MC6_LOAD))
    h.x[8] = DATA
    h.run(20)
    assert h.pc == BASE + 12 and h.x[11] == CAUSE_BREAKPOINT and h.x[7] == 1234
    assert h.st[S.ST_TRIG_LDST] == 0 and int(h.st[S.ST_TDATA1]) & M64 == TYPE15


# ------------------------------------------------------------------ the plain-Python engine

def test_plain_python_engine():
    """The same source unjitted: an execute, a load and a store trigger."""
    tests = ("test_execute_trigger_armed_by_m_mode_code", "test_load_and_store_bits_select_the_access",
             "test_medeleg_delegates_the_breakpoint_to_s", "test_disarming_returns_to_the_fast_loop")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                        __file__, "-k", " or ".join(tests)], env=env, capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout.splitlines()[-1]
