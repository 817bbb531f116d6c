"""RV64IMAC + Zicsr + Zifencei: the instruction set as data, and its decoder.

Every instruction has an op number (its index in OPS) and one row in ENCODINGS
(32-bit forms) or COMPRESSED (16-bit forms, which decode to the op of the
32-bit instruction they expand to).  A row is (spec name, mask, match, format):
an instruction word w is that instruction when w & mask == match; the first
matching row wins.  The format says where the operands sit.  The loop in
emu/loop.py gives each op its meaning; to find an instruction, search for its
spec name in upper case there (e.g. ``ADDIW``).

OPS is ordered in groups so that the hot loop can dispatch hierarchically
(a few range tests, then a short chain inside the group): the groups are
ALU-immediate, ALU-register, M, control transfer, loads, stores, and the cold
rest (fences, system, Zicsr, A) which runs outside the hot loop in emu/cold.py.
"""
import numpy as np
from numba import njit

OPS = (
    # ALU with immediate (and lui/auipc)
    "lui", "auipc", "addi", "slti", "sltiu", "xori", "ori", "andi", "slli", "srli", "srai",
    "addiw", "slliw", "srliw", "sraiw",
    # ALU register-register
    "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
    "addw", "subw", "sllw", "srlw", "sraw",
    # M
    "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
    "mulw", "divw", "divuw", "remw", "remuw",
    # control transfer
    "jal", "jalr", "beq", "bne", "blt", "bge", "bltu", "bgeu",
    # loads
    "lb", "lh", "lw", "ld", "lbu", "lhu", "lwu",
    # stores
    "sb", "sh", "sw", "sd",
    # cold: fences and system
    "fence", "fence.i", "ecall", "ebreak", "mret", "sret", "wfi", "sfence.vma",
    # cold: Zicsr
    "csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci",
    # cold: A
    "lr.w", "sc.w", "amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w",
    "amomin.w", "amomax.w", "amominu.w", "amomaxu.w",
    "lr.d", "sc.d", "amoswap.d", "amoadd.d", "amoxor.d", "amoand.d", "amoor.d",
    "amomin.d", "amomax.d", "amominu.d", "amomaxu.d",
    # anything that decodes to no instruction (its imm holds the instruction bits)
    "illegal",
)
OP = {name: i for i, name in enumerate(OPS)}


# group boundaries (inclusive last op of each hot group)
LAST_ALU_IMM = OP["sraiw"]
LAST_ALU_REG = OP["sraw"]
LAST_MUL = OP["remuw"]
LAST_CTRL = OP["bgeu"]
LAST_LOAD = OP["lwu"]
LAST_STORE = OP["sd"]
FIRST_COLD = OP["fence"]
ILLEGAL = OP["illegal"]

X_SINK = 32      # the register file has 33 entries: writes to x0 land in x[32]

# --- operand formats (the unprivileged spec's instruction formats)
F_R, F_I, F_S, F_B, F_U, F_J, F_SH6, F_SH5, F_CSR, F_NONE = range(10)

ENCODINGS = (
    # RV64I
    ("lui", 0x7F, 0x37, F_U), ("auipc", 0x7F, 0x17, F_U),
    ("jal", 0x7F, 0x6F, F_J), ("jalr", 0x707F, 0x67, F_I),
    ("beq", 0x707F, 0x0063, F_B), ("bne", 0x707F, 0x1063, F_B),
    ("blt", 0x707F, 0x4063, F_B), ("bge", 0x707F, 0x5063, F_B),
    ("bltu", 0x707F, 0x6063, F_B), ("bgeu", 0x707F, 0x7063, F_B),
    ("lb", 0x707F, 0x0003, F_I), ("lh", 0x707F, 0x1003, F_I), ("lw", 0x707F, 0x2003, F_I),
    ("ld", 0x707F, 0x3003, F_I), ("lbu", 0x707F, 0x4003, F_I), ("lhu", 0x707F, 0x5003, F_I),
    ("lwu", 0x707F, 0x6003, F_I),
    ("sb", 0x707F, 0x0023, F_S), ("sh", 0x707F, 0x1023, F_S), ("sw", 0x707F, 0x2023, F_S),
    ("sd", 0x707F, 0x3023, F_S),
    ("addi", 0x707F, 0x0013, F_I), ("slti", 0x707F, 0x2013, F_I), ("sltiu", 0x707F, 0x3013, F_I),
    ("xori", 0x707F, 0x4013, F_I), ("ori", 0x707F, 0x6013, F_I), ("andi", 0x707F, 0x7013, F_I),
    ("slli", 0xFC00707F, 0x1013, F_SH6), ("srli", 0xFC00707F, 0x5013, F_SH6),
    ("srai", 0xFC00707F, 0x40005013, F_SH6),
    ("addiw", 0x707F, 0x001B, F_I), ("slliw", 0xFE00707F, 0x101B, F_SH5),
    ("srliw", 0xFE00707F, 0x501B, F_SH5), ("sraiw", 0xFE00707F, 0x4000501B, F_SH5),
    ("add", 0xFE00707F, 0x0033, F_R), ("sub", 0xFE00707F, 0x40000033, F_R),
    ("sll", 0xFE00707F, 0x1033, F_R), ("slt", 0xFE00707F, 0x2033, F_R),
    ("sltu", 0xFE00707F, 0x3033, F_R), ("xor", 0xFE00707F, 0x4033, F_R),
    ("srl", 0xFE00707F, 0x5033, F_R), ("sra", 0xFE00707F, 0x40005033, F_R),
    ("or", 0xFE00707F, 0x6033, F_R), ("and", 0xFE00707F, 0x7033, F_R),
    ("addw", 0xFE00707F, 0x003B, F_R), ("subw", 0xFE00707F, 0x4000003B, F_R),
    ("sllw", 0xFE00707F, 0x103B, F_R), ("srlw", 0xFE00707F, 0x503B, F_R),
    ("sraw", 0xFE00707F, 0x4000503B, F_R),
    ("fence", 0x707F, 0x000F, F_NONE),
    ("ecall", 0xFFFFFFFF, 0x00000073, F_NONE), ("ebreak", 0xFFFFFFFF, 0x00100073, F_NONE),
    # Zifencei
    ("fence.i", 0x707F, 0x100F, F_NONE),
    # privileged
    ("mret", 0xFFFFFFFF, 0x30200073, F_NONE), ("sret", 0xFFFFFFFF, 0x10200073, F_NONE),
    ("wfi", 0xFFFFFFFF, 0x10500073, F_NONE), ("sfence.vma", 0xFE007FFF, 0x12000073, F_R),
    # Zicsr (for the *i forms the rs1 field is the 5-bit zero-extended immediate)
    ("csrrw", 0x707F, 0x1073, F_CSR), ("csrrs", 0x707F, 0x2073, F_CSR),
    ("csrrc", 0x707F, 0x3073, F_CSR), ("csrrwi", 0x707F, 0x5073, F_CSR),
    ("csrrsi", 0x707F, 0x6073, F_CSR), ("csrrci", 0x707F, 0x7073, F_CSR),
    # M
    ("mul", 0xFE00707F, 0x02000033, F_R), ("mulh", 0xFE00707F, 0x02001033, F_R),
    ("mulhsu", 0xFE00707F, 0x02002033, F_R), ("mulhu", 0xFE00707F, 0x02003033, F_R),
    ("div", 0xFE00707F, 0x02004033, F_R), ("divu", 0xFE00707F, 0x02005033, F_R),
    ("rem", 0xFE00707F, 0x02006033, F_R), ("remu", 0xFE00707F, 0x02007033, F_R),
    ("mulw", 0xFE00707F, 0x0200003B, F_R), ("divw", 0xFE00707F, 0x0200403B, F_R),
    ("divuw", 0xFE00707F, 0x0200503B, F_R), ("remw", 0xFE00707F, 0x0200603B, F_R),
    ("remuw", 0xFE00707F, 0x0200703B, F_R),
    # A (aq/rl bits 26:25 are free; lr needs rs2 = 0)
    ("lr.w", 0xF9F0707F, 0x1000202F, F_R), ("sc.w", 0xF800707F, 0x1800202F, F_R),
    ("amoswap.w", 0xF800707F, 0x0800202F, F_R), ("amoadd.w", 0xF800707F, 0x0000202F, F_R),
    ("amoxor.w", 0xF800707F, 0x2000202F, F_R), ("amoand.w", 0xF800707F, 0x6000202F, F_R),
    ("amoor.w", 0xF800707F, 0x4000202F, F_R), ("amomin.w", 0xF800707F, 0x8000202F, F_R),
    ("amomax.w", 0xF800707F, 0xA000202F, F_R), ("amominu.w", 0xF800707F, 0xC000202F, F_R),
    ("amomaxu.w", 0xF800707F, 0xE000202F, F_R),
    ("lr.d", 0xF9F0707F, 0x1000302F, F_R), ("sc.d", 0xF800707F, 0x1800302F, F_R),
    ("amoswap.d", 0xF800707F, 0x0800302F, F_R), ("amoadd.d", 0xF800707F, 0x0000302F, F_R),
    ("amoxor.d", 0xF800707F, 0x2000302F, F_R), ("amoand.d", 0xF800707F, 0x6000302F, F_R),
    ("amoor.d", 0xF800707F, 0x4000302F, F_R), ("amomin.d", 0xF800707F, 0x8000302F, F_R),
    ("amomax.d", 0xF800707F, 0xA000302F, F_R), ("amominu.d", 0xF800707F, 0xC000302F, F_R),
    ("amomaxu.d", 0xF800707F, 0xE000302F, F_R),
)

# --- compressed formats (the C extension's CIW, CL, CS, CI, CSS, CB, CJ, CR, CA), each with
# the immediate scrambles and the reserved encodings of the rows that use it
(C_ADDI4SPN, C_LW, C_LD, C_SW, C_SD, C_ADDI, C_ADDIW, C_LI, C_ADDI16SP, C_LUI, C_SHIFT, C_ANDI,
 C_ALU, C_J, C_BZ, C_SLLI, C_LWSP, C_LDSP, C_SWSP, C_SDSP, C_JR, C_MV, C_EBREAK, C_JALR, C_ADD) = range(25)

COMPRESSED = (
    # quadrant 0
    ("c.addi4spn", 0xE003, 0x0000, C_ADDI4SPN, "addi"),
    ("c.lw", 0xE003, 0x4000, C_LW, "lw"), ("c.ld", 0xE003, 0x6000, C_LD, "ld"),
    ("c.sw", 0xE003, 0xC000, C_SW, "sw"), ("c.sd", 0xE003, 0xE000, C_SD, "sd"),
    # quadrant 1
    ("c.addi", 0xE003, 0x0001, C_ADDI, "addi"), ("c.addiw", 0xE003, 0x2001, C_ADDIW, "addiw"),
    ("c.li", 0xE003, 0x4001, C_LI, "addi"),
    ("c.addi16sp", 0xEF83, 0x6101, C_ADDI16SP, "addi"), ("c.lui", 0xE003, 0x6001, C_LUI, "lui"),
    ("c.srli", 0xEC03, 0x8001, C_SHIFT, "srli"), ("c.srai", 0xEC03, 0x8401, C_SHIFT, "srai"),
    ("c.andi", 0xEC03, 0x8801, C_ANDI, "andi"),
    ("c.sub", 0xFC63, 0x8C01, C_ALU, "sub"), ("c.xor", 0xFC63, 0x8C21, C_ALU, "xor"),
    ("c.or", 0xFC63, 0x8C41, C_ALU, "or"), ("c.and", 0xFC63, 0x8C61, C_ALU, "and"),
    ("c.subw", 0xFC63, 0x9C01, C_ALU, "subw"), ("c.addw", 0xFC63, 0x9C21, C_ALU, "addw"),
    ("c.j", 0xE003, 0xA001, C_J, "jal"),
    ("c.beqz", 0xE003, 0xC001, C_BZ, "beq"), ("c.bnez", 0xE003, 0xE001, C_BZ, "bne"),
    # quadrant 2
    ("c.slli", 0xE003, 0x0002, C_SLLI, "slli"),
    ("c.lwsp", 0xE003, 0x4002, C_LWSP, "lw"), ("c.ldsp", 0xE003, 0x6002, C_LDSP, "ld"),
    ("c.jr", 0xF07F, 0x8002, C_JR, "jalr"), ("c.mv", 0xF003, 0x8002, C_MV, "add"),
    ("c.ebreak", 0xFFFF, 0x9002, C_EBREAK, "ebreak"), ("c.jalr", 0xF07F, 0x9002, C_JALR, "jalr"),
    ("c.add", 0xF003, 0x9002, C_ADD, "add"),
    ("c.swsp", 0xE003, 0xC002, C_SWSP, "sw"), ("c.sdsp", 0xE003, 0xE002, C_SDSP, "sd"),
)
# Everything else in quadrants 0-2 is illegal here: c.fld/c.fsd/c.fldsp/c.fsdsp need D.

D_MASK = np.array([e[1] for e in ENCODINGS], np.int64)
D_MATCH = np.array([e[2] for e in ENCODINGS], np.int64)
D_OP = np.array([OP[e[0]] for e in ENCODINGS], np.int64)
D_FMT = np.array([e[3] for e in ENCODINGS], np.int64)
C_MASK = np.array([e[1] for e in COMPRESSED], np.int64)
C_MATCH = np.array([e[2] for e in COMPRESSED], np.int64)
C_OP = np.array([OP[e[4]] for e in COMPRESSED], np.int64)
C_FMT = np.array([e[3] for e in COMPRESSED], np.int64)


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
        if f == C_LDSP:
            if r == 0:
                break
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

    A write to x0 is given rd = X_SINK, a register past x31 that nothing reads, so that
    the loop never has to re-zero x0.
    """
    if (w & 3) == 3:
        o, rd, rs1, rs2, imm = decode32(w & 0xFFFFFFFF)
        ilen = 4
    else:
        o, rd, rs1, rs2, imm = decode16(w & 0xFFFF)
        ilen = 2
    if rd == 0:
        rd = X_SINK
    return o, rd, rs1, rs2, imm, ilen
