"""Table-driven RISC-V (RV64IMAC subset) instruction encoder for tests.

    enc('addi', rd=1, rs1=2, imm=-5)  -> 0xffb10093
    enc('c.addi', rd=1, imm=-5)       -> 0x10ed        (16-bit value)
    enc_bytes('add', rd=1, rs1=2, rs2=3) -> b'...'     (little-endian, 2 or 4 bytes)

Register operands are plain integers 0..31 (for the compressed "prime"
registers, rd'/rs1'/rs2', pass the full register number 8..15).  Immediates
are the architectural values (byte offsets for branches/jumps/memory, the
*unshifted* value for lui/auipc/c.lui i.e. the 20-bit / 6-bit field value,
shift amounts for shifts).  Every field is range/alignment checked and an
EncodeError (ValueError) is raised for anything not encodable, so a test
cannot silently emit a different instruction than it meant.

The tables ``BASE`` and ``COMPRESSED`` are public so tests can iterate over
every supported mnemonic (see ``MNEMONICS`` and ``OPERANDS``).
"""

from __future__ import annotations


class EncodeError(ValueError):
    pass


# --------------------------------------------------------------------------
# field helpers

def _reg(name: str, v: int) -> int:
    if not isinstance(v, int) or not 0 <= v <= 31:
        raise EncodeError(f"{name}={v!r}: register must be 0..31")
    return v


def _creg(name: str, v: int) -> int:
    """Compressed 3-bit register field: x8..x15 -> 0..7."""
    if not isinstance(v, int) or not 8 <= v <= 15:
        raise EncodeError(f"{name}=x{v}: compressed register must be x8..x15")
    return v - 8


def _simm(name: str, v: int, bits: int, align: int = 1) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not isinstance(v, int) or not lo <= v <= hi:
        raise EncodeError(f"{name}={v!r}: out of signed {bits}-bit range [{lo}, {hi}]")
    if v % align:
        raise EncodeError(f"{name}={v}: must be a multiple of {align}")
    return v & ((1 << bits) - 1)


def _uimm(name: str, v: int, bits: int, align: int = 1) -> int:
    if not isinstance(v, int) or not 0 <= v < (1 << bits):
        raise EncodeError(f"{name}={v!r}: out of unsigned {bits}-bit range [0, {(1 << bits) - 1}]")
    if v % align:
        raise EncodeError(f"{name}={v}: must be a multiple of {align}")
    return v


def _bit(v: int, hi: int, lo: int | None = None) -> int:
    """Bits v[hi:lo] (inclusive) right-aligned."""
    if lo is None:
        lo = hi
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)


# --------------------------------------------------------------------------
# 32-bit formats

OP_LUI, OP_AUIPC, OP_JAL, OP_JALR = 0b0110111, 0b0010111, 0b1101111, 0b1100111
OP_BRANCH, OP_LOAD, OP_STORE = 0b1100011, 0b0000011, 0b0100011
OP_IMM, OP_IMM32, OP_OP, OP_OP32 = 0b0010011, 0b0011011, 0b0110011, 0b0111011


def _r(opc, f3, f7, rd, rs1, rs2):
    return (f7 << 25) | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15) | (f3 << 12) | (_reg('rd', rd) << 7) | opc


def _i(opc, f3, rd, rs1, imm):
    return (_simm('imm', imm, 12) << 20) | (_reg('rs1', rs1) << 15) | (f3 << 12) | (_reg('rd', rd) << 7) | opc


def _s(opc, f3, rs1, rs2, imm):
    v = _simm('imm', imm, 12)
    return ((_bit(v, 11, 5) << 25) | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15) | (f3 << 12)
            | (_bit(v, 4, 0) << 7) | opc)


def _b(opc, f3, rs1, rs2, imm):
    v = _simm('imm', imm, 13, 2)
    return ((_bit(v, 12) << 31) | (_bit(v, 10, 5) << 25) | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15)
            | (f3 << 12) | (_bit(v, 4, 1) << 8) | (_bit(v, 11) << 7) | opc)


def _u(opc, rd, imm):
    # imm is the 20-bit field value (as printed by assemblers: lui a0, 0x12345).
    # Accept both 0..0xfffff and negative -0x80000..-1 for convenience.
    if isinstance(imm, int) and -(1 << 19) <= imm < 0:
        imm &= 0xFFFFF
    v = _uimm('imm', imm, 20)
    return (v << 12) | (_reg('rd', rd) << 7) | opc


def _j(opc, rd, imm):
    v = _simm('imm', imm, 21, 2)
    return ((_bit(v, 20) << 31) | (_bit(v, 10, 1) << 21) | (_bit(v, 11) << 20) | (_bit(v, 19, 12) << 12)
            | (_reg('rd', rd) << 7) | opc)


def _shift(opc, f3, f6, shbits, rd, rs1, shamt):
    sh = _uimm('shamt', shamt, shbits)
    return (f6 << 26) | (sh << 20) | (_reg('rs1', rs1) << 15) | (f3 << 12) | (_reg('rd', rd) << 7) | opc


def _shiftw(opc, f3, f7, rd, rs1, shamt):
    sh = _uimm('shamt', shamt, 5)
    return (f7 << 25) | (sh << 20) | (_reg('rs1', rs1) << 15) | (f3 << 12) | (_reg('rd', rd) << 7) | opc


# mnemonic -> (format, operand names, encoder(**kw))
BASE: dict[str, tuple[str, tuple[str, ...], object]] = {}


def _def(mn, fmt, ops, fn):
    BASE[mn] = (fmt, ops, fn)


# R-type
for _mn, _opc, _f3, _f7 in [
    ('add', OP_OP, 0, 0x00), ('sub', OP_OP, 0, 0x20), ('sll', OP_OP, 1, 0x00), ('slt', OP_OP, 2, 0x00),
    ('sltu', OP_OP, 3, 0x00), ('xor', OP_OP, 4, 0x00), ('srl', OP_OP, 5, 0x00), ('sra', OP_OP, 5, 0x20),
    ('or', OP_OP, 6, 0x00), ('and', OP_OP, 7, 0x00),
    ('mul', OP_OP, 0, 0x01), ('mulh', OP_OP, 1, 0x01), ('mulhsu', OP_OP, 2, 0x01), ('mulhu', OP_OP, 3, 0x01),
    ('div', OP_OP, 4, 0x01), ('divu', OP_OP, 5, 0x01), ('rem', OP_OP, 6, 0x01), ('remu', OP_OP, 7, 0x01),
    ('addw', OP_OP32, 0, 0x00), ('subw', OP_OP32, 0, 0x20), ('sllw', OP_OP32, 1, 0x00),
    ('srlw', OP_OP32, 5, 0x00), ('sraw', OP_OP32, 5, 0x20),
    ('mulw', OP_OP32, 0, 0x01), ('divw', OP_OP32, 4, 0x01), ('divuw', OP_OP32, 5, 0x01),
    ('remw', OP_OP32, 6, 0x01), ('remuw', OP_OP32, 7, 0x01),
]:
    _def(_mn, 'R', ('rd', 'rs1', 'rs2'),
         (lambda opc, f3, f7: lambda rd, rs1, rs2: _r(opc, f3, f7, rd, rs1, rs2))(_opc, _f3, _f7))

# I-type ALU
for _mn, _opc, _f3 in [('addi', OP_IMM, 0), ('slti', OP_IMM, 2), ('sltiu', OP_IMM, 3), ('xori', OP_IMM, 4),
                       ('ori', OP_IMM, 6), ('andi', OP_IMM, 7), ('addiw', OP_IMM32, 0)]:
    _def(_mn, 'I', ('rd', 'rs1', 'imm'),
         (lambda opc, f3: lambda rd, rs1, imm: _i(opc, f3, rd, rs1, imm))(_opc, _f3))

# shifts by immediate: RV64 6-bit shamt; *w forms 5-bit
for _mn, _f3, _f6 in [('slli', 1, 0x00), ('srli', 5, 0x00), ('srai', 5, 0x10)]:
    _def(_mn, 'I-shift', ('rd', 'rs1', 'shamt'),
         (lambda f3, f6: lambda rd, rs1, shamt: _shift(OP_IMM, f3, f6, 6, rd, rs1, shamt))(_f3, _f6))
for _mn, _f3, _f7 in [('slliw', 1, 0x00), ('srliw', 5, 0x00), ('sraiw', 5, 0x20)]:
    _def(_mn, 'I-shiftw', ('rd', 'rs1', 'shamt'),
         (lambda f3, f7: lambda rd, rs1, shamt: _shiftw(OP_IMM32, f3, f7, rd, rs1, shamt))(_f3, _f7))

# loads / stores
LOAD_SIZES = {'lb': 1, 'lh': 2, 'lw': 4, 'ld': 8, 'lbu': 1, 'lhu': 2, 'lwu': 4}
STORE_SIZES = {'sb': 1, 'sh': 2, 'sw': 4, 'sd': 8}
for _mn, _f3 in [('lb', 0), ('lh', 1), ('lw', 2), ('ld', 3), ('lbu', 4), ('lhu', 5), ('lwu', 6)]:
    _def(_mn, 'I-load', ('rd', 'rs1', 'imm'),
         (lambda f3: lambda rd, rs1, imm: _i(OP_LOAD, f3, rd, rs1, imm))(_f3))
for _mn, _f3 in [('sb', 0), ('sh', 1), ('sw', 2), ('sd', 3)]:
    _def(_mn, 'S', ('rs2', 'rs1', 'imm'),
         (lambda f3: lambda rs2, rs1, imm: _s(OP_STORE, f3, rs1, rs2, imm))(_f3))

# branches
for _mn, _f3 in [('beq', 0), ('bne', 1), ('blt', 4), ('bge', 5), ('bltu', 6), ('bgeu', 7)]:
    _def(_mn, 'B', ('rs1', 'rs2', 'imm'),
         (lambda f3: lambda rs1, rs2, imm: _b(OP_BRANCH, f3, rs1, rs2, imm))(_f3))

_def('lui', 'U', ('rd', 'imm'), lambda rd, imm: _u(OP_LUI, rd, imm))
_def('auipc', 'U', ('rd', 'imm'), lambda rd, imm: _u(OP_AUIPC, rd, imm))
_def('jal', 'J', ('rd', 'imm'), lambda rd, imm: _j(OP_JAL, rd, imm))
_def('jalr', 'I', ('rd', 'rs1', 'imm'), lambda rd, rs1, imm: _i(OP_JALR, 0, rd, rs1, imm))


# --------------------------------------------------------------------------
# compressed (16-bit) formats.  Bit positions follow the RVC spec tables.

COMPRESSED: dict[str, tuple[str, tuple[str, ...], object]] = {}


def _cdef(mn, fmt, ops, fn):
    COMPRESSED[mn] = (fmt, ops, fn)


def _nz(name, v):
    if v == 0:
        raise EncodeError(f"{name}=0 is reserved/HINT for this compressed instruction")
    return v


def _rd_nz(name, v):
    _reg(name, v)
    if v == 0:
        raise EncodeError(f"{name}=x0 is reserved/HINT for this compressed instruction")
    return v


# CI: funct3 | imm[5] | rd/rs1 | imm[4:0] | op
def _ci(f3, op, rd, imm6):
    return (f3 << 13) | (_bit(imm6, 5) << 12) | (rd << 7) | (_bit(imm6, 4, 0) << 2) | op


def _c_addi(rd, imm):
    return _ci(0b000, 0b01, _rd_nz('rd', rd), _nz('imm', _simm('imm', imm, 6)))


def _c_addiw(rd, imm):
    return _ci(0b001, 0b01, _rd_nz('rd', rd), _simm('imm', imm, 6))


def _c_li(rd, imm):
    return _ci(0b010, 0b01, _rd_nz('rd', rd), _simm('imm', imm, 6))


def _c_lui(rd, imm):
    # imm is the 6-bit field value nzimm[17:12], signed (-32..31, nonzero),
    # as written by assemblers: c.lui a0, 0xfffe1 == c.lui a0, -31.
    # Accept the assembler's 20-bit form 0xfffe0..0xfffff too.
    if isinstance(imm, int) and 0xFFFE0 <= imm <= 0xFFFFF:
        imm -= 1 << 20
    _reg('rd', rd)
    if rd in (0, 2):
        raise EncodeError("c.lui: rd must not be x0 or x2")
    return _ci(0b011, 0b01, rd, _nz('imm', _simm('imm', imm, 6)))


def _c_addi16sp(imm):
    v = _nz('imm', _simm('imm', imm, 10, 16))
    return ((0b011 << 13) | (_bit(v, 9) << 12) | (2 << 7) | (_bit(v, 4) << 6) | (_bit(v, 6) << 5)
            | (_bit(v, 8, 7) << 3) | (_bit(v, 5) << 2) | 0b01)


def _c_slli(rd, shamt):
    return _ci(0b000, 0b10, _rd_nz('rd', rd), _nz('shamt', _uimm('shamt', shamt, 6)))


def _c_lwsp(rd, imm):
    v = _uimm('imm', imm, 8, 4)
    return ((0b010 << 13) | (_bit(v, 5) << 12) | (_rd_nz('rd', rd) << 7) | (_bit(v, 4, 2) << 4)
            | (_bit(v, 7, 6) << 2) | 0b10)


def _c_ldsp(rd, imm):
    v = _uimm('imm', imm, 9, 8)
    return ((0b011 << 13) | (_bit(v, 5) << 12) | (_rd_nz('rd', rd) << 7) | (_bit(v, 4, 3) << 5)
            | (_bit(v, 8, 6) << 2) | 0b10)


# CSS
def _c_swsp(rs2, imm):
    v = _uimm('imm', imm, 8, 4)
    return (0b110 << 13) | (_bit(v, 5, 2) << 9) | (_bit(v, 7, 6) << 7) | (_reg('rs2', rs2) << 2) | 0b10


def _c_sdsp(rs2, imm):
    v = _uimm('imm', imm, 9, 8)
    return (0b111 << 13) | (_bit(v, 5, 3) << 10) | (_bit(v, 8, 6) << 7) | (_reg('rs2', rs2) << 2) | 0b10


# CIW
def _c_addi4spn(rd, imm):
    v = _nz('imm', _uimm('imm', imm, 10, 4))
    return ((0b000 << 13) | (_bit(v, 5, 4) << 11) | (_bit(v, 9, 6) << 7) | (_bit(v, 2) << 6) | (_bit(v, 3) << 5)
            | (_creg('rd', rd) << 2) | 0b00)


# CL / CS (word: uimm[5:3] @12:10, uimm[2] @6, uimm[6] @5; double: uimm[5:3] @12:10, uimm[7:6] @6:5)
def _cl_w(f3, r_a, rs1, imm, name_a):
    v = _uimm('imm', imm, 7, 4)
    return ((f3 << 13) | (_bit(v, 5, 3) << 10) | (_creg('rs1', rs1) << 7) | (_bit(v, 2) << 6) | (_bit(v, 6) << 5)
            | (_creg(name_a, r_a) << 2) | 0b00)


def _cl_d(f3, r_a, rs1, imm, name_a):
    v = _uimm('imm', imm, 8, 8)
    return ((f3 << 13) | (_bit(v, 5, 3) << 10) | (_creg('rs1', rs1) << 7) | (_bit(v, 7, 6) << 5)
            | (_creg(name_a, r_a) << 2) | 0b00)


# CR
def _cr(f4, rd, rs2):
    return (f4 << 12) | (rd << 7) | (rs2 << 2) | 0b10


def _c_mv(rd, rs2):
    return _cr(0b1000, _rd_nz('rd', rd), _rd_nz('rs2', rs2))


def _c_add(rd, rs2):
    return _cr(0b1001, _rd_nz('rd', rd), _rd_nz('rs2', rs2))


def _c_jr(rs1):
    return _cr(0b1000, _rd_nz('rs1', rs1), 0)


def _c_jalr(rs1):
    return _cr(0b1001, _rd_nz('rs1', rs1), 0)


# CA
def _ca(f6, f2, rd, rs2):
    return (f6 << 10) | (_creg('rd', rd) << 7) | (f2 << 5) | (_creg('rs2', rs2) << 2) | 0b01


# CB (shift/andi): 100 | imm[5] | f2 | rd' | imm[4:0] | 01
def _cb_alu(f2, rd, imm6):
    return (0b100 << 13) | (_bit(imm6, 5) << 12) | (f2 << 10) | (_creg('rd', rd) << 7) | (_bit(imm6, 4, 0) << 2) | 0b01


def _cb_branch(f3, rs1, imm):
    v = _simm('imm', imm, 9, 2)
    return ((f3 << 13) | (_bit(v, 8) << 12) | (_bit(v, 4, 3) << 10) | (_creg('rs1', rs1) << 7)
            | (_bit(v, 7, 6) << 5) | (_bit(v, 2, 1) << 3) | (_bit(v, 5) << 2) | 0b01)


# CJ: 101 | imm[11|4|9:8|10|6|7|3:1|5] | 01
def _c_j(imm):
    v = _simm('imm', imm, 12, 2)
    return ((0b101 << 13) | (_bit(v, 11) << 12) | (_bit(v, 4) << 11) | (_bit(v, 9, 8) << 9) | (_bit(v, 10) << 8)
            | (_bit(v, 6) << 7) | (_bit(v, 7) << 6) | (_bit(v, 3, 1) << 3) | (_bit(v, 5) << 2) | 0b01)


_cdef('c.addi', 'CI', ('rd', 'imm'), _c_addi)
_cdef('c.addiw', 'CI', ('rd', 'imm'), _c_addiw)
_cdef('c.li', 'CI', ('rd', 'imm'), _c_li)
_cdef('c.lui', 'CI', ('rd', 'imm'), _c_lui)
_cdef('c.addi16sp', 'CI', ('imm',), _c_addi16sp)
_cdef('c.slli', 'CI', ('rd', 'shamt'), _c_slli)
_cdef('c.lwsp', 'CI', ('rd', 'imm'), _c_lwsp)
_cdef('c.ldsp', 'CI', ('rd', 'imm'), _c_ldsp)
_cdef('c.swsp', 'CSS', ('rs2', 'imm'), _c_swsp)
_cdef('c.sdsp', 'CSS', ('rs2', 'imm'), _c_sdsp)
_cdef('c.addi4spn', 'CIW', ('rd', 'imm'), _c_addi4spn)
_cdef('c.lw', 'CL', ('rd', 'rs1', 'imm'), lambda rd, rs1, imm: _cl_w(0b010, rd, rs1, imm, 'rd'))
_cdef('c.ld', 'CL', ('rd', 'rs1', 'imm'), lambda rd, rs1, imm: _cl_d(0b011, rd, rs1, imm, 'rd'))
_cdef('c.sw', 'CS', ('rs2', 'rs1', 'imm'), lambda rs2, rs1, imm: _cl_w(0b110, rs2, rs1, imm, 'rs2'))
_cdef('c.sd', 'CS', ('rs2', 'rs1', 'imm'), lambda rs2, rs1, imm: _cl_d(0b111, rs2, rs1, imm, 'rs2'))
_cdef('c.mv', 'CR', ('rd', 'rs2'), _c_mv)
_cdef('c.add', 'CR', ('rd', 'rs2'), _c_add)
_cdef('c.jr', 'CR', ('rs1',), _c_jr)
_cdef('c.jalr', 'CR', ('rs1',), _c_jalr)
for _mn, _f6, _f2 in [('c.sub', 0b100011, 0b00), ('c.xor', 0b100011, 0b01), ('c.or', 0b100011, 0b10),
                      ('c.and', 0b100011, 0b11), ('c.subw', 0b100111, 0b00), ('c.addw', 0b100111, 0b01)]:
    _cdef(_mn, 'CA', ('rd', 'rs2'), (lambda f6, f2: lambda rd, rs2: _ca(f6, f2, rd, rs2))(_f6, _f2))
_cdef('c.srli', 'CB', ('rd', 'shamt'), lambda rd, shamt: _cb_alu(0b00, rd, _nz('shamt', _uimm('shamt', shamt, 6))))
_cdef('c.srai', 'CB', ('rd', 'shamt'), lambda rd, shamt: _cb_alu(0b01, rd, _nz('shamt', _uimm('shamt', shamt, 6))))
_cdef('c.andi', 'CB', ('rd', 'imm'), lambda rd, imm: _cb_alu(0b10, rd, _simm('imm', imm, 6)))
_cdef('c.beqz', 'CB', ('rs1', 'imm'), lambda rs1, imm: _cb_branch(0b110, rs1, imm))
_cdef('c.bnez', 'CB', ('rs1', 'imm'), lambda rs1, imm: _cb_branch(0b111, rs1, imm))
_cdef('c.j', 'CJ', ('imm',), _c_j)
_cdef('c.nop', 'CI', (), lambda: 0x0001)
_cdef('c.ebreak', 'CR', (), lambda: 0x9002)

_def('ecall', 'SYS', (), lambda: 0x00000073)
_def('ebreak', 'SYS', (), lambda: 0x00100073)

TABLE = {**BASE, **COMPRESSED}
MNEMONICS = tuple(TABLE)
OPERANDS = {mn: ops for mn, (_f, ops, _fn) in TABLE.items()}
FORMATS = {mn: fmt for mn, (fmt, _o, _fn) in TABLE.items()}


def is_compressed(mn: str) -> bool:
    return mn in COMPRESSED


def enc(mn: str, **kw) -> int:
    """Encode one instruction; returns the 32-bit (or 16-bit for c.*) value."""
    try:
        _fmt, ops, fn = TABLE[mn]
    except KeyError:
        raise EncodeError(f"unknown mnemonic {mn!r}") from None
    if set(kw) != set(ops):
        raise EncodeError(f"{mn}: expected operands {ops}, got {tuple(kw)}")
    return fn(**kw)


def length(mn: str) -> int:
    return 2 if mn in COMPRESSED else 4


def enc_bytes(mn: str, **kw) -> bytes:
    return enc(mn, **kw).to_bytes(length(mn), 'little')


def assemble(seq) -> bytes:
    """seq: iterable of (mnemonic, {operands}) -> concatenated machine code."""
    return b''.join(enc_bytes(mn, **ops) for mn, ops in seq)


# --------------------------------------------------------------------------
# Valid operand domains (every value in a domain is encodable), for
# property tests / random program generators.  Each entry: op -> sequence.

_R = range(32)
_RNZ = range(1, 32)
_RC = range(8, 16)
_SIMM6 = range(-32, 32)
_SIMM6_NZ = tuple(v for v in _SIMM6 if v)
_SIMM12 = range(-2048, 2048)


def _domains():
    d = {}
    for mn, (fmt, ops, _fn) in BASE.items():
        if fmt == 'R':
            d[mn] = {'rd': _R, 'rs1': _R, 'rs2': _R}
        elif fmt in ('I', 'I-load'):
            d[mn] = {'rd': _R, 'rs1': _R, 'imm': _SIMM12}
        elif fmt == 'I-shift':
            d[mn] = {'rd': _R, 'rs1': _R, 'shamt': range(64)}
        elif fmt == 'I-shiftw':
            d[mn] = {'rd': _R, 'rs1': _R, 'shamt': range(32)}
        elif fmt == 'S':
            d[mn] = {'rs2': _R, 'rs1': _R, 'imm': _SIMM12}
        elif fmt == 'B':
            d[mn] = {'rs1': _R, 'rs2': _R, 'imm': range(-4096, 4096, 2)}
        elif fmt == 'U':
            d[mn] = {'rd': _R, 'imm': range(1 << 20)}
        elif fmt == 'J':
            d[mn] = {'rd': _R, 'imm': range(-(1 << 20), 1 << 20, 2)}
        elif fmt == 'SYS':
            d[mn] = {}
        else:  # pragma: no cover
            raise AssertionError(fmt)
    d.update({
        'c.addi': {'rd': _RNZ, 'imm': _SIMM6_NZ},
        'c.addiw': {'rd': _RNZ, 'imm': _SIMM6},
        'c.li': {'rd': _RNZ, 'imm': _SIMM6},
        'c.lui': {'rd': tuple(r for r in _RNZ if r != 2), 'imm': _SIMM6_NZ},
        'c.addi16sp': {'imm': tuple(v for v in range(-512, 512, 16) if v)},
        'c.slli': {'rd': _RNZ, 'shamt': range(1, 64)},
        'c.lwsp': {'rd': _RNZ, 'imm': range(0, 256, 4)},
        'c.ldsp': {'rd': _RNZ, 'imm': range(0, 512, 8)},
        'c.swsp': {'rs2': _R, 'imm': range(0, 256, 4)},
        'c.sdsp': {'rs2': _R, 'imm': range(0, 512, 8)},
        'c.addi4spn': {'rd': _RC, 'imm': range(4, 1024, 4)},
        'c.lw': {'rd': _RC, 'rs1': _RC, 'imm': range(0, 128, 4)},
        'c.ld': {'rd': _RC, 'rs1': _RC, 'imm': range(0, 256, 8)},
        'c.sw': {'rs2': _RC, 'rs1': _RC, 'imm': range(0, 128, 4)},
        'c.sd': {'rs2': _RC, 'rs1': _RC, 'imm': range(0, 256, 8)},
        'c.mv': {'rd': _RNZ, 'rs2': _RNZ},
        'c.add': {'rd': _RNZ, 'rs2': _RNZ},
        'c.jr': {'rs1': _RNZ},
        'c.jalr': {'rs1': _RNZ},
        'c.srli': {'rd': _RC, 'shamt': range(1, 64)},
        'c.srai': {'rd': _RC, 'shamt': range(1, 64)},
        'c.andi': {'rd': _RC, 'imm': _SIMM6},
        'c.beqz': {'rs1': _RC, 'imm': range(-256, 256, 2)},
        'c.bnez': {'rs1': _RC, 'imm': range(-256, 256, 2)},
        'c.j': {'imm': range(-2048, 2048, 2)},
        'c.nop': {},
        'c.ebreak': {},
    })
    for mn in ('c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw'):
        d[mn] = {'rd': _RC, 'rs2': _RC}
    assert set(d) == set(TABLE), set(TABLE) ^ set(d)
    for mn, dom in d.items():
        assert tuple(dom) == OPERANDS[mn], mn
    return d


DOMAINS = _domains()


# --------------------------------------------------------------------------
# HINT encodings: legal instructions that must execute as no-ops (the
# checked encoders above refuse them because they are usually a mistake).

HINTS = {
    'c.nop 5 (c.addi x0, 5)': _ci(0b000, 0b01, 0, 5),
    'c.addi x5, 0': _ci(0b000, 0b01, 5, 0),
    'c.li x0, 5': _ci(0b010, 0b01, 0, 5),
    'c.lui x0, 1': _ci(0b011, 0b01, 0, 1),
    'c.slli x0, 3': _ci(0b000, 0b10, 0, 3),
    'c.slli x5, 0': _ci(0b000, 0b10, 5, 0),
    'c.srli x9, 0': _cb_alu(0b00, 9, 0),
    'c.srai x9, 0': _cb_alu(0b01, 9, 0),
    'c.mv x0, x5': _cr(0b1000, 0, 5),
    'c.add x0, x5': _cr(0b1001, 0, 5),
    'addi x0, x5, 7': _i(OP_IMM, 0, 0, 5, 7),
    'lui x0, 5': _u(OP_LUI, 0, 5),
    'slli x0, x5, 3': _shift(OP_IMM, 1, 0, 6, 0, 5, 3),
    'add x0, x5, x6': _r(OP_OP, 0, 0, 0, 5, 6),
    'fence': 0x0FF0000F,
}


def hint_bytes(name: str) -> bytes:
    w = HINTS[name]
    return w.to_bytes(2 if w & 3 != 3 else 4, 'little')


# --------------------------------------------------------------------------
# helpers for building test programs (shared by the test files)

M64 = (1 << 64) - 1


def s64(v: int) -> int:
    """v as a signed 64-bit value (what an int64 register array holds)."""
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def u64(v: int) -> int:
    return v & M64


def s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def w32(v: int) -> bytes:
    """A 32-bit instruction word, little-endian."""
    return (v & 0xFFFFFFFF).to_bytes(4, "little")


def I(mn, **kw) -> bytes:  # noqa: E743 (short on purpose: programs are lists of I(...))
    return enc_bytes(mn, **kw)


CSR_F3 = {"csrrw": 1, "csrrs": 2, "csrrc": 3, "csrrwi": 5, "csrrsi": 6, "csrrci": 7}


def csr(mn, rd, rs1, n) -> bytes:
    """Zicsr instruction `mn` on CSR n (rs1 is the 5-bit immediate for the *i forms)."""
    return w32((n << 20) | (rs1 << 15) | (CSR_F3[mn] << 12) | (rd << 7) | 0x73)


def csrr(rd, n) -> bytes:
    return csr("csrrs", rd, 0, n)


def csrw(n, rs1) -> bytes:
    return csr("csrrw", 0, rs1, n)


def csrrsi(n, uimm) -> bytes:
    return csr("csrrsi", 0, uimm, n)


NOP = enc_bytes("addi", rd=0, rs1=0, imm=0)
J_SELF = enc_bytes("jal", rd=0, imm=0)
ECALL, EBREAK = w32(0x00000073), w32(0x00100073)
MRET, SRET, WFI = w32(0x30200073), w32(0x10200073), w32(0x10500073)
FENCE_I = w32(0x0000100F)
