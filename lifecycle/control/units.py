"""Parsing of user-given sizes and counts (CLI concern).  No heavy imports."""
from __future__ import annotations

import re

from emu.spec import PAGE_SIZE

__all__ = ["parse_size", "parse_count", "parse_addr"]

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?b)?|(b))?\s*$", re.IGNORECASE)
_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40}
_COUNT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)\s*$", re.IGNORECASE)
_POW10 = {"": 0, "k": 3, "m": 6, "g": 9, "t": 12}


def parse_size(text: str) -> int:
    """A RAM size -> bytes.  A bare number is MiB, as QEMU's and Spike's -m: '256' -> 256 MiB.

    Suffixes K, M, G, T are binary (1K = 1024 bytes), also written KB/KiB, MB/MiB...;
    B is bytes ('65536B').  Fractions are accepted when they give a whole number of
    bytes ('1.5G').  The size must be a non-zero multiple of 4 KiB (the page size).
    Raises ValueError with a one-line message starting "invalid size".
    """
    s = str(text).replace("_", "")
    m = _SIZE_RE.match(s)
    if not m:
        raise ValueError(
            f"invalid size {text!r}: expected a number of MiB, or a number with a K, M, G or T "
            f"suffix (binary: 1K = 1024 bytes) or B for bytes, e.g. 128, 128M or 1GiB")
    num, unit = m.group(1), (m.group(2) or "").lower()
    shift = _SHIFT[unit] if unit else 0 if m.group(4) else 20
    whole, _, frac = num.partition(".")
    numer = int(whole + frac) << shift
    denom = 10 ** len(frac)
    if numer % denom:
        raise ValueError(f"invalid size {text!r}: not a whole number of bytes")
    value = numer // denom
    if value <= 0:
        raise ValueError(f"invalid size {text!r}: must be greater than zero")
    if value % PAGE_SIZE:
        raise ValueError(f"invalid size {text!r} ({value} bytes): must be a multiple of 4 KiB (the page size)")
    return value


def parse_count(text: str) -> int:
    """'1000000', '1_000_000', '10M' (decimal: 10 million), '2.5G'.  Must be > 0."""
    s = str(text).replace("_", "")
    m = _COUNT_RE.match(s)
    if not m:
        raise ValueError(
            f"invalid count {text!r}: expected a positive whole number, optionally with a "
            f"decimal K, M, G or T suffix (10M = 10,000,000)")
    num, unit = m.group(1), m.group(2).lower()
    whole, _, frac = num.partition(".")
    scale = 10 ** _POW10[unit]
    numer = int(whole + frac) * scale
    denom = 10 ** len(frac)
    if numer % denom:
        raise ValueError(f"invalid count {text!r}: not a whole number")
    value = numer // denom
    if value <= 0:
        raise ValueError(f"invalid count {text!r}: must be greater than zero")
    return value


def parse_addr(text: str) -> int:
    """'0x80000000', '2147483648', '0x8000_0000' -> int (>= 0, < 2**64)."""
    try:
        value = int(str(text).strip(), 0)
    except ValueError:
        raise ValueError(f"invalid address {text!r}: expected an integer such as 0x80000000") from None
    if not 0 <= value < 1 << 64:
        raise ValueError(f"invalid address {text!r}: out of the 64-bit range")
    return value
