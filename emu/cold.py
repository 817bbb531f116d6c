"""The cold instructions, executed outside the hot loop: fences, system (Svinval's too), the
cache-block operations (Zicbom, Zicboz), Zicsr and A.

exec_cold() runs one of them and leaves the next pc in st[ST_PC].  It returns
  RETIRED      the instruction completed;
  RETIRED_SYNC it completed and may have changed what the loop caches (privilege,
               mstatus, satp, interrupt enables): the loop ends its chunk, re-reads
               the mode and checks for interrupts;
  TRAPPED      it raised an exception (taken; not retired);
  WFI          wfi: retired, the hart now waits for an interrupt;
  HTIF         a store (sc/AMO) hit HTIF tohost;
  SBI          ecall from S-mode while the VMM is the SBI firmware (st[ST_SBI]): retired,
               the host answers the call from a7/a6/a0.. (devices/firmware/sbi.py).
"""
from enum import IntEnum

import numpy as np
from numba import njit

from emu import isa
from emu.alu import sext32
from emu.spec import (PRV_U, PRV_S, PRV_M, MSTATUS, MSTATUS_TVM, MSTATUS_TW, MSTATUS_TSR,
                      ENVCFG_CBIE, ENVCFG_CBCFE, ENVCFG_CBZE,
                      CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, CAUSE_USER_ECALL, CAUSE_MISALIGNED_LOAD,
                      CAUSE_MISALIGNED_STORE, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_LOAD_PAGE_FAULT,
                      CAUSE_STORE_PAGE_FAULT, CAUSE_MISALIGNED_FETCH)
from emu.state import (ST_PC, ST_PRIV, ST_SBI, ST_RES_ADDR, ST_WFI, ST_RAM_BASE, ST_ISA,
                       ST_RAM_SIZE, ST_DATA_VM, ST_DATA_CTX, PF_RESV,
                       TLB_LOAD, TLB_STORE, REGION_BASE)
from emu.csr import csr_access, flush_tlb, envcfg_enabled, CACHE_BLOCK_SIZE
from emu.mmu import translate, fault_cause
from emu.memory import fetch_raw, store_hooks
from emu.trap import take_trap, mret, sret

class Cold(IntEnum):
    """What exec_cold returned (see the module docstring)."""
    RETIRED = 0
    RETIRED_SYNC = 1
    TRAPPED = 2
    WFI = 3
    HTIF = 4
    SBI = 5


# the plain ints njit code uses; the loop imports them as COLD_* (emu/memory.py has its own MemStatus)
RETIRED = int(Cold.RETIRED)
RETIRED_SYNC = int(Cold.RETIRED_SYNC)
TRAPPED = int(Cold.TRAPPED)
WFI = int(Cold.WFI)
HTIF = int(Cold.HTIF)
SBI = int(Cold.SBI)
COLD_RETIRED, COLD_RETIRED_SYNC, COLD_TRAPPED, COLD_WFI, COLD_HTIF, COLD_SBI = (
    RETIRED, RETIRED_SYNC, TRAPPED, WFI, HTIF, SBI)

# the op numbers of the fences and system instructions, by spec name (emu/isa.py ENCODINGS)
FENCE, FENCE_I, ECALL, EBREAK, MRET, SRET, WFI_OP, SFENCE_VMA = (isa.OP[n] for n in (
    "fence", "fence.i", "ecall", "ebreak", "mret", "sret", "wfi", "sfence.vma"))
SINVAL_VMA, SFENCE_W_INVAL, SFENCE_INVAL_IR = (isa.OP[n] for n in ("sinval.vma", "sfence.w.inval",
                                                                   "sfence.inval.ir"))
CBO_INVAL, CBO_CLEAN, CBO_FLUSH, CBO_ZERO = (isa.OP[n] for n in ("cbo.inval", "cbo.clean", "cbo.flush",
                                                                 "cbo.zero"))
FIRST_ZICSR, LAST_ZICSR, FIRST_A, LAST_A = isa.FIRST_ZICSR, isa.LAST_ZICSR, isa.FIRST_A, isa.LAST_A
MEM_SIZE = isa.MEM_SIZE

# Zicsr, per op from the rows: csr.csr_access's kind (0 write, 1 set, 2 clear), and whether the
# source is the rs1 field itself (the 5-bit uimm of the *i forms) rather than x[rs1]
CSR_KIND = isa.op_array(lambda r: ("write", "set", "clear").index(r.alu) if r.group == isa.Group.ZICSR else 0)
CSR_UIMM = isa.op_array(lambda r: r.group == isa.Group.ZICSR and r.imm)

# A, per op from the rows: the operation (the A rows' Insn.alu), numbered for njit code
AMO_OPS = ("lr", "sc", "swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu")
A_LR, A_SC, A_SWAP, A_ADD, A_XOR, A_AND, A_OR, A_MIN, A_MAX, A_MINU, A_MAXU = range(len(AMO_OPS))
AMO_FUNC = isa.op_array(lambda r: AMO_OPS.index(r.alu) if r.group == isa.Group.A else -1, -1)


@njit(cache=True)
def illegal(pc, st, csr, mem, tlb):
    """Illegal-instruction exception with mtval = the instruction's bits."""
    ok, w, p, s, cause, tval = fetch_raw(pc, st, csr, mem, tlb)
    bits = w & 0xFFFFFFFF if ok else 0
    if ok and (w & 3) != 3:
        bits = w & 0xFFFF
    take_trap(CAUSE_ILLEGAL_INSTRUCTION, bits, False, pc, st, csr)
    return TRAPPED


# jal, jalr and the branches without C (exec_ialign32): the branch's comparison (isa.CONDS), -1 for the jumps
JAL, JALR = isa.OP["jal"], isa.OP["jalr"]
BRANCH_COND = isa.op_array(lambda r: isa.CONDS.index(r.cond) if r.group == isa.Group.CTRL and r.cond else -1, -1)


@njit(cache=True)
def exec_ialign32(w, pc, x, st, csr, mem, tlb):
    """A jal, jalr or branch on a hart without C (IALIGN = 32), which isa.decode_for sends here as
    ILLEGAL with imm = its bits w: a jump (or taken branch) to a pc that is not 4-byte aligned raises
    instruction-address-misaligned on the jump itself (tval = the target; rd is not written), as the
    unprivileged spec says; else it runs as the loop would.  Anything else w is: illegal instruction."""
    o, rd, rs1, rs2, imm, ilen = isa.decode(w)
    if ilen != 4 or not (isa.FIRST_CTRL <= o <= isa.LAST_CTRL):
        return illegal(pc, st, csr, mem, tlb)
    if o == JAL:
        t = pc + imm
    elif o == JALR:
        t = (x[rs1] + imm) & ~1
    else:
        a = x[rs1]
        b = x[rs2]
        c = BRANCH_COND[o]
        if c == 0:
            taken = a == b
        elif c == 1:
            taken = a != b
        elif c == 2:
            taken = a < b
        elif c == 3:
            taken = a >= b
        elif c == 4:
            taken = np.uint64(a) < np.uint64(b)
        else:
            taken = np.uint64(a) >= np.uint64(b)
        t = pc + imm if taken else pc + 4
    if (t & 3) != 0:
        take_trap(CAUSE_MISALIGNED_FETCH, t, False, pc, st, csr)
        return TRAPPED
    if o == JAL or o == JALR:
        x[rd] = pc + 4
    st[ST_PC] = t
    return RETIRED


@njit(cache=True)
def amo_op(f, old, src, is_w):
    """The read-modify-write of AMO<f>: old value in memory, src from rs2."""
    if is_w:
        old = sext32(old)
        src = sext32(src)
    if f == A_SWAP:
        return src
    if f == A_ADD:
        return old + src
    if f == A_XOR:
        return old ^ src
    if f == A_AND:
        return old & src
    if f == A_OR:
        return old | src
    if f == A_MIN:
        return old if old < src else src
    if f == A_MAX:
        return old if old > src else src
    if f == A_MINU:
        return old if np.uint64(old) < np.uint64(src) else src
    return old if np.uint64(old) > np.uint64(src) else src      # A_MAXU


@njit(cache=True)
def exec_atomic(op, rd, rs1, rs2, ilen, pc, x, st, csr, mem, tlb, icache, pflags):
    """LR/SC and the AMOs (naturally aligned RAM only: otherwise misaligned / access fault)."""
    size = MEM_SIZE[op]
    is_d = size == 8
    f = AMO_FUNC[op]
    va = x[rs1]
    is_lr = f == A_LR
    kind = TLB_LOAD if is_lr else TLB_STORE
    if (va & (size - 1)) != 0:
        take_trap(CAUSE_MISALIGNED_LOAD if is_lr else CAUSE_MISALIGNED_STORE, va, False, pc, st, csr)
        return TRAPPED
    p = va
    if st[ST_DATA_VM] != 0:
        p = translate(va, kind, st[ST_DATA_CTX], st, csr, mem, tlb)
        if p < 0:
            take_trap(fault_cause(p), va, False, pc, st, csr)
            return TRAPPED
    off = p - st[ST_RAM_BASE]
    if off < 0 or off >= st[ST_RAM_SIZE]:
        take_trap(CAUSE_LOAD_ACCESS if is_lr else CAUSE_STORE_ACCESS, va, False, pc, st, csr)
        return TRAPPED
    m64 = mem.view(np.int64)
    m32 = mem.view(np.int32)
    if is_d:
        old = m64[off >> 3]
    else:
        old = np.int64(m32[off >> 2])
    status = RETIRED
    if is_lr:
        st[ST_RES_ADDR] = p
        pflags[off >> 12] |= PF_RESV
        x[rd] = old
    else:
        if f == A_SC:
            ok = st[ST_RES_ADDR] == p
            st[ST_RES_ADDR] = -1                # SC always clears the reservation
            if not ok:
                x[rd] = 1
                st[ST_PC] = pc + ilen
                return RETIRED
            new = x[rs2]
            result = 0
        else:
            new = amo_op(f, old, x[rs2], not is_d)
            result = old
        if is_d:
            m64[off >> 3] = new
        else:
            m32[off >> 2] = sext32(new)
        if pflags[off >> 12] != 0 and store_hooks(p, size, st, icache, pflags):
            status = HTIF
        x[rd] = result
    st[ST_PC] = pc + ilen
    return status


@njit(cache=True)
def cbo_enabled(op, priv, csr):
    """The envcfg enable of a cache-block instruction (csr.envcfg_enabled; cbo.inval's CBIE is on as
    01 and as 11: invalidating and flushing are the same here)."""
    if op == CBO_ZERO:
        field = ENVCFG_CBZE
    elif op == CBO_INVAL:
        field = ENVCFG_CBIE
    else:
        field = ENVCFG_CBCFE
    return envcfg_enabled(field, priv, csr)


@njit(cache=True)
def exec_cbo(op, rs1, ilen, pc, x, st, csr, mem, tlb, icache, pflags):
    """cbo.zero stores zeros to the cache block (CACHE_BLOCK_SIZE bytes, aligned) holding x[rs1];
    cbo.clean/flush/inval have no cache to act on here, but check the block as the CMO spec says:
    it must be readable or writable (translated as a load), and in RAM.  Their faults are store
    faults (page or access) with tval = x[rs1], the address as the instruction gave it."""
    if not cbo_enabled(op, st[ST_PRIV], csr):
        return illegal(pc, st, csr, mem, tlb)
    va = x[rs1]
    block = va & ~(CACHE_BLOCK_SIZE - 1)
    p = block
    if st[ST_DATA_VM] != 0:
        p = translate(block, TLB_STORE if op == CBO_ZERO else TLB_LOAD, st[ST_DATA_CTX], st, csr, mem, tlb)
        if p < 0:
            cause = fault_cause(p)
            if cause == CAUSE_LOAD_PAGE_FAULT:
                cause = CAUSE_STORE_PAGE_FAULT
            elif cause == CAUSE_LOAD_ACCESS:
                cause = CAUSE_STORE_ACCESS
            take_trap(cause, va, False, pc, st, csr)
            return TRAPPED
    off = p - st[ST_RAM_BASE]
    if off < 0 or off >= st[ST_RAM_SIZE]:
        take_trap(CAUSE_STORE_ACCESS, va, False, pc, st, csr)     # a device's registers are no cache block
        return TRAPPED
    status = RETIRED
    if op == CBO_ZERO:
        mem[off:off + CACHE_BLOCK_SIZE] = 0
        if pflags[off >> 12] != 0 and store_hooks(p, CACHE_BLOCK_SIZE, st, icache, pflags):
            status = HTIF
    st[ST_PC] = pc + ilen
    return status


@njit(cache=True)
def exec_cold(op, rd, rs1, rs2, imm, ilen, pc, x, st, csr, mem, tlb, icache, pflags):
    """Execute one cold instruction (see the module docstring for the return codes)."""
    priv = st[ST_PRIV]
    npc = pc + ilen
    if FIRST_A <= op <= LAST_A:
        return exec_atomic(op, rd, rs1, rs2, ilen, pc, x, st, csr, mem, tlb, icache, pflags)
    if FIRST_ZICSR <= op <= LAST_ZICSR:
        kind = CSR_KIND[op]
        src = rs1 if CSR_UIMM[op] != 0 else x[rs1]
        # csrrw always writes; csrrs/csrrc with rs1 = x0 (or uimm = 0) only read
        do_write = kind == 0 or rs1 != 0
        ok, old = csr_access(imm, kind, src, do_write, st, csr, tlb)
        if not ok:
            return illegal(pc, st, csr, mem, tlb)
        x[rd] = old
        st[ST_PC] = npc
        return RETIRED_SYNC if do_write else RETIRED
    if op == FENCE:
        st[ST_PC] = npc
        return RETIRED
    if op == FENCE_I:
        icache[:REGION_BASE] = -1      # native regions stay: stores already dropped any they overlap
        st[ST_PC] = npc
        return RETIRED
    if op == ECALL:
        if priv == PRV_S and st[ST_SBI] != 0:
            st[ST_PC] = pc + 4
            return SBI
        take_trap(CAUSE_USER_ECALL + priv, 0, False, pc, st, csr)
        return TRAPPED
    if op == EBREAK:
        take_trap(CAUSE_BREAKPOINT, pc, False, pc, st, csr)
        return TRAPPED
    if op == MRET:
        if priv != PRV_M:
            return illegal(pc, st, csr, mem, tlb)
        st[ST_PC] = mret(st, csr)
        return RETIRED_SYNC
    if op == SRET:
        if priv == PRV_U or (priv == PRV_S and (csr[MSTATUS] & MSTATUS_TSR) != 0):
            return illegal(pc, st, csr, mem, tlb)
        st[ST_PC] = sret(st, csr)
        return RETIRED_SYNC
    if op == WFI_OP:
        if priv == PRV_U or (priv == PRV_S and (csr[MSTATUS] & MSTATUS_TW) != 0):
            return illegal(pc, st, csr, mem, tlb)
        st[ST_WFI] = 1
        st[ST_PC] = npc
        return WFI
    if op == SFENCE_VMA or op == SINVAL_VMA:
        # sinval.vma: sfence.vma's invalidation without its ordering (Svinval), under the same rules
        if priv == PRV_U or (priv == PRV_S and (csr[MSTATUS] & MSTATUS_TVM) != 0):
            return illegal(pc, st, csr, mem, tlb)
        flush_tlb(tlb)                          # all of it: the TLB has no ASIDs
        st[ST_PC] = npc
        return RETIRED_SYNC
    if op == SFENCE_W_INVAL or op == SFENCE_INVAL_IR:
        # Svinval's ordering around sinval.vma: nothing to order in this hart, but not for U-mode
        # (mstatus.TVM does not apply to them)
        if priv == PRV_U:
            return illegal(pc, st, csr, mem, tlb)
        st[ST_PC] = npc
        return RETIRED
    if op == CBO_ZERO or op == CBO_CLEAN or op == CBO_FLUSH or op == CBO_INVAL:
        return exec_cbo(op, rs1, ilen, pc, x, st, csr, mem, tlb, icache, pflags)
    if (st[ST_ISA] & isa.EXT_C) == 0:               # (op is ILLEGAL) perhaps a jump without C
        return exec_ialign32(imm & 0xFFFFFFFF, pc, x, st, csr, mem, tlb)
    return illegal(pc, st, csr, mem, tlb)
