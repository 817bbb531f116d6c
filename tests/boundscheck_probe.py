"""Guest-controlled addresses at the edges of RAM, run with NUMBA_BOUNDSCHECK=1.

Numba does no bounds checks by default: an index the guest controls that slips
past an array's end would read or write host memory.  With NUMBA_BOUNDSCHECK=1
such a slip raises IndexError instead, so this probe (run by test_boundscheck.py)
fails loudly.  Every access here must end as a guest trap, never a host error.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rvenc import enc_bytes as E          # noqa: E402
from emu import state as S                # noqa: E402
from emu.hart import Hart                 # noqa: E402
from emu.spec import (CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, MCAUSE, MSTATUS,  # noqa: E402
                      MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MTVAL, MTVEC, PAGE_SIZE, PRV_M, PRV_S, PTE_PPN_SHIFT, PTE_V,
                      RAM_BASE, SATP, SATP_MODE_SHIFT, SATP_MODE_SV39)

RAM = 64 << 10
BASE = RAM_BASE
END = BASE + RAM


AMO_FUNCT5 = {"lr": 0b00010, "sc": 0b00011, "amoadd": 0b00000, "amoswap": 0b00001}


def amo(op, rd, rs1, rs2=0):
    name, width = op.split(".")
    w = (AMO_FUNCT5[name] << 27) | (rs2 << 20) | (rs1 << 15) | ({"w": 2, "d": 3}[width] << 12)
    return (w | (rd << 7) | 0x2F).to_bytes(4, "little")


def fresh(code=b"", at=BASE):
    h = Hart(RAM, BASE)
    h.csr[MTVEC] = BASE + 0x100          # handler: an endless loop
    h.write_phys(BASE + 0x100, E("jal", rd=0, imm=0))
    if code:
        h.write_phys(at, code)
    h.pc = at
    return h


def expect_trap(h, cause, tval=None, steps=4):
    r = h.run(steps)
    assert r in (S.EXIT_BUDGET, S.EXIT_FATAL), r
    got = int(h.csr[MCAUSE])
    assert got == cause, f"mcause {got} != {cause} (pc {h.pc:#x} instret {h.instret})"
    if tval is not None:
        assert int(h.csr[MTVAL]) & (2**64 - 1) == tval & (2**64 - 1), hex(int(h.csr[MTVAL]))


def main():
    # loads and stores of every width straddling the end of RAM, and just below RAM
    loads = [("ld", 8), ("lw", 4), ("lh", 2), ("lhu", 2), ("lwu", 4)]
    stores = [("sd", 8), ("sw", 4), ("sh", 2)]
    for op, size, cause in ([(op, size, CAUSE_LOAD_ACCESS) for op, size in loads]
                            + [(op, size, CAUSE_STORE_ACCESS) for op, size in stores]):
        for addr in (END - size + 1, END - 1, END, BASE - 1, BASE - size, -8, 2**63 - 8):
            kw = dict(rs1=5, imm=0)
            kw.update(rd=6) if op[0] == "l" else kw.update(rs2=6)
            h = fresh(E(op, **kw))
            h.x[5] = addr if addr < 2**63 else addr - 2**64
            # xtval names the first byte that faulted (priv 3.1.16): END for a straddling access
            expect_trap(h, cause, END if BASE <= addr < END < addr + size else addr)
    # atomics at and past the end
    for op, cause in (("lr.d", CAUSE_LOAD_ACCESS), ("sc.d", CAUSE_STORE_ACCESS), ("amoadd.d", CAUSE_STORE_ACCESS),
                      ("amoswap.w", CAUSE_STORE_ACCESS)):
        for addr in (END, END + 8, BASE - 8):
            h = fresh(amo(op, rd=6, rs1=5, rs2=0 if op.startswith("lr") else 7))
            h.x[5] = addr
            expect_trap(h, cause, addr)
    # a 32-bit instruction whose second half would lie past the end of RAM
    h = fresh(bytes([0x13, 0x00]), at=END - 2)
    expect_trap(h, CAUSE_FETCH_ACCESS)
    # fetch from the last halfword, then beyond
    h = fresh(bytes([0x01, 0x00]), at=END - 2)      # c.nop, then pc = END
    expect_trap(h, CAUSE_FETCH_ACCESS, END)
    # stores into the last bytes of RAM that hold decoded code (icache invalidation at the edge)
    h = fresh(E("sd", rs1=5, rs2=6, imm=0) + E("jal", rd=0, imm=0))
    h.write_phys(END - 8, E("jal", rd=0, imm=0) * 2)
    h.pc = END - 8
    h.run(3)
    h.pc = BASE
    h.x[5] = END - 8
    h.run(3)
    # Sv39: a page table whose next level points past the end of RAM
    h = fresh(E("ld", rd=6, rs1=5, imm=0))
    root = END - PAGE_SIZE
    h.write_phys(root, ((((END + 0x10000) >> 12) << PTE_PPN_SHIFT) | PTE_V).to_bytes(8, "little"))   # non-leaf
    h.csr[SATP] = ((SATP_MODE_SV39 << SATP_MODE_SHIFT) - (1 << 64)) | (root >> 12)   # bit 63 set: negative int64
    h.csr[MSTATUS] = MSTATUS_MPRV | (PRV_S << MSTATUS_MPP_SHIFT)
    h.priv = PRV_M
    h.x[5] = 0
    expect_trap(h, CAUSE_LOAD_ACCESS)
    print("boundscheck probe: ok")


if __name__ == "__main__":
    main()
