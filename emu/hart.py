"""A RISC-V hart as a Python object: its state arrays and the loop that runs them.

The Hart owns the arrays documented in emu/state.py and calls emu.loop.run.
It knows nothing about devices: the machine (lifecycle/machine/board.py) gives it a
trap table and answers its EXIT_MMIO and EXIT_HTIF exits.  The same object
works with the JIT and with NUMBA_DISABLE_JIT=1 (the plain-Python engine);
which one runs is decided when numba is first imported.
"""
import numpy as np

from emu import state as S
from emu.ints import s64, u64
from emu.spec import RAM_BASE
from emu.csr import refresh_mode, flush_tlb
from emu.memory import invalidate_code, drop_regions


def jit_enabled():
    from numba.core import config
    return not config.DISABLE_JIT


class Hart:
    def __init__(self, ram_size=128 << 20, ram_base=RAM_BASE):
        if ram_size <= 0 or ram_size % 4096:
            raise ValueError(f"RAM size must be a positive multiple of 4 KiB, not {ram_size}")
        (self.regs, self.st, self.csr, self.ram, self.icache, self.tlb,
         self.pflags) = S.new_state(ram_size, ram_base)
        self.x = self.regs[:32]          # x0..x31; regs[32] absorbs writes to x0
        self.mmio = np.zeros((0, S.MMIO_COLS), np.int64)
        self.stop_flag = np.zeros(1, np.int32)
        self.ram_base = ram_base
        self.ram_size = ram_size
        # native regions (emu/regions.py): on with the JIT engine unless NUMBAVM_REGIONS=0;
        # the LLVM engine behind them is made on the first run
        import os
        self.use_regions = jit_enabled() and os.environ.get("NUMBAVM_REGIONS", "1") != "0"
        self.regions = None
        refresh_mode(self.st, self.csr)

    # --- registers
    @property
    def pc(self):
        return int(self.st[S.ST_PC])

    @pc.setter
    def pc(self, v):
        self.st[S.ST_PC] = s64(v)

    @property
    def priv(self):
        return int(self.st[S.ST_PRIV])

    @priv.setter
    def priv(self, v):
        self.st[S.ST_PRIV] = v
        refresh_mode(self.st, self.csr)

    @property
    def instret(self):
        return int(self.st[S.ST_INSTRET])

    def reg(self, i):
        """x[i] as an unsigned Python int."""
        return u64(self.x[i])

    # --- memory, physical
    def _ram_off(self, paddr, n):
        off = paddr - self.ram_base
        if off < 0 or off + n > self.ram_size:
            raise ValueError(f"physical range 0x{paddr:x}..0x{paddr + n:x} is outside RAM "
                             f"0x{self.ram_base:x}..0x{self.ram_base + self.ram_size:x}")
        return off

    def write_phys(self, paddr, data):
        """Host write into guest RAM (loaders, DMA): keeps the decode cache coherent."""
        data = bytes(data)
        off = self._ram_off(paddr, len(data))
        self.ram[off:off + len(data)] = np.frombuffer(data, np.uint8)
        r = int(self.st[S.ST_RES_ADDR])
        if r >= 0 and paddr >> 3 <= r >> 3 <= (paddr + max(len(data), 1) - 1) >> 3:
            self.st[S.ST_RES_ADDR] = -1     # another agent wrote the reservation set: SC must fail
        first, last = off >> 12, (off + max(len(data), 1) - 1) >> 12
        if np.any(self.pflags[first:last + 1] & S.PF_CODE):
            invalidate_code(paddr, len(data), self.icache)
        if np.any(self.pflags[first:last + 1] & S.PF_REGION):
            drop_regions(paddr, max(len(data), 1), self.icache)

    def read_phys(self, paddr, n):
        off = self._ram_off(paddr, n)
        return self.ram[off:off + n].tobytes()

    def flush_decode_cache(self):
        """Forget every decoded instruction and native region (their code is compiled again when hot)."""
        self.icache[:S.HOT_BASE] = -1
        self.icache[S.HOT_BASE:S.EXTENT_BASE] = 0
        self.icache[S.EXTENT_BASE:] = S.EXTENT_EMPTY
        if self.regions is not None:
            self.regions.flush()             # what is compiling now was read before this

    # --- native regions
    def start_regions(self):
        """Make the native-region engine if this hart uses one (before running)."""
        if self.use_regions and self.regions is None:
            from emu.regions import Regions
            self.regions = Regions(self)

    def stop_regions(self):
        """Run from the loop alone from now on (a tracer or a debugger that single-steps)."""
        self.use_regions = False
        self.st[S.ST_REGION_ON] = 0

    def compile_region(self):
        """Answer the loop's EXIT_REGION."""
        if self.regions is not None:
            self.regions.compile()

    def flush_tlb(self):
        flush_tlb(self.tlb)

    # --- devices
    def set_mmio_table(self, rows):
        """rows: (base, size, kind, device id) tuples, built by devices/bus.py."""
        self.mmio = np.array(rows, np.int64).reshape(-1, S.MMIO_COLS)

    def set_tohost(self, tohost, fromhost=None):
        self.st[S.ST_TOHOST] = -1 if tohost is None else tohost
        self.st[S.ST_FROMHOST] = -1 if fromhost is None else fromhost
        if tohost is not None:
            self.pflags[self._ram_off(tohost, 8) >> 12] |= S.PF_HTIF

    def complete_mmio_load(self, value):
        """Finish the load the loop exited for (EXIT_MMIO) with the device's value."""
        st = self.st
        size = int(st[S.ST_MMIO_SIZE])
        value = int(value) & ((1 << (8 * size)) - 1)
        if st[S.ST_MMIO_SIGNED] and value >> (8 * size - 1):
            value -= 1 << (8 * size)
        self.regs[int(st[S.ST_MMIO_RD])] = s64(value)
        self._retire_mmio()

    def complete_mmio_store(self):
        self._retire_mmio()

    def _retire_mmio(self):
        self.st[S.ST_PC] = self.st[S.ST_MMIO_NPC]
        self.st[S.ST_INSTRET] += 1

    # --- running
    def run(self, max_instructions):
        """Run up to max_instructions; -> an emu.state.EXIT_* reason."""
        from emu.loop import run
        self.regs[0] = 0                    # whatever a host tool wrote there, x0 reads zero
        self.start_regions()
        st = self.st
        left = int(max_instructions)
        while True:
            before = int(st[S.ST_INSTRET] + st[S.ST_TRAPS] + st[S.ST_IRQS])
            with np.errstate(all="ignore"):     # the plain-Python engine wraps like the hardware
                why = int(run(self.regs, st, self.csr, self.ram, self.icache, self.tlb, self.pflags,
                              self.mmio, self.stop_flag, np.int64(left)))
            if why != S.EXIT_REGION:
                return why
            left -= int(st[S.ST_INSTRET] + st[S.ST_TRAPS] + st[S.ST_IRQS]) - before
            self.compile_region()
            if left <= 0:
                return S.EXIT_BUDGET

    def snapshot(self):
        """Everything that defines the machine state, as a dict of arrays (np.savez-able)."""
        return {"x": self.x.copy(), "st": self.st.copy(), "csr": self.csr.copy(), "ram": self.ram.copy()}
