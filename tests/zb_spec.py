"""Zba, Zbb, Zbs, Zicond, Zicbom, Zicboz and Svinval as their specs list them, for the tests.

Written from the specs' encoding tables (the bit-manipulation spec's RV64 listing, Zicond's, the
CMO spec's and the privileged spec's Svinval chapter), not from emu/isa.py: the fixed bits of each
instruction and its operand fields.  Zbb's RV64 forms: zext.h is in OP-32 (rs2 field 0), rev8's
imm is 0b011010111000.  tests/test_bitmanip.py checks emu/isa.py's rows, the decoder and
tests/rvenc.py against it.

capstone 5 (the disassembler --trace prints with, and the independent decoder tests/test_isa.py,
test_rvenc.py and test_disasm_names.py compare the rows with) decodes none of these: those tests
check them against this listing instead, and tests/test_bitmanip.py fails once a capstone does
decode them (then compare them with capstone like the rest, and drop CAPSTONE_UNKNOWN).
"""
from typing import NamedTuple

# name, then the fields from bit 31 down: funct7 (or funct6 with a 6-bit shamt, or a fixed 12-bit
# immediate), rs2 (a fixed field, or "rs2", "shamt" (5 bits), "-" when funct6 + shamt6 fill it),
# rs1 ("rs1"), funct3, rd ("rd", or a fixed field), opcode; the extension last
_LISTING = """
add.uw      0000100       rs2    rs1  000  rd     0111011  zba
sh1add      0010000       rs2    rs1  010  rd     0110011  zba
sh2add      0010000       rs2    rs1  100  rd     0110011  zba
sh3add      0010000       rs2    rs1  110  rd     0110011  zba
sh1add.uw   0010000       rs2    rs1  010  rd     0111011  zba
sh2add.uw   0010000       rs2    rs1  100  rd     0111011  zba
sh3add.uw   0010000       rs2    rs1  110  rd     0111011  zba
slli.uw     000010        -      rs1  001  rd     0011011  zba
andn        0100000       rs2    rs1  111  rd     0110011  zbb
orn         0100000       rs2    rs1  110  rd     0110011  zbb
xnor        0100000       rs2    rs1  100  rd     0110011  zbb
clz         0110000       00000  rs1  001  rd     0010011  zbb
clzw        0110000       00000  rs1  001  rd     0011011  zbb
ctz         0110000       00001  rs1  001  rd     0010011  zbb
ctzw        0110000       00001  rs1  001  rd     0011011  zbb
cpop        0110000       00010  rs1  001  rd     0010011  zbb
cpopw       0110000       00010  rs1  001  rd     0011011  zbb
max         0000101       rs2    rs1  110  rd     0110011  zbb
maxu        0000101       rs2    rs1  111  rd     0110011  zbb
min         0000101       rs2    rs1  100  rd     0110011  zbb
minu        0000101       rs2    rs1  101  rd     0110011  zbb
sext.b      0110000       00100  rs1  001  rd     0010011  zbb
sext.h      0110000       00101  rs1  001  rd     0010011  zbb
zext.h      0000100       00000  rs1  100  rd     0111011  zbb
rol         0110000       rs2    rs1  001  rd     0110011  zbb
rolw        0110000       rs2    rs1  001  rd     0111011  zbb
ror         0110000       rs2    rs1  101  rd     0110011  zbb
rori        011000        -      rs1  101  rd     0010011  zbb
roriw       0110000       shamt  rs1  101  rd     0011011  zbb
rorw        0110000       rs2    rs1  101  rd     0111011  zbb
orc.b       0010100       00111  rs1  101  rd     0010011  zbb
rev8        0110101       11000  rs1  101  rd     0010011  zbb
bclr        0100100       rs2    rs1  001  rd     0110011  zbs
bclri       010010        -      rs1  001  rd     0010011  zbs
bext        0100100       rs2    rs1  101  rd     0110011  zbs
bexti       010010        -      rs1  101  rd     0010011  zbs
binv        0110100       rs2    rs1  001  rd     0110011  zbs
binvi       011010        -      rs1  001  rd     0010011  zbs
bset        0010100       rs2    rs1  001  rd     0110011  zbs
bseti       001010        -      rs1  001  rd     0010011  zbs
czero.eqz   0000111       rs2    rs1  101  rd     0110011  zicond
czero.nez   0000111       rs2    rs1  111  rd     0110011  zicond
cbo.clean   000000000001  -      rs1  010  00000  0001111  zicbom
cbo.flush   000000000010  -      rs1  010  00000  0001111  zicbom
cbo.inval   000000000000  -      rs1  010  00000  0001111  zicbom
cbo.zero    000000000100  -      rs1  010  00000  0001111  zicboz
sinval.vma       0001011  rs2    rs1  000  00000  1110011  svinval
sfence.w.inval   0001100  00000  00000  000  00000  1110011  svinval
sfence.inval.ir  0001100  00001  00000  000  00000  1110011  svinval
"""

OPERANDS = ("rd", "rs1", "rs2", "shamt")


class ZbInsn(NamedTuple):
    name: str
    fixed: int           # the fixed bits
    mask: int            # which bits are fixed
    operands: tuple      # its operand fields, of OPERANDS
    shamt_bits: int      # 6 (funct6 + shamt6), 5 (the W forms' shamt5) or 0
    ext: str


def _parse():
    out = {}
    for line in _LISTING.strip().splitlines():
        name, f7, r2, r1, f3, rd, opc, ext = line.split()
        fixed, mask, ops, shamt = 0, 0, [], 0

        def put(bits, lo):
            nonlocal fixed, mask
            fixed |= int(bits, 2) << lo
            mask |= ((1 << len(bits)) - 1) << lo

        if len(f7) == 12:                   # a fixed imm[11:0] (cbo.*): rs2's field is in it
            put(f7, 20)
        elif len(f7) == 6:                  # funct6, then a 6-bit shamt
            put(f7, 26)
            shamt = 6
        else:
            put(f7, 25)
        if r2 == "rs2":
            ops.append("rs2")
        elif r2 == "shamt":
            shamt = 5
        elif r2 != "-":
            put(r2, 20)
        if r1 == "rs1":
            ops.append("rs1")
        else:
            put(r1, 15)
        put(f3, 12)
        if rd == "rd":
            ops.append("rd")
        else:
            put(rd, 7)
        put(opc, 0)
        if shamt:
            ops.append("shamt")
        out[name] = ZbInsn(name, fixed, mask, tuple(o for o in OPERANDS if o in ops), shamt, ext)
    return out


ZB = _parse()
# every instruction of the listing: capstone 5 decodes none of them (tests/test_bitmanip.py checks that)
CAPSTONE_UNKNOWN = frozenset(ZB)


def word(name, **operands):
    """The instruction word for these operand fields (exactly the instruction's: KeyError/ValueError
    for a missing or extra one)."""
    z = ZB[name]
    if set(operands) != set(z.operands):
        raise ValueError(f"{name} takes {z.operands}, not {tuple(operands)}")
    w = z.fixed
    for op, v in operands.items():
        bits = z.shamt_bits if op == "shamt" else 5
        if not 0 <= v < 1 << bits:
            raise ValueError(f"{name}: {op}={v} does not fit {bits} bits")
        w |= v << {"rd": 7, "rs1": 15, "rs2": 20, "shamt": 20}[op]
    return w


def name_of(w):
    """The listed instruction that word w is, or None."""
    return next((z.name for z in ZB.values() if w & z.mask == z.fixed), None)
