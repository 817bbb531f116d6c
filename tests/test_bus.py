"""devices/bus.py: the MMIO trap table, and Python devices reached by guest loads/stores in a Machine.

A device sees (offset from its base, size, value); a load's value is sign- or
zero-extended by the load instruction (unprivileged 2.6: LB/LH/LW sign-extend,
LBU/LHU/LWU zero-extend).  Accesses outside RAM and every device are access
faults (privileged 3.6, causes 5/7).
"""
import io
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF  # noqa: E402

from devices.bus import Device, TrapTable, OverlapError  # noqa: E402
from devices.clint import Clint  # noqa: E402
from emu.spec import (CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_LOAD, CLINT_BASE, MCAUSE, MTVAL, MTVEC,  # noqa: E402
                      RAM_BASE)
from emu.state import MMIO_PYTHON, MMIO_CLINT  # noqa: E402
from lifecycle.machine.board import Machine  # noqa: E402

BASE = RAM_BASE
TOHOST = BASE + 0x8000
HANDLER = BASE + 0x4000
DEV = 0x3000_0000          # free on this machine (the UART is at 0x1000_0000)


class Named(Device):
    def __init__(self, name):
        self.name = name


class Recorder(Device):
    name = "recorder"

    def __init__(self, values=None):
        self.calls = []
        self.values = values or {}

    def read(self, offset, size):
        self.calls.append(("r", offset, size))
        return self.values.get((offset, size), 0)

    def write(self, offset, size, value):
        self.calls.append(("w", offset, size, value))


# ------------------------------------------------------------------ the table

def test_overlapping_ranges_refused_naming_both_devices():
    t = TrapTable()
    t.add(0x1000, 0x100, Named("uart"))
    for base, size in ((0x1000, 0x100), (0x10FF, 1), (0xF00, 0x101), (0x1080, 0x10), (0x0, 0x10000)):
        with pytest.raises(OverlapError) as e:
            t.add(base, size, Named("plic"))
        msg = str(e.value)
        assert "uart" in msg and "plic" in msg, msg


def test_adjacent_ranges_accepted():
    t = TrapTable()
    t.add(0x1000, 0x100, Named("a"))
    t.add(0x1100, 0x100, Named("b"))
    t.add(0xF00, 0x100, Named("c"))
    assert [r[0] for r in t.rows()] == [0x1000, 0x1100, 0xF00]


def test_ram_overlap_refused():
    t = TrapTable()
    t.add(BASE + 0x1000, 0x100, Named("fb"))
    with pytest.raises(OverlapError) as e:
        t.check_ram(BASE, 1 << 20)
    assert "fb" in str(e.value) and "RAM" in str(e.value)
    t2 = TrapTable()
    t2.add(BASE - 0x100, 0x100, Named("ok"))
    t2.check_ram(BASE, 1 << 20)


def test_bad_size_refused():
    with pytest.raises(ValueError):
        TrapTable().add(0x1000, 0, Named("z"))


def test_rows_and_lookup():
    t = TrapTable()
    d = Recorder()
    t.add(CLINT_BASE, Clint.size, Clint())
    t.add(DEV, 0x1000, d)
    assert t.rows() == [(CLINT_BASE, Clint.size, MMIO_CLINT, 0), (DEV, 0x1000, MMIO_PYTHON, 1)]
    assert t.device(1) is d
    assert t.find(DEV + 0xFFF) == (DEV, d)
    assert t.find(DEV + 0x1000) == (None, None)


# ------------------------------------------------------------------ a Python device in a Machine

def machine_with(dev, code, size=0x1000):
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.bus.add(DEV, size, dev)
    m.hart.set_mmio_table(m.bus.rows())
    exit_seq = (I("addi", rd=30, rs1=0, imm=1) + I("sd", rs2=30, rs1=31, imm=0) + J_SELF)   # exit(0)
    m.hart.write_phys(BASE, code + exit_seq)
    m.hart.write_phys(HANDLER, I("addi", rd=30, rs1=0, imm=(99 << 1) | 1) + I("sd", rs2=30, rs1=31, imm=0)
                      + J_SELF)                                                           # exit(99)
    m.hart.csr[MTVEC] = HANDLER
    m.hart.set_tohost(TOHOST)
    m.hart.x[31] = TOHOST
    m.hart.x[5] = DEV
    return m


LOADS = [("lb", 1, True), ("lbu", 1, False), ("lh", 2, True), ("lhu", 2, False), ("lw", 4, True),
         ("lwu", 4, False), ("ld", 8, True)]


@pytest.mark.parametrize("mn,size,signed", LOADS)
def test_device_loads_are_extended_per_instruction(mn, size, signed):
    off = 0x40
    raw = (0x8877_6655_4433_2291 >> 0) & ((1 << (8 * size)) - 1) | (1 << (8 * size - 1))
    dev = Recorder({(off, size): raw})
    m = machine_with(dev, I(mn, rd=6, rs1=5, imm=off))
    r = m.run(max_instructions=100)
    assert r.reason == "exit" and r.exit_code == 0, r
    assert dev.calls == [("r", off, size)]
    exp = raw - (1 << (8 * size)) if signed else raw
    assert int(m.hart.x[6]) == exp


def test_device_load_value_is_truncated_to_the_access_size():
    dev = Recorder({(0, 1): 0x1FF, (0, 2): -1})
    m = machine_with(dev, I("lbu", rd=6, rs1=5, imm=0) + I("lh", rd=7, rs1=5, imm=0))
    assert m.run(max_instructions=100).reason == "exit"
    assert int(m.hart.x[6]) == 0xFF and int(m.hart.x[7]) == -1


@pytest.mark.parametrize("mn,size", [("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)])
def test_device_stores_see_offset_size_value(mn, size):
    dev = Recorder()
    m = machine_with(dev, I(mn, rs2=7, rs1=5, imm=0x18))
    m.hart.x[7] = -0x0123_4567_89AB_CDF0       # 0xfedcba9876543210
    assert m.run(max_instructions=100).reason == "exit"
    assert dev.calls == [("w", 0x18, size, 0xFEDC_BA98_7654_3210 & ((1 << (8 * size)) - 1))]


def test_device_load_into_x0_is_discarded_and_execution_continues():
    dev = Recorder({(8, 8): 1234})
    m = machine_with(dev, I("ld", rd=0, rs1=5, imm=8) + I("ld", rd=6, rs1=5, imm=8)
                     + I("addi", rd=6, rs1=6, imm=1))
    r = m.run(max_instructions=100)
    assert r.reason == "exit"
    assert int(m.hart.x[0]) == 0 and int(m.hart.x[6]) == 1235
    assert len(dev.calls) == 2


def test_device_accesses_count_as_retired_instructions():
    dev = Recorder()
    m = machine_with(dev, I("sw", rs2=0, rs1=5, imm=0) * 3)
    r = m.run(max_instructions=100)
    assert r.reason == "exit"
    assert r.instret == 3 + 2         # three stores + addi + the sd to tohost


def test_second_device_gets_offsets_relative_to_its_own_base():
    a, b = Recorder(), Recorder()
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.bus.add(DEV, 0x100, a)
    m.bus.add(DEV + 0x100, 0x100, b)
    m.hart.set_mmio_table(m.bus.rows())
    m.hart.write_phys(BASE, I("sw", rs2=0, rs1=5, imm=0x104) + I("sw", rs2=0, rs1=5, imm=0x0FC)
                      + I("addi", rd=30, rs1=0, imm=1) + I("sd", rs2=30, rs1=31, imm=0) + J_SELF)
    m.hart.set_tohost(TOHOST)
    m.hart.x[31], m.hart.x[5] = TOHOST, DEV
    assert m.run(max_instructions=100).reason == "exit"
    assert a.calls == [("w", 0xFC, 4, 0)] and b.calls == [("w", 4, 4, 0)]


def test_misaligned_device_access_faults_without_calling_the_device():
    dev = Recorder()
    m = machine_with(dev, I("lw", rd=6, rs1=5, imm=2))
    r = m.run(max_instructions=100)
    assert r.reason == "exit" and r.exit_code == 99
    assert dev.calls == []
    assert int(m.hart.csr[MCAUSE]) in (CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS) and int(m.hart.csr[MTVAL]) == DEV + 2


def test_access_straddling_the_end_of_a_device_faults():
    dev = Recorder()
    m = machine_with(dev, I("ld", rd=6, rs1=5, imm=0x100), size=0x104)    # 8 bytes at 0x100 of 0x104
    r = m.run(max_instructions=100)
    assert r.exit_code == 99 and dev.calls == []
    assert int(m.hart.csr[MCAUSE]) == CAUSE_LOAD_ACCESS


def test_gap_between_devices_is_an_access_fault():
    dev = Recorder()
    m = machine_with(dev, I("sd", rs2=0, rs1=5, imm=0) + I("ld", rd=6, rs1=6, imm=0))
    m.hart.x[6] = DEV + 0x2000
    r = m.run(max_instructions=100)
    assert r.exit_code == 99
    assert int(m.hart.csr[MCAUSE]) == CAUSE_LOAD_ACCESS and int(m.hart.csr[MTVAL]) == DEV + 0x2000
    assert dev.calls == [("w", 0, 8, 0)]


def test_budget_is_exact_with_device_accesses():
    """run(max_instructions=N) stops after N instructions, device accesses included."""
    dev = Recorder()
    m = machine_with(dev, I("lw", rd=6, rs1=5, imm=0) + I("jal", rd=0, imm=-4))
    r = m.run(max_instructions=100)
    assert r.reason == "budget"
    assert r.instret == 100 and m.hart.instret == 100, (r.instret, len(dev.calls))
