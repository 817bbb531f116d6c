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

Connections (one line on stderr for each refusal or drop, the first GdbServer.MAX_CONN_LOGS
of them; the VMM runs on)
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
    emu/debug.py; GDB's memory is never patched), watchpoints Z2 (write), Z3 (read) and Z4 (access)
    (Z1-Z4 take one of the hart's 4 Sdtrig triggers each, E0c when none is free: gdbtarget.py),
    single-step (s, vCont;s: one step, which is one instruction retired or one
    trap taken), continue (c, vCont;c), Ctrl-C (interrupts the running guest
    through the machine's stop flag, as stop() does), detach (D: everything
    removed, the guest runs on) and kill (k: the VMM is stopped, as
    GuestLifecycle.stop() stops it);
  * pc writes (P, G, c ADDR, s ADDR) with bit 0 set are refused with E16 (EINVAL),
    nothing written: with the C extension (misa is fixed, C always on) pc bit 0 is
    always zero, and the hart never masks a pc it is given;
  * an empty reply (RSP's "not supported") for every other packet.
Each packet is answered by the Session method that claims its name with @packet (the
table Session.PACKETS, as in QEMU's gdbstub command tables; each handler's doc line
quotes its packet's syntax): a one-letter packet by its letter, q, Q and v packets by
their name (exactly, or as a prefix where the arguments follow it), Z and z packets by
their type (Z0-Z4, z0-z4).
A malformed packet (bad framing, bad hex, wrong lengths, a packet over 64 KiB,
three bad checksums in a row, or any bad checksum once no-ack mode is on) ends
that connection with one line on stderr, as a detach does. The VMM runs on.

Three modules, one job each
  lifecycle/debug/rsp.py        the wire: framing, checksums, acks and NAKs, no-ack mode,
                                escapes and hex encodings, one connection's read and write
                                loop and its limits (class Wire; HANDSHAKE_TIMEOUT,
                                MAX_RESENDS, SEND_TIMEOUT are there);
  lifecycle/debug/gdbstub.py    this module: the server (GdbServer: one client at a time,
                                refusals, the --gdb-wait hold), what each packet means (class
                                Session and its packet table), and the --gdb CLI glue;
  lifecycle/debug/gdbtarget.py  the vcpu side: the hart as GDB sees it (register numbers,
                                target_xml(), memory, breakpoint and watch tables) and class
                                Debugger, which takes the machine's debugger seat and parks the
                                vcpu thread while GDB holds the guest.
"""
from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time

from emu.ints import MASK64
from emu.spec import PRV_U, PRV_S, PRV_M
from lifecycle.debug.gdbtarget import (Debugger, target_xml, pc_ok, SIGINT, SIGTRAP, SIGABRT, SIGKILL, REG_PC,
                                       Z_SW_BREAK, Z_HW_BREAK, Z_WRITE_WATCH, Z_READ_WATCH, Z_ACCESS_WATCH,
                                       WATCH_SET, WATCH_FULL, WATCH_REFUSED)
from lifecycle.debug.rsp import (Wire, ProtocolError, ClientDropped, frame, escape, hexnum, decnum, addr_len, unhex,
                                 le64, unle64, REG_HEX, PACKET_SIZE, HANDSHAKE_TIMEOUT, SEND_TIMEOUT)

E_INVAL = "E16"                # a value the target refuses (EINVAL = 22): an odd pc, a watchpoint's length
E_REGISTER = "E45"             # p/P: no such register, or it refuses the value
E_MEMORY = "E14"               # m/M/X: memory that is not RAM
E_FULL = "E0c"                 # Z: the hart's breakpoint or watch table is full, or (Z1-Z4) no trigger is free
E_NOT_WATCHABLE = "E0e"        # Z2-Z4: memory that is not RAM, or HTIF's mailbox
E_ANNEX = "E00"                # qXfer:features:read: an annex other than target.xml
E_NO_ACTION = "E01"            # vCont: no action for our one thread
MAX_WATCH = 1 << 16            # bytes one watchpoint may cover
THREAD_IDS = ("-1", "1", "01", "p1.1", "p1.-1")     # vCont's names for our one thread (all, 1, process 1's)
TRAPPED = f"T{SIGTRAP:02x}"    # the stop reply of a breakpoint, a watchpoint or a step
PRIV_LETTERS = {PRV_U: "U", PRV_S: "S", PRV_M: "M"}


# --------------------------------------------------------------------------- the packet table

def packet(name, prefix=False):
    """Make a Session method the handler of RSP packet `name` (decorators stack: a method may
    answer several). A one-character name is a packet letter: it claims every packet that begins
    with it, its arguments the rest. A longer name claims the packet that is exactly that, and with
    prefix=True every packet that begins with it. Z and z packets are named by their type field
    (Z0-Z4, z0-z4, as GDB's manual names them) and get (addr, kind) as their arguments."""
    def claim(fn):
        fn.rsp_packets = getattr(fn, "rsp_packets", ()) + ((name, prefix or len(name) == 1),)
        return fn
    return claim


def packet_table(cls):
    """{packet name: (handler, prefix)} from the claims of cls's methods.
    ValueError when two handlers claim the same packet."""
    table = {}
    for attr in dir(cls):
        fn = getattr(cls, attr)
        for name, prefix in getattr(fn, "rsp_packets", ()):
            if name in table:
                raise ValueError(f"packet {name!r} is claimed by {table[name][0].__name__} and {fn.__name__}")
            table[name] = (fn, prefix)
    return table


def dispatched(cls):
    """Class decorator: cls.PACKETS (packet_table) and cls.PREFIXES (the prefix names, longest first)."""
    cls.PACKETS = packet_table(cls)
    cls.PREFIXES = sorted((n for n, (_fn, prefix) in cls.PACKETS.items() if prefix), key=len, reverse=True)
    return cls


def _z_fields(args):
    """TYPE,ADDR,KIND[;conditions] -> (type, addr, kind), all three checked whatever the type."""
    parts = args.split(";")[0].split(",")
    if len(parts) != 3:
        raise ProtocolError(f"Z/z packet {args!r}")
    return decnum(parts[0]), hexnum(parts[1]), hexnum(parts[2])


# --------------------------------------------------------------------------- a session

@dispatched
class Session:
    """One client's session: packets off its Wire (lifecycle/debug/rsp.py), each answered by the
    handler its name routes to (PACKETS), against the server's Debugger
    (lifecycle/debug/gdbtarget.py). A handler returns the reply (str or bytes) or None when it has
    sent what it had to send itself."""

    def __init__(self, server, sock, peer="a client"):
        self.server = server
        self.peer = peer
        self.phys = False                  # monitor phys on: addresses are physical
        self.client = set()                # what the client told qSupported it supports
        self.dbg = None
        self.ending = threading.Event()    # the session is over: the next client may come in
        self.wire = Wire(sock, float(getattr(server, "handshake_timeout", HANDSHAKE_TIMEOUT)),
                         idle=self._idle, interrupt=self._interrupt)

    # ---- the session
    def run(self):
        srv = self.server
        self.dbg = srv.attach()
        self.dbg.interrupt(SIGTRAP)
        try:
            while True:
                pkt = self.wire.read_packet()
                reply = self.handle(pkt)
                if reply is not None:
                    self.send(reply)
        except Exception as e:   # noqa: BLE001 - how the session ended (a bug of ours must not take the VMM down)
            self.ending.set()
            self._end(e)

    def handle(self, pkt):
        """-> the reply (str or bytes), or None for no reply. A packet no handler claims gets the
        empty reply (RSP's "not supported")."""
        if not pkt:
            return ""
        handler, args = self.route(pkt.decode("latin-1"))
        return "" if handler is None else handler(self, args)

    @classmethod
    def route(cls, text):
        """-> (the handler of packet `text`, its arguments), or (None, None) when none claims it."""
        if text[0] in "Zz":
            t, addr, kind = _z_fields(text[1:])
            entry = cls.PACKETS.get(f"{text[0]}{t}")
            return (None, None) if entry is None else (entry[0], (addr, kind))
        entry = cls.PACKETS.get(text)
        if entry is not None:
            return entry[0], ""
        for name in cls.PREFIXES:
            if text.startswith(name):
                return cls.PACKETS[name][0], text[len(name):]
        return None, None

    def _end(self, e):
        srv = self.server
        if isinstance(e, _Detached):
            return
        if isinstance(e, _VmmGone):
            try:
                self.send(self._ended_reply())
            except OSError:
                pass
        elif isinstance(e, socket.timeout):      # (recv timeouts are handled by the Wire: this is a send)
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

    # ---- helpers
    def send(self, body):
        self.wire.send(body)

    def gone(self):
        return self.server.vmm_over()

    def _idle(self):
        if self.gone():
            raise _Detached          # the VMM is over and GDB is not waiting for a stop

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
            t = self.dbg.bps.get(stop[1], Z_SW_BREAK)
            name = "hwbreak" if t == Z_HW_BREAK else "swbreak"
            return f"{TRAPPED}{name}:;" if name + "+" in self.client else TRAPPED
        if kind == "watch":
            return f"{TRAPPED}{stop[1]}:{stop[2]:x};"
        if kind == "signal":
            return f"T{stop[1]:02x}"
        return TRAPPED

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
            self.wire.poll(0.02)

    def resume(self, kind, addr):
        """Continue ("cont") or step ("step"), at addr unless it is None. -> the stop reply."""
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
                return TRAPPED
            seq = dbg.resume(kind)
        return self._wait_stop(seq)

    # ---- stop and state
    @packet("?")
    def pkt_halt_reason(self, args):
        """`?`: why the target stopped (the latest stop's reply)."""
        dbg = self.dbg
        if dbg is None or not dbg.wait_parked(60, self.gone):
            return self._ended_reply()
        return self._stop_reply(dbg.stop or ("signal", SIGTRAP))

    @packet("H")
    def pkt_H(self, args):
        """`H op thread-id`: set the thread for what follows (we have one)."""
        return "OK"

    @packet("T")
    def pkt_T(self, args):
        """`T thread-id`: is the thread alive (ours is)."""
        return "OK"

    # ---- registers
    @packet("g")
    def pkt_g(self, args):
        """`g`: read x0-x31 and pc (16 hex digits each, little-endian)."""
        with self._state() as dbg:
            return "".join(le64(dbg.read_reg(i)) for i in range(REG_PC + 1))

    @packet("G")
    def pkt_G(self, args):
        """`G XX...`: write x0-x31 and pc; an odd pc writes nothing (E16)."""
        if len(args) != REG_HEX * (REG_PC + 1):
            raise ProtocolError(f"G packet of {len(args)} hex digits (want {REG_HEX * (REG_PC + 1)})")
        values = [unle64(args[REG_HEX * i:REG_HEX * (i + 1)]) for i in range(REG_PC + 1)]
        if not pc_ok(values[REG_PC]):
            return E_INVAL                   # nothing written
        with self._state() as dbg:
            for i, v in enumerate(values):
                dbg.write_reg(i, v)
        return "OK"

    @packet("p")
    def pkt_p(self, args):
        """`p n`: read register n (the target description's numbering)."""
        n = hexnum(args)
        with self._state() as dbg:
            v = dbg.read_reg(n)
        return E_REGISTER if v is None else le64(v)

    @packet("P")
    def pkt_P(self, args):
        """`P n=r...`: write register n (16 hex digits, little-endian); an odd pc is refused (E16)."""
        n, _, val = args.partition("=")
        if len(val) != REG_HEX:
            raise ProtocolError(f"P packet {'P' + args!r}")
        n, v = hexnum(n), unle64(val)
        if n == REG_PC and not pc_ok(v):
            return E_INVAL
        with self._state() as dbg:
            return "OK" if dbg.write_reg(n, v) else E_REGISTER

    # ---- memory
    @packet("m")
    def pkt_m(self, args):
        """`m addr,length`: read memory (at most what one reply holds; up to the first byte that is not RAM)."""
        addr, n = addr_len(args)
        n = min(n, PACKET_SIZE // 2 - 16)
        with self._state() as dbg:
            data = dbg.read_mem(addr, n, self.phys)
        return data.hex() if data or n == 0 else E_MEMORY

    @packet("M")
    def pkt_M(self, args):
        """`M addr,length:XX...`: write memory, given in hex."""
        head, sep, hexs = args.partition(":")
        addr, n = addr_len(head)
        if not sep or len(hexs) != 2 * n:
            raise ProtocolError(f"M packet with {len(hexs)} hex digits for {n} bytes")
        data = unhex(hexs)
        with self._state() as dbg:
            return "OK" if dbg.write_mem(addr, data, self.phys) else E_MEMORY

    @packet("X")
    def pkt_X(self, args):
        """`X addr,length:binary`: write memory, given as (escaped) bytes."""
        i = args.find(":")
        if i < 0:
            raise ProtocolError("X packet without ':'")
        addr, n = addr_len(args[:i])
        data = args[i + 1:].encode("latin-1")
        if len(data) != n:
            raise ProtocolError(f"X packet with {len(data)} bytes for {n}")
        with self._state() as dbg:
            return "OK" if n == 0 or dbg.write_mem(addr, data, self.phys) else E_MEMORY

    # ---- breakpoints and watchpoints: `Ztype,addr,kind` inserts, `ztype,addr,kind` removes
    @packet("Z0")
    def pkt_Z0(self, args):
        """`Z0,addr,kind`: insert a software breakpoint (checked at decode, as Z1: memory is not patched)."""
        return self._insert_breakpoint(Z_SW_BREAK, args[0])

    @packet("Z1")
    def pkt_Z1(self, args):
        """`Z1,addr,kind`: insert a hardware breakpoint."""
        return self._insert_breakpoint(Z_HW_BREAK, args[0])

    @packet("Z2")
    def pkt_Z2(self, args):
        """`Z2,addr,length`: insert a write watchpoint (reported after the store)."""
        return self._insert_watch(Z_WRITE_WATCH, *args)

    @packet("Z3")
    def pkt_Z3(self, args):
        """`Z3,addr,length`: insert a read watchpoint (reported before the load)."""
        return self._insert_watch(Z_READ_WATCH, *args)

    @packet("Z4")
    def pkt_Z4(self, args):
        """`Z4,addr,length`: insert an access watchpoint."""
        return self._insert_watch(Z_ACCESS_WATCH, *args)

    @packet("z0")
    def pkt_z0(self, args):
        """`z0,addr,kind`: remove the breakpoint at addr (of either type)."""
        return self._remove_breakpoint(args[0])

    @packet("z1")
    def pkt_z1(self, args):
        """`z1,addr,kind`: remove the breakpoint at addr (of either type)."""
        return self._remove_breakpoint(args[0])

    @packet("z2")
    def pkt_z2(self, args):
        """`z2,addr,length`: remove a write watchpoint."""
        return self._remove_watch(Z_WRITE_WATCH, *args)

    @packet("z3")
    def pkt_z3(self, args):
        """`z3,addr,length`: remove a read watchpoint."""
        return self._remove_watch(Z_READ_WATCH, *args)

    @packet("z4")
    def pkt_z4(self, args):
        """`z4,addr,length`: remove an access watchpoint."""
        return self._remove_watch(Z_ACCESS_WATCH, *args)

    def _insert_breakpoint(self, t, addr):
        with self._state() as dbg:
            return "OK" if dbg.set_breakpoint(addr, t) else E_FULL

    def _remove_breakpoint(self, addr):
        with self._state() as dbg:
            dbg.clear_breakpoint(addr)
        return "OK"

    def _insert_watch(self, t, addr, n):
        with self._state() as dbg:
            if not 0 < n <= MAX_WATCH:
                return E_INVAL
            ranges = dbg.watch_ranges(addr, n, self.phys)
            if ranges is None:
                return E_NOT_WATCHABLE
            key = (t, addr, n)
            if len(ranges) > dbg.watch_room(key):
                return E_FULL
            return {WATCH_SET: "OK", WATCH_FULL: E_FULL, WATCH_REFUSED: E_NOT_WATCHABLE}[dbg.set_watch(key, ranges)]

    def _remove_watch(self, t, addr, n):
        with self._state() as dbg:
            dbg.clear_watch((t, addr, n))
        return "OK"

    # ---- running
    @packet("c")
    def pkt_c(self, args):
        """`c [addr]`: continue (at addr)."""
        return self.resume("cont", self._resume_addr(args))

    @packet("C")
    def pkt_C(self, args):
        """`C sig[;addr]`: continue with a signal (checked, then dropped: a hart has no signals)."""
        return self.resume("cont", self._resume_addr(self._no_signal(args)))

    @packet("s")
    def pkt_s(self, args):
        """`s [addr]`: one step (at addr): one instruction retired or one trap taken."""
        return self.resume("step", self._resume_addr(args))

    @packet("S")
    def pkt_S(self, args):
        """`S sig[;addr]`: one step with a signal (checked, then dropped)."""
        return self.resume("step", self._resume_addr(self._no_signal(args)))

    @staticmethod
    def _no_signal(args):
        """sig[;addr] -> addr (the signal checked)."""
        sig, _, addr = args.partition(";")
        hexnum(sig)
        return addr

    @staticmethod
    def _resume_addr(args):
        return hexnum(args) if args else None

    @packet("vCont?")
    def pkt_vCont_query(self, args):
        """`vCont?`: the vCont actions we support."""
        return "vCont;c;C;s;S"

    @packet("vCont;", prefix=True)
    def pkt_vCont(self, args):
        """`vCont;action[:thread-id];...`: the first action for our thread (c, C, s, S; t stops nothing)."""
        action = None
        for a in args.split(";"):
            verb, _, tid = a.partition(":")
            if not verb or verb[0] not in "cCsSt":
                raise ProtocolError(f"vCont action {a!r}")
            if verb[0] in "CS":
                hexnum(verb[1:])
            if tid and tid not in THREAD_IDS:
                continue
            action = verb[0]
            break
        if action is None or action == "t":
            return "OK" if action == "t" else E_NO_ACTION
        return self.resume("step" if action in "sS" else "cont", None)

    # ---- ending
    @packet("D")
    def pkt_D(self, args):
        """`D[;pid]`: detach: everything removed, the guest runs on (--gdb-wait's hold too)."""
        self.server.released()
        self.ending.set()
        self.send("OK")
        self.server.detach(self)
        raise _Detached

    @packet("k")
    def pkt_k(self, args):
        """`k`: kill: the VMM is stopped, as GuestLifecycle.stop() stops it (no reply)."""
        self.server.kill()
        raise _Detached

    @packet("vKill", prefix=True)
    def pkt_vKill(self, args):
        """`vKill;pid`: kill, after an OK."""
        self.send("OK")
        self.server.kill()
        raise _Detached

    # ---- queries
    @packet("qSupported", prefix=True)
    def pkt_qSupported(self, args):
        """`qSupported[:feature;...]`: what the client supports (kept), what we do."""
        feats = args.partition(":")[2]
        self.client = {f for f in feats.split(";") if f}
        return (f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;swbreak+;hwbreak+;"
                "QStartNoAckMode+;vContSupported+")

    @packet("QStartNoAckMode")
    def pkt_QStartNoAckMode(self, args):
        """`QStartNoAckMode`: OK (acked), then no more acks."""
        self.send("OK")
        self.wire.noack = True

    @packet("qXfer:features:read:", prefix=True)
    def pkt_qXfer_features_read(self, args):
        """`qXfer:features:read:annex:offset,length`: part of the target description (annex target.xml)."""
        annex, _, rng = args.partition(":")
        off, n = addr_len(rng)
        if annex != "target.xml":
            return E_ANNEX
        xml = target_xml().encode()
        part = xml[off:off + min(n, PACKET_SIZE - 16)]
        return (b"l" if off + len(part) >= len(xml) else b"m") + escape(part)

    @packet("qAttached")
    @packet("qAttached:", prefix=True)
    def pkt_qAttached(self, args):
        """`qAttached[:pid]`: 1, we attached to a running process (k kills it, D leaves it running)."""
        return "1"

    @packet("qC")
    def pkt_qC(self, args):
        """`qC`: the current thread: 1."""
        return "QC1"

    @packet("qfThreadInfo")
    def pkt_qfThreadInfo(self, args):
        """`qfThreadInfo`: the first (and only) thread: 1."""
        return "m1"

    @packet("qsThreadInfo")
    def pkt_qsThreadInfo(self, args):
        """`qsThreadInfo`: no more threads."""
        return "l"

    @packet("qRcmd,", prefix=True)
    def pkt_qRcmd(self, args):
        """`qRcmd,command-in-hex`: a monitor command; its output as O packets, then OK."""
        return self.monitor(unhex(args).decode("latin-1", "replace").strip())

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
                msg = (f"pc 0x{h.pc & MASK64:x}  priv {PRIV_LETTERS[h.priv]}"
                       f"  paging {'on' if D.paging_on(h) else 'off'}"
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
                        c = self.conn = Session(self, s, _peer_name(peer))
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
            s.sendall(b"+" + frame(b"E." + text.encode()))
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

