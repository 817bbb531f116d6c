"""CLINT at 0x0200_0000 (as on QEMU virt and Spike): msip, mtimecmp, mtime.

A fast-path device: its registers are served inside the Numba loop by
emu/timer.py from the hart's state arrays, so this class only claims the range
and describes itself for the device tree.
"""
from emu.spec import CLINT_BASE, CLINT_SIZE, IRQ_M_SOFT, IRQ_M_TIMER   # the interrupts it drives
from emu.state import MMIO_CLINT


class Clint:
    name = "clint"
    kind = MMIO_CLINT
    base = CLINT_BASE
    size = CLINT_SIZE
    dt_name = "clint"
    dt_compatible = ("sifive,clint0", "riscv,clint0")
    irq_source = None

    def fdt_extra(self, ctx):
        ext = []
        for h in range(ctx.hart_count):
            ext += [ctx.phandle(f"cpu{h}-intc"), IRQ_M_SOFT, ctx.phandle(f"cpu{h}-intc"), IRQ_M_TIMER]
        return {"interrupts-extended": ext}
