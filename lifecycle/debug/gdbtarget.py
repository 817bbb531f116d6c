"""GDB's target: the hart as GDB sees it, and GDB's hold on the vcpu thread (class Debugger).

What GDB sees of the hart
  * registers, numbered as the target description says (target_xml(), served by
    qXfer:features:read:target.xml): org.gnu.gdb.riscv.cpu (x0-x31, pc: REG_PC; the `g`
    packet), org.gnu.gdb.riscv.csr (every CSR of the hart, by its spec name, from REG_CSR0 in
    CSRS order; written with the CSR's WARL rules, read-only ones refused),
    org.gnu.gdb.riscv.virtual (`priv` at REG_PRIV: 0 U, 1 S, 3 M; writable) and
    org.gnu.gdb.riscv.fpu (f0-f31 from REG_F0: `info float`, `p $fa0`);
  * pc writes with bit 0 set are refused (pc_ok): with the C extension (misa is fixed, C
    always on) pc bit 0 is always zero, and the hart never masks a pc it is given;
  * memory as the guest sees it at its current privilege level: through Sv39 when the hart
    fetches through it (outside M-mode with satp = Sv39), with a side-effect-free walk that
    ignores permissions (emu/debug.py, debug_translate), or physical addresses (`phys`).
    Only RAM is reachable: device registers are never read, since reads have side effects;
  * breakpoints (Z0/Z1: both are checked when an instruction is decoded, see emu/debug.py;
    GDB's memory is never patched) and watchpoints (Z2 write, Z3 read, Z4 access) in the
    hart's tables, at most DBG_MAX_BP and DBG_MAX_WATCH (emu/state.py). A hardware breakpoint
    (Z1) and each watchpoint take one of the hart's 4 Sdtrig triggers, as on real hardware
    (emu/trigger.py, debugger_trigger: dmode = 1, action 1 = stop for the debugger, m, s and u;
    execute for Z1, store for Z2, load for Z3, both for Z4; tdata2 = the address GDB gave, match
    equal for one byte, else NAPOT on the smallest naturally aligned power-of-two block holding
    the range): the guest sees them in use and cannot change them, and Z1-Z4 answer E0c when
    none is free (hbreak and watch share them). For a watchpoint the watch table does the
    matching, not the trigger (ranges of any length, physical, write watches at full speed, no
    checked loop for them), so GDB and the trigger see the same accesses.

How the vcpu is held (class Debugger, the machine's debugger seat: lifecycle/machine/seat.py)
  Attaching sets machine.debugger. The machine's run loop (lifecycle/machine/exits.py, Run) then calls debugger.loop()
  instead of the loop. It runs emu/debugloop.run_checked while a read
  watchpoint is set, and reads EXIT_BREAK and EXIT_WATCH off the loop's exits
  with emu.debug.debug_exit. For EXIT_STOP, EXIT_WFI, EXIT_BREAK and
  EXIT_WATCH, Run (lifecycle/machine/exits.py) calls debugger.exit(). exit() parks the vcpu thread on a condition variable
  while GDB has the guest stopped. The GDB thread reads and writes the state
  arrays only while the vcpu is parked. Steps run in the vcpu thread as nested
  Machine.run(1) calls, so MMIO, SBI and HTIF exits are answered as usual.
  Other stops (GuestLifecycle.stop(), Guest memory access) still work while GDB
  holds the guest. Machine.stop() tells the debugger (stop_requested, the seat's
  interface), which leaves the park. The lifecycle does its work, and the next loop call returns at
  once, so the vcpu parks again.
  Watch semantics (emu/debug.py): a store is reported after it is done, so
  GDB's step-over of a non-steppable RISC-V watchpoint is answered without
  running anything. A read is reported before the load.
  A stop is a tuple the packet layer (lifecycle/debug/gdbstub.py) turns into a stop reply:
  ("break", pc), ("watch", name, address, after the store), ("signal", GDB signal), ("step",).

The packets are lifecycle/debug/gdbstub.py's, the bytes on the wire lifecycle/debug/rsp.py's.
"""
from __future__ import annotations

import threading
import time

from lifecycle.machine.seat import DebuggerSeat
from emu.ints import s64, MASK64
from emu.spec import (REG_NAMES, FREG_NAMES, F_BASE, CSR_NAMES as SPEC_CSR_NAMES, PMPCFG0, N_PMPCFG, MHPMEVENT3, MHPMCOUNTER3, HPMCOUNTER3,
                      N_HPM, MCYCLE, MINSTRET, CSR_ACCESS_SHIFT, CSR_READ_ONLY, PAGE_SIZE, PRV_U, PRV_S, PRV_M,
                      MC6_EXECUTE, MC6_LOAD, MC6_STORE)

SIGINT, SIGTRAP, SIGABRT, SIGKILL = 2, 5, 6, 9     # GDB's signal numbers (gdb/signals.def), as stop replies carry them
STOP_DEBUG = 2                 # the stop-flag value the debugger sets (lifecycle stop() sets 1)
N_GPR = len(REG_NAMES)         # remote register numbers: x0-x31, pc, the CSRs in CSRS order, priv
REG_PC = N_GPR
X_NAMES = [("fp" if n == "s0" else n) for n in REG_NAMES]     # GDB's riscv target calls x8 fp
X_TYPES = {"ra": "code_ptr", "sp": "data_ptr", "gp": "data_ptr", "tp": "data_ptr"}


def _has_csr(n):
    """Every CSR this hart has (emu/csr.py csr_read), but the hard-wired-zero hpm counters."""
    if any(first <= n < first + N_HPM for first in (MHPMEVENT3, MHPMCOUNTER3, HPMCOUNTER3)):
        return False
    return not (PMPCFG0 <= n < PMPCFG0 + N_PMPCFG and n & 1)       # odd pmpcfg CSRs do not exist on RV64


CSR_NAMES = {n: name for n, name in SPEC_CSR_NAMES.items() if _has_csr(n)}
CSRS = sorted(CSR_NAMES)
REG_CSR0 = REG_PC + 1
REG_PRIV = REG_CSR0 + len(CSRS)
REG_F0 = REG_PRIV + 1          # f0-f31 (their ABI names, as GDB's riscv target shows them), after priv
Z_SW_BREAK, Z_HW_BREAK, Z_WRITE_WATCH, Z_READ_WATCH, Z_ACCESS_WATCH = 0, 1, 2, 3, 4    # the RSP's Z/z types
WATCH_NAMES = {Z_WRITE_WATCH: "watch", Z_READ_WATCH: "rwatch", Z_ACCESS_WATCH: "awatch"}     # as stop replies name them
TRIGGER_KINDS = {Z_HW_BREAK: MC6_EXECUTE, Z_WRITE_WATCH: MC6_STORE, Z_READ_WATCH: MC6_LOAD,       # the mcontrol6 bits of
                 Z_ACCESS_WATCH: MC6_LOAD | MC6_STORE}                                            # each Z type's trigger
WATCH_SET, WATCH_FULL, WATCH_REFUSED = "set", "full", "refused"     # Debugger.set_watch's answers


def pc_ok(v):
    """Can a debugger set pc to v? Not with bit 0 set: with C, pc is always even (jalr clears bit 0;
    IALIGN=16). The hart would otherwise fetch at an odd pc. misa is fixed here, C always on."""
    return int(v) & 1 == 0


def target_xml() -> str:
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', '<target version="1.0">',
             "<architecture>riscv:rv64</architecture>", '<feature name="org.gnu.gdb.riscv.cpu">']
    for i, n in enumerate(X_NAMES):
        lines.append(f'  <reg name="{n}" bitsize="64" type="{X_TYPES.get(n, "int")}" regnum="{i}"/>')
    lines += [f'  <reg name="pc" bitsize="64" type="code_ptr" regnum="{REG_PC}"/>', "</feature>",
              '<feature name="org.gnu.gdb.riscv.csr">']
    for k, n in enumerate(CSRS):
        lines.append(f'  <reg name="{CSR_NAMES[n]}" bitsize="64" type="int" regnum="{REG_CSR0 + k}" group="csr"/>')
    lines += ["</feature>", '<feature name="org.gnu.gdb.riscv.virtual">',
              f'  <reg name="priv" bitsize="64" type="int" regnum="{REG_PRIV}"/>', "</feature>",
              # F/D: 64-bit f registers holding a double or a NaN-boxed single (QEMU's riscv-64bit-fpu.xml);
              # fflags, frm and fcsr are among the CSRs above, where GDB finds them too
              '<feature name="org.gnu.gdb.riscv.fpu">', '  <union id="riscv_double">',
              '    <field name="float" type="ieee_single"/>', '    <field name="double" type="ieee_double"/>',
              '  </union>']
    for i, n in enumerate(FREG_NAMES):
        lines.append(f'  <reg name="{n}" bitsize="64" type="riscv_double" regnum="{REG_F0 + i}"/>')
    lines += ["</feature>", "</target>"]
    return "\n".join(lines) + "\n"


class Debugger(DebuggerSeat):
    """GDB's hold on one Machine: breakpoint and watch tables, and parking of the vcpu thread.

    Run (lifecycle/machine/exits.py) calls loop() and exit(). The GDB thread calls the rest.
    """

    def __init__(self, machine):
        self.m = machine
        self.h = machine.hart
        self.cond = threading.Condition()
        self.parked = False          # the vcpu thread waits in _park: the GDB thread may touch the state
        self.held = False            # GDB has the guest stopped (also while a lifecycle pause is served)
        self.halt_req = 0            # a signal: the vcpu should park at its next exit (Ctrl-C, attach)
        self.cmd = None              # what the parked vcpu should do next: "step", "cont", "detach"
        self.seq = 0                 # stops reported so far
        self.stop = None             # the latest stop (gdbstub's stop reply formats it)
        self.end = None              # ("exit"|"fatal", code, message) once a step ended the run
        self.stepping = False
        self.step_event = None
        self.bps = {}                # pc (unsigned) -> 0 (Z0) or 1 (Z1)
        self.watches = {}            # (type 2-4, va, length) -> [(paddr lo, paddr hi, va lo)]
        self.read_watches = 0
        self.access_done = None      # pc after a store that a watchpoint stop reported as done
        self._foreign = threading.Event()   # someone else (lifecycle) called machine.stop()
        self.attached = True
        machine.debugger = self

    # ---- the debugger seat (lifecycle/machine/seat.py): Machine.stop() from any thread
    def stop_requested(self):
        self._foreign.set()

    # ---- called by the machine's run loop, vcpu thread

    def loop(self, loop, arrays, budget):
        from emu.debug import debug_exit
        if self.read_watches:
            from emu.debugloop import run_checked
            return debug_exit(self.h.st, run_checked(*arrays, budget))
        return debug_exit(self.h.st, loop(*arrays, budget))

    def exit(self, why):
        """-> None (go on running), a (reason, code, message) to end the run with, or the exit to handle as usual."""
        from emu import state as S
        from lifecycle.machine.board import Reason     # not at import time: no numba before the JIT choice
        h = self.h
        if self.stepping:
            if why in (S.EXIT_BREAK, S.EXIT_WATCH):
                self.step_event = why
                return (Reason.DEBUG, 0, "")
            if why == S.EXIT_STOP and not self._foreign.is_set():
                h.stop_flag[0] = 0           # our own flag (a Ctrl-C during a step): the step goes on
                return None
            return why
        if why == S.EXIT_BREAK:
            return self._park(("break", h.pc & MASK64))
        if why == S.EXIT_WATCH:
            return self._park(self._watch_stop())
        if why in (S.EXIT_STOP, S.EXIT_WFI) and (self.halt_req or self.held):
            return self._park(("signal", self.halt_req) if self.halt_req else None)
        if why == S.EXIT_STOP:
            self._foreign.clear()            # a stop for the lifecycle, handled as usual
        return why

    def _park(self, stop):
        h = self.h
        h.stop_flag[0] = 0                   # ours; a foreign stop is remembered by self._foreign
        with self.cond:
            self.halt_req = 0
            self.held = True
            self.parked = True
            if stop is not None:
                self._report(stop)
            self.cond.notify_all()
        while True:
            with self.cond:
                while self.cmd is None and not self._foreign.is_set():
                    self.cond.wait(0.05)
                if self._foreign.is_set():   # the lifecycle wants the vcpu: let it, and come back here
                    self._foreign.clear()
                    self.parked = False
                    h.stop_flag[0] = STOP_DEBUG
                    self.cond.notify_all()
                    from lifecycle.machine.board import Reason
                    return (Reason.STOPPED, 0, "stop requested")
                cmd, self.cmd = self.cmd, None
                self.parked = False
            if cmd == "step":
                stop = self._step()
            elif (h.pc & MASK64) in self.bps:
                stop = self._step()          # resume from a breakpoint: step over it first
                if stop[0] == "step":
                    stop = None
            else:
                stop = None
            with self.cond:
                if stop is not None and stop[0] == "end":
                    self.end = stop[1:]
                    self.held = False
                    self.cond.notify_all()
                    return stop[1:]
                if stop is not None:
                    self.parked = True
                    self._report(stop)
                    self.cond.notify_all()
                    continue
                self.held = False
                if cmd == "detach":
                    self._remove_hooks()
                self.cond.notify_all()
                return None

    def _report(self, stop):
        self.stop = stop
        self.seq += 1
        if stop[0] == "watch" and stop[3]:
            self.access_done = self.h.pc & MASK64
        else:
            self.access_done = None

    def _step(self):
        """One step in the vcpu thread. -> a stop, or ("end", reason, code, message) when the run ended."""
        from emu import state as S
        from emu import debug as D
        h, m = self.h, self.m
        pc = h.pc & MASK64
        D.take_hit(h.st)
        suspend = pc in self.bps             # step off a breakpoint: without it, then put it back
        if suspend:
            self.install(skip=pc)
        self.stepping = True
        self.step_event = None
        try:
            r = m.run(max_instructions=1)
        finally:
            self.stepping = False
            if suspend:
                self.install()
        if r.reason in ("exit", "fatal"):
            return ("end", r.reason, r.exit_code, r.message)
        if r.reason == "stopped":
            if self.halt_req and not self._foreign.is_set():
                return ("signal", SIGINT)    # Ctrl-C while the step waited in wfi
            return ("step",)                 # a lifecycle stop came first: nothing ran
        if self.step_event == S.EXIT_WATCH:
            return self._watch_stop()
        return ("step",)

    def _watch_stop(self):
        from emu import debug as D
        hit = D.take_hit(self.h.st)
        if hit is None:
            return ("signal", SIGTRAP)
        kind, pa = hit
        best = None
        for (t, _va, _n), ranges in self.watches.items():
            if not (t == Z_ACCESS_WATCH or (t == Z_WRITE_WATCH and kind == D.WATCH_WRITE)
                    or (t == Z_READ_WATCH and kind == D.WATCH_READ)):
                continue
            for lo, hi, vlo in ranges:
                if lo <= pa < hi and (best is None or t < best[0]):
                    best = (t, vlo + (pa - lo))
        if best is None:
            return ("signal", SIGTRAP)
        return ("watch", WATCH_NAMES[best[0]], best[1], kind == D.WATCH_WRITE)

    def _remove_hooks(self):
        from emu import debug as D
        self.bps.clear()
        self.watches.clear()
        self.read_watches = 0
        D.clear_all(self.h)
        self.attached = False
        if getattr(self.m, "debugger", None) is self:
            self.m.debugger = None

    # ---- called by the GDB thread
    def interrupt(self, sig):
        """Ask the running vcpu to park (Ctrl-C, attach). False when it is already held."""
        with self.cond:
            if self.held or self.parked:
                return False
            self.halt_req = sig
        h = self.h
        if h.stop_flag[0] == 0:
            h.stop_flag[0] = STOP_DEBUG
        wake = getattr(self.m, "_wake", None)
        if wake is not None:
            wake.set()
        return True

    def wait_parked(self, timeout, gone):
        """Wait until the vcpu parks (True) or `gone()` says the VMM is over (False)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.parked:
                if gone() or self.end is not None or time.monotonic() > deadline:
                    return False
                self.cond.wait(0.05)
            return True

    def resume(self, cmd):
        """Post "step", "cont" or "detach" to the parked vcpu (the caller holds self.cond).
        -> the stop count before it."""
        with self.cond:
            seq = self.seq
            self.cmd = cmd
            self.access_done = None
            self.cond.notify_all()
            return seq

    def reset(self, gone):
        """Remove breakpoints and watchpoints and keep the guest held (a --gdb-wait client left without
        continuing). They can only have been set while the vcpu was parked: wait for it to park again."""
        if not (self.bps or self.watches):
            return
        if self.wait_parked(30, gone):
            from emu import debug as D
            with self.cond:
                self.bps.clear()
                self.watches.clear()
                self.read_watches = 0
                self.access_done = None
                D.clear_all(self.h)

    def detach(self, gone):
        """Remove everything and let the guest run on (from any state)."""
        if not self.attached:
            return
        if not self.parked:
            self.interrupt(SIGTRAP)
        if self.wait_parked(30, gone):
            with self.cond:
                self.bps.clear()
                self.watches.clear()
                self.read_watches = 0
                from emu import debug as D
                D.clear_all(self.h)
                self.cmd = "detach"
                self.cond.notify_all()
        else:
            with self.cond:
                self._remove_hooks()


    # ---- what GDB reads and writes (the GDB thread, while the vcpu is parked)
    def read_reg(self, n):
        """Remote register n's value (unsigned), or None when there is no such register."""
        from emu.csr import csr_read
        h = self.h
        if n < N_GPR:
            return int(h.regs[n]) & MASK64 if n else 0
        if n == REG_PC:
            return h.pc & MASK64
        if n == REG_PRIV:
            return h.priv
        if REG_F0 <= n < REG_F0 + 32:
            return int(h.regs[F_BASE + n - REG_F0]) & MASK64
        if REG_CSR0 <= n < REG_PRIV:
            ok, v = csr_read(CSRS[n - REG_CSR0], h.st, h.csr)
            return int(v) & MASK64
        return None

    def write_reg(self, n, v):
        """-> False when remote register n does not exist or refuses v (nothing written)."""
        from emu import state as S
        from emu.csr import csr_write, refresh_mode, clock
        h = self.h
        self.access_done = None
        if n < N_GPR:
            if n:
                h.regs[n] = s64(v)
            return True
        if n == REG_PC:
            if not pc_ok(v):
                return False
            h.pc = v
            return True
        if n == REG_PRIV:
            if v not in (PRV_U, PRV_S, PRV_M):
                return False
            h.priv = v
            return True
        if REG_F0 <= n < REG_F0 + 32:
            h.regs[F_BASE + n - REG_F0] = s64(v)
            return True
        if REG_CSR0 <= n < REG_PRIV:
            c = CSRS[n - REG_CSR0]
            if (c >> CSR_ACCESS_SHIFT) & 3 == CSR_READ_ONLY:
                return False
            if c == MINSTRET:
                h.st[S.ST_MINSTRET_OFF] = s64(v - h.instret)
            elif c == MCYCLE:
                h.st[S.ST_MCYCLE_OFF] = s64(v - int(clock(h.st)))
            else:
                csr_write(c, s64(v), h.st, h.csr, h.tlb)
                refresh_mode(h.st, h.csr)
            return True
        return False

    def _translate(self, va, phys):
        from emu import debug as D
        if phys:
            return va
        return D.debug_translate(self.h, va)

    def _ram(self, pa, n):
        h = self.h
        return pa is not None and h.ram_base <= pa and pa + n <= h.ram_base + h.ram_size

    def read_mem(self, addr, n, phys):
        """Up to n bytes at addr (virtual as the guest sees it, or physical): those up to the first
        one that is not RAM."""
        out = bytearray()
        h = self.h
        while n > 0:
            chunk = min(n, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            pa = self._translate(addr, phys)
            if not self._ram(pa, chunk):
                break
            out += h.read_phys(pa, chunk)
            addr = (addr + chunk) & MASK64
            n -= chunk
        return bytes(out)

    def write_mem(self, addr, data, phys):
        """-> False, nothing written, when a byte of it is not RAM."""
        h = self.h
        pieces = []
        i = 0
        while i < len(data):
            chunk = min(len(data) - i, PAGE_SIZE - ((addr + i) & (PAGE_SIZE - 1)))
            pa = self._translate((addr + i) & MASK64, phys)
            if not self._ram(pa, chunk):
                return False
            pieces.append((pa, data[i:i + chunk]))
            i += chunk
        for pa, d in pieces:
            h.write_phys(pa, d)
        return True

    # ---- breakpoints and watchpoints (the GDB thread, while the vcpu is parked)
    def install(self, skip=None):
        """Put the tables into the hart (emu/debug.py), and the hardware breakpoints and watchpoints
        into triggers (emu/trigger.py, one each); all but a breakpoint at `skip`. ValueError when the
        hart refuses a watch range (before any trigger changes); -> False when the triggers are too
        few (the tables are set all the same, the triggers left as they were)."""
        from emu import debug as D
        from emu.trigger import set_debugger_triggers, debugger_trigger
        D.set_breakpoints(self.h, [p for p, t in self.bps.items() if t != Z_HW_BREAK and p != skip])
        ranges = []
        for (t, _va, _n), rs in self.watches.items():
            k = {Z_WRITE_WATCH: D.WATCH_WRITE, Z_READ_WATCH: D.WATCH_READ,
                 Z_ACCESS_WATCH: D.WATCH_WRITE | D.WATCH_READ}[t]
            ranges += [(lo, hi, k) for lo, hi, _v in rs]
        D.set_watches(self.h, ranges)
        self.read_watches = sum(1 for (t, _a, _n) in self.watches if t in (Z_READ_WATCH, Z_ACCESS_WATCH))
        triggers = [debugger_trigger(TRIGGER_KINDS[t], p) for p, t in self.bps.items() if t == Z_HW_BREAK and p != skip]
        triggers += [debugger_trigger(TRIGGER_KINDS[t], va, n) for t, va, n in self.watches]
        return set_debugger_triggers(self.h, triggers)

    def set_breakpoint(self, pc, t):
        """A breakpoint of Z type t at pc. -> False when the table (DBG_MAX_BP) is full, or for Z1 no
        trigger is free: nothing set."""
        from emu import state as S
        if pc not in self.bps and len(self.bps) >= S.DBG_MAX_BP:
            return False
        old = self.bps.get(pc)
        self.bps[pc] = t
        if not self.install():
            if old is None:
                del self.bps[pc]
            else:
                self.bps[pc] = old
            self.install()
            return False
        return True

    def clear_breakpoint(self, pc):
        self.bps.pop(pc, None)
        self.install()

    def watch_ranges(self, va, n, phys):
        """The n bytes at va as physical ranges [(pa lo, pa hi, va lo)], contiguous ones merged;
        None when one of them is not RAM."""
        ranges = []
        a, left = va, n
        while left > 0:
            chunk = min(left, PAGE_SIZE - (a & (PAGE_SIZE - 1)))
            pa = self._translate(a, phys)
            if not self._ram(pa, chunk):
                return None
            if ranges and ranges[-1][1] == pa:
                lo, _hi, vlo = ranges.pop()
                ranges.append((lo, pa + chunk, vlo))
            else:
                ranges.append((pa, pa + chunk, a))
            a, left = (a + chunk) & MASK64, left - chunk
        return ranges

    def watch_room(self, key):
        """How many ranges watchpoint `key` (type, va, length) may have: the table's (DBG_MAX_WATCH) but the others'."""
        from emu import state as S
        return S.DBG_MAX_WATCH - sum(len(r) for k, r in self.watches.items() if k != key)

    def set_watch(self, key, ranges):
        """Watchpoint `key` (type, va, length) over `ranges` (watch_ranges), with a trigger of its own.
        -> WATCH_SET; WATCH_REFUSED when the hart refuses one of the ranges (HTIF's tohost), or
        WATCH_FULL when no trigger is free: then the tables and triggers are left as they were."""
        old = self.watches.get(key)
        self.watches[key] = ranges
        try:
            answer = WATCH_SET if self.install() else WATCH_FULL
        except ValueError:           # e.g. over HTIF tohost
            answer = WATCH_REFUSED
        if answer != WATCH_SET:
            if old is None:
                del self.watches[key]
            else:
                self.watches[key] = old
            self.install()
        return answer

    def clear_watch(self, key):
        self.watches.pop(key, None)
        self.install()
