"""Coverage-guided fuzzing of the ELF loader and the Linux Image header parser (lifecycle/machine/loader.py).

    .venv/bin/python fuzz/fuzz_loader.py -max_total_time=60 fuzz/corpus/loader

one_input(data) is the property, shared with tests/test_fuzz_loader.py: any bytes,
read as an ELF program (parse_elf) and as a RISC-V Linux Image (parse_linux_image),
either load or raise LoadError with a one-line message naming the file.  A program
that loads is consistent: its segments and its entry point lie in guest RAM, do not
overlap, carry no more file bytes than their memsz, the entry is even, and the HTIF
words (tohost, fromhost) are whole aligned words in RAM.  Nothing else: no
struct.error, no IndexError, no MemoryError, no hang.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from emu.spec import RAM_BASE  # noqa: E402

RAM_SIZE = 1 << 20            # small, so that fuzzed segments fit sometimes


def _check_message(e, name):
    msg = str(e)
    assert msg.startswith(f"{name}: ") and "\n" not in msg and "\r" not in msg, repr(msg)


def one_input(data, ram_base=RAM_BASE, ram_size=RAM_SIZE):
    """bytes -> None; raises AssertionError (or an unexpected exception) on a finding."""
    from lifecycle.machine.loader import LoadError, parse_elf, parse_linux_image
    data = bytes(data)
    try:
        im = parse_elf(data, "fuzz.elf", ram_base, ram_size)
    except LoadError as e:
        _check_message(e, "fuzz.elf")
    else:
        ram_end = ram_base + ram_size
        assert im.entry % 2 == 0 and ram_base <= im.entry < ram_end
        spans = sorted((a, a + m) for a, _d, m in im.segments)
        for (a, e), (_a, d, m) in zip(spans, sorted(im.segments)):
            assert ram_base <= a < e <= ram_end and len(d) <= m
        assert all(e0 <= a1 for (_a0, e0), (a1, _e1) in zip(spans, spans[1:]))
        for word in (im.tohost, im.fromhost):
            assert word is None or (word % 8 == 0 and ram_base <= word <= ram_end - 8)
    try:
        img = parse_linux_image(data, "Image")
    except LoadError as e:
        _check_message(e, "Image")
    else:
        assert img.text_offset % 4096 == 0 and img.image_size >= len(data)


def TestOneInput(data):    # noqa: N802 - atheris' name
    one_input(data)


def main():
    from fuzz.harness import fuzz
    fuzz(TestOneInput, ["lifecycle.machine.loader"])


if __name__ == "__main__":
    main()
