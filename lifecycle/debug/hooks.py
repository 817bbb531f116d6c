"""Hooks: Python callbacks on guest events, in the style of Unicorn's (Guest.hook_add / hook_del).

    from lifecycle.debug.hooks import HOOK_CODE, HOOK_MEM_READ, HOOK_MEM_WRITE, HOOK_TRAP
    h = guest.hook_add(HOOK_CODE, on_code, begin=0x8000_0100)             # one address
    guest.hook_add(HOOK_CODE, on_code, begin=lo, end=hi)                  # every pc in [lo, hi]
    guest.hook_add(HOOK_MEM_WRITE, on_store, begin=pa, end=pa + 7)        # stores touching [pa, pa + 7]
    guest.hook_add(HOOK_TRAP, on_trap)                                    # every trap and interrupt taken
    guest.hook_del(h)

The kinds have Unicorn's numbers (UC_HOOK_INTR, UC_HOOK_CODE, UC_HOOK_MEM_READ/WRITE);
HOOK_MEM_READ | HOOK_MEM_WRITE hooks both. Ranges are inclusive, as Unicorn's: begin
alone is one address (one byte), begin=None (with end=None) is everything: every pc
for HOOK_CODE, all of RAM but HTIF tohost/fromhost for the memory kinds. HOOK_TRAP
takes no range. Callbacks run in the vcpu thread, with the hart stopped between two
instructions, in the order the hooks were added:

    HOOK_CODE       callback(guest, pc)           before the instruction at pc executes
    HOOK_MEM_READ   callback(guest, HOOK_MEM_READ, paddr, size, value)
                                                  before the load; value = what it will read
    HOOK_MEM_WRITE  callback(guest, HOOK_MEM_WRITE, paddr, size, value)
                                                  after the store; value = what it wrote
    HOOK_TRAP       callback(guest, cause, tval, epc)
                                                  the hart has taken a trap or an interrupt
                                                  and stands at the handler's first instruction;
                                                  cause = mcause or scause (bit 63: interrupt),
                                                  tval/epc = mtval/mepc or stval/sepc, as the
                                                  privilege the trap went to says

pc is the virtual pc (as the guest fetches it); memory hooks see physical addresses,
as GDB's watchpoints with `monitor phys on` do: the loads and stores of every
privilege level and translation that reach those bytes, not device DMA or host
writes. An AMO is a read (before) and a write (after), LR a read, SC a write when it
succeeds; a misaligned store is reported as one byte (the loop stores it byte by
byte: the last of its bytes in the range). A callback may use the
Guest: registers(), set_registers() (a new pc: the run goes on there, and the
instruction at the old pc does not execute), read_memory(), write_memory(),
hook_add(), hook_del(), current_hook (the handle of the hook being called: a hook
added to a running guest can fire before hook_add() has returned its handle to the
adding thread, so a callback that deletes itself does g.hook_del(g.current_hook)),
and stop(), which ends the run the way GuestLifecycle.stop() does (Unicorn's
emu_stop): the instruction a code hook stands at does not execute, and run() raises
CONTROLLER_FORCED_HALT. An exception in a callback ends the run too
(VCPU_RUNTIME_FAILURE, with a HookError naming the hook).

How they run (the machinery of the GDB stub, emu/debug.py)
  Hooks takes the machine's debugger seat (Machine.debugger) while any hook is
  installed, as lifecycle/debug/gdbtarget.Debugger does while GDB is attached; with no hook
  it leaves the seat and Run (lifecycle/machine/exits.py) calls the loop itself, exactly as before.
  One of the two at a time: hook_add() while GDB is served (Guest.serve_gdb) and
  serve_gdb() while hooks are installed raise DebuggerBusyError.
  * HOOK_CODE at an address: a breakpoint (checked on decode-cache misses; the
    address is never cached). The loop stops before the instruction, the callbacks
    run, and the hook steps over it with the table's step entry (emu/debug.py
    BP_STEP: one word written, no cache flush). Cost: nothing where the address is
    not executed but one compare per decode miss; two calls into the loop and the
    Python callbacks per hit (bench: the "hooks" measurement in docs/performance.md).
    At most DBG_MAX_BP (64) table entries: one per address, two per range, one for
    the step entry, two for trap hooks.
  * HOOK_CODE on a range: a range entry (BP_RANGE): no instruction in it is cached,
    so the loop stops at every instruction inside the range, as a single-stepper
    would, and runs at full speed outside it (one more compare per decode miss).
  * HOOK_TRAP: emu/trap.py writes each trap's handler pc into the table (BP_TRAP),
    so the loop stops before the handler's first instruction, whatever mtvec/stvec
    hold or become, direct or vectored; a stop there counts as a trap only if
    st[ST_TRAPS] + st[ST_IRQS] moved. Ecalls that the VMM's own SBI answers and HTIF
    are not traps.
  * HOOK_MEM_WRITE: a write watch range (PF_WATCH pages, emu/debug.py): stores to
    other bytes of those 4 KiB pages take the store slow path; a hit leaves the loop
    after the store. HOOK_MEM_READ: a read watch range, and the checked loop
    (emu/debugloop.run_checked) while any is set: every instruction is looked at
    before it runs, about 10x slower, as GDB's read watchpoints. At most
    DBG_MAX_WATCH (16) ranges.
  Native regions (emu/regions/) stay on under code and write hooks: they end before
  every hooked pc and range (emu/debug.region_stops), so hooks fire exactly as in the
  loop. Trap hooks and read hooks turn them off (st[ST_REGION_BLOCKED]): a trap
  handler's pc is only known when the trap is taken, and the checked loop must see
  every instruction.

Limits: hooks are in-process (a RemoteGuest of lifecycle/control/manager.py has none); code
hooks match the virtual pc, so code reached through a second mapping of the same
physical page is missed once the other mapping has it in the decode cache (as GDB's
breakpoints are); a trap is missed if its handler's first instruction ran as
ordinary code, and was cached, before the first trap went there
(Hooks.missed_traps counts those a later trap reveals); a code hook fires again for an instruction that an
interrupt pre-empted (the instruction did not run); a code hook outside RAM (a
kernel's virtual address) makes the code that runs without paging decode on every
execution (slower), as GDB's breakpoints there do; with --trace-from ADDR the
tracer single-steps to ADDR instead of using a breakpoint while hooks are installed.
"""
from __future__ import annotations

import threading
import weakref

from emu.ints import MASK64 as M64
from lifecycle.machine.seat import DebuggerSeat

HOOK_TRAP = 1 << 0           # UC_HOOK_INTR
HOOK_CODE = 1 << 2           # UC_HOOK_CODE
HOOK_MEM_READ = 1 << 10      # UC_HOOK_MEM_READ
HOOK_MEM_WRITE = 1 << 11     # UC_HOOK_MEM_WRITE
KIND_NAMES = {HOOK_TRAP: "HOOK_TRAP", HOOK_CODE: "HOOK_CODE", HOOK_MEM_READ: "HOOK_MEM_READ",
              HOOK_MEM_WRITE: "HOOK_MEM_WRITE", HOOK_MEM_READ | HOOK_MEM_WRITE: "HOOK_MEM_READ | HOOK_MEM_WRITE"}


class DebuggerBusyError(RuntimeError):
    """Hooks and GDB both want the hart's breakpoint table: only one of them at a time."""


class HookError(RuntimeError):
    """A hook's callback raised (the original exception is the __cause__)."""


class Hook:
    __slots__ = ("handle", "kind", "callback", "begin", "end", "guest")

    def __init__(self, kind, callback, begin, end, guest):
        self.handle = None
        self.kind, self.callback, self.begin, self.end, self.guest = kind, callback, begin, end, guest

    def __repr__(self):
        where = "" if self.begin is None else f" 0x{self.begin:x}" + ("" if self.end == self.begin else f"..0x{self.end:x}")
        return f"<hook {self.handle} {KIND_NAMES[self.kind]}{where}>"


def _addr(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        try:
            v = v.__index__()
        except AttributeError:
            raise ValueError(f"{what} {v!r}: must be an int address") from None
    if not 0 <= v <= M64:
        raise ValueError(f"{what} 0x{v:x}: not a 64-bit address" if v >= 0 else f"{what} {v}: negative")
    return int(v)


def make_hook(kind, callback, begin=None, end=None, guest=None):
    """Check hook_add's arguments (all but what needs the machine). -> a Hook; ValueError/TypeError."""
    if kind not in KIND_NAMES:
        raise ValueError(f"unknown hook kind {kind!r}: use HOOK_CODE, HOOK_MEM_READ, HOOK_MEM_WRITE "
                         "(or both, |-ed) or HOOK_TRAP from lifecycle.debug.hooks")
    if not callable(callback):
        raise TypeError(f"the hook's callback must be callable, not {type(callback).__name__}")
    if kind == HOOK_TRAP:
        if begin is not None or end is not None:
            raise ValueError("HOOK_TRAP takes no begin/end: it sees every trap and interrupt")
        return Hook(kind, callback, None, None, guest)
    if begin is None:
        if end is not None:
            raise ValueError("end without begin")
        return Hook(kind, callback, None, None, guest)
    begin = _addr(begin, "begin")
    end = begin if end is None else _addr(end, "end")
    if end < begin:
        raise ValueError(f"end 0x{end:x} < begin 0x{begin:x} (the range is inclusive: end=begin is one address)")
    return Hook(kind, callback, begin, end, guest)


class Hooks(DebuggerSeat):
    """The hooks of one Machine. The run loop (Run, lifecycle/machine/exits.py) calls loop() and exit() while they hold the debugger seat."""

    def __init__(self, machine):
        from emu import state as S
        from emu import debug as D
        self.S, self.D = S, D
        # the machine holds this object (Machine.debugger): a weak reference back, so that a torn-down
        # machine is freed at once, not when the garbage collector finds the cycle
        self._machine = weakref.ref(machine)
        self.h = machine.hart
        self.hooks = {}              # handle -> Hook, in the order they were added
        self._next = 1
        self.attached = False
        self._code = None            # what the breakpoint table holds: (pcs, ranges, traps)
        self._code_on = False        # the table is ours (it has the step entry)
        self._traps_on = False
        self.read_watches = False
        self._step_pc = None         # the stopped-at pc to step over on the next loop() call
        self._reads_done = False     # ... whose read hooks have run already
        self._seen = 0               # st[ST_TRAPS] + st[ST_IRQS] when the last trap was reported
        self.callbacks = 0           # callbacks run
        self.stops = 0               # loop exits taken for hooks (breakpoints and watch hits)
        self.missed_traps = 0
        self._current = None         # (thread id, handle) while a callback runs

    @property
    def m(self):
        return self._machine()

    # ---- the table
    def add(self, hook):
        other = self.m.debugger
        if other is not None and other is not self:
            raise DebuggerBusyError("GDB is attached to this VMM: hooks and GDB share the hart's breakpoint "
                                    "and watch tables, one at a time (detach GDB first)")
        hook.handle = self._next
        self.hooks[hook.handle] = hook
        try:
            self._install()
        except BaseException:
            del self.hooks[hook.handle]
            self._install()
            raise
        self._next += 1
        return hook.handle

    def remove(self, handle):
        if handle not in self.hooks:
            raise ValueError(f"no hook with handle {handle!r} (removed already?)")
        del self.hooks[handle]
        self._install()

    def _mem_spans(self, hk):
        """Physical [lo, hi) ranges of a memory hook."""
        if hk.begin is not None:
            return [(hk.begin, hk.end + 1)]
        h = self.h
        lo, hi = h.ram_base, h.ram_base + h.ram_size
        tohost = int(h.st[self.S.ST_TOHOST])
        if lo <= tohost < hi:
            return [(a, b) for a, b in ((lo, tohost), (tohost + 16, hi)) if a < b]
        return [(lo, hi)]

    def _install(self):
        S, D, h = self.S, self.D, self.h
        pcs, ranges, traps, watches = set(), set(), False, {}
        for hk in self.hooks.values():
            if hk.kind == HOOK_CODE:
                if hk.begin is None:
                    ranges.add((0, M64))
                elif hk.begin == hk.end:
                    pcs.add(hk.begin)
                else:
                    ranges.add((hk.begin, hk.end))
            elif hk.kind == HOOK_TRAP:
                traps = True
            else:
                bits = (D.WATCH_READ if hk.kind & HOOK_MEM_READ else 0) | (D.WATCH_WRITE if hk.kind & HOOK_MEM_WRITE else 0)
                for span in self._mem_spans(hk):
                    watches[span] = watches.get(span, 0) | bits
        code = (tuple(sorted(pcs)), tuple(sorted(ranges)), traps)
        if code != self._code:
            on = bool(pcs or ranges or traps)
            if on:
                try:
                    D.set_breakpoints(h, pcs, sorted(ranges), hooks=True, traps=traps)
                except ValueError as e:
                    raise ValueError(f"too many code hooks: {e} (one entry per address, two per range, one "
                                     "to step with, two for trap hooks)") from None
            elif self._code_on:
                D.set_breakpoints(h, ())
            self._code, self._code_on = code, on
            if traps and not self._traps_on:
                self._seen = int(h.st[S.ST_TRAPS]) + int(h.st[S.ST_IRQS])
            self._traps_on = traps
        try:
            D.set_watches(h, [(lo, hi, k) for (lo, hi), k in sorted(watches.items())])
        except ValueError as e:
            raise ValueError(f"memory hooks (physical addresses, in RAM): {e}") from None
        self.read_watches = any(k & D.WATCH_READ for k in watches.values())
        if self.hooks and not self.attached:
            self.m.debugger = self
            self.attached = True
        elif not self.hooks and self.attached:
            h.st[S.ST_DBG_HIT] = 0
            self._step_pc = None
            self.attached = False
            if self.m.debugger is self:
                self.m.debugger = None

    # ---- the debugger seat (Run, lifecycle/machine/exits.py; vcpu thread)
    def loop(self, loop, arrays, budget):
        S, st = self.S, self.h.st
        if self._step_pc is not None:
            if int(st[S.ST_PC]) != self._step_pc:
                self._step_pc = None                 # the host moved the pc meanwhile
            else:
                s0 = self.h.steps
                why = self._step(loop, arrays)
                done = self.h.steps - s0
                if done or why == S.EXIT_MMIO:
                    self._step_pc = None
                if why != S.EXIT_BUDGET:
                    return why
                budget -= done
                if budget <= 0:
                    return S.EXIT_BUDGET
        if self.read_watches:
            from emu.debugloop import run_checked
            return self.D.debug_exit(st, run_checked(*arrays, budget))
        return self.D.debug_exit(st, loop(*arrays, budget))

    def _step(self, loop, arrays):
        """One step at the pc the loop stopped at, without stopping there again."""
        S, D, st = self.S, self.D, self.h.st
        slot = S.ST_DBG_BP + D.SLOT_STEP
        if self._code_on:
            st[slot] = self._step_pc
        try:
            if self.read_watches and not self._reads_done:
                from emu.debugloop import reads_next
                if reads_next(*arrays[:6]):
                    return S.EXIT_WATCH              # its load hits a read hook: that first
            return D.debug_exit(st, loop(*arrays, 1))
        finally:
            if self._code_on:
                st[slot] = D.NO_PC

    def exit(self, why):
        """-> None (go on), or the exit for Run (lifecycle/machine/exits.py) to handle as usual."""
        S = self.S
        if why == S.EXIT_BREAK:
            self.stops += 1
            self._at_break()
            return None
        if why == S.EXIT_WATCH:
            self.stops += 1
            self._at_watch()
            return None
        return why

    def _call(self, hk, *args):
        self.callbacks += 1
        self._current = (threading.get_ident(), hk.handle)
        try:
            hk.callback(hk.guest, *args)
        except Exception as e:
            raise HookError(f"the callback of {hk!r} raised {type(e).__name__}: {e}") from e
        finally:
            self._current = None

    def current(self):
        """The handle of the hook whose callback runs now in this thread, or None (Guest.current_hook)."""
        cur = self._current
        return cur[1] if cur is not None and cur[0] == threading.get_ident() else None

    def _live(self):
        return list(self.hooks.values())          # a callback may add or delete hooks meanwhile

    def _at_break(self):
        S, D, h = self.S, self.D, self.h
        st = h.st
        pc = int(st[S.ST_PC])
        upc = pc & M64
        if self._traps_on and pc in (int(st[S.ST_DBG_BP + D.SLOT_TRAP_M]), int(st[S.ST_DBG_BP + D.SLOT_TRAP_S])):
            now = int(st[S.ST_TRAPS]) + int(st[S.ST_IRQS])
            if now != self._seen:                    # a trap, not a jump to a handler
                self.missed_traps += max(0, now - self._seen - 1)
                self._seen = now
                from emu.spec import MCAUSE, MTVAL, MEPC, SCAUSE, STVAL, SEPC
                c = (SCAUSE, STVAL, SEPC) if h.priv == S.PRV_S else (MCAUSE, MTVAL, MEPC)
                cause, tval, epc = (int(h.csr[i]) & M64 for i in c)
                for hk in self._live():
                    if hk.kind == HOOK_TRAP and hk.handle in self.hooks:
                        self._call(hk, cause, tval, epc)
        for hk in self._live():
            if (hk.kind == HOOK_CODE and hk.handle in self.hooks
                    and (hk.begin is None or hk.begin <= upc <= hk.end)):
                self._call(hk, upc)
        self._resume_at(pc, reads_done=False)

    def _at_watch(self):
        S, D, h = self.S, self.D, self.h
        st = h.st
        pc = int(st[S.ST_PC])
        hit = D.take_access(st)
        if hit is None:
            return
        kind, pa, size = hit
        value = int.from_bytes(h.read_phys(pa, size), "little")
        want = HOOK_MEM_READ if kind & D.WATCH_READ else HOOK_MEM_WRITE
        for hk in self._live():
            if hk.kind & want and hk.handle in self.hooks:
                if hk.begin is None or (hk.begin < pa + size and pa <= hk.end):
                    self._call(hk, want, pa, size, value)
        if want == HOOK_MEM_READ:
            self._resume_at(pc, reads_done=True)     # the load has not run yet

    def _resume_at(self, pc, reads_done):
        """After the callbacks: step over the instruction at pc next, unless they moved the pc."""
        if self.attached and int(self.h.st[self.S.ST_PC]) == pc:
            self._step_pc = pc
            self._reads_done = reads_done
        else:
            self._step_pc = None
