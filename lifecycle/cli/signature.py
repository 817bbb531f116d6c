"""`numbavm run --signature FILE`: the signature of an architecture test, written as Spike writes it.

The official architecture tests (riscv-arch-test, run by RISCOF) store their results in memory
between the symbols ``begin_signature`` and ``end_signature``; the test harness compares that
memory, dumped to a file, with a reference model's.  Spike's ``+signature=FILE`` and
``+signature-granularity=N`` write it (riscv-isa-sim fesvr/htif.cc, ``htif_t::stop``): one line
per N bytes, the line's bytes from the highest address down as two lowercase hex digits each (a
little-endian word of N bytes, zero-padded to 2N digits), every line ending in a newline; where
the region ends inside a line, the missing bytes above its end are written as ``00``.  This
module writes the same.

Differences from Spike, all for bad input that Spike does not check: a program without the two
symbols, with ``end_signature`` below ``begin_signature``, or with the region outside guest RAM
is a user error before the guest runs (Spike writes nothing, or fails at the end); an empty
region gives an empty file (Spike writes none); the granularity is 4 or 8 (Spike takes any
number, 16 by default).  No numba import: cheap.
"""
from __future__ import annotations

BEGIN, END = "begin_signature", "end_signature"
GRANULARITIES = (4, 8)          # bytes per line: the XLEN words of RV32 and RV64
DEFAULT_GRANULARITY = 4         # what RISCOF's plugin templates pass to Spike


def region(symbols: dict, ram_base: int, ram_size: int) -> tuple[int, int]:
    """(begin, end) of the signature from the program's symbols; ValueError with the reason."""
    missing = [name for name in (BEGIN, END) if name not in symbols]
    if missing:
        raise ValueError(f"the program has no {' and no '.join(missing)} symbol "
                         f"(the signature is the memory between {BEGIN} and {END})")
    begin, end = symbols[BEGIN], symbols[END]
    if end < begin:
        raise ValueError(f"{END} ({end:#x}) is below {BEGIN} ({begin:#x})")
    if not ram_base <= begin <= end <= ram_base + ram_size:
        raise ValueError(f"the region [{begin:#x}, {end:#x}) is outside guest RAM "
                         f"[{ram_base:#x}, {ram_base + ram_size:#x})")
    return begin, end


def lines(data: bytes, granularity: int) -> str:
    """The signature file's text for the region's bytes (see the module docstring)."""
    return "".join(data[i:i + granularity].ljust(granularity, b"\0")[::-1].hex() + "\n"
                   for i in range(0, len(data), granularity))


def write(path: str, hart, begin: int, end: int, granularity: int) -> None:
    """Write the region of the final hart's RAM to exactly ``path``.  OSError on a write error."""
    text = lines(hart.read_phys(begin, end - begin), granularity)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
