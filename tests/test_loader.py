"""lifecycle.machine.loader: good ELFs load; every kind of bad input raises a one-line LoadError naming the file."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle.machine.loader import LoadError, LoadedImage, load_elf, load_raw
from emu.spec import RAM_BASE


from tests import elf_builder as eb

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


@pytest.fixture
def unreadable(good, monkeypatch):
    """`good`, refused by open() as the OS refuses a user (root reads any file, so simulated)."""
    import builtins
    real_open = builtins.open

    def fake_open(path, *a, **k):
        if os.fspath(path) == os.fspath(good):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)
    monkeypatch.setattr(builtins, "open", fake_open)
    return good


def test_unreadable(unreadable):
    expect_error(unreadable, "cannot read")


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
    code = "import sys, lifecycle.machine.loader; sys.exit(1 if 'numba' in sys.modules else 0)"
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    assert subprocess.run([sys.executable, "-c", code], cwd=root, env=env).returncode == 0


# --------------------------------------------------------------------------- issue 12: reading once, bounded

from lifecycle.machine.loader import (InputFile, load_program, parse_elf, parse_linux_image,  # noqa: E402
                        read_file, read_input, read_linux_image)


def test_input_file_is_read_once_and_reused(tmp_path, good, monkeypatch):
    """load_elf given an InputFile does not open the file again (a FIFO can be read only once)."""
    src = read_input(good, "an ELF executable", 1 << 20)
    assert isinstance(src, InputFile) and src == str(good) and src.data == good.read_bytes()
    import builtins

    def no_open(*a, **k):
        raise AssertionError(f"opened again: {a}")
    monkeypatch.setattr(builtins, "open", no_open)
    im = load_elf(src, RAM_BASE, RAM_SIZE)
    assert im.path is src and im.symbols["tohost"] == RAM_BASE + 0x1000
    assert load_program(src, RAM_BASE, RAM_SIZE).entry == RAM_BASE
    assert read_file(src, "an initrd") == src.data
    assert load_raw(src, RAM_BASE, RAM_BASE, RAM_SIZE).segments[0][1] == src.data


def test_input_file_pickles_with_its_bytes(good):
    import pickle
    src = read_input(good, "an ELF executable", 1 << 20)
    back = pickle.loads(pickle.dumps(src))
    assert isinstance(back, InputFile) and back == src and back.data == src.data


def test_fifo_is_read_once(tmp_path):
    """A FIFO's content can be read only once: load_elf then a second load of its InputFile."""
    import threading
    fifo = tmp_path / "prog.fifo"
    os.mkfifo(fifo)
    elf = eb.htif_elf(0, b"x")

    def writer():
        with open(fifo, "wb") as f:           # blocks until the reader opens: no race
            f.write(elf)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    im = load_elf(fifo, RAM_BASE, RAM_SIZE)
    t.join(timeout=60)
    assert not t.is_alive()
    assert im.path.data == elf
    assert load_elf(im.path, RAM_BASE, RAM_SIZE).segments == im.segments   # no second open: no hang


def test_pipe_larger_than_the_limit_reads_limit_plus_one(tmp_path):
    """/dev/zero (no size): at most limit + 1 bytes are read, then one LoadError."""
    with pytest.raises(LoadError) as ei:
        read_input("/dev/zero", "an initrd", 1 << 20, "guest RAM (1 MiB)")
    msg = str(ei.value)
    assert msg == "/dev/zero: an initrd has more than 1 MiB: larger than guest RAM (1 MiB)"


def test_dev_zero_as_an_elf_is_refused_from_its_first_bytes(monkeypatch):
    """The ELF header is checked once the first 64 bytes are in: no more is read from a stream."""
    import io as _io
    reads = []
    real_read = _io.FileIO.read

    class Counting(_io.FileIO):
        def read(self, n=-1):
            b = real_read(self, n)
            reads.append(len(b))
            return b
    import builtins
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, m="r", buffering=-1, **k:
                        Counting(f, "rb") if os.fspath(f) == "/dev/zero" else real_open(f, m, buffering, **k))
    with pytest.raises(LoadError) as ei:
        load_elf("/dev/zero", RAM_BASE, 1 << 20)
    assert str(ei.value).startswith("/dev/zero: not an ELF file (bad magic 00 00 00 00")
    assert sum(reads) == 64


def test_dev_zero_as_a_raw_binary_reads_at_most_the_ram_above_the_load_address():
    with pytest.raises(LoadError) as ei:
        load_raw("/dev/zero", RAM_BASE + (1 << 20) - 0x1000, RAM_BASE, 1 << 20)
    assert str(ei.value) == ("/dev/zero: a raw binary has more than 4 KiB: larger than the guest RAM "
                             "[0x800ff000, 0x80100000) above its load address")


def test_regular_file_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    """fstat gives the size: a 4 GiB sparse file is refused without one read."""
    p = tmp_path / "huge.bin"
    with open(p, "wb") as f:
        f.truncate(4 << 30)
    import io as _io
    real_read = _io.FileIO.read
    reads = []

    class Counting(_io.FileIO):
        def read(self, n=-1):
            reads.append(n)
            return real_read(self, n)
    import builtins
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open",
                        lambda f, m="r", buffering=-1, **k: Counting(f, "rb") if os.fspath(f) == str(p)
                        else real_open(f, m, buffering, **k))
    msg = expect_error(p, "raw image", "outside guest RAM", "needs at least 4 GiB of --memory", raw_addr=RAM_BASE)
    assert "[0x80000000, 0x180000000)" in msg
    assert reads == []
    msg = expect_error(p, "4 GiB", "larger than")
    assert reads == []


def test_directory_messages(tmp_path):
    for fn in (lambda: read_file(tmp_path, "an initrd"), lambda: read_linux_image(tmp_path),
               lambda: load_raw(tmp_path, RAM_BASE, RAM_BASE, RAM_SIZE)):
        with pytest.raises(LoadError) as ei:
            fn()
        assert str(ei.value).startswith(f"{tmp_path}: is a directory, not "), str(ei.value)


def test_permission_denied_from_the_real_cause(unreadable):
    with pytest.raises(LoadError) as ei:
        read_file(unreadable, "an initrd")
    assert str(ei.value) == f"{unreadable}: cannot read an initrd: permission denied"


def test_broken_symlink(tmp_path):
    link = tmp_path / "link.elf"
    link.symlink_to(tmp_path / "gone.elf")
    expect_error(link, "broken symbolic link")


def test_not_a_directory_component(tmp_path, good):
    expect_error(good / "x.elf", "cannot read", "not a directory")


# --------------------------------------------------------------------------- issue 12: HTIF, entry, dynamic, sizes

def _htif_with(tohost, fromhost):
    prog = eb.htif_program(0)
    return eb.build_elf([eb.Segment(RAM_BASE, prog, name=".text"),
                         eb.Segment(RAM_BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost")],
                        entry=RAM_BASE, symbols={"tohost": tohost, "fromhost": fromhost})


@pytest.mark.parametrize("name,tohost,fromhost", [
    ("fromhost", RAM_BASE + 0x1000, 0x1000),                  # below RAM
    ("fromhost", RAM_BASE + 0x1000, RAM_BASE + RAM_SIZE),     # just past the end
    ("tohost", 0x2000, RAM_BASE + 0x1008),
    ("tohost", RAM_BASE + RAM_SIZE - 8 + 8, RAM_BASE + 0x1008),
])
def test_htif_symbols_outside_ram_are_refused(tmp_path, name, tohost, fromhost):
    msg = expect_error(write(tmp_path, "htif.elf", _htif_with(tohost, fromhost)),
                       f"HTIF symbol '{name}'", "outside guest RAM")
    assert "\n" not in msg


def test_htif_symbol_misaligned_is_refused(tmp_path):
    expect_error(write(tmp_path, "htif.elf", _htif_with(RAM_BASE + 0x1000, RAM_BASE + 0x100c)),
                 "'fromhost'", "not 8-byte aligned")


def test_htif_symbols_at_the_last_word_of_ram_load(tmp_path):
    im = load_elf(write(tmp_path, "htif.elf", _htif_with(RAM_BASE + RAM_SIZE - 16, RAM_BASE + RAM_SIZE - 8)),
                  RAM_BASE, RAM_SIZE)
    assert im.fromhost == RAM_BASE + RAM_SIZE - 8


def test_odd_entry_point_is_refused(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(16))], entry=RAM_BASE + 1)
    expect_error(write(tmp_path, "odd.elf", elf), "entry point 0x80000001 is odd", "bit 0")
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(16))], entry=RAM_BASE + 2)   # RVC: 2-byte aligned is fine
    assert load_elf(write(tmp_path, "even.elf", elf), RAM_BASE, RAM_SIZE).entry == RAM_BASE + 2


def test_odd_raw_addr_is_refused(tmp_path):
    p = write(tmp_path, "odd.bin", bytes(8))
    expect_error(p, "load address 0x80000001 is odd", raw_addr=RAM_BASE + 1)
    assert load_raw(p, RAM_BASE + 2, RAM_BASE, RAM_SIZE).entry == RAM_BASE + 2


def test_raw_addr_outside_ram_is_refused_before_reading(tmp_path):
    expect_error(write(tmp_path, "p.bin", bytes(8)), "load address 0x1000 is outside guest RAM", raw_addr=0x1000)


def test_dynamic_executable_linked_at_zero_says_dynamic(tmp_path):
    """A toolchain's default dynamic PIE: linked at 0 with PT_INTERP, checked before any address."""
    elf = eb.build_elf([eb.Segment(0x238, b"/lib/ld-linux-riscv64-lp64d.so.1\0", p_type=eb.PT_INTERP,
                                   flags=eb.PF_R),
                        eb.Segment(0x0, bytes(0x100))], entry=0x40, e_type=eb.ET_DYN)
    msg = expect_error(write(tmp_path, "dyn.elf", elf), "dynamically linked",
                       "dynamic executables are not supported", "/lib/ld-linux-riscv64-lp64d.so.1")
    assert "outside" not in msg
    # ET_EXEC with an interpreter (a non-PIE dynamic executable) too
    elf = eb.build_elf([eb.Segment(0x10238, b"/lib/ld.so\0", p_type=eb.PT_INTERP, flags=eb.PF_R),
                        eb.Segment(0x10000, bytes(0x100))], entry=0x10000)
    expect_error(write(tmp_path, "dynexec.elf", elf), "dynamic executables are not supported")


def test_position_independent_linked_at_zero_is_explained(tmp_path):
    elf = eb.build_elf([eb.Segment(0x0, bytes(0x100))], entry=0x40, e_type=eb.ET_DYN)
    msg = expect_error(write(tmp_path, "pie.elf", elf), "position-independent", "does not relocate")
    assert "--memory" not in msg


def test_real_dynamic_riscv_executable(tmp_path):
    """Debian's cross gcc's dynamic and static PIEs, when the cross compiler is there."""
    gcc = shutil.which("riscv64-linux-gnu-gcc")
    if gcc is None:
        from tests.linux_guest import unavailable
        unavailable("riscv64-linux-gnu-gcc is missing (Debian package gcc-riscv64-linux-gnu; "
                    "lifecycle/guests/linux/build.sh installs it)")
    (tmp_path / "m.c").write_text("void _start(void) { for (;;); }\n")
    out = tmp_path / "dyn"
    subprocess.run([gcc, "-nostdlib", "-fPIE", "-pie", "-Wl,--dynamic-linker=/lib/ld-linux-riscv64-lp64d.so.1",
                    "-o", out, tmp_path / "m.c"], check=True, timeout=120)
    expect_error(out, "dynamically linked", "not supported")
    subprocess.run([gcc, "-nostdlib", "-fPIE", "-pie", "-Wl,--no-dynamic-linker", "-o", out, tmp_path / "m.c"],
                   check=True, timeout=120)                                   # a static PIE, linked at 0
    expect_error(out, "position-independent", "does not relocate")


@pytest.mark.parametrize("paddr,memsz,words", [
    (RAM_BASE, 2**64 - 0x1000, ["wraps around", "64-bit address space"]),          # wrapped p_memsz
    (2**64 - 0x1000, 0x2000, ["wraps around"]),
    (RAM_BASE, 1 << 60, ["corrupt size", "1 TiB"]),                                  # absurd p_memsz
])
def test_wrapped_or_absurd_memsz(tmp_path, paddr, memsz, words):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8)), eb.Segment(paddr + 0x1000 if paddr == RAM_BASE else paddr,
                                                                   b"", memsz=memsz)],
                       entry=RAM_BASE, with_sections=False)
    msg = expect_error(write(tmp_path, "wrap.elf", elf), *words)
    assert "MiB of --memory" not in msg


def test_big_bss_still_suggests_memory(tmp_path):
    elf = eb.build_elf([eb.Segment(RAM_BASE, bytes(8), memsz=8 << 30)], entry=RAM_BASE)
    expect_error(write(tmp_path, "bss.elf", elf), "needs at least 8 GiB of --memory")


def test_extended_section_numbering(tmp_path, good):
    """e_shnum 0 with the count in section 0's sh_size (gABI): read, and a huge count is refused at once."""
    data = bytearray(good.read_bytes())
    shoff = int.from_bytes(data[40:48], "little")
    shnum = int.from_bytes(data[60:62], "little")
    data[60:62] = b"\0\0"
    data[shoff + 32:shoff + 40] = shnum.to_bytes(8, "little")
    assert load_elf(write(tmp_path, "ext.elf", bytes(data)), RAM_BASE, RAM_SIZE).tohost == RAM_BASE + 0x1000
    data[shoff + 32:shoff + 40] = (2**64 - 1).to_bytes(8, "little")
    expect_error(write(tmp_path, "ext2.elf", bytes(data)), "truncated", "section header table")


def test_symbol_name_outside_string_table(tmp_path, good):
    im_data = bytearray(good.read_bytes())
    # the first real symbol's st_name: find .symtab by hand
    import struct
    shoff = int.from_bytes(im_data[40:48], "little")
    shnum = int.from_bytes(im_data[60:62], "little")
    for i in range(shnum):
        sh = struct.unpack_from("<IIQQQQIIQQ", im_data, shoff + 64 * i)
        if sh[1] == eb.SHT_SYMTAB:
            struct.pack_into("<I", im_data, sh[4] + 24, 0xFFFFFF)
    expect_error(write(tmp_path, "badname.elf", bytes(im_data)), "malformed", "string table")


# --------------------------------------------------------------------------- Linux Image header

def _image(text_offset=0x200000, image_size=0x10000, body=b""):
    import struct
    hdr = struct.pack("<IIQQQIIQ8sI4s", 0, 0, text_offset, image_size, 0, 2, 0, 0, b"RISCV\0\0\0", 0x05435352, b"")
    return hdr[:64].ljust(64, b"\0") + body


def test_linux_image_header(tmp_path):
    p = write(tmp_path, "Image", _image(body=bytes(100)))
    img = read_linux_image(p)
    assert (img.text_offset, img.image_size, img.path) == (0x200000, 0x10000, str(p))
    assert isinstance(img.path, InputFile) and img.data == p.read_bytes()
    assert read_linux_image(img.path).data is img.data        # an InputFile is not read again


def test_linux_image_limit_and_absurd_size(tmp_path):
    p = write(tmp_path, "Image", _image(body=bytes(8192)))
    with pytest.raises(LoadError, match="larger than guest RAM"):
        read_linux_image(p, limit=4096)
    with pytest.raises(LoadError, match="implausible image_size"):
        parse_linux_image(_image(image_size=1 << 62), "Image")
    with pytest.raises(LoadError, match="implausible text_offset"):
        parse_linux_image(_image(text_offset=0x123), "Image")


def test_parse_elf_takes_bytes(good):
    im = parse_elf(good.read_bytes(), "prog", RAM_BASE, RAM_SIZE)
    assert im.entry == RAM_BASE and im.path == "prog"


def test_out_of_memory_while_reading_is_a_load_error(good, monkeypatch):
    """Under a ulimit a big read fails with MemoryError: one LoadError line, no traceback."""
    import io as _io

    class NoMemory(_io.FileIO):
        def read(self, n=-1):
            raise MemoryError
    import builtins
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, m="r", buffering=-1, **k:
                        NoMemory(f, "rb") if os.fspath(f) == str(good) else real_open(f, m, buffering, **k))
    expect_error(good, "cannot read an ELF executable: out of memory")


@pytest.mark.parametrize("what,said", [("initrd", "an initrd"), ("firmware image", "a firmware image"),
                                       ("device-tree overlay", "a device-tree overlay")])
def test_read_file_names_what_it_expected(tmp_path, what, said):
    """lifecycle/machine/board.py's names (no article) read as English in the messages."""
    with pytest.raises(LoadError) as ei:
        read_file(write(tmp_path, "f", b""), what)
    assert str(ei.value) == f"{tmp_path / 'f'}: empty file, not {said}"
    with pytest.raises(LoadError) as ei:
        read_file(tmp_path, what)
    assert str(ei.value) == f"{tmp_path}: is a directory, not {said}"
