"""Guest program loader: ELF64 RISC-V executables and raw binaries.

Only validates and extracts; it never touches guest RAM.  The machine copies
``LoadedImage.segments`` into RAM (and zero-fills each segment's
``memsz - len(data)`` tail).

Every problem is reported as a :class:`LoadError` whose message is one line
that names the file and the problem.  This module imports pyelftools but not
numba, so it is cheap to import.
"""
from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field

__all__ = ["LoadError", "LoadedImage", "load_elf", "load_raw", "EM_RISCV"]

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_NONE, ET_REL, ET_EXEC, ET_DYN, ET_CORE = 0, 1, 2, 3, 4
EM_RISCV = 243
PT_LOAD, PT_INTERP = 1, 3
ELF64_EHDR_SIZE = 64
ELF64_PHDR_SIZE = 56
ELF64_SHDR_SIZE = 64

_MACHINE_NAMES = {
    0: "no machine (EM_NONE)",
    2: "SPARC",
    3: "i386",
    4: "Motorola 68000",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC64",
    22: "S/390",
    40: "ARM",
    43: "SPARC v9",
    50: "IA-64",
    62: "x86-64",
    183: "AArch64",
    243: "RISC-V",
    247: "BPF",
    258: "LoongArch",
}

_TYPE_NAMES = {
    ET_NONE: "ET_NONE, no file type",
    ET_REL: "ET_REL, a relocatable object file -- link it first",
    ET_EXEC: "ET_EXEC",
    ET_DYN: "ET_DYN",
    ET_CORE: "ET_CORE, a core dump",
}


class LoadError(Exception):
    """A guest program cannot be loaded.  ``str(err)`` is one line naming the file."""


@dataclass
class LoadedImage:
    entry: int
    segments: list[tuple[int, bytes, int]]   # (paddr, file data, memsz), memsz >= len(data)
    symbols: dict[str, int] = field(default_factory=dict)
    path: str = ""

    @property
    def tohost(self) -> int | None:
        """Address of the HTIF ``tohost`` word, or None."""
        return self.symbols.get("tohost")

    @property
    def fromhost(self) -> int | None:
        """Address of the HTIF ``fromhost`` word, or None."""
        return self.symbols.get("fromhost")


def _machine_name(n: int) -> str:
    if n in _MACHINE_NAMES:
        return f"{_MACHINE_NAMES[n]} (e_machine {n})"
    try:
        from elftools.elf.enums import ENUM_E_MACHINE
        for name, val in ENUM_E_MACHINE.items():
            if val == n and name != "_default_":
                return f"{name} (e_machine {n})"
    except Exception:  # pragma: no cover - pyelftools internals
        pass
    return f"unknown machine (e_machine {n})"


def _range(lo: int, hi: int) -> str:
    return f"[{lo:#x}, {hi:#x})"


def _read(path) -> tuple[str, bytes]:
    """Read the whole file, turning OS problems into one-line LoadErrors."""
    try:
        spath = os.fspath(path)
    except TypeError:
        raise LoadError(f"{path!r}: not a file path") from None
    if not os.path.lexists(spath):
        raise LoadError(f"{spath}: no such file")
    if os.path.isdir(spath):
        raise LoadError(f"{spath}: is a directory, not a program file")
    if not os.path.exists(spath):
        raise LoadError(f"{spath}: broken symbolic link")
    try:
        with open(spath, "rb") as f:
            data = f.read()
    except OSError as e:
        raise LoadError(f"{spath}: cannot read file: {e.strerror or e}") from None
    return spath, data


def _fmt_size(n: int) -> str:
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def _check_in_ram(path: str, what: str, lo: int, hi: int, ram_base: int, ram_size: int) -> None:
    ram_end = ram_base + ram_size
    if ram_base <= lo <= hi <= ram_end:
        return
    if lo < ram_base or hi < lo:
        hint = f"link it for RAM starting at {ram_base:#x}"
    else:
        need = hi - ram_base
        hint = f"it needs at least {_fmt_size(-(-need // (1 << 20)) << 20)} of --memory"
    raise LoadError(
        f"{path}: {what} at {_range(lo, hi)} is outside guest RAM "
        f"{_range(ram_base, ram_end)} ({_fmt_size(ram_size)}); {hint}")


def load_elf(path, ram_base: int, ram_size: int) -> LoadedImage:
    """Validate and extract an RV64 ELF executable.  Raises :class:`LoadError`."""
    spath, data = _read(path)
    size = len(data)

    # --- identification, checked by hand so the messages are precise --------
    if size == 0:
        raise LoadError(f"{spath}: empty file, not an ELF executable")
    if data[:4] != ELF_MAGIC[:size]:
        raise LoadError(
            f"{spath}: not an ELF file (bad magic {data[:4].hex(' ')}, expected 7f 45 4c 46); "
            f"for a raw binary use --raw-addr")
    if size < 16:
        raise LoadError(f"{spath}: truncated ELF ({size} bytes, shorter than the ELF identification)")
    ei_class, ei_data = data[4], data[5]
    if ei_class == ELFCLASS32:
        raise LoadError(
            f"{spath}: 32-bit ELF (ELFCLASS32); this machine is RV64 and needs a 64-bit "
            f"(ELFCLASS64) RISC-V executable")
    if ei_class != ELFCLASS64:
        raise LoadError(f"{spath}: malformed ELF (invalid EI_CLASS {ei_class})")
    if ei_data == ELFDATA2MSB:
        raise LoadError(f"{spath}: big-endian ELF (ELFDATA2MSB); RISC-V executables are little-endian")
    if ei_data != ELFDATA2LSB:
        raise LoadError(f"{spath}: malformed ELF (invalid EI_DATA {ei_data})")
    if size < ELF64_EHDR_SIZE:
        raise LoadError(f"{spath}: truncated ELF ({size} bytes, shorter than the 64-byte ELF64 header)")

    (e_type, e_machine, _e_version, e_entry, e_phoff, e_shoff, _e_flags, _e_ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, _e_shstrndx) = struct.unpack_from(
        "<HHIQQQIHHHHHH", data, 16)

    if e_machine != EM_RISCV:
        raise LoadError(
            f"{spath}: ELF for {_machine_name(e_machine)}, not RISC-V (EM_RISCV, {EM_RISCV})")
    if e_type not in (ET_EXEC, ET_DYN):
        desc = _TYPE_NAMES.get(e_type, f"unknown e_type {e_type}")
        raise LoadError(f"{spath}: not an executable ({desc}); expected an ET_EXEC executable")

    # --- table bounds (a truncated file usually loses its section headers) ---
    if e_phnum == 0:
        raise LoadError(f"{spath}: no program headers, so nothing to load (no PT_LOAD segments)")
    if e_phentsize != ELF64_PHDR_SIZE:
        raise LoadError(f"{spath}: malformed ELF (e_phentsize {e_phentsize}, expected {ELF64_PHDR_SIZE})")
    if e_phoff + e_phnum * e_phentsize > size:
        raise LoadError(
            f"{spath}: truncated ELF: program header table {_range(e_phoff, e_phoff + e_phnum * e_phentsize)} "
            f"extends past the end of the file ({size} bytes)")
    if e_shnum:
        if e_shentsize != ELF64_SHDR_SIZE:
            raise LoadError(
                f"{spath}: malformed ELF (e_shentsize {e_shentsize}, expected {ELF64_SHDR_SIZE})")
        if e_shoff + e_shnum * e_shentsize > size:
            raise LoadError(
                f"{spath}: truncated ELF: section header table {_range(e_shoff, e_shoff + e_shnum * e_shentsize)} "
                f"extends past the end of the file ({size} bytes)")

    # --- structure via pyelftools ---------------------------------------------
    try:
        segments, symbols, has_interp = _parse(spath, data, ram_base, ram_size)
    except LoadError:
        raise
    except Exception as e:  # ELFError, ELFParseError, struct.error, construct errors ...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LoadError(f"{spath}: truncated or malformed ELF ({msg})") from None

    if e_type == ET_DYN and has_interp:
        raise LoadError(
            f"{spath}: dynamically linked executable (has PT_INTERP); numbavm needs a statically "
            f"linked ET_EXEC (or static-pie) program")
    if not segments:
        raise LoadError(f"{spath}: no PT_LOAD segments (nothing to load)")

    _check_in_ram(spath, f"entry point {e_entry:#x}", e_entry, e_entry + 1, ram_base, ram_size)
    return LoadedImage(entry=e_entry, segments=segments, symbols=symbols, path=spath)


def _parse(spath: str, data: bytes, ram_base: int, ram_size: int):
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    elf = ELFFile(io.BytesIO(data))
    size = len(data)
    segments: list[tuple[int, bytes, int]] = []
    has_interp = False
    for idx in range(elf.num_segments()):
        ph = elf.get_segment(idx).header
        p_type = ph["p_type"]
        if p_type in ("PT_INTERP", PT_INTERP):
            has_interp = True
        if p_type not in ("PT_LOAD", PT_LOAD):
            continue
        filesz, memsz, off = ph["p_filesz"], ph["p_memsz"], ph["p_offset"]
        addr = ph["p_paddr"] or ph["p_vaddr"]
        what = f"PT_LOAD segment {idx} (program header {idx})"
        if filesz > memsz:
            raise LoadError(
                f"{spath}: malformed ELF: {what} has p_filesz {filesz:#x} > p_memsz {memsz:#x}")
        if off + filesz > size:
            raise LoadError(
                f"{spath}: truncated ELF: {what} file data {_range(off, off + filesz)} "
                f"extends past the end of the file ({size} bytes), shorter than p_filesz {filesz:#x}")
        if memsz == 0:
            continue
        _check_in_ram(spath, what, addr, addr + memsz, ram_base, ram_size)
        segments.append((addr, bytes(data[off:off + filesz]), memsz))

    # Overlapping segments would silently clobber each other.
    spans = sorted((a, a + m, i) for i, (a, _d, m) in enumerate(segments))
    for (a0, e0, _), (a1, e1, _) in zip(spans, spans[1:]):
        if a1 < e0:
            raise LoadError(
                f"{spath}: malformed ELF: PT_LOAD segments {_range(a0, e0)} and {_range(a1, e1)} overlap")

    symbols: dict[str, int] = {}
    bound: dict[str, bool] = {}   # name -> is global/weak (globals win over locals)
    for sec in elf.iter_sections():
        if not isinstance(sec, SymbolTableSection) or sec.name != ".symtab":
            continue
        for sym in sec.iter_symbols():
            if not sym.name or sym["st_shndx"] == "SHN_UNDEF":
                continue
            if sym.name.startswith("$"):          # RISC-V/ARM mapping symbols ($x, $d, $xrv64i...)
                continue
            if sym["st_info"]["type"] not in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                continue
            is_global = sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
            if sym.name in symbols and (bound[sym.name] or not is_global):
                continue
            symbols[sym.name] = sym["st_value"]
            bound[sym.name] = is_global
    return segments, symbols, has_interp


def load_raw(path, addr: int, ram_base: int, ram_size: int) -> LoadedImage:
    """A raw binary placed at ``addr``; execution starts at ``addr``."""
    spath, data = _read(path)
    if not data:
        raise LoadError(f"{spath}: empty file, nothing to load")
    _check_in_ram(spath, f"raw image ({len(data)} bytes)", addr, addr + len(data), ram_base, ram_size)
    return LoadedImage(entry=addr, segments=[(addr, data, len(data))], symbols={}, path=spath)


# --- the RISC-V Linux Image (Documentation/riscv/boot-image-header.rst)
#   u32 code0, code1; u64 text_offset; u64 image_size; u64 flags; u32 version; u32 res1;
#   u64 res2; u64 magic = "RISCV\0\0\0" (deprecated); u32 magic2 = "RSC\x05"; u32 res3
IMAGE_MAGIC = b"RISCV\0\0\0"
IMAGE_MAGIC2 = b"RSC\x05"
IMAGE_HEADER_SIZE = 64


@dataclass
class LinuxImage:
    data: bytes
    text_offset: int        # where in RAM the kernel wants to start (from the RAM base)
    image_size: int         # bytes of RAM the kernel occupies, bss included
    path: str


def read_linux_image(path) -> LinuxImage:
    """Read and check a RISC-V Linux Image (the kernel's arch/riscv/boot/Image)."""
    spath, data = _read(path)
    if not data:
        raise LoadError(f"{spath}: empty file, not a RISC-V Linux Image")
    if len(data) < IMAGE_HEADER_SIZE:
        raise LoadError(f"{spath}: not a RISC-V Linux Image (only {len(data)} bytes, the header has 64)")
    if data[:4] == b"\x7fELF":
        raise LoadError(f"{spath}: an ELF file, not a Linux Image: boot the kernel's arch/riscv/boot/Image "
                        "(or run an ELF program with `numbavm run`)")
    if data[48:56] != IMAGE_MAGIC and data[56:60] != IMAGE_MAGIC2:
        raise LoadError(f"{spath}: not a RISC-V Linux Image (no \"RISCV\" / \"RSC\\x05\" magic in its header)")
    text_offset = int.from_bytes(data[8:16], "little")
    image_size = int.from_bytes(data[16:24], "little")
    if image_size == 0:                      # old kernels: no size in the header
        image_size = len(data)
    if text_offset % 4096 or text_offset > (1 << 32):
        raise LoadError(f"{spath}: Linux Image header has an implausible text_offset 0x{text_offset:x}")
    return LinuxImage(data, text_offset, max(image_size, len(data)), spath)


def read_file(path, what) -> bytes:
    """A whole input file (initrd, firmware, device-tree overlay) or a one-line LoadError."""
    spath, data = _read(path)
    if not data:
        raise LoadError(f"{spath}: empty {what}")
    return data
