"""lifecycle.control.units.parse_size: RAM sizes as QEMU and Spike read them (a bare number is MiB)."""
from __future__ import annotations

import pytest

from lifecycle.control.units import parse_size


@pytest.mark.parametrize("text,value", [
    ("256", 256 << 20),              # bare number: MiB, as `qemu -m 256` and `spike -m256`
    ("1", 1 << 20),
    ("1_024", 1 << 30),
    ("0.5", 512 << 10),
    ("128M", 128 << 20), ("128MiB", 128 << 20), ("128mb", 128 << 20), (" 2 M ", 2 << 20),
    ("1G", 1 << 30), ("1GiB", 1 << 30), ("1.5G", 3 << 29),
    ("64k", 64 << 10), ("4K", 4096), ("4KiB", 4096),
    ("1T", 1 << 40),
    ("4096B", 4096), ("65536b", 65536),  # explicit bytes
])
def test_sizes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text,why", [
    ("0", "greater than zero"), ("0M", "greater than zero"), ("0B", "greater than zero"),
    ("1K", "multiple of 4 KiB"), ("256B", "multiple of 4 KiB"), ("4097B", "multiple of 4 KiB"),
    ("0.001", "whole number of bytes"), ("1.3B", "whole number of bytes"),
    ("", "expected a number of MiB"), ("12X", "expected"), ("M", "expected"), ("B", "expected"),
    ("iB", "expected"), ("-1", "expected"), ("1.5.5M", "expected"), ("KB", "expected"), ("1 MB B", "expected"),
])
def test_bad_sizes(text, why):
    with pytest.raises(ValueError) as ei:
        parse_size(text)
    msg = str(ei.value)
    assert msg.startswith(f"invalid size {text!r}") and why in msg and "\n" not in msg, msg
