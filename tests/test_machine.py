"""lifecycle.machine.board.Machine: load an ELF, run it to its HTIF exit, budgets, stop(), fatal ends, and the
exit table (lifecycle/machine/exits.py) that answers the loop: every exit has its handler, every end is typed."""
import io
import os
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, w32, csrw, ECALL, WFI, J_SELF  # noqa: E402
import elf_builder as eb  # noqa: E402

from lifecycle.machine.loader import LoadError  # noqa: E402
from emu import state as S  # noqa: E402
from emu.timer import CLINT_MTIMECMP  # noqa: E402
from emu.spec import RAM_BASE, CLINT_BASE, MTVEC, MIE, MIP_MTIP, A0, A1, A6, A7  # noqa: E402
from devices.firmware.sbi import EXT_SRST, ResetType, enter_supervisor  # noqa: E402
from lifecycle.machine import exits  # noqa: E402
from lifecycle.machine.board import Machine, Reason, RunResult  # noqa: E402

BASE = RAM_BASE
HELLO = Path(__file__).parent / "guest" / "bin" / "hello.elf"
HANG_GUARD_S = 300          # a hang guard only: a wait that reaches it fails the test


def elf(tmp_path, data, name="p.elf"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def code_elf(tmp_path, code):
    """An ELF with `code` at BASE and the usual tohost/fromhost at BASE + 0x1000."""
    return elf(tmp_path, eb.build_elf(
        [eb.Segment(BASE, code, name=".text"),
         eb.Segment(BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
        entry=BASE, symbols={"tohost": BASE + 0x1000, "fromhost": BASE + 0x1008}))


def machine(**kw):
    return Machine(memory=kw.pop("memory", 1 << 20), console=kw.pop("console", io.BytesIO()), **kw)


def test_built_elf_prints_and_exits(tmp_path):
    out = io.BytesIO()
    m = machine(console=out)
    img = m.load(elf(tmp_path, eb.htif_elf(3, b"hi\n")))
    assert img.entry == BASE and m.hart.pc == BASE
    m.warm_up()
    t0 = time.perf_counter()
    r = m.run()
    outer = time.perf_counter() - t0
    assert isinstance(r, RunResult)
    assert (r.reason, r.exit_code) == ("exit", 3)
    assert out.getvalue() == b"hi\n"
    assert r.instret == m.hart.instret > 0
    # wall_s is this run's own wall time: measured (not zero), and inside the caller's measurement
    assert 0 < r.wall_s <= outer


def test_exit_code_zero(tmp_path):
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0)))
    r = m.run()
    assert (r.reason, r.exit_code) == ("exit", 0)
    # htif_program(0) = auipc t0; addi t2; slli t2; addi t1; sd t1, tohost: the store retires, then exit
    assert r.instret == 5


def test_hello_elf():
    out = io.BytesIO()
    m = Machine(memory=16 << 20, console=out)
    m.load(HELLO)
    r = m.run(max_instructions=5_000_000)
    assert (r.reason, r.exit_code) == ("exit", 0), r
    text = out.getvalue().decode()
    assert text.startswith("Hello from numbavm!\n")
    assert "fib(90)            = 2880067194370816120" in text      # F(90)
    assert "primes below 10000 = 1229" in text                   # pi(10^4)
    assert "-123456789 * 1000  = -123456789000" in text
    assert "(RV64ACDFIMSU)" in text


def test_budget_stop_and_resume(tmp_path):
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0, loop_forever=True)))
    r = m.run(max_instructions=1000)
    assert r.reason == "budget" and r.instret == 1000
    r = m.run(max_instructions=500)
    assert r.reason == "budget" and r.instret == 500
    assert m.hart.instret == 1500


def test_budget_zero(tmp_path):
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0)))
    r = m.run(max_instructions=0)
    assert r.reason == "budget" and r.instret == 0


def test_budget_counts_traps_so_a_trap_storm_ends(tmp_path):
    # every instruction traps (illegal) to a handler that is itself illegal: mtvec = BASE
    m = machine()
    m.load(code_elf(tmp_path, w32(0xFFFFFFFF)))
    m.hart.csr[MTVEC] = BASE
    r = m.run(max_instructions=10_000)
    assert r.reason == "budget" and r.instret == 0


class _SignallingConsole(io.BytesIO):
    """A console that tells the test when the guest's output reaches the host."""

    def __init__(self):
        super().__init__()
        self.wrote = threading.Event()

    def write(self, b):
        n = super().write(b)
        self.wrote.set()
        return n


def test_stop_from_another_thread_while_the_guest_spins(tmp_path):
    """The guest prints one character, then spins in `j .`: once its output has reached the host
    it is certainly running, and stop() from another thread must end run()."""
    out = _SignallingConsole()
    m = machine(console=out)
    m.load(elf(tmp_path, eb.htif_elf(0, b"!", loop_forever=True)))
    m.warm_up()
    seen = []

    def stopper():
        # a hang guard, not a pass criterion: stop anyway so a broken console fails the test
        seen.append(out.wrote.wait(timeout=HANG_GUARD_S))
        m.stop()

    t = threading.Thread(target=stopper, daemon=True)
    t.start()
    # a generous backstop budget so a broken stop() fails the test instead of hanging it
    r = m.run(max_instructions=2_000_000_000)
    t.join(timeout=HANG_GUARD_S)
    assert not t.is_alive()
    assert seen == [True], "the guest's output never reached the console"
    assert r.reason == "stopped", r
    assert 0 < r.instret < 2_000_000_000
    assert out.getvalue() == b"!"
    # the stop flag is consumed: the next run goes on
    r2 = m.run(max_instructions=100)
    assert r2.reason == "budget" and r2.instret == 100


def test_stop_before_run_returns_stopped_at_once(tmp_path):
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0, loop_forever=True)))
    m.stop()
    r = m.run(max_instructions=1000)
    assert r.reason == "stopped" and r.instret == 0


def test_wfi_with_nothing_to_wake_is_fatal(tmp_path):
    m = machine()
    m.load(code_elf(tmp_path, I("addi", rd=1, rs1=0, imm=1) + WFI + J_SELF))
    r = m.run(max_instructions=1000)
    assert r.reason == "fatal"
    assert "wfi" in r.message and f"{BASE + 8:#x}" in r.message.lower()


def test_wfi_with_a_timer_programmed_is_not_fatal(tmp_path):
    """wfi + mie.MTIE + mtimecmp: the CLINT wakes the hart (it then exits through HTIF)."""
    code = (I("lui", rd=10, imm=(CLINT_BASE + CLINT_MTIMECMP) >> 12) + I("addi", rd=11, rs1=0, imm=100)
            + I("sd", rs2=11, rs1=10, imm=0)                                  # mtimecmp = 100
            + I("addi", rd=12, rs1=0, imm=MIP_MTIP) + csrw(MIE, 12)             # mie.MTIE
            + WFI
            + I("auipc", rd=5, imm=1) + I("addi", rd=6, rs1=0, imm=(7 << 1) | 1)
            + I("sd", rs2=6, rs1=5, imm=-24) + I("jal", rd=0, imm=0))
    # the sd writes tohost at BASE+0x1000: auipc at BASE+24 gives BASE+0x1018, so offset -24
    m = machine()
    m.load(code_elf(tmp_path, code))
    r = m.run(max_instructions=10_000)
    assert (r.reason, r.exit_code) == ("exit", 7), r


def test_trap_loop_is_fatal_with_a_message(tmp_path):
    m = machine()
    m.load(code_elf(tmp_path, w32(0xFFFFFFFF)))
    m.hart.csr[MTVEC] = 0x1000                    # not in RAM: the handler's fetch faults again
    r = m.run(max_instructions=10_000)
    assert r.reason == "fatal" and "trap" in r.message


def test_htif_syscall_request_is_fatal(tmp_path):
    code = I("auipc", rd=5, imm=1) + I("addi", rd=6, rs1=0, imm=0x100) + I("sd", rs2=6, rs1=5, imm=0) \
        + I("jal", rd=0, imm=0)
    m = machine()
    m.load(code_elf(tmp_path, code))
    r = m.run(max_instructions=1000)
    assert r.reason == "fatal" and "tohost" in r.message


def test_load_errors(tmp_path):
    m = machine()
    with pytest.raises(LoadError):
        m.load(tmp_path / "missing.elf")
    with pytest.raises(LoadError):
        m.load(elf(tmp_path, b"not an elf at all"))


def test_raw_image(tmp_path):
    p = tmp_path / "raw.bin"
    p.write_bytes(I("addi", rd=1, rs1=0, imm=5) + I("jal", rd=0, imm=0))
    m = machine()
    img = m.load(p, raw_addr=BASE + 0x100)
    assert img.entry == BASE + 0x100 and m.hart.pc == BASE + 0x100
    r = m.run(max_instructions=10)
    assert r.reason == "budget" and int(m.hart.x[1]) == 5


def test_engine_choice_checked():
    with pytest.raises(ValueError):
        Machine(memory=1 << 20, engine="qemu")
    with pytest.raises(ValueError):
        Machine(memory=1 << 20, engine="python")      # the JIT is on in this process


def test_memory_rounded_to_pages_and_clint_present():
    m = Machine(memory=(1 << 20) + 1, console=io.BytesIO())
    assert m.hart.ram_size == (1 << 20) + 4096
    assert any(row[0] == CLINT_BASE for row in m.bus.rows())


# ------------------------------------------------------------------ the exit table (lifecycle/machine/exits.py)

def test_the_exit_table_answers_every_exit_but_region():
    # EXIT_REGION has no handler: Hart.call_loop answers it (tests/test_hart.py), so it never reaches the table
    assert set(exits.Run.EXITS) == set(S.Exit) - {S.Exit.REGION}
    assert all(callable(h) for h in exits.Run.EXITS.values())
    # the exits a debugger may hold the guest at go through the seat first, and those have answers after it
    seated = {e for e, h in exits.Run.EXITS.items() if h is exits.Run.seated}
    assert seated == {S.Exit.STOP, S.Exit.WFI, S.Exit.FATAL, S.Exit.HALT, S.Exit.BREAK, S.Exit.WATCH}
    assert set(exits.Run.ANSWERS) == {S.Exit.STOP, S.Exit.WFI, S.Exit.FATAL}


@pytest.mark.parametrize("why", [S.Exit.HALT, S.Exit.BREAK, S.Exit.WATCH])
def test_an_exit_no_device_makes_ends_the_run_as_fatal(tmp_path, why):
    """HALT is reserved and BREAK/WATCH come only from a debugger's loop: if one reaches the machine
    without a debugger to answer it, the run ends 'fatal', naming it."""
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0, loop_forever=True)))
    m.warm_up()

    class Stepper:                                 # stands in for the loop (as lifecycle/debug/trace.py does)
        def loop(self, *args):
            return int(why)
    m.stepper = Stepper()
    r = m.run(max_instructions=100)
    assert (r.reason, r.exit_code) == (Reason.FATAL, 1)
    assert r.message == f"the hart stopped with reason {why.name.lower()}"


def test_a_debugger_seat_sees_the_seated_exits_first(tmp_path):
    from lifecycle.machine.seat import DebuggerSeat
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(0, loop_forever=True)))
    seen = []

    class Seat(DebuggerSeat):
        def exit(self, why):
            seen.append(why)
            if len(seen) == 1:
                m.hart.stop_flag[0] = 0             # its own stop (as gdb's): the guest goes on
                return None
            return (Reason.DEBUG, 0, "held")
    m.debugger = Seat()
    m.stop()                                       # EXIT_STOP: the seat goes on; the second stop ends the run
    r = m.run(max_instructions=1000)
    assert seen == [S.EXIT_STOP]
    assert (r.reason, r.message) == (Reason.BUDGET, "")
    m.hart.stop_flag[0] = 1
    r = m.run(max_instructions=1000)
    assert seen == [S.EXIT_STOP, S.EXIT_STOP] and (r.reason, r.message) == (Reason.DEBUG, "held")


def test_every_end_of_a_run_is_typed(tmp_path):
    m = machine()
    m.load(elf(tmp_path, eb.htif_elf(5)))
    r = m.run()
    assert type(r.reason) is Reason and (r.reason, r.exit_code, r.reset_type) == (Reason.EXIT, 5, None)


@pytest.mark.parametrize("program, code, reset_type, message", [
    ("dev_poweroff.elf", 0, ResetType.SHUTDOWN, "the guest asked the test device for poweroff"),
    ("dev_reboot.elf", 0, ResetType.COLD_REBOOT, "the guest asked the test device for reboot"),
    ("dev_fail.elf", None, ResetType.SHUTDOWN, "the guest asked the test device for fail"),
])
def test_the_test_device_ends_the_run_with_a_reset_type(program, code, reset_type, message):
    m = Machine(memory=16 << 20, console=io.BytesIO())
    m.load(Path(__file__).parent / "guest" / "bin" / program)
    r = m.run(max_instructions=50_000_000)
    assert r.reason == Reason.EXIT and r.reset_type is reset_type and r.message.startswith(message), r
    assert code is None or r.exit_code == code


def _li(rd, v):
    """lui + addiw for a 32-bit constant."""
    hi = (v + 0x800) >> 12
    return I("lui", rd=rd, imm=hi & 0xFFFFF) + I("addiw", rd=rd, rs1=rd, imm=v - (hi << 12))


@pytest.mark.parametrize("reset_type", list(ResetType))
def test_an_sbi_system_reset_ends_the_run_with_its_reset_type(reset_type):
    m = machine()
    m.hart.write_phys(BASE, _li(A7, EXT_SRST) + _li(A6, 0) + _li(A0, reset_type) + _li(A1, 0) + ECALL + J_SELF)
    enter_supervisor(m.hart, BASE, 0, 0)
    r = m.run(max_instructions=1000)
    word = "poweroff" if reset_type is ResetType.SHUTDOWN else "reboot"
    assert (r.reason, r.exit_code, r.message) == (Reason.EXIT, 0, f"the guest asked the SBI for {word}")
    assert type(r.reset_type) is ResetType and r.reset_type is reset_type


class Register:
    """A Python device whose every register reads `value` (and records writes)."""
    kind = 0

    def __init__(self, value):
        self.value, self.writes = value, []

    def read(self, offset, size):
        return self.value

    def write(self, offset, size, value):
        self.writes.append((offset, size, value))


DEV = 0x4000_0000          # a free hole in the board's map


@pytest.mark.parametrize("mn, want", [
    ("lb", -0x79), ("lbu", 0x87), ("lh", -0x7879), ("lhu", 0x8787), ("lw", -0x7A797879), ("lwu", 0x85868787),
    ("ld", -0x7E7D7C7B7A797879)])
def test_a_device_load_is_finished_by_the_harts_completion(tmp_path, monkeypatch, mn, want):
    """The machine's MMIO handler retires a load through emu.hart.retire_mmio_load, the function
    Hart.complete_mmio_load uses too (one implementation: tests/test_hart.py checks the hart's side)."""
    calls = []
    real = exits.retire_mmio_load
    monkeypatch.setattr(exits, "retire_mmio_load", lambda st, regs, v: calls.append(v) or real(st, regs, v))
    m = machine()
    dev = Register(0x8182_8384_8586_8787)
    m.bus.add(DEV, 0x100, dev)
    m.hart.set_mmio_table(m.bus.rows())
    m.load(code_elf(tmp_path, I("lui", rd=5, imm=DEV >> 12) + I(mn, rd=6, rs1=5, imm=8)
                    + I("sd", rs2=6, rs1=5, imm=0) + J_SELF))
    r = m.run(max_instructions=3)
    assert r.reason == Reason.BUDGET and r.instret == 3     # the two accesses retired, each one step
    assert calls == [dev.value] and int(m.hart.x[6]) == want
    assert dev.writes == [(0, 8, want & ((1 << 64) - 1))] and m.hart.pc == BASE + 12
    assert m.mmio_exits == 2
