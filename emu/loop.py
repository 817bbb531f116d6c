"""The hot loop: fetch, decode (through the pre-decoded cache), execute.

run() executes instructions until its budget is spent or something needs the
host (see the EXIT_* reasons in emu/state.py).  It is the one place where
instructions of the hot groups get their meaning; search for an instruction's
spec name in upper case (ADDI, LW, BLTU, ...) to find it.  Cold instructions
(fences, system, Zicsr, A) are executed by emu/cold.py, misaligned and MMIO
accesses by emu/memory.py, page walks by emu/mmu.py: none of them inline here.

Structure:
  outer loop, once per chunk (at most st[ST_POLL] <= 4096 instructions):
      poll the stop flag; update mip.MTIP/STIP from the timers; take a pending
      interrupt; idle in wfi; end the chunk early at the next timer event,
      so timer interrupts arrive at exactly the same instruction every run.
  inner loop, once per instruction, with no checks but the budget:
      translate pc (Sv39 only outside M and bare mode, with a one-entry page
      cache in front of the fetch TLB), look up the decode cache by physical
      address, dispatch on the op group, then on the op.
Anything that may change privilege, mstatus, satp or interrupt enables ends
the chunk, so that the cached translation mode is re-read and interrupts are
checked before the next instruction.

The per-instruction loop makes no calls at all: a call anywhere in it would
leave LLVM only the callee-saved registers for everything the loop carries,
and the loop would spill on every instruction.  Whatever needs a call (a
decode-cache miss, a TLB miss, a misaligned or MMIO access, a store to a
flagged page, a cold instruction) leaves the instruction loop with a PENDING_*
code; the loop around it makes the call and goes back in.
"""
from enum import IntEnum

import numpy as np
from numba import njit

from emu import isa
from emu.alu import (sext32, srl, ltu, mulh, mulhsu, mulhu, div, divu, rem, remu, clz, ctz, cpop, orc_b, rev8,
                     rol, ror, rolw, rorw)
from emu.state import (ICACHE_SCRATCH, ST_PC, ST_CBZE, ST_INSTRET, ST_WFI, ST_IDLE, ST_RAM_BASE, ST_RAM_SIZE, ST_POLL, ST_BARE_STRADDLERS,
                       ST_FETCH_VM, ST_DATA_VM, ST_FETCH_CTX, ST_DATA_CTX, ICACHE_MASK,
                       TLB_FETCH, TLB_LOAD, TLB_STORE, EXIT_BUDGET, EXIT_STOP, EXIT_MMIO, EXIT_WFI,
                       EXIT_HTIF, EXIT_SBI, EXIT_FATAL, ST_FATAL, FATAL_TRAP_LOOP,
                       ST_TIMER_REALTIME, ST_REGION_ON, ST_REGION_HOT, ST_REGION_REQ_PC, ST_REGION_REQ_PADDR,
                       ST_REGION_ADDR, ST_REGION_SIZE, ST_REGION_ENTRIES, EXIT_REGION, ST_REGION_BLOCKED, ST_REGION_REQ, ST_REGION_READY,
                       REGION_BASE, REGION_W, REGION_MASK, RT_PADDR, RT_PC, RT_FN, RT_KEY, HOT_BASE, HOT_MASK)
from emu.spec import MIE, MIP, MSTATUS, MSTATUS_FS, FS_DIRTY, NAN_BOX
from emu.timer import update_mtip, cycles_until_timer, NEVER
from emu.csr import sample_external
from emu.trap import take_trap, pending_interrupt
from emu.mmu import translate, tlb_lookup, PAGE_MASK, fault_cause
from emu.native import call_region, region_key, REGION_HOOKS
from emu.memory import (load_slow, store_slow, store_hooks, fetch_decode, decode_scratch, drop_straddlers,
                        MEM_MMIO_EXIT, MEM_TRAPPED, MEM_HTIF_EXIT, MEM_DONE_SYNC)
from emu.cold import exec_cold, COLD_RETIRED, COLD_HTIF, COLD_SBI, COLD_TRAPPED
from emu.fpu import exec_fp, FP_RETIRED, FP_TRAPPED

M32 = 0xFFFFFFFF
BIT32 = 1 << 32
ONE = np.int64(1)          # Zbs's single bit: 1 << 63 is int64's sign bit in plain Python too

# the op numbers of the hot groups, by spec name (emu/isa.py ENCODINGS)
O = isa.OP
LUI, AUIPC, ADDI, SLTI, SLTIU, XORI, ORI, ANDI = (O[n] for n in ("lui", "auipc", "addi", "slti", "sltiu",
                                                                 "xori", "ori", "andi"))
SLLI, SRLI, SRAI, ADDIW, SLLIW, SRLIW, SRAIW = (O[n] for n in ("slli", "srli", "srai", "addiw", "slliw",
                                                               "srliw", "sraiw"))
ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND = (O[n] for n in ("add", "sub", "sll", "slt", "sltu", "xor",
                                                                   "srl", "sra", "or", "and"))
ADDW, SUBW, SLLW, SRLW, SRAW = (O[n] for n in ("addw", "subw", "sllw", "srlw", "sraw"))
# Zba, Zbb, Zbs with an immediate or of rs1 alone
SLLI_UW, CLZ, CLZW, CTZ, CTZW, CPOP, CPOPW, SEXT_B, SEXT_H, RORI, RORIW, ORC_B, REV8 = (O[n] for n in (
    "slli.uw", "clz", "clzw", "ctz", "ctzw", "cpop", "cpopw", "sext.b", "sext.h", "rori", "roriw", "orc.b", "rev8"))
BCLRI, BEXTI, BINVI, BSETI = (O[n] for n in ("bclri", "bexti", "binvi", "bseti"))
# Zba, Zbb, Zbs, Zicond register-register
ADD_UW, SH1ADD, SH2ADD, SH3ADD, SH1ADD_UW, SH2ADD_UW, SH3ADD_UW = (O[n] for n in (
    "add.uw", "sh1add", "sh2add", "sh3add", "sh1add.uw", "sh2add.uw", "sh3add.uw"))
ANDN, ORN, XNOR, MIN, MINU, MAX, MAXU, ROL, ROLW, ROR, RORW, ZEXT_H = (O[n] for n in (
    "andn", "orn", "xnor", "min", "minu", "max", "maxu", "rol", "rolw", "ror", "rorw", "zext.h"))
BCLR, BEXT, BINV, BSET, CZERO_EQZ, CZERO_NEZ = (O[n] for n in ("bclr", "bext", "binv", "bset", "czero.eqz",
                                                                "czero.nez"))
MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU = (O[n] for n in ("mul", "mulh", "mulhsu", "mulhu", "div",
                                                                 "divu", "rem", "remu"))
MULW, DIVW, DIVUW, REMW, REMUW = (O[n] for n in ("mulw", "divw", "divuw", "remw", "remuw"))
JAL, JALR, BEQ, BNE, BLT, BGE, BLTU, BGEU = (O[n] for n in ("jal", "jalr", "beq", "bne", "blt", "bge",
                                                            "bltu", "bgeu"))
LB, LH, LW, LD, LBU, LHU, LWU = (O[n] for n in ("lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"))
SB, SH, SW, SD = (O[n] for n in ("sb", "sh", "sw", "sd"))
FLW, FLD, FSW, FSD = (O[n] for n in ("flw", "fld", "fsw", "fsd"))
LAST_ALU_IMM, LAST_ALU_REG, LAST_MUL = isa.LAST_ALU_IMM, isa.LAST_ALU_REG, isa.LAST_MUL
LAST_CTRL, LAST_LOAD, LAST_STORE, LAST_FP = isa.LAST_CTRL, isa.LAST_LOAD, isa.LAST_STORE, isa.LAST_FP
MEM_SIZE = isa.MEM_SIZE


# why the instruction loop was left
class Pending(IntEnum):
    NONE = 0        # chunk ended
    FETCH = 1       # the fetch page is not in the one-entry page cache
    DECODE = 2      # decode-cache miss
    LOAD = 3        # TLB miss, misaligned, or not RAM
    STORE = 4       # TLB miss, misaligned, or not RAM
    HOOKS = 5       # a store to RAM hit a page with flags (code, HTIF, reservation)
    COLD = 6        # fences, system, Zicsr, A
    FP = 7          # F/D arithmetic, or any FP instruction while mstatus.FS is not Dirty


# the plain ints the loop uses (njit code sees int64 constants, not enum members)
PENDING_NONE = int(Pending.NONE)
PENDING_FETCH = int(Pending.FETCH)
PENDING_DECODE = int(Pending.DECODE)
PENDING_LOAD = int(Pending.LOAD)
PENDING_STORE = int(Pending.STORE)
PENDING_HOOKS = int(Pending.HOOKS)
PENDING_COLD = int(Pending.COLD)
PENDING_FP = int(Pending.FP)


@njit(nogil=True, cache=True)
def run(x, st, csr, mem, icache, tlb, pflags, mmio, stop, budget):
    """Run for at most `budget` steps. -> an EXIT_* reason; the state is in the arrays.

    A step is an instruction retired or a trap taken (an exception or interrupt),
    so a guest that traps forever without retiring still returns.
    """
    # one view per access width (signed; the unsigned loads mask)
    i8 = mem.view(np.int8)
    i16 = mem.view(np.int16)
    i32 = mem.view(np.int32)
    i64 = mem.view(np.int64)
    ram_base = st[ST_RAM_BASE]
    ram_size = st[ST_RAM_SIZE]
    poll = st[ST_POLL]
    pc = st[ST_PC]
    instret = st[ST_INSTRET]
    end = instret + budget
    reason = EXIT_BUDGET
    done = False
    while not done:
        # ---------------- between chunks
        st[ST_PC] = pc
        st[ST_INSTRET] = instret
        if stop[0] != 0:
            reason = EXIT_STOP
            break
        if instret >= end:
            break
        if st[ST_REGION_READY] != 0:             # the compiler thread has regions to install
            reason = EXIT_REGION
            break
        update_mtip(st, csr)
        sample_external(st, csr)
        cause = pending_interrupt(st, csr)
        if cause >= 0:
            st[ST_WFI] = 0
            pc = take_trap(cause, 0, True, pc, st, csr)
            end -= 1                              # traps take budget: a trap loop cannot hang us
        elif st[ST_WFI] != 0:
            if (csr[MIP] & csr[MIE]) != 0:
                st[ST_WFI] = 0                    # wakes even when the interrupt is globally disabled
            else:
                wait = cycles_until_timer(st, csr, csr[MIE])     # the next timer interrupt that wakes it
                if wait < NEVER and st[ST_TIMER_REALTIME] == 0:
                    st[ST_IDLE] += wait           # nothing else can happen in between: skip ahead
                    continue
                reason = EXIT_WFI                 # only the host (a device, a stop) can wake us
                break
        chunk_end = instret + poll
        if chunk_end > end:
            chunk_end = end
        t = cycles_until_timer(st, csr, -1)
        if instret + t < chunk_end:
            chunk_end = instret + t
        fetch_vm = st[ST_FETCH_VM] != 0
        if fetch_vm and st[ST_BARE_STRADDLERS] != 0:
            drop_straddlers(icache)              # their second halves were fetched untranslated
            st[ST_BARE_STRADDLERS] = 0
        data_vm = st[ST_DATA_VM] != 0
        fctx = st[ST_FETCH_CTX]
        dctx = st[ST_DATA_CTX]
        # FP loads and stores run here only while mstatus.FS is Dirty (exec_fp makes it so, or traps);
        # anything that writes mstatus ends the chunk, so this stays true within one
        fp_dirty = (csr[MSTATUS] & MSTATUS_FS) == FS_DIRTY
        f_vpn = -1 if fetch_vm else 0
        f_page = 0
        scratch_pc = -1
        sync = False
        # native regions (emu/regions/): they end before breakpoints and debugger ranges, but
        # trap hooks and read watchpoints need the loop alone (emu/debug.py sets ST_REGION_BLOCKED)
        regions_on = st[ST_REGION_ON] != 0 and st[ST_REGION_BLOCKED] == 0
        # (cbo.zero's enable, cached like the mode by csr.refresh_mode: priv and CSR writes end the chunk)
        mode_key = region_key(fetch_vm, data_vm, dctx, fp_dirty, st[ST_CBZE] != 0)
        # until the chunk ends: its last pass finds instret at chunk_end and samples below (PENDING_NONE),
        # whether its last instruction ran here or through a call (an FP loop ends chunks on fp calls)
        while not sync:
            pending = PENDING_NONE
            op = 0
            rd = 0
            rs1 = 0
            rs2 = 0
            imm = 0
            npc = pc
            addr = 0
            paddr = 0
            v = 0
            # ---------------- one instruction per iteration, no calls
            while instret < chunk_end:
                if fetch_vm:
                    if (pc >> 12) != f_vpn:
                        pending = PENDING_FETCH
                        break
                    paddr = f_page | (pc & 0xFFF)
                else:
                    paddr = pc
                slot = (paddr >> 1) & ICACHE_MASK
                if (icache[2 * slot] >> 8) != paddr:
                    if pc != scratch_pc:
                        pending = PENDING_DECODE
                        break
                    slot = ICACHE_SCRATCH
                    scratch_pc = -1
                op = icache[2 * slot] & 0xFF
                w1 = icache[2 * slot + 1]
                rd = w1 & 127                     # indices into x[]: 32 = X_SINK for writes to x0,
                rs1 = (w1 >> 8) & 127             # f registers from isa.F_BASE on
                rs2 = (w1 >> 16) & 127
                imm = w1 >> 32
                npc = pc + ((w1 >> 24) & 7)

                if op <= LAST_ALU_IMM:
                    a = x[rs1]
                    if op == ADDI:
                        x[rd] = a + imm
                    elif op == LUI:
                        x[rd] = imm
                    elif op == AUIPC:
                        x[rd] = pc + imm
                    elif op == SLLI:
                        x[rd] = a << imm
                    elif op == SRLI:
                        x[rd] = srl(a, imm)
                    elif op == SRAI:
                        x[rd] = a >> imm
                    elif op == ANDI:
                        x[rd] = a & imm
                    elif op == ORI:
                        x[rd] = a | imm
                    elif op == XORI:
                        x[rd] = a ^ imm
                    elif op == SLTI:
                        x[rd] = 1 if a < imm else 0
                    elif op == SLTIU:
                        x[rd] = 1 if ltu(a, imm) else 0
                    elif op == ADDIW:
                        x[rd] = sext32(a + imm)
                    elif op == SLLIW:
                        x[rd] = sext32(a << imm)
                    elif op == SRLIW:
                        x[rd] = sext32((a & M32) >> imm)
                    elif op == SRAIW:
                        x[rd] = sext32(a) >> imm
                    elif op == SLLI_UW:                          # rs1's low word, shifted
                        x[rd] = (a & M32) << imm
                    elif op == CLZ:
                        x[rd] = clz(a)
                    elif op == CLZW:
                        x[rd] = clz(a & M32) - 32
                    elif op == CTZ:
                        x[rd] = ctz(a)
                    elif op == CTZW:
                        x[rd] = ctz(a | BIT32)                   # 32 for a zero word
                    elif op == CPOP:
                        x[rd] = cpop(a)
                    elif op == CPOPW:
                        x[rd] = cpop(a & M32)
                    elif op == SEXT_B:
                        x[rd] = ((a & 0xFF) ^ 0x80) - 0x80
                    elif op == SEXT_H:
                        x[rd] = ((a & 0xFFFF) ^ 0x8000) - 0x8000
                    elif op == RORI:
                        x[rd] = ror(a, imm)
                    elif op == RORIW:
                        x[rd] = rorw(a, imm)
                    elif op == ORC_B:
                        x[rd] = orc_b(a)
                    elif op == REV8:
                        x[rd] = rev8(a)
                    elif op == BCLRI:
                        x[rd] = a & ~(ONE << imm)
                    elif op == BEXTI:
                        x[rd] = (a >> imm) & 1
                    elif op == BINVI:
                        x[rd] = a ^ (ONE << imm)
                    else:  # BSETI
                        x[rd] = a | (ONE << imm)
                elif op <= LAST_ALU_REG:
                    a = x[rs1]
                    b = x[rs2]
                    if op == ADD:
                        x[rd] = a + b
                    elif op == SUB:
                        x[rd] = a - b
                    elif op == AND:
                        x[rd] = a & b
                    elif op == OR:
                        x[rd] = a | b
                    elif op == XOR:
                        x[rd] = a ^ b
                    elif op == SLL:
                        x[rd] = a << (b & 63)
                    elif op == SRL:
                        x[rd] = srl(a, b & 63)
                    elif op == SRA:
                        x[rd] = a >> (b & 63)
                    elif op == SLT:
                        x[rd] = 1 if a < b else 0
                    elif op == SLTU:
                        x[rd] = 1 if ltu(a, b) else 0
                    elif op == ADDW:
                        x[rd] = sext32(a + b)
                    elif op == SUBW:
                        x[rd] = sext32(a - b)
                    elif op == SLLW:
                        x[rd] = sext32(a << (b & 31))
                    elif op == SRLW:
                        x[rd] = sext32((a & M32) >> (b & 31))
                    elif op == SRAW:
                        x[rd] = sext32(a) >> (b & 31)
                    elif op == SH1ADD:
                        x[rd] = (a << 1) + b
                    elif op == SH2ADD:
                        x[rd] = (a << 2) + b
                    elif op == SH3ADD:
                        x[rd] = (a << 3) + b
                    elif op == ADD_UW:
                        x[rd] = (a & M32) + b
                    elif op == SH1ADD_UW:
                        x[rd] = ((a & M32) << 1) + b
                    elif op == SH2ADD_UW:
                        x[rd] = ((a & M32) << 2) + b
                    elif op == SH3ADD_UW:
                        x[rd] = ((a & M32) << 3) + b
                    elif op == ANDN:
                        x[rd] = a & ~b
                    elif op == ORN:
                        x[rd] = a | ~b
                    elif op == XNOR:
                        x[rd] = ~(a ^ b)
                    elif op == MIN:
                        x[rd] = a if a < b else b
                    elif op == MINU:
                        x[rd] = a if ltu(a, b) else b
                    elif op == MAX:
                        x[rd] = b if a < b else a
                    elif op == MAXU:
                        x[rd] = b if ltu(a, b) else a
                    elif op == ROL:
                        x[rd] = rol(a, b & 63)
                    elif op == ROLW:
                        x[rd] = rolw(a, b & 31)
                    elif op == ROR:
                        x[rd] = ror(a, b & 63)
                    elif op == RORW:
                        x[rd] = rorw(a, b & 31)
                    elif op == ZEXT_H:
                        x[rd] = a & 0xFFFF
                    elif op == BCLR:
                        x[rd] = a & ~(ONE << (b & 63))
                    elif op == BEXT:
                        x[rd] = (a >> (b & 63)) & 1
                    elif op == BINV:
                        x[rd] = a ^ (ONE << (b & 63))
                    elif op == BSET:
                        x[rd] = a | (ONE << (b & 63))
                    elif op == CZERO_EQZ:
                        x[rd] = 0 if b == 0 else a
                    else:  # CZERO_NEZ
                        x[rd] = a if b == 0 else 0
                elif op <= LAST_MUL:
                    a = x[rs1]
                    b = x[rs2]
                    if op == MUL:
                        x[rd] = a * b
                    elif op == MULH:
                        x[rd] = mulh(a, b)
                    elif op == MULHSU:
                        x[rd] = mulhsu(a, b)
                    elif op == MULHU:
                        x[rd] = mulhu(a, b)
                    elif op == DIV:
                        x[rd] = div(a, b)
                    elif op == DIVU:
                        x[rd] = divu(a, b)
                    elif op == REM:
                        x[rd] = rem(a, b)
                    elif op == REMU:
                        x[rd] = remu(a, b)
                    elif op == MULW:
                        x[rd] = sext32(a * b)
                    elif op == DIVW:
                        x[rd] = sext32(div(sext32(a), sext32(b)))
                    elif op == DIVUW:
                        x[rd] = sext32(divu(a & M32, b & M32))
                    elif op == REMW:
                        x[rd] = sext32(rem(sext32(a), sext32(b)))
                    else:  # REMUW
                        x[rd] = sext32(remu(a & M32, b & M32))
                elif op <= LAST_CTRL:
                    if op == JAL:
                        x[rd] = npc
                        npc = pc + imm
                    elif op == JALR:
                        t = (x[rs1] + imm) & ~1
                        x[rd] = npc
                        npc = t
                    else:
                        a = x[rs1]
                        b = x[rs2]
                        if op == BEQ:
                            taken = a == b
                        elif op == BNE:
                            taken = a != b
                        elif op == BLT:
                            taken = a < b
                        elif op == BGE:
                            taken = a >= b
                        elif op == BLTU:
                            taken = ltu(a, b)
                        else:  # BGEU
                            taken = not ltu(a, b)
                        if taken:
                            npc = pc + imm
                elif op <= LAST_LOAD:
                    addr = x[rs1] + imm
                    if data_vm:
                        paddr = tlb_lookup(tlb, TLB_LOAD, addr, dctx)
                        if paddr < 0:
                            pending = PENDING_LOAD
                            break
                    else:
                        paddr = addr
                    off = paddr - ram_base
                    if off < 0 or off >= ram_size:
                        pending = PENDING_LOAD
                        break
                    if op == LD:
                        if (off & 7) != 0:
                            pending = PENDING_LOAD
                            break
                        x[rd] = i64[off >> 3]
                    elif op == LW:
                        if (off & 3) != 0:
                            pending = PENDING_LOAD
                            break
                        x[rd] = i32[off >> 2]
                    elif op == LBU:
                        x[rd] = np.int64(i8[off]) & 0xFF
                    elif op == LB:
                        x[rd] = i8[off]
                    elif op == LWU:
                        if (off & 3) != 0:
                            pending = PENDING_LOAD
                            break
                        x[rd] = np.int64(i32[off >> 2]) & M32
                    elif op == LHU:
                        if (off & 1) != 0:
                            pending = PENDING_LOAD
                            break
                        x[rd] = np.int64(i16[off >> 1]) & 0xFFFF
                    elif op == FLD:
                        if (off & 7) != 0 or not fp_dirty:
                            pending = PENDING_LOAD
                            break
                        x[rd] = i64[off >> 3]
                    elif op == FLW:
                        if (off & 3) != 0 or not fp_dirty:
                            pending = PENDING_LOAD
                            break
                        x[rd] = (np.int64(i32[off >> 2]) & M32) | NAN_BOX
                    else:  # LH
                        if (off & 1) != 0:
                            pending = PENDING_LOAD
                            break
                        x[rd] = i16[off >> 1]
                elif op <= LAST_STORE:
                    addr = x[rs1] + imm
                    if data_vm:
                        paddr = tlb_lookup(tlb, TLB_STORE, addr, dctx)
                        if paddr < 0:
                            pending = PENDING_STORE
                            break
                    else:
                        paddr = addr
                    off = paddr - ram_base
                    if off < 0 or off >= ram_size:
                        pending = PENDING_STORE
                        break
                    v = x[rs2]
                    if op == SD:
                        if (off & 7) != 0:
                            pending = PENDING_STORE
                            break
                        i64[off >> 3] = v
                    elif op == SW:
                        if (off & 3) != 0:
                            pending = PENDING_STORE
                            break
                        i32[off >> 2] = sext32(v)
                    elif op == SB:
                        i8[off] = ((v & 0xFF) ^ 0x80) - 0x80
                    elif op == FSD:
                        if (off & 7) != 0 or not fp_dirty:
                            pending = PENDING_STORE
                            break
                        i64[off >> 3] = v
                    elif op == FSW:
                        if (off & 3) != 0 or not fp_dirty:
                            pending = PENDING_STORE
                            break
                        i32[off >> 2] = sext32(v)
                    else:  # SH
                        if (off & 1) != 0:
                            pending = PENDING_STORE
                            break
                        i16[off >> 1] = ((v & 0xFFFF) ^ 0x8000) - 0x8000
                    if pflags[off >> 12] != 0:
                        addr = paddr
                        pending = PENDING_HOOKS       # the store is done; its hooks are not
                        break
                elif op <= LAST_FP:
                    pending = PENDING_FP              # F/D arithmetic: emu/fpu.py
                    break
                else:
                    pending = PENDING_COLD
                    break
                pc = npc
                instret += 1

            # ---------------- what the instruction loop could not do
            if pending == PENDING_NONE:
                if regions_on and (not fetch_vm or (pc >> 12) == f_vpn):
                    # one sample per chunk: a 256-byte window sampled often enough is hot code
                    sp = (f_page | (pc & 0xFFF)) if fetch_vm else pc
                    h = HOT_BASE + ((sp >> 8) & HOT_MASK)
                    icache[h] += 1
                    if icache[h] >= st[ST_REGION_HOT]:
                        icache[h] = 0
                        st[ST_REGION_REQ_PC] = pc
                        st[ST_REGION_REQ_PADDR] = sp
                        st[ST_REGION_REQ] = 1
                        reason = EXIT_REGION
                        done = True
                break
            st[ST_PC] = pc
            st[ST_INSTRET] = instret
            if (not fp_dirty and (pending == PENDING_LOAD or pending == PENDING_STORE)
                    and (op == FLW or op == FLD or op == FSW or op == FSD)):
                pending = PENDING_FP             # an FP load/store while FS is not Dirty: exec_fp decides
            if pending == PENDING_FETCH:
                p = translate(pc, TLB_FETCH, fctx, st, csr, mem, tlb)
                if p < 0:
                    handler = take_trap(fault_cause(p), pc, False, pc, st, csr)
                    end -= 1
                    if handler == pc:             # the handler itself cannot be fetched
                        st[ST_FATAL] = FATAL_TRAP_LOOP
                        reason = EXIT_FATAL
                        done = True
                    pc = handler
                    sync = True
                else:
                    f_vpn = pc >> 12
                    f_page = p & PAGE_MASK
            elif pending == PENDING_DECODE:
                e = REGION_BASE + REGION_W * ((paddr >> 1) & REGION_MASK)
                filled = 0
                if (regions_on and icache[e + RT_PADDR] == paddr and icache[e + RT_PC] == pc
                        and icache[e + RT_KEY] == mode_key):
                    # this slot leads into a native region: run it until it leaves, then go on here
                    status = call_region(icache[e + RT_FN], x.ctypes.data, mem.ctypes.data, st.ctypes.data,
                                         pflags.ctypes.data, tlb.ctypes.data, icache.ctypes.data, pc, instret,
                                         chunk_end)
                    st[ST_REGION_ENTRIES] += 1
                    if st[ST_PC] == pc and st[ST_INSTRET] == instret:
                        # no progress (the budget, or its first access needs the slow path):
                        # interpret this one instruction from the scratch slot
                        if decode_scratch(pc, st, csr, mem, tlb, icache):
                            scratch_pc = pc
                        else:
                            filled = -1
                    else:
                        pc = st[ST_PC]
                        instret = st[ST_INSTRET]
                        if status == REGION_HOOKS:   # its last store hit a flagged page
                            if store_hooks(st[ST_REGION_ADDR], st[ST_REGION_SIZE], st, icache, pflags):
                                reason = EXIT_HTIF   # or EXIT_DEBUG_WATCH (same code): a watchpoint
                                done = True
                else:
                    filled = fetch_decode(pc, st, csr, mem, tlb, icache, pflags)
                if filled < 0:
                    end -= 1
                    if st[ST_PC] == pc:           # the handler itself cannot be fetched, or a breakpoint
                        st[ST_FATAL] = FATAL_TRAP_LOOP   # (st[ST_DBG_BREAK] set: emu.debug.debug_exit)
                        reason = EXIT_FATAL       # == EXIT_DEBUG_BREAK: a breakpoint leaves here too
                        done = True
                    pc = st[ST_PC]
                    sync = True
                elif filled == ICACHE_SCRATCH:
                    scratch_pc = pc                # straddles a page under Sv39: run it once from there
            elif pending == PENDING_LOAD:
                status, v = load_slow(addr, op, rd, npc - pc, pc, st, csr, mem, tlb, mmio)
                if status == MEM_MMIO_EXIT:
                    reason = EXIT_MMIO
                    done = True
                elif status == MEM_TRAPPED:
                    pc = st[ST_PC]
                    end -= 1
                    sync = True
                else:
                    x[rd] = (v & M32) | NAN_BOX if op == FLW else v
                    pc = npc
                    instret += 1
            elif pending == PENDING_STORE:
                status = store_slow(addr, op, x[rs2], npc - pc, pc, st, csr, mem, tlb, icache, pflags,
                                    mmio)
                if status == MEM_MMIO_EXIT:
                    reason = EXIT_MMIO
                    done = True
                elif status == MEM_TRAPPED:
                    pc = st[ST_PC]
                    end -= 1
                    sync = True
                else:
                    pc = npc
                    instret += 1
                    if status == MEM_HTIF_EXIT:
                        reason = EXIT_HTIF
                        done = True
                    elif status == MEM_DONE_SYNC:
                        sync = True              # e.g. mtimecmp or msip written: take it now
            elif pending == PENDING_HOOKS:
                pc = npc
                instret += 1
                if store_hooks(addr, MEM_SIZE[op], st, icache, pflags):
                    reason = EXIT_HTIF           # or EXIT_DEBUG_WATCH (same code): a watchpoint
                    done = True
            elif pending == PENDING_FP:
                status = exec_fp(op, rd, rs1, rs2, imm, pc, x, st, csr, mem, tlb)
                if status == FP_RETIRED:
                    pc = npc
                    instret += 1
                else:                            # trapped (FS Off, a reserved rm), or FS just made Dirty:
                    sync = True                  # a new chunk (which runs it again, FS Dirty)
                    if status == FP_TRAPPED:
                        pc = st[ST_PC]
                        end -= 1
            else:  # PENDING_COLD
                status = exec_cold(op, rd, rs1, rs2, imm, npc - pc, pc, x, st, csr, mem, tlb, icache,
                                   pflags)
                pc = st[ST_PC]
                if status == COLD_TRAPPED:
                    end -= 1
                    sync = True
                else:
                    instret += 1
                    if status != COLD_RETIRED:
                        sync = True              # re-read the mode, check interrupts, wfi
                        if status == COLD_HTIF:
                            reason = EXIT_HTIF
                            done = True
                        elif status == COLD_SBI:
                            reason = EXIT_SBI
                            done = True
            if done:
                break
    st[ST_PC] = pc
    st[ST_INSTRET] = instret
    return reason
