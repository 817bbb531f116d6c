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

Three modules, one job each
  lifecycle/debug/rsp.py        the wire: framing, checksums, acks and NAKs, no-ack mode,
                                escapes and hex encodings, one connection's read and write
                                loop and its limits (class Wire; HANDSHAKE_TIMEOUT,
                                MAX_RESENDS, SEND_TIMEOUT are there);
  lifecycle/debug/gdbstub.py    this module: the server (GdbServer: one client at a time,
                                refusals, the --gdb-wait hold), each session's packets and what
                                they mean, and the --gdb CLI glue;
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
from lifecycle.debug.gdbtarget import Debugger, target_xml, pc_ok, SIGINT, SIGTRAP, SIGABRT, SIGKILL, REG_PC
from lifecycle.debug.rsp import (Wire, ProtocolError, ClientDropped, frame, escape, hexnum, decnum, addr_len, unhex,
                                 le64, unle64, PACKET_SIZE, HANDSHAKE_TIMEOUT, SEND_TIMEOUT)

E_INVAL = "E16"                # the error reply for a value the target refuses (EINVAL = 22)


# --------------------------------------------------------------------------- the packets

class _Connection:
    def __init__(self, server, sock, peer="a client"):
        self.server = server
        self.peer = peer
        self.phys = False
        self.client = set()
        self.dbg = None
        self.ending = threading.Event()    # the session is over: the next client may come in
        self.wire = Wire(sock, float(getattr(server, "handshake_timeout", HANDSHAKE_TIMEOUT)),
                         idle=self._idle, interrupt=self._interrupt)

    def send(self, body):
        self.wire.send(body)

    # ---- helpers
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
            self.wire.poll(0.02)

    def z_packet(self, insert, args):
        parts = args.split(";")[0].split(",")
        if len(parts) != 3:
            raise ProtocolError(f"Z/z packet {args!r}")
        t, addr, n = decnum(parts[0]), hexnum(parts[1]), hexnum(parts[2])
        if t > 4:
            return ""
        with self._state() as dbg:
            if t in (0, 1):
                if insert:
                    if not dbg.set_breakpoint(addr, t):
                        return "E0c"
                else:
                    dbg.clear_breakpoint(addr)
            else:
                key = (t, addr, n)
                if insert:
                    if not 0 < n <= 1 << 16:
                        return "E16"
                    ranges = dbg.watch_ranges(addr, n, self.phys)
                    if ranges is None:
                        return "E0e"
                    if len(ranges) > dbg.watch_room(key):
                        return "E0c"
                    return "OK" if dbg.set_watch(key, ranges) else "E0e"
                else:
                    dbg.clear_watch(key)
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
            with self._state() as dbg:
                return "".join(le64(dbg.read_reg(i)) for i in range(REG_PC + 1))
        if c == "G":
            hexs = text[1:]
            if len(hexs) != 16 * (REG_PC + 1):
                raise ProtocolError(f"G packet of {len(hexs)} hex digits (want {16 * (REG_PC + 1)})")
            values = [unle64(hexs[16 * i:16 * i + 16]) for i in range(REG_PC + 1)]
            if not pc_ok(values[REG_PC]):
                return E_INVAL                   # nothing written
            with self._state() as dbg:
                for i, v in enumerate(values):
                    dbg.write_reg(i, v)
            return "OK"
        if c == "p":
            n = hexnum(text[1:])
            with self._state() as dbg:
                v = dbg.read_reg(n)
            return "E45" if v is None else le64(v)
        if c == "P":
            n, _, val = text[1:].partition("=")
            if len(val) != 16:
                raise ProtocolError(f"P packet {text!r}")
            n, v = hexnum(n), unle64(val)
            if n == REG_PC and not pc_ok(v):
                return E_INVAL
            with self._state() as dbg:
                return "OK" if dbg.write_reg(n, v) else "E45"
        if c == "m":
            addr, n = addr_len(text[1:])
            n = min(n, PACKET_SIZE // 2 - 16)
            with self._state() as dbg:
                data = dbg.read_mem(addr, n, self.phys)
            return data.hex() if data or n == 0 else "E14"
        if c == "M":
            head, sep, hexs = text[1:].partition(":")
            addr, n = addr_len(head)
            if not sep or len(hexs) != 2 * n:
                raise ProtocolError(f"M packet with {len(hexs)} hex digits for {n} bytes")
            data = unhex(hexs)
            with self._state() as dbg:
                return "OK" if dbg.write_mem(addr, data, self.phys) else "E14"
        if c == "X":
            i = pkt.find(b":")
            if i < 0:
                raise ProtocolError("X packet without ':'")
            addr, n = addr_len(text[1:i])
            data = pkt[i + 1:]
            if len(data) != n:
                raise ProtocolError(f"X packet with {len(data)} bytes for {n}")
            with self._state() as dbg:
                return "OK" if n == 0 or dbg.write_mem(addr, data, self.phys) else "E14"
        if c in "Zz":
            return self.z_packet(c == "Z", text[1:])
        if c in "cCsS":
            arg = text[1:]
            if c in "CS":
                _sig, _, arg = arg.partition(";")
                hexnum(_sig)
            addr = hexnum(arg) if arg else None
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
            self.wire.noack = True
            return None
        if text.startswith("qXfer:features:read:"):
            annex, _, rng = text[len("qXfer:features:read:"):].partition(":")
            off, n = addr_len(rng)
            if annex != "target.xml":
                return "E00"
            xml = target_xml().encode()
            part = xml[off:off + min(n, PACKET_SIZE - 16)]
            return (b"l" if off + len(part) >= len(xml) else b"m") + escape(part)
        if text == "qAttached" or text.startswith("qAttached:"):
            return "1"
        if text == "qC":
            return "QC1"
        if text == "qfThreadInfo":
            return "m1"
        if text == "qsThreadInfo":
            return "l"
        if text.startswith("qRcmd,"):
            return self.monitor(unhex(text[6:]).decode("latin-1", "replace").strip())
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
                hexnum(verb[1:])
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
                pkt = self.wire.read_packet()
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

