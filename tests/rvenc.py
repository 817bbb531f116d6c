"""Table-driven RISC-V (RV64GC subset) instruction encoder for tests.

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

The instructions are the rows of emu/isa.py's tables: every row of the hot
groups, the system instructions without operands and those with register
operands only (sfence.vma, sinval.vma, cbo.*) (ENCODINGS), and every
compressed form (COMPRESSED), plus c.nop.  An instruction's fixed bits (its
opcode and funct fields) are its row's match, so the tests and the decoder
cannot disagree about them; what this module writes itself is where each
operand goes, per format.  The independent oracle is capstone:
tests/test_rvenc.py disassembles what this module encodes, and
tests/test_isa.py checks the rows' masks and matches.

The tables ``BASE`` and ``COMPRESSED`` are public so tests can iterate over
every supported mnemonic (see ``MNEMONICS``, ``OPERANDS`` and ``DOMAINS``).
"""

from __future__ import annotations

import functools

from emu import isa


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
# 32-bit formats: m is the row's match (opcode, funct3, funct7 ...), the operands go around it

def _r(m, rd, rs1, rs2):
    return m | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15) | (_reg('rd', rd) << 7)


def _i(m, rd, rs1, imm):
    return m | (_simm('imm', imm, 12) << 20) | (_reg('rs1', rs1) << 15) | (_reg('rd', rd) << 7)


def _s(m, rs2, rs1, imm):
    v = _simm('imm', imm, 12)
    return m | (_bit(v, 11, 5) << 25) | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15) | (_bit(v, 4, 0) << 7)


def _b(m, rs1, rs2, imm):
    v = _simm('imm', imm, 13, 2)
    return (m | (_bit(v, 12) << 31) | (_bit(v, 10, 5) << 25) | (_reg('rs2', rs2) << 20) | (_reg('rs1', rs1) << 15)
            | (_bit(v, 4, 1) << 8) | (_bit(v, 11) << 7))


def _u(m, rd, imm):
    # imm is the 20-bit field value (as printed by assemblers: lui a0, 0x12345).
    # Accept both 0..0xfffff and negative -0x80000..-1 for convenience.
    if isinstance(imm, int) and -(1 << 19) <= imm < 0:
        imm &= 0xFFFFF
    return m | (_uimm('imm', imm, 20) << 12) | (_reg('rd', rd) << 7)


def _j(m, rd, imm):
    v = _simm('imm', imm, 21, 2)
    return (m | (_bit(v, 20) << 31) | (_bit(v, 10, 1) << 21) | (_bit(v, 11) << 20) | (_bit(v, 19, 12) << 12)
            | (_reg('rd', rd) << 7))


def _shift(m, shbits, rd, rs1, shamt):
    return m | (_uimm('shamt', shamt, shbits) << 20) | (_reg('rs1', rs1) << 15) | (_reg('rd', rd) << 7)


def _rm_field(v):
    if not isinstance(v, int) or not 0 <= v <= 7:
        raise EncodeError(f"rm={v!r}: rounding mode must be 0..7")
    return v


def _r_rm(m, rd, rs1, rs2=0, rm=7):
    """F/D with a rounding-mode field (default 7, dyn: frm), and rs2 where the row has it free."""
    return _r(m, rd, rs1, rs2) | (_rm_field(rm) << 12)


def _r4(m, rd, rs1, rs2, rs3, rm=7):
    return _r_rm(m, rd, rs1, rs2, rm) | (_reg('rs3', rs3) << 27)


_R = range(32)
_RNZ = range(1, 32)
_RM = (0, 1, 2, 3, 4, 7)          # rne rtz rdn rup rmm dyn (5 and 6 are reserved: illegal instruction)
_RC = range(8, 16)
_SIMM6 = range(-32, 32)
_SIMM6_NZ = tuple(v for v in _SIMM6 if v)
_SIMM12 = range(-2048, 2048)

# emu/isa.py's format -> (this module's name for it, operands, encoder(match, **operands), the valid
# operand values: every value in a domain is encodable, for property tests and program generators)
_FORMATS32 = {
    isa.F_R: ('R', ('rd', 'rs1', 'rs2'), _r, {'rd': _R, 'rs1': _R, 'rs2': _R}),
    isa.F_I: ('I', ('rd', 'rs1', 'imm'), _i, {'rd': _R, 'rs1': _R, 'imm': _SIMM12}),
    isa.F_SH6: ('I-shift', ('rd', 'rs1', 'shamt'), functools.partial(_shift, shbits=6),
                {'rd': _R, 'rs1': _R, 'shamt': range(64)}),
    isa.F_SH5: ('I-shiftw', ('rd', 'rs1', 'shamt'), functools.partial(_shift, shbits=5),
                {'rd': _R, 'rs1': _R, 'shamt': range(32)}),
    isa.F_S: ('S', ('rs2', 'rs1', 'imm'), _s, {'rs2': _R, 'rs1': _R, 'imm': _SIMM12}),
    isa.F_B: ('B', ('rs1', 'rs2', 'imm'), _b, {'rs1': _R, 'rs2': _R, 'imm': range(-4096, 4096, 2)}),
    isa.F_U: ('U', ('rd', 'imm'), _u, {'rd': _R, 'imm': range(1 << 20)}),
    isa.F_J: ('J', ('rd', 'imm'), _j, {'rd': _R, 'imm': range(-(1 << 20), 1 << 20, 2)}),
    isa.F_NONE: ('SYS', (), lambda m: m, {}),
    isa.F_RM: ('R-rm', ('rd', 'rs1', 'rs2', 'rm'), _r_rm, {'rd': _R, 'rs1': _R, 'rs2': _R, 'rm': _RM}),
    isa.F_R4: ('R4', ('rd', 'rs1', 'rs2', 'rs3', 'rm'), _r4,
               {'rd': _R, 'rs1': _R, 'rs2': _R, 'rs3': _R, 'rm': _RM}),
}


_REG_FIELDS = {'rd': 7, 'rs1': 15, 'rs2': 20}      # where each register field starts (5 bits)


def _fixed(row, field):
    """Whether the row's mask fixes this register field (it is part of the opcode: clz's rs2, cbo's rd)."""
    return (row.mask >> _REG_FIELDS[field]) & 31 == 31


def _encodes32(row):
    """Rows this module encodes: the hot ones, the system instructions without operands, and the
    cold F_R rows whose only operands are register fields (sfence.vma, sinval.vma, cbo.*); cold
    rows otherwise have fields no format here writes: CSR numbers, aq/rl, fence sets."""
    if not row.cold or (row.fmt == isa.F_NONE and row.mask == 0xFFFFFFFF):
        return True
    free = ~row.mask & 0xFFFFFFFF
    for field, lo in _REG_FIELDS.items():
        free &= ~(31 << lo)
    return row.fmt == isa.F_R and free == 0


# mnemonic -> (format, operand names, encoder(**kw))
BASE: dict[str, tuple[str, tuple[str, ...], object]] = {}
_ROWS: dict[str, tuple[int, int]] = {}          # mnemonic -> (mask, match) its words must keep
_DOMAINS: dict[str, dict] = {}

for _row in filter(_encodes32, isa.ENCODINGS):
    _fmt, _ops, _fn, _dom = _FORMATS32[_row.fmt]
    if _row.group == isa.Group.LOAD:
        _fmt = 'I-load'
    for _field in ('rd', 'rs2'):
        if _field in _ops and _fixed(_row, _field):
            # part of the opcode (fsqrt's, fcvt's, clz's rs2; cbo's and sfence.vma's rd): from the match
            _ops = tuple(o for o in _ops if o != _field)
            _dom = {k: v for k, v in _dom.items() if k != _field}
            _fn = (lambda fn, f, v: lambda m, **kw: fn(m, **{f: v}, **kw))(
                _fn, _field, (_row.match >> _REG_FIELDS[_field]) & 31)
    BASE[_row.name] = (_fmt, _ops, functools.partial(_fn, _row.match))
    _ROWS[_row.name] = (_row.mask, _row.match)
    _DOMAINS[_row.name] = _dom

# the bytes each load and store accesses
LOAD_SIZES = {r.name: r.width for r in isa.ENCODINGS if r.group == isa.Group.LOAD}
STORE_SIZES = {r.name: r.width for r in isa.ENCODINGS if r.group == isa.Group.STORE}


# --------------------------------------------------------------------------
# compressed (16-bit) formats.  Bit positions follow the RVC spec tables; m is the row's match
# (quadrant, funct3, funct2/6 ...).

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
def _ci(m, rd, imm6):
    return m | (_bit(imm6, 5) << 12) | (rd << 7) | (_bit(imm6, 4, 0) << 2)


def _c_addi(m, rd, imm):
    return _ci(m, _rd_nz('rd', rd), _nz('imm', _simm('imm', imm, 6)))


def _c_li(m, rd, imm):            # also c.addiw (rd = 0 reserved there, a HINT for c.li)
    return _ci(m, _rd_nz('rd', rd), _simm('imm', imm, 6))


def _c_lui(m, rd, imm):
    # imm is the 6-bit field value nzimm[17:12], signed (-32..31, nonzero),
    # as written by assemblers: c.lui a0, 0xfffe1 == c.lui a0, -31.
    # Accept the assembler's 20-bit form 0xfffe0..0xfffff too.
    if isinstance(imm, int) and 0xFFFE0 <= imm <= 0xFFFFF:
        imm -= 1 << 20
    _reg('rd', rd)
    if rd in (0, 2):
        raise EncodeError("c.lui: rd must not be x0 or x2")
    return _ci(m, rd, _nz('imm', _simm('imm', imm, 6)))


def _c_addi16sp(m, imm):
    v = _nz('imm', _simm('imm', imm, 10, 16))
    return m | (_bit(v, 9) << 12) | (_bit(v, 4) << 6) | (_bit(v, 6) << 5) | (_bit(v, 8, 7) << 3) | (_bit(v, 5) << 2)


def _c_slli(m, rd, shamt):
    return _ci(m, _rd_nz('rd', rd), _nz('shamt', _uimm('shamt', shamt, 6)))


def _c_lwsp(m, rd, imm):
    v = _uimm('imm', imm, 8, 4)
    return m | (_bit(v, 5) << 12) | (_rd_nz('rd', rd) << 7) | (_bit(v, 4, 2) << 4) | (_bit(v, 7, 6) << 2)


def _c_ldsp(m, rd, imm):
    return _c_fldsp(m, _rd_nz('rd', rd), imm)


def _c_fldsp(m, rd, imm):         # c.fldsp: f0 is a register like any other
    v = _uimm('imm', imm, 9, 8)
    return m | (_bit(v, 5) << 12) | (_reg('rd', rd) << 7) | (_bit(v, 4, 3) << 5) | (_bit(v, 8, 6) << 2)


# CSS
def _c_swsp(m, rs2, imm):
    v = _uimm('imm', imm, 8, 4)
    return m | (_bit(v, 5, 2) << 9) | (_bit(v, 7, 6) << 7) | (_reg('rs2', rs2) << 2)


def _c_sdsp(m, rs2, imm):
    v = _uimm('imm', imm, 9, 8)
    return m | (_bit(v, 5, 3) << 10) | (_bit(v, 8, 6) << 7) | (_reg('rs2', rs2) << 2)


# CIW
def _c_addi4spn(m, rd, imm):
    v = _nz('imm', _uimm('imm', imm, 10, 4))
    return m | (_bit(v, 5, 4) << 11) | (_bit(v, 9, 6) << 7) | (_bit(v, 2) << 6) | (_bit(v, 3) << 5) | (_creg('rd', rd) << 2)


# CL / CS (word: uimm[5:3] @12:10, uimm[2] @6, uimm[6] @5; double: uimm[5:3] @12:10, uimm[7:6] @6:5)
def _cl_w(m, r_a, rs1, imm, name_a):
    v = _uimm('imm', imm, 7, 4)
    return (m | (_bit(v, 5, 3) << 10) | (_creg('rs1', rs1) << 7) | (_bit(v, 2) << 6) | (_bit(v, 6) << 5)
            | (_creg(name_a, r_a) << 2))


def _cl_d(m, r_a, rs1, imm, name_a):
    v = _uimm('imm', imm, 8, 8)
    return m | (_bit(v, 5, 3) << 10) | (_creg('rs1', rs1) << 7) | (_bit(v, 7, 6) << 5) | (_creg(name_a, r_a) << 2)


# CR
def _cr(m, rd, rs2):
    return m | (rd << 7) | (rs2 << 2)


def _c_mv(m, rd, rs2):            # also c.add
    return _cr(m, _rd_nz('rd', rd), _rd_nz('rs2', rs2))


def _c_jr(m, rs1):                # also c.jalr
    return _cr(m, _rd_nz('rs1', rs1), 0)


# CA
def _ca(m, rd, rs2):
    return m | (_creg('rd', rd) << 7) | (_creg('rs2', rs2) << 2)


# CB (shift/andi): 100 | imm[5] | f2 | rd' | imm[4:0] | 01
def _cb_alu(m, rd, imm6):
    return m | (_bit(imm6, 5) << 12) | (_creg('rd', rd) << 7) | (_bit(imm6, 4, 0) << 2)


def _cb_branch(m, rs1, imm):
    v = _simm('imm', imm, 9, 2)
    return (m | (_bit(v, 8) << 12) | (_bit(v, 4, 3) << 10) | (_creg('rs1', rs1) << 7)
            | (_bit(v, 7, 6) << 5) | (_bit(v, 2, 1) << 3) | (_bit(v, 5) << 2))


# CJ: 101 | imm[11|4|9:8|10|6|7|3:1|5] | 01
def _c_j(m, imm):
    v = _simm('imm', imm, 12, 2)
    return (m | (_bit(v, 11) << 12) | (_bit(v, 4) << 11) | (_bit(v, 9, 8) << 9) | (_bit(v, 10) << 8)
            | (_bit(v, 6) << 7) | (_bit(v, 7) << 6) | (_bit(v, 3, 1) << 3) | (_bit(v, 5) << 2))


# emu/isa.py's compressed format -> (the spec's format name, operands, encoder(match, **operands), domain)
_FORMATS16 = {
    isa.C_ADDI4SPN: ('CIW', ('rd', 'imm'), _c_addi4spn, {'rd': _RC, 'imm': range(4, 1024, 4)}),
    isa.C_LW: ('CL', ('rd', 'rs1', 'imm'), lambda m, rd, rs1, imm: _cl_w(m, rd, rs1, imm, 'rd'),
               {'rd': _RC, 'rs1': _RC, 'imm': range(0, 128, 4)}),
    isa.C_LD: ('CL', ('rd', 'rs1', 'imm'), lambda m, rd, rs1, imm: _cl_d(m, rd, rs1, imm, 'rd'),
               {'rd': _RC, 'rs1': _RC, 'imm': range(0, 256, 8)}),
    isa.C_SW: ('CS', ('rs2', 'rs1', 'imm'), lambda m, rs2, rs1, imm: _cl_w(m, rs2, rs1, imm, 'rs2'),
               {'rs2': _RC, 'rs1': _RC, 'imm': range(0, 128, 4)}),
    isa.C_SD: ('CS', ('rs2', 'rs1', 'imm'), lambda m, rs2, rs1, imm: _cl_d(m, rs2, rs1, imm, 'rs2'),
               {'rs2': _RC, 'rs1': _RC, 'imm': range(0, 256, 8)}),
    isa.C_ADDI: ('CI', ('rd', 'imm'), _c_addi, {'rd': _RNZ, 'imm': _SIMM6_NZ}),
    isa.C_ADDIW: ('CI', ('rd', 'imm'), _c_li, {'rd': _RNZ, 'imm': _SIMM6}),
    isa.C_LI: ('CI', ('rd', 'imm'), _c_li, {'rd': _RNZ, 'imm': _SIMM6}),
    isa.C_ADDI16SP: ('CI', ('imm',), _c_addi16sp, {'imm': tuple(v for v in range(-512, 512, 16) if v)}),
    isa.C_LUI: ('CI', ('rd', 'imm'), _c_lui, {'rd': tuple(r for r in _RNZ if r != 2), 'imm': _SIMM6_NZ}),
    isa.C_SHIFT: ('CB', ('rd', 'shamt'),
                  lambda m, rd, shamt: _cb_alu(m, rd, _nz('shamt', _uimm('shamt', shamt, 6))),
                  {'rd': _RC, 'shamt': range(1, 64)}),
    isa.C_ANDI: ('CB', ('rd', 'imm'), lambda m, rd, imm: _cb_alu(m, rd, _simm('imm', imm, 6)),
                 {'rd': _RC, 'imm': _SIMM6}),
    isa.C_ALU: ('CA', ('rd', 'rs2'), _ca, {'rd': _RC, 'rs2': _RC}),
    isa.C_J: ('CJ', ('imm',), _c_j, {'imm': range(-2048, 2048, 2)}),
    isa.C_BZ: ('CB', ('rs1', 'imm'), _cb_branch, {'rs1': _RC, 'imm': range(-256, 256, 2)}),
    isa.C_SLLI: ('CI', ('rd', 'shamt'), _c_slli, {'rd': _RNZ, 'shamt': range(1, 64)}),
    isa.C_LWSP: ('CI', ('rd', 'imm'), _c_lwsp, {'rd': _RNZ, 'imm': range(0, 256, 4)}),
    isa.C_LDSP: ('CI', ('rd', 'imm'), _c_ldsp, {'rd': _RNZ, 'imm': range(0, 512, 8)}),
    isa.C_FLDSP: ('CI', ('rd', 'imm'), _c_fldsp, {'rd': _R, 'imm': range(0, 512, 8)}),
    isa.C_SWSP: ('CSS', ('rs2', 'imm'), _c_swsp, {'rs2': _R, 'imm': range(0, 256, 4)}),
    isa.C_SDSP: ('CSS', ('rs2', 'imm'), _c_sdsp, {'rs2': _R, 'imm': range(0, 512, 8)}),
    isa.C_JR: ('CR', ('rs1',), _c_jr, {'rs1': _RNZ}),
    isa.C_JALR: ('CR', ('rs1',), _c_jr, {'rs1': _RNZ}),
    isa.C_MV: ('CR', ('rd', 'rs2'), _c_mv, {'rd': _RNZ, 'rs2': _RNZ}),
    isa.C_ADD: ('CR', ('rd', 'rs2'), _c_mv, {'rd': _RNZ, 'rs2': _RNZ}),
    isa.C_EBREAK: ('CR', (), lambda m: m, {}),
}

COMPRESSED: dict[str, tuple[str, tuple[str, ...], object]] = {}
_CMATCH = {r.name: r.match for r in isa.COMPRESSED}

for _row in isa.COMPRESSED:
    _fmt, _ops, _fn, _dom = _FORMATS16[_row.fmt]
    COMPRESSED[_row.name] = (_fmt, _ops, functools.partial(_fn, _row.match))
    _ROWS[_row.name] = (_row.mask, _row.match)
    _DOMAINS[_row.name] = _dom
COMPRESSED['c.nop'] = ('CI', (), lambda: _ci(_CMATCH['c.addi'], 0, 0))      # c.addi x0, 0
_ROWS['c.nop'] = (0xFFFF, 0x0001)
_DOMAINS['c.nop'] = {}

TABLE = {**BASE, **COMPRESSED}
MNEMONICS = tuple(TABLE)
OPERANDS = {mn: ops for mn, (_f, ops, _fn) in TABLE.items()}
FORMATS = {mn: fmt for mn, (fmt, _o, _fn) in TABLE.items()}
DOMAINS = _DOMAINS     # op -> {operand: the values it may take}


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
    w = fn(**kw)
    mask, match = _ROWS[mn]
    if w & mask != match:                  # an operand spilled into the fixed bits
        raise EncodeError(f"{mn} {kw}: 0x{w:x} is not a {mn} (mask 0x{mask:x}, match 0x{match:x})")
    return w


def length(mn: str) -> int:
    return 2 if mn in COMPRESSED else 4


def enc_bytes(mn: str, **kw) -> bytes:
    return enc(mn, **kw).to_bytes(length(mn), 'little')


def assemble(seq) -> bytes:
    """seq: iterable of (mnemonic, {operands}) -> concatenated machine code."""
    return b''.join(enc_bytes(mn, **ops) for mn, ops in seq)


def _check_domains():
    assert set(DOMAINS) == set(TABLE), set(TABLE) ^ set(DOMAINS)
    for mn, dom in DOMAINS.items():
        assert tuple(dom) == OPERANDS[mn], mn


_check_domains()


# --------------------------------------------------------------------------
# HINT encodings: legal instructions that must execute as no-ops (the
# checked encoders above refuse them because they are usually a mistake).

_M = {r.name: r.match for r in isa.ENCODINGS}

HINTS = {
    'c.nop 5 (c.addi x0, 5)': _ci(_CMATCH['c.addi'], 0, 5),
    'c.addi x5, 0': _ci(_CMATCH['c.addi'], 5, 0),
    'c.li x0, 5': _ci(_CMATCH['c.li'], 0, 5),
    'c.lui x0, 1': _ci(_CMATCH['c.lui'], 0, 1),
    'c.slli x0, 3': _ci(_CMATCH['c.slli'], 0, 3),
    'c.slli x5, 0': _ci(_CMATCH['c.slli'], 5, 0),
    'c.srli x9, 0': _cb_alu(_CMATCH['c.srli'], 9, 0),
    'c.srai x9, 0': _cb_alu(_CMATCH['c.srai'], 9, 0),
    'c.mv x0, x5': _cr(_CMATCH['c.mv'], 0, 5),
    'c.add x0, x5': _cr(_CMATCH['c.add'], 0, 5),
    'addi x0, x5, 7': _i(_M['addi'], 0, 5, 7),
    'lui x0, 5': _u(_M['lui'], 0, 5),
    'slli x0, x5, 3': _shift(_M['slli'], 6, 0, 5, 3),
    'add x0, x5, x6': _r(_M['add'], 0, 5, 6),
    'fence': _M['fence'] | (0xFF << 20),               # fence iorw, iorw
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


def csr(mn, rd, rs1, n) -> bytes:
    """Zicsr instruction `mn` on CSR n (rs1 is the 5-bit immediate for the *i forms)."""
    if isa.ROW[mn].group != isa.Group.ZICSR:
        raise EncodeError(f"{mn} is not a Zicsr instruction")
    return w32(_M[mn] | (n << 20) | (_reg('rs1', rs1) << 15) | (_reg('rd', rd) << 7))


def csrr(rd, n) -> bytes:
    return csr("csrrs", rd, 0, n)


def csrw(n, rs1) -> bytes:
    return csr("csrrw", 0, rs1, n)


def csrrsi(n, uimm) -> bytes:
    return csr("csrrsi", 0, uimm, n)


NOP = enc_bytes("addi", rd=0, rs1=0, imm=0)
J_SELF = enc_bytes("jal", rd=0, imm=0)
ECALL, EBREAK, MRET, SRET, WFI = (enc_bytes(mn) for mn in ("ecall", "ebreak", "mret", "sret", "wfi"))
FENCE_I = w32(_M["fence.i"])
