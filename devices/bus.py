"""The MMIO trap table: every device's address range(s), in one place.

A device is registered with add(base, size, device).  Overlapping ranges are
refused when the machine is built (lifecycle maps that to DEVICE_MEMORY_OVERLAP).
The table is handed to the hart as an int64 array of (base, size, kind, id) rows
(emu/state.py MMIO_*): fast-path devices (kind MMIO_CLINT) are served inside the
Numba loop from the state arrays; for a Python device (kind MMIO_PYTHON) the
loop returns EXIT_MMIO and the machine calls device.read / device.write.
An address in no range and not in RAM is a guest access fault, raised by the loop.
"""
from emu.state import MMIO_PYTHON


class Device:
    """A Python MMIO device: subclass, set `name`, implement read and write.

    offset is relative to the range's base; size is 1, 2, 4 or 8 and the access
    is naturally aligned (the hart raises an access fault otherwise).
    """
    name = "device"
    kind = MMIO_PYTHON
    # the device-tree node devices/firmware/devicetree.py makes for it: <dt_name>@<base>
    # with these compatible strings, reg, and (when irq_source is set by the
    # machine) interrupts/interrupt-parent; fdt_extra() adds device-specific props.
    dt_name = None                 # None: no node in the device tree
    dt_compatible = ()
    irq_source = None              # PLIC source number, set when the machine wires the IRQ

    def fdt_extra(self, ctx):
        """Extra properties for this device's node: {name: value}. ctx: see devices/firmware/devicetree.py."""
        return {}

    def read(self, offset, size):
        return 0

    def write(self, offset, size, value):
        pass


class OverlapError(ValueError):
    pass


class IrqLine:
    """One interrupt wire from a device to an input of the interrupt controller.

    A device holds an IrqLine and calls set(level) whenever the condition it
    signals changes (level-triggered, as the PLIC's gateways expect); the machine
    connects it to PLIC source `source`.  An unconnected line goes nowhere.
    """
    def __init__(self, sink=None, source=0):
        self.sink = sink              # callable(source, level) -> None, e.g. Plic.set_level
        self.source = source
        self.level = False

    def set(self, level):
        level = bool(level)
        if level != self.level:
            self.level = level
            if self.sink is not None:
                self.sink(self.source, level)


class DmaError(Exception):
    """A device was asked (by the guest) to touch memory outside guest RAM."""


class GuestMemory:
    """Guest physical RAM as DMA-capable devices see it (virtio rings and buffers).

    Every access is checked against RAM: outside it raises DmaError, which a
    device turns into an error status or NEEDS_RESET, never a host crash.
    Writes go through the hart so that the decode cache and LR reservations
    stay coherent with what the guest sees.
    """
    def __init__(self, hart):
        self.hart = hart
        self.base = hart.ram_base
        self.size = hart.ram_size

    def contains(self, paddr, n):
        return n >= 0 and self.base <= paddr and paddr + n <= self.base + self.size

    def _check(self, paddr, n):
        if not self.contains(paddr, n):
            raise DmaError(f"DMA range 0x{paddr:x}..0x{paddr + n:x} is outside guest RAM")

    def read(self, paddr, n):
        self._check(paddr, n)
        return self.hart.read_phys(paddr, n)

    def write(self, paddr, data):
        self._check(paddr, len(data))
        self.hart.write_phys(paddr, data)

    def read_u16(self, paddr):
        return int.from_bytes(self.read(paddr, 2), "little")

    def read_u32(self, paddr):
        return int.from_bytes(self.read(paddr, 4), "little")

    def read_u64(self, paddr):
        return int.from_bytes(self.read(paddr, 8), "little")

    def write_u16(self, paddr, v):
        self.write(paddr, (v & 0xFFFF).to_bytes(2, "little"))

    def write_u32(self, paddr, v):
        self.write(paddr, (v & 0xFFFFFFFF).to_bytes(4, "little"))


class TrapTable:
    def __init__(self):
        self.entries = []          # (base, size, device)

    def add(self, base, size, device):
        if size <= 0:
            raise ValueError(f"{device.name}: MMIO range size must be positive, not {size}")
        for b, s, d in self.entries:
            if base < b + s and b < base + size:
                raise OverlapError(f"{device.name} at 0x{base:x}..0x{base + size:x} overlaps "
                                   f"{d.name} at 0x{b:x}..0x{b + s:x}")
        self.entries.append((base, size, device))
        return len(self.entries) - 1

    def check_ram(self, ram_base, ram_size):
        for b, s, d in self.entries:
            if b < ram_base + ram_size and ram_base < b + s:
                raise OverlapError(f"{d.name} at 0x{b:x}..0x{b + s:x} overlaps RAM at "
                                   f"0x{ram_base:x}..0x{ram_base + ram_size:x}")

    def rows(self):
        return [(b, s, d.kind, i) for i, (b, s, d) in enumerate(self.entries)]

    def device(self, index):
        return self.entries[index][2]

    def find(self, addr):
        for b, s, d in self.entries:
            if b <= addr < b + s:
                return b, d
        return None, None
