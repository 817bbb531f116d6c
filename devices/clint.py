"""CLINT at 0x0200_0000 (as on QEMU virt and Spike): msip, mtimecmp, mtime.

A fast-path device: its registers are served inside the Numba loop by
emu/clint.py from the hart's state arrays, so this class only claims the range.
"""
from emu.clint import CLINT_SIZE
from emu.state import MMIO_CLINT

CLINT_BASE = 0x0200_0000


class Clint:
    name = "clint"
    kind = MMIO_CLINT
    base = CLINT_BASE
    size = CLINT_SIZE
