"""devices/rtc.py: the Goldfish RTC as Linux's rtc-goldfish.c and QEMU's hw/rtc/goldfish_rtc.c use it
(registers, the TIME_LOW latch, settable time, the alarm and its interrupt), and on the machine: QEMU
virt's address and IRQ, the deterministic timer's reproducible dates, the realtime timer's host clock,
and an alarm that wakes a guest waiting in wfi through the PLIC."""
import io
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, WFI, J_SELF, csrw  # noqa: E402

from devices.bus import IrqLine  # noqa: E402
from devices.rtc import (GoldfishRtc, RtcBaseError, parse_base, NS_PER_S, TIME_LOW, TIME_HIGH, ALARM_LOW,  # noqa: E402
                         ALARM_HIGH, IRQ_ENABLED, CLEAR_ALARM, ALARM_STATUS, CLEAR_INTERRUPT)
from emu import state as S  # noqa: E402
from emu.spec import RAM_BASE, RTC_BASE, RTC_SIZE, RTC_IRQ, PLIC_BASE, MIE, MTVEC, MSTATUS  # noqa: E402
from lifecycle.machine.board import Machine, rtc_clock  # noqa: E402

BASE = RAM_BASE
HANDLER = BASE + 0x800
HANG_GUARD_S = 300          # a hang guard only: a wait that reaches it fails the test
DATE = 1_767_225_600        # 2026-01-01T00:00:00Z


class Clock:
    """A clock the test moves by hand (ns)."""
    def __init__(self, now=0):
        self.now = now

    def __call__(self):
        return self.now


class Line:
    """An interrupt sink that records each level change."""
    def __init__(self):
        self.levels = []

    def __call__(self, source, level):
        assert source == RTC_IRQ
        self.levels.append(level)


def rtc(base_ns=DATE * NS_PER_S, now=1000):
    clock, line = Clock(now), Line()
    return GoldfishRtc(clock, base_ns, irq=IrqLine(line, RTC_IRQ)), clock, line


def read_time(r):
    """As Linux's goldfish_rtc_read_time: TIME_LOW, then TIME_HIGH."""
    low = r.read(TIME_LOW, 4)
    return (r.read(TIME_HIGH, 4) << 32) | low


def test_time_counts_nanoseconds_from_the_base_on_its_clock():
    r, clock, _ = rtc()
    assert read_time(r) == DATE * NS_PER_S
    clock.now += 2_500_000_123
    assert read_time(r) == DATE * NS_PER_S + 2_500_000_123


def test_reading_time_low_latches_time_high():
    r, clock, _ = rtc(base_ns=(5 << 32) - 10)
    assert r.read(TIME_LOW, 4) == (1 << 32) - 10
    clock.now += 100                              # the count's high half moves on to 5 ...
    assert r.read(TIME_HIGH, 4) == 4              # ... but TIME_HIGH is the one latched with TIME_LOW
    assert read_time(r) == (5 << 32) + 90


def test_writing_time_sets_the_clock_as_linux_does():
    r, clock, _ = rtc()
    new = 4_102_444_800 * NS_PER_S               # 2100-01-01: Linux's set_time writes TIME_HIGH, then TIME_LOW
    r.write(TIME_HIGH, 4, new >> 32)
    r.write(TIME_LOW, 4, new & 0xFFFF_FFFF)
    assert read_time(r) == new
    clock.now += 7
    assert read_time(r) == new + 7                # and it runs on from there


def test_the_alarm_raises_the_interrupt_until_cleared():
    r, clock, line = rtc()
    now = read_time(r)
    alarm = now + 3 * NS_PER_S
    r.write(IRQ_ENABLED, 4, 1)
    r.write(ALARM_HIGH, 4, alarm >> 32)           # (does not arm)
    assert r.read(ALARM_STATUS, 4) == 0
    r.write(ALARM_LOW, 4, alarm & 0xFFFF_FFFF)    # arms
    assert r.read(ALARM_STATUS, 4) == 1 and r.ns_until_alarm() == 3 * NS_PER_S
    assert (r.read(ALARM_HIGH, 4) << 32 | r.read(ALARM_LOW, 4)) == alarm
    assert r.read(IRQ_ENABLED, 4) == 1
    clock.now += 3 * NS_PER_S - 1
    r.poll()
    assert line.levels == [] and r.read(ALARM_STATUS, 4) == 1
    clock.now += 1
    r.poll()                                      # the machine polls its devices
    assert line.levels == [True] and r.read(ALARM_STATUS, 4) == 0 and r.ns_until_alarm() is None
    r.write(CLEAR_INTERRUPT, 4, 1)                # the driver's interrupt handler
    assert line.levels == [True, False]


def test_an_alarm_in_the_past_fires_at_once_and_irq_enabled_gates_the_line():
    r, clock, line = rtc()
    past = read_time(r) - 1
    r.write(ALARM_HIGH, 4, past >> 32)
    r.write(ALARM_LOW, 4, past & 0xFFFF_FFFF)
    assert r.read(ALARM_STATUS, 4) == 0 and line.levels == []     # pending, but not enabled
    r.write(IRQ_ENABLED, 4, 1)
    assert line.levels == [True]
    r.write(IRQ_ENABLED, 4, 0)
    assert line.levels == [True, False]


def test_clear_alarm_disarms_it():
    r, clock, line = rtc()
    alarm = read_time(r) + 10
    r.write(IRQ_ENABLED, 4, 1)
    r.write(ALARM_HIGH, 4, alarm >> 32)
    r.write(ALARM_LOW, 4, alarm & 0xFFFF_FFFF)
    r.write(CLEAR_ALARM, 4, 1)
    assert r.read(ALARM_STATUS, 4) == 0
    clock.now += 100
    r.poll()
    assert line.levels == []


def test_other_sizes_and_offsets_read_zero_and_are_ignored():
    r, clock, line = rtc()
    for size in (1, 2, 8):
        assert r.read(TIME_LOW, size) == 0
        r.write(TIME_LOW, size, 0)
        r.write(IRQ_ENABLED, size, 1)
    assert read_time(r) == DATE * NS_PER_S and r.read(IRQ_ENABLED, 4) == 0
    for off in (0x20, 0x24, 0x800, RTC_SIZE - 4):
        assert r.read(off, 4) == 0
        r.write(off, 4, 0xFFFF_FFFF)
    assert read_time(r) == DATE * NS_PER_S and r.read(ALARM_STATUS, 4) == 0 and line.levels == []


@pytest.mark.parametrize("text,seconds", [
    ("1767225600", DATE), (DATE, DATE), ("2026-01-01", DATE), ("2026-01-01T00:00:00Z", DATE),
    ("2026-01-01T02:00:00+02:00", DATE), ("1970-01-01", 0)])
def test_parse_base(text, seconds):
    assert parse_base(text) == seconds


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "-5", -1, "2600-01-01", True, 1.5, ""])
def test_parse_base_refuses_what_is_not_a_date_it_holds(bad):
    with pytest.raises(RtcBaseError) as e:
        parse_base(bad)
    assert "\n" not in str(e.value)


# --- on the machine

def machine(**kw):
    return Machine(memory=1 << 20, console=io.BytesIO(), **kw)


def _li(rd, v):
    """lui + addiw for a 32-bit constant (sign-extended; its low 32 bits are v's)."""
    v &= 0xFFFF_FFFF
    v = v - (1 << 32) if v >> 31 else v
    hi = (v + 0x800) >> 12
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + I("addiw", rd=rd, rs1=rd, imm=v - (hi << 12))


def test_the_machine_has_it_where_qemu_virt_does():
    m = machine()
    base, dev = m.bus.find(RTC_BASE + RTC_SIZE - 1)
    assert (base, dev) == (RTC_BASE, m.rtc) and RTC_BASE == 0x10_1000 and RTC_IRQ == 11
    assert m.rtc.irq_source == 11


NOPS = 1000


def read_program():
    """Reads the RTC (TIME_LOW into x6, TIME_HIGH into x7) after NOPS instructions, and again (x8, x9)."""
    return (_li(10, RTC_BASE) + I("addi", rd=0, rs1=0, imm=0) * NOPS
            + I("lwu", rd=6, rs1=10, imm=TIME_LOW) + I("lwu", rd=7, rs1=10, imm=TIME_HIGH)
            + I("addi", rd=0, rs1=0, imm=0) * NOPS
            + I("lwu", rd=8, rs1=10, imm=TIME_LOW) + I("lwu", rd=9, rs1=10, imm=TIME_HIGH) + J_SELF)


def run_reader(**kw):
    m = machine(**kw)
    m.hart.write_phys(BASE, read_program())
    m.hart.pc = BASE
    m.run(max_instructions=2 * NOPS + 20)
    x = m.hart.x
    return ((int(x[7]) << 32) | int(x[6]), (int(x[9]) << 32) | int(x[8])), int(m.hart.st[S.ST_TIME_DIV])


def test_deterministic_dates_follow_mtime_from_the_base_and_repeat():
    (first, second), div = run_reader(rtc_base=DATE)
    again, _ = run_reader(rtc_base="2026-01-01")
    assert (first, second) == again                      # the same run reads the same dates
    ns_per_tick = NS_PER_S // 10_000_000
    at = 2 + NOPS                                          # instructions retired before the first read
    assert first == DATE * NS_PER_S + (at // div) * ns_per_tick
    assert second == DATE * NS_PER_S + ((at + 2 + NOPS) // div) * ns_per_tick


def test_deterministic_without_a_base_starts_at_the_host_s_time():
    before = time.time_ns()
    (first, _), _ = run_reader()
    after = time.time_ns()
    assert before <= first <= after + NS_PER_S            # (guest time passed: 1000 instructions, 10 us)


def test_realtime_follows_the_host_clock():
    assert rtc_clock("realtime", None) is time.time_ns
    before = time.time_ns()
    m = machine(timer="realtime", rtc_base=DATE)
    made = time.time_ns()
    t1 = time.time_ns()
    now = m.rtc.count()
    t2 = time.time_ns()
    # count = DATE + (host now - host then), the host's clock read at both ends of each interval
    assert t1 - made <= now - DATE * NS_PER_S <= t2 - before
    before = time.time_ns()
    m = machine(timer="realtime")                         # no base: the host's time when it was made, on
    now = m.rtc.count()
    after = time.time_ns()
    assert before <= now <= after


def test_the_alarm_wakes_a_guest_in_wfi_through_the_plic():
    """M-mode: PLIC source 11 enabled for context 0, the alarm armed 5 ms ahead, mie.MEIE, wfi.
    Nothing else can wake the hart: the machine skips ahead to the alarm (as the loop does to a
    timer), the RTC raises source 11, and the handler claims it, reads the time and clears it."""
    alarm = DATE * NS_PER_S + 5_000_000
    code = (_li(10, RTC_BASE) + _li(11, PLIC_BASE)
            + I("addi", rd=5, rs1=0, imm=1) + I("sw", rs2=5, rs1=11, imm=4 * RTC_IRQ)    # priority 1
            + _li(12, PLIC_BASE + 0x2000) + _li(5, 1 << RTC_IRQ) + I("sw", rs2=5, rs1=12, imm=0)   # ctx 0 enable
            + _li(5, alarm >> 32) + I("sw", rs2=5, rs1=10, imm=ALARM_HIGH)
            + _li(5, alarm) + I("sw", rs2=5, rs1=10, imm=ALARM_LOW)
            + I("addi", rd=5, rs1=0, imm=1) + I("sw", rs2=5, rs1=10, imm=IRQ_ENABLED)
            + _li(5, 1 << 11) + csrw(MIE, 5)                                              # mie.MEIE
            + I("addi", rd=5, rs1=0, imm=8) + csrw(MSTATUS, 5)                            # mstatus.MIE
            + WFI + J_SELF)
    handler = (_li(13, PLIC_BASE + 0x20_0004) + I("lwu", rd=20, rs1=13, imm=0)            # claim
               + I("lwu", rd=21, rs1=10, imm=TIME_LOW) + I("lwu", rd=22, rs1=10, imm=TIME_HIGH)
               + I("lwu", rd=23, rs1=10, imm=ALARM_STATUS)
               + I("sw", rs2=5, rs1=10, imm=CLEAR_INTERRUPT)
               + I("sw", rs2=20, rs1=13, imm=0)                                           # complete
               + J_SELF)
    m = machine(idle_wait=True, rtc_base=DATE)
    m.hart.write_phys(BASE, code)
    m.hart.write_phys(HANDLER, handler)
    m.hart.csr[MTVEC] = HANDLER
    m.hart.pc = BASE
    guard = threading.Timer(HANG_GUARD_S, m.stop)
    guard.start()
    try:
        r = m.run(max_instructions=200)
    finally:
        guard.cancel()
    assert r.reason == "budget", r
    x = m.hart.x
    assert int(x[20]) == RTC_IRQ                           # the PLIC gave source 11
    assert (int(x[22]) << 32 | int(x[21])) >= alarm          # woken when the alarm was due
    assert int(x[23]) == 0                                   # and no longer armed
    assert m.rtc.irq.level is False and int(m.hart.st[S.ST_EIP]) == 0


def test_guest_config_takes_a_date_and_names_the_field_when_it_is_bad():
    from lifecycle import GuestConfig, KernelType
    from lifecycle import ConfigError
    kernel = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest", "bin", "hello.elf")
    c = GuestConfig(kernel_type=KernelType.ELF, kernel=kernel, rtc_base="2026-01-01").validate()
    assert c.rtc_base == DATE
    with pytest.raises(ConfigError) as e:
        GuestConfig(kernel_type=KernelType.ELF, kernel=kernel, rtc_base="yesterday").validate()
    assert "rtc_base" in str(e.value) and "\n" not in str(e.value)


def test_numbavm_boot_refuses_a_bad_rtc_base_in_one_line():
    import subprocess
    p = subprocess.run([sys.executable, "-m", "lifecycle.cli.main", "boot", "--rtc-base", "yesterday", "--kernel", "/nonexistent"],
                       capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--rtc-base" in p.stderr, p.stderr
