"""The RISC-V spec's constants, and the board's memory map: one home, importing nothing.

Like Spike's encoding.h: CSR numbers and fields (privileged spec v1.12), exception
causes and interrupt numbers (table 3.6), privilege levels, Sv39 PTE bits, register
ABI names, and the QEMU virt board's memory map and interrupt sources that numbavm
copies.  Every other module imports them from here, under the spec's names.

Plain module-level ints on purpose: Numba freezes them as compile-time constants in
the compiled code (an import costs nothing in the hot loop), where Enum members would not.
What is the VMM's own (the st[] layout, exit codes, the decode cache) is in emu/state.py;
implementation choices within the spec (WARL masks, misa's value) are in emu/csr.py.
This module must import nothing, so that any layer may import it.
"""

# --- privilege levels (the encoding of mstatus.MPP, 1.12 table 1.1)
PRV_U = 0
PRV_S = 1
PRV_M = 3

# --- CSR numbers (2.2, tables 2.2-2.5)
FFLAGS, FRM, FCSR = 0x001, 0x002, 0x003  # F: the accrued exceptions, the dynamic rounding mode, both
SSTATUS, SIE, STVEC, SCOUNTEREN, SENVCFG = 0x100, 0x104, 0x105, 0x106, 0x10A
SSCRATCH, SEPC, SCAUSE, STVAL, SIP, SATP = 0x140, 0x141, 0x142, 0x143, 0x144, 0x180
STIMECMP = 0x14D                        # Sstc: the supervisor timer comparator
MSTATUS, MISA, MEDELEG, MIDELEG, MIE, MTVEC, MCOUNTEREN = 0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306
MENVCFG, MCOUNTINHIBIT = 0x30A, 0x320
MHPMEVENT3 = 0x323                      # mhpmevent3..31
MSCRATCH, MEPC, MCAUSE, MTVAL, MIP = 0x340, 0x341, 0x342, 0x343, 0x344
PMPCFG0, PMPADDR0 = 0x3A0, 0x3B0        # pmpcfg0..15, pmpaddr0..63
MCYCLE, MINSTRET, MHPMCOUNTER3 = 0xB00, 0xB02, 0xB03      # mhpmcounter3..31
CYCLE, TIME, INSTRET, HPMCOUNTER3 = 0xC00, 0xC01, 0xC02, 0xC03   # hpmcounter3..31
MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR = 0xF11, 0xF12, 0xF13, 0xF14, 0xF15
TSELECT, TDATA1, TDATA2, TDATA3, TINFO = 0x7A0, 0x7A1, 0x7A2, 0x7A3, 0x7A4   # Sdtrig (below)
N_HPM, N_PMPCFG = 29, 16                # hpm counters 3..31 (each of the three kinds above); pmpcfg0..15
CSR_ACCESS_SHIFT, CSR_READ_ONLY = 10, 3  # a CSR number's bits 11:10 are 0b11 for a read-only CSR (2.1)

# CSR names, as the spec (and Spike's csr_name) spell them
CSR_NAMES = {
    FFLAGS: "fflags", FRM: "frm", FCSR: "fcsr",
    SSTATUS: "sstatus", SIE: "sie", STVEC: "stvec", SCOUNTEREN: "scounteren", SENVCFG: "senvcfg",
    SSCRATCH: "sscratch", SEPC: "sepc", SCAUSE: "scause", STVAL: "stval", SIP: "sip", SATP: "satp",
    STIMECMP: "stimecmp",
    MSTATUS: "mstatus", MISA: "misa", MEDELEG: "medeleg", MIDELEG: "mideleg", MIE: "mie", MTVEC: "mtvec",
    MCOUNTEREN: "mcounteren", MENVCFG: "menvcfg", MCOUNTINHIBIT: "mcountinhibit", MSCRATCH: "mscratch",
    MEPC: "mepc", MCAUSE: "mcause", MTVAL: "mtval", MIP: "mip", MCYCLE: "mcycle", MINSTRET: "minstret",
    CYCLE: "cycle", TIME: "time", INSTRET: "instret", MVENDORID: "mvendorid", MARCHID: "marchid",
    MIMPID: "mimpid", MHARTID: "mhartid", MCONFIGPTR: "mconfigptr",
    TSELECT: "tselect", TDATA1: "tdata1", TDATA2: "tdata2", TDATA3: "tdata3", TINFO: "tinfo",
    **{PMPCFG0 + i: f"pmpcfg{i}" for i in range(16)},
    **{PMPADDR0 + i: f"pmpaddr{i}" for i in range(64)},
    **{MCYCLE + i: f"mhpmcounter{i}" for i in range(3, 32)},
    **{CYCLE + i: f"hpmcounter{i}" for i in range(3, 32)},
    **{MCOUNTINHIBIT + i: f"mhpmevent{i}" for i in range(3, 32)},
}

# --- Sdtrig, the trigger module (RISC-V debug spec 1.0, ch. 5): CSRs reachable from M-mode only
# tdata1 (5.7.2) on RV64: type in bits 63:60, dmode (only the debugger may write it) in bit 59
TDATA1_TYPE_SHIFT = 60
TDATA1_DMODE = 1 << 59
TRIG_TYPE_NONE, TRIG_TYPE_MCONTROL6, TRIG_TYPE_DISABLED = 0, 6, 15   # no trigger / match control type 6 / off
TDATA1_DISABLED = -(1 << 60)            # tdata1 = type 15 and nothing else (15 << 60 as an int64)
# mcontrol6's fields (5.7.17): hit0, select, timing, size, action, chain, match, the enables
MC6_HIT0 = 1 << 22
MC6_SELECT = 1 << 21
MC6_TIMING = 1 << 20
MC6_SIZE_SHIFT = 16                     # bits 18:16, 0 = any size
MC6_ACTION_SHIFT = 12                   # bits 15:12
MC6_ACTION = 0xF << MC6_ACTION_SHIFT
MC6_CHAIN = 1 << 11
MC6_MATCH_SHIFT = 7                     # bits 10:7
MC6_MATCH = 0xF << MC6_MATCH_SHIFT
MC6_M, MC6_S, MC6_U = 1 << 6, 1 << 4, 1 << 3
MC6_EXECUTE, MC6_STORE, MC6_LOAD = 1 << 2, 1 << 1, 1 << 0
ACTION_BREAKPOINT, ACTION_DEBUG_MODE = 0, 1  # raise a breakpoint exception / enter Debug Mode (dmode = 1 only)
MATCH_EQUAL, MATCH_NAPOT, MATCH_GE, MATCH_LT = 0, 1, 2, 3
TINFO_VERSION_SHIFT = 24                # tinfo.version: 1 = debug spec 1.0
TINFO_VERSION_1 = 1

# --- mstatus fields (3.1.6)
MSTATUS_SIE = 1 << 1
MSTATUS_MIE = 1 << 3
MSTATUS_SPIE = 1 << 5
MSTATUS_MPIE = 1 << 7
MSTATUS_SPP = 1 << 8
MSTATUS_MPP_SHIFT = 11
MSTATUS_MPP = 3 << 11
MSTATUS_FS = 3 << 13
MSTATUS_MPRV = 1 << 17
MSTATUS_SUM = 1 << 18
MSTATUS_MXR = 1 << 19
MSTATUS_TVM = 1 << 20
MSTATUS_TW = 1 << 21
MSTATUS_TSR = 1 << 22
MSTATUS_UXL_SHIFT = 32
MSTATUS_SXL_SHIFT = 34
MSTATUS_SD = -(1 << 63)                 # bit 63, as an int64

# mcounteren/scounteren bits (3.1.11): cycle, time, instret readable from the level below
COUNTEREN_CY, COUNTEREN_TM, COUNTEREN_IR = 1 << 0, 1 << 1, 1 << 2

# menvcfg/senvcfg fields (3.1.18, 4.1.10): the cache-block instructions below M (CMO spec 2.5). CBIE for
# cbo.inval: 00 illegal, 01 it flushes, 11 it invalidates (10 reserved); CBCFE cbo.clean and cbo.flush,
# CBZE cbo.zero: 0 illegal.  senvcfg's gate U-mode on top of menvcfg's.
ENVCFG_CBIE_SHIFT = 4
ENVCFG_CBIE = 3 << ENVCFG_CBIE_SHIFT
ENVCFG_CBCFE = 1 << 6
ENVCFG_CBZE = 1 << 7
# menvcfg's own fields (3.1.18): Sstc's STCE lets stimecmp drive mip.STIP, Svpbmt's PBMTE allows PTEs' PBMT
MENVCFG_STCE = -(1 << 63)               # bit 63, as an int64
MENVCFG_PBMTE = 1 << 62

# mstatus.FS, the FP unit's context status (3.1.6.6): Off traps every FP instruction, Dirty is set by any
# write to an f register or fcsr (the kernel then saves the FP context)
FS_OFF, FS_INITIAL, FS_CLEAN, FS_DIRTY = 0, 1 << 13, 2 << 13, 3 << 13

# --- F/D (unprivileged spec, ch. 11-12): fcsr's accrued exception flags (fflags) and rounding modes (frm, rm)
FFLAG_NX, FFLAG_UF, FFLAG_OF, FFLAG_DZ, FFLAG_NV = 1, 2, 4, 8, 16   # inexact, underflow, overflow, /0, invalid
FCSR_FRM_SHIFT = 5                      # fcsr = frm << 5 | fflags
RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, RM_DYN = 0, 1, 2, 3, 4, 7   # 5 and 6 are reserved
ROUNDING_NAMES = ("rne", "rtz", "rdn", "rup", "rmm", "", "", "dyn")
FMT_S, FMT_D = 0, 1                     # the fmt field of the FP instructions: single, double
CANONICAL_NAN_S, CANONICAL_NAN_D = 0x7FC00000, 0x7FF8000000000000
NAN_BOX = -(1 << 32)                    # a single in a 64-bit f register: its upper 32 bits all ones (int64)
FREG_NAMES = ("ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3",
              "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10",
              "fs11", "ft8", "ft9", "ft10", "ft11")

# --- interrupt numbers (mcause codes with the interrupt bit; the bit index in mip/mie, 3.1.9)
IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT = 1, 3, 5, 7, 9, 11
# their bits in mip/mie
MIP_SSIP = 1 << IRQ_S_SOFT
MIP_MSIP = 1 << IRQ_M_SOFT
MIP_STIP = 1 << IRQ_S_TIMER
MIP_MTIP = 1 << IRQ_M_TIMER
MIP_SEIP = 1 << IRQ_S_EXT
MIP_MEIP = 1 << IRQ_M_EXT
INTERRUPT = -(1 << 63)                  # the interrupt bit of mcause/scause, as an int64

# --- exception causes (table 3.6)
CAUSE_MISALIGNED_FETCH = 0
CAUSE_FETCH_ACCESS = 1
CAUSE_ILLEGAL_INSTRUCTION = 2
CAUSE_BREAKPOINT = 3
CAUSE_MISALIGNED_LOAD = 4
CAUSE_LOAD_ACCESS = 5
CAUSE_MISALIGNED_STORE = 6      # store/AMO address misaligned
CAUSE_STORE_ACCESS = 7          # store/AMO access fault
CAUSE_USER_ECALL = 8
CAUSE_SUPERVISOR_ECALL = 9
CAUSE_MACHINE_ECALL = 11
CAUSE_FETCH_PAGE_FAULT = 12
CAUSE_LOAD_PAGE_FAULT = 13
CAUSE_STORE_PAGE_FAULT = 15     # store/AMO page fault

# the spec's names (table 3.6), for messages
EXCEPTION_NAMES = {
    CAUSE_MISALIGNED_FETCH: "instruction address misaligned", CAUSE_FETCH_ACCESS: "instruction access fault",
    CAUSE_ILLEGAL_INSTRUCTION: "illegal instruction", CAUSE_BREAKPOINT: "breakpoint",
    CAUSE_MISALIGNED_LOAD: "load address misaligned", CAUSE_LOAD_ACCESS: "load access fault",
    CAUSE_MISALIGNED_STORE: "store/AMO address misaligned", CAUSE_STORE_ACCESS: "store/AMO access fault",
    CAUSE_USER_ECALL: "environment call from U-mode", CAUSE_SUPERVISOR_ECALL: "environment call from S-mode",
    CAUSE_MACHINE_ECALL: "environment call from M-mode", CAUSE_FETCH_PAGE_FAULT: "instruction page fault",
    CAUSE_LOAD_PAGE_FAULT: "load page fault", CAUSE_STORE_PAGE_FAULT: "store/AMO page fault"}
INTERRUPT_NAMES = {
    IRQ_S_SOFT: "supervisor software interrupt", IRQ_M_SOFT: "machine software interrupt",
    IRQ_S_TIMER: "supervisor timer interrupt", IRQ_M_TIMER: "machine timer interrupt",
    IRQ_S_EXT: "supervisor external interrupt", IRQ_M_EXT: "machine external interrupt"}


def cause_name(code):
    """The spec's name for an xcause value (int64 or unsigned)."""
    code = int(code) & (2**64 - 1)
    if code >> 63:
        return INTERRUPT_NAMES.get(code & ~(1 << 63), f"interrupt {code & ~(1 << 63)}")
    return EXCEPTION_NAMES.get(code, f"exception {code}")


# --- satp (4.1.11)
SATP_MODE_SHIFT = 60
SATP_MODE_BARE = 0
SATP_MODE_SV39 = 8
SATP_MODE_SV48 = 9
SATP_MODE_SV57 = 10
SATP_PPN = (1 << 44) - 1

# --- Sv39/Sv48/Sv57 page-table entry bits (4.4.1, 4.5.1, 4.6.1)
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = 1, 2, 4, 8, 16, 32, 64, 128
PTE_PPN_SHIFT = 10                      # the PPN field: bits 53:10
PTE_RESERVED = ((1 << 7) - 1) << 54     # bits 60:54 are reserved
PTE_PBMT_SHIFT = 61                     # Svpbmt: bits 62:61, the page-based memory type
PBMT_PMA, PBMT_NC, PBMT_IO, PBMT_RESERVED = 0, 1, 2, 3
PTE_N = -(1 << 63)                      # bit 63, Svnapot's (not implemented: reserved), as an int64
PAGE_SIZE = 4096                        # a page (4.3.1); superpages are made of them

# --- physical memory protection (3.7): a pmpNcfg byte, 8 of them in each even pmpcfg CSR on RV64
PMP_R, PMP_W, PMP_X = 1, 2, 4
PMP_A_SHIFT = 3                         # the address-matching mode, bits 4:3
PMP_A = 3 << PMP_A_SHIFT
PMP_OFF, PMP_TOR, PMP_NA4, PMP_NAPOT = 0, 1, 2, 3
PMP_L = 1 << 7                          # locked: the entry is read-only and applies to M-mode too
N_PMP = 64                              # pmp0..63 (pmpaddr0..63, the bytes of pmpcfg0, 2, ..., 14)
PMPADDR_BITS = 54                       # pmpaddr holds bits 55:2 of a physical address

# --- integer registers: the ABI names (psABI), and the numbers of those the VMM reads or writes
REG_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
             "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")
ZERO, RA, SP, GP, TP = 0, 1, 2, 3, 4
# where the hart keeps them (emu/state.py's x[]): x0..x31 at 0..31, then X_SINK (where writes to x0 go,
# so that the loop never re-zeroes x0), then f0..f31 from F_BASE; the decoder gives operands as these indices
X_SINK = 32
F_BASE = 33
N_REGS = F_BASE + 32
A0, A1, A2, A3, A4, A5, A6, A7 = 10, 11, 12, 13, 14, 15, 16, 17

# --- the board: QEMU virt's memory map and PLIC interrupt sources (hw/riscv/virt.c)
TEST_BASE, TEST_SIZE = 0x0010_0000, 0x1000          # sifive_test (the finisher)
RTC_BASE, RTC_SIZE = 0x0010_1000, 0x1000            # goldfish-rtc
RTC_IRQ = 11                                        # the RTC's PLIC source
CLINT_BASE, CLINT_SIZE = 0x0200_0000, 0x1_0000
PLIC_BASE, PLIC_SIZE = 0x0C00_0000, 0x60_0000        # QEMU virt's window (room for 1024 contexts)
UART_BASE, UART_SIZE = 0x1000_0000, 0x100            # ns16550a
UART_IRQ = 10                                       # the UART's PLIC source
VIRTIO_BASE, VIRTIO_STRIDE, VIRTIO_SIZE = 0x1000_1000, 0x1000, 0x1000   # virtio-mmio transport n at BASE + n * STRIDE
VIRTIO_IRQ_BASE = 1                                 # transport n's PLIC source: VIRTIO_IRQ_BASE + n
VIRTIO_MAX = 8                                      # transports
RAM_BASE = 0x8000_0000                              # guest RAM (the contract: programs are linked there)
DEFAULT_MEMORY = 128 << 20                          # guest RAM when none is asked for (QEMU's default -m)
TIMEBASE = 10_000_000                               # CLINT mtime ticks per second (timebase-frequency)
