"""GDB's remote serial protocol on the wire: what is true of every packet, whatever it means.

  * framing: a packet is $BODY#CS, CS the body's byte sum modulo 256 in two hex digits;
  * acks: each packet received is answered by + (checksum good) or - (bad: the client
    sends it again); a - received makes us send our last packet again, at most MAX_RESENDS
    times for one packet (one NAK more drops the client: a NAK flood must not turn us into a
    traffic amplifier); three bad checksums in a row end the connection;
  * no-ack mode (after QStartNoAckMode: Wire.noack): no acks either way, and one bad checksum
    ends the connection;
  * Ctrl-C: a 0x03 byte between packets (Wire's `interrupt` callback);
  * the encodings packet arguments use: hex numbers (hexnum), decimal ones (decnum),
    ADDR,LENGTH (addr_len), hex data (unhex), 64-bit little-endian register values (le64,
    unle64), binary data with }-escapes (escape, unescape: X, qXfer);
  * the limits that protect the VMM from a client: a packet over MAX_PACKET bytes, a new
    client's first valid packet and any begun packet due within the handshake deadline
    (HANDSHAKE_TIMEOUT by default), our packets read within SEND_TIMEOUT s.

class Wire is one connection's read and write loop. What a packet means is
lifecycle/debug/gdbstub.py's; the hart is lifecycle/debug/gdbtarget.py's. A malformed packet
is a ProtocolError, a client that breaks the rules a ClientDropped: both end the connection.
"""
from __future__ import annotations

import socket
import time

from emu.ints import MASK64

PACKET_SIZE = 0x4000           # what we tell GDB (qSupported PacketSize): the longest packet we send
MAX_PACKET = 1 << 16           # a packet longer than this is hostile: the connection is closed
HANDSHAKE_TIMEOUT = 15.0       # s for a new client's first valid packet, and for any begun packet to end
MAX_RESENDS = 3                # NAKs answered for one packet; one more drops the connection
SEND_TIMEOUT = 30.0            # s a client may leave our packets unread before it is dropped
POLL = 0.2                     # s between looks at the VMM while waiting for a client's bytes

START, END, ESCAPE, RUN_LENGTH = 0x24, 0x23, 0x7D, 0x2A    # $ # } *: escaped inside binary data
ACK, NAK, CTRL_C = 0x2B, 0x2D, 0x03                         # + - ^C: bytes between packets
OUT_OF_BAND = (ACK, NAK, CTRL_C)
REG_HEX = 16                   # hex digits of a 64-bit register value (le64)


class ProtocolError(Exception):
    """A malformed or hostile packet: the connection is closed."""


class ClientDropped(ProtocolError):
    """A client that breaks the connection rules (idle handshake, NAK flood): the connection is closed."""


def frame(body):
    """$BODY#CS."""
    return b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode()


class Wire:
    """One client's byte stream: read_packet() -> the next packet's body (unescaped), send(body).

    timeout: s a new client has for its first valid packet, and any client for the rest of a
    packet it has begun. idle(): called while waiting for bytes (every POLL s); it may raise to
    end the wait. interrupt(): a Ctrl-C came between packets."""

    def __init__(self, sock, timeout, idle, interrupt):
        self.sock = sock
        self.idle = idle
        self.interrupt = interrupt
        self.buf = bytearray()
        self.noack = False
        self.bad = 0                 # bad checksums in a row
        self.last = b""              # our last packet (a NAK sends it again)
        self.resends = 0             # NAKs answered for self.last
        self.greeted = False         # a valid packet came: this client is a debugger
        self.timeout = timeout
        self.deadline = time.monotonic() + self.timeout    # for the first valid packet
        self.drained_for = None      # the deadline whose passing was followed by a last read

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
        while self.buf and self.buf[0] in OUT_OF_BAND:
            c = self.buf.pop(0)
            if c == NAK and self.last:
                # NAK: send our last packet again, a few times: a NAK flood must not make us a
                # traffic amplifier (each NAK byte would cost a whole reply)
                self.resends += 1
                if self.resends > MAX_RESENDS:
                    raise ClientDropped(f"{self.resends} NAKs for one packet (at most {MAX_RESENDS} resends)")
                self._sendall(self.last)
            elif c == CTRL_C:
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
            self.idle()

    def read_packet(self):
        """-> the next packet's body, acked and unescaped (Ctrl-Cs before it go to interrupt())."""
        while True:
            if self._take_oob():
                self.interrupt()
            if not self.buf:
                self._wait_bytes()
                continue
            if self.buf[0] != START:
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
            return unescape(body)

    def poll(self, wait):
        """While the target runs (all-stop mode): wait up to `wait` s for bytes. Acks, NAKs and
        Ctrl-C (interrupt()) are handled; a packet is a ProtocolError."""
        if self._take_oob():
            self.interrupt()
        if self._recv(wait) and self._take_oob():
            self.interrupt()
        if self.buf and self.buf[0] not in OUT_OF_BAND:
            raise ProtocolError("a packet while the guest runs (all-stop mode)")

    def send(self, body):
        """Send one packet (str bodies as latin-1: one char, one byte)."""
        if isinstance(body, str):
            body = body.encode("latin-1")
        pkt = frame(body)
        self.last = pkt
        self.resends = 0
        self._sendall(pkt)


# --------------------------------------------------------------------------- encodings

def escape(data):
    """Binary data as a packet carries it: $ # } * escaped as } and the byte ^ 0x20."""
    out = bytearray()
    for b in data:
        if b in (END, START, ESCAPE, RUN_LENGTH):
            out += bytes((ESCAPE, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(body):
    if b"}" not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        b = body[i]
        if b == ESCAPE:
            if i + 1 >= len(body):
                raise ProtocolError("a packet ending in an escape")
            out.append(body[i + 1] ^ 0x20)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def hexnum(s):
    """A hex number of at most 64 bits."""
    if not s or len(s) > 16 or any(ch not in "0123456789abcdefABCDEF" for ch in s):
        raise ProtocolError(f"bad hex number {s[:40]!r}")
    return int(s, 16)


def decnum(s):
    if not s or not s.isascii() or not s.isdigit():      # (str.isdigit is True for '²', which int() refuses)
        raise ProtocolError(f"bad number {s[:40]!r}")
    return int(s)


def addr_len(s):
    """ADDR,LENGTH -> (addr, length)."""
    a, sep, n = s.partition(",")
    if not sep:
        raise ProtocolError(f"expected ADDR,LENGTH, not {s[:40]!r}")
    return hexnum(a), hexnum(n)


def unhex(s):
    """Hex data -> bytes."""
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise ProtocolError(f"bad hex data {s[:40]!r}") from None


def le64(v):
    """A 64-bit register value as GDB reads it: 16 hex digits, little-endian."""
    return (int(v) & MASK64).to_bytes(8, "little").hex()


def unle64(s):
    return int.from_bytes(unhex(s), "little") if len(s) == REG_HEX else hexnum("")
