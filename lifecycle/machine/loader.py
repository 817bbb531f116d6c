"""Guest program loader: ELF64 RISC-V executables, raw binaries, Linux Images, other input files.

Every input file is read exactly once, by :func:`read_input`, with a size limit
checked before reading (fstat) and while reading (a pipe or a device reads at
most limit + 1 bytes).  It returns an :class:`InputFile`: a ``str`` (the path)
that carries the bytes.  Every function here that takes a path also takes an
``InputFile`` and then uses its bytes without opening the file again, so a FIFO
or ``<(cat prog.elf)`` works when a caller validates the program first and
passes the same object on (GuestConfig and Machine take it as a path).

Only validates and extracts; it never touches guest RAM.  The machine copies
the file bytes of ``LoadedImage.segments`` into RAM; the ``memsz - len(data)``
tail (.bss) needs no writing on a new machine, whose RAM is already zero.

Every problem is reported as a :class:`LoadError` whose message is one line
that names the file and the problem.  The ELF parsing is by hand, with the
ELF-64 layout of the System V gABI: every count and offset is checked against
the file before use, so the cost is bounded by the file's size whatever it
holds (pyelftools, used for names only, reads symbol names from a stream in a
way that is quadratic on a hostile string table).  No numba import: cheap.
"""
from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass, field

__all__ = ["LoadError", "LoadedImage", "InputFile", "LinuxImage", "read_input", "read_file",
           "load_program", "load_elf", "load_raw", "parse_elf", "read_linux_image",
           "parse_linux_image", "EM_RISCV"]

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_NONE, ET_REL, ET_EXEC, ET_DYN, ET_CORE = 0, 1, 2, 3, 4
EM_RISCV = 243
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PN_XNUM = 0xFFFF                     # e_phnum: the real count is in section 0's sh_info
SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xFF00, 0xFFFF
SHT_SYMTAB = 2
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
ELF64_EHDR_SIZE = 64
ELF64_PHDR_SIZE = 56
ELF64_SHDR_SIZE = 64
ELF64_SYM_SIZE = 24
_PHDR = struct.Struct("<IIQQQQQQ")       # p_type p_flags p_offset p_vaddr p_paddr p_filesz p_memsz p_align
_SHDR = struct.Struct("<IIQQQQIIQQ")     # sh_name sh_type sh_flags sh_addr sh_offset sh_size sh_link sh_info ...
_SYM = struct.Struct("<IBBHQQ")          # st_name st_info st_other st_shndx st_value st_size
MAX_SYMBOL_NAME = 4096                   # longer names are skipped: bounds the work per symbol

ADDR_SPACE = 1 << 64
PHYS_ADDR_BITS = 56                      # RISC-V physical addresses have at most 56 bits (Sv39..Sv57)
MAX_GUEST_RAM = 1 << 40                  # the most RAM a guest can have (lifecycle/control/config.py)
ELF_FILE_LIMIT = 1 << 30                 # an ELF may exceed RAM by its symbols and debug information
DEFAULT_LIMIT = 1 << 30                  # read_file/read_linux_image without a limit
HEAD_SIZE = 64                           # read_input's head check: an ELF64 header, a Linux Image header

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


class InputFile(str):
    """The path of an input file (this str) with its bytes (``.data``), read once by read_input.

    A str so that it goes wherever a path goes (GuestConfig, Machine.load, messages);
    the loader functions use ``.data`` instead of opening the path a second time.
    """
    data: bytes

    def __new__(cls, path: str, data: bytes):
        self = super().__new__(cls, path)
        self.data = data
        return self

    def __reduce__(self):                 # pickles (GuestManager's child process) with its bytes
        return (InputFile, (str(self), self.data))


@dataclass
class LoadedImage:
    entry: int
    segments: list[tuple[int, bytes, int]]   # (paddr, file data, memsz), memsz >= len(data)
    symbols: dict[str, int] = field(default_factory=dict)
    path: str = ""                           # an InputFile when the image came from read_input

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


def _fmt_size(n: int) -> str:
    for shift, unit in ((40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------- reading

def _fspath(path) -> str:
    try:
        spath = os.fspath(path)
    except TypeError:
        raise LoadError(f"{path!r}: not a file path") from None
    if isinstance(spath, bytes):
        spath = os.fsdecode(spath)
    if not spath:
        raise LoadError("empty file name")
    return spath


def _os_error(spath: str, what: str, e: OSError) -> LoadError:
    """One line from the OSError's real cause."""
    if e.errno == errno.ENOENT:
        if os.path.lexists(spath):
            return LoadError(f"{spath}: broken symbolic link")
        return LoadError(f"{spath}: no such file")
    if e.errno == errno.EISDIR:
        return LoadError(f"{spath}: is a directory, not {what}")
    reason = (e.strerror or str(e)).lower()
    return LoadError(f"{spath}: cannot read {what}: {reason}")


def _too_big(spath: str, what: str, size: int | None, limit: int, room: str) -> LoadError:
    have = f"is {_fmt_size(size)}" if size is not None else f"has more than {_fmt_size(limit)}"
    return LoadError(f"{spath}: {what} {have}: larger than {room}")


def read_input(path, what: str, limit: int, room: str | None = None, too_big=None, head=None) -> InputFile:
    """Read a whole input file once, at most ``limit`` bytes, or raise a one-line LoadError.

    ``what`` names the expected content ("an ELF executable", "an initrd"); ``room`` says
    where the limit comes from (default: "the limit of N"); ``too_big(size)``, if given,
    makes the LoadError for a file over the limit (size None: a pipe or a device with
    more than limit bytes).  An InputFile is returned as it is (after the same size
    checks): its bytes were read already.  ``head(first_bytes)``, if given, may raise a
    LoadError once the first HEAD_SIZE bytes are in, so that a stream that cannot be
    the expected file (``/dev/zero`` for an ELF) is refused before the rest is read.
    """
    if not what.startswith(("a ", "an ")):          # "initrd" -> "an initrd", for the messages
        what = ("an " if what[:1] in "aeiou" else "a ") + what
    room = room or f"the limit of {_fmt_size(limit)}"
    too_big = too_big or (lambda n: _too_big(spath, what, n, limit, room))
    if isinstance(path, InputFile):
        spath, data = path, path.data
        if len(data) > limit:
            raise too_big(len(data))
    else:
        spath = _fspath(path)
        try:
            # Unbuffered: each read() is one read(2), so nothing is read past what is asked.
            with open(spath, "rb", buffering=0) as f:
                st = os.fstat(f.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise LoadError(f"{spath}: is a directory, not {what}")
                # A regular file's size is known before reading; pipes and devices
                # (/dev/zero) have none, so read at most limit + 1 bytes from them.
                if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                    raise too_big(st.st_size)
                chunks, total = [], 0
                chunk = max(1 << 20, st.st_size + 1 if stat.S_ISREG(st.st_mode) else 0)
                while total <= limit:
                    b = f.read(min(HEAD_SIZE if head else chunk, limit + 1 - total))
                    if not b:
                        break
                    chunks.append(b)
                    total += len(b)
                    if head and total >= HEAD_SIZE:
                        head(b"".join(chunks)[:HEAD_SIZE])
                        head = None
                if total > limit:
                    raise too_big(None)
                data = b"".join(chunks)
        except OSError as e:
            raise _os_error(spath, what, e) from None
        except MemoryError:
            raise LoadError(f"{spath}: cannot read {what}: out of memory") from None
    if not data:
        raise LoadError(f"{spath}: empty file, not {what}")
    return path if isinstance(path, InputFile) else InputFile(spath, data)


def read_file(path, what: str, limit: int | None = None, room: str | None = None) -> bytes:
    """A whole input file (initrd, firmware, device-tree overlay) or a one-line LoadError.

    ``limit``: the most bytes it may have (give the guest's RAM size); default 1 GiB;
    ``room``: where that limit comes from, for the message (see read_input).
    """
    return read_input(path, what, DEFAULT_LIMIT if limit is None else limit, room).data


# --------------------------------------------------------------------------- checks

def _check_in_ram(path: str, what: str, lo: int, hi: int, ram_base: int, ram_size: int) -> None:
    ram_end = ram_base + ram_size
    if ram_base <= lo <= hi <= ram_end:
        return
    if hi > ADDR_SPACE:
        raise LoadError(
            f"{path}: {what} at {lo:#x} of {hi - lo:#x} bytes wraps around the end of the 64-bit "
            f"address space (a corrupt size?)")
    if lo < ram_base or hi < lo:
        hint = f"link it for RAM starting at {ram_base:#x}"
    elif hi > 1 << PHYS_ADDR_BITS or hi - ram_base > MAX_GUEST_RAM:
        hint = (f"that needs more than the {_fmt_size(MAX_GUEST_RAM)} of RAM a guest can have "
                f"(a corrupt size?)")
    else:
        need = hi - ram_base
        hint = f"it needs at least {_fmt_size(-(-need // (1 << 20)) << 20)} of --memory"
    raise LoadError(
        f"{path}: {what} at {_range(lo, hi)} is outside guest RAM "
        f"{_range(ram_base, ram_end)} ({_fmt_size(ram_size)}); {hint}")


def _check_entry(path: str, what: str, pc: int, ram_base: int, ram_size: int) -> None:
    # IALIGN is 16 with the C extension, 32 without: pc bit 0 is always zero
    # (the ISA manual, "Instruction-address-misaligned"; jalr clears it).
    if pc & 1:
        raise LoadError(
            f"{path}: {what} {pc:#x} is odd: RISC-V instructions are at even addresses "
            f"(pc bit 0 is always zero)")
    _check_in_ram(path, f"{what} {pc:#x}", pc, pc + 2, ram_base, ram_size)


def _check_htif(path: str, symbols: dict, ram_base: int, ram_size: int) -> None:
    """tohost and fromhost are whole, aligned 64-bit words in RAM (the host reads and writes them)."""
    for name in ("tohost", "fromhost"):
        a = symbols.get(name)
        if a is None:
            continue
        if a % 8:
            raise LoadError(f"{path}: HTIF symbol '{name}' at {a:#x} is not 8-byte aligned "
                            f"(HTIF's {name} is a 64-bit word)")
        _check_in_ram(path, f"HTIF symbol '{name}'", a, a + 8, ram_base, ram_size)


# --------------------------------------------------------------------------- programs

def load_program(path, ram_base: int, ram_size: int, raw_addr: int | None = None) -> LoadedImage:
    """An ELF executable, or with ``raw_addr`` a raw binary; ``.path`` is the InputFile (the bytes)."""
    if raw_addr is None:
        return load_elf(path, ram_base, ram_size)
    return load_raw(path, raw_addr, ram_base, ram_size)


def load_elf(path, ram_base: int, ram_size: int) -> LoadedImage:
    """Read (once), validate and extract an RV64 ELF executable.  Raises :class:`LoadError`."""
    limit = max(ram_size, ELF_FILE_LIMIT)
    spath = path if isinstance(path, InputFile) else _fspath(path)
    src = read_input(path, "an ELF executable", limit,
                     f"the {_fmt_size(limit)} an ELF file may have (the guest RAM size, at least "
                     f"{_fmt_size(ELF_FILE_LIMIT)} for symbols and debug information)",
                     head=lambda first: _elf_header(first, spath))
    return parse_elf(src.data, src, ram_base, ram_size)


def parse_elf(data: bytes, name: str, ram_base: int, ram_size: int) -> LoadedImage:
    """Validate and extract an RV64 ELF executable from its bytes; ``name`` is used in messages.

    Raises only :class:`LoadError`, whatever the bytes (tests/test_fuzz_loader.py).
    """
    spath = name
    size = len(data)
    (e_type, e_machine, _e_version, e_entry, e_phoff, e_shoff, _e_flags, _e_ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = _elf_header(data, spath)

    # --- section header table (a truncated file usually loses it first) -------
    shdrs = _section_headers(spath, data, e_shoff, e_shnum, e_shentsize, e_shstrndx)
    if e_phnum == PN_XNUM and shdrs:                  # extended numbering (gABI)
        e_phnum = _SHDR.unpack_from(data, e_shoff)[7]

    # --- program headers --------------------------------------------------------
    if e_phnum == 0:
        raise LoadError(f"{spath}: no program headers, so nothing to load (no PT_LOAD segments)")
    if e_phentsize != ELF64_PHDR_SIZE:
        raise LoadError(f"{spath}: malformed ELF (e_phentsize {e_phentsize}, expected {ELF64_PHDR_SIZE})")
    if e_phoff + e_phnum * e_phentsize > size:
        raise LoadError(
            f"{spath}: truncated ELF: program header table {_range(e_phoff, e_phoff + e_phnum * e_phentsize)} "
            f"extends past the end of the file ({size} bytes)")
    phdrs = [_PHDR.unpack_from(data, e_phoff + i * ELF64_PHDR_SIZE) for i in range(e_phnum)]

    # A dynamic executable needs its interpreter (ld.so) and relocations: say so
    # before any address check, whose message would only mislead.
    for p_type, _fl, off, _va, _pa, filesz, _ms, _al in phdrs:
        if p_type == PT_INTERP:
            interp = data[off:off + min(filesz, 256)].split(b"\0")[0]
            named = (f" {interp.decode()}" if interp and interp.isascii() and interp.decode().isprintable()
                     else "")
            raise LoadError(
                f"{spath}: dynamically linked executable (PT_INTERP names the dynamic linker{named}): "
                f"dynamic executables are not supported; link it statically (-static) for RAM at "
                f"{ram_base:#x}")

    segments: list[tuple[int, bytes, int]] = []
    for idx, (p_type, _fl, off, vaddr, paddr, filesz, memsz, _al) in enumerate(phdrs):
        if p_type != PT_LOAD:
            continue
        addr = paddr or vaddr
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
        if e_type == ET_DYN and not ram_base <= addr <= addr + memsz <= ram_base + ram_size:
            # ET_DYN without PT_INTERP: a static PIE or a shared library, normally linked at 0.
            raise LoadError(
                f"{spath}: position-independent ELF (ET_DYN) with {what} linked at {addr:#x}, outside "
                f"guest RAM {_range(ram_base, ram_base + ram_size)}: numbavm loads segments at their "
                f"link addresses and does not relocate them; link a static executable (-static "
                f"-no-pie) for RAM at {ram_base:#x}")
        _check_in_ram(spath, what, addr, addr + memsz, ram_base, ram_size)
        segments.append((addr, bytes(data[off:off + filesz]), memsz))
    if not segments:
        raise LoadError(f"{spath}: no PT_LOAD segments (nothing to load)")

    # Overlapping segments would silently clobber each other.
    spans = sorted((a, a + m) for a, _d, m in segments)
    for (a0, e0), (a1, e1) in zip(spans, spans[1:]):
        if a1 < e0:
            raise LoadError(
                f"{spath}: malformed ELF: PT_LOAD segments {_range(a0, e0)} and {_range(a1, e1)} overlap")

    _check_entry(spath, "entry point", e_entry, ram_base, ram_size)
    symbols = _symbols(spath, data, shdrs)
    _check_htif(spath, symbols, ram_base, ram_size)
    return LoadedImage(entry=e_entry, segments=segments, symbols=symbols, path=spath)


def _elf_header(data: bytes, spath: str) -> tuple:
    """The ELF identification and header, checked by hand so the messages are precise.

    Needs only the first 64 bytes (read_input's head check refuses /dev/zero with it).
    """
    size = len(data)
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

    fields = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
    e_type, e_machine = fields[:2]
    if e_machine != EM_RISCV:
        raise LoadError(
            f"{spath}: ELF for {_machine_name(e_machine)}, not RISC-V (EM_RISCV, {EM_RISCV})")
    if e_type not in (ET_EXEC, ET_DYN):
        desc = _TYPE_NAMES.get(e_type, f"unknown e_type {e_type}")
        raise LoadError(f"{spath}: not an executable ({desc}); expected an ET_EXEC executable")
    return fields


def _section_headers(spath: str, data: bytes, e_shoff: int, e_shnum: int, e_shentsize: int,
                     e_shstrndx: int) -> list[tuple]:
    """The section header table, every entry inside the file, or a LoadError."""
    size = len(data)
    if e_shoff == 0:
        return []
    if e_shentsize != ELF64_SHDR_SIZE:
        if e_shnum == 0:
            return []
        raise LoadError(f"{spath}: malformed ELF (e_shentsize {e_shentsize}, expected {ELF64_SHDR_SIZE})")
    if e_shoff + ELF64_SHDR_SIZE > size:
        raise LoadError(
            f"{spath}: truncated ELF: section header table at {e_shoff:#x} "
            f"extends past the end of the file ({size} bytes)")
    count = e_shnum or _SHDR.unpack_from(data, e_shoff)[5]    # e_shnum 0: count in section 0's sh_size
    if count == 0:
        return []
    end = e_shoff + count * ELF64_SHDR_SIZE
    if end > size:
        raise LoadError(
            f"{spath}: truncated ELF: section header table {_range(e_shoff, end)} "
            f"extends past the end of the file ({size} bytes)")
    shdrs = [_SHDR.unpack_from(data, e_shoff + i * ELF64_SHDR_SIZE) for i in range(count)]
    if e_shstrndx == SHN_XINDEX:
        e_shstrndx = shdrs[0][6]                              # extended: in section 0's sh_link
    if e_shstrndx >= count:
        raise LoadError(
            f"{spath}: malformed ELF (e_shstrndx {e_shstrndx} is not one of the {count} sections)")
    return shdrs


def _symbols(spath: str, data: bytes, shdrs: list[tuple]) -> dict[str, int]:
    """name -> value of the defined function, object and no-type symbols of SHT_SYMTAB.

    Globals and weaks win over locals of the same name; mapping symbols ($x, $d,
    $xrv64i...) and names longer than MAX_SYMBOL_NAME are skipped.
    """
    size = len(data)
    symbols: dict[str, int] = {}
    is_global: dict[str, bool] = {}
    for _n, sh_type, _f, _a, off, sh_size, link, _i, _al, entsize in shdrs:
        if sh_type != SHT_SYMTAB:
            continue
        if entsize != ELF64_SYM_SIZE or off + sh_size > size or link >= len(shdrs):
            raise LoadError(f"{spath}: malformed ELF: symbol table section at {off:#x} "
                            f"(sh_size {sh_size:#x}, sh_entsize {entsize}, sh_link {link}) is not a "
                            f"valid table inside the file ({size} bytes)")
        str_off, str_size = shdrs[link][4], shdrs[link][5]
        if str_off + str_size > size:
            raise LoadError(f"{spath}: truncated ELF: string table {_range(str_off, str_off + str_size)} "
                            f"extends past the end of the file ({size} bytes)")
        strtab = data[str_off:str_off + str_size]
        for i in range(1, sh_size // ELF64_SYM_SIZE):       # entry 0 is the undefined symbol
            st_name, st_info, _o, st_shndx, st_value, _s = _SYM.unpack_from(data, off + i * ELF64_SYM_SIZE)
            if st_name == 0 or st_shndx == SHN_UNDEF:
                continue
            bind, typ = st_info >> 4, st_info & 0xF
            if typ not in (STT_FUNC, STT_OBJECT, STT_NOTYPE):
                continue
            if st_name >= len(strtab):
                raise LoadError(f"{spath}: malformed ELF: symbol {i}'s name (offset {st_name:#x}) is "
                                f"outside its string table ({len(strtab)} bytes)")
            end = strtab.find(b"\0", st_name, st_name + MAX_SYMBOL_NAME + 1)
            if end < 0:
                continue
            name = strtab[st_name:end].decode("utf-8", "replace")
            if not name or name.startswith("$"):
                continue
            glob = bind in (STB_GLOBAL, STB_WEAK)
            if name in symbols and (is_global[name] or not glob):
                continue
            symbols[name] = st_value
            is_global[name] = glob
    return symbols


def load_raw(path, addr: int, ram_base: int, ram_size: int) -> LoadedImage:
    """A raw binary placed at ``addr``; execution starts at ``addr``.  Read once, at most the RAM above addr."""
    spath = path if isinstance(path, InputFile) else _fspath(path)
    # The address first: no reading for a load address that cannot work.
    ram_end = ram_base + ram_size
    if addr & 1:
        raise LoadError(
            f"{spath}: raw image load address {addr:#x} is odd: execution starts there and RISC-V "
            f"instructions are at even addresses (pc bit 0 is always zero)")
    if not ram_base <= addr < ram_end:
        raise LoadError(
            f"{spath}: raw image load address {addr:#x} is outside guest RAM "
            f"{_range(ram_base, ram_end)} ({_fmt_size(ram_size)}); load it at {ram_base:#x} or above")
    room = ram_end - addr

    def too_big(n):
        if n is None:
            return _too_big(spath, "a raw binary", None, room,
                            f"the guest RAM {_range(addr, ram_end)} above its load address")
        try:
            _check_in_ram(spath, f"raw image ({n} bytes)", addr, addr + n, ram_base, ram_size)
        except LoadError as e:
            return e
        raise AssertionError("too_big for a file that fits")   # pragma: no cover

    src = read_input(path, "a raw binary", room, too_big=too_big)
    data = src.data
    return LoadedImage(entry=addr, segments=[(addr, data, len(data))], symbols={}, path=src)


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
    path: str               # an InputFile when read by read_linux_image


def read_linux_image(path, limit: int | None = None) -> LinuxImage:
    """Read (once) and check a RISC-V Linux Image (the kernel's arch/riscv/boot/Image).

    ``limit``: the most bytes the file may have (give the guest's RAM size); default 1 GiB.
    """
    limit = DEFAULT_LIMIT if limit is None else limit
    src = read_input(path, "a RISC-V Linux Image", limit,
                     f"guest RAM ({_fmt_size(limit)})" if limit != DEFAULT_LIMIT else None)
    return parse_linux_image(src.data, src)


def parse_linux_image(data: bytes, name: str) -> LinuxImage:
    """Check a RISC-V Linux Image header; raises only :class:`LoadError`, whatever the bytes."""
    spath = name
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
    if image_size > MAX_GUEST_RAM:
        raise LoadError(f"{spath}: Linux Image header has an implausible image_size 0x{image_size:x} "
                        f"(more than the {_fmt_size(MAX_GUEST_RAM)} of RAM a guest can have)")
    return LinuxImage(data, text_offset, max(image_size, len(data)), spath)
