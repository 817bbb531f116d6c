"""Sdtrig: the debug spec's trigger module (RISC-V debug spec 1.0, chapter 5), as M-mode software sees it.

N_TRIGGERS (emu/state.py) triggers of type 6 (mcontrol6), reached through tselect, tdata1, tdata2,
tdata3 and tinfo (M-mode only: csr_access refuses S and U by the CSR numbers' privilege bits).
tcontrol is not implemented (0x7a5 does not exist); the spec's rule for harts without it applies.

What is kept, in st (emu/state.py): tselect, each trigger's tdata1 and tdata2 (tdata3 reads 0:
no textra matching), and two counts the hot paths test before anything else:
  st[ST_TRIG_EXEC]  triggers armed for execute (type 6, an m/s/u enable and execute set);
  st[ST_TRIG_LDST]  the guest's triggers armed for loads or stores (dmode = 0, so action 0).

WARL choices (tdata1, type 6): select = 0 (addresses only), timing = 0 (before), size = 0 (any),
chain = 0, match 0 (equal), 1 (NAPOT), 2 (>=) or 3 (<) (others read 0), action 0 (breakpoint
exception) or 1 (Debug Mode, only with dmode = 1: the debugger's); hit0 is set when the trigger
fires and is writable; uncertain, vs, vu and the rest read 0.  Writing any other type (0 or 15
included) disables the trigger: it reads type 15.  dmode is written by the debugger only (the GDB
stub, set_debugger_triggers): M-mode cannot set it, and cannot write a trigger that has it.  tselect
keeps its value when written with one >= N_TRIGGERS (so probing software reads back a different
number).  tinfo: version 1, types 6 and 15.

When a trigger fires (debug spec 5.5, priv spec 3.1.16): action 0 raises a breakpoint exception
(cause 3) before the instruction, which does not execute, with xtval = the matching address (the
pc for execute, the access's virtual address for a load or store) and xepc = the pc; medeleg bit
3 delegates it to S as any exception.  Action 0 triggers do not fire in M-mode while mstatus.MIE
= 0, nor in S-mode while sstatus.SIE = 0 when medeleg delegates breakpoints (the spec's rule for
a hart without tcontrol: a trap handler entered by a trigger is not triggered again).  Action 1
stops the hart for the debugger (emu/debug.py's EXIT_BREAK).

Where it is checked, without a test in the hot loop:
  * execute: memory.fetch_decode, on decode-cache misses (as the debugger's breakpoints, see
    emu/debug.py).  A pc that any execute trigger matches is never cached, so it is checked each
    time; a trigger CSR write asks the host to empty the decode cache (st[ST_TRIG_SYNC], sync()).
    Native regions end before every pc a trigger matches (debug.region_stops).
  * loads and stores: while one of the guest's is armed the hart runs emu/debugloop.run_checked,
    which looks at each instruction's access before it runs (about 10x slower, only then), and
    native regions are off (debug.REGIONS_TRIGGERS).
A trigger CSR write leaves the loop at once (st[ST_REGION_READY] makes it return EXIT_REGION,
which Hart.call_loop answers with sync()), so the instruction after the write is checked.

The debugger's triggers (GDB's Z1-Z4, set_debugger_triggers; dmode = 1, action 1, m, s and u): a
hardware breakpoint is an execute trigger, checked as above.  A watchpoint is a load (Z3), store (Z2)
or load+store (Z4) trigger on the address GDB gave (debugger_trigger: match equal for one byte, else
NAPOT on the smallest naturally aligned power-of-two block that holds the range: the range itself
when it is one), which the guest sees in use; but for these the debugger's watch table does the
matching (emu/debug.py: physical ranges of any length, write watches at full speed, reported after
the store), so GDB and the trigger see the same accesses, those in GDB's exact range.  They are not
counted in st[ST_TRIG_LDST]: they never switch the hart to the checked loop nor turn regions off,
access_match skips them (they raise nothing), and their hit0 stays 0.

Limits: an instruction cached at its physical address while reached through another virtual
address (an alias) is not checked again at the triggered address until the next trigger write
or decode-cache flush; cbo.zero and accesses by devices are not checked.
"""
import numpy as np
from numba import njit

from emu.spec import (PRV_S, PRV_M, MSTATUS, MEDELEG, MSTATUS_MIE, MSTATUS_SIE, CAUSE_BREAKPOINT,
                      TSELECT, TDATA1, TDATA2, TDATA3, TINFO, TDATA1_TYPE_SHIFT, TDATA1_DMODE, TDATA1_DISABLED,
                      TRIG_TYPE_MCONTROL6, TRIG_TYPE_DISABLED, MC6_HIT0, MC6_ACTION_SHIFT, MC6_ACTION,
                      MC6_MATCH_SHIFT, MC6_MATCH, MC6_M, MC6_S, MC6_U, MC6_EXECUTE, MC6_STORE, MC6_LOAD,
                      ACTION_BREAKPOINT, ACTION_DEBUG_MODE, MATCH_EQUAL, MATCH_NAPOT, MATCH_GE, MATCH_LT,
                      TINFO_VERSION_SHIFT, TINFO_VERSION_1)
from emu.state import (ST_PRIV, ST_TSELECT, ST_TDATA1, ST_TDATA2, ST_TRIG_EXEC, ST_TRIG_LDST, ST_TRIG_SYNC,
                       ST_REGION_READY, N_TRIGGERS)
from emu.ints import s64

TINFO_VALUE = (TINFO_VERSION_1 << TINFO_VERSION_SHIFT) | (1 << TRIG_TYPE_MCONTROL6) | (1 << TRIG_TYPE_DISABLED)
MCONTROL6 = TRIG_TYPE_MCONTROL6 << TDATA1_TYPE_SHIFT
MC6_PRIVS = MC6_M | MC6_S | MC6_U
# the mcontrol6 bits this hart keeps (action and match checked on their own)
MC6_KEPT = MC6_HIT0 | MC6_ACTION | MC6_MATCH | MC6_PRIVS | MC6_EXECUTE | MC6_STORE | MC6_LOAD
NO_MATCH = -2            # execute_match: no trigger matches the pc
GATED = -1               # ... one matches it but none fires now (privilege, the MIE/SIE rule)


@njit(cache=True)
def legal_tdata1(v, debugger):
    """tdata1 as written -> as kept (the WARL rules in the module docstring)."""
    if ((v >> TDATA1_TYPE_SHIFT) & 0xF) != TRIG_TYPE_MCONTROL6:
        return TDATA1_DISABLED
    t = MCONTROL6 | (v & MC6_KEPT)
    action = (v >> MC6_ACTION_SHIFT) & 0xF
    if action != ACTION_BREAKPOINT and not (action == ACTION_DEBUG_MODE and debugger):
        t &= ~MC6_ACTION
    if ((v >> MC6_MATCH_SHIFT) & 0xF) > MATCH_LT:
        t &= ~MC6_MATCH
    if debugger:
        t |= TDATA1_DMODE
    return t


@njit(cache=True)
def count_armed(st):
    """Recount st[ST_TRIG_EXEC] and st[ST_TRIG_LDST] from the triggers (the debugger's load/store
    triggers are not counted: its watch table matches for them, see the module docstring)."""
    ex = 0
    ldst = 0
    for i in range(N_TRIGGERS):
        t = st[ST_TDATA1 + i]
        if ((t >> TDATA1_TYPE_SHIFT) & 0xF) != TRIG_TYPE_MCONTROL6 or (t & MC6_PRIVS) == 0:
            continue
        if (t & MC6_EXECUTE) != 0:
            ex += 1
        if (t & (MC6_LOAD | MC6_STORE)) != 0 and (t & TDATA1_DMODE) == 0:
            ldst += 1
    st[ST_TRIG_EXEC] = ex
    st[ST_TRIG_LDST] = ldst


@njit(cache=True)
def trigger_read(n, st):
    """-> (exists, value) of trigger CSR n (csr.csr_read's part for them)."""
    sel = st[ST_TSELECT] & (N_TRIGGERS - 1)
    if n == TSELECT:
        return True, st[ST_TSELECT]
    if n == TDATA1:
        return True, st[ST_TDATA1 + sel]
    if n == TDATA2:
        return True, st[ST_TDATA2 + sel]
    if n == TDATA3:
        return True, 0
    if n == TINFO:
        return True, TINFO_VALUE
    return False, 0


@njit(cache=True)
def trigger_write(n, v, st):
    """Trigger CSR n written from M-mode (csr.csr_write's part for them)."""
    if n == TSELECT:
        if 0 <= v < N_TRIGGERS:
            st[ST_TSELECT] = v
        return
    sel = st[ST_TSELECT] & (N_TRIGGERS - 1)
    if (st[ST_TDATA1 + sel] & TDATA1_DMODE) != 0:
        return                                  # the debugger's trigger: only Debug Mode writes it
    if n == TDATA1:
        st[ST_TDATA1 + sel] = legal_tdata1(v, False)
    elif n == TDATA2:
        st[ST_TDATA2 + sel] = v
    else:
        return                                  # tdata3, tinfo: no writable bits
    count_armed(st)
    st[ST_TRIG_SYNC] = 1                        # the host empties the decode cache (sync) ...
    st[ST_REGION_READY] = 1                     # ... when the loop leaves, after this instruction


@njit(cache=True)
def address_matches(t1, t2, lo, size):
    """Does an access of `size` bytes at lo touch what (tdata1, tdata2) matches? (addresses unsigned)"""
    m = (t1 >> MC6_MATCH_SHIFT) & 0xF
    hi = lo + (size - 1)                        # the last byte (wraps like the address)
    if m == MATCH_EQUAL:
        return lo == t2 or (size > 1 and np.uint64(t2 - lo) <= np.uint64(size - 1))
    if m == MATCH_NAPOT:                        # the top bits above tdata2's lowest 0 bit
        mask = ~(t2 ^ (t2 + 1))
        return (lo & mask) == (t2 & mask) or (hi & mask) == (t2 & mask)
    if m == MATCH_GE:
        return np.uint64(hi) >= np.uint64(t2)
    return np.uint64(lo) < np.uint64(t2)        # MATCH_LT


@njit(cache=True)
def may_fire(t1, st, csr):
    """Is trigger tdata1 = t1 enabled at the current privilege level, and may it fire now?"""
    priv = st[ST_PRIV]
    bit = MC6_M if priv == PRV_M else (MC6_S if priv == PRV_S else MC6_U)
    if (t1 & bit) == 0:
        return False
    if (t1 & MC6_ACTION) == 0:                  # a breakpoint exception: not into a handler that cannot take it
        ms = csr[MSTATUS]
        if priv == PRV_M and (ms & MSTATUS_MIE) == 0:
            return False
        if (priv == PRV_S and (ms & MSTATUS_SIE) == 0
                and ((csr[MEDELEG] >> CAUSE_BREAKPOINT) & 1) != 0):
            return False
    return True


@njit(cache=True)
def execute_match(pc, st, csr):
    """-> the index of the execute trigger that fires at pc, GATED, or NO_MATCH."""
    r = NO_MATCH
    for i in range(N_TRIGGERS):
        t = st[ST_TDATA1 + i]
        if (((t >> TDATA1_TYPE_SHIFT) & 0xF) != TRIG_TYPE_MCONTROL6 or (t & MC6_EXECUTE) == 0
                or (t & MC6_PRIVS) == 0 or not address_matches(t, st[ST_TDATA2 + i], pc, 1)):
            continue
        if may_fire(t, st, csr):
            return i
        r = GATED
    return r


@njit(cache=True)
def access_match(kind, va, size, st, csr):
    """-> the index of the guest's trigger (dmode = 0, action 0) that fires on an access (kind: MC6_LOAD
    and/or MC6_STORE bits) of size bytes at virtual address va, or -1.  The debugger's load/store
    triggers are skipped: its watch table matches for them (emu/debug.py)."""
    for i in range(N_TRIGGERS):
        t = st[ST_TDATA1 + i]
        if (((t >> TDATA1_TYPE_SHIFT) & 0xF) == TRIG_TYPE_MCONTROL6 and (t & kind) != 0
                and (t & TDATA1_DMODE) == 0 and address_matches(t, st[ST_TDATA2 + i], va, size)
                and may_fire(t, st, csr)):
            return i
    return -1


@njit(cache=True)
def mark_hit(i, st):
    """Trigger i fired: -> its action (hit0 set)."""
    st[ST_TDATA1 + i] |= MC6_HIT0
    return (st[ST_TDATA1 + i] >> MC6_ACTION_SHIFT) & 0xF


# --------------------------------------------------------------------------- host side

def sync(hart):
    """After trigger CSR writes (st[ST_TRIG_SYNC]): empty the decode cache and the native regions
    (execute triggers are checked on decode misses, regions end before their pcs), and keep regions
    off while load/store triggers are armed (the checked loop looks at every access)."""
    from emu import debug as D
    st = hart.st
    st[ST_TRIG_SYNC] = 0
    count_armed(st)
    blocked = int(st[D.S.ST_REGION_BLOCKED]) & ~D.REGIONS_TRIGGERS
    st[D.S.ST_REGION_BLOCKED] = blocked | (D.REGIONS_TRIGGERS if st[ST_TRIG_LDST] else 0)
    hart.flush_decode_cache()
    if hart.regions is None:
        st[ST_REGION_READY] = 0                 # (with regions, Regions.compile clears it)


def trigger_stops(st):
    """-> (pcs, ranges) that armed execute triggers match, for native regions to end before: ranges
    are signed (lo, hi) pairs, inclusive, as emu/debug.py's BP_RANGE entries."""
    pcs, ranges = set(), []
    for i in range(N_TRIGGERS):
        t = int(st[ST_TDATA1 + i])
        if ((t >> TDATA1_TYPE_SHIFT) & 0xF) != TRIG_TYPE_MCONTROL6 or not t & MC6_EXECUTE or not t & MC6_PRIVS:
            continue
        a = int(st[ST_TDATA2 + i]) & (2**64 - 1)
        m = (t >> MC6_MATCH_SHIFT) & 0xF
        if m == MATCH_EQUAL:
            pcs.add(s64(a))
            continue
        if m == MATCH_NAPOT:
            low = (a ^ (a + 1)) & (2**64 - 1)
            lo, hi = a & ~low & (2**64 - 1), a | low
        elif m == MATCH_GE:
            lo, hi = a, 2**64 - 1
        else:
            if a == 0:
                continue
            lo, hi = 0, a - 1
        if lo < 2**63 <= hi:                    # it crosses 2**63: two signed ranges
            ranges += [(s64(lo), 2**63 - 1), (-2**63, s64(hi))]
        else:
            ranges.append((s64(lo), s64(hi)))
    return pcs, ranges


def trigger_free(st, i):
    """Does neither M-mode software nor the debugger use trigger i (not armed, dmode = 0)?"""
    t = int(st[ST_TDATA1 + i])
    return not t & TDATA1_DMODE and (((t >> TDATA1_TYPE_SHIFT) & 0xF) != TRIG_TYPE_MCONTROL6 or not t & MC6_PRIVS
                                     or not t & (MC6_EXECUTE | MC6_LOAD | MC6_STORE))


def free_triggers(st):
    """How many triggers are free (trigger_free)."""
    return sum(trigger_free(st, i) for i in range(N_TRIGGERS))


def debugger_trigger(kind, va, n=1):
    """The debugger's trigger for `kind` (MC6_EXECUTE: a hardware breakpoint at pc va; MC6_LOAD and/or
    MC6_STORE: a watchpoint on the n bytes at va) -> (tdata1, tdata2): dmode = 1, action 1 (Debug Mode:
    the hart stops for the debugger), m, s and u.  One byte matches equal; more, NAPOT (tdata2 = the
    block's base | (size/2 - 1)) on the smallest naturally aligned power-of-two block that holds them:
    exactly the range when it is such a block (2**k bytes at a multiple of 2**k), else the tightest
    superset one trigger names (chain is 0 here, so no >= / < pair; a lone >= would name everything up
    to the top of memory).  The watch table matches a watchpoint's exact range either way."""
    va = int(va) & (2**64 - 1)
    last = va + n - 1
    if n == 1:
        match, t2 = MATCH_EQUAL, va
    else:
        k = (va ^ last).bit_length() if last < 2**64 else 64        # the block is 2**k bytes
        match, t2 = MATCH_NAPOT, (va & ~((1 << k) - 1)) | ((1 << (k - 1)) - 1)
    t1 = legal_tdata1(MCONTROL6 | (ACTION_DEBUG_MODE << MC6_ACTION_SHIFT) | MC6_PRIVS | kind
                      | (match << MC6_MATCH_SHIFT), True)
    return int(t1), s64(t2)


def set_debugger_triggers(hart, wanted):
    """The debugger's triggers (GDB's Z1-Z4: lifecycle/debug/gdbtarget.py): one trigger for each
    (tdata1, tdata2) of `wanted` (debugger_trigger's).  The ones it holds that are still wanted stay
    where they are (hit0 kept), the others are given back (type 15), and new ones come from the free
    ones.  -> False (nothing changed) when there are not enough free triggers."""
    st = hart.st
    todo = [(int(t1), s64(t2)) for t1, t2 in wanted]
    held = [i for i in range(N_TRIGGERS) if int(st[ST_TDATA1 + i]) & TDATA1_DMODE]
    release = []
    for i in held:
        kept = (int(st[ST_TDATA1 + i]) & ~MC6_HIT0, int(st[ST_TDATA2 + i]))
        if kept in todo:
            todo.remove(kept)
        else:
            release.append(i)
    if len(todo) > len(release) + free_triggers(st):
        return False
    for i in release:
        st[ST_TDATA1 + i] = TDATA1_DISABLED
        st[ST_TDATA2 + i] = 0
    free = [i for i in range(N_TRIGGERS) if trigger_free(st, i)]
    for i, (t1, t2) in zip(free, todo):
        st[ST_TDATA1 + i] = t1
        st[ST_TDATA2 + i] = t2
    st[ST_TRIG_SYNC] = 1
    sync(hart)
    return True
