"""The bare-metal device programs (tests/guest/dev/), each run inside a lifecycle.machine.board.Machine
on the JIT engine: UART echo by receive interrupts through the PLIC (dev_uart_irq), CLINT timer
interrupts at 1 ms (dev_timer), the SiFive test device (dev_poweroff, dev_reboot, dev_fail) and a
polled virtio-console echo (dev_virtio_console)."""
import io
import re
import threading
import time
from pathlib import Path

import pytest

from emu.hart import jit_enabled

if not jit_enabled():
    pytest.skip("the device programs run on the JIT engine only", allow_module_level=True)

from devices.virtio.blk import BlockMode  # noqa: E402
from devices.virtio.console import VirtioConsole  # noqa: E402
from lifecycle.machine.board import Machine  # noqa: E402

BIN = Path(__file__).resolve().parent / "guest" / "bin"
# A hang guard for any one wait on the guest, not a pass criterion: generous, so a slow or loaded
# host cannot fail a test (the loop is compiled before the first test: conftest._warm_loop).
TIMEOUT = 300


class Console(io.BytesIO):
    """The machine's console: what the guest writes (UART, HTIF, virtio-console), readable
    from another thread while the guest runs."""
    def text(self):
        return self.getvalue().decode()


def machine(program, **kw):
    out = Console()
    m = Machine(memory=16 << 20, engine="jit", console=out, **kw)
    m.load(str(BIN / program))
    return m, out


class Runner:
    """Machine.run on a thread of its own, so that the test can give input while it runs."""
    def __init__(self, m, max_instructions=50_000_000):
        self.m = m
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(max_instructions,), daemon=True)
        self.thread.start()

    def _run(self, budget):
        try:
            self.result = self.m.run(max_instructions=budget)
        except BaseException as e:          # re-raised by join()
            self.error = e

    def wait_for(self, cond, what):
        """Until cond() holds (looked at every millisecond: the guest's progress signals nothing
        the test could wait on); fails at once if the run ends first, loudly at the hang guard."""
        deadline = time.monotonic() + TIMEOUT
        tick = threading.Event()                # never set: a timed wait that holds no lock
        while not cond():
            assert self.thread.is_alive() or cond(), f"the run ended ({self.result}) before {what}"
            assert time.monotonic() < deadline, f"no {what} after {TIMEOUT} s: the guest hangs"
            tick.wait(0.001)

    def join(self):
        self.thread.join(TIMEOUT)
        if self.thread.is_alive():
            self.m.stop()
            self.thread.join(TIMEOUT)
            pytest.fail("the guest did not finish")
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self):
        if self.thread.is_alive():
            self.m.stop()
            self.thread.join(TIMEOUT)


# ------------------------------------------------------------------ dev_uart_irq

def _uart_irq_session(chunks):
    """Run dev_uart_irq with idle_wait; give it each chunk only once it sleeps in wfi and has
    echoed everything before. -> (RunResult, console text)."""
    m, out = machine("dev_uart_irq.elf", idle_wait=True)
    run = Runner(m)
    try:
        expect = "uart irq ready\n"
        for chunk in chunks:
            run.wait_for(lambda: out.text() == expect and m.idling, f"the echo {expect!r} and wfi")
            m.uart.feed(chunk.encode())
            expect += chunk.split("q")[0].upper()
        r = run.join()
    finally:
        run.stop()
    return r, out.text()


def test_uart_irq_echoes_lines_received_by_interrupt():
    r, text = _uart_irq_session(["hello, World\n", "risc-v 64\n", "q"])
    assert (r.reason, r.exit_code) == ("exit", 0), (r, text)
    # one interrupt per burst of input: the guest drained the FIFO in the handler each time
    assert text == "uart irq ready\nHELLO, WORLD\nRISC-V 64\ninterrupts 3 claims 3 spurious 0 lines 2\n"


def test_uart_irq_drains_the_fifo_in_one_interrupt():
    r, text = _uart_irq_session(["abc\ndef\nghi q and the rest is not echoed"])
    assert (r.reason, r.exit_code) == ("exit", 0), (r, text)
    assert text == "uart irq ready\nABC\nDEF\nGHI interrupts 1 claims 1 spurious 0 lines 2\n"


def test_uart_irq_waits_for_the_interrupt():
    # no input and no idle_wait: the guest sleeps in wfi (it does not poll LSR), and nothing
    # in the machine can wake it
    m, out = machine("dev_uart_irq.elf")
    r = m.run(max_instructions=10_000_000)
    assert r.reason == "fatal" and "wfi" in r.message, r
    assert out.text() == "uart irq ready\n"
    assert r.instret < 10_000


def test_uart_irq_without_idle_wait_when_input_is_there_before_the_interrupt_is_enabled():
    # input the UART already holds once the FIFOs are set up: the interrupt is pending as soon
    # as IER.ERBFI and mie.MEIE are set, so the guest never sleeps
    class Typed(Console):
        def __init__(self):
            super().__init__()
            self.left = [b"xyz\n", b"q"]

        def read_input(self):               # the UART asks when its FIFO is empty
            return self.left.pop(0) if self.left else b""
    out = Typed()
    m = Machine(memory=16 << 20, engine="jit", console=out)
    m.load(str(BIN / "dev_uart_irq.elf"))
    r = m.run(max_instructions=10_000_000)
    assert (r.reason, r.exit_code) == ("exit", 0), (r, out.text())
    text = out.text()
    assert text.startswith("uart irq ready\nXYZ\ninterrupts "), text
    n = int(re.search(r"interrupts (\d+) claims (\d+) spurious 0 lines 1\n$", text).group(1))
    assert n >= 1


# ------------------------------------------------------------------ dev_timer

PERIOD = 10_000


def _timer_lines(text):
    rows = re.findall(r"^  (\d+): \+(\d+) late (-?\d+) interval (\d+)$", text, re.M)
    return [tuple(int(v) for v in row) for row in rows]


def test_timer_takes_20_interrupts_at_1ms():
    m, out = machine("dev_timer.elf")
    r = m.run(max_instructions=10_000_000)
    text = out.text()
    assert (r.reason, r.exit_code) == ("exit", 0), (r, text)
    assert text.startswith("timer: 20 interrupts, period 10000 ticks\n")
    assert text.endswith("timer: OK\n")
    rows = _timer_lines(text)
    assert [row[0] for row in rows] == list(range(20))
    for i, since_start, late, interval in rows:
        assert 0 <= late < PERIOD                                # never early, no period lost
        assert since_start == (i + 1) * PERIOD + late
        assert PERIOD <= interval < 2 * PERIOD, rows
    # the guest slept in wfi: far fewer instructions than 200000 ticks * 10 instructions/tick
    assert r.instret < 100_000


def test_timer_is_deterministic():
    runs = []
    for _ in range(2):
        m, out = machine("dev_timer.elf")
        r = m.run(max_instructions=10_000_000)
        assert (r.reason, r.exit_code) == ("exit", 0), r
        runs.append((out.getvalue(), r.instret))
    assert runs[0] == runs[1]


def test_timer_under_the_realtime_clock():
    # mtime follows the host clock: 20 periods of 1 ms take at least 20 ms of wall time
    m, out = machine("dev_timer.elf", timer="realtime", idle_wait=True)
    t = time.perf_counter()
    r = m.run(max_instructions=50_000_000)
    wall = time.perf_counter() - t
    text = out.text()
    assert (r.reason, r.exit_code) == ("exit", 0), (r, text)
    rows = _timer_lines(text)
    assert text.endswith("timer: OK\n") and len(rows) == 20
    assert all(late >= 0 for _, _, late, _ in rows)      # how late depends on the host
    assert wall >= 0.019


# ------------------------------------------------------------------ dev_poweroff / dev_reboot / dev_fail

@pytest.mark.parametrize("program, line, code, kind", [
    ("dev_poweroff", "testdev: poweroff", 0, "poweroff"),
    ("dev_reboot", "testdev: reboot", 0, "reboot"),
    ("dev_fail", "testdev: fail 7", 7, "fail (code 7)"),
])
def test_test_device_ends_the_run(program, line, code, kind):
    m, out = machine(program + ".elf")
    r = m.run(max_instructions=1_000_000)          # the program spins forever after the write
    assert (r.reason, r.exit_code) == ("exit", code), r
    assert r.message == f"the guest asked the test device for {kind}"
    assert out.text() == line + "\n"
    assert r.instret < 1000


# ------------------------------------------------------------------ dev_virtio_console

GREETING = "hello from virtio-console\n"


def _console_backend(m):
    found = [d.backend for d in m.virtio if isinstance(d.backend, VirtioConsole)]
    assert len(found) == 1
    return found[0]


def test_virtio_console_echo_with_input_given_before_the_run():
    m, out = machine("dev_virtio_console.elf", virtio_console=True)
    line = "a line longer than the guest's four 16-byte buffers, so that they are posted again\n"
    _console_backend(m).feed((line + "qignored").encode())
    r = m.run(max_instructions=10_000_000)
    assert (r.reason, r.exit_code) == ("exit", 0), (r, out.text())
    assert out.text() == GREETING + line.upper() + f"virtio-console: {len(line)} bytes echoed\n"


def test_virtio_console_echo_while_running(tmp_path):
    # behind a disk and an entropy device: the guest finds the console by scanning the slots
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    m, out = machine("dev_virtio_console.elf", virtio_console=True, virtio_rng=True,
                     block_devices=[(str(disk), BlockMode.READ_ONLY)])
    backend = _console_backend(m)
    assert [d.backend for d in m.virtio].index(backend) == 2
    run = Runner(m, max_instructions=2_000_000_000)
    try:
        run.wait_for(lambda: out.text() == GREETING, "the greeting")
        backend.feed(b"hello, console\n")
        run.wait_for(lambda: out.text() == GREETING + "HELLO, CONSOLE\n", "the first echo")
        backend.feed(b"2nd: abc xyz\nq")
        r = run.join()
    finally:
        run.stop()
    assert (r.reason, r.exit_code) == ("exit", 0), (r, out.text())
    assert out.text() == GREETING + "HELLO, CONSOLE\n2ND: ABC XYZ\nvirtio-console: 28 bytes echoed\n"


def test_virtio_console_program_needs_the_device():
    m, out = machine("dev_virtio_console.elf", virtio_rng=True)
    r = m.run(max_instructions=1_000_000)
    assert (r.reason, r.exit_code) == ("exit", 2), r
    assert out.text() == "virtio-console: no device\n"
