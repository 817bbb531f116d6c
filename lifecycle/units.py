"""Parsing of user-given sizes and counts (CLI concern).  No heavy imports."""
from __future__ import annotations

import re

__all__ = ["parse_size", "parse_count", "parse_addr"]

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
_COUNT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)\s*$", re.IGNORECASE)
_POW10 = {"": 0, "k": 3, "m": 6, "g": 9, "t": 12}


def parse_size(text: str) -> int:
    """'128M' -> 134217728.  Suffixes K/M/G/T (binary, as in QEMU), also KB/KiB etc.; plain bytes.

    Fractions are accepted when they give a whole number of bytes ('1.5G').
    Raises ValueError with a one-line message.
    """
    s = str(text).replace("_", "")
    m = _SIZE_RE.match(s)
    if not m or (m.group(3) and m.group(3).lower() == "ib" and not m.group(2)):
        raise ValueError(
            f"invalid size {text!r}: expected a number with an optional K, M, G or T suffix "
            f"(binary: 1K = 1024 bytes), e.g. 128M or 1GiB")
    num, unit = m.group(1), m.group(2).lower()
    mult = 1 << _SHIFT[unit]
    if "." in num:
        whole, frac = num.split(".")
        value = int(whole) * mult + (int(frac) * mult) // (10 ** len(frac))
        if (int(frac) * mult) % (10 ** len(frac)):
            raise ValueError(f"invalid size {text!r}: not a whole number of bytes")
    else:
        value = int(num) * mult
    if value <= 0:
        raise ValueError(f"invalid size {text!r}: must be greater than zero")
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
