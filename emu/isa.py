"""RV64GC (IMAFDC + Zicsr + Zifencei) with Zba, Zbb, Zbs, Zicond, Zicbom, Zicboz and Svinval: the
instruction set as data, and its decoder.

ENCODINGS has one row (an Insn) per instruction: its spec name, how it is
encoded (mask, match: an instruction word w is that instruction when
w & mask == match), where its operands sit (the format), and what it is (its
dispatch group and its semantic properties: the operation, the branch
condition, the memory access width, ...).  Its op number is its index in the
table.  Everything else is derived from the rows: OPS and OP, the group
boundaries the loop dispatches on, the decoder's arrays, the per-op arrays njit
code reads (MEM_SIZE, MEM_SIGNED; op_array() makes more), the region writer's
tables (emu/regions/), the cold ops' arrays (emu/cold.py), the tracer's
instruction kinds (lifecycle/debug/trace.py) and the tests' encoder (tests/rvenc.py).
COMPRESSED has one row (a CInsn) per 16-bit form, naming the instruction it
expands to: it decodes to that instruction's op.

The rows are in dispatch-group order (Group): the hot loop dispatches
hierarchically (a few range tests on the op, then a short chain inside the
group).  The groups are ALU-immediate, ALU-register, M, control transfer,
loads, stores, and the cold rest (fences and system, Zicsr, A), which runs
outside the hot loop in emu/cold.py.  An instruction's meaning is in
emu/loop.py (hot groups) or emu/cold.py, and for the hot ones also in the
region writer emu/regions/: search for its spec name there (in upper case in
the loop, e.g. ``ADDIW``; as written in the table in emu/regions/).
"""
from enum import IntEnum, IntFlag
from typing import NamedTuple

import numpy as np
from numba import njit

from emu import isastring
from emu.spec import X_SINK, F_BASE, N_REGS  # noqa: F401 (importable from here, with the decoder)


class Group(IntEnum):
    """The loop's dispatch groups, in op order.  From SYSTEM on they are cold (emu/cold.py)."""
    ALU_IMM = 0      # ALU with an immediate (and lui, auipc)
    ALU_REG = 1      # ALU register-register
    MUL = 2          # M
    CTRL = 3         # control transfer: jal, jalr, branches
    LOAD = 4         # (flw and fld too)
    STORE = 5        # (fsw and fsd too)
    FP = 6           # F and D but their loads and stores: emu/fpu.py, called from the loop
    SYSTEM = 7       # fences and system
    ZICSR = 8
    A = 9


FIRST_COLD_GROUP = Group.SYSTEM

# --- operand formats (the unprivileged spec's instruction formats)
F_R, F_I, F_S, F_B, F_U, F_J, F_SH6, F_SH5, F_CSR, F_NONE, F_RM, F_R4 = range(12)
# F_RM is F_R with the rounding-mode field (bits 14:12) as the immediate; F_R4 (fmadd & co.) adds rs3
# (bits 31:27): imm = rm | rs3 << RS3_SHIFT, rs3 already an index into x[] (F_BASE + n)
RS3_SHIFT = 3


class Fp(IntFlag):
    """What an F/D row's operands are (Insn.fp): which of rd, rs1, rs2, rs3 are f registers, whether
    it has a rounding-mode field (rm 5 and 6 are reserved, 7 reads frm), and whether the format (the
    fmt field, bits 26:25) is double.  Every row with fp set is an illegal instruction while
    mstatus.FS is Off, and makes FS Dirty."""
    RD = 1
    RS1 = 2
    RS2 = 4
    RS3 = 8
    RM = 16
    DOUBLE = 32

# the operations of the ALU and M rows (Insn.alu); A, Zicsr and the cache-block rows name theirs for
# emu/cold.py.  Zba's shNadd: (rs1 << N) + rs2; Zbb's andn/orn/xnor: rs2 inverted; Zbs's b*: bit
# rs2 (or the immediate) & 63 of rs1; Zicond's czero.eqz/nez: 0 if rs2 == 0 / != 0, else rs1.
ALU_OPS = ("add", "sub", "sll", "srl", "sra", "xor", "or", "and", "slt",
           "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
           "sh1add", "sh2add", "sh3add", "andn", "orn", "xnor", "min", "minu", "max", "maxu", "rol", "ror",
           "bclr", "bext", "binv", "bset", "czero.eqz", "czero.nez",
           "clz", "ctz", "cpop", "sext.b", "sext.h", "zext.h", "orc.b", "rev8")
# the ALU operations of rs1 alone (Zbb's counts, extensions and byte operations): the rs2 field of
# their rows is part of the opcode
UNARY_OPS = ("clz", "ctz", "cpop", "sext.b", "sext.h", "zext.h", "orc.b", "rev8")
# the comparisons of branches and slt* (Insn.cond): rs1 <cond> rs2, u = unsigned
CONDS = ("eq", "ne", "lt", "ge", "ltu", "geu")
# the operations of the FP rows (Insn.alu), emu/fpu.py's FOP_* in this order: f2i is fcvt to an integer
# (w32: to 32 bits, signed), i2f fcvt from one, f2f between formats, fmv.x.f / fmv.f.x move bits
FP_OPS = ("add", "sub", "mul", "div", "sqrt", "sgnj", "sgnjn", "sgnjx", "min", "max", "eq", "lt", "le",
          "class", "madd", "msub", "nmsub", "nmadd", "f2i", "i2f", "f2f", "mv.x.f", "mv.f.x")


class Insn(NamedTuple):
    """One instruction: its encoding, its operands' format, and what it is."""
    name: str                # the spec's name
    mask: int                # w is this instruction when w & mask == match
    match: int
    fmt: int                 # F_*: where the operands sit (and how the immediate is scrambled)
    group: Group
    alu: str = ""            # the operation: ALU_OPS; A: lr sc swap add xor and or min max minu maxu;
                             # Zicsr: write set clear; FP: FP_OPS; cbo.*: inval clean flush zero
    imm: bool = False        # the second operand is the immediate (Zicsr: rs1 is the 5-bit uimm)
    w32: bool = False        # a W form: the operation on 32 bits, its result sign-extended
    uw: bool = False         # Zba's .uw forms: rs1 zero-extended from 32 bits first (add.uw, slli.uw)
    cond: str = ""           # branches and slt*: the comparison (CONDS)
    width: int = 0           # bytes of memory read or written (loads, stores, LR/SC, AMOs)
    signed: bool = False     # a load whose value is sign-extended
    fp: int = 0              # F/D: an Fp flag set (f-register operands, rounding mode, double)
    ext: str = "i"           # the extension it belongs to, as the spec spells it (emu/isastring.py);
                             # "" for the privileged architecture's own (mret, sret, wfi, sfence.vma),
                             # which every hart here has.  A compressed form needs c as well.

    @property
    def cold(self):
        """Runs outside the hot loop, in emu/cold.py."""
        return self.group >= FIRST_COLD_GROUP


def fp_rows():
    """The F and D rows of OP-FP (0x53) and the fused multiply-adds (0x43-0x4F), single then double:
    funct7 = funct5 << 2 | fmt, so the two formats differ in one bit (and their name's suffix)."""
    F, D = Fp, Fp.DOUBLE
    binop = F.RD | F.RS1 | F.RS2
    rows = []
    for fmt, sfx, dbl in ((0, "s", F(0)), (1, "d", D)):
        other = "d" if fmt == 0 else "s"
        ix, mx = ("w", "x") if fmt == 0 else ("d", "x")       # fmv.x.w / fmv.x.d
        f7 = lambda f5: ((f5 << 2) | fmt) << 25 | 0x53
        for n, op in enumerate(("madd", "msub", "nmsub", "nmadd")):   # opcodes 0x43, 0x47, 0x4B, 0x4F
            rows.append(Insn(f"f{op}.{sfx}", 0x0600007F, (fmt << 25) | (0x43 + 4 * n), F_R4, Group.FP,
                             alu=op, fp=binop | F.RS3 | F.RM | dbl))
        for f5, op in ((0, "add"), (1, "sub"), (2, "mul"), (3, "div")):
            rows.append(Insn(f"f{op}.{sfx}", 0xFE00007F, f7(f5), F_RM, Group.FP, alu=op, fp=binop | F.RM | dbl))
        rows.append(Insn(f"fsqrt.{sfx}", 0xFFF0007F, f7(0x0B), F_RM, Group.FP, alu="sqrt",
                         fp=F.RD | F.RS1 | F.RM | dbl))
        for f3, op in enumerate(("sgnj", "sgnjn", "sgnjx")):
            rows.append(Insn(f"f{op}.{sfx}", 0xFE00707F, f7(4) | f3 << 12, F_R, Group.FP, alu=op, fp=binop | dbl))
        for f3, op in enumerate(("min", "max")):
            rows.append(Insn(f"f{op}.{sfx}", 0xFE00707F, f7(5) | f3 << 12, F_R, Group.FP, alu=op, fp=binop | dbl))
        # fcvt between the formats: fcvt.s.d is fmt S with rs2 = 1 (D), fcvt.d.s fmt D with rs2 = 0
        rows.append(Insn(f"fcvt.{sfx}.{other}", 0xFFF0007F, f7(8) | (1 - fmt) << 20, F_RM, Group.FP,
                         alu="f2f", fp=F.RD | F.RS1 | F.RM | dbl, ext="d"))     # either way a D instruction
        for f3, op in ((2, "eq"), (1, "lt"), (0, "le")):
            rows.append(Insn(f"f{op}.{sfx}", 0xFE00707F, f7(0x14) | f3 << 12, F_R, Group.FP, alu=op,
                             fp=F.RS1 | F.RS2 | dbl))
        rows.append(Insn(f"fclass.{sfx}", 0xFFF0707F, f7(0x1C) | 1 << 12, F_R, Group.FP, alu="class",
                         fp=F.RS1 | dbl))
        for r2, (it, w32, signed) in enumerate((("w", True, True), ("wu", True, False),
                                                ("l", False, True), ("lu", False, False))):
            rows.append(Insn(f"fcvt.{it}.{sfx}", 0xFFF0007F, f7(0x18) | r2 << 20, F_RM, Group.FP, alu="f2i",
                             w32=w32, signed=signed, fp=F.RS1 | F.RM | dbl))
            rows.append(Insn(f"fcvt.{sfx}.{it}", 0xFFF0007F, f7(0x1A) | r2 << 20, F_RM, Group.FP, alu="i2f",
                             w32=w32, signed=signed, fp=F.RD | F.RM | dbl))
        rows.append(Insn(f"fmv.{mx}.{ix}", 0xFFF0707F, f7(0x1C), F_R, Group.FP, alu="mv.x.f", fp=F.RS1 | dbl))
        rows.append(Insn(f"fmv.{ix}.{mx}", 0xFFF0707F, f7(0x1E), F_R, Group.FP, alu="mv.f.x", fp=F.RD | dbl))
    return [r if r.ext == "d" else r._replace(ext="d" if r.fp & D else "f") for r in rows]


G = Group
ENCODINGS = (
    # ALU with an immediate (and lui/auipc)
    Insn("lui", 0x7F, 0x37, F_U, G.ALU_IMM),
    Insn("auipc", 0x7F, 0x17, F_U, G.ALU_IMM),
    Insn("addi", 0x707F, 0x0013, F_I, G.ALU_IMM, alu="add", imm=True),
    Insn("slti", 0x707F, 0x2013, F_I, G.ALU_IMM, alu="slt", imm=True, cond="lt"),
    Insn("sltiu", 0x707F, 0x3013, F_I, G.ALU_IMM, alu="slt", imm=True, cond="ltu"),
    Insn("xori", 0x707F, 0x4013, F_I, G.ALU_IMM, alu="xor", imm=True),
    Insn("ori", 0x707F, 0x6013, F_I, G.ALU_IMM, alu="or", imm=True),
    Insn("andi", 0x707F, 0x7013, F_I, G.ALU_IMM, alu="and", imm=True),
    Insn("slli", 0xFC00707F, 0x1013, F_SH6, G.ALU_IMM, alu="sll", imm=True),
    Insn("srli", 0xFC00707F, 0x5013, F_SH6, G.ALU_IMM, alu="srl", imm=True),
    Insn("srai", 0xFC00707F, 0x40005013, F_SH6, G.ALU_IMM, alu="sra", imm=True),
    Insn("addiw", 0x707F, 0x001B, F_I, G.ALU_IMM, alu="add", imm=True, w32=True),
    Insn("slliw", 0xFE00707F, 0x101B, F_SH5, G.ALU_IMM, alu="sll", imm=True, w32=True),
    Insn("srliw", 0xFE00707F, 0x501B, F_SH5, G.ALU_IMM, alu="srl", imm=True, w32=True),
    Insn("sraiw", 0xFE00707F, 0x4000501B, F_SH5, G.ALU_IMM, alu="sra", imm=True, w32=True),
    # Zba, Zbb, Zbs in OP-IMM and OP-IMM-32 (the unary ones: the rs2 field is their opcode's)
    Insn("slli.uw", 0xFC00707F, 0x0800101B, F_SH6, G.ALU_IMM, alu="sll", imm=True, uw=True, ext="zba"),
    Insn("clz", 0xFFF0707F, 0x60001013, F_R, G.ALU_IMM, alu="clz", ext="zbb"),
    Insn("clzw", 0xFFF0707F, 0x6000101B, F_R, G.ALU_IMM, alu="clz", w32=True, ext="zbb"),
    Insn("ctz", 0xFFF0707F, 0x60101013, F_R, G.ALU_IMM, alu="ctz", ext="zbb"),
    Insn("ctzw", 0xFFF0707F, 0x6010101B, F_R, G.ALU_IMM, alu="ctz", w32=True, ext="zbb"),
    Insn("cpop", 0xFFF0707F, 0x60201013, F_R, G.ALU_IMM, alu="cpop", ext="zbb"),
    Insn("cpopw", 0xFFF0707F, 0x6020101B, F_R, G.ALU_IMM, alu="cpop", w32=True, ext="zbb"),
    Insn("sext.b", 0xFFF0707F, 0x60401013, F_R, G.ALU_IMM, alu="sext.b", ext="zbb"),
    Insn("sext.h", 0xFFF0707F, 0x60501013, F_R, G.ALU_IMM, alu="sext.h", ext="zbb"),
    Insn("rori", 0xFC00707F, 0x60005013, F_SH6, G.ALU_IMM, alu="ror", imm=True, ext="zbb"),
    Insn("roriw", 0xFE00707F, 0x6000501B, F_SH5, G.ALU_IMM, alu="ror", imm=True, w32=True, ext="zbb"),
    Insn("orc.b", 0xFFF0707F, 0x28705013, F_R, G.ALU_IMM, alu="orc.b", ext="zbb"),
    Insn("rev8", 0xFFF0707F, 0x6B805013, F_R, G.ALU_IMM, alu="rev8", ext="zbb"),          # RV64's (rs2 field 24)
    Insn("bclri", 0xFC00707F, 0x48001013, F_SH6, G.ALU_IMM, alu="bclr", imm=True, ext="zbs"),
    Insn("bexti", 0xFC00707F, 0x48005013, F_SH6, G.ALU_IMM, alu="bext", imm=True, ext="zbs"),
    Insn("binvi", 0xFC00707F, 0x68001013, F_SH6, G.ALU_IMM, alu="binv", imm=True, ext="zbs"),
    Insn("bseti", 0xFC00707F, 0x28001013, F_SH6, G.ALU_IMM, alu="bset", imm=True, ext="zbs"),
    # ALU register-register
    Insn("add", 0xFE00707F, 0x0033, F_R, G.ALU_REG, alu="add"),
    Insn("sub", 0xFE00707F, 0x40000033, F_R, G.ALU_REG, alu="sub"),
    Insn("sll", 0xFE00707F, 0x1033, F_R, G.ALU_REG, alu="sll"),
    Insn("slt", 0xFE00707F, 0x2033, F_R, G.ALU_REG, alu="slt", cond="lt"),
    Insn("sltu", 0xFE00707F, 0x3033, F_R, G.ALU_REG, alu="slt", cond="ltu"),
    Insn("xor", 0xFE00707F, 0x4033, F_R, G.ALU_REG, alu="xor"),
    Insn("srl", 0xFE00707F, 0x5033, F_R, G.ALU_REG, alu="srl"),
    Insn("sra", 0xFE00707F, 0x40005033, F_R, G.ALU_REG, alu="sra"),
    Insn("or", 0xFE00707F, 0x6033, F_R, G.ALU_REG, alu="or"),
    Insn("and", 0xFE00707F, 0x7033, F_R, G.ALU_REG, alu="and"),
    Insn("addw", 0xFE00707F, 0x003B, F_R, G.ALU_REG, alu="add", w32=True),
    Insn("subw", 0xFE00707F, 0x4000003B, F_R, G.ALU_REG, alu="sub", w32=True),
    Insn("sllw", 0xFE00707F, 0x103B, F_R, G.ALU_REG, alu="sll", w32=True),
    Insn("srlw", 0xFE00707F, 0x503B, F_R, G.ALU_REG, alu="srl", w32=True),
    Insn("sraw", 0xFE00707F, 0x4000503B, F_R, G.ALU_REG, alu="sra", w32=True),
    # Zba, Zbb, Zbs, Zicond in OP and OP-32
    Insn("add.uw", 0xFE00707F, 0x0800003B, F_R, G.ALU_REG, alu="add", uw=True, ext="zba"),
    Insn("sh1add", 0xFE00707F, 0x20002033, F_R, G.ALU_REG, alu="sh1add", ext="zba"),
    Insn("sh2add", 0xFE00707F, 0x20004033, F_R, G.ALU_REG, alu="sh2add", ext="zba"),
    Insn("sh3add", 0xFE00707F, 0x20006033, F_R, G.ALU_REG, alu="sh3add", ext="zba"),
    Insn("sh1add.uw", 0xFE00707F, 0x2000203B, F_R, G.ALU_REG, alu="sh1add", uw=True, ext="zba"),
    Insn("sh2add.uw", 0xFE00707F, 0x2000403B, F_R, G.ALU_REG, alu="sh2add", uw=True, ext="zba"),
    Insn("sh3add.uw", 0xFE00707F, 0x2000603B, F_R, G.ALU_REG, alu="sh3add", uw=True, ext="zba"),
    Insn("andn", 0xFE00707F, 0x40007033, F_R, G.ALU_REG, alu="andn", ext="zbb"),
    Insn("orn", 0xFE00707F, 0x40006033, F_R, G.ALU_REG, alu="orn", ext="zbb"),
    Insn("xnor", 0xFE00707F, 0x40004033, F_R, G.ALU_REG, alu="xnor", ext="zbb"),
    Insn("min", 0xFE00707F, 0x0A004033, F_R, G.ALU_REG, alu="min", ext="zbb"),
    Insn("minu", 0xFE00707F, 0x0A005033, F_R, G.ALU_REG, alu="minu", ext="zbb"),
    Insn("max", 0xFE00707F, 0x0A006033, F_R, G.ALU_REG, alu="max", ext="zbb"),
    Insn("maxu", 0xFE00707F, 0x0A007033, F_R, G.ALU_REG, alu="maxu", ext="zbb"),
    Insn("rol", 0xFE00707F, 0x60001033, F_R, G.ALU_REG, alu="rol", ext="zbb"),
    Insn("rolw", 0xFE00707F, 0x6000103B, F_R, G.ALU_REG, alu="rol", w32=True, ext="zbb"),
    Insn("ror", 0xFE00707F, 0x60005033, F_R, G.ALU_REG, alu="ror", ext="zbb"),
    Insn("rorw", 0xFE00707F, 0x6000503B, F_R, G.ALU_REG, alu="ror", w32=True, ext="zbb"),
    Insn("zext.h", 0xFFF0707F, 0x0800403B, F_R, G.ALU_REG, alu="zext.h", ext="zbb"),     # RV64's (OP-32, rs2 field 0)
    Insn("bclr", 0xFE00707F, 0x48001033, F_R, G.ALU_REG, alu="bclr", ext="zbs"),
    Insn("bext", 0xFE00707F, 0x48005033, F_R, G.ALU_REG, alu="bext", ext="zbs"),
    Insn("binv", 0xFE00707F, 0x68001033, F_R, G.ALU_REG, alu="binv", ext="zbs"),
    Insn("bset", 0xFE00707F, 0x28001033, F_R, G.ALU_REG, alu="bset", ext="zbs"),
    Insn("czero.eqz", 0xFE00707F, 0x0E005033, F_R, G.ALU_REG, alu="czero.eqz", ext="zicond"),
    Insn("czero.nez", 0xFE00707F, 0x0E007033, F_R, G.ALU_REG, alu="czero.nez", ext="zicond"),
    # M
    Insn("mul", 0xFE00707F, 0x02000033, F_R, G.MUL, alu="mul", ext="m"),
    Insn("mulh", 0xFE00707F, 0x02001033, F_R, G.MUL, alu="mulh", ext="m"),
    Insn("mulhsu", 0xFE00707F, 0x02002033, F_R, G.MUL, alu="mulhsu", ext="m"),
    Insn("mulhu", 0xFE00707F, 0x02003033, F_R, G.MUL, alu="mulhu", ext="m"),
    Insn("div", 0xFE00707F, 0x02004033, F_R, G.MUL, alu="div", ext="m"),
    Insn("divu", 0xFE00707F, 0x02005033, F_R, G.MUL, alu="divu", ext="m"),
    Insn("rem", 0xFE00707F, 0x02006033, F_R, G.MUL, alu="rem", ext="m"),
    Insn("remu", 0xFE00707F, 0x02007033, F_R, G.MUL, alu="remu", ext="m"),
    Insn("mulw", 0xFE00707F, 0x0200003B, F_R, G.MUL, alu="mul", w32=True, ext="m"),
    Insn("divw", 0xFE00707F, 0x0200403B, F_R, G.MUL, alu="div", w32=True, ext="m"),
    Insn("divuw", 0xFE00707F, 0x0200503B, F_R, G.MUL, alu="divu", w32=True, ext="m"),
    Insn("remw", 0xFE00707F, 0x0200603B, F_R, G.MUL, alu="rem", w32=True, ext="m"),
    Insn("remuw", 0xFE00707F, 0x0200703B, F_R, G.MUL, alu="remu", w32=True, ext="m"),
    # control transfer
    Insn("jal", 0x7F, 0x6F, F_J, G.CTRL),
    Insn("jalr", 0x707F, 0x67, F_I, G.CTRL),
    Insn("beq", 0x707F, 0x0063, F_B, G.CTRL, cond="eq"),
    Insn("bne", 0x707F, 0x1063, F_B, G.CTRL, cond="ne"),
    Insn("blt", 0x707F, 0x4063, F_B, G.CTRL, cond="lt"),
    Insn("bge", 0x707F, 0x5063, F_B, G.CTRL, cond="ge"),
    Insn("bltu", 0x707F, 0x6063, F_B, G.CTRL, cond="ltu"),
    Insn("bgeu", 0x707F, 0x7063, F_B, G.CTRL, cond="geu"),
    # loads
    Insn("lb", 0x707F, 0x0003, F_I, G.LOAD, width=1, signed=True),
    Insn("lh", 0x707F, 0x1003, F_I, G.LOAD, width=2, signed=True),
    Insn("lw", 0x707F, 0x2003, F_I, G.LOAD, width=4, signed=True),
    Insn("ld", 0x707F, 0x3003, F_I, G.LOAD, width=8, signed=True),
    Insn("lbu", 0x707F, 0x4003, F_I, G.LOAD, width=1),
    Insn("lhu", 0x707F, 0x5003, F_I, G.LOAD, width=2),
    Insn("lwu", 0x707F, 0x6003, F_I, G.LOAD, width=4),
    Insn("flw", 0x707F, 0x2007, F_I, G.LOAD, width=4, fp=Fp.RD, ext="f"),          # F, D: into an f register
    Insn("fld", 0x707F, 0x3007, F_I, G.LOAD, width=8, fp=Fp.RD | Fp.DOUBLE, ext="d"),
    # stores
    Insn("sb", 0x707F, 0x0023, F_S, G.STORE, width=1),
    Insn("sh", 0x707F, 0x1023, F_S, G.STORE, width=2),
    Insn("sw", 0x707F, 0x2023, F_S, G.STORE, width=4),
    Insn("sd", 0x707F, 0x3023, F_S, G.STORE, width=8),
    # F, D: stores of an f register
    Insn("fsw", 0x707F, 0x2027, F_S, G.STORE, width=4, fp=Fp.RS2, ext="f"),
    Insn("fsd", 0x707F, 0x3027, F_S, G.STORE, width=8, fp=Fp.RS2 | Fp.DOUBLE, ext="d"),
    # F and D (OP-FP and the fused multiply-adds), single then double: fp_rows() below
    *fp_rows(),
    # cold: fences (fence.i is Zifencei) and system (mret, sret, wfi, sfence.vma are privileged)
    Insn("fence", 0x707F, 0x000F, F_NONE, G.SYSTEM),
    Insn("fence.i", 0x707F, 0x100F, F_NONE, G.SYSTEM, ext="zifencei"),
    Insn("ecall", 0xFFFFFFFF, 0x00000073, F_NONE, G.SYSTEM),
    Insn("ebreak", 0xFFFFFFFF, 0x00100073, F_NONE, G.SYSTEM),
    Insn("mret", 0xFFFFFFFF, 0x30200073, F_NONE, G.SYSTEM, ext=""),
    Insn("sret", 0xFFFFFFFF, 0x10200073, F_NONE, G.SYSTEM, ext=""),
    Insn("wfi", 0xFFFFFFFF, 0x10500073, F_NONE, G.SYSTEM, ext=""),
    Insn("sfence.vma", 0xFE007FFF, 0x12000073, F_R, G.SYSTEM, ext=""),
    # Svinval: sinval.vma is sfence.vma's invalidation, the two fences order it (privileged, S and up)
    Insn("sinval.vma", 0xFE007FFF, 0x16000073, F_R, G.SYSTEM, ext="svinval"),
    Insn("sfence.w.inval", 0xFFFFFFFF, 0x18000073, F_NONE, G.SYSTEM, ext="svinval"),
    Insn("sfence.inval.ir", 0xFFFFFFFF, 0x18100073, F_NONE, G.SYSTEM, ext="svinval"),
    # Zicbom, Zicboz: MISC-MEM funct3 2, the operation in imm[11:0], the block's address in rs1
    # (Zicbop's prefetch.i/r/w are ori with rd = x0: HINTs, no rows)
    Insn("cbo.inval", 0xFFF07FFF, 0x0000200F, F_R, G.SYSTEM, alu="inval", ext="zicbom"),
    Insn("cbo.clean", 0xFFF07FFF, 0x0010200F, F_R, G.SYSTEM, alu="clean", ext="zicbom"),
    Insn("cbo.flush", 0xFFF07FFF, 0x0020200F, F_R, G.SYSTEM, alu="flush", ext="zicbom"),
    Insn("cbo.zero", 0xFFF07FFF, 0x0040200F, F_R, G.SYSTEM, alu="zero", ext="zicboz"),
    # cold: Zicsr (for the *i forms the rs1 field is the 5-bit zero-extended immediate)
    Insn("csrrw", 0x707F, 0x1073, F_CSR, G.ZICSR, alu="write", ext="zicsr"),
    Insn("csrrs", 0x707F, 0x2073, F_CSR, G.ZICSR, alu="set", ext="zicsr"),
    Insn("csrrc", 0x707F, 0x3073, F_CSR, G.ZICSR, alu="clear", ext="zicsr"),
    Insn("csrrwi", 0x707F, 0x5073, F_CSR, G.ZICSR, alu="write", imm=True, ext="zicsr"),
    Insn("csrrsi", 0x707F, 0x6073, F_CSR, G.ZICSR, alu="set", imm=True, ext="zicsr"),
    Insn("csrrci", 0x707F, 0x7073, F_CSR, G.ZICSR, alu="clear", imm=True, ext="zicsr"),
    # cold: A (aq/rl bits 26:25 are free; lr needs rs2 = 0)
    Insn("lr.w", 0xF9F0707F, 0x1000202F, F_R, G.A, alu="lr", width=4, ext="a"),
    Insn("sc.w", 0xF800707F, 0x1800202F, F_R, G.A, alu="sc", width=4, ext="a"),
    Insn("amoswap.w", 0xF800707F, 0x0800202F, F_R, G.A, alu="swap", width=4, ext="a"),
    Insn("amoadd.w", 0xF800707F, 0x0000202F, F_R, G.A, alu="add", width=4, ext="a"),
    Insn("amoxor.w", 0xF800707F, 0x2000202F, F_R, G.A, alu="xor", width=4, ext="a"),
    Insn("amoand.w", 0xF800707F, 0x6000202F, F_R, G.A, alu="and", width=4, ext="a"),
    Insn("amoor.w", 0xF800707F, 0x4000202F, F_R, G.A, alu="or", width=4, ext="a"),
    Insn("amomin.w", 0xF800707F, 0x8000202F, F_R, G.A, alu="min", width=4, ext="a"),
    Insn("amomax.w", 0xF800707F, 0xA000202F, F_R, G.A, alu="max", width=4, ext="a"),
    Insn("amominu.w", 0xF800707F, 0xC000202F, F_R, G.A, alu="minu", width=4, ext="a"),
    Insn("amomaxu.w", 0xF800707F, 0xE000202F, F_R, G.A, alu="maxu", width=4, ext="a"),
    Insn("lr.d", 0xF9F0707F, 0x1000302F, F_R, G.A, alu="lr", width=8, ext="a"),
    Insn("sc.d", 0xF800707F, 0x1800302F, F_R, G.A, alu="sc", width=8, ext="a"),
    Insn("amoswap.d", 0xF800707F, 0x0800302F, F_R, G.A, alu="swap", width=8, ext="a"),
    Insn("amoadd.d", 0xF800707F, 0x0000302F, F_R, G.A, alu="add", width=8, ext="a"),
    Insn("amoxor.d", 0xF800707F, 0x2000302F, F_R, G.A, alu="xor", width=8, ext="a"),
    Insn("amoand.d", 0xF800707F, 0x6000302F, F_R, G.A, alu="and", width=8, ext="a"),
    Insn("amoor.d", 0xF800707F, 0x4000302F, F_R, G.A, alu="or", width=8, ext="a"),
    Insn("amomin.d", 0xF800707F, 0x8000302F, F_R, G.A, alu="min", width=8, ext="a"),
    Insn("amomax.d", 0xF800707F, 0xA000302F, F_R, G.A, alu="max", width=8, ext="a"),
    Insn("amominu.d", 0xF800707F, 0xC000302F, F_R, G.A, alu="minu", width=8, ext="a"),
    Insn("amomaxu.d", 0xF800707F, 0xE000302F, F_R, G.A, alu="maxu", width=8, ext="a"),
)
del G

# the op of anything that decodes to no instruction (its imm holds the instruction bits)
OPS = tuple(r.name for r in ENCODINGS) + ("illegal",)
OP = {name: i for i, name in enumerate(OPS)}
ILLEGAL = OP["illegal"]
ROW = {r.name: r for r in ENCODINGS}
if len(ROW) != len(ENCODINGS) or [r.group for r in ENCODINGS] != sorted(r.group for r in ENCODINGS):
    raise ValueError("emu/isa.py: ENCODINGS needs unique names, in Group order (the loop dispatches on op ranges)")


def group_span(group):
    """-> (first op, last op) of a dispatch group."""
    ops = [op for op, r in enumerate(ENCODINGS) if r.group == group]
    return ops[0], ops[-1]


# the group boundaries the loop's range tests use (inclusive last op of each hot group)
LAST_ALU_IMM = group_span(Group.ALU_IMM)[1]
LAST_ALU_REG = group_span(Group.ALU_REG)[1]
LAST_MUL = group_span(Group.MUL)[1]
LAST_CTRL = group_span(Group.CTRL)[1]
FIRST_LOAD, LAST_LOAD = group_span(Group.LOAD)
FIRST_STORE, LAST_STORE = group_span(Group.STORE)
FIRST_COLD = group_span(FIRST_COLD_GROUP)[0]
FIRST_FP, LAST_FP = group_span(Group.FP)
FIRST_ZICSR, LAST_ZICSR = group_span(Group.ZICSR)
FIRST_A, LAST_A = group_span(Group.A)


def op_array(prop, illegal=0):
    """A row property as njit code sees it: an int64 array indexed by op, prop(row) for every
    instruction and `illegal` for ILLEGAL."""
    return np.array([int(prop(r)) for r in ENCODINGS] + [illegal], np.int64)


MEM_SIZE = op_array(lambda r: r.width)        # bytes a load/store/LR/SC/AMO accesses, else 0
MEM_SIGNED = op_array(lambda r: r.signed)     # 1: a load that sign-extends

# A register operand is an index into x[] (emu/state.py): x0..x31 are 0..31, writes to x0 land in
# x[X_SINK], and f0..f31 are F_BASE..F_BASE+31 (emu/spec.py).  The decoder maps the FP rows' f registers.
FP_RD = op_array(lambda r: (r.fp & Fp.RD) != 0)
FP_RS1 = op_array(lambda r: (r.fp & Fp.RS1) != 0)
FP_RS2 = op_array(lambda r: (r.fp & Fp.RS2) != 0)

# the extensions an op needs (isastring bits; a compressed form needs c as well): decode_for
OP_EXT = op_array(lambda r: isastring.bit(r.ext) if r.ext else 0)
EXT_C = isastring.bit("c")
FIRST_CTRL = group_span(Group.CTRL)[0]
JALR = OP["jalr"]

# --- compressed formats (the C extension's CIW, CL, CS, CI, CSS, CB, CJ, CR, CA), each with
# the immediate scrambles and the reserved encodings of the rows that use it
(C_ADDI4SPN, C_LW, C_LD, C_SW, C_SD, C_ADDI, C_ADDIW, C_LI, C_ADDI16SP, C_LUI, C_SHIFT, C_ANDI,
 C_ALU, C_J, C_BZ, C_SLLI, C_LWSP, C_LDSP, C_SWSP, C_SDSP, C_JR, C_MV, C_EBREAK, C_JALR, C_ADD,
 C_FLDSP) = range(26)


class CInsn(NamedTuple):
    """One compressed form: it decodes to the op of the 32-bit instruction it expands to."""
    name: str
    mask: int
    match: int
    fmt: int                 # C_*: where the operands sit, and the reserved encodings
    expands: str             # the ENCODINGS name of the instruction it expands to


COMPRESSED = (
    # quadrant 0
    CInsn("c.addi4spn", 0xE003, 0x0000, C_ADDI4SPN, "addi"),
    CInsn("c.lw", 0xE003, 0x4000, C_LW, "lw"), CInsn("c.ld", 0xE003, 0x6000, C_LD, "ld"),
    CInsn("c.sw", 0xE003, 0xC000, C_SW, "sw"), CInsn("c.sd", 0xE003, 0xE000, C_SD, "sd"),
    CInsn("c.fld", 0xE003, 0x2000, C_LD, "fld"), CInsn("c.fsd", 0xE003, 0xA000, C_SD, "fsd"),
    # quadrant 1
    CInsn("c.addi", 0xE003, 0x0001, C_ADDI, "addi"), CInsn("c.addiw", 0xE003, 0x2001, C_ADDIW, "addiw"),
    CInsn("c.li", 0xE003, 0x4001, C_LI, "addi"),
    CInsn("c.addi16sp", 0xEF83, 0x6101, C_ADDI16SP, "addi"), CInsn("c.lui", 0xE003, 0x6001, C_LUI, "lui"),
    CInsn("c.srli", 0xEC03, 0x8001, C_SHIFT, "srli"), CInsn("c.srai", 0xEC03, 0x8401, C_SHIFT, "srai"),
    CInsn("c.andi", 0xEC03, 0x8801, C_ANDI, "andi"),
    CInsn("c.sub", 0xFC63, 0x8C01, C_ALU, "sub"), CInsn("c.xor", 0xFC63, 0x8C21, C_ALU, "xor"),
    CInsn("c.or", 0xFC63, 0x8C41, C_ALU, "or"), CInsn("c.and", 0xFC63, 0x8C61, C_ALU, "and"),
    CInsn("c.subw", 0xFC63, 0x9C01, C_ALU, "subw"), CInsn("c.addw", 0xFC63, 0x9C21, C_ALU, "addw"),
    CInsn("c.j", 0xE003, 0xA001, C_J, "jal"),
    CInsn("c.beqz", 0xE003, 0xC001, C_BZ, "beq"), CInsn("c.bnez", 0xE003, 0xE001, C_BZ, "bne"),
    # quadrant 2 (first match wins: c.jr before c.mv, c.ebreak and c.jalr before c.add)
    CInsn("c.slli", 0xE003, 0x0002, C_SLLI, "slli"),
    CInsn("c.lwsp", 0xE003, 0x4002, C_LWSP, "lw"), CInsn("c.ldsp", 0xE003, 0x6002, C_LDSP, "ld"),
    CInsn("c.jr", 0xF07F, 0x8002, C_JR, "jalr"), CInsn("c.mv", 0xF003, 0x8002, C_MV, "add"),
    CInsn("c.ebreak", 0xFFFF, 0x9002, C_EBREAK, "ebreak"), CInsn("c.jalr", 0xF07F, 0x9002, C_JALR, "jalr"),
    CInsn("c.add", 0xF003, 0x9002, C_ADD, "add"),
    CInsn("c.swsp", 0xE003, 0xC002, C_SWSP, "sw"), CInsn("c.sdsp", 0xE003, 0xE002, C_SDSP, "sd"),
    CInsn("c.fldsp", 0xE003, 0x2002, C_FLDSP, "fld"), CInsn("c.fsdsp", 0xE003, 0xA002, C_SDSP, "fsd"),
)
# Everything else in quadrants 0-2 is illegal here (RV64 has no c.flw/c.fsw: those encodings are c.ld/c.sd).

# the decoder's view of the tables (it scans them in order, on a decode-cache miss only; the
# 32-bit rows are pairwise disjoint, so their order does not matter)
D_MASK = np.array([r.mask for r in ENCODINGS], np.int64)
D_MATCH = np.array([r.match for r in ENCODINGS], np.int64)
D_OP = np.arange(len(ENCODINGS), dtype=np.int64)      # a row's op is its index
D_FMT = np.array([r.fmt for r in ENCODINGS], np.int64)
C_MASK = np.array([r.mask for r in COMPRESSED], np.int64)
C_MATCH = np.array([r.match for r in COMPRESSED], np.int64)
C_OP = np.array([OP[r.expands] for r in COMPRESSED], np.int64)
C_FMT = np.array([r.fmt for r in COMPRESSED], np.int64)


@njit(cache=True)
def bits(w, hi, lo):
    """w[hi:lo] as in the spec's notation."""
    return (w >> lo) & ((1 << (hi - lo + 1)) - 1)


@njit(cache=True)
def sext(v, nbits):
    m = 1 << (nbits - 1)
    return (v ^ m) - m


@njit(cache=True)
def decode32(w):
    """A 32-bit instruction word -> (op, rd, rs1, rs2, imm). Illegal: op ILLEGAL, imm = w."""
    rd = bits(w, 11, 7)
    rs1 = bits(w, 19, 15)
    rs2 = bits(w, 24, 20)
    for i in range(D_MASK.shape[0]):
        if (w & D_MASK[i]) == D_MATCH[i]:
            f = D_FMT[i]
            imm = 0
            if f == F_I:
                imm = sext(bits(w, 31, 20), 12)
            elif f == F_S:
                imm = sext((bits(w, 31, 25) << 5) | bits(w, 11, 7), 12)
            elif f == F_B:
                imm = sext((bits(w, 31, 31) << 12) | (bits(w, 7, 7) << 11) | (bits(w, 30, 25) << 5)
                           | (bits(w, 11, 8) << 1), 13)
            elif f == F_U:
                imm = sext(w & 0xFFFFF000, 32)
            elif f == F_J:
                imm = sext((bits(w, 31, 31) << 20) | (bits(w, 19, 12) << 12) | (bits(w, 20, 20) << 11)
                           | (bits(w, 30, 21) << 1), 21)
            elif f == F_SH6:
                imm = bits(w, 25, 20)
            elif f == F_SH5:
                imm = bits(w, 24, 20)
            elif f == F_CSR:
                imm = bits(w, 31, 20)
            elif f == F_RM:
                imm = bits(w, 14, 12)
            elif f == F_R4:
                imm = bits(w, 14, 12) | ((bits(w, 31, 27) + F_BASE) << RS3_SHIFT)
            return D_OP[i], rd, rs1, rs2, imm
    return ILLEGAL, 0, 0, 0, w


@njit(cache=True)
def decode16(h):
    """A 16-bit compressed instruction -> (op, rd, rs1, rs2, imm) of the instruction it expands to."""
    rdp = bits(h, 4, 2) + 8          # rd' / rs2'
    rs1p = bits(h, 9, 7) + 8         # rs1' / rd'
    r = bits(h, 11, 7)               # rd / rs1 of CI/CR
    r2 = bits(h, 6, 2)               # rs2 of CR/CSS
    imm6 = sext((bits(h, 12, 12) << 5) | bits(h, 6, 2), 6)
    for i in range(C_MASK.shape[0]):
        if (h & C_MASK[i]) != C_MATCH[i]:
            continue
        f = C_FMT[i]
        o = C_OP[i]
        if f == C_ADDI4SPN:
            imm = (bits(h, 12, 11) << 4) | (bits(h, 10, 7) << 6) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 3)
            if imm == 0:
                break                  # includes the all-zero word, defined illegal
            return o, rdp, 2, 0, imm
        if f == C_LW or f == C_SW:
            imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 6)
            return o, rdp, rs1p, rdp, imm
        if f == C_LD or f == C_SD:
            imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6)
            return o, rdp, rs1p, rdp, imm
        if f == C_ADDI:
            return o, r, r, 0, imm6          # rd = 0 is c.nop / a hint
        if f == C_ADDIW:
            if r == 0:
                break
            return o, r, r, 0, imm6
        if f == C_LI:
            return o, r, 0, 0, imm6
        if f == C_ADDI16SP:
            imm = sext((bits(h, 12, 12) << 9) | (bits(h, 6, 6) << 4) | (bits(h, 5, 5) << 6)
                       | (bits(h, 4, 3) << 7) | (bits(h, 2, 2) << 5), 10)
            if imm == 0:
                break
            return o, 2, 2, 0, imm
        if f == C_LUI:
            if imm6 == 0:
                break
            return o, r, 0, 0, imm6 << 12
        if f == C_SHIFT:
            return o, rs1p, rs1p, 0, (bits(h, 12, 12) << 5) | bits(h, 6, 2)
        if f == C_ANDI:
            return o, rs1p, rs1p, 0, imm6
        if f == C_ALU:
            return o, rs1p, rs1p, rdp, 0
        if f == C_J:
            imm = sext((bits(h, 12, 12) << 11) | (bits(h, 11, 11) << 4) | (bits(h, 10, 9) << 8)
                       | (bits(h, 8, 8) << 10) | (bits(h, 7, 7) << 6) | (bits(h, 6, 6) << 7)
                       | (bits(h, 5, 3) << 1) | (bits(h, 2, 2) << 5), 12)
            return o, 0, 0, 0, imm
        if f == C_BZ:
            imm = sext((bits(h, 12, 12) << 8) | (bits(h, 11, 10) << 3) | (bits(h, 6, 5) << 6)
                       | (bits(h, 4, 3) << 1) | (bits(h, 2, 2) << 5), 9)
            return o, 0, rs1p, 0, imm
        if f == C_SLLI:
            return o, r, r, 0, (bits(h, 12, 12) << 5) | bits(h, 6, 2)
        if f == C_LWSP:
            if r == 0:
                break
            return o, r, 2, 0, (bits(h, 12, 12) << 5) | (bits(h, 6, 4) << 2) | (bits(h, 3, 2) << 6)
        if f == C_LDSP or f == C_FLDSP:
            if r == 0 and f == C_LDSP:
                break                          # c.ldsp to x0 is reserved; c.fldsp to f0 is not
            return o, r, 2, 0, (bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6)
        if f == C_SWSP:
            return o, 0, 2, r2, (bits(h, 12, 9) << 2) | (bits(h, 8, 7) << 6)
        if f == C_SDSP:
            return o, 0, 2, r2, (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6)
        if f == C_JR:
            if r == 0:
                break
            return o, 0, r, 0, 0
        if f == C_MV:
            return o, r, 0, r2, 0
        if f == C_EBREAK:
            return o, 0, 0, 0, 0
        if f == C_JALR:
            return o, 1, r, 0, 0
        if f == C_ADD:
            return o, r, r, r2, 0
        break
    return ILLEGAL, 0, 0, 0, h


@njit(cache=True)
def decode(w):
    """Instruction bits (the low 16 suffice for a compressed one) -> (op, rd, rs1, rs2, imm, ilen).

    Registers come out as indices into x[]: a write to x0 is given rd = X_SINK, a register past
    x31 that nothing reads, so that the loop never has to re-zero x0; an f register is F_BASE + n.
    """
    if (w & 3) == 3:
        o, rd, rs1, rs2, imm = decode32(w & 0xFFFFFFFF)
        ilen = 4
    else:
        o, rd, rs1, rs2, imm = decode16(w & 0xFFFF)
        ilen = 2
    if FP_RD[o] != 0:
        rd += F_BASE
    elif rd == 0:
        rd = X_SINK
    if FP_RS1[o] != 0:
        rs1 += F_BASE
    if FP_RS2[o] != 0:
        rs2 += F_BASE
    return o, rd, rs1, rs2, imm, ilen


@njit(cache=True)
def decode_for(w, isa_mask):
    """decode() for a hart with the extensions isa_mask (st[ST_ISA], emu/isastring.py): the decode cache's
    fill and the region writer decode through it, so the loop and the regions never see an instruction
    the hart lacks.  One of an extension it lacks (any compressed one without c) is ILLEGAL, imm = its
    bits.  Without c (IALIGN = 32) a jalr, and a jal or branch whose offset is not a multiple of 4, are
    ILLEGAL too: emu/cold.py's exec_ialign32 runs them, with the check the spec puts on the jump (a
    target that is not 4-byte aligned raises instruction-address-misaligned), so the hot loop has none."""
    o, rd, rs1, rs2, imm, ilen = decode(w)
    if ((OP_EXT[o] | (EXT_C if ilen == 2 else 0)) & ~isa_mask) != 0:
        return ILLEGAL, 0, 0, 0, w & (0xFFFF if ilen == 2 else 0xFFFFFFFF), ilen
    if (isa_mask & EXT_C) == 0 and FIRST_CTRL <= o <= LAST_CTRL and (o == JALR or (imm & 2) != 0):
        return ILLEGAL, 0, 0, 0, w & 0xFFFFFFFF, ilen
    return o, rd, rs1, rs2, imm, ilen
