"""GDB remote serial protocol: `numbavm run|boot --gdb [HOST:]PORT [--gdb-wait]`, Guest.serve_gdb().

    numbavm run tests/guest/bin/gdb_target.elf --gdb 1234 --gdb-wait &
    gdb-multiarch tests/guest/bin/gdb_target.elf -ex 'target remote :1234'

The stub listens on 127.0.0.1 unless an address is named (--gdb 0.0.0.0:1234). It
serves one GDB at a time; when that connection ends the VMM goes on and the next
GDB can attach. With --gdb-wait (Guest.serve_gdb(wait=True)) the guest is held
before its first instruction until a debugger continues it: a continue or a step
(c, C, s, S, vCont;c/s/C/S) or a detach (D) releases it. A client that goes away
without one of these (a port scanner, a browser's GET /, a GDB that dies) leaves
the guest held, its breakpoints and watchpoints removed, for the next debugger.
Without --gdb-wait the guest runs, and a GDB that connects stops it where it is.

Connections (one line on stderr for each refusal or drop, the first MAX_CONN_LOGS of
them; the VMM runs on)
  * a second client while a debugger is connected is accepted, its first packet is
    answered with an error reply saying why (E.text: GDB prints "Remote failure
    reply: E.numbavm: another debugger (HOST:PORT) is connected ..."), and it is
    closed. A client that comes back at once after its session ended (D, a dead
    GDB) waits for that session to be wound up instead of being refused;
  * a client must send a valid packet within HANDSHAKE_TIMEOUT s of connecting,
    and must finish a packet it has begun within that time, or it is dropped (a
    debugger that then sits idle at its prompt stays as long as it likes);
  * a NAK (-) makes the stub send its last packet again, at most MAX_RESENDS times
    for one packet; one NAK more drops the connection;
  * a client that does not read what the stub sends for SEND_TIMEOUT s is dropped.

What GDB gets
  * registers through a target description (qXfer:features:read:target.xml):
    org.gnu.gdb.riscv.cpu (x0-x31, pc: the `g` packet), org.gnu.gdb.riscv.csr
    (every CSR of the hart, by its spec name: `p`/`P`, written with the CSR's
    WARL rules) and org.gnu.gdb.riscv.virtual (`priv`: 0 U, 1 S, 3 M; writable);
  * memory (m, M, X) as the guest sees it at its current privilege level:
    through Sv39 when the hart fetches through it (outside M-mode with satp =
    Sv39), with a side-effect-free walk that ignores permissions (emu/debug.py,
    debug_translate). Only RAM is reachable: device registers are never read,
    since reads have side effects. `monitor phys on` makes every address a
    physical one (memory, and where watchpoints are placed) until
    `monitor phys off`; `monitor info` prints pc, priv, paging and the
    instruction count;
  * breakpoints Z0/Z1 (both are checked when an instruction is decoded, see
    emu/debug.py; GDB's memory is never patched), watchpoints Z2 (write), Z3 (read) and Z4 (access),
    single-step (s, vCont;s: one step, which is one instruction retired or one
    trap taken), continue (c, vCont;c), Ctrl-C (interrupts the running guest
    through the machine's stop flag, as stop() does), detach (D: everything
    removed, the guest runs on) and kill (k: the VMM is stopped, as
    GuestLifecycle.stop() stops it);
  * pc writes (P, G, c ADDR, s ADDR) with bit 0 set are refused with E16 (EINVAL),
    nothing written: with the C extension (misa is fixed, C always on) pc bit 0 is
    always zero, and the hart never masks a pc it is given;
  * an empty reply (RSP's "not supported") for every other packet.
A malformed packet (bad framing, bad hex, wrong lengths, a packet over 64 KiB,
three bad checksums in a row, or any bad checksum once no-ack mode is on) ends
that connection with one line on stderr, as a detach does. The VMM runs on.

How the vcpu is held (class Debugger)
  Attaching sets machine.debugger. Machine._run then calls debugger.loop()
  instead of the loop. It runs emu/debugloop.run_checked while a read
  watchpoint is set, and reads EXIT_BREAK and EXIT_WATCH off the loop's exits
  with emu.debug.debug_exit. For EXIT_STOP, EXIT_WFI, EXIT_BREAK and
  EXIT_WATCH, Machine._run calls debugger.exit(). exit() parks the vcpu thread on a condition variable
  while GDB has the guest stopped. The GDB thread reads and writes the state
  arrays only while the vcpu is parked. Steps run in the vcpu thread as nested
  Machine.run(1) calls, so MMIO, SBI and HTIF exits are answered as usual.
  Other stops (GuestLifecycle.stop(), Guest memory access) still work while GDB
  holds the guest. Machine.stop() tells the debugger (stop_requested, the seat's
  interface in lifecycle/machine/seat.py), which leaves the park. The lifecycle does its work, and the next loop call returns at
  once, so the vcpu parks again.
  Watch semantics (emu/debug.py): a store is reported after it is done, so
  GDB's step-over of a non-steppable RISC-V watchpoint is answered without
  running anything. A read is reported before the load.
"""
from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time

from lifecycle.machine.seat import DebuggerSeat
from emu.ints import s64, MASK64
from emu.spec import (REG_NAMES, CSR_NAMES as SPEC_CSR_NAMES, PMPCFG0, MHPMEVENT3, MHPMCOUNTER3, HPMCOUNTER3, MCYCLE,
                      MINSTRET)

SIGINT, SIGTRAP, SIGABRT, SIGKILL = 2, 5, 6, 9
STOP_DEBUG = 2                 # the stop-flag value the debugger sets (lifecycle stop() sets 1)
PACKET_SIZE = 0x4000           # what we tell GDB (qSupported PacketSize)
MAX_PACKET = 1 << 16           # a packet longer than this is hostile: the connection is closed
HANDSHAKE_TIMEOUT = 15.0       # s for a new client's first valid packet, and for any begun packet to end
MAX_RESENDS = 3                # NAKs answered for one packet; one more drops the connection
SEND_TIMEOUT = 30.0            # s a client may leave our packets unread before it is dropped
POLL = 0.2                     # s between looks at the VMM while waiting for a client's bytes
E_INVAL = "E16"                # the error reply for a value the target refuses (EINVAL = 22)
N_GPR = 32
REG_PC = 32
X_NAMES = [("fp" if n == "s0" else n) for n in REG_NAMES]     # GDB's riscv target calls x8 fp
X_TYPES = {"ra": "code_ptr", "sp": "data_ptr", "gp": "data_ptr", "tp": "data_ptr"}


def _has_csr(n):
    """Every CSR this hart has (emu/csr.py csr_read), but the hard-wired-zero hpm counters."""
    if MHPMEVENT3 <= n <= MHPMEVENT3 + 28 or MHPMCOUNTER3 <= n <= MHPMCOUNTER3 + 28 \
            or HPMCOUNTER3 <= n <= HPMCOUNTER3 + 28:
        return False
    return not (PMPCFG0 <= n < PMPCFG0 + 16 and n & 1)       # odd pmpcfg CSRs do not exist on RV64


CSR_NAMES = {n: name for n, name in SPEC_CSR_NAMES.items() if _has_csr(n)}
CSRS = sorted(CSR_NAMES)
REG_CSR0 = 33                  # remote register numbers: x0-x31, pc, the CSRs in CSRS order, priv
REG_PRIV = REG_CSR0 + len(CSRS)
WATCH_NAMES = {2: "watch", 3: "rwatch", 4: "awatch"}


class ProtocolError(Exception):
    """A malformed or hostile packet: the connection is closed."""


class ClientDropped(ProtocolError):
    """A client that breaks the connection rules (idle handshake, NAK flood): the connection is closed."""


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
              f'  <reg name="priv" bitsize="64" type="int" regnum="{REG_PRIV}"/>', "</feature>", "</target>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the vcpu side

class Debugger(DebuggerSeat):
    """GDB's hold on one Machine: breakpoint and watch tables, and parking of the vcpu thread.

    Machine._run calls loop() and exit(). The GDB thread calls the rest.
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
        self.stop = None             # the latest stop (_Connection._stop_reply formats it)
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

    # ---- called by Machine._run (vcpu thread)

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
            D.set_breakpoints(h, [p for p in self.bps if p != pc])
        self.stepping = True
        self.step_event = None
        try:
            r = m.run(max_instructions=1)
        finally:
            self.stepping = False
            if suspend:
                D.set_breakpoints(h, self.bps)
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
            if not (t == 4 or (t == 2 and kind == D.WATCH_WRITE) or (t == 3 and kind == D.WATCH_READ)):
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
        """Post "step", "cont" or "detach" to the parked vcpu (the caller holds self.cond). -> the stop count before it."""
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


# --------------------------------------------------------------------------- the protocol

class _Connection:
    def __init__(self, server, sock, peer="a client"):
        self.server = server
        self.peer = peer
        self.sock = sock
        self.vmm = server.vmm
        self.buf = bytearray()
        self.noack = False
        self.bad = 0
        self.last = b""
        self.phys = False
        self.client = set()
        self.dbg = None
        self.closed_by_kill = False
        self.ending = threading.Event()    # the session is over: the next client may come in
        self.resends = 0             # NAKs answered for self.last
        self.greeted = False         # a valid packet came: this client is a debugger
        self.timeout = float(getattr(server, "handshake_timeout", HANDSHAKE_TIMEOUT))
        self.deadline = time.monotonic() + self.timeout    # for the first valid packet
        self.drained_for = None      # the deadline whose passing was followed by a last read

    # ---- framing
    def _recv(self, timeout):
        """Wait up to `timeout` s for bytes (-> False if none came); EOFError when the client closed."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            return False
        if not data:
            raise EOFError
        self.buf += data
        return True

    def _sendall(self, data):
        self.sock.settimeout(SEND_TIMEOUT)       # a client that reads nothing cannot hold us forever
        self.sock.sendall(data)

    def _take_oob(self):
        """Acks and Ctrl-C at the front of the buffer; -> True if a Ctrl-C was seen."""
        intr = False
        while self.buf and self.buf[0] in (0x2B, 0x2D, 0x03):      # + - ^C
            c = self.buf.pop(0)
            if c == 0x2D and self.last:
                # NAK: send our last packet again, a few times: a NAK flood must not make us a
                # traffic amplifier (each NAK byte would cost a whole reply)
                self.resends += 1
                if self.resends > MAX_RESENDS:
                    raise ClientDropped(f"{self.resends} NAKs for one packet (at most {MAX_RESENDS} resends)")
                self._sendall(self.last)
            elif c == 0x03:
                intr = True
        return intr

    def _wait_bytes(self):
        """Block until more bytes come. A new client that has sent no valid packet yet, and a client
        in the middle of a packet, must go on within self.timeout s (ClientDropped)."""
        if self.deadline is None and (self.buf or not self.greeted):
            self.deadline = time.monotonic() + self.timeout
        while True:
            # (checked before each recv: a client trickling bytes must not put the deadline off)
            if self.deadline is not None and time.monotonic() > self.deadline:
                # what had come by the deadline still counts, however late this thread looks
                # (a loaded host): one last read of the bytes already there, once per deadline
                if self.drained_for != self.deadline:
                    self.drained_for = self.deadline
                    if self._recv(0):
                        return
                if self.greeted:
                    raise ClientDropped(f"a packet begun and not finished within {self.timeout:g} s")
                raise ClientDropped(f"no valid packet within {self.timeout:g} s of connecting")
            if self._recv(POLL):
                return
            if self.gone():
                raise _Detached          # the VMM is over and GDB is not waiting for a stop

    def read_packet(self):
        while True:
            if self._take_oob():
                self._interrupt()
            if not self.buf:
                self._wait_bytes()
                continue
            if self.buf[0] != 0x24:                                # $
                raise ProtocolError(f"unexpected byte 0x{self.buf[0]:02x} outside a packet")
            end = self.buf.find(b"#")
            if end < 0 or len(self.buf) < end + 3:
                if len(self.buf) > MAX_PACKET:
                    raise ProtocolError(f"a packet of more than {MAX_PACKET} bytes")
                self._wait_bytes()
                continue
            body = bytes(self.buf[1:end])
            cs = bytes(self.buf[end + 1:end + 3])
            del self.buf[:end + 3]
            try:
                want = int(cs, 16)
            except ValueError:
                raise ProtocolError(f"bad checksum field {cs!r}") from None
            if sum(body) & 0xFF != want:
                self.bad += 1
                if self.noack or self.bad >= 3:
                    raise ProtocolError("bad packet checksum")
                self._sendall(b"-")
                if self.greeted:
                    self.deadline = None         # the resent packet gets a new deadline
                continue
            self.bad = 0
            self.greeted = True
            self.deadline = None
            if not self.noack:
                self._sendall(b"+")
            return _unescape(body)

    def send(self, body):
        if isinstance(body, str):
            body = body.encode("latin-1")
        pkt = _packet(body)
        self.last = pkt
        self.resends = 0
        self._sendall(pkt)

    # ---- helpers
    def gone(self):
        return self.server.vmm_over()

    def _interrupt(self):
        if self.dbg is not None:
            self.dbg.interrupt(SIGINT)

    @contextlib.contextmanager
    def _state(self, timeout=60):
        """The vcpu parked, and kept there (its condition's lock held) while the block runs."""
        dbg = self.dbg
        deadline = time.monotonic() + timeout
        with dbg.cond:
            while not dbg.parked:
                if self.gone() or dbg.end is not None:
                    raise _VmmGone
                if time.monotonic() > deadline:
                    raise ProtocolError(f"the guest did not stop within {timeout} s")
                dbg.cond.wait(0.05)
            yield dbg

    def _ended_reply(self):
        reason, code = self.server.vmm_outcome()
        if reason == "exit":
            return f"W{int(code or 0) & 0xFF:02x}"
        return f"X{SIGKILL if reason == 'stopped' else SIGABRT:02x}"

    def _stop_reply(self, stop):
        kind = stop[0]
        if kind == "break":
            t = self.dbg.bps.get(stop[1], 0)
            name = "hwbreak" if t == 1 else "swbreak"
            return f"T05{name}:;" if name + "+" in self.client else "T05"
        if kind == "watch":
            return f"T05{stop[1]}:{stop[2]:x};"
        if kind == "signal":
            return f"T{stop[1]:02x}"
        return "T05"

    def _wait_stop(self, seq):
        """After a resume: wait for the vcpu to park again (-> its stop reply) or the VMM to end."""
        dbg = self.dbg
        while True:
            with dbg.cond:
                if dbg.seq != seq and dbg.parked:
                    return self._stop_reply(dbg.stop)
                if dbg.end is not None:
                    return self._ended_reply()
            if self.gone():
                return self._ended_reply()
            if self._take_oob():
                dbg.interrupt(SIGINT)
            if self._recv(0.02) and self._take_oob():
                dbg.interrupt(SIGINT)
            if self.buf and self.buf[0] not in (0x2B, 0x2D, 0x03):
                raise ProtocolError("a packet while the guest runs (all-stop mode)")

    # ---- memory
    def _translate(self, va):
        from emu import debug as D
        if self.phys:
            return va
        return D.debug_translate(self.dbg.h, va)

    def _ram(self, pa, n):
        h = self.dbg.h
        return pa is not None and h.ram_base <= pa and pa + n <= h.ram_base + h.ram_size

    def read_mem(self, addr, n):
        out = bytearray()
        h = self.dbg.h
        while n > 0:
            chunk = min(n, 4096 - (addr & 0xFFF))
            pa = self._translate(addr)
            if not self._ram(pa, chunk):
                break
            out += h.read_phys(pa, chunk)
            addr = (addr + chunk) & MASK64
            n -= chunk
        return bytes(out)

    def write_mem(self, addr, data):
        h = self.dbg.h
        pieces = []
        i = 0
        while i < len(data):
            chunk = min(len(data) - i, 4096 - ((addr + i) & 0xFFF))
            pa = self._translate((addr + i) & MASK64)
            if not self._ram(pa, chunk):
                return False
            pieces.append((pa, data[i:i + chunk]))
            i += chunk
        for pa, d in pieces:
            h.write_phys(pa, d)
        return True

    # ---- registers
    def read_reg(self, n):
        from emu.csr import csr_read
        h = self.dbg.h
        if n < N_GPR:
            return int(h.regs[n]) & MASK64 if n else 0
        if n == REG_PC:
            return h.pc & MASK64
        if n == REG_PRIV:
            return h.priv
        if REG_CSR0 <= n < REG_PRIV:
            ok, v = csr_read(CSRS[n - REG_CSR0], h.st, h.csr)
            return int(v) & MASK64
        return None

    def write_reg(self, n, v):
        from emu import state as S
        from emu.csr import csr_write, refresh_mode, clock
        h = self.dbg.h
        self.dbg.access_done = None
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
            if v not in (S.PRV_U, S.PRV_S, S.PRV_M):
                return False
            h.priv = v
            return True
        if REG_CSR0 <= n < REG_PRIV:
            c = CSRS[n - REG_CSR0]
            if (c >> 10) & 3 == 3:
                return False                         # read-only
            if c == MINSTRET:
                h.st[S.ST_MINSTRET_OFF] = s64(v - h.instret)
            elif c == MCYCLE:
                h.st[S.ST_MCYCLE_OFF] = s64(v - int(clock(h.st)))
            else:
                csr_write(c, s64(v), h.st, h.csr, h.tlb)
                refresh_mode(h.st, h.csr)
            return True
        return False

    # ---- breakpoints and watchpoints (the vcpu is parked)
    def _install(self):
        from emu import debug as D
        dbg = self.dbg
        D.set_breakpoints(dbg.h, dbg.bps)
        ranges = []
        for (t, _va, _n), rs in dbg.watches.items():
            k = {2: D.WATCH_WRITE, 3: D.WATCH_READ, 4: D.WATCH_WRITE | D.WATCH_READ}[t]
            ranges += [(lo, hi, k) for lo, hi, _v in rs]
        D.set_watches(dbg.h, ranges)
        dbg.read_watches = sum(1 for (t, _a, _n) in dbg.watches if t in (3, 4))

    def z_packet(self, insert, args):
        from emu import state as S
        parts = args.split(";")[0].split(",")
        if len(parts) != 3:
            raise ProtocolError(f"Z/z packet {args!r}")
        t, addr, n = _int(parts[0]), _hex(parts[1]), _hex(parts[2])
        if t > 4:
            return ""
        with self._state() as dbg:
            if t in (0, 1):
                if insert:
                    if addr not in dbg.bps and len(dbg.bps) >= S.DBG_MAX_BP:
                        return "E0c"
                    dbg.bps[addr] = t
                else:
                    dbg.bps.pop(addr, None)
            else:
                key = (t, addr, n)
                if insert:
                    if not 0 < n <= 1 << 16:
                        return "E16"
                    ranges = []
                    a, left = addr, n
                    while left > 0:
                        chunk = min(left, 4096 - (a & 0xFFF))
                        pa = self._translate(a)
                        if not self._ram(pa, chunk):
                            return "E0e"
                        if ranges and ranges[-1][1] == pa:
                            lo, _hi, vlo = ranges.pop()
                            ranges.append((lo, pa + chunk, vlo))
                        else:
                            ranges.append((pa, pa + chunk, a))
                        a, left = (a + chunk) & MASK64, left - chunk
                    others = sum(len(r) for k, r in dbg.watches.items() if k != key)
                    if others + len(ranges) > S.DBG_MAX_WATCH:
                        return "E0c"
                    old = dbg.watches.get(key)
                    dbg.watches[key] = ranges
                    try:
                        self._install()
                    except ValueError:           # e.g. over HTIF tohost
                        if old is None:
                            del dbg.watches[key]
                        else:
                            dbg.watches[key] = old
                        self._install()
                        return "E0e"
                    return "OK"
                else:
                    dbg.watches.pop(key, None)
            self._install()
        return "OK"

    # ---- the packets
    def handle(self, pkt):
        """-> the reply (str or bytes), or None for no reply."""
        if not pkt:
            return ""
        c = chr(pkt[0])
        text = pkt.decode("latin-1")
        if c == "?":
            dbg = self.dbg
            if dbg is None or not dbg.wait_parked(60, self.gone):
                return self._ended_reply()
            return self._stop_reply(dbg.stop or ("signal", SIGTRAP))
        if c == "g":
            with self._state():
                return "".join(_le(self.read_reg(i)) for i in range(REG_PC + 1))
        if c == "G":
            hexs = text[1:]
            if len(hexs) != 16 * (REG_PC + 1):
                raise ProtocolError(f"G packet of {len(hexs)} hex digits (want {16 * (REG_PC + 1)})")
            values = [_unle(hexs[16 * i:16 * i + 16]) for i in range(REG_PC + 1)]
            if not pc_ok(values[REG_PC]):
                return E_INVAL                   # nothing written
            with self._state():
                for i, v in enumerate(values):
                    self.write_reg(i, v)
            return "OK"
        if c == "p":
            n = _hex(text[1:])
            with self._state():
                v = self.read_reg(n)
            return "E45" if v is None else _le(v)
        if c == "P":
            n, _, val = text[1:].partition("=")
            if len(val) != 16:
                raise ProtocolError(f"P packet {text!r}")
            n, v = _hex(n), _unle(val)
            if n == REG_PC and not pc_ok(v):
                return E_INVAL
            with self._state():
                return "OK" if self.write_reg(n, v) else "E45"
        if c == "m":
            addr, n = _addr_len(text[1:])
            n = min(n, PACKET_SIZE // 2 - 16)
            with self._state():
                data = self.read_mem(addr, n)
            return data.hex() if data or n == 0 else "E14"
        if c == "M":
            head, sep, hexs = text[1:].partition(":")
            addr, n = _addr_len(head)
            if not sep or len(hexs) != 2 * n:
                raise ProtocolError(f"M packet with {len(hexs)} hex digits for {n} bytes")
            data = _unhex(hexs)
            with self._state():
                return "OK" if self.write_mem(addr, data) else "E14"
        if c == "X":
            i = pkt.find(b":")
            if i < 0:
                raise ProtocolError("X packet without ':'")
            addr, n = _addr_len(text[1:i])
            data = pkt[i + 1:]
            if len(data) != n:
                raise ProtocolError(f"X packet with {len(data)} bytes for {n}")
            with self._state():
                return "OK" if n == 0 or self.write_mem(addr, data) else "E14"
        if c in "Zz":
            return self.z_packet(c == "Z", text[1:])
        if c in "cCsS":
            arg = text[1:]
            if c in "CS":
                _sig, _, arg = arg.partition(";")
                _hex(_sig)
            addr = _hex(arg) if arg else None
            return self.resume("step" if c in "sS" else "cont", addr)
        if text.startswith("vCont"):
            return self.vcont(text)
        if c == "D":
            self.server.released()               # detach: the guest runs on (--gdb-wait too)
            self.ending.set()
            self.send("OK")
            self.server.detach(self)
            raise _Detached
        if c == "k" or text.startswith("vKill"):
            if text.startswith("vKill"):
                self.send("OK")
            self.closed_by_kill = True
            self.server.kill()
            raise _Detached
        if c == "H" or c == "T":
            return "OK"
        if c == "q" or c == "Q":
            return self.query(text)
        return ""                      # not supported

    def query(self, text):
        if text.startswith("qSupported"):
            feats = text.partition(":")[2]
            self.client = {f for f in feats.split(";") if f}
            return (f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;swbreak+;hwbreak+;"
                    "QStartNoAckMode+;vContSupported+")
        if text == "QStartNoAckMode":
            self.send("OK")
            self.noack = True
            return None
        if text.startswith("qXfer:features:read:"):
            annex, _, rng = text[len("qXfer:features:read:"):].partition(":")
            off, n = _addr_len(rng)
            if annex != "target.xml":
                return "E00"
            xml = target_xml().encode()
            part = xml[off:off + min(n, PACKET_SIZE - 16)]
            return (b"l" if off + len(part) >= len(xml) else b"m") + _escape(part)
        if text == "qAttached" or text.startswith("qAttached:"):
            return "1"
        if text == "qC":
            return "QC1"
        if text == "qfThreadInfo":
            return "m1"
        if text == "qsThreadInfo":
            return "l"
        if text.startswith("qRcmd,"):
            return self.monitor(_unhex(text[6:]).decode("latin-1", "replace").strip())
        return ""

    def monitor(self, cmd):
        words = cmd.split()
        if words[:1] == ["phys"] and len(words) <= 2:
            if len(words) == 2:
                if words[1] not in ("on", "off"):
                    return self._out("usage: monitor phys on|off\n")
                self.phys = words[1] == "on"
            return self._out(f"physical addressing {'on' if self.phys else 'off'}: addresses are "
                             f"{'physical' if self.phys else 'as the guest sees them'}\n")
        if words == ["info"]:
            from emu import debug as D
            with self._state() as dbg:
                h = dbg.h
                msg = (f"pc 0x{h.pc & MASK64:x}  priv {'USxM'[h.priv]}  paging {'on' if D.paging_on(h) else 'off'}"
                       f"  instret {h.instret}  phys {'on' if self.phys else 'off'}\n")
            return self._out(msg)
        if words in ([], ["help"]):
            return self._out("numbavm monitor commands:\n"
                             "  phys on|off  memory addresses are physical (on) or as the guest sees them (off)\n"
                             "  info         pc, privilege level, paging, instructions retired\n")
        return self._out(f"unknown monitor command {cmd!r} (monitor help)\n")

    def _out(self, text):
        self.send("O" + text.encode().hex())
        return "OK"

    def vcont(self, text):
        if text == "vCont?":
            return "vCont;c;C;s;S"
        if not text.startswith("vCont;"):
            return ""
        action = None
        for a in text[6:].split(";"):
            verb, _, tid = a.partition(":")
            if not verb or verb[0] not in "cCsSt":
                raise ProtocolError(f"vCont action {a!r}")
            if verb[0] in "CS":
                _hex(verb[1:])
            if tid and tid not in ("-1", "1", "01", "p1.1", "p1.-1"):
                continue
            action = verb[0]
            break
        if action is None or action == "t":
            return "OK" if action == "t" else "E01"
        return self.resume("step" if action in "sS" else "cont", None)

    def resume(self, kind, addr):
        if addr is not None and not pc_ok(addr):
            return E_INVAL
        self.server.released()                   # a debugger's continue or step (--gdb-wait)
        with self._state() as dbg:
            if addr is not None:
                dbg.h.pc = addr
                dbg.access_done = None
            if kind == "step" and dbg.access_done is not None and dbg.access_done == dbg.h.pc & MASK64:
                # GDB steps over a (non-steppable) watchpoint whose store has already been done
                dbg.access_done = None
                dbg.stop = ("step",)
                return "T05"
            seq = dbg.resume(kind)
        return self._wait_stop(seq)

    # ---- the session
    def run(self):
        srv = self.server
        self.dbg = srv.attach()
        self.dbg.interrupt(SIGTRAP)
        try:
            while True:
                pkt = self.read_packet()
                reply = self.handle(pkt)
                if reply is not None:
                    self.send(reply)
        except Exception as e:   # noqa: BLE001 - how the session ended (a bug of ours must not take the VMM down)
            self.ending.set()
            self._end(e)

    def _end(self, e):
        srv = self.server
        if isinstance(e, _Detached):
            return
        if isinstance(e, _VmmGone):
            try:
                self.send(self._ended_reply())
            except OSError:
                pass
        elif isinstance(e, socket.timeout):      # (recv timeouts are handled in _recv: this is a send)
            srv.detach(self, f"dropped {self.peer}: it read nothing of ours for {SEND_TIMEOUT:g} s")
        elif isinstance(e, (EOFError, OSError)):
            srv.detach(self)
        elif isinstance(e, ClientDropped):
            srv.detach(self, f"dropped {self.peer}: {e}")
        elif isinstance(e, ProtocolError):
            srv.detach(self, f"malformed packet from {self.peer} ({e}): closing the connection")
        else:
            srv.log(f"internal error serving the debugger ({type(e).__name__}: {e}): closing the connection")
            srv.detach(self)

    def ended(self, grace=1.0):
        """Is this session ending (within `grace` s)? A GDB that detaches or dies and reconnects at
        once must not be refused because the old session is still being wound up: its thread sees
        the old client's EOF at once (it waits in recv), so a short grace is enough."""
        return self.ending.wait(grace)


class _Detached(Exception):
    pass


class _VmmGone(Exception):
    pass


class GdbServer:
    """Listens for GDB on (host, port) for one VMM (see the module docstring). .port, .address, close().

    handshake_timeout: s a new client has for its first valid packet (and any client for the
    rest of a packet it has begun); an attribute, read when a client connects."""

    MAX_CONN_LOGS = 20         # connection problems reported on stderr; then one line says the rest are not
    debugger_class = Debugger  # (fuzz/fuzz_gdb.py puts a stand-in for the vcpu here)

    def __init__(self, vmm, host="127.0.0.1", port=0, wait=False, log=None, handshake_timeout=HANDSHAKE_TIMEOUT):
        self._setup(vmm, wait, log, handshake_timeout)
        self.sock = socket.create_server((host, port))
        self.address = self.sock.getsockname()[:2]
        self.port = self.address[1]
        if wait:
            self.attach().interrupt(SIGTRAP)
        self._thread = threading.Thread(target=self._accept, name="gdb", daemon=True)
        self._thread.start()

    def _setup(self, vmm, wait, log, handshake_timeout):
        """Everything but the listening socket and its thread."""
        self.vmm = vmm
        self._log = log
        self.lock = threading.Lock()
        self.dbg = None
        self.conn = None
        self.closed = False
        self.waiting = bool(wait)          # --gdb-wait: held until a debugger continues, steps or detaches
        self.handshake_timeout = handshake_timeout
        self._conn_logs = 0
        self.accepted = 0                  # connections served so far
        self._conn_thread = None
        self._refusing = threading.BoundedSemaphore(4)   # refusals being told at once; more are just closed

    def log(self, msg):
        if self._log is not None:
            self._log(msg)
        else:
            sys.stderr.write(f"numbavm: gdb: {msg}\n")
            sys.stderr.flush()

    def conn_log(self, msg):
        """A connection's problem: one line each, the first MAX_CONN_LOGS (clients cannot flood stderr)."""
        self._conn_logs += 1
        if self._conn_logs <= self.MAX_CONN_LOGS:
            self.log(msg)
        elif self._conn_logs == self.MAX_CONN_LOGS + 1:
            self.log(f"more than {self.MAX_CONN_LOGS} connection problems: the next ones are not reported")

    def vmm_over(self):
        v = self.vmm
        return v.stop_reason is not None or v.lc._vmm is not v

    def vmm_outcome(self):
        return self.vmm.stop_reason, self.vmm.exit_code

    def attach(self):
        with self.lock:
            if self.dbg is None or not self.dbg.attached:
                self.dbg = self.debugger_class(self.vmm.machine)
            return self.dbg

    def released(self):
        """A debugger continued, stepped or detached: --gdb-wait's hold is over."""
        self.waiting = False

    def detach(self, conn, problem=None):
        """The connection ends (problem: what it did wrong, for the one line on stderr)."""
        with self.lock:
            dbg = self.dbg
            keep = self.waiting and dbg is not None and not self.vmm_over()
            if not keep:
                self.dbg = None
        if keep:
            # --gdb-wait and no debugger has continued yet: the guest stays held for the next client
            dbg.reset(self.vmm_over)
            self.conn_log(f"{problem or f'{conn.peer} left'}; the guest was not continued: "
                          "it stays held for the next debugger (--gdb-wait)")
            return
        if problem is not None:
            self.conn_log(f"{problem}; the VMM runs on")
        if dbg is not None and not self.vmm_over():
            dbg.detach(self.vmm_over)

    def kill(self):
        """k: stop the VMM, as GuestLifecycle.stop() does (in a helper thread: it waits for the vcpu)."""
        threading.Thread(target=self.vmm.lc.stop, name="gdb-kill", daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                s, peer = self.sock.accept()
            except OSError:
                return
            if self.vmm_over() or self.closed:
                s.close()
                continue
            for _ in range(2):
                with self.lock:
                    holder = self.conn
                    if holder is None:
                        c = self.conn = _Connection(self, s, _peer_name(peer))
                        self.accepted += 1
                if holder is None or not holder.ended():
                    break
                t = self._conn_thread            # the previous session is ending: wait for it, not refuse
                if t is not None:
                    t.join(SEND_TIMEOUT)
            if holder is not None:
                self._refuse(s, _peer_name(peer), holder.peer)
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve, args=(c, s), name="gdb-conn", daemon=True)
            self._conn_thread = t
            t.start()

    def _serve(self, c, s):
        try:
            c.run()
        finally:
            try:
                s.close()
            except OSError:
                pass
            with self.lock:
                if self.conn is c:
                    self.conn = None

    def _refuse(self, s, who, holder):
        """One debugger at a time: tell a second client why, close it, and say so on stderr."""
        self.conn_log(f"refused a second debugger from {who}: {holder} is connected (one at a time)")
        if not self._refusing.acquire(blocking=False):
            s.close()                    # a connection flood: no explanations
            return
        text = f"numbavm: another debugger ({holder}) is connected to this VMM; one at a time"
        threading.Thread(target=self._tell_and_close, args=(s, text), name="gdb-refuse", daemon=True).start()

    def _tell_and_close(self, s, text):
        try:
            s.settimeout(2.0)
            # GDB ignores a packet sent before its first one is acked: wait for that (2 s at most),
            # ack it and answer it with an error reply (E.text: GDB prints "Remote failure reply: E.text";
            # console output, an O packet, is not printed in answer to qSupported)
            got = b""
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and len(got) < 4096 and not re.search(rb"#..", got):
                data = s.recv(4096)
                if not data:
                    break
                got += data
            s.sendall(b"+" + _packet(b"E." + text.encode()))
            s.shutdown(socket.SHUT_WR)
            # read what the client sends until it closes (2 s at most): closing with unread bytes
            # would reset the connection, and the client could lose our explanation
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and s.recv(4096):
                pass
        except OSError:
            pass
        finally:
            s.close()
            self._refusing.release()

    def close(self, timeout=5.0):
        """Stop listening. A connected GDB is told how the VMM ended; wait up to `timeout` for it to go."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)      # wakes the accept() (close() alone does not, on Linux)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        if self.vmm_over():
            self._thread.join(timeout)
            t = self._conn_thread
            if t is not None:
                t.join(timeout)


def _peer_name(peer):
    try:
        return f"{peer[0]}:{peer[1]}"
    except (TypeError, IndexError):
        return "a client"


def _packet(body):
    return b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode()


# --------------------------------------------------------------------------- CLI glue

def add_arguments(p):
    p.add_argument("--gdb", metavar="[HOST:]PORT", default=None,
                   help="serve the GDB remote protocol on PORT (127.0.0.1 unless HOST is given; 0 = any free "
                        "port): gdb-multiarch -ex 'target remote :PORT'")
    p.add_argument("--gdb-wait", action="store_true",
                   help="with --gdb: hold the guest before its first instruction until GDB continues it")


def parse_endpoint(text):
    host, sep, port = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port, 10)
    except ValueError:
        raise ValueError(f"{text!r}: expected PORT or HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0..65535")
    return host, port


def check_args(args, user_error):
    """Validate --gdb/--gdb-wait before anything is built. -> (host, port) or None."""
    if args.gdb is None:
        if args.gdb_wait:
            raise user_error("--gdb-wait needs --gdb PORT")
        return None
    try:
        return parse_endpoint(args.gdb)
    except ValueError as e:
        raise user_error(f"--gdb: {e}") from None


def serve_from_args(args, guest, lc, user_error):
    """--gdb: start the server for `guest` (stderr says where). -> GdbServer or None."""
    ep = check_args(args, user_error)
    if ep is None:
        return None
    try:
        srv = guest.serve_gdb(ep[1], host=ep[0], wait=args.gdb_wait)
    except OSError as e:
        lc.stop()
        raise user_error(f"--gdb: cannot listen on {ep[0]}:{ep[1]}: {e.strerror or e}") from None
    srv.log(f"listening on {srv.address[0]}:{srv.port}" + (" (the guest waits for GDB)" if args.gdb_wait else ""))
    return srv


# --------------------------------------------------------------------------- encodings

def _escape(data):
    out = bytearray()
    for b in data:
        if b in (0x23, 0x24, 0x7D, 0x2A):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def _unescape(body):
    if b"}" not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        b = body[i]
        if b == 0x7D:
            if i + 1 >= len(body):
                raise ProtocolError("a packet ending in an escape")
            out.append(body[i + 1] ^ 0x20)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def _hex(s):
    if not s or len(s) > 16 or any(ch not in "0123456789abcdefABCDEF" for ch in s):
        raise ProtocolError(f"bad hex number {s[:40]!r}")
    return int(s, 16)


def _int(s):
    if not s or not s.isascii() or not s.isdigit():      # (str.isdigit is True for '²', which int() refuses)
        raise ProtocolError(f"bad number {s[:40]!r}")
    return int(s)


def _addr_len(s):
    a, sep, n = s.partition(",")
    if not sep:
        raise ProtocolError(f"expected ADDR,LENGTH, not {s[:40]!r}")
    return _hex(a), _hex(n)


def _unhex(s):
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise ProtocolError(f"bad hex data {s[:40]!r}") from None


def _le(v):
    return (int(v) & MASK64).to_bytes(8, "little").hex()


def _unle(s):
    return int.from_bytes(_unhex(s), "little") if len(s) == 16 else _hex("")
