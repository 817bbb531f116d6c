"""The CSR file (Zicsr + privileged spec v1.12): access rules, WARL fields, views.

csr[] stores each CSR at its own number.  Some CSRs are not stored but are
views of others, computed here: sstatus (a subset of mstatus), sie/sip (mie/mip
masked by mideleg), cycle/instret/time (the hart's counters), mstatus.SD.
csr_access() is the one entry the CSR instructions use; it applies the spec's
rules in order: the CSR exists, the privilege level is high enough
(csr[9:8]), read-only CSRs (csr[11:10] == 3) are not written, counters are
gated by mcounteren/scounteren, satp and sfence.vma obey mstatus.TVM, stimecmp
from S needs menvcfg.STCE and mcounteren.TM (Sstc).
"""
from numba import njit

from emu.spec import (PRV_U, PRV_S, PRV_M,  # noqa: F401 (the CSR names stay importable from here)
                      FFLAGS, FRM, FCSR, FCSR_FRM_SHIFT, FS_OFF,
                      SSTATUS, SIE, STVEC, SCOUNTEREN, SENVCFG, SSCRATCH, SEPC, SCAUSE, STVAL, SIP, SATP, STIMECMP,
                      MSTATUS, MISA, MEDELEG, MIDELEG, MIE, MTVEC, MCOUNTEREN, MENVCFG, MCOUNTINHIBIT,
                      MHPMEVENT3, MSCRATCH, MEPC, MCAUSE, MTVAL, MIP, PMPCFG0, PMPADDR0, MCYCLE, MINSTRET,
                      MHPMCOUNTER3, CYCLE, TIME, INSTRET, HPMCOUNTER3, MVENDORID, MARCHID, MIMPID, MHARTID,
                      MCONFIGPTR, N_HPM, CSR_ACCESS_SHIFT, CSR_READ_ONLY,
                      MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP, MSTATUS_MPP_SHIFT,
                      MSTATUS_MPP, MSTATUS_FS, MSTATUS_MPRV, MSTATUS_SUM, MSTATUS_MXR, MSTATUS_TVM, MSTATUS_TW,
                      MSTATUS_TSR, MSTATUS_UXL_SHIFT, MSTATUS_SXL_SHIFT, MSTATUS_SD,
                      ENVCFG_CBIE, ENVCFG_CBIE_SHIFT, ENVCFG_CBCFE, ENVCFG_CBZE,
                      MIP_SSIP, MIP_MSIP, MIP_STIP, MIP_MTIP, MIP_SEIP, MIP_MEIP,
                      CAUSE_MACHINE_ECALL, SATP_MODE_SHIFT, SATP_MODE_BARE, SATP_MODE_SV39, SATP_MODE_SV57,
                      SATP_PPN, MENVCFG_STCE, MENVCFG_PBMTE, COUNTEREN_TM, PMP_R, PMP_W, PMP_X, PMP_A,
                      PMP_A_SHIFT, PMP_L, PMP_TOR, N_PMP, PMPADDR_BITS)
from emu import isastring
from emu.state import (ST_PRIV, ST_INSTRET, ST_IDLE, ST_MINSTRET_OFF, ST_ISA,
                       ST_MCYCLE_OFF, ST_FETCH_VM, ST_DATA_VM, ST_FETCH_CTX, ST_DATA_CTX,
                       TLB_EMPTY, ST_EIP, ST_SEIP_SW, ST_FCSR, ST_CBZE)
from emu.timer import mtime, update_mtip, sstc_on
from emu.mmu import CTX_M, PMP_G, pmp_cfg, pmp_binds_m, pmp_grants_all
from emu.ints import s64
from emu.trigger import trigger_read, trigger_write, TSELECT, TINFO

# --- what this hart implements of the spec's fields (WARL choices)
MSTATUS_UXL_SXL = (2 << MSTATUS_UXL_SHIFT) | (2 << MSTATUS_SXL_SHIFT)     # XLEN 64 for U and S, read-only
MSTATUS_WRITABLE = (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP
                    | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW
                    | MSTATUS_TSR)
SSTATUS_VISIBLE = (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR
                   | (3 << MSTATUS_UXL_SHIFT) | MSTATUS_SD)
SSTATUS_WRITABLE = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR

MIE_WRITABLE = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP
MIP_WRITABLE = MIP_SSIP | MIP_STIP | MIP_SEIP          # the rest are driven by the CLINT and PLIC
S_INTERRUPTS = MIP_SSIP | MIP_STIP | MIP_SEIP
# every exception cause below 16 but ecall-from-M and the reserved 10 and 14 (= 0xB3FF)
MEDELEG_WRITABLE = 0xFFFF & ~((1 << CAUSE_MACHINE_ECALL) | (1 << 10) | (1 << 14))

# misa: MXL = 2 (RV64), the selected letters (st[ST_ISA]'s low 26 bits, emu/isastring.py), S and U; read-only
# (WARL: writes are ignored, the extensions cannot be switched at run time).  MISA_VALUE: every extension
MISA_FIXED = s64(isastring.misa(0))
MISA_LETTERS = isastring.LETTER_MASK
MISA_VALUE = s64(isastring.misa(isastring.FULL))
# the full hart as an ISA string (the device tree's riscv,isa and riscv,isa-extensions, /proc/cpuinfo), in
# the canonical order (emu/isastring.py); --isa selects less (isastring.canonical of st[ST_ISA])
ISA_STRING = isastring.FULL_STRING
# the extensions that gate CSRs and CSR fields here
EXT_F, EXT_C = isastring.bit("f"), isastring.bit("c")
EXT_ZICBOM, EXT_ZICBOZ, EXT_SSTC, EXT_SVPBMT = (isastring.bit(e) for e in ("zicbom", "zicboz", "sstc", "svpbmt"))
MMU_TYPE = "riscv,sv57"            # the device tree's mmu-type: the largest satp mode (Sv39, Sv48 and Sv57)
# the cache block of Zicbom/Zicbop/Zicboz (riscv,cbom-block-size, ...): what cbo.zero zeroes
CACHE_BLOCK_SIZE = 64
FFLAGS_MASK = 0x1F                 # fcsr: frm (3 bits) << 5 | fflags (5 bits), the rest reads zero
FCSR_MASK = 0xFF

PMPADDR_WRITABLE = (1 << PMPADDR_BITS) - 1
BYTE_LSBS = 0x0101010101010101                              # bit 0 of each byte of a pmpcfg CSR
PMPCFG_WRITABLE_8 = s64((PMP_L | PMP_A | PMP_X | PMP_W | PMP_R) * BYTE_LSBS)   # a pmpNcfg byte's bits 6:5 read 0
MVENDORID_VALUE = 0        # a non-commercial implementation
MARCHID_VALUE = 0
MIMPID_VALUE = 0


@njit(cache=True)
def clock(st):
    return st[ST_INSTRET] + st[ST_IDLE]


@njit(cache=True)
def envcfg_enabled(field, priv, csr):
    """A cache-block instruction's envcfg enable (CMO spec 2.5): always in M; in S, menvcfg's field;
    in U, menvcfg's and senvcfg's."""
    if priv == PRV_M:
        return True
    if (csr[MENVCFG] & field) == 0:
        return False
    return priv == PRV_S or (csr[SENVCFG] & field) != 0


@njit(cache=True)
def refresh_mode(st, csr):
    """Recompute the loop's cached translation mode after priv, mstatus, satp or PMP changed.

    Fetches and data accesses go through the TLB (emu/mmu.py) in S and U while satp translates
    or PMP restricts them (anything but one entry granting everything, the reset value), and in
    M only while a locked PMP entry binds M-mode; else they use the physical address as it is.  Data accesses use mstatus.MPP as their privilege
    when M-mode sets mstatus.MPRV.  The access context selects one bit of a TLB entry's
    permission mask: bit 0 = S-mode (else U), bit 1 = mstatus.SUM, bit 2 = mstatus.MXR; M-mode
    has its own, mmu.CTX_M, while a locked PMP entry binds it.
    """
    priv = st[ST_PRIV]
    ms = csr[MSTATUS]
    dpriv = priv
    if priv == PRV_M and (ms & MSTATUS_MPRV) != 0:
        dpriv = (ms >> MSTATUS_MPP_SHIFT) & 3
    m_bound = pmp_binds_m(csr)
    s_u_tlb = ((csr[SATP] >> SATP_MODE_SHIFT) & 0xF) != SATP_MODE_BARE or not pmp_grants_all(csr)
    st[ST_FETCH_VM] = 1 if (m_bound if priv == PRV_M else s_u_tlb) else 0
    st[ST_DATA_VM] = 1 if (m_bound if dpriv == PRV_M else s_u_tlb) else 0
    m_ctx = CTX_M if m_bound else 0      # (unused while M bypasses the TLB: 0 keeps region keys as they were)
    st[ST_FETCH_CTX] = m_ctx if priv == PRV_M else (1 if priv == PRV_S else 0)
    if dpriv == PRV_M:
        ctx = m_ctx
    else:
        ctx = 1 if dpriv == PRV_S else 0
        if (ms & MSTATUS_SUM) != 0:
            ctx |= 2
        if (ms & MSTATUS_MXR) != 0:
            ctx |= 4
    st[ST_DATA_CTX] = ctx
    # cbo.zero's enable changes with priv and envcfg writes, both of which end here: the loop reads it
    # once per chunk for the region key without touching csr[] (reading it there slowed the loop ~8%)
    st[ST_CBZE] = 1 if envcfg_enabled(ENVCFG_CBZE, priv, csr) else 0


@njit(cache=True)
def sample_external(st, csr):
    """mip.MEIP and mip.SEIP follow the interrupt controller's lines (st[ST_EIP], set by the host)."""
    lines = MIP_MEIP | MIP_SEIP
    csr[MIP] = (csr[MIP] & ~lines) | (st[ST_EIP] & lines) | st[ST_SEIP_SW]


@njit(cache=True)
def flush_tlb(tlb):
    for k in range(tlb.shape[0]):
        for i in range(tlb.shape[1]):
            tlb[k, i, 0] = TLB_EMPTY


@njit(cache=True)
def envcfg_writable(n, isa):
    """The writable bits of menvcfg or senvcfg (n) on a hart with the extensions isa: the cache-block
    enables of Zicbom (CBIE, CBCFE) and Zicboz (CBZE), and menvcfg's own STCE (Sstc) and PBMTE (Svpbmt);
    the rest (FIOM, the other extensions' bits) read zero."""
    w = 0
    if (isa & EXT_ZICBOM) != 0:
        w |= ENVCFG_CBIE | ENVCFG_CBCFE
    if (isa & EXT_ZICBOZ) != 0:
        w |= ENVCFG_CBZE
    if n == MENVCFG:
        if (isa & EXT_SSTC) != 0:
            w |= MENVCFG_STCE
        if (isa & EXT_SVPBMT) != 0:
            w |= MENVCFG_PBMTE
    return w


@njit(cache=True)
def counter_allowed(n, priv, csr):
    """cycle/time/instret/hpmcounterN from S or U need mcounteren (and scounteren for U)."""
    bit = n - CYCLE
    if priv < PRV_M and ((csr[MCOUNTEREN] >> bit) & 1) == 0:
        return False
    if priv == PRV_U and ((csr[SCOUNTEREN] >> bit) & 1) == 0:
        return False
    return True


@njit(cache=True)
def pmpaddr_read(i, csr):
    """pmpaddr i as read at granularity G (3.7.1): bits G-2:0 read as ones while the entry is
    NAPOT, bits G-1:0 as zeros while it is OFF or TOR; the register keeps what was written."""
    v = csr[PMPADDR0 + i]
    if (pmp_cfg(i, csr) & (2 << PMP_A_SHIFT)) != 0:
        return v | ((1 << (PMP_G - 1)) - 1)
    return v & ~((1 << PMP_G) - 1)


@njit(cache=True)
def pmpcfg_write(n, v, csr):
    """pmpcfg n (8 entries, one byte each) with the WARL rules, all 8 bytes at once: a locked entry
    keeps its byte; bits 6:5 read 0; R = 0 with W = 1 is reserved (W reads 0); NA4 is not
    selectable at G >= 1 (it becomes NAPOT)."""
    old = csr[n]
    new = v & PMPCFG_WRITABLE_8
    new &= ~(((new >> 1) & ~new & BYTE_LSBS) << 1)          # W without R: W = 0
    new |= ((new >> 4) & ~(new >> 3) & BYTE_LSBS) << 3      # A = NA4 (10): NAPOT (11)
    locked = (old >> 7) & BYTE_LSBS                         # each byte's L bit, spread over the byte
    locked |= locked << 1
    locked |= locked << 2
    locked |= locked << 4
    csr[n] = (old & locked) | (new & ~locked)


@njit(cache=True)
def pmpaddr_write(i, v, csr):
    """pmpaddr i, unless entry i is locked, or entry i + 1 is locked and TOR (its lower bound)."""
    if (pmp_cfg(i, csr) & PMP_L) != 0:
        return
    if i + 1 < N_PMP:
        nxt = pmp_cfg(i + 1, csr)
        if (nxt & PMP_L) != 0 and ((nxt >> PMP_A_SHIFT) & 3) == PMP_TOR:
            return
    csr[PMPADDR0 + i] = v & PMPADDR_WRITABLE


@njit(cache=True)
def csr_read(n, st, csr):
    """-> (exists, value), no privilege checks."""
    if n == MSTATUS or n == SSTATUS:
        v = csr[MSTATUS] | MSTATUS_UXL_SXL
        if (v & MSTATUS_FS) == MSTATUS_FS:
            v |= MSTATUS_SD
        if n == SSTATUS:
            v &= SSTATUS_VISIBLE
        return True, v
    if n == SIE:
        return True, csr[MIE] & csr[MIDELEG]
    if n == SIP:
        return True, csr[MIP] & csr[MIDELEG]
    if n == MISA:
        return True, MISA_FIXED | (st[ST_ISA] & MISA_LETTERS)
    if n == FFLAGS or n == FRM or n == FCSR:
        if (csr[MSTATUS] & MSTATUS_FS) == FS_OFF or (st[ST_ISA] & EXT_F) == 0:
            return False, 0                  # FS Off: the FP CSRs trap like the FP instructions
        if n == FFLAGS:
            return True, st[ST_FCSR] & FFLAGS_MASK
        if n == FRM:
            return True, (st[ST_FCSR] >> FCSR_FRM_SHIFT) & 7
        return True, st[ST_FCSR] & FCSR_MASK
    if n == CYCLE or n == MCYCLE:
        return True, clock(st) + st[ST_MCYCLE_OFF]
    if n == INSTRET or n == MINSTRET:
        return True, st[ST_INSTRET] + st[ST_MINSTRET_OFF]
    if n == TIME:
        return True, mtime(st)
    if n == MVENDORID:
        return True, MVENDORID_VALUE
    if n == MARCHID:
        return True, MARCHID_VALUE
    if n == MIMPID or n == MHARTID or n == MCONFIGPTR:
        return True, 0
    if (n == STVEC or n == SCOUNTEREN or n == SSCRATCH or n == SEPC or n == SCAUSE or n == STVAL
            or n == SATP or n == MEDELEG or n == MIDELEG or n == MIE or n == MTVEC or n == MCOUNTEREN
            or n == MSCRATCH or n == MEPC or n == MCAUSE or n == MTVAL or n == MIP):
        return True, csr[n]
    if n == STIMECMP:
        return (st[ST_ISA] & EXT_SSTC) != 0, csr[n]
    if n == SENVCFG or n == MENVCFG:
        return True, csr[n]
    if n == MCOUNTINHIBIT:
        return True, 0
    if PMPCFG0 <= n <= PMPCFG0 + 15:
        if (n & 1) != 0:
            return False, 0                  # odd pmpcfg CSRs do not exist on RV64
        return True, csr[n]
    if PMPADDR0 <= n <= PMPADDR0 + 63:
        return True, pmpaddr_read(n - PMPADDR0, csr)
    if TSELECT <= n <= TINFO:                # Sdtrig: emu/trigger.py
        return trigger_read(n, st)
    # hardware performance monitor: present, hard-wired to zero
    if (MHPMCOUNTER3 <= n < MHPMCOUNTER3 + N_HPM or HPMCOUNTER3 <= n < HPMCOUNTER3 + N_HPM
            or MHPMEVENT3 <= n < MHPMEVENT3 + N_HPM):
        return True, 0
    return False, 0


@njit(cache=True)
def csr_write(n, v, st, csr, tlb):
    """Store v with the CSR's WARL rules. The caller has checked existence and privilege."""
    if n == MSTATUS or n == SSTATUS:
        # without F (no FP state at all) mstatus.FS is read-only zero
        w = MSTATUS_WRITABLE if n == MSTATUS else SSTATUS_WRITABLE
        if (st[ST_ISA] & EXT_F) == 0:
            w &= ~MSTATUS_FS
        old = csr[MSTATUS]
        new = (old & ~w) | (v & w)
        if ((new >> MSTATUS_MPP_SHIFT) & 3) == 2:      # MPP = 2 is reserved: keep the old MPP
            new = (new & ~MSTATUS_MPP) | (old & MSTATUS_MPP)
        csr[MSTATUS] = new
    elif n == MIE:
        csr[MIE] = v & MIE_WRITABLE
    elif n == SIE:
        d = csr[MIDELEG]
        csr[MIE] = (csr[MIE] & ~d) | (v & d)
    elif n == MIP:
        # mip.SEIP reads as the software-written bit OR the PLIC's S-context line;
        # while menvcfg.STCE is set, stimecmp drives mip.STIP and software cannot write it
        st[ST_SEIP_SW] = v & MIP_SEIP
        w = MIP_WRITABLE & ~MIP_STIP if sstc_on(csr) else MIP_WRITABLE
        csr[MIP] = (csr[MIP] & ~w) | (v & w) | (st[ST_EIP] & MIP_SEIP)
    elif n == SIP:
        w = MIP_SSIP & csr[MIDELEG]
        csr[MIP] = (csr[MIP] & ~w) | (v & w)
    elif n == MEDELEG:
        csr[MEDELEG] = v & MEDELEG_WRITABLE
    elif n == MIDELEG:
        csr[MIDELEG] = v & S_INTERRUPTS
    elif n == MTVEC or n == STVEC:
        csr[n] = v & ~2                      # MODE >= 2 is reserved: WARL to direct/vectored
    elif n == MEPC or n == SEPC:
        csr[n] = v & (~1 if (st[ST_ISA] & EXT_C) != 0 else ~3)   # IALIGN = 16, or 32 without C
    elif n == MCOUNTEREN or n == SCOUNTEREN:
        csr[n] = v & 0xFFFFFFFF
    elif n == MENVCFG or n == SENVCFG:
        new = v & envcfg_writable(n, st[ST_ISA])
        if ((new >> ENVCFG_CBIE_SHIFT) & 3) == 2:      # CBIE = 10 is reserved: keep the old CBIE
            new = (new & ~ENVCFG_CBIE) | (csr[n] & ENVCFG_CBIE)
        csr[n] = new
        update_mtip(st, csr)                 # menvcfg.STCE decides what drives mip.STIP
    elif n == SATP:
        mode = (v >> SATP_MODE_SHIFT) & 0xF
        if mode == SATP_MODE_BARE or SATP_MODE_SV39 <= mode <= SATP_MODE_SV57:  # the rest: no change
            csr[SATP] = (mode << SATP_MODE_SHIFT) | (v & SATP_PPN)   # ASIDLEN = 0
            flush_tlb(tlb)
    elif n == STIMECMP:
        csr[STIMECMP] = v
        update_mtip(st, csr)
    elif n == FFLAGS or n == FRM or n == FCSR:
        if n == FFLAGS:
            v = (st[ST_FCSR] & ~FFLAGS_MASK) | (v & FFLAGS_MASK)
        elif n == FRM:
            v = (st[ST_FCSR] & FFLAGS_MASK) | ((v & 7) << FCSR_FRM_SHIFT)
        st[ST_FCSR] = v & FCSR_MASK
        csr[MSTATUS] |= MSTATUS_FS           # FP state written: FS Dirty
    elif n == MCYCLE:
        st[ST_MCYCLE_OFF] = v - (clock(st) + 1)       # the writing instruction's tick is not counted
    elif n == MINSTRET:
        st[ST_MINSTRET_OFF] = v - (st[ST_INSTRET] + 1)
    elif PMPCFG0 <= n <= PMPCFG0 + 15:
        pmpcfg_write(n, v, csr)
        flush_tlb(tlb)                        # TLB entries hold PMP's answers (emu/mmu.py)
    elif PMPADDR0 <= n <= PMPADDR0 + 63:
        pmpaddr_write(n - PMPADDR0, v, csr)
        flush_tlb(tlb)
    elif TSELECT <= n <= TINFO:
        trigger_write(n, v, st)
    elif (n == MSCRATCH or n == MCAUSE or n == MTVAL or n == SSCRATCH or n == SCAUSE
          or n == STVAL):
        csr[n] = v
    # anything else that exists is read-only zero / WARL with no writable bits


@njit(cache=True)
def csr_access(n, kind, src, do_write, st, csr, tlb):
    """One CSR instruction's access. kind: 0 write (csrrw), 1 set (csrrs), 2 clear (csrrc).

    -> (ok, old value); ok False means illegal instruction.
    """
    priv = st[ST_PRIV]
    if priv < ((n >> 8) & 3):
        return False, 0
    if do_write and ((n >> CSR_ACCESS_SHIFT) & 3) == CSR_READ_ONLY:
        return False, 0
    if (n == SATP) and priv == PRV_S and (csr[MSTATUS] & MSTATUS_TVM) != 0:
        return False, 0
    if CYCLE <= n <= CYCLE + 31 and not counter_allowed(n, priv, csr):
        return False, 0
    if n == STIMECMP and priv == PRV_S and (not sstc_on(csr) or (csr[MCOUNTEREN] & COUNTEREN_TM) == 0):
        return False, 0                      # Sstc: S-mode needs menvcfg.STCE and mcounteren.TM
    ok, old = csr_read(n, st, csr)
    if not ok:
        return False, 0
    if do_write:
        base = old
        if n == MIP:
            # priv spec 3.1.9: only the software-writable SEIP bit takes part in a
            # csrrs/csrrc of mip, not the PLIC's line ORed into what is read
            base = (old & ~MIP_SEIP) | st[ST_SEIP_SW]
        if kind == 0:
            new = src
        elif kind == 1:
            new = base | src
        else:
            new = base & ~src
        csr_write(n, new, st, csr, tlb)
        refresh_mode(st, csr)          # mstatus.MPRV/MPP/SUM/MXR, satp and PMP decide translation
    return True, old

