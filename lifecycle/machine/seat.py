"""The machine's debugger seat: the one interface through which a tool holds a running hart.

Machine.debugger is None or one DebuggerSeat. GDB (lifecycle/debug/gdbtarget.Debugger) and the
embedding hooks (lifecycle/hooks.Hooks) take the seat, one at a time: both need the hart's
breakpoint and watch tables (emu/debug.py). The machine's run loop (lifecycle/machine/exits.py)
calls loop() in place of the instruction loop (through Hart.call_loop) and exit() on the exits
a debugger may care about (Run.seated: STOP, WFI, FATAL, HALT, BREAK, WATCH); Machine.stop() calls
stop_requested() from whichever thread stops the guest. The defaults do nothing, so a
seat overrides only what it uses.
"""
from abc import ABC


class DebuggerSeat(ABC):
    def loop(self, loop, arrays, budget):
        """Run the instruction loop (emu.loop.run or a stand-in) on the state arrays. -> an EXIT_*."""
        return loop(*arrays, budget)

    def exit(self, why):
        """The loop left with `why` (EXIT_STOP, EXIT_WFI, EXIT_BREAK, EXIT_WATCH, ...).
        -> None to go on running, a (Reason, code, message) to end the run with,
        or an EXIT_* for the machine to handle as usual (Run.ANSWERS)."""
        return why

    def stop_requested(self):
        """Someone (the lifecycle, a Ctrl-C) called Machine.stop(), from any thread, before the
        stop flag is raised: a seat that holds the vcpu lets it go so the stop is served."""
