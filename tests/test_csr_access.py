"""Every CSR's access rules, table-driven (privileged spec v1.12, 2.1 and 2.4; Zicsr, unprivileged 9.1).

The rules, written out here from the spec (not from emu/csr.py), decide for every CSR of this hart,
every privilege level and every form of CSR instruction whether the access is legal; an illegal one
raises an illegal-instruction exception (mcause 2) and changes neither rd nor any CSR:

- a CSR this hart does not implement is illegal;
- csr[9:8] is the lowest privilege level that may access it (2.1);
- csr[11:10] == 3 marks it read-only: an instruction that would write it is illegal, even in M (2.1);
  csrrw/csrrwi always write (also with rd = x0), csrrs/csrrc write unless rs1 is x0 (even when the
  register holds 0), csrrsi/csrrci unless uimm is 0 (Zicsr, 9.1);
- cycle/time/instret/hpmcounterN (0xC00 + i) below M need bit i of mcounteren, and in U also of
  scounteren (3.1.11, 4.1.5);
- satp in S-mode is illegal while mstatus.TVM = 1 (3.1.6.5);
- stimecmp in S-mode needs menvcfg.STCE and mcounteren.TM (Sstc).

Legal reads give the CSR's value: read-only CSRs with their known values, plain storage CSRs what
the hart holds, the counters their clock (see counter_value).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rvenc import J_SELF, M64, csr  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu import state as S  # noqa: E402
from emu.csr import refresh_mode  # noqa: E402
from emu.spec import (CAUSE_ILLEGAL_INSTRUCTION, CYCLE, HPMCOUNTER3, INSTRET, MCAUSE, MCOUNTEREN, MEPC,  # noqa: E402
                      MSTATUS, MSTATUS_TVM, MTVAL, MTVEC, PRV_M, PRV_S, PRV_U, RAM_BASE, SATP, SCOUNTEREN, TIME)

BASE = RAM_BASE
HANDLER = BASE + 0x800
PRIV_NAMES = {PRV_U: "U", PRV_S: "S", PRV_M: "M"}

# ---------------------------------------------------------------------------- the CSRs of this hart
# (number, name, kind): kind "store" = a plain register (reads what it holds), "view" = computed
# from other state (its value is checked elsewhere, test_csr.py), "zero" = reads 0, "counter",
# "misa". RV64 without N, H or the debug mode; no vendor CSRs.  The numbers are the
# spec's tables 2.2-2.5 written out, not emu/spec.py's names: this table is the independent check.
MISA_VALUE = ((2 << 62) | sum(1 << (ord(c) - ord("A")) for c in "ACDFIMSU"))   # MXL = 2 (XLEN 64), RV64ACDFIMSU

CSRS = [
    (0x100, "sstatus", "view"), (0x104, "sie", "view"), (0x105, "stvec", "store"),
    (0x106, "scounteren", "store"), (0x10A, "senvcfg", "store"),
    (0x140, "sscratch", "store"), (0x141, "sepc", "store"), (0x142, "scause", "store"),
    (0x143, "stval", "store"), (0x144, "sip", "view"), (0x14D, "stimecmp", "store"), (0x180, "satp", "store"),
    (0x300, "mstatus", "view"), (0x301, "misa", "misa"), (0x302, "medeleg", "store"),
    (0x303, "mideleg", "store"), (0x304, "mie", "store"), (0x305, "mtvec", "store"),
    (0x306, "mcounteren", "store"), (0x30A, "menvcfg", "store"), (0x320, "mcountinhibit", "zero"),
    (0x340, "mscratch", "store"), (0x341, "mepc", "store"), (0x342, "mcause", "store"),
    (0x343, "mtval", "store"), (0x344, "mip", "view"),
    (0xB00, "mcycle", "counter"), (0xB02, "minstret", "counter"),
    (0xC00, "cycle", "counter"), (0xC01, "time", "counter"), (0xC02, "instret", "counter"),
    (0xF11, "mvendorid", "zero"), (0xF12, "marchid", "zero"), (0xF13, "mimpid", "zero"),
    (0xF14, "mhartid", "zero"), (0xF15, "mconfigptr", "zero"),
]
CSRS += [(0x3A0 + i, f"pmpcfg{i}", "store") for i in range(0, 16, 2)]      # odd ones: RV32 only
CSRS += [(0x3B0 + i, f"pmpaddr{i}", "view") for i in range(64)]       # WARL at 4 KiB: test_pmp.py
CSRS += [(0x320 + i, f"mhpmevent{i}", "zero") for i in range(3, 32)]
CSRS += [(0xB00 + i, f"mhpmcounter{i}", "zero") for i in range(3, 32)]
CSRS += [(0xC00 + i, f"hpmcounter{i}", "zero") for i in range(3, 32)]

# Numbers with no CSR here: F/D's fflags/frm/fcsr, RV32-only cycleh/timeh/pmpcfg1, mtime has no CSR
# (0xB01), tcontrol and mcontext (Sdtrig's optional ones) and the Debug Mode CSRs, hypervisor and
# N-extension ones, and gaps.  (tselect..tinfo, 0x7A0-0x7A4: tests/test_sdtrig.py.)
ABSENT = [0x001, 0x002, 0x003, 0x000, 0x004, 0x005, 0x041, 0x044, 0x0FF, 0x107, 0x10C,
          0x200, 0x280, 0x307, 0x310, 0x31F, 0x3A1, 0x3A3, 0x3AF, 0x3F0, 0x600, 0x680, 0x7A5,
          0x7A8, 0x7B0, 0x7B1, 0xB01, 0xB20, 0xB80, 0xC20, 0xC80, 0xC81, 0xC82, 0xDFF, 0xF10,
          0xF16, 0xFFF, 0x5A8, 0x9FF]

# ---------------------------------------------------------------------------- instruction forms
# (mnemonic, rd, rs1 or uimm, writes?): x5 holds 0, x6 a pattern; rd = x1 starts as a sentinel.
PATTERN = 0x20
FORMS = [
    ("csrrs", 1, 0, False),     # csrr: a pure read
    ("csrrc", 1, 0, False),
    ("csrrsi", 1, 0, False),
    ("csrrci", 1, 0, False),
    ("csrrs", 1, 5, True),      # rs1 = x5 holding 0: still a write attempt
    ("csrrc", 1, 5, True),
    ("csrrw", 1, 6, True),
    ("csrrw", 0, 6, True),      # csrw: writes without reading
    ("csrrwi", 1, 0, True),
    ("csrrsi", 1, 1, True),
    ("csrrci", 1, 3, True),
]
SENTINEL = 0x5EED

# Distinct counter offsets (test_csr.counters_set): at the k-th instruction of a fresh hart the
# counters read test_csr.counter_value(h, n, k).
from test_csr import MTIME_OFF, counter_value, counters_set  # noqa: E402


def legal_by_spec(n, priv, writes, mcounteren=0, scounteren=0, tvm=False, exists=True, stce=False):
    """The spec's rules, in the order above. -> True when the access is legal."""
    if not exists:
        return False
    if priv < (n >> 8) & 3:
        return False
    if writes and (n >> 10) & 3 == 3:
        return False
    if CYCLE <= n <= CYCLE + 31 and priv < PRV_M:
        bit = n - CYCLE
        if not (mcounteren >> bit) & 1:
            return False
        if priv == PRV_U and not (scounteren >> bit) & 1:
            return False
    if n == SATP and priv == PRV_S and tvm:
        return False
    if n == 0x14D and priv == PRV_S and not (stce and (mcounteren >> 1) & 1):     # stimecmp
        return False
    return True


def mk(insn, priv, mcounteren=0, scounteren=0, tvm=False):
    h = Hart(1 << 16)
    h.write_phys(BASE, insn)
    h.write_phys(HANDLER, J_SELF)
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = MSTATUS_TVM if tvm else 0
    h.csr[MCOUNTEREN] = mcounteren
    h.csr[SCOUNTEREN] = scounteren
    counters_set(h)
    h.x[1], h.x[5], h.x[6] = SENTINEL, 0, PATTERN
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


def state(h):
    """Every CSR and counter a CSR instruction could change (the trap's own CSRs aside)."""
    c = [int(v) for v in h.csr]
    for n in (MSTATUS, MCAUSE, MEPC, MTVAL):
        c[n] = None
    return c, [int(h.st[i]) for i in (S.ST_MCYCLE_OFF, S.ST_MINSTRET_OFF, S.ST_MTIME_OFF, S.ST_SEIP_SW)]


def check(n, priv, form, legal, expected=None, **ctx):
    """Run one CSR instruction; assert the outcome the spec gives."""
    mn, rd, rs1, _writes = form
    insn = csr(mn, rd, rs1, n)
    h = mk(insn, priv, **ctx)
    where = f"{mn} x{rd}, {n:#x}, {rs1} in {PRIV_NAMES[priv]} {ctx}"
    if legal:
        h.run(1)
        assert h.pc == BASE + 4 and h.priv == priv, \
            f"{where}: trapped (mcause {int(h.csr[MCAUSE])}), the spec allows it"
        if rd and expected is not None:
            assert int(h.x[1]) & M64 == expected & M64, f"{where}: read {int(h.x[1]) & M64:#x}, not {expected:#x}"
    else:
        before = state(h)
        h.run(1)
        assert h.pc == HANDLER and h.priv == PRV_M and int(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION, \
            f"{where}: not an illegal-instruction trap (pc {h.pc:#x}, mcause {int(h.csr[MCAUSE])})"
        assert int(h.csr[MEPC]) & M64 == BASE
        assert int(h.x[1]) == SENTINEL, f"{where}: rd written by a trapping instruction"
        assert state(h) == before, f"{where}: a trapping CSR instruction changed state"


def expected_read(n, kind):
    """What the first instruction of a fresh hart reads (None: a view, checked in test_csr.py)."""
    return {"zero": 0, "counter": counter_value(mk(b"", PRV_M), n), "misa": MISA_VALUE}.get(kind)


PATTERN_STORED = 0x40         # a legal value for every "store" CSR (no WARL field changes it)


@pytest.mark.parametrize("n,name,kind", CSRS, ids=[c[1] for c in CSRS])
def test_csr_access_by_privilege_and_read_only_bits(n, name, kind):
    """Every form of CSR instruction in U, S and M, with the counters enabled for S and U (the
    counter-enable rules have their own test below)."""
    for priv in (PRV_U, PRV_S, PRV_M):
        for form in FORMS:
            legal = legal_by_spec(n, priv, form[3], mcounteren=0xFFFFFFFF, scounteren=0xFFFFFFFF)
            if not legal:
                check(n, priv, form, False, mcounteren=0xFFFFFFFF, scounteren=0xFFFFFFFF)
                continue
            if kind == "store":
                # the CSR holds a known value before the instruction: a read must return it
                mn, rd, rs1, _w = form
                h = mk(csr(mn, rd, rs1, n), priv, mcounteren=0xFFFFFFFF, scounteren=0xFFFFFFFF)
                h.csr[n] = PATTERN_STORED
                h.run(1)
                assert h.pc == BASE + 4, f"{name} {form} in {PRIV_NAMES[priv]}: trapped"
                if rd:
                    assert int(h.x[1]) == PATTERN_STORED, (name, form, PRIV_NAMES[priv], hex(int(h.x[1])))
                continue
            check(n, priv, form, True, expected_read(n, kind), mcounteren=0xFFFFFFFF, scounteren=0xFFFFFFFF)


@pytest.mark.parametrize("n", ABSENT, ids=[f"{n:#05x}" for n in ABSENT])
def test_csrs_this_hart_lacks_are_illegal_at_every_level(n):
    for priv in (PRV_U, PRV_S, PRV_M):
        for form in FORMS:
            check(n, priv, form, False, mcounteren=0xFFFFFFFF, scounteren=0xFFFFFFFF)


READ_ONLY_COUNTERS = [(CYCLE, "cycle"), (TIME, "time"), (INSTRET, "instret"), (HPMCOUNTER3, "hpmcounter3"),
                      (HPMCOUNTER3 + 28, "hpmcounter31")]


@pytest.mark.parametrize("n,name", READ_ONLY_COUNTERS, ids=[c[1] for c in READ_ONLY_COUNTERS])
def test_counter_access_by_mcounteren_and_scounteren(n, name):
    """Reads of each user counter in S and U, over its bit in mcounteren and scounteren (and the
    other bits set, so only its own bit matters); M ignores both. Writes are illegal in every case
    (the counters are read-only; M writes mcycle/minstret instead)."""
    bit = n - CYCLE
    for priv in (PRV_U, PRV_S, PRV_M):
        for m_en in (0, 1):
            for s_en in (0, 1):
                others = 0xFFFFFFFF & ~(1 << bit)
                ctx = dict(mcounteren=others | (m_en << bit), scounteren=others | (s_en << bit))
                for form in FORMS:
                    legal = legal_by_spec(n, priv, form[3], **ctx)
                    check(n, priv, form, legal, expected_read(n, "counter") if legal else None, **ctx)


def test_time_is_read_only_and_keeps_counting():
    """A write attempt to time traps, and time reads on unchanged afterwards (no offset moved)."""
    h = mk(csr("csrrw", 1, 6, TIME) + csr("csrrs", 2, 0, TIME), PRV_M)
    h.run(1)
    assert h.pc == HANDLER and int(h.csr[MCAUSE]) == CAUSE_ILLEGAL_INSTRUCTION
    assert int(h.st[S.ST_MTIME_OFF]) == MTIME_OFF
    h.pc, h.priv = BASE + 4, PRV_M
    clock = int(h.st[S.ST_INSTRET]) + int(h.st[S.ST_IDLE])
    h.run(1)
    assert h.pc == BASE + 8
    assert int(h.x[2]) == clock // int(h.st[S.ST_TIME_DIV]) + MTIME_OFF


@pytest.mark.parametrize("priv,tvm", [(PRV_S, True), (PRV_S, False), (PRV_M, True), (PRV_M, False), (PRV_U, False)])
def test_satp_and_mstatus_tvm(priv, tvm):
    for form in FORMS:
        legal = legal_by_spec(SATP, priv, form[3], tvm=tvm)
        check(SATP, priv, form, legal, None, tvm=tvm)
