"""The NS16550A UART (devices/uart.py): registers, interrupts (IIR priorities, THRE,
FIFO trigger and timeout, loopback, what Linux's 8250 driver probes), the machine's
trap table, and the lifecycle's serial socket carrying it both ways."""
import io
import threading
from pathlib import Path

from devices.bus import IrqLine
from devices.plic import Plic
from devices.uart import (Uart16550, UART_BASE, UART_IRQ, LSR_DR, LSR_THRE, LSR_TEMT, LSR_BI,
                          IER_ERBFI, IER_ETBEI, IER_ELSI, IER_EDSSI, IIR_NO_INTERRUPT, IIR_THR_EMPTY,
                          IIR_RX_DATA, IIR_CHAR_TIMEOUT, IIR_LINE_STATUS, IIR_MODEM_STATUS)
from lifecycle import GuestConfig, GuestLifecycle, KernelType
from lifecycle.machine.board import Machine

ECHO = Path(__file__).resolve().parent / "guest" / "bin" / "dev_uart_echo.elf"
# A hang guard for blocking calls, not a pass criterion (the loop is compiled before the first test:
# conftest._warm_loop).
HANG_GUARD_S = 300


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
    s.settimeout(HANG_GUARD_S)          # a hang guard: recv() raises instead of blocking forever
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
        chunk = s.recv(4096)
        assert chunk, f"EOF before the guest was ready: {got!r} {errors}"
        got += chunk
    s.sendall(b"risc-v q")
    while b"bye\n" not in got:
        chunk = s.recv(4096)
        assert chunk, f"EOF before the guest finished: {got!r} {errors}"
        got += chunk
    t.join(HANG_GUARD_S)
    assert not t.is_alive() and not errors, errors
    assert got == b"uart ready\nRISC-V bye\n"
    assert guest.exit_code == 0
    s.close()


# ------------------------------------------------------------------ interrupts (IRQ 10 via the PLIC)

RBR, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR = 0, 1, 2, 2, 3, 4, 5, 6, 7


class Wire:
    """An IrqLine sink that records the levels it was set to."""
    def __init__(self):
        self.levels = []

    def __call__(self, source, level):
        assert source == UART_IRQ
        self.levels.append(level)

    @property
    def level(self):
        return self.levels[-1] if self.levels else False


def uart(**kw):
    wire = Wire()
    out = io.BytesIO()
    u = Uart16550(out, irq=IrqLine(sink=wire, source=UART_IRQ), **kw)
    return u, wire, out


def test_iir_says_none_and_shows_the_fifo_in_bits_7_6():
    u, wire, _ = uart()
    assert u.read(IIR, 1) == IIR_NO_INTERRUPT
    u.write(FCR, 1, 0x01)
    assert u.read(IIR, 1) == 0xC1
    u.write(FCR, 1, 0x00)
    assert u.read(IIR, 1) == 0x01
    assert wire.levels == []


def test_receive_interrupt_follows_the_fifo():
    u, wire, _ = uart()
    u.feed(b"ab")
    assert not wire.level                                # IER.ERBFI is off
    u.write(IER, 1, IER_ERBFI)
    assert wire.level and u.read(IIR, 1) == IIR_RX_DATA
    assert u.read(RBR, 1) == ord("a") and wire.level
    assert u.read(RBR, 1) == ord("b")
    assert not wire.level and u.read(IIR, 1) == IIR_NO_INTERRUPT
    u.feed(b"c")
    assert wire.levels == [True, False, True]
    u.write(IER, 1, 0)
    assert not wire.level and u.read(RBR, 1) == ord("c")


def test_fifo_trigger_level_and_character_timeout():
    u, wire, _ = uart()
    u.write(FCR, 1, 0x81)                                # FIFO on, trigger level 8
    u.write(IER, 1, IER_ERBFI)
    u.feed(b"123")
    assert wire.level and u.read(IIR, 1) == 0xC0 | IIR_CHAR_TIMEOUT
    u.feed(b"45678")
    assert u.read(IIR, 1) == 0xC0 | IIR_RX_DATA
    u.read(RBR, 1)
    assert u.read(IIR, 1) == 0xC0 | IIR_CHAR_TIMEOUT
    u.write(FCR, 1, 0x83)                                # clear the receive FIFO
    assert not wire.level and not u.read(LSR, 1) & LSR_DR


def test_changing_the_fifo_mode_empties_it():
    u, _, _ = uart()
    u.feed(b"xyz")
    u.write(FCR, 1, 0x01)
    assert not u.read(LSR, 1) & LSR_DR
    u.feed(b"x")
    u.write(FCR, 1, 0x01)                                # same mode: kept
    assert u.read(LSR, 1) & LSR_DR


def test_thr_empty_interrupt():
    u, wire, out = uart()
    u.write(IER, 1, IER_ETBEI)                           # enabling it with THR empty interrupts
    assert wire.level and u.read(IIR, 1) == IIR_THR_EMPTY
    assert not wire.level                                # reading IIR cleared it
    assert u.read(IIR, 1) == IIR_NO_INTERRUPT
    u.write(IER, 1, IER_ETBEI | IER_ERBFI)               # ETBEI stays on: no new edge
    assert not wire.level
    u.write(RBR, 1, ord("k"))                            # THR written, and empty again at once
    assert out.getvalue() == b"k" and wire.level
    u.write(IER, 1, IER_ERBFI)
    assert not wire.level
    u.write(IER, 1, IER_ERBFI | IER_ETBEI)
    assert wire.level and u.read(IIR, 1) == IIR_THR_EMPTY


def test_interrupt_priority_and_line_status():
    u, wire, _ = uart()
    u.write(MCR, 1, 0x10)                                # loopback: MSR deltas, for the lowest one
    u.write(MCR, 1, 0x00)
    u.write(IER, 1, IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI)
    u.send_break()                                       # a NUL with LSR.BI
    assert u.read(IIR, 1) == IIR_LINE_STATUS
    assert u.read(LSR, 1) & (LSR_BI | LSR_DR) == LSR_BI | LSR_DR
    assert not u.read(LSR, 1) & LSR_BI                   # reading LSR cleared BI
    assert u.read(IIR, 1) == IIR_RX_DATA
    assert u.read(RBR, 1) == 0
    assert u.read(IIR, 1) == IIR_THR_EMPTY               # this read clears THRE...
    assert u.read(IIR, 1) == IIR_MODEM_STATUS and wire.level   # ...so the modem status shows
    assert u.read(MSR, 1) & 0x0F
    assert u.read(IIR, 1) == IIR_NO_INTERRUPT and not wire.level


def test_loopback():
    u, wire, out = uart()
    u.write(MCR, 1, 0x10 | 0x0A)                         # LOOP | OUT2 | RTS: Linux's probe
    assert u.read(MSR, 1) & 0xF0 == 0x90                 # DCD (OUT2) and CTS (RTS)
    u.write(MCR, 1, 0x10 | 0x05)                         # DTR | OUT1
    assert u.read(MSR, 1) == 0x60 | 0x0B                 # DSR, RI; deltas DCTS DDSR DDCD
    u.write(MCR, 1, 0x10)
    assert u.read(MSR, 1) == 0x06                        # DDSR, TERI (RI fell)
    u.write(RBR, 1, ord("L"))                            # looped back, not sent
    assert out.getvalue() == b"" and u.read(LSR, 1) & LSR_DR and u.read(RBR, 1) == ord("L")
    u.write(MCR, 1, 0x0B)
    assert u.read(MSR, 1) & 0xF0 == 0xB0                 # a connected line again


def test_non_byte_accesses_change_nothing():
    u, wire, _ = uart()
    u.feed(b"q")
    u.write(IER, 2, IER_ERBFI)
    u.write(IER, 4, IER_ERBFI)
    assert u.read(IER, 1) == 0 and u.read(RBR, 4) == 0 and u.read(LSR, 2) == 0
    assert not wire.level and u.read(RBR, 1) == ord("q")


def test_divisor_latch_leaves_ier_alone():
    u, wire, _ = uart()
    u.write(IER, 1, IER_ERBFI)
    u.write(LCR, 1, 0x83)
    u.write(IER, 1, 0x00)                                # DLM
    u.write(RBR, 1, 0x01)                                # DLL
    u.write(LCR, 1, 0x03)
    assert u.read(IER, 1) == IER_ERBFI
    u.write(SCR, 1, 0xA5)
    assert u.read(SCR, 1) == 0xA5


def test_poll_brings_host_input_and_raises_the_interrupt():
    chunks = [b"", b"in"]
    u, wire, _ = uart(input_source=lambda: chunks.pop(0) if chunks else b"")
    u.write(IER, 1, IER_ERBFI)
    u.poll()
    assert not wire.level
    u.poll()
    assert wire.level and bytes([u.read(RBR, 1), u.read(RBR, 1)]) == b"in"
    assert not wire.level


def test_input_from_another_thread_reaches_the_plic():
    outputs = []
    plic = Plic(lambda ctx, level: outputs.append((ctx, level)))
    plic.write(4 * UART_IRQ, 4, 1)                       # priority 1
    plic.write(0x2080, 4, 1 << UART_IRQ)                 # enabled for context 1 (S-mode)
    u = Uart16550(io.BytesIO(), irq=IrqLine(sink=plic.set_level, source=UART_IRQ))
    assert u.irq_source == UART_IRQ
    u.write(IER, 1, IER_ERBFI)
    data = bytes(range(256)) * 8
    t = threading.Thread(target=lambda: [u.feed(data[i:i + 7]) for i in range(0, len(data), 7)])
    t.start()
    t.join(HANG_GUARD_S)
    assert not t.is_alive()
    assert outputs == [(1, True)]
    assert plic.read(0x201004, 4) == UART_IRQ            # claim
    got = bytearray()
    while u.read(LSR, 1) & LSR_DR:
        got.append(u.read(RBR, 1))
    assert bytes(got) == data                            # nothing lost, in order
    plic.write(0x201004, 4, UART_IRQ)                    # complete: the line is low now
    assert outputs == [(1, True), (1, False)]


def test_linux_8250_autoconfig_and_startup():
    """The register sequences of Linux's 8250 driver (8250_port.c autoconfig() and
    serial8250_do_startup()) and the answers it needs to take this for a working 16550A."""
    u, wire, out = uart()
    # autoconfig: the IER existence test
    scratch = u.read(IER, 1)
    u.write(IER, 1, 0)
    scratch2 = u.read(IER, 1) & 0x0F
    u.write(IER, 1, 0x0F)
    scratch3 = u.read(IER, 1) & 0x0F
    u.write(IER, 1, scratch)
    assert (scratch2, scratch3) == (0, 0x0F)
    # the loopback test
    save_mcr, save_lcr = u.read(MCR, 1), u.read(LCR, 1)
    u.write(MCR, 1, 0x10 | 0x0A)
    assert u.read(MSR, 1) & 0xF0 == 0x90
    u.write(MCR, 1, save_mcr)
    # the FIFO test: IIR bits 7:6 after FCR = ENABLE_FIFO
    u.write(LCR, 1, 0xBF)
    u.write(FCR, 1, 0)                                   # "EFR" = 0
    u.write(LCR, 1, 0)
    u.write(FCR, 1, 0x01)
    assert u.read(IIR, 1) >> 6 == 3                      # -> autoconfig_16550a
    # autoconfig_16550a: no EFR (reads through IIR are not 0) ...
    u.write(LCR, 1, 0x80)
    assert u.read(IIR, 1) != 0
    u.write(LCR, 1, 0xBF)
    assert u.read(IIR, 1) != 0
    # ... not a National SuperIO (IIR bit 4 does not follow MCR.LOOP) ...
    u.write(LCR, 1, 0)
    status1 = u.read(MCR, 1)
    u.write(LCR, 1, 0xE0)
    assert not (u.read(IIR, 1) ^ status1) & 0x10
    u.write(LCR, 1, 0)
    u.write(MCR, 1, status1 ^ 0x10)
    u.write(LCR, 1, 0xE0)
    assert not (u.read(IIR, 1) ^ status1) & 0x10
    u.write(LCR, 1, 0)
    u.write(MCR, 1, status1)
    # ... not a TI16750 (no 64-byte FIFO bit 5) ...
    u.write(FCR, 1, 0x21)
    s1 = u.read(IIR, 1) >> 5
    u.write(FCR, 1, 0x01)
    u.write(LCR, 1, 0x80)
    u.write(FCR, 1, 0x21)
    s2 = u.read(IIR, 1) >> 5
    u.write(FCR, 1, 0x01)
    u.write(LCR, 1, 0)
    assert not (s1 == 6 and s2 == 7)
    # ... not an XScale (IER bit 6 is not writable)
    iersave = u.read(IER, 1)
    u.write(IER, 1, iersave | 0x40)
    assert not u.read(IER, 1) & 0x40
    u.write(IER, 1, iersave)
    u.write(LCR, 1, save_lcr)
    # serial8250_do_startup: clear the FIFOs and the interrupt registers
    for v in (0x01, 0x07, 0x00):
        u.write(FCR, 1, v)
    for reg in (LSR, RBR, IIR, MSR):
        u.read(reg, 1)
    assert u.read(LSR, 1) != 0xFF
    # the THRE re-assertion test (UART_BUG_THRE when it fails)
    assert u.read(LSR, 1) & LSR_THRE
    u.write(IER, 1, IER_ETBEI)
    iir1 = u.read(IIR, 1)
    u.write(IER, 1, 0)
    u.write(IER, 1, IER_ETBEI)
    iir = u.read(IIR, 1)
    u.write(IER, 1, 0)
    assert not (not iir1 & 1 and iir & 1)
    # the TX-enable test (UART_BUG_TXEN when no interrupt shows)
    u.write(LCR, 1, 0x03)
    u.write(MCR, 1, 0x0B)                                # DTR | RTS | OUT2
    u.write(IER, 1, IER_ETBEI)
    lsr, iir = u.read(LSR, 1), u.read(IIR, 1)
    u.write(IER, 1, 0)
    assert not (lsr & LSR_TEMT and iir & 1)
    assert not wire.level and out.getvalue() == b""


class _DtCtx:
    def phandle(self, what):
        return 1


def test_device_tree_attributes():
    u, _, _ = uart()
    assert (u.dt_name, u.dt_compatible, u.irq_source) == ("serial", ("ns16550a",), 10)
    assert u.fdt_extra(_DtCtx()) == {"clock-frequency": 3_686_400}
    assert Uart16550(io.BytesIO()).irq_source is None     # unconnected: no interrupts property
