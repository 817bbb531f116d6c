"""The machine's run loop and its answers to the loop's exits: a table, one handler per emu.state.Exit.

Machine.run (lifecycle/machine/board.py) makes a Run and calls go().  go() calls the instruction
loop for a slice of steps (Hart.call_loop, which answers EXIT_REGION itself: the hot code is
compiled, then the loop goes on; no caller sees that exit), looks the reason up in Run.EXITS and
calls its handler.  A handler returns a Next (the run goes on: CONTINUE, or POLL to look at host
input first, or RETIRED when the handler retired an instruction itself) or an End, the typed end of
the run: (Reason, exit code, message) or (Reason, exit code, message, ResetType), which go()
returns as a RunResult.

  EXIT_HTIF    on_htif: HTIF tohost (a console character, or the guest's exit code); characters
               are buffered and written when the loop stops for anything else (devices/firmware/htif.py)
  EXIT_MMIO    on_mmio: the Python device the trap table names reads or writes, and the access
               retires here (emu.hart.retire_mmio_*); a write to the SiFive test device may end the run
  EXIT_SBI     on_sbi: an ecall to the VMM's own SBI firmware (devices/firmware/sbi.py); a system
               reset ends the run
  EXIT_BUDGET  on_budget: the slice is spent: host input is looked at, then on (go() ends the run
               when the run's own budget is spent)
The other exits go to the debugger seat first (seated; lifecycle/machine/seat.py): a debugger may
hold the guest there, let it go on, end the run, or hand the exit back to be answered as usual:
  EXIT_STOP    on_stop: stop() was called (from another thread)
  EXIT_WFI     on_wfi: the hart waits and no timer can wake it from inside the loop (or the timer
               is realtime, or deterministic with host input: then the wfi is an idle point): with
               idle_wait the machine sleeps (Machine._idle), polling host input, until an interrupt
               line rises, the timer's deadline passes, or stop(); without idle_wait it is 'fatal'
  EXIT_FATAL   on_fatal: the VMM cannot go on (st[ST_FATAL]); a trap loop names the trap that began it
  EXIT_HALT, EXIT_BREAK, EXIT_WATCH: on_unexpected, 'fatal': HALT is reserved (no device uses it);
               BREAK and WATCH come only from a debugger's loop, which answers them itself.
Between calls into the loop go() polls host input (UART, virtio-console) every slice of steps and
after the exits whose handlers answer POLL (all but the device exits), and with the realtime timer
sets mtime from the host clock.  Putchar (HTIF) and a device register access (MMIO) are one exit
per guest action, so their path is kept short: st is read through a memoryview, the run's
counters are go()'s locals, and the table is a tuple indexed by the exit's number.
"""
from dataclasses import dataclass
from enum import Enum, StrEnum
from time import perf_counter

from emu import state as S
from emu.state import Exit
from emu.ints import u64, MASK64
from emu.spec import MCAUSE
from emu.hart import retire_mmio_load, retire_mmio_store
from devices.firmware.htif import HtifError
from devices.firmware.sbi import ResetType, SbiReset

SLICE = 1 << 40          # steps per call into the loop when nothing on the host needs polling
SLICE_POLL = 1 << 20     # steps per call while host input or a realtime clock needs looking at
SLICE_REALTIME = 200_000  # ~1 ms of guest time at this core's speed: the realtime clock's granularity
NO_LIMIT = 1 << 63       # the run's budget when it has none (more steps than any run takes)
_HTIF = S.EXIT_HTIF
_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF, 8: MASK64}
# the SiFive test device's requests (devices/testdev.py) as the reset the guest asked for
_TEST_RESET = {"poweroff": ResetType.SHUTDOWN, "fail": ResetType.SHUTDOWN, "reboot": ResetType.COLD_REBOOT}
_RESET_WORD = {ResetType.SHUTDOWN: "poweroff", ResetType.COLD_REBOOT: "reboot", ResetType.WARM_REBOOT: "reboot"}


class Reason(StrEnum):
    """Why Machine.run returned (RunResult.reason).  A str enum: it equals, hashes and prints as its
    value, so comparisons with the plain strings ('exit', ...) keep working."""
    EXIT = "exit"          # the guest halted (HTIF, SBI reset, test device): RunResult.exit_code
    BUDGET = "budget"      # the instruction budget is spent
    STOPPED = "stopped"    # stop() was called
    FATAL = "fatal"        # the VMM cannot go on: RunResult.message says why
    DEBUG = "debug"        # a GDB single step ended at a breakpoint/watchpoint (lifecycle/debug/gdbstub.py)


@dataclass
class RunResult:
    reason: Reason       # a Reason: EXIT, BUDGET, STOPPED, FATAL, DEBUG (equal to 'exit', 'budget', ...)
    exit_code: int
    instret: int         # instructions retired in this run
    wall_s: float
    message: str = ""
    reset_type: ResetType | None = None   # EXIT by a system reset (SBI SRST, legacy shutdown, test device)

    @property
    def mips(self):
        return self.instret / self.wall_s / 1e6 if self.wall_s > 0 else 0.0


class Next(Enum):
    """A handler's answer when the run goes on (any other answer is an End: the run's typed end)."""
    CONTINUE = "continue"  # call the loop again
    POLL = "poll"          # look at host input first: the loop stopped for more than a device request
    RETIRED = "retired"    # the handler retired the instruction itself (an MMIO access): one step more


CONTINUE, POLL, RETIRED = Next.CONTINUE, Next.POLL, Next.RETIRED


class Run:
    """One Machine.run: its budget, its slice of steps between looks at host input, and the exit table."""

    __slots__ = ("m", "hart", "stm", "regs", "htif", "entries", "test_device", "loop", "start", "t0",
                 "left", "polling", "realtime", "paced", "slice")

    def __init__(self, m, max_instructions):
        from emu.loop import run as loop
        h = self.hart = m.hart
        self.m = m
        # lifecycle/debug/trace.py stands in for the loop (--trace, --mix), and a trace shows its own steps
        if m.stepper is not None:
            loop = m.stepper.loop
            h.stop_regions()
        self.loop = h.prepare_run(loop)
        m.mmio_by_device += [0] * (len(m.bus.entries) - len(m.mmio_by_device))  # devices added late
        self.stm, self.regs, self.htif = h.stm, h.regs, m.htif
        self.entries, self.test_device = m.bus.entries, m.test_device
        self.start = h.instret
        # the budget is in steps (instructions retired + traps taken): see emu.loop.run
        self.left = NO_LIMIT if max_instructions is None else int(max_instructions)
        self.t0 = perf_counter()
        self.realtime = m.timer == "realtime"
        self.polling = m._polling()
        self.slice = SLICE_REALTIME if self.realtime else (SLICE_POLL if self.polling else SLICE)
        # deterministic timer with host input: idle wfis come to _idle (ST_TIMER_REALTIME makes the loop
        # return EXIT_WFI instead of skipping ahead), and input goes in there only, not every slice
        m.paced = self.paced = not self.realtime and m.idle_wait and m._host_input()
        h.st[S.ST_TIMER_REALTIME] = 1 if self.realtime or self.paced else 0

    def go(self):
        """Run until a handler ends the run. -> RunResult."""
        m, htif, handlers = self.m, self.htif, _HANDLERS
        call_loop, loop = self.hart.call_loop, self.loop
        polling, realtime, paced, slice_ = self.polling, self.realtime, self.paced, self.slice
        left = self.left
        poll = True
        until_poll = slice_                     # steps until host input is looked at again
        while True:
            if left <= 0:
                return self.result(Reason.BUDGET)
            if poll or until_poll <= 0:
                # host input and the realtime clock are looked at every slice of steps, not
                # after every device access (those exits must stay cheap); a guest that polls
                # a device register exits on every access, so the slice counts across exits
                if polling:
                    m.poll_devices(False if paced else None)
                if realtime:
                    m._sync_time()
                poll = False
                until_poll = slice_
            budget = until_poll if left > until_poll else left
            if htif.pending and budget > SLICE_POLL:
                budget = SLICE_POLL             # buffered HTIF output is written within a slice of steps
            why, done = call_loop(loop, budget, m.debugger)
            until_poll -= done
            left -= done
            if why != _HTIF and htif.pending:
                htif.flush()                    # anything else may write too, or wait: output first
            answer = handlers[why](self, why)
            if answer is CONTINUE:
                continue
            if answer is RETIRED:
                until_poll -= 1
                left -= 1
            elif answer is POLL:
                poll = True
            else:
                return self.result(*answer)

    def result(self, reason, code=0, message="", reset_type=None):
        self.htif.flush()                       # a failing console write is the run's error, as it was per character
        try:
            self.m.console.flush()
        except (OSError, ValueError):
            pass
        return RunResult(reason, code, self.hart.instret - self.start, perf_counter() - self.t0, message,
                         reset_type)

    # --- the device exits: one per guest action, so short
    def on_htif(self, why):
        td = perf_counter()
        try:
            code = self.htif.handle(self.hart)
        except HtifError as e:
            return (Reason.FATAL, 1, str(e))
        finally:
            self.m.device_s += perf_counter() - td
        return CONTINUE if code is None else (Reason.EXIT, code, "")

    def on_mmio(self, why):
        """Serve the Python-device access the loop exited for, and retire it."""
        td = perf_counter()
        stm, m = self.stm, self.m
        i = stm[S.ST_MMIO_DEV]
        base, _size, dev = self.entries[i]
        off = stm[S.ST_MMIO_ADDR] - base
        size = stm[S.ST_MMIO_SIZE]
        m.mmio_exits += 1
        m.mmio_by_device[i] += 1
        end = RETIRED                           # the access retires here, outside the loop
        if stm[S.ST_MMIO_WRITE]:
            dev.write(off, size, stm[S.ST_MMIO_VALUE] & _MASK[size])
            retire_mmio_store(stm)
            if dev is self.test_device and dev.halt_request is not None:
                kind, code = dev.halt_request
                dev.halt_request = None
                end = (Reason.EXIT, code if kind == "fail" else 0,
                       f"the guest asked the test device for {kind}" + (f" (code {code})" if kind == "fail" else ""),
                       _TEST_RESET[kind])
        else:
            retire_mmio_load(stm, self.regs, dev.read(off, size))
        m.device_s += perf_counter() - td
        return end

    def on_sbi(self, why):
        td = perf_counter()
        try:
            self.m.sbi.handle(self.hart)
        except SbiReset as e:
            return (Reason.EXIT, e.code, f"the guest asked the SBI for {_RESET_WORD[e.reset_type]}", e.reset_type)
        finally:
            self.m.device_s += perf_counter() - td
        return CONTINUE

    def on_budget(self, why):
        return POLL

    # --- the exits the debugger seat sees first
    def seated(self, why):
        """An exit the debugger seat sees first; whatever then goes on polls host input first."""
        seat = self.m.debugger
        if seat is not None:                    # gdb (lifecycle/debug/gdbstub.py) may hold the guest here; hooks
            told = seat.exit(why)
            if told is None:
                return POLL
            if isinstance(told, tuple):
                return told
            why = told
        return self.ANSWERS.get(why, Run.on_unexpected)(self, why)

    def on_stop(self, why):
        self.hart.stop_flag[0] = 0
        return (Reason.STOPPED, 0, "stop requested")

    def on_wfi(self, why):
        m, h = self.m, self.hart
        if not m.idle_wait:
            return (Reason.FATAL, 1, f"the guest waits (wfi at pc 0x{h.pc:x}) for an interrupt "
                                     "that nothing in this machine can raise")
        if m._idle(h):
            return POLL
        h.stop_flag[0] = 0
        return (Reason.STOPPED, 0, f"stop requested (the guest was idle in wfi at pc 0x{h.pc:x})")

    def on_fatal(self, why):
        """EXIT_FATAL as one line; a trap loop names the trap that led into it (emu/trap.py keeps the
        last two), since the loop's own trap (the handler's fetch fault) says nothing of the cause."""
        h = self.hart
        fatal = int(h.st[S.ST_FATAL])
        msg = f"{S.FATAL_NAMES[fatal]} (pc 0x{h.pc:x}, mcause {u64(h.csr[MCAUSE]):#x})"
        if fatal == S.FATAL_TRAP_LOOP:
            first = self.m.describe_trap(S.ST_TRAP_PREV)
            if first:
                msg += f"; it began with {first}"
        return (Reason.FATAL, 1, msg)

    def on_unexpected(self, why):
        return (Reason.FATAL, 1, f"the hart stopped with reason {S.EXIT_NAMES[why]}")

    # Exit -> handler.  EXIT_REGION has none: Hart.call_loop answers it, so it never reaches the machine.
    EXITS = {
        Exit.HTIF: on_htif,
        Exit.MMIO: on_mmio,
        Exit.SBI: on_sbi,
        Exit.BUDGET: on_budget,
        Exit.STOP: seated,
        Exit.WFI: seated,
        Exit.FATAL: seated,
        Exit.HALT: seated,
        Exit.BREAK: seated,
        Exit.WATCH: seated,
    }
    # what a seated exit gets after the seat handed it back (any other: on_unexpected)
    ANSWERS = {Exit.STOP: on_stop, Exit.WFI: on_wfi, Exit.FATAL: on_fatal}


# the table as go() reads it: a tuple indexed by the exit's number
_HANDLERS = tuple(Run.EXITS.get(e, Run.on_unexpected) for e in Exit)
