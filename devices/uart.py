"""NS16550A UART at 0x1000_0000, as on QEMU virt (register shift 0, 8-bit registers).

Registers by offset (DLAB = LCR bit 7 selects the divisor latch at 0 and 1):
  0 RBR (read) / THR (write) / DLL      4 MCR
  1 IER / DLM                           5 LSR (DR bit 0, THRE bit 5, TEMT bit 6)
  2 IIR (read) / FCR (write)            6 MSR
  3 LCR                                 7 SCR
Transmit is immediate: a byte written to THR goes to the console at once, so
THRE and TEMT always read 1.  Receive: bytes from the host wait in a FIFO;
when it is empty, reading RBR or LSR asks the input source (the serial sockets)
for more, without blocking.  Interrupts (IRQ 10 through the PLIC) arrive with
the PLIC in the devices issue; IER and IIR already hold the values a driver
expects (IIR reports "no interrupt pending" until then).
"""
import threading
from collections import deque

from devices.bus import Device

UART_BASE = 0x1000_0000
UART_SIZE = 0x100

RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
LCR_DLAB = 0x80
LSR_DR, LSR_THRE, LSR_TEMT = 0x01, 0x20, 0x40
IIR_NO_INTERRUPT = 0x01
IIR_FIFO_ENABLED = 0xC0


class Uart16550(Device):
    name = "uart"

    def __init__(self, console, input_source=None):
        self.console = console
        self.input_source = input_source      # callable -> bytes (may be empty); never blocks
        self.rx = deque()
        self.lock = threading.Lock()
        self.ier = self.lcr = self.mcr = self.scr = 0
        self.fcr = 0
        self.dll, self.dlm = 0x01, 0x00

    def feed(self, data):
        """Host input: bytes the guest will read from RBR (thread-safe)."""
        with self.lock:
            self.rx.extend(bytes(data))

    def _refill(self):
        if not self.rx and self.input_source is not None:
            data = self.input_source()
            if data:
                self.feed(data)

    def read(self, offset, size):
        if size != 1:
            return 0                          # the 16550 has 8-bit registers only
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                return self.dll
            self._refill()
            with self.lock:
                return self.rx.popleft() if self.rx else 0
        if offset == IER_DLM:
            return self.dlm if dlab else self.ier
        if offset == IIR_FCR:
            return IIR_NO_INTERRUPT | (IIR_FIFO_ENABLED if self.fcr & 1 else 0)
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            self._refill()
            return LSR_THRE | LSR_TEMT | (LSR_DR if self.rx else 0)
        if offset == MSR:
            return 0xB0                       # CTS, DSR, DCD: a connected line
        if offset == SCR:
            return self.scr
        return 0

    def write(self, offset, size, value):
        if size != 1:
            return
        value &= 0xFF
        dlab = self.lcr & LCR_DLAB
        if offset == RBR_THR_DLL:
            if dlab:
                self.dll = value
            else:
                self.console.write(bytes([value]))
                if value == 10:
                    self.console.flush()
        elif offset == IER_DLM:
            if dlab:
                self.dlm = value
            else:
                self.ier = value & 0x0F
        elif offset == IIR_FCR:
            self.fcr = value
            if value & 0x02:                  # clear the receive FIFO
                with self.lock:
                    self.rx.clear()
        elif offset == LCR:
            self.lcr = value
        elif offset == MCR:
            self.mcr = value & 0x1F
        elif offset == SCR:
            self.scr = value
