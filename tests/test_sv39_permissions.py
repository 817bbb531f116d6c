"""Sv39 permission checks over every combination (privileged spec v1.12, 4.3.1 and 4.3.2 step 5):
PTE R/W/X/U x mstatus.SUM x mstatus.MXR x effective privilege x access type (load, store, fetch),
with the TLB cold (a page-table walk) and warm (the entry filled by an allowed access from another
context: a TLB hit must check the current context again).

The expected outcome is computed by `allowed()` below, the spec's rules written out plainly; the hart
runs a real load, store or jump and either completes it or takes the page fault of the access type
(12 fetch, 13 load, 15 store/AMO) with mtval = the virtual address.
"""
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF, M64, s64  # noqa: E402
from test_mmu import PageTables  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, MCAUSE,  # noqa: E402
                      MEPC, MSTATUS, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SUM, MTVAL, MTVEC, PRV_M,
                      PRV_S, PRV_U, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, RAM_BASE, SATP)

BASE = RAM_BASE
HANDLER = BASE + 0x800
PT_BASE = BASE + 0x1_0000
DATA_PA = BASE + 0x3_0000
CODE_VA = 0x1000_0000
USER_CODE_VA = 0x2000_0000
DATA_VA = 0x4000_0000
PAGE_FAULT = {"fetch": CAUSE_FETCH_PAGE_FAULT, "load": CAUSE_LOAD_PAGE_FAULT, "store": CAUSE_STORE_PAGE_FAULT}
DATA_WORD = 0x1122_3344_5566_7788
STORED = 0x0BAD_CAFE


def allowed(access, pte_r, pte_w, pte_x, pte_u, priv, sum_, mxr):
    """The spec's rules. priv is the effective privilege of the access (for loads and stores in M
    with MPRV = 1, mstatus.MPP)."""
    if pte_w and not pte_r:
        return False                        # W without R is reserved (4.3.1): a page fault
    if access == "fetch":
        if not pte_x:
            return False
        # U-mode fetches only from U pages; S-mode never from U pages, whatever SUM says
        return pte_u if priv == PRV_U else not pte_u
    if priv == PRV_U:
        if not pte_u:
            return False
    elif pte_u and not sum_:
        return False                        # S-mode touches U pages only with SUM = 1
    if access == "load":
        return pte_r or (mxr and pte_x)     # MXR: executable pages are readable too
    return pte_w


# The hart's privilege while running, and the privilege its loads and stores use.
MODES = {
    "U": (PRV_U, PRV_U),
    "S": (PRV_S, PRV_S),
    "M+MPRV(MPP=S)": (PRV_M, PRV_S),
    "M+MPRV(MPP=U)": (PRV_M, PRV_U),
}
FLAG_SETS = [(r, w, x) for r in (0, 1) for w in (0, 1) for x in (0, 1) if r or w or x]   # leaves only
CASES = [(mode, access, rwx, u, sum_, mxr)
         for mode, access, rwx, u, sum_, mxr in itertools.product(
             MODES, ("load", "store", "fetch"), FLAG_SETS, (0, 1), (0, 1), (0, 1))
         if not (access == "fetch" and mode.startswith("M"))]     # MPRV never translates fetches


def case_id(c):
    mode, access, (r, w, x), u, sum_, mxr = c
    flags = "".join(f for f, on in zip("RWXU", (r, w, x, u)) if on)
    return f"{mode}-{access}-{flags}-SUM{sum_}-MXR{mxr}"


def priming_mode(access, r, w, x, u):
    """The most permissive context for this page, from which an access fills the TLB: U pages from
    U-mode, S pages from S-mode, both with SUM = MXR = 1. None when no context may access it."""
    mode = "U" if u else "S"
    return mode if allowed(access, r, w, x, u, MODES[mode][0], 1, 1) else None


# warm: only where some context may make the access (a fault does not fill the TLB)
RUNS = [(c, "cold") for c in CASES] + [(c, "warm") for c in CASES if priming_mode(c[1], *c[2], c[3])]


def machine(mode, sum_, mxr):
    """A hart under Sv39 in `mode`, with code pages for S (CODE_VA) and U (USER_CODE_VA), and
    the M-mode handler `j .` at HANDLER (physical; nothing is delegated)."""
    priv, dpriv = MODES[mode]
    h = Hart(1 << 20)
    pt = PageTables(h, PT_BASE)
    h.write_phys(HANDLER, J_SELF)
    pt.map(CODE_VA, BASE, PTE_V | PTE_R | PTE_X | PTE_A)
    pt.map(USER_CODE_VA, BASE, PTE_V | PTE_R | PTE_X | PTE_A | PTE_U)
    h.csr[SATP] = s64(pt.satp())
    h.csr[MTVEC] = HANDLER
    ms = (MSTATUS_SUM if sum_ else 0) | (MSTATUS_MXR if mxr else 0)
    if priv == PRV_M:
        ms |= MSTATUS_MPRV | (dpriv << MSTATUS_MPP_SHIFT)
    h.csr[MSTATUS] = ms
    h.write_phys(DATA_PA, DATA_WORD.to_bytes(8, "little"))
    return h, pt


def code_for(access):
    if access == "load":
        return I("ld", rd=6, rs1=5, imm=0)
    if access == "store":
        return I("sd", rs2=7, rs1=5, imm=0)
    return I("jalr", rd=0, rs1=5, imm=0)


def run_access(h, mode, access, va):
    """Run the one access at `va` from the mode's code page; -> fault cause or None."""
    priv, _ = MODES[mode]
    h.write_phys(BASE, code_for(access))
    h.write_phys(DATA_PA, (DATA_WORD if access != "fetch" else
                           int.from_bytes(I("addi", rd=6, rs1=0, imm=77) + J_SELF, "little")).to_bytes(8, "little"))
    h.x[5], h.x[6], h.x[7] = va, 0, STORED
    h.csr[MCAUSE] = h.csr[MTVAL] = 0
    h.pc = BASE if priv == PRV_M else (USER_CODE_VA if priv == PRV_U else CODE_VA)
    start = h.pc
    h.priv = priv
    refresh_mode(h.st, h.csr)
    h.run(2 if access == "fetch" else 1)
    if h.pc == HANDLER and h.priv == PRV_M:
        assert int(h.csr[MEPC]) & M64 == (va if access == "fetch" else start)
        return int(h.csr[MCAUSE]), int(h.csr[MTVAL]) & M64
    return None


@pytest.mark.parametrize("case,tlb", RUNS, ids=[f"{case_id(c)}-{t}" for c, t in RUNS])
def test_sv39_permission(case, tlb):
    mode, access, (r, w, x), u, sum_, mxr = case
    _priv, dpriv = MODES[mode]
    eff = MODES[mode][0] if access == "fetch" else dpriv
    want = allowed(access, r, w, x, u, eff, sum_, mxr)
    h, pt = machine(mode, sum_, mxr)
    pt.map(DATA_VA, DATA_PA, PTE_V | PTE_A | PTE_D | (PTE_R if r else 0) | (PTE_W if w else 0) | (PTE_X if x else 0)
           | (PTE_U if u else 0))
    if tlb == "warm":
        # fill the TLB of this access type from the most permissive context, then the case's
        # context (the TLB is not flushed: changing mstatus or the privilege needs no sfence.vma)
        ms = int(h.csr[MSTATUS])
        h.csr[MSTATUS] = MSTATUS_SUM | MSTATUS_MXR
        assert run_access(h, priming_mode(access, r, w, x, u), access, DATA_VA) is None
        h.csr[MSTATUS] = ms
    got = run_access(h, mode, access, DATA_VA)
    if want:
        assert got is None, f"{case_id(case)}: fault {got}, the spec allows the access"
        if access == "load":
            assert int(h.x[6]) & M64 == DATA_WORD
        elif access == "store":
            assert int.from_bytes(h.read_phys(DATA_PA, 8), "little") == STORED
        else:
            assert int(h.x[6]) == 77 and h.pc == DATA_VA + 4
    else:
        assert got == (PAGE_FAULT[access], DATA_VA), f"{case_id(case)}: got {got}, the spec says a page fault"
        if access == "load":
            assert int(h.x[6]) == 0
        elif access == "store":
            assert int.from_bytes(h.read_phys(DATA_PA, 8), "little") == DATA_WORD
        else:
            assert int(h.x[6]) == 0


def test_the_table_covers_both_outcomes_of_every_rule():
    """The rules above are not vacuous: each access type has allowed and denied cases, and SUM, MXR
    and U each change some outcome."""
    outcomes = {}
    for mode, access, (r, w, x), u, sum_, mxr in CASES:
        eff = MODES[mode][0] if access == "fetch" else MODES[mode][1]
        outcomes[(mode, access, r, w, x, u, sum_, mxr)] = allowed(access, r, w, x, u, eff, sum_, mxr)
    for access in PAGE_FAULT:
        vals = {v for k, v in outcomes.items() if k[1] == access}
        assert vals == {True, False}, access
    for i, name in ((5, "U"), (6, "SUM"), (7, "MXR")):
        assert any(outcomes[k] != outcomes.get(k[:i] + (1 - k[i],) + k[i + 1:], outcomes[k]) for k in outcomes), name
