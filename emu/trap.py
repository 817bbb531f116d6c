"""Trap entry, interrupt selection and xRET (privileged spec v1.12, 3.1.6-3.1.9, 3.3.2, 4.1).

Exception causes (mcause with the interrupt bit clear) and interrupt causes
(interrupt bit set) are named as in the spec's table 3.6 (emu/spec.py).
"""
from numba import njit

from emu.spec import (PRV_U, PRV_S, PRV_M, MSTATUS, MEDELEG, MIDELEG, MIE, MIP, MTVEC, MEPC, MCAUSE, MTVAL,
                      STVEC, SEPC, SCAUSE, STVAL, MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE,
                      MSTATUS_SPP, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV,
                      IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT, INTERRUPT)
# the causes and their names stay importable from here
from emu.spec import (CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION,  # noqa: F401
                      CAUSE_BREAKPOINT, CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_STORE,
                      CAUSE_STORE_ACCESS, CAUSE_USER_ECALL, CAUSE_SUPERVISOR_ECALL, CAUSE_MACHINE_ECALL,
                      CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
                      EXCEPTION_NAMES, INTERRUPT_NAMES, cause_name)
from emu.state import (ST_PC, ST_PRIV, ST_RES_ADDR, ST_TRAPS, ST_IRQS, ST_DBG_NBP,
                       ST_DBG_BP, ST_DBG_BP_PA, ST_TRAP_LAST, ST_TRAP_PREV, TRAP_CAUSE, TRAP_EPC, TRAP_TVAL,
                       TRAP_PRIV)
from emu.csr import refresh_mode
from emu.debug import BP_TRAP, SLOT_TRAP_M, SLOT_TRAP_S


@njit(cache=True)
def take_trap(cause, tval, is_irq, pc, st, csr):
    """Enter the trap handler for `cause` raised at `pc`; returns the handler's pc.

    Traps from U or S go to S when delegated (medeleg/mideleg); traps in M never do.
    With trap hooks (lifecycle/debug/hooks.py) the handler's pc goes into the breakpoint table
    (emu/debug.py, BP_TRAP), so the loop stops before the handler's first instruction.
    """
    priv = st[ST_PRIV]
    slot = SLOT_TRAP_M
    st[ST_RES_ADDR] = -1                   # a trap clears the LR reservation
    if is_irq:
        st[ST_IRQS] += 1
        deleg = csr[MIDELEG]
        code = cause | INTERRUPT
    else:
        st[ST_TRAPS] += 1
        deleg = csr[MEDELEG]
        code = cause
    # keep the last two traps: when a handler cannot be fetched, the trap before names the cause
    st[ST_TRAP_PREV + TRAP_CAUSE] = st[ST_TRAP_LAST + TRAP_CAUSE]
    st[ST_TRAP_PREV + TRAP_EPC] = st[ST_TRAP_LAST + TRAP_EPC]
    st[ST_TRAP_PREV + TRAP_TVAL] = st[ST_TRAP_LAST + TRAP_TVAL]
    st[ST_TRAP_PREV + TRAP_PRIV] = st[ST_TRAP_LAST + TRAP_PRIV]
    st[ST_TRAP_LAST + TRAP_CAUSE] = code
    st[ST_TRAP_LAST + TRAP_EPC] = pc
    st[ST_TRAP_LAST + TRAP_TVAL] = tval
    st[ST_TRAP_LAST + TRAP_PRIV] = priv
    ms = csr[MSTATUS]
    if priv <= PRV_S and ((deleg >> cause) & 1) != 0:
        csr[SEPC] = pc
        csr[SCAUSE] = code
        csr[STVAL] = tval
        ms = ms & ~(MSTATUS_SPIE | MSTATUS_SPP)
        if (ms & MSTATUS_SIE) != 0:
            ms |= MSTATUS_SPIE
        if priv == PRV_S:
            ms |= MSTATUS_SPP
        ms &= ~MSTATUS_SIE
        st[ST_PRIV] = PRV_S
        vec = csr[STVEC]
        slot = SLOT_TRAP_S
    else:
        csr[MEPC] = pc
        csr[MCAUSE] = code
        csr[MTVAL] = tval
        ms = ms & ~(MSTATUS_MPIE | MSTATUS_MPP)
        if (ms & MSTATUS_MIE) != 0:
            ms |= MSTATUS_MPIE
        ms |= priv << MSTATUS_MPP_SHIFT
        ms &= ~MSTATUS_MIE
        st[ST_PRIV] = PRV_M
        vec = csr[MTVEC]
    csr[MSTATUS] = ms
    target = vec & ~3
    if is_irq and (vec & 1) != 0:          # vectored mode: interrupts go to BASE + 4 * cause
        target += 4 * cause
    st[ST_PC] = target
    if st[ST_DBG_NBP] > SLOT_TRAP_S and st[ST_DBG_BP_PA + SLOT_TRAP_M] == BP_TRAP:
        st[ST_DBG_BP + slot] = target
    refresh_mode(st, csr)
    return target


@njit(cache=True)
def highest(p):
    """The spec's priority order: MEI, MSI, MTI, SEI, SSI, STI."""
    if (p >> IRQ_M_EXT) & 1:
        return IRQ_M_EXT
    if (p >> IRQ_M_SOFT) & 1:
        return IRQ_M_SOFT
    if (p >> IRQ_M_TIMER) & 1:
        return IRQ_M_TIMER
    if (p >> IRQ_S_EXT) & 1:
        return IRQ_S_EXT
    if (p >> IRQ_S_SOFT) & 1:
        return IRQ_S_SOFT
    if (p >> IRQ_S_TIMER) & 1:
        return IRQ_S_TIMER
    return -1


@njit(cache=True)
def pending_interrupt(st, csr):
    """The interrupt to take now, or -1.

    An M-level interrupt (not delegated) is taken when priv < M or mstatus.MIE;
    a delegated one when priv < S, or priv == S and mstatus.SIE; never in M.
    """
    pend = csr[MIP] & csr[MIE]
    if pend == 0:
        return -1
    priv = st[ST_PRIV]
    ms = csr[MSTATUS]
    deleg = csr[MIDELEG]
    m_pend = pend & ~deleg
    if m_pend != 0 and (priv < PRV_M or (ms & MSTATUS_MIE) != 0):
        return highest(m_pend)
    s_pend = pend & deleg
    if s_pend != 0 and (priv < PRV_S or (priv == PRV_S and (ms & MSTATUS_SIE) != 0)):
        return highest(s_pend)
    return -1


@njit(cache=True)
def mret(st, csr):
    """MRET: priv = MPP, MIE = MPIE, MPIE = 1, MPP = U; leaving M clears MPRV. -> new pc."""
    ms = csr[MSTATUS]
    new_priv = (ms >> MSTATUS_MPP_SHIFT) & 3
    ms &= ~(MSTATUS_MIE | MSTATUS_MPP)
    if (ms & MSTATUS_MPIE) != 0:
        ms |= MSTATUS_MIE
    ms |= MSTATUS_MPIE
    if new_priv != PRV_M:
        ms &= ~MSTATUS_MPRV
    csr[MSTATUS] = ms
    st[ST_PRIV] = new_priv
    refresh_mode(st, csr)
    return csr[MEPC]


@njit(cache=True)
def sret(st, csr):
    """SRET: priv = SPP, SIE = SPIE, SPIE = 1, SPP = U; clears MPRV. -> new pc."""
    ms = csr[MSTATUS]
    new_priv = PRV_S if (ms & MSTATUS_SPP) != 0 else PRV_U
    ms &= ~(MSTATUS_SIE | MSTATUS_SPP)
    if (ms & MSTATUS_SPIE) != 0:
        ms |= MSTATUS_SIE
    ms |= MSTATUS_SPIE
    ms &= ~MSTATUS_MPRV
    csr[MSTATUS] = ms
    st[ST_PRIV] = new_priv
    refresh_mode(st, csr)
    return csr[SEPC]
