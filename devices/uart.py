"""NS16550A UART at 0x1000_0000, IRQ 10, as on QEMU virt (register shift 0, 8-bit registers).

Registers by offset (DLAB = LCR bit 7 selects the divisor latch at 0 and 1):
  0 RBR (read) / THR (write) / DLL      4 MCR (bit 4: loopback)
  1 IER / DLM                           5 LSR (DR 0, BI 4, THRE 5, TEMT 6)
  2 IIR (read) / FCR (write)            6 MSR
  3 LCR                                 7 SCR
Transmit is immediate: a byte written to THR goes to the console at once, so
THRE and TEMT always read 1.  Receive: bytes from the host wait in an unbounded
FIFO (so nothing is lost when the guest is slow); when it is empty, reading
RBR, LSR or IIR (or the machine calling poll()) asks the input source (the
serial sockets) for more, without blocking.  feed() adds bytes from any thread.

Interrupts (PC16550D datasheet, table IV), highest priority first; IIR bits 3:0:
  0x6 receiver line status  IER.ELSI   LSR.BI set (send_break); reading LSR clears it
  0x4 received data         IER.ERBFI  data at or above the FIFO trigger level
                                       (or any data with the FIFO off); reading RBR clears it
  0xC character timeout     IER.ERBFI  data below the trigger level: the 4-character
                                       timeout is taken as already expired, since no
                                       more host input is on its way at that moment
  0x2 THR empty             IER.ETBEI  set after each THR write (transmit is immediate)
                                       and when ETBEI goes 0 -> 1; cleared by reading
                                       IIR while it reports this, or by a THR write
  0x0 modem status          IER.EDSSI  an MSR delta bit (only loopback changes the
                                       lines); reading MSR clears it
  0x1 none
IIR bits 7:6 read 11 while the FIFO is enabled (FCR bit 0), which is how Linux's
8250 driver recognises a 16550A.  The IrqLine is set to "some interrupt is
reported" after every register access, feed(), poll() and send_break().

Loopback (MCR bit 4): THR bytes go to the receive FIFO instead of the console and
MSR's CTS/DSR/RI/DCD follow MCR's RTS/DTR/OUT1/OUT2, as the 8250 driver's probe
checks.  Outside loopback the modem lines read as a connected line (DCD, DSR, CTS).
"""
import threading
from collections import deque

from emu.spec import UART_BASE, UART_SIZE, UART_IRQ  # noqa: F401 (QEMU virt's map; importable from here)
from devices.bus import Device, IrqLine

UART_CLOCK = 3_686_400             # the input clock the divisor divides (QEMU virt's)

RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
LCR_DLAB = 0x80
IER_ERBFI, IER_ETBEI, IER_ELSI, IER_EDSSI = 0x01, 0x02, 0x04, 0x08
IIR_MODEM_STATUS, IIR_NO_INTERRUPT, IIR_THR_EMPTY = 0x00, 0x01, 0x02
IIR_RX_DATA, IIR_LINE_STATUS, IIR_CHAR_TIMEOUT = 0x04, 0x06, 0x0C
IIR_FIFO_ENABLED = 0xC0
FCR_ENABLE, FCR_CLEAR_RX, FCR_CLEAR_TX = 0x01, 0x02, 0x04
FCR_TRIGGER = (1, 4, 8, 14)        # by FCR bits 7:6
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_DR, LSR_OE, LSR_BI, LSR_THRE, LSR_TEMT = 0x01, 0x02, 0x10, 0x20, 0x40
MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD = 0x01, 0x02, 0x04, 0x08
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
MSR_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS


class Uart16550(Device):
    name = "uart"
    dt_name = "serial"
    dt_compatible = ("ns16550a",)

    def __init__(self, console, input_source=None, irq=None):
        self.console = console
        self.input_source = input_source      # callable -> bytes (may be empty); never blocks
        self.irq = irq if irq is not None else IrqLine()
        if self.irq.sink is not None:
            self.irq_source = self.irq.source     # the device tree's `interrupts`
        self.rx = deque()
        self.lock = threading.RLock()         # feed() and poll() come from other threads
        self.ier = self.lcr = self.mcr = self.scr = 0
        self.fcr = 0
        self.dll, self.dlm = 0x01, 0x00
        self.thr_pending = False              # the THR-empty interrupt's latch
        self.lsr_errors = 0                   # LSR.BI (and OE, never set: the FIFO has no limit)
        self.msr_delta = 0

    # --- host side
    def feed(self, data):
        """Host input: bytes the guest will read from RBR (thread-safe)."""
        with self.lock:
            self.rx.extend(bytes(data))
            self._update_irq()

    def poll(self):
        """Ask the input source for bytes if the FIFO is empty (the machine calls this
        periodically, so input raises the receive interrupt without the guest polling)."""
        self._refill()
        with self.lock:
            self._update_irq()

    def send_break(self):
        """The host sends a break: a NUL character with LSR.BI (Linux: magic SysRq)."""
        with self.lock:
            self.rx.append(0)
            self.lsr_errors |= LSR_BI
            self._update_irq()

    def _refill(self):
        # outside self.lock: the input source takes the console's own lock
        if not self.rx and self.input_source is not None:
            data = self.input_source()
            if data:
                self.feed(data)

    # --- interrupt state
    def _modem_lines(self):
        if self.mcr & MCR_LOOP:
            m = self.mcr
            return ((MSR_CTS if m & MCR_RTS else 0) | (MSR_DSR if m & MCR_DTR else 0)
                    | (MSR_RI if m & MCR_OUT1 else 0) | (MSR_DCD if m & MCR_OUT2 else 0))
        return MSR_CONNECTED

    def _interrupt_id(self):
        if self.ier & IER_ELSI and self.lsr_errors:
            return IIR_LINE_STATUS
        if self.ier & IER_ERBFI and self.rx:
            if self.fcr & FCR_ENABLE and len(self.rx) < FCR_TRIGGER[self.fcr >> 6]:
                return IIR_CHAR_TIMEOUT
            return IIR_RX_DATA
        if self.ier & IER_ETBEI and self.thr_pending:
            return IIR_THR_EMPTY
        if self.ier & IER_EDSSI and self.msr_delta:
            return IIR_MODEM_STATUS
        return IIR_NO_INTERRUPT

    def _update_irq(self):
        self.irq.set(self._interrupt_id() != IIR_NO_INTERRUPT)

    # --- registers
    def read(self, offset, size):
        if size != 1:
            return 0                          # the 16550 has 8-bit registers only
        if offset in (RBR_THR_DLL, IIR_FCR, LSR) and not self.lcr & LCR_DLAB:
            self._refill()
        with self.lock:
            value = self._read(offset)
            self._update_irq()
            return value

    def _read(self, offset):
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                return self.dll
            return self.rx.popleft() if self.rx else 0
        if offset == IER_DLM:
            return self.dlm if dlab else self.ier
        if offset == IIR_FCR:
            iid = self._interrupt_id()
            if iid == IIR_THR_EMPTY:
                self.thr_pending = False      # reading IIR clears the THRE interrupt it reports
            return iid | (IIR_FIFO_ENABLED if self.fcr & FCR_ENABLE else 0)
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            value = LSR_THRE | LSR_TEMT | self.lsr_errors | (LSR_DR if self.rx else 0)
            self.lsr_errors = 0
            return value
        if offset == MSR:
            value = self._modem_lines() | self.msr_delta
            self.msr_delta = 0
            return value
        if offset == SCR:
            return self.scr
        return 0

    def write(self, offset, size, value):
        if size != 1:
            return
        with self.lock:
            out = self._write(offset, value & 0xFF)
            self._update_irq()
        if out is not None:                   # to the console outside the lock: it may block
            self.console.write(bytes([out]))
            if out == 10:
                self.console.flush()

    def _write(self, offset, value):
        """-> the byte to transmit, or None."""
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                self.dll = value
                return None
            self.thr_pending = True           # THR is empty again at once
            if self.mcr & MCR_LOOP:
                self.rx.append(value)         # the transmitter is looped back to the receiver
                return None
            return value
        if offset == IER_DLM:
            if dlab:
                self.dlm = value
            else:
                if value & IER_ETBEI and not self.ier & IER_ETBEI:
                    self.thr_pending = True   # enabling ETBEI with THR empty interrupts
                self.ier = value & 0x0F
        elif offset == IIR_FCR:
            # changing the FIFO mode empties the FIFOs (datasheet, FCR bit 0)
            if value & FCR_CLEAR_RX or (value ^ self.fcr) & FCR_ENABLE:
                self.rx.clear()
            self.fcr = value & 0xC9           # bits 1 and 2 clear themselves
        elif offset == LCR:
            self.lcr = value
        elif offset == MCR:
            before = self._modem_lines()
            self.mcr = value & 0x1F
            after = self._modem_lines()
            changed = before ^ after
            self.msr_delta |= ((MSR_DCTS if changed & MSR_CTS else 0)
                               | (MSR_DDSR if changed & MSR_DSR else 0)
                               | (MSR_TERI if before & ~after & MSR_RI else 0)
                               | (MSR_DDCD if changed & MSR_DCD else 0))
        elif offset == SCR:
            self.scr = value
        return None

    # --- device tree
    def fdt_extra(self, ctx):
        return {"clock-frequency": UART_CLOCK}
