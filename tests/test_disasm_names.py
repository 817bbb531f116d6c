"""Our decoder's names (emu/isa.py ENCODINGS and COMPRESSED) against capstone's, which --trace prints.

For every row of both tables an example encoding is built from the row itself
(its match bits, with operand fields filled in where the mask leaves them free),
checked to decode to that row's op with our decoder (first match wins, so the
example must not fall into an earlier row or a reserved form), and disassembled
with the Disassembler lifecycle/debug/trace.py uses.  capstone's mnemonic must be our
name, or one of the aliases listed below, each for a stated reason.  For the F and D rows the
operands too: the registers our decoder gives (f registers as x[F_BASE + n]) and the rounding mode
are the ones capstone prints.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fd_spec  # noqa: E402
import zb_spec  # noqa: E402

from emu import isa  # noqa: E402
from lifecycle.debug.trace import Disassembler, spec_name  # noqa: E402

DIS = Disassembler()

A0, A1, A2, A3, RA = 10, 11, 12, 13, 1
RNE = 0          # F/D's rounding mode here: capstone prints it (not 7, dyn) and knows it for every fcvt

# Operand fields per 32-bit format: rd = a0, rs1 = a1, rs2 = a2 and a small immediate, chosen
# so that capstone has no pseudo-instruction for them (no x0 operand, no 0 / -1 immediates).
FILL32 = {
    isa.F_R: (A0 << 7) | (A1 << 15) | (A2 << 20),
    isa.F_I: (A0 << 7) | (A1 << 15) | (5 << 20),
    isa.F_S: (A1 << 15) | (A2 << 20) | (8 << 7),                       # imm = 8
    isa.F_B: (A0 << 15) | (A1 << 20) | (1 << 10),                      # imm = 16 (bit 4 at 11:8)
    isa.F_U: (A0 << 7) | (0x12345 << 12),
    isa.F_J: (RA << 7) | (8 << 21),                                    # jal ra, 16
    isa.F_SH6: (A0 << 7) | (A1 << 15) | (3 << 20),
    isa.F_SH5: (A0 << 7) | (A1 << 15) | (3 << 20),
    isa.F_CSR: (A0 << 7) | (A1 << 15) | (0x340 << 20),                 # mscratch; for *i: uimm 11
    isa.F_NONE: (0xF << 24) | (0xF << 20),                             # fence: pred = succ = iorw
    isa.F_RM: (A0 << 7) | (A1 << 15) | (A2 << 20) | (RNE << 12),      # fadd.d fa0, fa1, fa2, rne
    isa.F_R4: (A0 << 7) | (A1 << 15) | (A2 << 20) | (A3 << 27) | (RNE << 12),
}

# Operand fields per compressed format (rd'/rs1' = a0 -> 2, rs2' = a1 -> 3 in the 3-bit fields;
# full registers a0/a1), immediates non-zero where zero is reserved or a HINT.
FILL16 = {
    isa.C_ADDI4SPN: (1 << 11) | (2 << 2),        # c.addi4spn a0, sp, 16
    isa.C_LW: (3 << 7) | (2 << 2) | (1 << 6),    # c.lw a0, 4(a1)
    isa.C_SW: (3 << 7) | (2 << 2) | (1 << 6),
    isa.C_LD: (3 << 7) | (2 << 2) | (1 << 10),   # c.ld a0, 8(a1)
    isa.C_SD: (3 << 7) | (2 << 2) | (1 << 10),
    isa.C_ADDI: (A0 << 7) | (5 << 2),            # c.addi a0, 5
    isa.C_ADDIW: (A0 << 7) | (5 << 2),
    isa.C_LI: (A0 << 7) | (5 << 2),
    isa.C_ADDI16SP: 1 << 6,                      # c.addi16sp sp, 16
    isa.C_LUI: (A0 << 7) | (1 << 2),             # c.lui a0, 1
    isa.C_SHIFT: (2 << 7) | (3 << 2),            # c.srli a0, 3
    isa.C_ANDI: (2 << 7) | (3 << 2),
    isa.C_ALU: (2 << 7) | (3 << 2),              # c.sub a0, a1
    isa.C_J: 1 << 11,                            # c.j 16
    isa.C_BZ: (2 << 7) | (1 << 10),              # c.beqz a0, 8
    isa.C_SLLI: (A0 << 7) | (3 << 2),
    isa.C_LWSP: (A0 << 7) | (1 << 4),            # c.lwsp a0, 4(sp)
    isa.C_LDSP: (A0 << 7) | (1 << 5),            # c.ldsp a0, 8(sp)
    isa.C_FLDSP: (A0 << 7) | (1 << 5),           # c.fldsp fa0, 8(sp)
    isa.C_SWSP: (A0 << 2) | (1 << 9),            # c.swsp a0, 4(sp)
    isa.C_SDSP: (A0 << 2) | (1 << 10),           # c.sdsp a0, 8(sp)
    isa.C_JR: A0 << 7,
    isa.C_MV: (A0 << 7) | (A1 << 2),
    isa.C_EBREAK: 0,
    isa.C_JALR: A0 << 7,
    isa.C_ADD: (A0 << 7) | (A1 << 2),
}

# capstone's mnemonic -> our name, where capstone names an example differently.  The only
# ones: the A extension's ordering bits.  capstone appends them to the name (amoadd.w.aqrl);
# our decoder has one op for all four orderings (bits 26:25 are free in the mask).
ATOMICS = [e for e in isa.ENCODINGS if e[0][:2] in ("lr", "sc", "am")]
ALIASES = {f"{e[0]}{s}": e[0] for e in ATOMICS for s in (".aq", ".rl", ".aqrl")}


def example32(row):
    name, mask, match, fmt = row[:4]
    if name == "fence.i":
        return match            # its imm/rs1/rd fields are reserved (zero): capstone rejects others
    return match | (FILL32[fmt] & ~mask & 0xFFFFFFFF)


def example16(row):
    name, mask, match, fmt, _exp = row
    return match | (FILL16[fmt] & ~mask & 0xFFFF)


def capstone_name(bits, ilen):
    mn = DIS.mnemonic(bits, ilen)
    return ALIASES.get(mn, mn)


@pytest.mark.parametrize("row", isa.ENCODINGS, ids=[r[0] for r in isa.ENCODINGS])
def test_32bit_rows(row):
    name = row[0]
    w = example32(row)
    op = int(isa.decode32(w)[0])
    assert isa.OPS[op] == name, f"the example 0x{w:08x} for {name} decodes to {isa.OPS[op]}"
    assert spec_name(w) == name
    if name in zb_spec.CAPSTONE_UNKNOWN:
        # capstone 5 knows no Zb*, Zicond, CMO or Svinval instruction (tests/test_bitmanip.py fails
        # once it does): the specs' listing names the example, and --trace prints our own text
        assert capstone_name(w, 4) is None and zb_spec.name_of(w) == name, (name, hex(w))
        assert DIS.text(w, 4).split()[0] == name
        return
    assert capstone_name(w, 4) == name, (name, hex(w), DIS.text(w, 4))


@pytest.mark.parametrize("row", ATOMICS, ids=[r[0] for r in ATOMICS])
@pytest.mark.parametrize("aqrl", [1, 2, 3], ids=["rl", "aq", "aqrl"])
def test_atomics_with_ordering_bits(row, aqrl):
    w = example32(row) | (aqrl << 25)
    assert isa.OPS[int(isa.decode32(w)[0])] == row[0]
    mn = DIS.mnemonic(w, 4)
    assert mn == row[0] + {1: ".rl", 2: ".aq", 3: ".aqrl"}[aqrl]
    assert ALIASES[mn] == row[0]


@pytest.mark.parametrize("row", isa.COMPRESSED, ids=[r[0] for r in isa.COMPRESSED])
def test_compressed_rows(row):
    name, _mask, _match, _fmt, expands_to = row
    h = example16(row)
    op = int(isa.decode16(h)[0])
    assert isa.OPS[op] == expands_to, f"the example 0x{h:04x} for {name} decodes to {isa.OPS[op]}"
    assert spec_name(h) == name                           # the first matching row is this one
    got = capstone_name(h, 2)
    assert got == name, (name, hex(h), DIS.text(h, 2))


def reg_name(i):
    """A register operand as the decoder gives it (an index into x[]) by its ABI name."""
    return fd_spec.F_ABI[i - isa.F_BASE] if i >= isa.F_BASE else fd_spec.X_ABI[i]


def fd_text(name, bits):
    """What capstone should print for an F/D instruction: its spec operands (tests/fd_spec.py) as our
    decoder gives them, then the rounding mode unless it is dyn."""
    _op, rd, rs1, rs2, imm, _ilen = (int(v) for v in isa.decode(bits))
    spec = fd_spec.FD[name]
    if spec.form in ("I", "S", "C"):                    # loads and stores: data, imm(base)
        data = rd if "rd" in spec.kinds else rs2
        return f"{name} {reg_name(data)}, {imm}({reg_name(rs1)})"
    regs = {"rd": rd, "rs1": rs1, "rs2": rs2, "rs3": imm >> isa.RS3_SHIFT}
    ops = [reg_name(regs[o]) for o in fd_spec.OPERANDS if o in spec.kinds]
    rm = imm & 7
    if spec.rm and rm != 7 and name not in fd_spec.CAPSTONE_RM_FIXED:
        ops.append(fd_spec.RM_NAMES[rm])
    return f"{name} {', '.join(ops)}"


FD_ROWS = [(r.name, example32(r), 4) for r in isa.ENCODINGS if r.fp] + [
    (r.name, example16(r), 2) for r in isa.COMPRESSED if r.expands in ("fld", "fsd")]


@pytest.mark.parametrize("name,bits,ilen", FD_ROWS, ids=[r[0] for r in FD_ROWS])
def test_fd_rows_operands(name, bits, ilen):
    assert " ".join(DIS.text(bits, ilen).split(None, 1)) == fd_text(name, bits)


def test_every_op_has_a_row_and_was_checked():
    named = {r[0] for r in isa.ENCODINGS} | {r[4] for r in isa.COMPRESSED}
    assert named == set(isa.OPS) - {"illegal"}


def test_the_trace_prints_unknown_for_what_capstone_cannot_decode():
    assert DIS.text(0xFFFFFFFF, 4) == "unknown"
    assert spec_name(0x0000) == "illegal"                 # the all-zero halfword
    assert DIS.mnemonic(0x0000, 2) == "c.unimp"           # capstone's name for it


def test_pseudo_instructions_capstone_prints_for_other_operands():
    """What the trace shows for common code (capstone's aliases, not our names): documented in
    docs/tracing.md.  Each pair: the instruction bits, capstone's mnemonic, our spec name."""
    cases = [
        (0x00000513, "mv", "addi"),          # addi a0, zero, 0: capstone prints `mv a0, zero`
        (0x00008067, "ret", "jalr"),         # jalr zero, 0(ra)
        (0x0000006F, "j", "jal"),            # jal zero, 0
        (0x00000013, "nop", "addi"),         # addi zero, zero, 0
        (0x0005051B, "sext.w", "addiw"),     # addiw a0, a0, 0
        (0x301025F3, "csrr", "csrrs"),       # csrrs a1, misa, zero
        (0x30101073, "csrw", "csrrw"),       # csrrw zero, misa, zero
        (0xC02025F3, "rdinstret", "csrrs"),  # csrrs a1, instret, zero
        (0x0001, "c.nop", "c.addi"),         # c.addi zero, 0 (a HINT, decoded as addi)
    ]
    for bits, cs, ours in cases:
        ilen = 4 if bits & 3 == 3 else 2
        assert DIS.mnemonic(bits, ilen) == cs, hex(bits)
        assert spec_name(bits) == ours, hex(bits)
