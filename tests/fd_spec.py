"""The F and D instructions as the RISC-V unprivileged spec lists them, for the tests.

Written from the spec's listings (the RV32F/RV64F/RV32D/RV64D tables of the instruction-set listings
chapter, and the RVC tables for c.fld/c.fsd/c.fldsp/c.fsdsp), not from emu/isa.py: the fixed bits of
each instruction, whether it has a rounding-mode field, and which of its register operands are f
registers and which integer (x) registers.  tests/test_isa.py decodes words built from here,
tests/test_insn_table.py checks the rows' Fp flags against it, tests/test_rvenc.py and
tests/test_disasm_names.py name the registers capstone prints with it.
"""
from typing import NamedTuple

OP_FP = 0b1010011

# OP-FP and the fused multiply-adds.  funct7 "R4 ff" is rs3 (bits 31:27) and fmt ff (bits 26:25);
# an rs2 column of five bits is fixed there; funct3 "rm" is the rounding-mode field.  The last four
# columns: rd rs1 rs2 rs3, f (an f register), x (an integer register) or - (no such operand).
_LISTING = """
fmadd.s    R4 00    rs2    rm   1000011  f f f f
fmsub.s    R4 00    rs2    rm   1000111  f f f f
fnmsub.s   R4 00    rs2    rm   1001011  f f f f
fnmadd.s   R4 00    rs2    rm   1001111  f f f f
fadd.s     0000000  rs2    rm   1010011  f f f -
fsub.s     0000100  rs2    rm   1010011  f f f -
fmul.s     0001000  rs2    rm   1010011  f f f -
fdiv.s     0001100  rs2    rm   1010011  f f f -
fsqrt.s    0101100  00000  rm   1010011  f f - -
fsgnj.s    0010000  rs2    000  1010011  f f f -
fsgnjn.s   0010000  rs2    001  1010011  f f f -
fsgnjx.s   0010000  rs2    010  1010011  f f f -
fmin.s     0010100  rs2    000  1010011  f f f -
fmax.s     0010100  rs2    001  1010011  f f f -
fcvt.w.s   1100000  00000  rm   1010011  x f - -
fcvt.wu.s  1100000  00001  rm   1010011  x f - -
fmv.x.w    1110000  00000  000  1010011  x f - -
feq.s      1010000  rs2    010  1010011  x f f -
flt.s      1010000  rs2    001  1010011  x f f -
fle.s      1010000  rs2    000  1010011  x f f -
fclass.s   1110000  00000  001  1010011  x f - -
fcvt.s.w   1101000  00000  rm   1010011  f x - -
fcvt.s.wu  1101000  00001  rm   1010011  f x - -
fmv.w.x    1111000  00000  000  1010011  f x - -
fcvt.l.s   1100000  00010  rm   1010011  x f - -
fcvt.lu.s  1100000  00011  rm   1010011  x f - -
fcvt.s.l   1101000  00010  rm   1010011  f x - -
fcvt.s.lu  1101000  00011  rm   1010011  f x - -
fmadd.d    R4 01    rs2    rm   1000011  f f f f
fmsub.d    R4 01    rs2    rm   1000111  f f f f
fnmsub.d   R4 01    rs2    rm   1001011  f f f f
fnmadd.d   R4 01    rs2    rm   1001111  f f f f
fadd.d     0000001  rs2    rm   1010011  f f f -
fsub.d     0000101  rs2    rm   1010011  f f f -
fmul.d     0001001  rs2    rm   1010011  f f f -
fdiv.d     0001101  rs2    rm   1010011  f f f -
fsqrt.d    0101101  00000  rm   1010011  f f - -
fsgnj.d    0010001  rs2    000  1010011  f f f -
fsgnjn.d   0010001  rs2    001  1010011  f f f -
fsgnjx.d   0010001  rs2    010  1010011  f f f -
fmin.d     0010101  rs2    000  1010011  f f f -
fmax.d     0010101  rs2    001  1010011  f f f -
fcvt.s.d   0100000  00001  rm   1010011  f f - -
fcvt.d.s   0100001  00000  rm   1010011  f f - -
feq.d      1010001  rs2    010  1010011  x f f -
flt.d      1010001  rs2    001  1010011  x f f -
fle.d      1010001  rs2    000  1010011  x f f -
fclass.d   1110001  00000  001  1010011  x f - -
fcvt.w.d   1100001  00000  rm   1010011  x f - -
fcvt.wu.d  1100001  00001  rm   1010011  x f - -
fcvt.d.w   1101001  00000  rm   1010011  f x - -
fcvt.d.wu  1101001  00001  rm   1010011  f x - -
fcvt.l.d   1100001  00010  rm   1010011  x f - -
fcvt.lu.d  1100001  00011  rm   1010011  x f - -
fmv.x.d    1110001  00000  000  1010011  x f - -
fcvt.d.l   1101001  00010  rm   1010011  f x - -
fcvt.d.lu  1101001  00011  rm   1010011  f x - -
fmv.d.x    1111001  00000  000  1010011  f x - -
"""

OPERANDS = ("rd", "rs1", "rs2", "rs3")


class FdInsn(NamedTuple):
    name: str
    form: str               # "R4", "R" (OP-FP), "I" (flw/fld), "S" (fsw/fsd), "C" (compressed)
    fixed: int              # the instruction's fixed bits (operand and rm fields zero)
    rm: bool                # has a rounding-mode field (bits 14:12)
    kinds: dict             # operand -> "f" or "x", for the operands it has
    double: bool            # the fmt field (bits 26:25) is D; loads and stores: 8 bytes


def _parse():
    out = {}
    for line in _LISTING.strip().splitlines():
        cols = line.split()
        if cols[1] == "R4":
            name, _r4, fmt, _rs2, f3, opc, *kinds = cols
            fixed, form, double = int(fmt, 2) << 25 | int(opc, 2), "R4", fmt == "01"
        else:
            name, f7, rs2, f3, opc, *kinds = cols
            fixed = int(f7, 2) << 25 | (0 if rs2 == "rs2" else int(rs2, 2) << 20) | int(opc, 2)
            form, double = "R", f7.endswith("1")
        rm = f3 == "rm"
        if not rm:
            fixed |= int(f3, 2) << 12
        out[name] = FdInsn(name, form, fixed, rm, {o: k for o, k in zip(OPERANDS, kinds) if k != "-"}, double)
    # loads and stores: LOAD-FP (0000111) and STORE-FP (0100111), width 010 (W) or 011 (D)
    for name, f3 in (("w", 0b010), ("d", 0b011)):
        out["fl" + name] = FdInsn("fl" + name, "I", f3 << 12 | 0b0000111, False, {"rd": "f", "rs1": "x"},
                                  name == "d")
        out["fs" + name] = FdInsn("fs" + name, "S", f3 << 12 | 0b0100111, False, {"rs1": "x", "rs2": "f"},
                                  name == "d")
    # RVC (D, RV64): c.fld (quadrant 0, funct3 001), c.fsd (0, 101), c.fldsp (2, 001), c.fsdsp (2, 101)
    for name, fixed, kinds in (("c.fld", 0x2000, {"rd": "f", "rs1": "x"}), ("c.fsd", 0xA000, {"rs1": "x", "rs2": "f"}),
                               ("c.fldsp", 0x2002, {"rd": "f"}), ("c.fsdsp", 0xA002, {"rs2": "f"})):
        out[name] = FdInsn(name, "C", fixed, False, kinds, True)
    return out


FD = _parse()
FD32 = [n for n, i in FD.items() if i.form != "C"]
RM_VALID = (0, 1, 2, 3, 4, 7)        # rne rtz rdn rup rmm, and dyn (frm); 5 and 6 are reserved
RM_NAMES = ("rne", "rtz", "rdn", "rup", "rmm", None, None, "dyn")

# capstone 5 (LLVM's tables before LLVM 17) decodes these three only with rm = 000 (and prints no rm):
# they are exact (every single and every 32-bit integer is a double), but the spec gives them an rm
# field like every fcvt, and spike and the GNU tools accept any valid rm.  The capstone comparisons
# use rm 0 for them; tests/test_isa.py checks that this is still capstone's behaviour.
CAPSTONE_RM_FIXED = frozenset({"fcvt.d.s", "fcvt.d.w", "fcvt.d.wu"})


def fregs(name):
    """The operands of instruction `name` that are f registers (empty for a non-F/D instruction)."""
    i = FD.get(name)
    return frozenset(o for o, k in i.kinds.items() if k == "f") if i else frozenset()


def word(name, rd=0, rs1=0, rs2=0, rs3=0, rm=0):
    """An OP-FP / fused multiply-add instruction word, from the listing (fixed rs2 fields stay fixed)."""
    i = FD[name]
    assert i.form in ("R", "R4"), name
    w = i.fixed | rd << 7 | rs1 << 15
    if "rs2" in i.kinds:
        w |= rs2 << 20
    if i.form == "R4":
        w |= rs3 << 27
    if i.rm:
        w |= rm << 12
    return w


# capstone's RISC-V register names (the ABI names), for the tests that read its operands
X_ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"] + [f"a{i}" for i in range(8)] \
    + [f"s{i}" for i in range(2, 12)] + ["t3", "t4", "t5", "t6"]
F_ABI = [f"ft{i}" for i in range(8)] + ["fs0", "fs1"] + [f"fa{i}" for i in range(8)] \
    + [f"fs{i}" for i in range(2, 12)] + [f"ft{i}" for i in range(8, 12)]
