"""Coverage-guided fuzzing of the GDB stub's packet reader and handlers (lifecycle/debug/rsp.py, gdbstub.py).

    .venv/bin/python fuzz/fuzz_gdb.py -max_total_time=60 fuzz/corpus/gdb

one_input(data) is the property, shared with tests/test_fuzz_gdb.py. The bytes are what a
client sends on one connection, fed to the stub's real Session (framing, acks, NAKs,
Ctrl-C, every packet handler) through a socket stand-in, against a real Machine running
tests/guest/bin/gdb_target.elf under the real Debugger. Only the vcpu thread is stood in for
(_Target): the guest starts parked, and a continue or a step runs one real step of the hart
at once, in this thread, through Debugger._step (Machine.run(1) with the debugger's exits).

The first byte chooses how the rest is sent:
  bit 0     the rest is packet bodies separated by b"\\n", each framed as $BODY#CS with a
            correct checksum (so the fuzzer reaches the handlers); clear: the raw stream
  bits 1-4  the chunk size of the stream's recv()s (1-16 bytes): packets split anywhere
  bit 5     a leading "+" (GDB's first ack)
  bit 6     the client asked for no-ack mode first (QStartNoAckMode)

What must hold for every input:
  * the session ends through the stub's documented handling: a reply, a closed connection
    with one log line (malformed packet, dropped client), a detach or a kill; never an
    "internal error" line (any exception of ours), never an exception out of run();
  * the stub sends a bounded amount: at most a few replies per packet received, each at
    most one PacketSize (escaped), and at most MAX_RESENDS resends per reply;
  * pc stays even (C: bit 0 of pc is always zero; a debugger write with it set is refused).
"""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

TARGET = os.path.join(ROOT, "tests", "guest", "bin", "gdb_target.elf")
HARD_CAP = 64 << 20            # bytes sent in one session that mean a flood (the property fails first)


class Flood(Exception):
    """The stub sent more than HARD_CAP bytes in one session."""


class FakeSocket:
    """What the stub's Wire uses of a socket: recv (the input, chunk by chunk, then EOF), sendall, settimeout."""

    def __init__(self, data, chunk):
        self.chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        self.chunks.reverse()
        self.sent = 0
        self.out = []

    def settimeout(self, t):
        pass

    def recv(self, n):
        return self.chunks.pop() if self.chunks else b""

    def sendall(self, b):
        self.sent += len(b)
        if self.sent > HARD_CAP:
            raise Flood(f"{self.sent} bytes sent")
        if len(self.out) < 64:
            self.out.append(bytes(b))

    def close(self):
        pass


_classes = []


def _stand_ins():
    """The stub's GdbServer and Debugger with the listening socket and the vcpu thread stood in for."""
    if _classes:
        return _classes[0]
    from lifecycle.debug import gdbstub, gdbtarget, rsp

    class Target(gdbtarget.Debugger):
        """The vcpu: parked from the start (as with --gdb-wait); a resume runs one step at once."""

        def __init__(self, machine):
            super().__init__(machine)
            self.parked = self.held = True
            self.stop = ("signal", gdbtarget.SIGTRAP)

        def resume(self, cmd):
            with self.cond:
                seq = self.seq
                self.access_done = None
            stop = self._step()              # the real step: Machine.run(1) under this debugger
            if stop[0] == "end":
                self.end = stop[1:]
                self.held = self.parked = False
                vmm = self.m.fuzz_vmm
                vmm.stop_reason, vmm.exit_code = stop[1], stop[2]
            else:
                self._report(stop)
            return seq

    class Server(gdbstub.GdbServer):
        debugger_class = Target

        def __init__(self, vmm):
            self.lines = []
            self.killed = False
            self._setup(vmm, wait=True, log=self.lines.append, handshake_timeout=rsp.HANDSHAKE_TIMEOUT)
            self.attach()

        def kill(self):
            self.killed = True

    class Lifecycle:
        _vmm = None

        def stop(self, timeout=None):
            return True

    class Vmm:
        def __init__(self, machine):
            self.machine = machine
            self.stop_reason = self.exit_code = None
            self.lc = Lifecycle()
            self.lc._vmm = self
            machine.fuzz_vmm = self

    _classes.append((gdbstub, rsp, Server, Vmm))
    return _classes[0]


def _machine():
    import io
    from lifecycle.machine.board import Machine
    m = Machine(memory=1 << 20, console=io.BytesIO())
    m.load(TARGET)
    return m


def stream(data):
    """The bytes the client sends, and the recv() chunk size, for this input (see the module docstring)."""
    data = bytes(data)
    mode = data[0] if data else 0
    body = data[1:]
    if mode & 1:
        pkts = []
        for b in body.split(b"\n"):
            pkts.append(b"$" + b + b"#" + b"%02x" % (sum(b) & 0xFF))
        body = b"".join(pkts)
    if mode & 64:
        body = b"$QStartNoAckMode#b0" + body
    if mode & 32:
        body = b"+" + body
    return body, 1 + ((mode >> 1) & 15)


def one_input(data):
    """Run one client session; raise AssertionError (or the stub's exception) when the property fails.
    -> the session's log lines and what the stub sent (its first 64 sendall()s)."""
    gdbstub, rsp, Server, Vmm = _stand_ins()
    body, chunk = stream(data)
    m = _machine()
    srv = Server(Vmm(m))
    sock = FakeSocket(body, chunk)
    conn = gdbstub.Session(srv, sock, "fuzz")
    srv.conn = conn
    conn.run()                                           # must not raise: every ending is handled inside
    bad = [line for line in srv.lines if line.startswith("internal error")]
    assert not bad, bad[0]
    # a bounded output: per packet received at most 2 replies (monitor: O + OK), each at most one
    # escaped PacketSize, sent at most 1 + MAX_RESENDS times; acks one byte per packet
    packets = body.count(b"#") + 2
    per_reply = 2 * rsp.PACKET_SIZE + 8
    bound = packets * (2 * per_reply * (1 + rsp.MAX_RESENDS) + 1)
    assert sock.sent <= bound, f"{sock.sent} bytes sent for {packets} packets (bound {bound})"
    assert m.hart.pc & 1 == 0, f"pc 0x{m.hart.pc & ((1 << 64) - 1):x} is odd"
    return srv.lines, sock.out


def TestOneInput(data):    # noqa: N802 - atheris' name
    one_input(data)


def main():
    from fuzz.harness import fuzz
    fuzz(TestOneInput, ["lifecycle.debug.rsp", "lifecycle.debug.gdbtarget", "lifecycle.debug.gdbstub"],
         plain=["lifecycle.machine.board", "emu.debug"], warm=b"\x01?")


if __name__ == "__main__":
    main()
