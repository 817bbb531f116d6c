"""The minimal machine: a hart, RAM, the trap table with the CLINT and a 16550A UART, and HTIF.

Machine assembles the layers (emu/ for the hart, devices/ for what sits on the
bus) and runs the hart's loop, answering its exits:
  EXIT_MMIO  -> the Python device named by the trap table reads or writes;
  EXIT_HTIF  -> HTIF tohost (console character, or the guest's exit code);
  EXIT_WFI   -> the hart waits for an interrupt nothing in this machine can raise:
                'fatal' by default; with idle_wait=True (the lifecycle's default) the
                machine sleeps until stop() (or wake()) and then returns 'stopped';
  EXIT_STOP  -> the stop flag was set (stop() from another thread).
The lifecycle layer (GuestLifecycle) is built on this class.
"""
import sys
import threading
import time
from dataclasses import dataclass

from emu import state as S
from emu.hart import Hart, jit_enabled
from emu.loader import load_elf, load_raw
from devices.bus import TrapTable
from devices.clint import Clint, CLINT_BASE
from devices.htif import Htif, HtifError
from devices.uart import Uart16550, UART_BASE, UART_SIZE

RAM_BASE = 0x8000_0000
SLICE = 1 << 40          # instructions per call into the loop when no budget is given


@dataclass
class RunResult:
    reason: str          # 'exit', 'budget', 'stopped' or 'fatal'
    exit_code: int
    instret: int         # instructions retired in this run
    wall_s: float
    message: str = ""

    @property
    def mips(self):
        return self.instret / self.wall_s / 1e6 if self.wall_s > 0 else 0.0


class Machine:
    def __init__(self, memory=128 << 20, engine="jit", console=None, idle_wait=False):
        if engine not in ("jit", "python"):
            raise ValueError(f"unknown engine {engine!r} (choose jit or python)")
        if engine == "python" and jit_enabled():
            raise ValueError("the python engine needs NUMBA_DISABLE_JIT=1 in the environment "
                             "before numba is imported (numbavm run --engine python does this)")
        if engine == "jit" and not jit_enabled():
            raise ValueError("NUMBA_DISABLE_JIT is set: use --engine python")
        memory = (int(memory) + 4095) & ~4095
        self.engine = engine
        self.console = console if console is not None else sys.stdout.buffer
        self.hart = Hart(memory, RAM_BASE)
        self.bus = TrapTable()
        self.bus.add(CLINT_BASE, Clint.size, Clint())
        self.uart = Uart16550(self.console, getattr(self.console, "read_input", None))
        self.bus.add(UART_BASE, UART_SIZE, self.uart)
        self.bus.check_ram(RAM_BASE, memory)
        self.hart.set_mmio_table(self.bus.rows())
        self.htif = Htif(self.console)
        self.image = None
        # idle_wait: on EXIT_WFI sleep (no CPU) until stop()/wake() instead of failing
        self.idle_wait = idle_wait
        self._wake = threading.Event()
        self.idling = False        # True while run() sleeps in _idle (for tests and tools)
        self.compile_s = None
        self.startup_s = None

    # --- loading
    def load(self, path, raw_addr=None):
        h = self.hart
        if raw_addr is None:
            image = load_elf(path, h.ram_base, h.ram_size)
        else:
            image = load_raw(path, raw_addr, h.ram_base, h.ram_size)
        for paddr, data, memsz in image.segments:
            h.write_phys(paddr, data + bytes(memsz - len(data)))
        h.pc = image.entry
        h.set_tohost(image.symbols.get("tohost"), image.symbols.get("fromhost"))
        self.image = image
        return image

    # --- running
    def warm_up(self):
        """Compile (or load from the cache) the loop, and say how long it took."""
        if self.compile_s is None:
            t = time.perf_counter()
            self.hart.run(0)
            self.compile_s = time.perf_counter() - t

    def stop(self):
        """Ask the loop to return (from any thread); it polls at least every 4096 instructions."""
        self.hart.stop_flag[0] = 1
        self._wake.set()

    def wake(self):
        """Wake an idle (wfi) hart: run() returns 'stopped' so the caller can look again."""
        self.stop()

    def _idle(self, h):
        """The hart sleeps in wfi and only the host can wake it: wait for the stop flag."""
        self.idling = True
        try:
            while h.stop_flag[0] == 0:
                self._wake.wait(0.05)
                self._wake.clear()
        finally:
            self.idling = False

    def run(self, max_instructions=None):
        h = self.hart
        self.warm_up()
        from lifecycle.proctime import seconds_since_process_start
        if self.startup_s is None:
            self.startup_s = seconds_since_process_start()
        start = h.instret
        # the budget is in steps (instructions retired + traps taken): see emu.loop.run
        left = None if max_instructions is None else int(max_instructions)
        t0 = time.perf_counter()

        def result(reason, code=0, message=""):
            try:
                self.console.flush()
            except (OSError, ValueError):
                pass
            return RunResult(reason, code, h.instret - start, time.perf_counter() - t0, message)

        while True:
            if left is not None and left <= 0:
                return result("budget")
            budget = SLICE if left is None else left
            before = h.instret + int(h.st[S.ST_TRAPS] + h.st[S.ST_IRQS])
            why = h.run(budget)
            if left is not None:
                left -= h.instret + int(h.st[S.ST_TRAPS] + h.st[S.ST_IRQS]) - before
            if why == S.EXIT_BUDGET:
                continue
            if why == S.EXIT_HTIF:
                try:
                    code = self.htif.handle(h)
                except HtifError as e:
                    return result("fatal", 1, str(e))
                if code is not None:
                    return result("exit", code)
            elif why == S.EXIT_MMIO:
                self._mmio(h)
                if left is not None:
                    left -= 1                    # the access retired here, outside the loop
            elif why == S.EXIT_STOP:
                h.stop_flag[0] = 0
                return result("stopped", 0, "stop requested")
            elif why == S.EXIT_WFI and self.idle_wait:
                self._idle(h)
                h.stop_flag[0] = 0
                return result("stopped", 0, f"stop requested (the guest was idle in wfi at pc 0x{h.pc:x})")
            elif why == S.EXIT_WFI:
                return result("fatal", 1, f"the guest waits (wfi at pc 0x{h.pc:x}) for an interrupt "
                                          "that nothing in this machine can raise")
            elif why == S.EXIT_FATAL:
                return result("fatal", 1, f"{S.FATAL_NAMES[int(h.st[S.ST_FATAL])]} (pc 0x{h.pc:x}, "
                                          f"mcause {int(h.csr[0x342]) & (2**64 - 1):#x})")
            else:
                return result("fatal", 1, f"the hart stopped with reason {S.EXIT_NAMES[why]}")

    def _mmio(self, h):
        st = h.st
        base, dev = self.bus.entries[int(st[S.ST_MMIO_DEV])][:2], self.bus.device(int(st[S.ST_MMIO_DEV]))
        off = int(st[S.ST_MMIO_ADDR]) - base[0]
        size = int(st[S.ST_MMIO_SIZE])
        if st[S.ST_MMIO_WRITE]:
            dev.write(off, size, int(st[S.ST_MMIO_VALUE]) & ((1 << (8 * size)) - 1))
            h.complete_mmio_store()
        else:
            h.complete_mmio_load(dev.read(off, size))
