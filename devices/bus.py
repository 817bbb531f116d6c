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

    def read(self, offset, size):
        return 0

    def write(self, offset, size, value):
        pass


class OverlapError(ValueError):
    pass


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
