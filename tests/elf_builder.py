"""Build tiny ELF64 files (and tiny RV64 programs) in-process, without a cross compiler.

Not a test module (no ``test_`` prefix).  Tests import it as ``from tests import elf_builder as eb``.

API
    build_elf(segments, entry, symbols=None, **header_overrides) -> bytes
    Segment(vaddr, data, memsz=None, paddr=None, flags=PF_R|PF_X, name=None)
    rv64 instruction encoders: addi, slli, ori, ld, sd, bne, jal, auipc, lui
    htif_program(exit_code, text=b"") -> bytes   (code for RAM_BASE, tohost at RAM_BASE+0x1000)
    htif_elf(exit_code, text=b"", loop_forever=False) -> bytes
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from emu.spec import RAM_BASE

EM_RISCV = 243
EM_X86_64 = 62
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
PT_LOAD, PT_INTERP, PT_NOTE = 1, 3, 4
PF_X, PF_W, PF_R = 1, 2, 4
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 0, 1, 2, 3, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
SHN_ABS = 0xFFF1

PAGE = 0x1000                      # p_align of the segments it writes

# Byte offsets in the ELF64 header, for patching.
OFF_EI_CLASS = 4
OFF_EI_DATA = 5
OFF_E_TYPE = 16
OFF_E_MACHINE = 18
OFF_E_ENTRY = 24
OFF_E_PHOFF = 32
OFF_E_SHOFF = 40


@dataclass
class Segment:
    vaddr: int
    data: bytes
    memsz: int | None = None
    paddr: int | None = None        # None: same as vaddr
    flags: int = PF_R | PF_X
    name: str | None = None         # section name covering it (.text, .tohost, ...)
    p_type: int = PT_LOAD


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def build_elf(segments, entry: int, symbols=None, *, e_machine: int = EM_RISCV,
              e_type: int = ET_EXEC, ei_class: int = 2, with_sections: bool = True) -> bytes:
    """A minimal little-endian ELF64 with the given segments and a .symtab.

    ``symbols``: {name: value} or {name: (value, stt_type[, stb_bind])}; default type OBJECT, bind GLOBAL.
    ``ei_class`` only patches the identification byte (the layout stays ELF64).
    """
    segs = [s if isinstance(s, Segment) else Segment(*s) for s in segments]
    symbols = symbols or {}
    nph = len(segs)
    off = 64 + 56 * nph

    # Segment data, with p_offset congruent to p_vaddr modulo the page size.
    placed = []
    for s in segs:
        off = _align(off, 16)
        if s.p_type == PT_LOAD:
            want = s.vaddr % PAGE
            if off % PAGE != want:
                off = off - off % PAGE + want + (PAGE if off % PAGE > want else 0)
        placed.append(off)
        off += len(s.data)

    # Section string table / symbol string table.
    sec_names = [s.name or f".seg{i}" for i, s in enumerate(segs)]
    shstr = b"\0"
    name_off = {}
    for nm in sec_names + [".symtab", ".strtab", ".shstrtab"]:
        name_off[nm] = len(shstr)
        shstr += nm.encode() + b"\0"

    strtab = b"\0"
    syms = [struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)]
    entries = []
    for nm, v in symbols.items():
        if isinstance(v, tuple):
            value, typ, *rest = v
            bind = rest[0] if rest else STB_GLOBAL
        else:
            value, typ, bind = v, STT_OBJECT, STB_GLOBAL
        entries.append((bind != STB_LOCAL, nm, value, typ, bind))
    entries.sort(key=lambda e: e[0])           # locals first, as the spec requires
    first_global = 1 + sum(1 for e in entries if not e[0])
    for _g, nm, value, typ, bind in entries:
        shndx = SHN_ABS
        for i, s in enumerate(segs):
            if s.vaddr <= value < s.vaddr + max(s.memsz or len(s.data), 1):
                shndx = 1 + i
                break
        syms.append(struct.pack("<IBBHQQ", len(strtab), (bind << 4) | typ, 0, shndx, value, 8))
        strtab += nm.encode() + b"\0"
    symtab = b"".join(syms)

    body = bytearray(off)
    for s, o in zip(segs, placed):
        body[o:o + len(s.data)] = s.data

    shdrs = []
    e_shoff = e_shnum = e_shstrndx = 0
    if with_sections:
        off = _align(len(body), 8)
        body.extend(b"\0" * (off - len(body)))
        symtab_off = len(body); body += symtab
        strtab_off = len(body); body += strtab
        shstr_off = len(body); body += shstr
        body.extend(b"\0" * (_align(len(body), 8) - len(body)))
        e_shoff = len(body)
        shdrs.append(struct.pack("<IIQQQQIIQQ", 0, SHT_NULL, 0, 0, 0, 0, 0, 0, 0, 0))
        for i, (s, o) in enumerate(zip(segs, placed)):
            flags = SHF_ALLOC | (SHF_WRITE if s.flags & PF_W else 0) | (SHF_EXECINSTR if s.flags & PF_X else 0)
            shdrs.append(struct.pack("<IIQQQQIIQQ", name_off[sec_names[i]], SHT_PROGBITS, flags,
                                     s.vaddr, o, len(s.data), 0, 0, 8, 0))
        nsec = len(shdrs)  # index of .symtab
        shdrs.append(struct.pack("<IIQQQQIIQQ", name_off[".symtab"], SHT_SYMTAB, 0, 0,
                                 symtab_off, len(symtab), nsec + 1, first_global, 8, 24))
        shdrs.append(struct.pack("<IIQQQQIIQQ", name_off[".strtab"], SHT_STRTAB, 0, 0,
                                 strtab_off, len(strtab), 0, 0, 1, 0))
        shdrs.append(struct.pack("<IIQQQQIIQQ", name_off[".shstrtab"], SHT_STRTAB, 0, 0,
                                 shstr_off, len(shstr), 0, 0, 1, 0))
        e_shnum = len(shdrs)
        e_shstrndx = e_shnum - 1
        body += b"".join(shdrs)

    ident = b"\x7fELF" + bytes([ei_class, 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", e_type, e_machine, 1, entry, 64 if nph else 0,
                               e_shoff, 0x5 if e_machine == EM_RISCV else 0,  # RVC | double-float ABI
                               64, 56, nph, 64, e_shnum, e_shstrndx)
    body[0:64] = ehdr
    for i, (s, o) in enumerate(zip(segs, placed)):
        paddr = s.vaddr if s.paddr is None else s.paddr
        memsz = len(s.data) if s.memsz is None else s.memsz
        body[64 + 56 * i: 64 + 56 * (i + 1)] = struct.pack(
            "<IIQQQQQQ", s.p_type, s.flags, o, s.vaddr, paddr, len(s.data), memsz, PAGE)
    return bytes(body)


def patch(data: bytes, offset: int, fmt: str, value) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


# ----------------------------------------------------------------- RV64 encoders

def _r(x: int) -> int:
    assert 0 <= x < 32
    return x


def _i(imm: int, rs1: int, f3: int, rd: int, op: int) -> int:
    assert -2048 <= imm < 2048
    return ((imm & 0xFFF) << 20) | (_r(rs1) << 15) | (f3 << 12) | (_r(rd) << 7) | op


def addi(rd, rs1, imm): return _i(imm, rs1, 0, rd, 0x13)
def ori(rd, rs1, imm): return _i(imm, rs1, 6, rd, 0x13)
def slli(rd, rs1, sh): return (_r(rs1) << 15) | ((sh & 0x3F) << 20) | (1 << 12) | (_r(rd) << 7) | 0x13
def ld(rd, rs1, imm): return _i(imm, rs1, 3, rd, 0x03)
def auipc(rd, imm20): return ((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | 0x17
def lui(rd, imm20): return ((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | 0x37


def sd(rs2, rs1, imm):
    assert -2048 <= imm < 2048
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (3 << 12) | ((imm & 0x1F) << 7) | 0x23


def bne(rs1, rs2, off):
    assert off % 2 == 0 and -4096 <= off < 4096
    o = off & 0x1FFF
    return (((o >> 12) & 1) << 31) | (((o >> 5) & 0x3F) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) \
        | (1 << 12) | (((o >> 1) & 0xF) << 8) | (((o >> 11) & 1) << 7) | 0x63


def jal(rd, off):
    assert off % 2 == 0 and -(1 << 20) <= off < (1 << 20)
    o = off & 0x1FFFFF
    return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20) \
        | (((o >> 12) & 0xFF) << 12) | (_r(rd) << 7) | 0x6F


T0, T1, T2, T3 = 5, 6, 7, 28


def words(ws) -> bytes:
    return b"".join(struct.pack("<I", w) for w in ws)


def htif_program(exit_code: int, text: bytes = b"", loop_forever: bool = False) -> bytes:
    """RV64 code at RAM_BASE: print ``text`` via HTIF putchar, then exit(exit_code) via tohost.

    Assumes tohost at RAM_BASE + 0x1000 (``auipc t0, 1`` from RAM_BASE).  With
    ``loop_forever`` it spins (``j .``) instead of exiting.
    """
    assert 0 <= exit_code < 1024
    code = [auipc(T0, 1),                      # t0 = &tohost
            addi(T2, 0, 0x101), slli(T2, T2, 48)]  # t2 = (1 << 56) | (1 << 48): device 1, cmd 1
    for ch in text:
        code += [ori(T1, T2, ch), sd(T1, T0, 0),
                 ld(T3, T0, 0), bne(T3, 0, -4)]   # wait until the host clears tohost
    if loop_forever:
        code += [jal(0, 0)]
    else:
        code += [addi(T1, 0, (exit_code << 1) | 1), sd(T1, T0, 0), jal(0, 0)]
    return words(code)


def htif_elf(exit_code: int = 0, text: bytes = b"", loop_forever: bool = False) -> bytes:
    """A complete bare-metal RV64 ELF (entry RAM_BASE, tohost/fromhost in .tohost at RAM_BASE+0x1000)."""
    prog = htif_program(exit_code, text, loop_forever)
    return build_elf(
        [Segment(RAM_BASE, prog, name=".text"),
         Segment(RAM_BASE + 0x1000, bytes(16), flags=PF_R | PF_W, name=".tohost")],
        entry=RAM_BASE,
        symbols={"_start": (RAM_BASE, STT_FUNC), "tohost": RAM_BASE + 0x1000,
                 "fromhost": RAM_BASE + 0x1008})
