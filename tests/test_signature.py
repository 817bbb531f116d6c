"""`numbavm run --signature FILE [--signature-granularity 4|8]`: the architecture tests' signature, as
Spike writes it (lifecycle/cli/signature.py), however the guest stops; bad input is one line, status 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from emu.spec import RAM_BASE
from lifecycle.cli.signature import lines
from tests.test_cli import assert_user_error, eb, numbavm

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "guest" / "bin" / "isa_signature.elf"      # tests/guest/isa/signature.S

# What tests/guest/isa/signature.S stores in its 20-byte region: sw 0x01234567, sw 0x89abcdef,
# sd 0x0011223344556677, and sb 0x2a into the low byte of the last word (0xdeadbeef before).
EXPECTED = {
    4: "01234567\n89abcdef\n44556677\n00112233\ndeadbe2a\n",
    # 20 bytes are two lines and a half: the missing upper four bytes of the last are zeros
    8: "89abcdef01234567\n0011223344556677\n00000000deadbe2a\n",
}


@pytest.mark.parametrize("granularity", [4, 8])
def test_the_signature_of_a_compiled_program(tmp_path, granularity):
    out = tmp_path / "sig.txt"
    out.write_text("a stale signature from an earlier run\n")
    r = numbavm("run", PROGRAM, "--signature", out, "--signature-granularity", granularity)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_bytes() == EXPECTED[granularity].encode()


def test_the_default_granularity_is_4(tmp_path):
    out = tmp_path / "sig.txt"
    r = numbavm("run", PROGRAM, "--signature", out)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_text() == EXPECTED[4]


def test_lines_pads_a_short_last_line_and_writes_nothing_for_an_empty_region():
    assert lines(bytes([0x01, 0x02, 0x03]), 4) == "00030201\n"
    assert lines(bytes(range(1, 10)), 8) == "0807060504030201\n0000000000000009\n"
    assert lines(b"\xAB" * 8, 4) == "abababab\nabababab\n"
    assert lines(b"", 4) == ""


# ----------------------------------------------------------------- however the guest stops

SIG = RAM_BASE + 0x2000
SIG_BYTES = bytes(range(1, 21))           # 20 bytes, as the compiled program's region


def sig_elf(code: bytes, symbols=None) -> bytes:
    """``code`` at RAM_BASE, HTIF at RAM_BASE + 0x1000 and SIG_BYTES between the signature symbols."""
    if symbols is None:
        symbols = {"begin_signature": SIG, "end_signature": SIG + len(SIG_BYTES)}
    return eb.build_elf(
        [eb.Segment(RAM_BASE, code, name=".text"),
         eb.Segment(RAM_BASE + 0x1000, bytes(16), flags=eb.PF_R | eb.PF_W, name=".tohost"),
         eb.Segment(SIG, SIG_BYTES, flags=eb.PF_R | eb.PF_W, name=".data")],
        entry=RAM_BASE,
        symbols={"_start": (RAM_BASE, eb.STT_FUNC), "tohost": RAM_BASE + 0x1000,
                 "fromhost": RAM_BASE + 0x1008, **symbols})


def sw(rs2, rs1, imm):
    return eb.sd(rs2, rs1, imm) & ~(1 << 12)          # funct3 2 instead of 3


FINISHER_FAIL_7 = eb.words([eb.lui(eb.T0, 0x100),                       # t0 = 0x100000, the test device
                            eb.lui(eb.T1, 0x73), eb.addi(eb.T1, eb.T1, 0x333),   # 0x3333 | 7 << 16
                            sw(eb.T1, eb.T0, 0), eb.jal(0, 0)])


@pytest.mark.parametrize("code, status, how", [
    (eb.htif_program(3), 3, "tohost exit with a failure code"),
    (FINISHER_FAIL_7, 7, "the test finisher's fail"),
    (eb.htif_program(0, loop_forever=True), 124, "--max-instructions"),
    (eb.words([0]), 125, "a trap loop (a VMM fatal error)"),
], ids=["tohost-fail", "finisher-fail", "budget", "trap-loop"])
def test_the_signature_is_written_however_the_guest_stops(tmp_path, code, status, how):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(code))
    out = tmp_path / "sig.txt"
    r = numbavm("run", prog, "-n", "100000", "--signature", out, "--signature-granularity", "8")
    assert r.returncode == status, (how, r.stderr.decode())
    assert out.read_text() == "0807060504030201\n100f0e0d0c0b0a09\n0000000014131211\n", how


def test_an_empty_region_gives_an_empty_file(tmp_path):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(eb.htif_program(0), {"begin_signature": SIG, "end_signature": SIG}))
    out = tmp_path / "sig.txt"
    r = numbavm("run", prog, "--signature", out)
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_bytes() == b""


# ----------------------------------------------------------------- user errors: one line, status 2

@pytest.mark.parametrize("symbols, words", [
    ({}, ["no begin_signature and no end_signature symbol"]),
    ({"begin_signature": SIG}, ["no end_signature symbol"]),
    ({"end_signature": SIG}, ["no begin_signature symbol"]),
    ({"begin_signature": SIG + 8, "end_signature": SIG}, ["end_signature (0x80002000) is below begin_signature"]),
    ({"begin_signature": 0x1000, "end_signature": 0x1010}, ["[0x1000, 0x1010) is outside guest RAM"]),
], ids=["no-symbols", "no-end", "no-begin", "end-below-begin", "outside-ram"])
def test_a_program_without_a_valid_region_is_a_user_error(tmp_path, symbols, words):
    prog = tmp_path / "prog.elf"
    prog.write_bytes(sig_elf(eb.htif_program(0), symbols))
    out = tmp_path / "sig.txt"
    assert_user_error(numbavm("run", prog, "--signature", out), "--signature:", str(prog), *words)
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "16"], ["'16': must be 4 or 8"]),
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "0"], ["'0': must be 4 or 8"]),
    (["--signature", "{tmp}/sig.txt", "--signature-granularity", "four"], ["'four': must be 4 or 8"]),
    (["--signature-granularity", "8"], ["--signature-granularity: needs --signature FILE"]),
    (["--signature", "{tmp}/no/sig.txt"], ["--signature:", "does not exist"]),
    (["--signature", "{tmp}"], ["--signature:", "is a directory"]),
    (["--signature="], ["--signature: the file name is empty"]),
    (["--signature", "{tmp}/sig.txt", "--raw-addr", "0x80000000"], ["--signature: needs an ELF program"]),
], ids=["granularity-16", "granularity-0", "granularity-word", "granularity-alone", "no-directory",
        "a-directory", "empty-name", "raw-binary"])
def test_bad_arguments_are_user_errors(tmp_path, args, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_user_error(numbavm("run", PROGRAM, *argv), *words)
    assert not (tmp_path / "sig.txt").exists()


def test_a_write_error_is_one_line_and_2():
    r = numbavm("run", PROGRAM, "--signature", "/dev/full")
    assert_user_error(r, "--signature: cannot write /dev/full")
