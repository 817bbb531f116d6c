"""The hart's state: a few NumPy arrays, laid out here and nowhere else.

Everything the hot loop (emu/loop.py), the cold paths (csr, trap, mmu), the
plain-Python engine, snapshots and a debugger see is in these arrays:

  x       int64[65]           integer registers x0..x31, x[32] where writes to x0 go (isa.X_SINK), then the
                              f registers f0..f31 (isa.F_BASE..; bit patterns, singles NaN-boxed)
  st      int64[ST_SIZE]      hart scalars: pc, privilege, counters, the pending-MMIO descriptor, ... (ST_* below)
  csr     int64[4096]         CSR storage indexed by CSR number (some CSRs are views: see emu/csr.py)
  ram     uint8[ram_size]     guest physical RAM at st[ST_RAM_BASE]
  icache  int64[ICACHE_WORDS + pages] pre-decoded instruction cache, one 16-byte slot (2 words) per instruction,
                              then the native-region tables (REGION_BASE, HOT_BASE)
  tlb     int64[3, TLB_SLOTS, 2]    software TLB, one direct-mapped table per access type (below)
  pflags  uint8[ram pages]    per-4KiB-RAM-page flags that send a store to the slow path (PF_* below)
  mmio    int64[n, 4]         the MMIO trap table: rows of (base, size, kind, device id) (MMIO_* below)
  stop    int32[1]            the stop flag: any non-zero value makes the loop return EXIT_STOP

Values are int64 two's complement throughout; unsigned views are taken where
the spec asks for unsigned arithmetic (see emu/alu.py).
"""
from enum import IntEnum

import numpy as np

from emu import isastring
from emu.spec import (PRV_U, PRV_S, PRV_M, MIP_MTIP, RAM_BASE,  # noqa: F401 (PRV_* stay importable from here)
                      MSTATUS, FS_INITIAL, N_REGS, PMPCFG0, PMPADDR0, PMP_R, PMP_W, PMP_X, PMP_A_SHIFT, PMP_NAPOT,
                      PMPADDR_BITS, STIMECMP, TDATA1_DISABLED)

# --- why the loop returned (its return value): one family, Exit; the loop (Numba) uses the plain
# EXIT_* ints below, generated from it, so that njit code sees int64 constants (no enum typing)
class Exit(IntEnum):
    BUDGET = 0    # the instruction budget of this call is spent
    STOP = 1      # the stop flag was set (lifecycle Stop, GDB Ctrl-C)
    HALT = 2      # the guest halted the machine; exit code in st[ST_EXIT_CODE]
    MMIO = 3      # a load/store to a Python device: descriptor in st[ST_MMIO_*]; Python completes it
    WFI = 4       # wfi with nothing that can wake the hart from inside the loop
    FATAL = 5     # the VMM cannot go on: reason in st[ST_FATAL]
    HTIF = 6      # the guest wrote HTIF tohost; Python reads and answers it
    SBI = 7       # ecall from S-mode with the VMM's own SBI (st[ST_SBI]): Python answers it (devices/firmware/sbi.py)
    # the debugger's reasons: loop.run never returns them itself; emu.debug.debug_exit() reads them off
    # the exits the loop leaves a debugger stop through (EXIT_DEBUG_BREAK, EXIT_DEBUG_WATCH below)
    BREAK = 8     # the next instruction is at a breakpoint (pc there, nothing retired)
    WATCH = 9     # a watchpoint was hit, see st[ST_DBG_HIT*]
    REGION = 10   # a hot code region wants compiling (st[ST_REGION_REQ]), or compiled regions are ready to
    # install (st[ST_REGION_READY]): emu/regions/; the hart answers it and runs on, so
    # callers of Hart.run and Machine.run never see it


EXIT_BUDGET = int(Exit.BUDGET)
EXIT_STOP = int(Exit.STOP)
EXIT_HALT = int(Exit.HALT)
EXIT_MMIO = int(Exit.MMIO)
EXIT_WFI = int(Exit.WFI)
EXIT_FATAL = int(Exit.FATAL)
EXIT_HTIF = int(Exit.HTIF)
EXIT_SBI = int(Exit.SBI)
EXIT_BREAK = int(Exit.BREAK)
EXIT_WATCH = int(Exit.WATCH)
EXIT_REGION = int(Exit.REGION)
# Why a debugger stop rides another exit: the loop has no spare code path for the debugger, and adding
# one would cost the hot loop a branch.  A breakpoint is found by fetch_decode, which returns "no pc"
# (like the trap-loop fault) so the loop leaves through its EXIT_FATAL path with st[ST_DBG_BREAK] set;
# a watchpoint is found by store_hooks, which asks the loop to leave like an HTIF store does, with
# st[ST_DBG_HIT] set.  emu.debug.debug_exit() turns them into EXIT_BREAK / EXIT_WATCH.  The loop
# returns them under these names, which say what they are:
EXIT_DEBUG_BREAK = EXIT_FATAL   # the exit a breakpoint stop leaves through (debug_exit: EXIT_BREAK)
EXIT_DEBUG_WATCH = EXIT_HTIF    # the exit a watchpoint stop leaves through (debug_exit: EXIT_WATCH)
EXIT_NAMES = tuple(e.name.lower() for e in Exit)

# --- st[] indices
ST_PC = 0
ST_PRIV = 1
ST_INSTRET = 2        # instructions retired since reset (drives budget, minstret and the clock)
ST_IDLE = 3           # clock cycles spent in wfi (clock = instret + idle)
ST_MINSTRET_OFF = 4   # minstret = instret + offset (minstret is writable)
ST_MCYCLE_OFF = 5     # mcycle = clock + offset
ST_RES_ADDR = 6       # LR reservation (physical address), -1 when none
ST_WFI = 7            # 1 while the hart waits in wfi
ST_EXIT_CODE = 8
ST_FATAL = 9          # FATAL_* code when EXIT_FATAL
ST_RAM_BASE = 10
ST_RAM_SIZE = 11
ST_TOHOST = 12        # physical address of HTIF tohost, -1 when none
ST_FROMHOST = 13
ST_MTIME_OFF = 14     # CLINT: mtime = clock // ST_TIME_DIV + offset (mtime is writable)
ST_MTIMECMP = 15      # CLINT mtimecmp (unsigned)
ST_TIME_DIV = 16      # clock cycles per mtime tick (deterministic timer)
ST_MMIO_ADDR = 17     # pending Python-device access: physical address
ST_MMIO_SIZE = 18     #   1, 2, 4 or 8 bytes
ST_MMIO_WRITE = 19    #   1 = store
ST_MMIO_VALUE = 20    #   value stored (store), or the value Python returns (load)
ST_MMIO_RD = 21       #   destination register (load)
ST_MMIO_SIGNED = 22   #   1 = sign-extend the loaded value
ST_MMIO_DEV = 23      #   device id from the trap table
ST_MMIO_NPC = 24      #   pc after the access
# cached mode, recomputed by csr.refresh_mode after anything that changes priv or a CSR (mstatus, satp, PMP, envcfg;
# ST_CBZE too); the host calls it after writing csr[] directly
ST_FETCH_VM = 25      # 1 = instruction fetch goes through the TLB (page tables and/or PMP: emu/mmu.py)
ST_DATA_VM = 26       # 1 = loads/stores go through the TLB (priv, or mstatus.MPP under MPRV)
ST_FETCH_CTX = 27     # bit index into a fetch TLB entry's permission mask
ST_DATA_CTX = 28      # bit index into a load/store TLB entry's permission mask
# statistics
ST_TRAPS = 29         # synchronous exceptions taken
ST_IRQS = 30          # interrupts taken
ST_TLB_MISSES = 31
ST_MMIO_COUNT = 32
ST_POLL = 33          # instructions between stop-flag polls (<= 4096)
ST_BARE_STRADDLERS = 34  # 1 = a page-straddling instruction was cached in bare mode
# interrupt wiring, set by the machine
ST_EIP = 35           # external interrupt lines into mip (MEIP | SEIP), driven by the PLIC's contexts
ST_SEIP_SW = 36       # the software-written part of mip.SEIP (mip.SEIP reads as software | external)
ST_TIMER_BIT = 37     # the mip bit the CLINT comparator drives: MTIP, or STIP when the VMM is the SBI
ST_SBI = 38           # 1 = the VMM implements the SBI: ecall from S-mode returns EXIT_SBI
ST_TIMER_REALTIME = 39  # 1 = wfi never skips ahead to the timer, it returns EXIT_WFI to the host: the realtime
                        # timer (mtime follows the host clock, set by Python between runs), and the deterministic
                        # timer while host input is attached (the host paces the skip: lifecycle/machine/board.py _idle)
# the debugger's area (emu/debug.py; written by the host between runs, all 0 when no debugger is attached)
ST_DBG_NBP = 40       # breakpoints in use: their pcs are st[ST_DBG_BP : ST_DBG_BP + n]
ST_DBG_NWATCH = 41    # watch ranges in use: (paddr lo, paddr hi, kind bits) triples from st[ST_DBG_WATCH]
ST_DBG_HIT = 42       # the kind bit (debug.WATCH_WRITE / WATCH_READ) of the last watch hit, 0 = none
ST_DBG_HIT_ADDR = 43  #   and the physical address it touched
ST_DBG_BREAK = 44     # 1 = fetch_decode stopped at a breakpoint (the loop then returns EXIT_FATAL)
ST_DBG_VIRT_BP = 45   # 1 = a breakpoint pc is not a RAM address: instructions decoded bare are not cached
ST_DBG_BP = 46
DBG_MAX_BP = 64
ST_DBG_BP_PA = ST_DBG_BP + DBG_MAX_BP   # each breakpoint's physical address once known, else -1
ST_DBG_WATCH = ST_DBG_BP_PA + DBG_MAX_BP
DBG_MAX_WATCH = 16
# native code regions (emu/regions/; all 0 = off, as under the plain-Python engine)
ST_REGION_ON = ST_DBG_WATCH + 3 * DBG_MAX_WATCH   # 1 = the loop samples hot code and enters compiled regions
ST_REGION_HOT = ST_REGION_ON + 1      # samples (one per chunk) of a 256-byte window that make it hot
ST_REGION_REQ_PC = ST_REGION_ON + 2   # EXIT_REGION: the sampled pc (virtual) ...
ST_REGION_REQ_PADDR = ST_REGION_ON + 3  # ... and its physical address
ST_REGION_ADDR = ST_REGION_ON + 4     # REGION_HOOKS: the physical address a region's store hit ...
ST_REGION_SIZE = ST_REGION_ON + 5     # ... and its size
ST_REGION_ENTRIES = ST_REGION_ON + 6  # statistics: calls into native regions
ST_REGION_BLOCKED = ST_REGION_ON + 7  # != 0: the debugger needs the loop alone (emu/debug.py: REGIONS_*)
ST_REGION_REQ = ST_REGION_ON + 8      # 1 = the loop put a request in ST_REGION_REQ_PC/PADDR (the hart clears it)
ST_REGION_READY = ST_REGION_ON + 9    # 1 = the compiler thread finished regions, or a trigger CSR was written
                                      # (emu/trigger.py): the loop returns EXIT_REGION
# the last two traps taken, recorded by emu/trap.take_trap (on the trap path only), so that a trap loop
# can name the trap that led into it (lifecycle/machine/board.py); each is 4 slots at TRAP_* offsets:
ST_TRAP_LAST = ST_REGION_ON + 10      # the last trap
ST_TRAP_PREV = ST_REGION_ON + 14      # the one before it
TRAP_CAUSE = 0        # the xcause value written (interrupt bit included)
TRAP_EPC = 1          # the pc it was taken at (virtual when the trapping context translates)
TRAP_TVAL = 2         # the xtval value written
TRAP_PRIV = 3         # the privilege it was taken from; -1 = no trap recorded
ST_FCSR = ST_REGION_ON + 18           # F/D: fcsr (frm << 5 | fflags), here rather than in csr[] so that native
                                      # regions, which see x[] and st[] only, run FP instructions too
# Sdtrig's trigger module (emu/trigger.py): tselect, each trigger's tdata1 and tdata2, and what is armed
ST_TSELECT = ST_REGION_ON + 19
ST_TRIG_EXEC = ST_REGION_ON + 20      # execute triggers armed (any action): fetch_decode asks emu/trigger.py
ST_TRIG_LDST = ST_REGION_ON + 21      # load/store triggers armed with action 0: the hart runs the checked loop
ST_TRIG_SYNC = ST_REGION_ON + 22      # 1 = a trigger CSR was written: the host empties the decode cache
N_TRIGGERS = 4                        # mcontrol6 triggers 0..3
ST_TDATA1 = ST_REGION_ON + 23
ST_TDATA2 = ST_TDATA1 + N_TRIGGERS
ST_ISA = ST_TDATA2 + N_TRIGGERS      # the extensions the hart has (--isa): emu/isastring.py's bit mask, read where
                                      # instructions are decoded (isa.decode_for) and by the CSRs they gate
ST_CBZE = ST_ISA + 1                  # cached mode too (csr.refresh_mode): 1 = cbo.zero is enabled at this privilege
                                      # (menvcfg/senvcfg.CBZE; always in M), part of a native region's key
ST_SIZE = ST_CBZE + 1

# --- EXIT_FATAL reasons
class Fatal(IntEnum):
    NONE = 0
    TRAP_LOOP = 1       # an instruction fetch fault at the trap handler's own address


FATAL_NONE = int(Fatal.NONE)
FATAL_TRAP_LOOP = int(Fatal.TRAP_LOOP)
FATAL_NAMES = ("none", "trap loop: the trap handler's address cannot be fetched")

# --- the pre-decoded instruction cache
# Slot index = (paddr >> 1) & ICACHE_MASK; one extra scratch slot (ICACHE_SLOTS) for
# instructions that must not be cached (a 32-bit instruction straddling a page under Sv39).
#   word 0 = paddr << 8 | op                           (tag: word0 >> 8 == paddr; -1 = empty)
#   word 1 = imm << 32 | ilen << 24 | rs2 << 16 | rs1 << 8 | rd
ICACHE_BITS = 16
ICACHE_SLOTS = 1 << ICACHE_BITS
ICACHE_MASK = ICACHE_SLOTS - 1
ICACHE_SCRATCH = ICACHE_SLOTS
# After the decode cache the same array holds the native-region tables (emu/regions/), so that
# the store hooks reach them without another argument everywhere:
#   region entry table, REGION_SLOTS rows of REGION_W words at REGION_BASE, row = (paddr >> 1) & REGION_MASK:
#     (paddr tag, virtual pc, native function address, code lo paddr, code hi paddr, mode key); tag -1 = empty
#   hot-code counters, HOT_SLOTS words at HOT_BASE, one per 256-byte window ((paddr >> 8) & HOT_MASK)
#   code extents, one word per RAM page at EXTENT_BASE: hi << 32 | lo, page offsets such that every
#     instruction ever decoded or compiled in the page lies in [lo, hi) (EXTENT_EMPTY: none); a
#     region's store to a page flagged only PF_CODE/PF_REGION outside that extent stays in the region
REGION_BITS = 10
REGION_SLOTS = 1 << REGION_BITS
REGION_MASK = REGION_SLOTS - 1
REGION_W = 6
# the words of a region entry table row, at REGION_BASE + REGION_W * row + RT_*
RT_PADDR = 0      # tag: the physical address of the entry point (-1 = empty; written last)
RT_PC = 1         # the virtual pc it is entered at
RT_FN = 2         # the compiled function's address (emu/native.py call_region)
RT_CODE_LO = 3    # the physical range [lo, hi) of the code compiled into the region
RT_CODE_HI = 4
RT_KEY = 5        # the translation mode it was compiled for (emu/native.py region_key)
REGION_BASE = 2 * (ICACHE_SLOTS + 1)
HOT_BITS = 10
HOT_SLOTS = 1 << HOT_BITS
HOT_MASK = HOT_SLOTS - 1
HOT_BASE = REGION_BASE + REGION_W * REGION_SLOTS
EXTENT_BASE = HOT_BASE + HOT_SLOTS
EXTENT_EMPTY = 4096          # lo = 4096, hi = 0
ICACHE_WORDS = EXTENT_BASE   # + one extent word per RAM page (new_state)

# --- the software TLB: tlb[kind, vpn & TLB_MASK] = (tag = vpn, value = page paddr | permission mask)
# The mask has one bit per access context (see csr.refresh_mode), so a hit needs no PTE checks.
TLB_FETCH = 0
TLB_LOAD = 1
TLB_STORE = 2
TLB_BITS = 9
TLB_SLOTS = 1 << TLB_BITS
TLB_MASK = TLB_SLOTS - 1
TLB_EMPTY = -(1 << 62)   # no vpn (va >> 12 of a 64-bit va) has this value

# --- pflags: stores into a page with any flag set take the slow path (loop.store_slow)
PF_CODE = 1       # the page holds decoded instructions: invalidate their icache slots
PF_HTIF = 2       # the page holds HTIF tohost
PF_RESV = 4       # the page holds the LR reservation
PF_WATCH = 8      # a debugger write/access watchpoint (emu/debug.py)
PF_REGION = 16    # the page holds code compiled into a native region: drop the regions a store overlaps

# --- the MMIO trap table
MMIO_COLS = 4     # base, size, kind, device id
MMIO_CLINT = 1    # fast path: registers in st/csr, handled inside the loop (emu/timer.py)
MMIO_PYTHON = 2   # the loop returns EXIT_MMIO and Python calls the device


def new_state(ram_size, ram_base=RAM_BASE):
    """Allocate a hart in its reset state (M-mode, pc = ram_base)."""
    x = np.zeros(N_REGS, np.int64)
    st = np.zeros(ST_SIZE, np.int64)
    csr = np.zeros(4096, np.int64)
    ram = np.zeros(ram_size, np.uint8)
    icache = np.full(ICACHE_WORDS + ((ram_size + 4095) >> 12), -1, np.int64)
    icache[HOT_BASE:EXTENT_BASE] = 0
    icache[EXTENT_BASE:] = EXTENT_EMPTY
    tlb = np.zeros((3, TLB_SLOTS, 2), np.int64)
    tlb[:, :, 0] = TLB_EMPTY
    pflags = np.zeros((ram_size + 4095) >> 12, np.uint8)
    st[ST_PC] = ram_base
    st[ST_PRIV] = PRV_M
    csr[MSTATUS] = FS_INITIAL     # the FP unit on: bare-metal programs use F/D without enabling it first
    # PMP's reset value, which the platform may choose (priv spec 3.4): pmp0 NAPOT over all of physical
    # memory, RWX, unlocked, so S and U run without PMP set up; firmware (OpenSBI) programs its own
    csr[PMPADDR0] = (1 << PMPADDR_BITS) - 1
    csr[PMPCFG0] = (PMP_NAPOT << PMP_A_SHIFT) | PMP_R | PMP_W | PMP_X
    st[ST_RES_ADDR] = -1
    st[ST_RAM_BASE] = ram_base
    st[ST_RAM_SIZE] = ram_size
    st[ST_TOHOST] = -1
    st[ST_FROMHOST] = -1
    st[ST_MTIMECMP] = -1          # all ones: no timer interrupt until software programs one
    csr[STIMECMP] = -1            # (the same for Sstc's comparator)
    st[ST_TIME_DIV] = 10          # 10 instructions per tick: 10 MHz timebase at 100 MIPS
    st[ST_POLL] = 4096
    st[ST_ISA] = isastring.FULL   # everything implemented (Hart.set_isa selects less)
    st[ST_TIMER_BIT] = MIP_MTIP
    st[ST_TRAP_LAST + TRAP_PRIV] = -1
    st[ST_TRAP_PREV + TRAP_PRIV] = -1
    st[ST_TDATA1:ST_TDATA1 + N_TRIGGERS] = TDATA1_DISABLED    # every trigger off (type 15)
    return x, st, csr, ram, icache, tlb, pflags
