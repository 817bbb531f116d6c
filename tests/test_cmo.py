"""The cache-block instructions (Zicbom, Zicboz; the CMO spec), their menvcfg/senvcfg enables,
Svinval's sinval.vma / sfence.w.inval / sfence.inval.ir, and the hints Zicbop (prefetch.i/r/w) and
Zihintpause (pause), on a hart in M, S and U mode, with and without Sv39.

The rules, written out here from the specs:
- cbo.zero stores zeros to the 64-byte block (riscv,cboz-block-size) holding x[rs1]; cbo.clean,
  cbo.flush, cbo.inval act on caches this hart does not have: they change nothing, but the block
  must be accessible: readable or writable (translated as a load) and memory;
- any fault of theirs is a store fault (page fault 15, access fault 7) with mtval = x[rs1];
- below M, cbo.zero needs menvcfg.CBZE, cbo.clean/flush menvcfg.CBCFE, cbo.inval menvcfg.CBIE != 0
  (01 flush, 11 invalidate; 10 is reserved: WARL, this hart keeps the old value); in U-mode
  senvcfg's field too; else an illegal instruction (mtval its bits);
- sinval.vma is sfence.vma's invalidation: illegal in U, and in S while mstatus.TVM = 1;
  sfence.w.inval and sfence.inval.ir are illegal in U only;
- prefetch.* (ori with rd = x0) and pause (a fence) are hints: no trap, no register written.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvenc  # noqa: E402
from rvenc import I, J_SELF, M64, csrr, csrw, s64  # noqa: E402
from test_mmu import PageTables  # noqa: E402

from emu.hart import Hart  # noqa: E402
from emu.csr import refresh_mode, CACHE_BLOCK_SIZE  # noqa: E402
from emu.spec import (CAUSE_ILLEGAL_INSTRUCTION, CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT,  # noqa: E402
                      ENVCFG_CBCFE, ENVCFG_CBIE, ENVCFG_CBZE, MCAUSE, MENVCFG, MENVCFG_PBMTE, MENVCFG_STCE, MEPC, MSTATUS, MSTATUS_MPP_SHIFT,
                      MSTATUS_MPRV, MSTATUS_TVM, MTVAL, MTVEC, PRV_M, PRV_S, PRV_U, PTE_A, PTE_D, PTE_R, PTE_U,
                      PTE_V, PTE_W, PTE_X, RAM_BASE, SATP, SENVCFG, UART_BASE)

BASE = RAM_BASE
HANDLER = BASE + 0x800
BUF = BASE + 0x2000                    # three blocks, a page of their own
PT_BASE = BASE + 0x10_0000
DATA_PA = BASE + 0x20_0000
CODE_VA = 0x1000_0000
DATA_VA = 0x4000_0000
PATTERN = b"\xa5" * (3 * 64)
CBO = ("cbo.zero", "cbo.clean", "cbo.flush", "cbo.inval")
ENABLE = {"cbo.zero": ENVCFG_CBZE, "cbo.clean": ENVCFG_CBCFE, "cbo.flush": ENVCFG_CBCFE, "cbo.inval": ENVCFG_CBIE}
ALL_ON = ENVCFG_CBZE | ENVCFG_CBCFE | ENVCFG_CBIE


def cbo(name, rs1=10):
    return I(name, rs1=rs1)


def mk(code, priv=PRV_M, menvcfg=0, senvcfg=0, mstatus=0):
    h = Hart(1 << 22)
    h.write_phys(BASE, code)
    h.write_phys(HANDLER, J_SELF)
    h.write_phys(BUF, PATTERN)
    h.csr[MTVEC] = HANDLER
    h.csr[MSTATUS] = mstatus
    h.csr[MENVCFG] = menvcfg
    h.csr[SENVCFG] = senvcfg
    h.priv = priv
    refresh_mode(h.st, h.csr)
    return h


def trap(h):
    """-> (mcause, mtval) if the hart took a trap to M, else None."""
    if h.pc != HANDLER or h.priv != PRV_M:
        return None
    return int(h.csr[MCAUSE]) & M64, int(h.csr[MTVAL]) & M64


def buf(h):
    return bytes(h.read_phys(BUF, len(PATTERN)))


# --------------------------------------------------------------------------- M-mode, physical

@pytest.mark.parametrize("offset", [64, 64 + 13, 127])
def test_cbo_zero_zeroes_the_block_around_the_address(offset):
    h = mk(cbo("cbo.zero"))
    h.x[10] = BUF + offset
    h.run(1)
    assert trap(h) is None and h.pc == BASE + 4
    assert CACHE_BLOCK_SIZE == 64
    assert buf(h) == PATTERN[:64] + bytes(64) + PATTERN[128:]
    assert int(h.x[10]) == BUF + offset                      # rs1 is not written


@pytest.mark.parametrize("name", ["cbo.clean", "cbo.flush", "cbo.inval"])
def test_management_operations_change_no_memory(name):
    h = mk(cbo(name))
    h.x[10] = BUF + 70
    h.run(1)
    assert trap(h) is None and h.pc == BASE + 4 and buf(h) == PATTERN


@pytest.mark.parametrize("name", CBO)
@pytest.mark.parametrize("addr", [UART_BASE + 3, 0x4000_0005, BASE - 64, BASE + (1 << 22) + 1],
                         ids=["device", "unmapped", "below-ram", "above-ram"])
def test_a_block_outside_memory_is_a_store_access_fault(name, addr):
    h = mk(cbo(name))
    h.x[10] = addr
    h.run(1)
    assert trap(h) == (CAUSE_STORE_ACCESS, addr) and int(h.csr[MEPC]) == BASE


def test_cbo_zero_over_code_that_ran_drops_it():
    """cbo.zero is a store: over instructions already decoded (or compiled), the next run of them
    sees zeros, the defined illegal instruction."""
    target = BASE + 0x1000
    code = I("jal", rd=1, imm=0x1000) + cbo("cbo.zero") + I("jal", rd=0, imm=0x1000 - 8)
    h = mk(code)
    h.write_phys(target, I("addi", rd=5, rs1=5, imm=1) + I("jalr", rd=0, rs1=1, imm=0))
    h.x[10] = target
    h.run(4)                        # jal, addi, jalr back, cbo.zero
    assert int(h.x[5]) == 1 and h.pc == BASE + 8
    h.run(2)                        # jal to the zeroed code: illegal instruction (mtval = 0)
    assert trap(h) == (CAUSE_ILLEGAL_INSTRUCTION, 0) and int(h.csr[MEPC]) == target


def test_cbo_zero_on_the_htif_page_exits():
    """A cbo.zero of the block holding tohost is a store to it (here: tohost = 0, an exit code 0)."""
    from emu import state as S
    h = mk(cbo("cbo.zero"))
    h.st[S.ST_TOHOST] = BUF + 64 + 8
    h.pflags[(BUF - BASE) >> 12] |= S.PF_HTIF
    h.x[10] = BUF + 64
    assert h.run(1) == S.EXIT_HTIF and buf(h)[64:128] == bytes(64)


# --------------------------------------------------------------------------- the enables

def enabled(name, priv, menvcfg, senvcfg):
    """The CMO spec's rule (2.5): M always; S menvcfg's field; U menvcfg's and senvcfg's."""
    f = ENABLE[name]
    return priv == PRV_M or (menvcfg & f != 0 and (priv == PRV_S or senvcfg & f != 0))


ENVCFGS = [0, ENVCFG_CBZE, ENVCFG_CBCFE, 1 << 4, ENVCFG_CBIE, ALL_ON]


@pytest.mark.parametrize("name", CBO)
@pytest.mark.parametrize("priv", [PRV_U, PRV_S, PRV_M], ids=["U", "S", "M"])
def test_enables_by_privilege(name, priv):
    for menv in ENVCFGS:
        for senv in ENVCFGS:
            h = mk(cbo(name), priv, menv, senv)
            h.x[10] = BUF + 64
            h.run(1)
            if enabled(name, priv, menv, senv):
                assert trap(h) is None and h.pc == BASE + 4 and h.priv == priv, (hex(menv), hex(senv))
                assert buf(h)[64:128] == (bytes(64) if name == "cbo.zero" else PATTERN[:64])
            else:
                assert trap(h) == (CAUSE_ILLEGAL_INSTRUCTION, rvenc.enc(name, rs1=10)), (hex(menv), hex(senv))
                assert buf(h) == PATTERN


@pytest.mark.parametrize("n", [MENVCFG, SENVCFG], ids=["menvcfg", "senvcfg"])
def test_envcfg_fields_are_warl(n):
    """CBIE, CBCFE and CBZE are writable; CBIE = 10 (reserved) keeps the old CBIE; the rest (FIOM,
    and the fields of extensions this hart lacks) reads zero."""
    code = csrw(n, 5) + csrr(1, n) + csrw(n, 6) + csrr(2, n) + csrw(n, 7) + csrr(3, n)
    h = mk(code)
    h.x[5], h.x[6], h.x[7] = -1, 0x20 | ENVCFG_CBZE, 0x10
    h.run(6)
    assert trap(h) is None
    own = (MENVCFG_STCE | MENVCFG_PBMTE) if n == MENVCFG else 0     # menvcfg's Sstc and Svpbmt bits
    assert int(h.x[1]) == ALL_ON | own                    # all ones: CBIE 11 (FIOM and the rest read 0)
    assert int(h.x[2]) == ENVCFG_CBIE | ENVCFG_CBZE      # CBIE 10: CBIE stays 11
    assert int(h.x[3]) == 0x10                            # CBIE 01


def test_senvcfg_is_for_s_and_menvcfg_for_m():
    h = mk(csrw(SENVCFG, 5) + csrr(1, SENVCFG), priv=PRV_S)
    h.x[5] = ENVCFG_CBZE
    h.run(2)
    assert trap(h) is None and int(h.x[1]) == ENVCFG_CBZE
    h = mk(csrr(1, MENVCFG), priv=PRV_S)
    h.run(1)
    assert trap(h)[0] == CAUSE_ILLEGAL_INSTRUCTION
    h = mk(csrr(1, SENVCFG), priv=PRV_U)
    h.run(1)
    assert trap(h)[0] == CAUSE_ILLEGAL_INSTRUCTION


# --------------------------------------------------------------------------- through Sv39

def vm(code, priv, flags, menvcfg=ALL_ON, senvcfg=ALL_ON, mstatus=0):
    """A hart in `priv` at CODE_VA under Sv39, DATA_VA mapped to DATA_PA with `flags` (None: not
    mapped); DATA_PA holds PATTERN. -> (hart, tables)"""
    h = mk(b"", priv, menvcfg, senvcfg, mstatus)
    pt = PageTables(h, PT_BASE)
    h.write_phys(BASE, code)
    pt.map(CODE_VA, BASE, PTE_V | PTE_R | PTE_X | PTE_A | (PTE_U if priv == PRV_U else 0))
    if flags is not None:
        pt.map(DATA_VA, DATA_PA, PTE_V | PTE_A | PTE_D | flags)
    h.write_phys(DATA_PA, PATTERN)
    h.csr[SATP] = s64(pt.satp())
    h.pc = CODE_VA
    refresh_mode(h.st, h.csr)
    return h, pt


RW, RO, XO = PTE_R | PTE_W, PTE_R, PTE_X


def vm_allowed(name, flags, priv):
    """cbo.zero needs a store's permission; the others a load's or a store's (W implies R)."""
    if flags is None or (priv == PRV_U) != bool(flags & PTE_U):
        return False                   # not mapped; U pages for U only (SUM = 0)
    return bool(flags & PTE_W) if name == "cbo.zero" else bool(flags & PTE_R)


@pytest.mark.parametrize("name", CBO)
@pytest.mark.parametrize("flags", [RW, RO, XO, None, RW | PTE_U, RO | PTE_U],
                         ids=["RW", "R", "X", "unmapped", "RWU", "RU"])
@pytest.mark.parametrize("priv", [PRV_S, PRV_U], ids=["S", "U"])
def test_sv39_permissions_and_page_faults(name, flags, priv):
    h, _ = vm(cbo(name), priv, flags)
    va = DATA_VA + 64 + 9
    h.x[10] = va
    h.run(1)
    if vm_allowed(name, flags, priv):
        assert trap(h) is None and h.pc == CODE_VA + 4
        assert bytes(h.read_phys(DATA_PA, 192)) == (
            PATTERN[:64] + bytes(64) + PATTERN[128:] if name == "cbo.zero" else PATTERN)
    else:
        assert trap(h) == (CAUSE_STORE_PAGE_FAULT, va) and int(h.csr[MEPC]) == CODE_VA
        assert bytes(h.read_phys(DATA_PA, 192)) == PATTERN


def test_mprv_translates_cbo_zero_in_m():
    """M-mode with mstatus.MPRV and MPP = S: the block's address goes through Sv39 like a store's."""
    h, _ = vm(cbo("cbo.zero"), PRV_M, RW, mstatus=MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT))
    h.pc = BASE
    h.x[10] = DATA_VA + 130
    h.run(1)
    assert trap(h) is None and bytes(h.read_phys(DATA_PA, 192)) == PATTERN[:128] + bytes(64)


# --------------------------------------------------------------------------- Svinval

@pytest.mark.parametrize("name", ["sinval.vma", "sfence.w.inval", "sfence.inval.ir"])
@pytest.mark.parametrize("priv,tvm", [(PRV_U, False), (PRV_S, False), (PRV_S, True), (PRV_M, True)],
                         ids=["U", "S", "S-TVM", "M-TVM"])
def test_svinval_privilege(name, priv, tvm):
    word = rvenc.enc(name, rs1=5, rs2=6) if name == "sinval.vma" else rvenc.enc(name)
    h = mk(word.to_bytes(4, "little"), priv, mstatus=MSTATUS_TVM if tvm else 0)
    h.run(1)
    illegal = priv == PRV_U or (priv == PRV_S and tvm and name == "sinval.vma")
    if illegal:
        assert trap(h) == (CAUSE_ILLEGAL_INSTRUCTION, word)
    else:
        assert trap(h) is None and h.pc == BASE + 4 and h.priv == priv


def test_sinval_vma_makes_a_changed_pte_visible():
    """The Svinval sequence after a PTE change: sfence.w.inval, sinval.vma, sfence.inval.ir.  A load
    before it may use the old translation (this hart's TLB keeps it), the one after it the new PTE."""
    code = (I("ld", rd=6, rs1=5, imm=0) + I("ld", rd=7, rs1=5, imm=0) + I("sfence.w.inval")
            + I("sinval.vma", rs1=0, rs2=0) + I("sfence.inval.ir") + I("ld", rd=11, rs1=5, imm=0))
    h, pt = vm(code, PRV_S, RW)
    h.write_phys(DATA_PA, (0x55).to_bytes(8, "little"))
    h.write_phys(DATA_PA + 0x1000, (0x77).to_bytes(8, "little"))
    h.x[5] = DATA_VA
    h.run(1)
    pt.map(DATA_VA, DATA_PA + 0x1000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    h.run(5)
    assert trap(h) is None and h.pc == CODE_VA + 24
    assert [int(h.x[i]) for i in (6, 7, 11)] == [0x55, 0x55, 0x77]


# --------------------------------------------------------------------------- hints

def test_prefetch_and_pause_are_hints():
    """prefetch.i/r/w are ori x0, rs1, offset (offset[4:0] = 0, 1, 3): no fault for any address,
    nothing written; pause is fence with pred = W, succ = 0."""
    pause = 0x0100000F
    code = (rvenc.enc_bytes("ori", rd=0, rs1=10, imm=0) + rvenc.enc_bytes("ori", rd=0, rs1=10, imm=64 | 1)
            + rvenc.enc_bytes("ori", rd=0, rs1=10, imm=-64 | 3) + pause.to_bytes(4, "little"))
    from emu import isa
    assert isa.OPS[int(isa.decode(pause)[0])] == "fence"
    h = mk(code)
    h.x[10] = 0x4000_0000
    before = [int(v) for v in h.x[:32]]
    h.run(4)
    assert trap(h) is None and h.pc == BASE + 16 and [int(v) for v in h.x[:32]] == before


# --------------------------------------------------------------------------- the tracer

def test_the_tracer_shows_cbo_zero_as_64_byte_stores(tmp_path):
    """--trace prints cbo.zero as Spike logs it: a store of each byte of the block (0x0), in order."""
    from lifecycle.cli.main import main
    elf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest", "bin", "priv_cbo.elf")
    out = tmp_path / "t.trace"
    assert main(["run", elf, f"--trace={out}", "--trace-to", "5000"]) == 0
    lines = [ln for ln in out.read_text().splitlines() if ") cbo.zero (a1)" in ln]
    assert lines, "no cbo.zero traced"
    mem = lines[0].split(" mem ")[1:]
    addrs = [int(m.split()[0], 16) for m in mem]
    assert len(mem) == 64 and all(m.split()[1] == "0x0" for m in mem)
    assert addrs == list(range(addrs[0], addrs[0] + 64)) and addrs[0] % 64 == 0


def test_the_vmm_as_sbi_firmware_enables_them_for_the_kernel():
    """A kernel booted on the built-in SBI runs cbo.* in S-mode from the start (Linux clears pages
    with cbo.zero once the device tree says Zicboz): enter_supervisor sets menvcfg as OpenSBI does."""
    from devices.firmware.sbi import enter_supervisor
    h = mk(b"")
    h.write_phys(BASE + 0x100, cbo("cbo.zero") + cbo("cbo.inval") + cbo("cbo.flush"))
    enter_supervisor(h, BASE + 0x100, 0, 0)
    h.x[10] = BUF
    h.run(3)
    assert trap(h) is None and h.priv == PRV_S and h.pc == BASE + 0x10C and buf(h)[:64] == bytes(64)
