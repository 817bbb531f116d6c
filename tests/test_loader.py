"""emu.loader: good ELFs load; every kind of bad input raises a one-line LoadError naming the file."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emu.loader import LoadError, LoadedImage, load_elf, load_raw


def _load_elf_builder():
    """tests/elf_builder.py, loaded by path (works whatever pytest's import mode)."""
    name = "numbavm_tests_elf_builder"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("elf_builder.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


eb = _load_elf_builder()

RAM_BASE = 0x8000_0000
RAM_SIZE = 128 << 20


def write(tmp_path, name, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def expect_error(path, *words, ram_base=RAM_BASE, ram_size=RAM_SIZE, raw_addr=None) -> str:
    with pytest.raises(LoadError) as ei:
        if raw_addr is None:
            load_elf(path, ram_base, ram_size)
        else:
            load_raw(path, raw_addr, ram_base, ram_size)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in {msg!r}"
    return msg


@pytest.fixture
def good(tmp_path) -> Path:
    return write(tmp_path, "good.elf", eb.htif_elf(3, b"hi"))


# --------------------------------------------------------------------------- good

def test_good_elf_loads_segments_entry_symbols(good):
    im = load_elf(good, RAM_BASE, RAM_SIZE)
    assert isinstance(im, LoadedImage)
    assert im.entry == RAM_BASE
    assert im.path == str(good)
    assert [(a, m) for a, _d, m in im.segments] == [(RAM_BASE, len(eb.htif_program(3, b"hi"))),
                                                    (RAM_BASE + 0x1000, 16)]
    assert im.segments[0][1] == eb.htif_program(3, b"hi")
    assert im.segments[1][1] == bytes(16)
    assert im.symbols["tohost"] == RAM_BASE + 0x1000
    assert im.symbols["fromhost"] == RAM_BASE + 0x1008
    assert im.symbols["_start"] == RAM_BASE
    assert im.tohost == RAM_BASE + 0x1000 and im.fromhost == RAM_BASE + 0x1008


def test_bss_memsz_larger_than_filesz(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, b"\x6f\x00\x00\x00", memsz=0x3000)], entry=RAM_BASE)
    im = load_elf(write(tmp_path, "bss.elf", elf), RAM_BASE, RAM_SIZE)
    assert im.segments == [(RAM_BASE, b"\x6f\x00\x00\x00", 0x3000)]
    assert im.symbols == {}


def test_paddr_preferred_over_vaddr_and_vaddr_fallback(tmp_path):
    # Linux-style: high virtual address, physical address in RAM.
    elf = eb.build_elf([eb.Segment(0xFFFF_FFFF_8000_0000, b"\x13\x00\x00\x00", paddr=RAM_BASE + 0x20_0000)],
                       entry=RAM_BASE + 0x20_0000)
    im = load_elf(write(tmp_path, "paddr.elf", elf), RAM_BASE, RAM_SIZE)
    assert im.segments[0][0] == RAM_BASE + 0x20_0000
    # p_paddr == 0: fall back to p_vaddr
    elf = eb.build_elf([eb.Segment(RAM_BASE + 0x4000, b"\x13\x00\x00\x00", paddr=0)], entry=RAM_BASE + 0x4000)
    im = load_elf(write(tmp_path, "vaddr.elf", elf), RAM_BASE, RAM_SIZE)
    assert im.segments[0][0] == RAM_BASE + 0x4000


def test_symbol_kinds(tmp_path):
    elf = eb.build_elf(
        [eb.Segment(RAM_BASE, bytes(64))], entry=RAM_BASE,
        symbols={"f": (RAM_BASE, eb.STT_FUNC), "o": (RAM_BASE + 8, eb.STT_OBJECT),
                 "n": (RAM_BASE + 16, eb.STT_NOTYPE), "sec": (RAM_BASE, eb.STT_SECTION),
                 "file.c": (0, eb.STT_FILE, eb.STB_LOCAL), "$x": (RAM_BASE, eb.STT_NOTYPE, eb.STB_LOCAL),
                 "loc": (RAM_BASE + 24, eb.STT_OBJECT, eb.STB_LOCAL)})
    im = load_elf(write(tmp_path, "syms.elf", elf), RAM_BASE, RAM_SIZE)
    assert im.symbols == {"f": RAM_BASE, "o": RAM_BASE + 8, "n": RAM_BASE + 16, "loc": RAM_BASE + 24}


def test_no_section_headers_is_fine(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8))], entry=RAM_BASE, with_sections=False)
    im = load_elf(write(tmp_path, "nosec.elf", elf), RAM_BASE, RAM_SIZE)
    assert im.symbols == {} and len(im.segments) == 1


def test_static_pie_et_dyn_accepted(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8))], entry=RAM_BASE, e_type=eb.ET_DYN)
    assert load_elf(write(tmp_path, "pie.elf", elf), RAM_BASE, RAM_SIZE).entry == RAM_BASE


def test_path_may_be_str(good):
    assert load_elf(str(good), RAM_BASE, RAM_SIZE).entry == RAM_BASE


def test_toolchain_elf():
    """A real ELF from Debian's cross toolchain (the committed hello demo)."""
    path = Path(__file__).resolve().parent / "guest" / "bin" / "hello.elf"
    im = load_elf(path, RAM_BASE, RAM_SIZE)
    assert im.entry == RAM_BASE
    assert RAM_BASE < im.symbols["tohost"] < RAM_BASE + RAM_SIZE
    assert im.symbols["fromhost"] == im.symbols["tohost"] + 8
    assert "main" in im.symbols
    assert not any(k.startswith("$") for k in im.symbols)
    assert all(RAM_BASE <= a < RAM_BASE + RAM_SIZE for a, _d, _m in im.segments)


# --------------------------------------------------------------------------- bad files

def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.elf", "no such file")


def test_directory(tmp_path):
    expect_error(tmp_path, "directory")


def test_unreadable(good, monkeypatch):
    # root reads any file, so simulate the permission error the OS gives a user
    import builtins
    real_open = builtins.open

    def fake_open(path, *a, **k):
        if os.fspath(path) == os.fspath(good):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)
    monkeypatch.setattr(builtins, "open", fake_open)
    expect_error(good, "cannot read")


def test_empty_file(tmp_path):
    expect_error(write(tmp_path, "empty.elf", b""), "empty")


def test_bad_magic(tmp_path, good):
    data = bytearray(good.read_bytes())
    data[1:4] = b"XYZ"
    expect_error(write(tmp_path, "magic.elf", bytes(data)), "not an ELF", "magic")


def test_text_file_not_elf(tmp_path):
    expect_error(write(tmp_path, "hello.txt", b"hello world\n"), "not an ELF")


@pytest.mark.parametrize("cut", [2, 10, 40, 64 + 20, None])
def test_truncated(tmp_path, good, cut):
    data = good.read_bytes()
    if cut is None:
        cut = len(data) - 30                  # loses the end of the section header table
    expect_error(write(tmp_path, f"trunc{cut}.elf", data[:cut]), "truncated")


def test_truncated_segment_data(tmp_path):
    data = eb.build_elf([eb.Segment(RAM_BASE, bytes(0x800))], entry=RAM_BASE, with_sections=False)
    msg = expect_error(write(tmp_path, "short.elf", data[:-0x100]), "truncated", "segment 0", "p_filesz")
    assert "PT_LOAD" in msg


def test_malformed_section_table(tmp_path, good):
    # Point the section header string table index past the table.
    data = eb.patch(good.read_bytes(), 62, "<H", 200)
    expect_error(write(tmp_path, "shstrndx.elf", data), "malformed")


def test_elf32(tmp_path, good):
    data = eb.patch(good.read_bytes(), eb.OFF_EI_CLASS, "B", 1)
    expect_error(write(tmp_path, "elf32.elf", data), "32-bit", "ELFCLASS32", "RV64")


def test_big_endian(tmp_path, good):
    data = eb.patch(good.read_bytes(), eb.OFF_EI_DATA, "B", 2)
    expect_error(write(tmp_path, "be.elf", data), "big-endian")


def test_wrong_machine_x86_64(tmp_path, good):
    data = eb.patch(good.read_bytes(), eb.OFF_E_MACHINE, "<H", eb.EM_X86_64)
    expect_error(write(tmp_path, "x86.elf", data), "x86-64", "not RISC-V")


def test_wrong_machine_aarch64(tmp_path, good):
    data = eb.patch(good.read_bytes(), eb.OFF_E_MACHINE, "<H", 183)
    expect_error(write(tmp_path, "arm.elf", data), "AArch64", "not RISC-V")


@pytest.mark.parametrize("etype,word", [(eb.ET_REL, "relocatable"), (eb.ET_CORE, "core"), (0, "not an executable")])
def test_not_executable(tmp_path, good, etype, word):
    data = eb.patch(good.read_bytes(), eb.OFF_E_TYPE, "<H", etype)
    expect_error(write(tmp_path, f"type{etype}.elf", data), "not an executable", word)


def test_dynamically_linked(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, b"/lib/ld.so\0", p_type=eb.PT_INTERP, flags=eb.PF_R),
                        eb.Segment(RAM_BASE + 0x1000, bytes(8))],
                       entry=RAM_BASE + 0x1000, e_type=eb.ET_DYN)
    expect_error(write(tmp_path, "dyn.elf", elf), "dynamically linked")


def test_no_program_headers(tmp_path):
    elf = eb.build_elf([], entry=RAM_BASE)
    expect_error(write(tmp_path, "nophdr.elf", elf), "PT_LOAD")


def test_no_pt_load(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8), p_type=eb.PT_NOTE)], entry=RAM_BASE)
    expect_error(write(tmp_path, "noload.elf", elf), "no PT_LOAD")


def test_segment_below_ram(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8)), eb.Segment(0x1000, bytes(0x100))], entry=RAM_BASE)
    msg = expect_error(write(tmp_path, "low.elf", elf), "segment 1", "outside", "RAM")
    assert "0x1000" in msg and "0x1100" in msg            # the segment's range
    assert "0x80000000" in msg and "0x88000000" in msg    # the RAM range


def test_segment_past_end_of_ram(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8), memsz=(1 << 20) + 1)], entry=RAM_BASE)
    p = write(tmp_path, "big.elf", elf)
    msg = expect_error(p, "segment 0", "outside", ram_size=1 << 20)
    assert "0x80100000" in msg and "0x80100001" in msg
    assert load_elf(p, RAM_BASE, 2 << 20).segments[0][2] == (1 << 20) + 1


def test_entry_outside_ram(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8))], entry=0x1000)
    expect_error(write(tmp_path, "entry.elf", elf), "entry point", "0x1000", "outside")


def test_filesz_greater_than_memsz(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(16), memsz=8)], entry=RAM_BASE)
    expect_error(write(tmp_path, "fm.elf", elf), "malformed", "p_filesz")


def test_overlapping_segments(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(0x100)), eb.Segment(RAM_BASE + 0x80, bytes(0x100))],
                       entry=RAM_BASE)
    expect_error(write(tmp_path, "overlap.elf", elf), "overlap")


def test_every_prefix_of_a_good_elf_is_rejected_cleanly(tmp_path, good):
    """No truncation point may escape as anything but a LoadError."""
    data = good.read_bytes()
    p = tmp_path / "prefix.elf"
    for cut in list(range(0, 200)) + list(range(len(data) - 400, len(data))):
        p.write_bytes(data[:cut])
        with pytest.raises(LoadError):
            load_elf(p, RAM_BASE, RAM_SIZE)


# --------------------------------------------------------------------------- raw

def test_raw_loads(tmp_path):
    p = write(tmp_path, "prog.bin", b"\x6f\x00\x00\x00")
    im = load_raw(p, RAM_BASE + 0x20_0000, RAM_BASE, RAM_SIZE)
    assert im.entry == RAM_BASE + 0x20_0000
    assert im.segments == [(RAM_BASE + 0x20_0000, b"\x6f\x00\x00\x00", 4)]
    assert im.symbols == {}


def test_raw_errors(tmp_path):
    expect_error(tmp_path / "nope.bin", "no such file", raw_addr=RAM_BASE)
    expect_error(write(tmp_path, "empty.bin", b""), "empty", raw_addr=RAM_BASE)
    p = write(tmp_path, "prog.bin", bytes(16))
    expect_error(p, "outside", raw_addr=0x1000)
    expect_error(p, "outside", raw_addr=RAM_BASE + RAM_SIZE - 8)


def test_loader_does_not_import_numba():
    code = "import sys, emu.loader; sys.exit(1 if 'numba' in sys.modules else 0)"
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    assert subprocess.run([sys.executable, "-c", code], cwd=root, env=env).returncode == 0
