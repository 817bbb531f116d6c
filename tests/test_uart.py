"""The NS16550A UART (devices/uart.py): registers, the machine's trap table, and the
lifecycle's serial socket carrying it both ways."""
import io
import socket
import threading
import time
from pathlib import Path

from devices.uart import Uart16550, UART_BASE, LSR_DR, LSR_THRE, LSR_TEMT
from lifecycle import GuestConfig, GuestLifecycle, KernelType
from lifecycle.machine import Machine

ECHO = Path(__file__).resolve().parent / "guest" / "bin" / "dev_uart_echo.elf"


def test_registers():
    out = io.BytesIO()
    u = Uart16550(out)
    assert u.read(5, 1) == LSR_THRE | LSR_TEMT          # nothing received, transmitter empty
    u.write(0, 1, ord("A"))
    assert out.getvalue() == b"A"
    u.write(3, 1, 0x80)                                 # DLAB: offsets 0 and 1 are the divisor
    u.write(0, 1, 0x0C)
    u.write(1, 1, 0x00)
    assert (u.read(0, 1), u.read(1, 1)) == (0x0C, 0)
    assert out.getvalue() == b"A"                       # the divisor write was not a character
    u.write(3, 1, 0x03)
    u.write(7, 1, 0x5A)
    assert u.read(7, 1) == 0x5A
    u.feed(b"xy")
    assert u.read(5, 1) & LSR_DR
    assert (u.read(0, 1), u.read(0, 1)) == (ord("x"), ord("y"))
    assert not u.read(5, 1) & LSR_DR
    u.feed(b"z")
    u.write(2, 1, 0x03)                                 # FCR: clear the receive FIFO
    assert not u.read(5, 1) & LSR_DR
    assert u.read(2, 1) & 0x01                          # IIR: no interrupt pending


def test_input_source_is_polled_without_blocking():
    chunks = [b"", b"hi", b""]
    u = Uart16550(io.BytesIO(), lambda: chunks.pop(0) if chunks else b"")
    assert not u.read(5, 1) & LSR_DR                    # the source had nothing yet
    assert u.read(5, 1) & LSR_DR
    assert bytes([u.read(0, 1), u.read(0, 1)]) == b"hi"


class _Console(io.BytesIO):
    def __init__(self, data):
        super().__init__()
        self.pending = bytearray(data)

    def read_input(self):
        data, self.pending = bytes(self.pending[:3]), self.pending[3:]
        return data


def test_machine_has_the_uart_in_its_trap_table():
    con = _Console(b"hello q")
    m = Machine(console=con)
    assert m.bus.find(UART_BASE)[1] is m.uart
    m.load(str(ECHO))
    r = m.run(max_instructions=10_000_000)
    assert (r.reason, r.exit_code) == ("exit", 0), r
    assert con.getvalue() == b"uart ready\nHELLO bye\n"


def test_serial_socket_carries_the_uart_both_ways():
    lc = GuestLifecycle()
    lc.create(GuestConfig(kernel_type=KernelType.ELF, kernel=str(ECHO)))
    guest = lc.bind()
    s = guest.get_serial()
    s.settimeout(30)
    errors = []

    def vcpu():
        try:
            lc.run()
        except Exception as e:          # reported below, not swallowed
            errors.append(e)
    t = threading.Thread(target=vcpu, daemon=True)
    t.start()
    got = b""
    while b"ready\n" not in got:
        got += s.recv(4096)
    s.sendall(b"risc-v q")
    while b"bye\n" not in got:
        chunk = s.recv(4096)
        assert chunk, f"EOF before the guest finished: {got!r}"
        got += chunk
    t.join(30)
    assert not t.is_alive() and not errors, errors
    assert got == b"uart ready\nRISC-V bye\n"
    assert guest.exit_code == 0
    s.close()
