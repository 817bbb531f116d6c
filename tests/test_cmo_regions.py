"""cbo.zero (Zicboz) inside native regions: a hot loop of cbo.zero runs in its region, with the same
results as the loop alone (memory, registers, pc, instret, traps and xtval, the exit), in M, S and U, bare
and under Sv39, with the envcfg enables on and off; at the end of the loop's run, a block the region's
fast path does not take: a read-only page (a store page fault), a device's registers (a store access
fault), the region's own code (dropped: the zeros that follow are an illegal instruction), HTIF tohost
(the exit), an LR reservation (cleared).  tests/test_cmo.py has the rules, in the loop."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import I, J_SELF, s64  # noqa: E402
from test_mmu import PageTables  # noqa: E402

from emu import state as S  # noqa: E402
from emu.hart import Hart  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (ENVCFG_CBZE, MCAUSE, MENVCFG, MEPC, MSTATUS, MTVAL, MTVEC, PRV_M, PRV_S, PRV_U,  # noqa: E402
                      PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, RAM_BASE, SATP, SENVCFG, UART_BASE)
from regionmode import force_regions  # noqa: E402

BASE = RAM_BASE
RAM = 1 << 22
HANDLER = BASE + 0x800
TABLE = BASE + 0x1000                  # the blocks' addresses, one per iteration
DATA = BASE + 0x10000                  # 8 RW pages
RO = BASE + 0x20000                    # a read-only page under Sv39
FLAGGED = BASE + 0x21000               # the page of HTIF tohost, or of an LR reservation
PT_BASE = BASE + 0x100000
N = 300                                # iterations before the block that ends it
PATTERN = bytes((i * 37 + 1) & 0xFF for i in range(0x12000))

# ld a0, 0(s1); cbo.zero (a0); addi s1, s1, 8; addi t0, t0, -1; bnez t0, loop; then j . (t0 = 0)
LOOP = (I("ld", rd=10, rs1=9, imm=0) + I("cbo.zero", rs1=10) + I("addi", rd=9, rs1=9, imm=8)
        + I("addi", rd=5, rs1=5, imm=-1) + I("bne", rs1=5, rs2=0, imm=-16) + J_SELF)


def addresses(last):
    """N blocks in the RW pages (each address inside its block, not aligned), then `last`.  A page
    with flags gets a block of its own among them, away from what it holds: under Sv39 that puts
    the page's store translation in the TLB, so that `last` takes the region's fast path too."""
    blocks = [DATA + 64 * ((i * 7) % 512) + (i * 13) % 64 for i in range(N)]
    if last is not None and (last & ~0xFFF) in (BASE, FLAGGED):
        blocks[N - 50] = (last & ~0xFFF) + 0x400 + 5
    return blocks + ([] if last is None else [last])


LAST = {"ram": None, "read-only": RO + 64 * 5 + 3, "device": UART_BASE + 3, "own-code": BASE + 4,
        "tohost": FLAGGED + 64 * 9 + 1,
        "reservation": FLAGGED + 64 * 2 + 40}


def hart(regions, priv, sv39, menvcfg, senvcfg, last):
    h = Hart(RAM, BASE)
    force_regions(h, regions, poll=256)
    h.write_phys(BASE, LOOP)
    h.write_phys(HANDLER, J_SELF)
    h.write_phys(DATA, PATTERN)
    table = addresses(LAST[last])
    h.write_phys(TABLE, b"".join(s64(a).to_bytes(8, "little", signed=True) for a in table))
    h.x[9], h.x[5] = TABLE, len(table)
    h.csr[MTVEC] = HANDLER
    h.csr[MENVCFG], h.csr[SENVCFG] = menvcfg, senvcfg
    if sv39:                           # identity mappings (code writable: a cbo.zero over it is allowed)
        pt = PageTables(h, PT_BASE)
        u = PTE_U if priv == PRV_U else 0
        for page, flags in ([(BASE, PTE_R | PTE_W | PTE_X), (TABLE, PTE_R), (RO, PTE_R), (FLAGGED, PTE_R | PTE_W),
                             (UART_BASE, PTE_R | PTE_W)]
                            + [(DATA + 4096 * i, PTE_R | PTE_W) for i in range(8)]):
            pt.map(page, page, PTE_V | PTE_A | PTE_D | u | flags)
        h.csr[SATP] = s64(pt.satp())
    if last == "tohost":
        h.st[S.ST_TOHOST] = LAST[last] & ~7
        h.pflags[(FLAGGED - BASE) >> 12] |= S.PF_HTIF
    if last == "reservation":
        h.st[S.ST_RES_ADDR] = LAST[last] & ~7
        h.pflags[(FLAGGED - BASE) >> 12] |= S.PF_RESV
    h.pc = BASE
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


def state(h, why):
    return {"exit": why, "pc": h.pc, "priv": h.priv, "instret": h.instret, "x": [int(v) for v in h.x],
            "trap": [int(h.csr[n]) for n in (MCAUSE, MEPC, MTVAL, MSTATUS)], "res": int(h.st[S.ST_RES_ADDR]),
            "ram": bytes(h.ram)}


def both(priv, sv39, menvcfg, senvcfg, last):
    """-> (the loop's final state, the region's, calls into regions)"""
    out = []
    for regions in (False, True):
        h = hart(regions, priv, sv39, menvcfg, senvcfg, last)
        why = h.run(20 * N)
        out.append(state(h, why))
    return out[0], out[1], int(h.st[S.ST_REGION_ENTRIES]), h.regions.compiled


MODES = [(PRV_M, False), (PRV_S, False), (PRV_S, True), (PRV_U, False), (PRV_U, True)]
MODE_IDS = ["M", "S", "S-sv39", "U", "U-sv39"]


@pytest.mark.parametrize("last", list(LAST))
@pytest.mark.parametrize("priv,sv39", MODES, ids=MODE_IDS)
def test_cbo_zero_in_a_region_as_in_the_loop(priv, sv39, last):
    loop, region, entries, compiled = both(priv, sv39, ENVCFG_CBZE, ENVCFG_CBZE, last)
    assert loop == region
    assert compiled >= 1
    assert entries < N // 5, entries                # the hot loop stays in its region, cbo.zero and all
    if last == "ram":
        d = DATA - BASE                             # block 0 is the first one, block 1 none of them
        assert loop["pc"] == BASE + len(LOOP) - 4 and loop["ram"][d:d + 128] == bytes(64) + PATTERN[64:128]
    elif last in ("read-only", "device", "own-code"):
        cause = {"read-only": 15 if sv39 else None, "device": 7, "own-code": 2}[last]
        if cause is not None:
            assert loop["pc"] == HANDLER and loop["trap"][0] == cause
    elif last == "tohost":
        assert loop["exit"] == S.EXIT_HTIF
    else:
        assert loop["res"] == -1


@pytest.mark.parametrize("menvcfg,senvcfg", [(0, 0), (0, ENVCFG_CBZE), (ENVCFG_CBZE, 0)])
@pytest.mark.parametrize("priv,sv39", MODES[1:], ids=MODE_IDS[1:])
def test_cbo_zero_disabled_traps_as_in_the_loop(priv, sv39, menvcfg, senvcfg):
    loop, region, _, _ = both(priv, sv39, menvcfg, senvcfg, "ram")
    assert loop == region
    illegal = menvcfg == 0 or priv == PRV_U
    assert (loop["pc"] == HANDLER) == illegal and (loop["trap"][0] == 2) == illegal


@pytest.mark.parametrize("field", [MENVCFG, SENVCFG], ids=["menvcfg", "senvcfg"])
@pytest.mark.parametrize("sv39", [False, True], ids=["bare", "sv39"])
def test_a_region_compiled_while_enabled_is_not_run_once_disabled(field, sv39):
    """The region key holds cbo.zero's enable: the region compiled with it on is not entered once the
    CBZE bit is cleared (the loop raises the illegal instruction), and one is compiled again without it."""
    out = []
    for regions in (False, True):
        h = hart(regions, PRV_U, sv39, ENVCFG_CBZE, ENVCFG_CBZE, "ram")
        h.run(20 * N)
        assert h.pc == BASE + len(LOOP) - 4
        h.csr[field] = 0
        refresh_mode(h.st, h.csr)          # a host write to a CSR the mode caches (a csrw does this itself)
        h.x[9], h.x[5] = TABLE, N
        h.pc = BASE
        h.run(20 * N)
        out.append(state(h, 0))
    assert out[0] == out[1]
    assert out[0]["pc"] == HANDLER and out[0]["trap"][:3] == [2, BASE + 4, int.from_bytes(I("cbo.zero", rs1=10), "little")]
