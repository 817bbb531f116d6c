"""The timers: the CLINT (SiFive core-local interruptor) registers, served inside the loop, and
Sstc's stimecmp.

The CLINT is a fast-path device: its registers live in the state arrays
(mip.MSIP in csr, mtimecmp and the mtime offset in st), so guest accesses never
leave the Numba loop.  devices/clint.py registers its range in the trap table.

mtime is derived from the hart's clock (instructions retired + cycles idled in
wfi): mtime = clock // st[ST_TIME_DIV] + st[ST_MTIME_OFF].  That makes timer
interrupts land at the same instruction on every run (deterministic timer).

stimecmp (Sstc) is a CSR (csr[STIMECMP]): while menvcfg.STCE is set, mtime >= stimecmp drives
mip.STIP, and an S-mode kernel programs its timer without an SBI call (emu/csr.py has its access
rules).
"""
import numpy as np
from numba import njit

from emu.spec import MIP, MIP_MSIP, MIP_STIP, MENVCFG, MENVCFG_STCE, STIMECMP
from emu.state import ST_INSTRET, ST_IDLE, ST_TIME_DIV, ST_MTIME_OFF, ST_MTIMECMP, ST_TIMER_BIT

CLINT_MSIP = 0x0000        # hart 0 msip, 32 bits (bit 0 = mip.MSIP)
CLINT_MTIMECMP = 0x4000    # hart 0 mtimecmp, 64 bits
CLINT_MTIME = 0xBFF8       # mtime, 64 bits
NEVER = 1 << 62            # cycles_until_timer: no timer event to wait for


@njit(cache=True)
def mtime(st):
    return (st[ST_INSTRET] + st[ST_IDLE]) // st[ST_TIME_DIV] + st[ST_MTIME_OFF]


@njit(cache=True)
def sstc_on(csr):
    """menvcfg.STCE: stimecmp drives mip.STIP (Sstc)."""
    return (csr[MENVCFG] & MENVCFG_STCE) != 0


@njit(cache=True)
def update_mtip(st, csr):
    """The timer comparators drive their mip bits: mtime >= mtimecmp (unsigned) drives mip.MTIP,
    as the CLINT does, and with menvcfg.STCE mtime >= stimecmp drives mip.STIP (Sstc).

    When the VMM itself is the SBI firmware (st[ST_TIMER_BIT] = STIP), the CLINT comparator
    drives mip.STIP instead of MTIP: what OpenSBI does in software on every timer interrupt
    (unless STCE is on: then stimecmp drives STIP, as it does under OpenSBI).
    """
    now = np.uint64(mtime(st))
    bit = st[ST_TIMER_BIT]
    if now >= np.uint64(st[ST_MTIMECMP]):
        csr[MIP] |= bit
    else:
        csr[MIP] &= ~bit
    if sstc_on(csr):
        if now >= np.uint64(csr[STIMECMP]):
            csr[MIP] |= MIP_STIP
        else:
            csr[MIP] &= ~MIP_STIP


@njit(cache=True)
def cycles_until(st, cmp):
    """Clock cycles until mtime reaches the comparator value cmp (unsigned): 0 when it has,
    NEVER when that is more than 2^40 ticks away."""
    now = mtime(st)
    if np.uint64(now) >= np.uint64(cmp):
        return 0
    ticks = np.uint64(cmp) - np.uint64(now)
    if ticks > np.uint64(1 << 40):
        return NEVER
    div = st[ST_TIME_DIV]
    target = (cmp - st[ST_MTIME_OFF]) * div            # first clock value with mtime >= cmp
    return target - (st[ST_INSTRET] + st[ST_IDLE])


@njit(cache=True)
def cycles_until_timer(st, csr, bits):
    """Clock cycles until the next comparator that drives one of the mip `bits` (update_mtip)
    reaches mtime, of those it has not reached yet; NEVER when there is none.

    The loop ends its chunks there (bits = all), so that timer interrupts arrive at the same
    instruction in every run, and a hart in wfi skips ahead to it (bits = mie: the next timer
    interrupt that can wake it).
    """
    best = NEVER
    if (st[ST_TIMER_BIT] & bits) != 0:
        t = cycles_until(st, st[ST_MTIMECMP])
        if 0 < t < best:
            best = t
    if (bits & MIP_STIP) != 0 and sstc_on(csr):
        t = cycles_until(st, csr[STIMECMP])
        if 0 < t < best:
            best = t
    return best


@njit(cache=True)
def _reg_read(reg, sub, size):
    v = reg >> (sub * 8)
    if size == 8:
        return v
    return v & ((1 << (size * 8)) - 1)


@njit(cache=True)
def _reg_write(reg, sub, size, value):
    if size == 8:
        return value
    m = ((1 << (size * 8)) - 1) << (sub * 8)
    return (reg & ~m) | ((value << (sub * 8)) & m)


@njit(cache=True)
def clint_load(off, size, st, csr):
    """-> (ok, value). Unknown offsets read as zero (as on QEMU virt)."""
    if off >= CLINT_MTIME and off + size <= CLINT_MTIME + 8:
        return True, _reg_read(mtime(st), off - CLINT_MTIME, size)
    if off >= CLINT_MTIMECMP and off + size <= CLINT_MTIMECMP + 8:
        return True, _reg_read(st[ST_MTIMECMP], off - CLINT_MTIMECMP, size)
    if off >= CLINT_MSIP and off + size <= CLINT_MSIP + 4:
        v = 1 if (csr[MIP] & MIP_MSIP) != 0 else 0
        return True, _reg_read(v, off - CLINT_MSIP, size)
    return True, 0


@njit(cache=True)
def clint_store(off, size, value, st, csr):
    if off >= CLINT_MTIME and off + size <= CLINT_MTIME + 8:
        new = _reg_write(mtime(st), off - CLINT_MTIME, size, value)
        st[ST_MTIME_OFF] += new - mtime(st)
    elif off >= CLINT_MTIMECMP and off + size <= CLINT_MTIMECMP + 8:
        st[ST_MTIMECMP] = _reg_write(st[ST_MTIMECMP], off - CLINT_MTIMECMP, size, value)
    elif off >= CLINT_MSIP and off + size <= CLINT_MSIP + 4:
        if off == CLINT_MSIP:
            if (value & 1) != 0:
                csr[MIP] |= MIP_MSIP
            else:
                csr[MIP] &= ~MIP_MSIP
    update_mtip(st, csr)
    return True
