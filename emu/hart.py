"""A RISC-V hart as a Python object: its state arrays and the loop that runs them.

The Hart owns the arrays documented in emu/state.py and calls emu.loop.run.
It knows nothing about devices: the machine (lifecycle/machine/board.py) gives it a
trap table and answers its EXIT_MMIO and EXIT_HTIF exits.  The same object
works with the JIT and with NUMBA_DISABLE_JIT=1 (the plain-Python engine);
which one runs is decided when numba is first imported.

What the hart's own run() and the machine's run loop share lives here, once:
  * Hart.call_loop: one call into the loop, with the steps it took counted and
    EXIT_REGION answered (the region compiled, then on), so no caller sees it;
  * Hart.prepare_run: x0 zeroed and the native-region engine made, before a run;
  * retire_mmio_load / retire_mmio_store: an EXIT_MMIO access finished with the
    device's answer (Hart.complete_mmio_load/store and the machine's exit path).
"""
import numpy as np

from emu import isastring, state as S
from emu.ints import s64, u64
from emu.spec import RAM_BASE, F_BASE, MSTATUS, MSTATUS_FS
from emu.csr import refresh_mode, flush_tlb
from emu.memory import invalidate_code, drop_regions

# A step is one instruction retired or one trap or interrupt taken: the unit of emu.loop.run's budget.
_INSTRET, _TRAPS, _IRQS = S.ST_INSTRET, S.ST_TRAPS, S.ST_IRQS
_REGION = S.EXIT_REGION
_TRIG_LDST = S.ST_TRIG_LDST
_MMIO_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF, 8: (1 << 64) - 1}


def retire_mmio_load(st, regs, value):
    """Finish the load the loop exited for (EXIT_MMIO) with the device's `value`: truncated to the
    access size, sign-extended as the instruction says (an 8-byte value always is: x[] holds int64),
    written to its destination register; then the load retires (pc = the next pc, instret + 1).

    st: a memoryview of the hart's st array (Hart.stm): Python ints, which are cheaper than numpy
    scalars on the machine's exit path (every device register access comes here) and wrap nothing."""
    size = st[S.ST_MMIO_SIZE]
    value = int(value) & _MMIO_MASK[size]
    if value >> (8 * size - 1) and (size == 8 or st[S.ST_MMIO_SIGNED]):
        value -= 1 << (8 * size)
    if st[S.ST_MMIO_RD] >= F_BASE and size == 4:
        value -= 1 << 32                  # flw: the single NaN-boxed (its upper 32 bits all ones)
    regs[st[S.ST_MMIO_RD]] = value
    st[S.ST_PC] = st[S.ST_MMIO_NPC]
    st[_INSTRET] += 1


def retire_mmio_store(st):
    """Finish the store the loop exited for (EXIT_MMIO), after the device took it: it retires.
    st: a memoryview of the hart's st array (Hart.stm)."""
    st[S.ST_PC] = st[S.ST_MMIO_NPC]
    st[_INSTRET] += 1


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
        self.f = self.regs[F_BASE:]      # f0..f31 (bit patterns; a single NaN-boxed)
        self.mmio = np.zeros((0, S.MMIO_COLS), np.int64)
        self.stop_flag = np.zeros(1, np.int32)
        self._arrays()
        self.stm = memoryview(self.st)   # st read and written as Python ints (host-side hot paths)
        self.ram_base = ram_base
        self.ram_size = ram_size
        # native regions (emu/regions/): on with the JIT engine unless NUMBAVM_REGIONS=0;
        # the LLVM engine behind them is made on the first run
        import os
        self.use_regions = jit_enabled() and os.environ.get("NUMBAVM_REGIONS", "1") != "0"
        self.regions = None
        self._checked = {}               # prepare_run's loop -> run_checked, for call_loop
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

    @property
    def steps(self):
        """Steps taken so far: instructions retired + traps taken + interrupts taken (a budget's unit)."""
        st = self.stm
        return st[_INSTRET] + st[_TRAPS] + st[_IRQS]

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

    def set_isa(self, isa):
        """Select the extensions the hart has (before it runs): an ISA string (emu/isastring.py: IsaError,
        one line, for a bad one) or a selection mask.  Decoding, misa and the CSRs follow st[ST_ISA]; without
        F the FP unit is off for good (mstatus.FS reads 0).  -> the canonical ISA string."""
        mask = isastring.parse(isa) if isinstance(isa, str) else int(isa)
        self.st[S.ST_ISA] = mask
        if not mask & isastring.bit("f"):
            self.csr[MSTATUS] &= ~MSTATUS_FS
        self.flush_decode_cache()
        return isastring.canonical(mask)

    @property
    def isa(self):
        """The hart's ISA string (canonical: what misa and the device tree say)."""
        return isastring.canonical(int(self.st[S.ST_ISA]))

    def flush_decode_cache(self):
        """Forget every decoded instruction and native region (their code is compiled again when hot)."""
        self.icache[:S.HOT_BASE] = -1
        self.icache[S.HOT_BASE:S.EXTENT_BASE] = 0
        self.icache[S.EXTENT_BASE:] = S.EXTENT_EMPTY
        if self.regions is not None:
            self.regions.flush()             # what is compiling now was read before this

    # --- native regions
    def start_regions(self):
        """Make the native-region engine if this hart uses one (before running: prepare_run)."""
        if self.use_regions and self.regions is None:
            from emu.regions import Regions
            self.regions = Regions(self)

    def stop_regions(self):
        """Run from the loop alone from now on (a tracer or a debugger that single-steps)."""
        self.use_regions = False
        self.st[S.ST_REGION_ON] = 0

    def compile_region(self):
        """Answer the loop's EXIT_REGION (call_loop does, for every caller): a trigger CSR written
        (emu/trigger.py sync), regions to install or compile."""
        if self.st[S.ST_TRIG_SYNC]:
            from emu.trigger import sync
            sync(self)
        if self.regions is not None:
            self.regions.compile()

    def flush_tlb(self):
        flush_tlb(self.tlb)

    # --- devices
    def set_mmio_table(self, rows):
        """rows: (base, size, kind, device id) tuples, built by devices/bus.py."""
        self.mmio = np.array(rows, np.int64).reshape(-1, S.MMIO_COLS)
        self._arrays()

    def _arrays(self):
        """self.arrays: the loop's array arguments, in its order (a new mmio table replaces one)."""
        self.arrays = (self.regs, self.st, self.csr, self.ram, self.icache, self.tlb, self.pflags,
                       self.mmio, self.stop_flag)

    def set_tohost(self, tohost, fromhost=None):
        self.st[S.ST_TOHOST] = -1 if tohost is None else tohost
        self.st[S.ST_FROMHOST] = -1 if fromhost is None else fromhost
        if tohost is not None:
            self.pflags[self._ram_off(tohost, 8) >> 12] |= S.PF_HTIF

    def complete_mmio_load(self, value):
        """Finish the load the loop exited for (EXIT_MMIO) with the device's value."""
        retire_mmio_load(self.stm, self.regs, value)

    def complete_mmio_store(self):
        """Finish the store the loop exited for (EXIT_MMIO)."""
        retire_mmio_store(self.stm)

    # --- running
    def prepare_run(self, loop):
        """Before a run: x0 reads zero whatever a host tool wrote there, and the native-region
        engine is made (on the first run of a hart that uses one).  -> what to pass call_loop for
        `loop`: for a Numba dispatcher that has compiled it for this hart's arguments, the compiled
        function itself, since the dispatcher works out the types of all ten arguments on every
        call (0.4 us, a tenth of an HTIF or MMIO exit) and they never change; otherwise `loop`
        (not compiled yet, the plain-Python engine, a stand-in)."""
        self.regs[0] = 0
        self.start_regions()
        from emu import loop as L
        from emu.debugloop import run_checked
        prepared = self._compiled(loop)
        if loop is L.run:                # while a guest load/store trigger is armed: run_checked instead
            self._checked = {prepared: self._compiled(run_checked)}
        return prepared

    def _compiled(self, loop):
        overloads = getattr(loop, "overloads", None)
        if not overloads:
            return loop
        from numba import typeof
        compiled = overloads.get(tuple(typeof(a) for a in self.arrays) + (typeof(0),))
        return loop if compiled is None else compiled.entry_point

    def call_loop(self, loop, budget, seat=None):
        """One call into the instruction loop for at most `budget` steps -> (EXIT_* reason, steps taken).

        loop: emu.loop.run, or a stand-in with its signature (lifecycle/debug/trace.py's stepper).
        seat: None, or an object whose loop(loop, arrays, budget) runs the loop in its place (the
        machine's debugger seat, lifecycle/machine/seat.py).  EXIT_REGION is answered here (the
        region compiled, then on with what is left of the budget), so callers never see it.
        While the guest has a load/store trigger armed (emu/trigger.py), emu.loop.run's place is
        taken by emu/debugloop.run_checked, which checks each access before it is made."""
        st = self.stm
        before = st[_INSTRET] + st[_TRAPS] + st[_IRQS]
        left = budget
        while True:
            fn = self._checked.get(loop, loop) if st[_TRIG_LDST] else loop
            why = fn(*self.arrays, left) if seat is None else seat.loop(fn, self.arrays, left)
            done = st[_INSTRET] + st[_TRAPS] + st[_IRQS] - before
            if why != _REGION:
                return why, done
            self.compile_region()
            left = budget - done
            if left <= 0:
                return S.EXIT_BUDGET, done

    def run(self, max_instructions):
        """Run up to max_instructions steps; -> an emu.state.EXIT_* reason (never EXIT_REGION)."""
        from emu.loop import run
        loop = self.prepare_run(run)
        with np.errstate(all="ignore"):     # the plain-Python engine wraps like the hardware
            why, _ = self.call_loop(loop, np.int64(int(max_instructions)))
        return int(why)

    def snapshot(self):
        """Everything that defines the machine state, as a dict of arrays (np.savez-able)."""
        return {"x": self.x.copy(), "st": self.st.copy(), "csr": self.csr.copy(), "ram": self.ram.copy()}
