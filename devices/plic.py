"""PLIC at 0x0C00_0000: the RISC-V platform-level interrupt controller, as on QEMU virt.

Register map (RISC-V PLIC specification 1.0.0, SiFive's riscv,plic0), all 32-bit:
  0x000000 + 4*s          priority of source s (3 bits, WARL: 0 = never interrupts)
  0x001000 + 4*w          pending bits of sources 32w..32w+31 (read-only)
  0x002000 + 0x80*c + 4*w enable bits of sources 32w..32w+31 for context c
  0x200000 + 0x1000*c     priority threshold of context c (3 bits, WARL)
  0x200004 + 0x1000*c     claim (read) / complete (write) for context c
Sources are 1..num_sources (source 0 does not exist: its bits read 0).
Contexts: 2h = hart h M-mode (mip.MEIP), 2h+1 = hart h S-mode (mip.SEIP).
Other access sizes read 0 and are ignored on write; so are unused offsets.

Gateways are level-triggered: a source whose input is 1 becomes pending unless
it has been claimed and not yet completed; a claim clears the pending bit, and
the completion re-arms the gateway (pending again if the input is still 1).
As the spec says, a pending bit stays set if the input drops before the claim:
the handler then finds its device has nothing to do.

A context's output (on_change(context, level)) is 1 while some source is
pending, enabled for it and of priority above its threshold.  set_level may be
called from any thread (device threads, the serial sockets); the lock also keeps
on_change calls in the order the outputs changed, so on_change is called with
the lock held and must not wait for another thread that uses this PLIC.
"""
import threading

from emu.spec import PLIC_BASE, PLIC_SIZE  # noqa: F401 (QEMU virt's map; importable from here)
from emu.spec import IRQ_M_EXT, IRQ_S_EXT   # the interrupts its contexts drive
from devices.bus import Device

PRIORITY_BASE = 0x0000
PENDING_BASE = 0x1000
ENABLE_BASE = 0x2000
ENABLE_STRIDE = 0x80
CONTEXT_BASE = 0x20_0000
CONTEXT_STRIDE = 0x1000
CONTEXT_THRESHOLD = 0x0
CONTEXT_CLAIM = 0x4
PRIORITY_MASK = 0x7                 # 3 priority bits, as on QEMU virt


class Plic(Device):
    name = "plic"
    dt_name = "plic"
    dt_compatible = ("sifive,plic-1.0.0", "riscv,plic0")

    def __init__(self, on_change, num_sources=96, num_contexts=2):
        if not 1 <= num_sources <= 1023:
            raise ValueError(f"a PLIC has 1..1023 sources, not {num_sources}")
        if not 1 <= num_contexts <= 15872:
            raise ValueError(f"a PLIC has 1..15872 contexts, not {num_contexts}")
        self.on_change = on_change          # callable(context, level)
        self.num_sources = num_sources
        self.num_contexts = num_contexts
        self.words = (num_sources + 1 + 31) // 32     # bit s of word s//32; bit 0 is source 0
        self.valid = (1 << (num_sources + 1)) - 2    # the bits of sources 1..num_sources
        self.priority = [0] * (num_sources + 1)
        self.level = 0                      # gateway inputs (bit mask)
        self.pending = 0
        self.claimed = 0                    # claimed, not yet completed: the gateway is closed
        self.enable = [0] * num_contexts
        self.threshold = [0] * num_contexts
        self.output = [False] * num_contexts
        self.lock = threading.RLock()

    # --- gateway inputs
    def set_level(self, source, level):
        """Interrupt source `source`'s wire is now `level` (an IrqLine sink)."""
        if not 1 <= source <= self.num_sources:
            raise ValueError(f"PLIC source {source} does not exist (1..{self.num_sources})")
        bit = 1 << source
        with self.lock:
            if level:
                self.level |= bit
                if not self.claimed & bit:
                    self.pending |= bit
            else:
                self.level &= ~bit
            self._update()

    # --- the core
    def _eligible(self, ctx):
        """Sources pending, enabled for ctx and of priority above its threshold."""
        bits = self.pending & self.enable[ctx]
        th = self.threshold[ctx]
        out, s = 0, bits
        while s:
            low = s & -s
            if self.priority[low.bit_length() - 1] > th:
                out |= low
            s ^= low
        return out

    def _update(self):
        for ctx in range(self.num_contexts):
            level = self._eligible(ctx) != 0
            if level != self.output[ctx]:
                self.output[ctx] = level
                self.on_change(ctx, level)

    def claim(self, ctx):
        """The highest-priority eligible source (ties: the lowest id), now claimed; 0 if none."""
        with self.lock:
            bits = self._eligible(ctx)
            best, best_prio = 0, 0
            while bits:
                low = bits & -bits
                src = low.bit_length() - 1
                if self.priority[src] > best_prio:
                    best, best_prio = src, self.priority[src]
                bits ^= low
            if best:
                self.pending &= ~(1 << best)
                self.claimed |= 1 << best
                self._update()
            return best

    def complete(self, ctx, source):
        """Re-arm source's gateway; ignored unless source is enabled for ctx (PLIC spec 1.0.0 §8)."""
        with self.lock:
            if not 1 <= source <= self.num_sources or not self.enable[ctx] >> source & 1:
                return
            bit = 1 << source
            self.claimed &= ~bit
            if self.level & bit:
                self.pending |= bit
            self._update()

    # --- MMIO
    def _context_reg(self, offset):
        ctx, reg = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
        return (ctx, reg) if ctx < self.num_contexts else (None, None)

    def read(self, offset, size):
        if size != 4 or offset & 3:
            return 0
        with self.lock:
            if offset < PENDING_BASE:
                src = offset // 4
                return self.priority[src] if src <= self.num_sources else 0
            if offset < ENABLE_BASE:
                w = (offset - PENDING_BASE) // 4
                return (self.pending >> (32 * w)) & 0xFFFF_FFFF if w < self.words else 0
            if offset < CONTEXT_BASE:
                ctx, rel = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
                w = rel // 4
                if ctx >= self.num_contexts or w >= self.words:
                    return 0
                return (self.enable[ctx] >> (32 * w)) & 0xFFFF_FFFF
            ctx, reg = self._context_reg(offset)
            if ctx is None:
                return 0
            if reg == CONTEXT_THRESHOLD:
                return self.threshold[ctx]
            if reg == CONTEXT_CLAIM:
                return self.claim(ctx)
            return 0

    def write(self, offset, size, value):
        if size != 4 or offset & 3:
            return
        value &= 0xFFFF_FFFF
        with self.lock:
            if offset < PENDING_BASE:
                src = offset // 4
                if 1 <= src <= self.num_sources:
                    self.priority[src] = value & PRIORITY_MASK
                    self._update()
            elif offset < ENABLE_BASE:
                pass                                  # pending bits are read-only
            elif offset < CONTEXT_BASE:
                ctx, rel = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
                w = rel // 4
                if ctx < self.num_contexts and w < self.words:
                    m = 0xFFFF_FFFF << (32 * w)
                    self.enable[ctx] = ((self.enable[ctx] & ~m) | (value << (32 * w))) & self.valid
                    self._update()
            else:
                ctx, reg = self._context_reg(offset)
                if ctx is None:
                    return
                if reg == CONTEXT_THRESHOLD:
                    self.threshold[ctx] = value & PRIORITY_MASK
                    self._update()
                elif reg == CONTEXT_CLAIM:
                    self.complete(ctx, value)

    # --- device tree
    def fdt_extra(self, ctx):
        ext = []
        for c in range(self.num_contexts):     # context 2h+m: hart h, M (m=0) or S (m=1) mode
            ext += [ctx.phandle(f"cpu{c // 2}-intc"), IRQ_S_EXT if c % 2 else IRQ_M_EXT]
        return {
            "#address-cells": 0,
            "#interrupt-cells": 1,
            "interrupt-controller": True,
            "interrupts-extended": ext,
            "riscv,ndev": self.num_sources,
            "phandle": ctx.phandle(self),
        }
