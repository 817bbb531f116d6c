"""lifecycle.machine.board.Machine: load an ELF, run it to its HTIF exit, budgets, stop(), and fatal ends."""
import io
import os
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, w32  # noqa: E402
import elf_builder as eb  # noqa: E402

from emu.loader import LoadError  # noqa: E402
from emu import state as S  # noqa: E402
from lifecycle.machine.board import Machine, RunResult  # noqa: E402

BASE = 0x8000_0000
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
    assert "(RV64ACIMSU)" in text


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
    m.hart.csr[0x305] = BASE
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
    m.load(code_elf(tmp_path, I("addi", rd=1, rs1=0, imm=1) + w32(0x10500073) + I("jal", rd=0, imm=0)))
    r = m.run(max_instructions=1000)
    assert r.reason == "fatal"
    assert "wfi" in r.message and "0x80000008" in r.message.lower()


def test_wfi_with_a_timer_programmed_is_not_fatal(tmp_path):
    """wfi + mie.MTIE + mtimecmp: the CLINT wakes the hart (it then exits through HTIF)."""
    code = (I("lui", rd=10, imm=0x2004) + I("addi", rd=11, rs1=0, imm=100)     # x10 = 0x2004000 = mtimecmp
            + I("sd", rs2=11, rs1=10, imm=0)
            + I("addi", rd=12, rs1=0, imm=0x80) + w32((0x304 << 20) | (12 << 15) | (1 << 12) | 0x73)  # mie
            + w32(0x10500073)
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
    m.hart.csr[0x305] = 0x1000
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
    assert any(row[0] == 0x0200_0000 for row in m.bus.rows())
