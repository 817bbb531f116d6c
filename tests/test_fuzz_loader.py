"""The loader's fuzz property (fuzz/fuzz_loader.py: one_input), bounded for CI.

Any bytes, read as an ELF program and as a RISC-V Linux Image, either load
consistently or raise LoadError with one line naming the file.  Hypothesis drives
it with raw bytes, with byte and field mutations of a good ELF, and with ELFs built
from random headers; the committed corpus (fuzz/corpus/loader) is replayed.
"""
from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

ROOT = Path(__file__).resolve().parent.parent


def _load(name, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


fz = _load("numbavm_fuzz_loader", ROOT / "fuzz" / "fuzz_loader.py")
eb = _load("numbavm_tests_elf_builder", ROOT / "tests" / "elf_builder.py")

RAM_BASE, RAM_SIZE = fz.RAM_BASE, fz.RAM_SIZE
FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GOOD = eb.htif_elf(3, b"hi")

# Interesting values for addresses and sizes: RAM edges, zero, wrapping, absurd.
ADDRS = st.one_of(st.sampled_from([0, 1, RAM_BASE, RAM_BASE + 1, RAM_BASE + 0x1000, RAM_BASE + RAM_SIZE - 8,
                                   RAM_BASE + RAM_SIZE, 2**64 - 8, 2**64 - 0x1000, 1 << 56]),
                  st.integers(0, 2**64 - 1))
SIZES = st.one_of(st.sampled_from([0, 1, 8, 0x1000, RAM_SIZE, RAM_SIZE + 1, 2**64 - 1, 1 << 40]),
                  st.integers(0, 2**64 - 1))


@pytest.mark.parametrize("path", sorted((ROOT / "fuzz" / "corpus" / "loader").iterdir()), ids=lambda p: p.name)
def test_corpus(path):
    fz.one_input(path.read_bytes())


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes(data):
    fz.one_input(data)
    fz.one_input(b"\x7fELF\x02\x01\x01" + data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=12),
       st.integers(0, len(GOOD)))
def test_mutated_good_elf(patches, cut):
    data = bytearray(GOOD)
    for off, b in patches:
        data[off] = b
    fz.one_input(bytes(data[:max(cut, 64)]))


# The ELF64 header's fields and the first program/section header entries: (offset, format).
FIELDS = [(16, "<H"), (18, "<H"), (24, "<Q"), (32, "<Q"), (40, "<Q"), (54, "<H"), (56, "<H"),
          (58, "<H"), (60, "<H"), (62, "<H")] + [(64 + o, f) for o, f in
                                                  [(0, "<I"), (8, "<Q"), (16, "<Q"), (24, "<Q"), (32, "<Q"), (40, "<Q")]]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS), st.integers(0, 2**64 - 1)), min_size=1, max_size=4))
def test_header_fields(changes):
    data = bytearray(GOOD)
    for (off, fmt), v in changes:
        struct.pack_into(fmt, data, off, v & ((1 << (8 * struct.calcsize(fmt))) - 1))
    fz.one_input(bytes(data))


# Mostly near-valid programs (addresses in RAM, PT_LOAD, ET_EXEC), so that the accepting
# path and its consistency checks run too, with the edge values mixed in.
IN_RAM = st.integers(RAM_BASE, RAM_BASE + RAM_SIZE - 1)
NEAR = st.one_of(IN_RAM, IN_RAM.map(lambda a: a & ~7), IN_RAM.map(lambda a: a & ~0xFFF), ADDRS)


@st.composite
def built_elfs(draw):
    segs = []
    for _ in range(draw(st.integers(1, 3))):
        vaddr = draw(st.one_of(IN_RAM.map(lambda a: a & ~0xFFF), NEAR))
        data = draw(st.binary(max_size=32))
        segs.append(eb.Segment(vaddr, data, memsz=draw(st.one_of(st.none(), st.integers(0, 0x2000), SIZES)),
                               paddr=draw(st.one_of(st.none(), st.none(), NEAR)),
                               p_type=draw(st.sampled_from([eb.PT_LOAD] * 6 + [eb.PT_INTERP, eb.PT_NOTE, 2]))))
    symbols = {name: draw(NEAR) for name in draw(st.sets(st.sampled_from(["tohost", "fromhost", "_start"])))}
    entry = draw(st.one_of(st.just(segs[0].vaddr), NEAR))
    return eb.build_elf(segs, entry=entry, symbols=symbols,
                        e_type=draw(st.sampled_from([eb.ET_EXEC] * 4 + [eb.ET_DYN, eb.ET_REL])),
                        with_sections=draw(st.booleans()))


@FUZZ
@given(built_elfs())
def test_built_elfs(data):
    fz.one_input(data)


@FUZZ
@given(st.binary(min_size=64, max_size=64), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.booleans())
def test_linux_image_headers(hdr, text_offset, image_size, magic2):
    h = bytearray(hdr)
    struct.pack_into("<QQ", h, 8, text_offset if text_offset % 3 else text_offset & ~0xFFF, image_size)
    if magic2:
        h[56:60] = b"RSC\x05"
    else:
        h[48:56] = b"RISCV\0\0\0"
    fz.one_input(bytes(h))


# --------------------------------------------------------------------------- regressions

def test_huge_extended_section_count_is_refused():
    """e_shnum 0: the count is section 0's sh_size, here 2**64 - 1 (pyelftools would iterate it)."""
    data = bytearray(GOOD)
    shoff = struct.unpack_from("<Q", data, 40)[0]
    struct.pack_into("<H", data, 60, 0)
    struct.pack_into("<Q", data, shoff + 32, 2**64 - 1)
    fz.one_input(bytes(data))


def test_hostile_string_table_costs_one_bounded_scan_per_symbol():
    """Thousands of symbols naming one long run without a NUL: skipped, as names over the limit."""
    from lifecycle.machine.loader import MAX_SYMBOL_NAME, parse_elf
    long_name = "n" * (MAX_SYMBOL_NAME + 10)
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8))], entry=RAM_BASE,
                       symbols={long_name: RAM_BASE, "tohost": RAM_BASE})
    im = parse_elf(elf, "s.elf", RAM_BASE, RAM_SIZE)
    assert list(im.symbols) == ["tohost"]
